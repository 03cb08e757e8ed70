"""Exporting a trained model with the TFT transform graph inside it.

The SavedModel's `serving_default` takes serialized raw tf.Example, parses it with the
raw schema (label removed), applies the transform graph computed on training data, and
runs the model: raw strings in, the task's predictions out (`MAIN_OUTPUTS`). TF Serving's
`classify` (classification) or `regress` (regression) signature sits beside it. The raw
features it takes are listed in `assets.extra/raw_features.json`
(`sluice.serving.raw_features`). Its vocabularies are copied into the SavedModel's
assets, so serving never reads the Transform artifact.

The saved module's `predict_transformed` function runs the model alone on already
transformed features; the Evaluator scores through it, and the parity test holds both
paths to the same numbers. The `transform_features` signature runs the transform alone:
serialized raw tf.Example in, the model's transformed features out (one rank-1 tensor
each, the label left out). A client of a model part exported elsewhere (a TFLite model,
`components/compact_export.py`) transforms raw rows through it, so that model never needs
its own copy of the preprocessing.

An ensemble is exported the same way: its members' predictions are averaged inside
the graph, so it serves like a single model. Decision-forest members need TensorFlow
Decision Forests' inference ops where the model is loaded (`load_serving_model` registers
them; a TF Serving build with TF-DF ops serves them).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from sluice.modeling.families import is_forest

RAW_SIGNATURE = "serving_default"
TRANSFORM_SIGNATURE = "transform_features"
CLASSIFY_SIGNATURE = "classify"
REGRESS_SIGNATURE = "regress"
# TF Serving's method names: its :classify and :regress APIs call only signatures marked so.
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
# The output of `serving_default` each task answers with (and by which a loader tells the task).
MAIN_OUTPUTS = {"binary": "probability", "multiclass": "probabilities", "regression": "prediction"}


def task_of_outputs(outputs) -> str:
    """The task of a `serving_default` signature, from its output keys."""
    for task, key in MAIN_OUTPUTS.items():
        if key in outputs:
            return task
    raise ValueError(f"outputs {sorted(outputs)} hold none of {sorted(MAIN_OUTPUTS.values())}")


class _ServingModule(tf.Module):
    def __init__(self, models, tft_output, label: str, task: str = "binary", label_sources=(), whole_models: bool = False):
        super().__init__()
        # The signatures call the models. Of a Keras network the SavedModel keeps the weights
        # only (`_saved_state`): the Keras object also holds its optimizer and metrics, and
        # walking those took most of a save. `whole_models` keeps every model whole, for a
        # network holding resources of its own (a lookup table).
        self._models = self._no_dependency(list(models))
        self.model_state = [_saved_state(model, whole_models) for model in models]
        self.tft_layer = tft_output.transform_features_layer()
        self._raw_spec = serving_raw_spec(tft_output, label, label_sources)
        self._label = label
        self._task = task
        transformed_spec = {k: v for k, v in tft_output.transformed_feature_spec().items() if k != label}
        self._model_inputs = sorted(transformed_spec)
        examples = [tf.TensorSpec([None], tf.string, name="examples")]
        self.serve_examples = tf.function(self._serve_examples, input_signature=examples)
        self.transform_features = tf.function(self._transform_features, input_signature=examples)
        # Only the signature of the task: saving traces every tf.function the module holds.
        inputs = [tf.TensorSpec([None], tf.string, name="inputs")]
        if task == "regression":
            self.regress = tf.function(self._regress, input_signature=inputs)
        else:
            self.classify = tf.function(self._classify, input_signature=inputs)
        self.predict_transformed = tf.function(
            self._predict_transformed,
            input_signature=[
                {k: tf.TensorSpec([None], v.dtype, name=k) for k, v in sorted(transformed_spec.items())}
            ],
        )

    def _outputs(self, features):
        inputs = {name: tf.reshape(features[name], [-1]) for name in self._model_inputs}
        each = []
        for model in self._models:
            out = tf.cast(model(inputs, training=False), tf.float32)
            each.append(tf.reshape(out, [tf.shape(out)[0], -1]))
        mean = tf.add_n(each) / len(each) if len(each) > 1 else each[0]
        if self._task == "multiclass":
            return {"probabilities": mean, "class_id": tf.argmax(mean, axis=1)}
        return {MAIN_OUTPUTS[self._task]: mean[:, 0]}

    def _transformed(self, examples):
        return self.tft_layer(tf.io.parse_example(examples, self._raw_spec))

    def _serve_examples(self, examples):
        return self._outputs(self._transformed(examples))

    def _classify(self, inputs):
        """TF Serving's classify signature: each class's id as text ("0", "1", ...) and score."""
        outputs = self._outputs(self._transformed(inputs))
        if self._task == "binary":
            p = outputs["probability"]
            scores = tf.stack([1.0 - p, p], axis=1)
        else:
            scores = outputs["probabilities"]
        names = tf.strings.as_string(tf.range(tf.shape(scores)[1], dtype=tf.int64))
        return {"classes": tf.tile(names[tf.newaxis, :], [tf.shape(scores)[0], 1]), "scores": scores}

    def _regress(self, inputs):
        """TF Serving's regress signature: one value per row."""
        return {"outputs": self._outputs(self._transformed(inputs))["prediction"]}

    def _transform_features(self, examples):
        transformed = self.tft_layer(tf.io.parse_example(examples, self._raw_spec))
        return {name: tf.reshape(transformed[name], [-1]) for name in self._model_inputs}

    def _predict_transformed(self, features):
        return self._outputs(features)


