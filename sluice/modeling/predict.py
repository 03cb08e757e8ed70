"""Predictions from a served SavedModel on raw CSV rows, as a client would send them."""

from __future__ import annotations

import dataclasses
from itertools import islice
from pathlib import Path

from sluice.data.rows import BadInputError, CsvFormat, Row, RowError, encode_example, read_rows, typed_values
from sluice.serving.versions import latest_version  # noqa: F401 (where `sluice predict` finds the served model)


@dataclasses.dataclass(frozen=True)
class Prediction:
    file: str
    row: int
    features: dict
    label: object
    probability: float


def predict_csv(model_dir: str | Path, csv_file: str, fmt: CsvFormat, label: str, limit: int = 1) -> list[Prediction]:
    """Scores the first `limit` rows of `csv_file`, sent without their label."""
    from apache_beam.io.filesystems import FileSystems

    from sluice.modeling.export import load_serving_model, predict_raw

    rows = []
    with FileSystems.open(csv_file) as handle:
        for item in islice(read_rows(handle, csv_file, fmt), limit):
            values = typed_values(item, fmt) if isinstance(item, Row) else item
            if isinstance(values, RowError):
                raise BadInputError(str(values))
            rows.append((item, values))
    served = [{k: v for k, v in values.items() if k != label} for _, values in rows]
    saved_model = load_serving_model(str(model_dir))
    probabilities = predict_raw(saved_model, [encode_example(features, fmt) for features in served])
    return [
        Prediction(row.file, row.row, features, values.get(label), float(p))
        for (row, values), features, p in zip(rows, served, probabilities)
    ]
