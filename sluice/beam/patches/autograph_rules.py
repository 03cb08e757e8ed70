"""AutoGraph leaves tf_keras, TensorFlow Decision Forests and TF Transform as written, as it leaves `keras`.

TensorFlow's AutoGraph rewrites the Python source of every function a `tf.function` calls,
unless a rule in `tensorflow.python.autograph.core.config.CONVERSION_RULES` says not to.
TensorFlow ships `DoNotConvert("keras")` (Keras' internals are written for graph mode),
but the legacy Keras that TF Transform's `TF_USE_LEGACY_KERAS` selects is the package
`tf_keras`, and TF-DF's Keras models are in `tensorflow_decision_forests`: neither is
covered, so each forest trial re-parsed and re-generated some 300 of their functions
(7 of a 9.5 s trial on the census sample). TF Transform's layer, traced into every model
that takes raw features, had its loading functions (`apply_transform_model` and those it
calls) rewritten the same way; TF Transform traces its own graphs with `autograph=False`,
so its functions are written for graph mode. With these rules their functions run as
written, as TensorFlow's own Keras functions do; the functions handed to `tf.function`
themselves are still converted. The models, their training, the transform layer and their
outputs are the same (`tests/sluice/beam/test_autograph_rules.py` runs each in a fresh
process both ways).
"""

from __future__ import annotations

LIBRARIES = ("tf_keras", "tensorflow_decision_forests", "tensorflow_transform")


def install() -> None:
    from tensorflow.python.autograph.core import config

    rules = tuple(config.CONVERSION_RULES)
    if any(isinstance(rule, config.DoNotConvert) and rule.matches(LIBRARIES[0]) for rule in rules):
        return  # installed already
    config.CONVERSION_RULES = (*(config.DoNotConvert(library) for library in LIBRARIES), *rules)
