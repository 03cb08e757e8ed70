"""`sluice init` on a Parquet file: the pipeline reads the file itself, and every row of it
fits the columns init declared."""

import pandas as pd

from components.example_gen.blocks import parse_parquet_block, read_parquet_blocks
from sluice.data.rows import CsvFormat
from sluice.scaffold import init_pipeline
from tests.sluice.generated_table import write_trips


def test_init_points_the_pipeline_at_the_parquet_file(tmp_path, monkeypatch):
    from sluice.registry import PIPELINES_ENV, pipeline_module

    # As pandas writes it: an integer column with gaps becomes floats (area_code 212.0, NaN).
    data = tmp_path / "trips.parquet"
    pd.read_csv(write_trips(tmp_path / "trips.csv"), na_values=["NA"]).to_parquet(data)
    assert pd.read_parquet(data)["area_code"].dtype == "float64"

    done = init_pipeline("parquet_trips", str(data), "tipped", directory=str(tmp_path / "pipes"))
    assert done.data_file == data and not (done.directory / "data").exists()  # no CSV copy
    monkeypatch.setenv(PIPELINES_ENV, str(tmp_path / "pipes"))
    import sluice.user_pipelines

    monkeypatch.setattr(sluice.user_pipelines, "__path__", [str(tmp_path / "pipes")])
    module = pipeline_module("parquet_trips")  # its own name: the registry keeps a module per name
    config = module.Config(home=str(tmp_path / "home"))
    assert config.data.train_file == str(data)
    fmt = CsvFormat(**module.CSV_FORMAT)
    assert fmt.columns["area_code"] == "int"

    with open(data, "rb") as handle:
        parsed = [parse_parquet_block(block, fmt) for block in read_parquet_blocks(handle, str(data))]
    assert [error for block in parsed for error in block.rejects] == []
    assert sum(block.table.num_rows for block in parsed) == 300
