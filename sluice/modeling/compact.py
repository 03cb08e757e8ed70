"""Compact forms of an exported model's model part: TFLite float16 and dynamic-range int8.

The model part is the SavedModel's `predict_transformed`: transformed features in (one
rank-1 input per feature, named as the feature), P(positive) out. It is converted from
that restored function, so every Keras family converts the same way, and an ensemble
converts with its averaging. The transform is not in it: a client runs the SavedModel's
`transform_features` signature (`sluice.modeling.export.transform_raw`), or reads
Transform's output, and feeds the result to `TfliteModel.predict`.

TensorFlow Decision Forests models do not convert: their inference runs in TF-DF's own
ops (SimpleMLCreateModelResource, SimpleMLInferenceOpWithHandle), which are neither TFLite
builtins nor in the Flex (select TF ops) set. `convert` raises NotConvertible with the
converter's own words.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

FORMS = ("float16", "int8")


class NotConvertible(Exception):
    """The TFLite converter refused a model part; the message says why, in its words."""


def convert(saved_model, form: str) -> bytes:
    """The TFLite flatbuffer of `saved_model`'s `predict_transformed`, in `form`:
    "float16" (weights stored as float16) or "int8" (dynamic-range: int8 weights,
    float activations).

    Raises:
        NotConvertible: the model part uses ops TFLite has no kernel for.
    """
    import tensorflow as tf
    from tensorflow.lite.python.convert_phase import ConverterError

    if form not in FORMS:
        raise ValueError(f"no TFLite form {form!r}; one of {', '.join(FORMS)}")
    function = saved_model.predict_transformed.get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], saved_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if form == "float16":
        converter.target_spec.supported_types = [tf.float16]
    try:
        return converter.convert()
    except ConverterError as error:
        raise NotConvertible(converter_reason(str(error))) from None


# What the converter answers for a model part with a decision forest inside (TF-DF runs
# inference in its own ops, neither TFLite builtins nor Flex ops); a test holds the
# converter to it, so CompactExport can say it without a conversion that is bound to fail.
FOREST_REASON = (
    "TFLite has no kernel for TensorFlow Decision Forests' inference ops "
    "SimpleMLCreateModelResource, SimpleMLInferenceOpWithHandle (ERROR_NEEDS_CUSTOM_OPS)"
)


def converter_reason(message: str) -> str:
    """One line from a ConverterError's message: the ops TFLite lacks and the error code."""
    ops = re.search(r"^(?:Custom|Flex) ops: (.+)$", message, re.MULTILINE)
    codes = sorted(set(re.findall(r"Error code: (\w+)", message)))
    if ops:
        names = ops.group(1).strip()
        whose = "TensorFlow Decision Forests' inference ops " if "SimpleML" in names else "the ops "
        return f"TFLite has no kernel for {whose}{names}" + (f" ({', '.join(codes)})" if codes else "")
    first = next((line.strip() for line in message.splitlines() if line.strip()), "the converter failed")
    return first[:300]


class TfliteModel:
    """A TFLite model part, fed by input name: `predict({feature: values})` -> P(positive).

    Its inputs are resized to each batch's row count, so a whole split goes through in a
    few invocations and a single row through one.
    """

    def __init__(self, model_content: bytes, num_threads: int | None = None, output: str | None = None):
        """`output`: the output answered, by name, for a model part with several (a
        multiclass one's "probabilities" beside its "class_id"); None: the only one."""
        import tensorflow as tf

        self._interpreter = tf.lite.Interpreter(model_content=model_content, num_threads=num_threads)
        runner = self._interpreter.get_signature_runner()
        self._inputs = {name: (detail["index"], detail["dtype"]) for name, detail in runner.get_input_details().items()}
        outputs = runner.get_output_details()
        if output is None:
            (chosen,) = outputs.values()
        else:
            chosen = outputs[output]
        self._output = chosen["index"]
        self._rows = None

    @property
    def input_names(self) -> list[str]:
        return sorted(self._inputs)

    def predict(self, features: Mapping[str, np.ndarray]) -> np.ndarray:
        rows = len(next(iter(features.values())))
        if rows != self._rows:
            for index, _ in self._inputs.values():
                self._interpreter.resize_tensor_input(index, [rows])
            self._interpreter.allocate_tensors()
            self._rows = rows
        for name, (index, dtype) in self._inputs.items():
            self._interpreter.set_tensor(index, np.asarray(features[name], dtype=dtype))
        self._interpreter.invoke()
        values = self._interpreter.get_tensor(self._output).reshape(rows, -1)
        return (values[:, 0] if values.shape[1] == 1 else values).copy()  # one value a row, or a row of class scores


def size_on_disk(path: str | Path) -> int:
    """Bytes of a file, or of every file under a directory (a SavedModel)."""
    path = Path(path)
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def median_latency_ms(call: Callable[[], object], calls: int, warmup: int = 10) -> float:
    """Median wall time of `calls` calls of `call`, in milliseconds, after `warmup` calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0
