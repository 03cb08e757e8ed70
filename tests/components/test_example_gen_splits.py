"""Which split a row goes to: by the row as read, by chosen columns, or stratified by label."""

import numpy as np
import pytest

from components.example_gen.blocks import parse_block, raw_row_keys, read_blocks, split_indices, stratified_split_indices
from components.example_gen.component import Params
from sluice.config import ConfigError
from sluice.data.rows import CsvFormat

SPLITS = {"train": 80, "eval": 10, "test": 10}


def _keys(text: bytes, fmt: CsvFormat):
    import io

    (block,) = list(read_blocks(io.BytesIO(text), "f.csv", fmt))
    return raw_row_keys(block, parse_block(block, fmt).line_numbers)


def test_declaring_or_dropping_a_column_moves_no_row_between_splits():
    text = b"a,b,c\n" + b"".join(f"{i},{i % 7},x{i}\n".encode() for i in range(500))
    every = _keys(text, CsvFormat({"a": "int", "b": "int", "c": "string"}, header=True))
    fewer = _keys(text, CsvFormat({"a": "int", "c": "string"}, header=True))
    retyped = _keys(text, CsvFormat({"a": "string", "b": "float"}, header=True))
    assert every == fewer == retyped
    assert list(split_indices(every, SPLITS)) == list(split_indices(fewer, SPLITS))


def test_a_stratified_split_cuts_each_class_in_the_split_proportions():
    rng = np.random.default_rng(0)
    labels = ["rare" if rng.random() < 0.05 else "common" for _ in range(2000)]
    keys = [f"row {i}".encode() for i in range(2000)]
    chosen = stratified_split_indices(keys, labels, SPLITS)
    rare = np.array(labels) == "rare"
    for position, percent in enumerate(SPLITS.values()):
        assert abs(np.mean(chosen[rare] == position) * 100 - percent) <= 2
    assert list(stratified_split_indices(keys, labels, SPLITS)) == list(chosen)  # stable


def test_split_columns_must_be_declared():
    fmt = {"columns": [["a", "int"]], "header": True}
    with pytest.raises(ConfigError, match=r"\['y'\]"):
        Params(sources=[{"pattern": "f.csv", "splits": SPLITS}], format=fmt, stratify_by="y")