def _saved_state(model, whole: bool):
    """What the SavedModel keeps of `model`: a Keras network's weights (as TensorFlow
    variables; Keras wraps each), else the model whole (a forest, a loaded SavedModel such
    as a trial's reused forest, any other kind of model, or all of them with `whole`)."""
    import keras

    if whole or is_forest(model) or not isinstance(model, keras.Model):
        return model
    return [weight if isinstance(weight, tf.Variable) else weight.value for weight in model.weights]


def serving_raw_spec(tft_output, label: str, label_sources=()) -> dict:
    """The raw features a served model parses: the Transform's raw features less the label
    and the raw columns only the label is computed from (`label_sources`)."""
    dropped = {label, *label_sources}
    return {k: v for k, v in tft_output.raw_feature_spec().items() if k not in dropped}


def export_serving_model(models, transform_dir: str, label: str, export_dir: str, task: str = "binary", label_sources=()) -> None:
    """Saves `models` (one model, or an ensemble's members) with the transform graph of
    `transform_dir` as one SavedModel.

    Its signatures: `serving_default` (serialized raw tf.Examples in, MAIN_OUTPUTS[task]
    out; a multiclass model also answers "class_id"), and TF Serving's `classify` (a
    classification's "classes" and "scores") or `regress` (a regression's "outputs").
    The raw features it parses leave out the label and its `label_sources`: raw columns a
    derived label is computed from, which serving rows do not carry.
    """
    import tensorflow_transform as tft

    from sluice.beam.patches import install_model_patches
    from sluice.serving.raw_features import describe, write_raw_features

    install_model_patches()

    tft_output = tft.TFTransformOutput(transform_dir)
    try:
        methods = _save(_ServingModule(models, tft_output, label, task, label_sources), export_dir, task)
    except AssertionError as error:  # TensorFlow's words for a function capturing an untracked resource
        if "untracked" not in str(error):
            raise
        methods = _save(_ServingModule(models, tft_output, label, task, label_sources, whole_models=True), export_dir, task)
    _set_method_names(export_dir, methods)
    write_raw_features(export_dir, describe(serving_raw_spec(tft_output, label, label_sources)))


def _save(module: _ServingModule, export_dir: str, task: str) -> dict[str, str]:
    """Saves `module` with its signatures; returns the TF Serving method name of each that needs one."""
    signatures = {RAW_SIGNATURE: module.serve_examples, TRANSFORM_SIGNATURE: module.transform_features}
    if task == "regression":
        signatures[REGRESS_SIGNATURE], methods = module.regress, {REGRESS_SIGNATURE: REGRESS_METHOD}
    else:
        signatures[CLASSIFY_SIGNATURE], methods = module.classify, {CLASSIFY_SIGNATURE: CLASSIFY_METHOD}
    tf.saved_model.save(module, export_dir, signatures=signatures)
    return methods


def _set_method_names(export_dir: str, methods: dict[str, str]) -> None:
    """Marks signatures with TF Serving's method names (tf.saved_model.save marks every one
    "predict"), rewriting saved_model.pb whole."""
    import os

    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(export_dir, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with open(path, "rb") as handle:
        proto.ParseFromString(handle.read())
    for meta_graph in proto.meta_graphs:
        for name, method in methods.items():
            meta_graph.signature_def[name].method_name = method
    with open(path + ".incoming", "wb") as handle:
        handle.write(proto.SerializeToString())
    os.replace(path + ".incoming", path)


def load_serving_model(model_dir: str):
    """Loads an exported SavedModel, with the op libraries it calls (TF-DF's, for a forest) imported."""
    from sluice.modeling.op_libraries import import_op_libraries

    import_op_libraries(model_dir)
    return tf.saved_model.load(str(model_dir))


def main_output(outputs) -> np.ndarray:
    """The task's prediction among a signature's outputs: P(positive), class probabilities
    [N, K], or values."""
    return outputs[MAIN_OUTPUTS[task_of_outputs(outputs)]].numpy()


def predict_raw(saved_model, serialized_examples) -> np.ndarray:
    """Predictions for serialized raw tf.Examples through the serving signature: P(positive)
    (binary), class probabilities [N, K] (multiclass) or values (regression)."""
    signature = saved_model.signatures[RAW_SIGNATURE]
    return main_output(signature(examples=tf.constant(list(serialized_examples))))


def transform_raw(saved_model, serialized_examples) -> dict[str, np.ndarray]:
    """The model's transformed features of serialized raw tf.Examples (label-free), through
    the `transform_features` signature: what a model part exported without the transform
    (a TFLite model) takes."""
    signature = saved_model.signatures[TRANSFORM_SIGNATURE]
    return {name: value.numpy() for name, value in signature(examples=tf.constant(list(serialized_examples))).items()}


def predict_transformed(saved_model, features) -> np.ndarray:
    """Predictions (as `predict_raw`) for a batch of transformed features (a dict of rank-1 tensors)."""
    return main_output(saved_model.predict_transformed(features))
