"""A split by time: cut-off times from every row, each row by its time, bad times named."""

import io

import numpy as np
import pytest

from components.example_gen.blocks import parse_block, read_blocks
from components.example_gen.component import Params
from components.example_gen.time_split import block_times, cutoff_times, time_split_indices
from sluice.config import ConfigError
from sluice.data.rows import CsvFormat

SPLITS = {"train": 80, "eval": 10, "test": 10}


def test_the_earliest_rows_train_and_the_latest_test_in_the_split_shares():
    rng = np.random.default_rng(0)
    seconds = rng.permutation(np.arange(1000, dtype=np.int64) * 60 + 1_700_000_000)
    cutoffs = cutoff_times(seconds, SPLITS)
    chosen = time_split_indices(seconds, cutoffs)
    assert np.bincount(chosen).tolist() == [800, 100, 100]
    assert seconds[chosen == 0].max() < seconds[chosen == 1].min() <= seconds[chosen == 1].max() < seconds[chosen == 2].min()
    assert cutoffs == [int(seconds[chosen == 1].min()), int(seconds[chosen == 2].min())]
    assert cutoff_times(seconds[::-1], SPLITS) == cutoffs  # the order rows are read in changes nothing


def test_rows_at_the_same_second_share_a_split():
    seconds = np.array([1, 2, 3, 5, 5, 5, 5, 5, 9, 9], dtype=np.int64)
    chosen = time_split_indices(seconds, cutoff_times(seconds, {"train": 50, "eval": 50}))
    assert chosen.tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 1, 1]  # the tie at the cut-off goes later, all of it
    assert cutoff_times(np.array([], np.int64), SPLITS) == [] and time_split_indices(seconds, []).tolist() == [0] * 10


def test_a_row_without_a_readable_time_is_rejected_naming_file_row_and_column():
    fmt = CsvFormat({"when": "string", "x": "int"}, header=True)
    text = b"when,x\n2024-01-01T10:00,1\n,2\n2024-02-30,3\n2024-01-02,4\n"
    (block,) = list(read_blocks(io.BytesIO(text), "rides.csv", fmt))
    seconds, timed, rejects = block_times(parse_block(block, fmt), "when", "rides.csv")
    assert timed.tolist() == [True, False, False, True]
    assert [str(r) for r in rejects] == [
        "rides.csv, row 3, column 'when': no time, and a split by time needs one in every row",
        "rides.csv, row 4, column 'when': '2024-02-30' is not a time (unix seconds, or ISO 8601: YYYY-MM-DD[THH:MM[:SS]]),"
        " and a split by time needs one in every row",
    ]


def test_a_split_by_time_takes_a_declared_column_alone_and_records_its_cutoffs():
    fmt = {"columns": [["when", "int"], ["y", "int"]], "header": True}
    sources = [{"pattern": "a.csv", "splits": {"train": 80, "eval": 20}}, {"pattern": "t.csv", "splits": {"test": 100}}]
    params = Params(sources=sources, format=fmt, time_column="when")
    method = params.split_method([1_700_000_000])
    assert (method.method, method.time_column) == ("time", "when")
    assert [(s.split, s.seconds, s.time) for s in method.starts] == [("eval", 1_700_000_000, "2023-11-14T22:13:20")]
    with pytest.raises(ConfigError, match=r"\['day'\]"):
        Params(sources=sources, format=fmt, time_column="day")
    with pytest.raises(ConfigError, match="no split_key and no stratify_by"):
        Params(sources=sources, format=fmt, time_column="when", stratify_by="y")
    uneven = [sources[0], {"pattern": "b.csv", "splits": {"train": 90, "eval": 10}}]
    with pytest.raises(ConfigError, match="same split percentages"):
        Params(sources=uneven, format=fmt, time_column="when")


def test_data_split_time_reaches_example_gen_and_its_column_never_blocks_validation():
    from components.standard_pipeline import Declaration
    from sluice.config import apply_overrides

    declaration = Declaration(
        name="rides", label="y", columns={"when": "string", "x": "float", "y": "int"}, preprocessing_fn="m:f",
        data={"train_file": "/d/rides.csv", "split_time_column": "when"}, settings={"validation": {"warn_only": ["x"]}},
    )
    config = declaration.config(home="/h")
    assert "time_column" not in declaration.create_pipeline(config).component("example_gen").params  # set, not chosen
    pipeline = declaration.create_pipeline(apply_overrides(config, ["data.split=time"]))
    assert pipeline.component("example_gen").params["time_column"] == "when"
    assert pipeline.component("example_validator").params["warn_only"] == ["x", "when"]
    assert pipeline.component("skew_validator").params["warn_only"] == ["x", "when"]
    with pytest.raises(ConfigError, match="split_time_column"):
        apply_overrides(config, ["data.split=time", "data.split_time_column=null"])
    with pytest.raises(ConfigError, match="split_key"):
        apply_overrides(config, ["data.split=time", 'data.split_key=["x"]'])


@pytest.mark.beam
def test_example_gen_puts_the_earliest_rows_in_train_and_records_where_each_split_starts(tmp_path):
    import datetime as dt
    import json

    import pyarrow.parquet as pq

    from sluice.artifacts import read_artifact
    from sluice.execute import execute
    from sluice.pipeline import Component

    rng = np.random.default_rng(1)
    start = dt.datetime(2024, 1, 1)
    lines = [f"{(start + dt.timedelta(hours=int(h))).isoformat()},{i}\n" for i, h in enumerate(rng.permutation(400))]
    lines[7] = "yesterday,7\n"  # file row 9 (after the header)
    source = tmp_path / "rides.csv"
    source.write_text("when,i\n" + "".join(lines))
    component = Component("example_gen", "components.example_gen.component:SPEC", params={
        "sources": [{"pattern": str(source), "splits": SPLITS}],
        "format": {"columns": [["when", "string"], ["i", "int"]], "header": True},
        "time_column": "when",
        "max_reject_fraction": 0.01,
    })
    artifact = read_artifact(execute(component, tmp_path / "run", {}).uri)

    times = {split: sorted(pq.read_table(artifact.file(split, f"columns-00000-00000.parquet"))["when"].to_pylist()) for split in SPLITS}
    assert {split: len(rows) for split, rows in times.items()} == {"train": 319, "eval": 40, "test": 40}
    assert times["train"][-1] < times["eval"][0] and times["eval"][-1] < times["test"][0]
    method = artifact.properties["split_method"]
    assert method["method"] == "time" and method["time_column"] == "when"
    assert [(s["split"], s["time"].encode()) for s in method["starts"]] == [("eval", times["eval"][0]), ("test", times["test"][0])]
    (reject,) = [json.loads(line) for line in open(artifact.file("rejects.jsonl"))]
    assert (reject["file"], reject["row"], reject["column"]) == (str(source), 9, "when") and "'yesterday' is not a time" in reject["reason"]
