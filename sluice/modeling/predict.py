"""Predictions from a served SavedModel on raw CSV rows, as a client would send them."""

from __future__ import annotations

import dataclasses
from itertools import islice
from pathlib import Path

from sluice.data.rows import BadInputError, CsvFormat, Row, RowError, encode_example, read_rows, typed_values
from sluice.serving.versions import latest_version  # noqa: F401 (where `sluice predict` finds the served model)


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One scored row.

    Args:
        label: the row's raw label (None when the label is derived from other columns).
        prediction: P(positive) (binary), each class's probability (multiclass) or the value (regression).
        task: "binary", "multiclass" or "regression".
    """

    file: str
    row: int
    features: dict
    label: object
    prediction: float | list[float]
    task: str = "binary"

    @property
    def probability(self) -> float:
        """A binary model's P(positive)."""
        if self.task != "binary":
            raise AttributeError(f"a {self.task} prediction has no single probability")
        return self.prediction

    def describe(self, label: str, positive_label=None) -> str:
        """The prediction in words, e.g. "P(income = >50K) = 0.8123", "class 2 (P 0.81; ...)"."""
        if self.task == "binary":
            return f"P({label} = {positive_label if positive_label is not None else 1}) = {self.prediction:.4f}"
        if self.task == "multiclass":
            best = max(range(len(self.prediction)), key=self.prediction.__getitem__)
            each = ", ".join(f"{k}: {p:.4f}" for k, p in enumerate(self.prediction))
            return f"{label} = class {best} (P {self.prediction[best]:.4f}; every class: {each})"
        return f"{label} = {self.prediction:.6g}"


def predict_csv(model_dir: str | Path, csv_file: str, fmt: CsvFormat, label: str, limit: int = 1) -> list[Prediction]:
    """Scores the first `limit` rows of `csv_file` (a CSV, or a Parquet file), sent without their label."""
    from sluice.modeling.export import RAW_SIGNATURE, load_serving_model, predict_raw, task_of_outputs

    rows = _first_rows(csv_file, fmt, limit)
    served = [{k: v for k, v in values.items() if k != label} for _, values in rows]
    saved_model = load_serving_model(str(model_dir))
    task = task_of_outputs(saved_model.signatures[RAW_SIGNATURE].structured_outputs)
    predictions = predict_raw(saved_model, [encode_example(features, fmt) for features in served])
    return [
        Prediction(csv_file, row, features, values.get(label), p.tolist() if task == "multiclass" else float(p), task)
        for (row, values), features, p in zip(rows, served, predictions)
    ]


def _first_rows(path: str, fmt: CsvFormat, limit: int) -> list[tuple[int, dict]]:
    """(row number, typed values) of the file's first `limit` rows."""
    from apache_beam.io.filesystems import FileSystems

    from sluice.data.parquet_rows import is_parquet, typed_rows

    if is_parquet(path):
        return typed_rows(path, fmt, limit)
    rows = []
    with FileSystems.open(path) as handle:
        for item in islice(read_rows(handle, path, fmt), limit):
            values = typed_values(item, fmt) if isinstance(item, Row) else item
            if isinstance(values, RowError):
                raise BadInputError(str(values))
            rows.append((item.row, values))
    return rows
