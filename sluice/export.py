"""Exporting a trained model with the TFT transform graph inside it.

The SavedModel's `serving_default` takes serialized raw tf.Example, parses it with the
raw schema (label removed), applies the transform graph computed on training data, and
runs the model: raw strings in, probabilities out. Its vocabularies are copied into the
SavedModel's assets, so serving never reads the Transform artifact.

The saved module's `predict_transformed` function runs the model alone on already
transformed features; the Evaluator scores through it, and the parity test holds both
paths to the same numbers.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

RAW_SIGNATURE = "serving_default"


class _ServingModule(tf.Module):
    def __init__(self, model, tft_output, label: str):
        super().__init__()
        self.model = model
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
        self.predict_transformed = tf.function(
            self._predict_transformed,
            input_signature=[
                {k: tf.TensorSpec([None], v.dtype, name=k) for k, v in sorted(transformed_spec.items())}
            ],
        )

    def _probability(self, features):
        inputs = {name: tf.reshape(features[name], [-1]) for name in self._model_inputs}
        return {"probability": tf.reshape(self.model(inputs, training=False), [-1])}

    def _serve_examples(self, examples):
        raw = tf.io.parse_example(examples, self._raw_spec)
        return self._probability(self.tft_layer(raw))

    def _predict_transformed(self, features):
        return self._probability(features)


def export_serving_model(model, transform_dir: str, label: str, export_dir: str) -> None:
    """Saves `model` with the transform graph of `transform_dir` as a SavedModel."""
    import tensorflow_transform as tft

    module = _ServingModule(model, tft.TFTransformOutput(transform_dir), label)
    tf.saved_model.save(
        module,
        export_dir,
        signatures={RAW_SIGNATURE: module.serve_examples},
    )


def predict_raw(saved_model, serialized_examples) -> np.ndarray:
    """P(positive) for serialized raw tf.Examples, through the serving signature."""
    signature = saved_model.signatures[RAW_SIGNATURE]
    return signature(examples=tf.constant(list(serialized_examples)))["probability"].numpy()


def predict_transformed(saved_model, features) -> np.ndarray:
    """P(positive) for a batch of transformed features (a dict of rank-1 tensors)."""
    return saved_model.predict_transformed(features)["probability"].numpy()
