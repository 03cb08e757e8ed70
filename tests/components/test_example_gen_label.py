"""Rows without a label are rejected by ExampleGen, each named by file, row and column: a
row with no label would otherwise train as whichever class (or value) a missing one
defaults to."""

import json

import pytest

from sluice.artifacts import read_artifact
from sluice.data.rows import BadInputError
from sluice.execute import execute
from tests.components.test_example_gen import _example_gen
from tests.helpers import CENSUS_SAMPLE_TEST, CENSUS_SAMPLE_TRAIN


@pytest.mark.beam
def test_rows_without_a_label_are_rejected_by_file_row_and_column(tmp_path):
    lines = CENSUS_SAMPLE_TRAIN.read_text().splitlines(keepends=True)
    lines[6] = lines[6].rsplit(",", 1)[0] + ", ?\n"  # row 7: the label unknown
    lines[19] = lines[19].rsplit(",", 1)[0] + ",\n"  # row 20: the label empty
    source = tmp_path / "unlabelled.data"
    source.write_text("".join(lines))

    with pytest.raises(BadInputError, match=r"2 of 900 rows rejected") as raised:
        execute(_example_gen(source, CENSUS_SAMPLE_TEST), tmp_path / "strict", {})
    assert f"{source}, row 7, column 'income_bracket': no label" in str(raised.value)

    artifact = read_artifact(execute(_example_gen(source, CENSUS_SAMPLE_TEST, max_reject_fraction=0.01), tmp_path / "run", {}).uri)
    rejects = [json.loads(line) for line in open(artifact.file("rejects.jsonl"))]
    assert [(r["file"], r["row"], r["column"]) for r in rejects] == [(str(source), 7, "income_bracket"), (str(source), 20, "income_bracket")]
    assert artifact.properties["rows"] == {"read": 900, "written": 898, "rejected": 2}
