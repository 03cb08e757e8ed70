"""Exporting a trained model with the TFT transform graph inside it.

The SavedModel's `serving_default` takes serialized raw tf.Example, parses it with the
raw schema (label removed), applies the transform graph computed on training data, and
runs the model: raw strings in, probabilities out. The raw features it takes are listed in
`assets.extra/raw_features.json` (`sluice.serving.raw_features`). Its vocabularies are copied into the
SavedModel's assets, so serving never reads the Transform artifact.

The saved module's `predict_transformed` function runs the model alone on already
transformed features; the Evaluator scores through it, and the parity test holds both
paths to the same numbers. The `transform_features` signature runs the transform alone:
serialized raw tf.Example in, the model's transformed features out (one rank-1 tensor
each, the label left out). A client of a model part exported elsewhere (a TFLite model,
`components/compact_export.py`) transforms raw rows through it, so that model never needs
its own copy of the preprocessing.

An ensemble is exported the same way: its members' probabilities are averaged inside
the graph, so it serves like a single model. Decision-forest members need TensorFlow
Decision Forests' inference ops where the model is loaded (`load_serving_model` registers
them; a TF Serving build with TF-DF ops serves them).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

RAW_SIGNATURE = "serving_default"
TRANSFORM_SIGNATURE = "transform_features"


class _ServingModule(tf.Module):
    def __init__(self, models, tft_output, label: str):
        super().__init__()
        self.models = list(models)
        self.tft_layer = tft_output.transform_features_layer()
        raw_spec = dict(tft_output.raw_feature_spec())
        raw_spec.pop(label, None)
        self._raw_spec = raw_spec
        self._label = label
        transformed_spec = {k: v for k, v in tft_output.transformed_feature_spec().items() if k != label}
        self._model_inputs = sorted(transformed_spec)
        self.serve_examples = tf.function(
            self._serve_examples, input_signature=[tf.TensorSpec([None], tf.string, name="examples")]
        )
        self.transform_features = tf.function(
            self._transform_features, input_signature=[tf.TensorSpec([None], tf.string, name="examples")]
        )
        self.predict_transformed = tf.function(
            self._predict_transformed,
            input_signature=[
                {k: tf.TensorSpec([None], v.dtype, name=k) for k, v in sorted(transformed_spec.items())}
            ],
        )

    def _probability(self, features):
        inputs = {name: tf.reshape(features[name], [-1]) for name in self._model_inputs}
        each = [tf.reshape(tf.cast(model(inputs, training=False), tf.float32), [-1]) for model in self.models]
        return {"probability": tf.add_n(each) / len(each) if len(each) > 1 else each[0]}

    def _serve_examples(self, examples):
        raw = tf.io.parse_example(examples, self._raw_spec)
        return self._probability(self.tft_layer(raw))

    def _transform_features(self, examples):
        transformed = self.tft_layer(tf.io.parse_example(examples, self._raw_spec))
        return {name: tf.reshape(transformed[name], [-1]) for name in self._model_inputs}

    def _predict_transformed(self, features):
        return self._probability(features)


def export_serving_model(models, transform_dir: str, label: str, export_dir: str) -> None:
    """Saves `models` (one model, or an ensemble's members) with the transform graph of
    `transform_dir` as one SavedModel."""
    import tensorflow_transform as tft

    from sluice.serving.raw_features import describe, write_raw_features

    tft_output = tft.TFTransformOutput(transform_dir)
    module = _ServingModule(models, tft_output, label)
    tf.saved_model.save(
        module,
        export_dir,
        signatures={RAW_SIGNATURE: module.serve_examples, TRANSFORM_SIGNATURE: module.transform_features},
    )
    write_raw_features(export_dir, describe({k: v for k, v in tft_output.raw_feature_spec().items() if k != label}))


def load_serving_model(model_dir: str):
    """Loads an exported SavedModel, with the decision-forest ops it may need registered."""
    try:
        import tensorflow_decision_forests  # noqa: F401 (registers the forests' inference ops)
    except ImportError:
        pass
    return tf.saved_model.load(str(model_dir))


def predict_raw(saved_model, serialized_examples) -> np.ndarray:
    """P(positive) for serialized raw tf.Examples, through the serving signature."""
    signature = saved_model.signatures[RAW_SIGNATURE]
    return signature(examples=tf.constant(list(serialized_examples)))["probability"].numpy()


def transform_raw(saved_model, serialized_examples) -> dict[str, np.ndarray]:
    """The model's transformed features of serialized raw tf.Examples (label-free), through
    the `transform_features` signature: what a model part exported without the transform
    (a TFLite model) takes."""
    signature = saved_model.signatures[TRANSFORM_SIGNATURE]
    return {name: value.numpy() for name, value in signature(examples=tf.constant(list(serialized_examples))).items()}


def predict_transformed(saved_model, features) -> np.ndarray:
    """P(positive) for a batch of transformed features (a dict of rank-1 tensors)."""
    return saved_model.predict_transformed(features)["probability"].numpy()
