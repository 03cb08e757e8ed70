"""ExampleGen reads Parquet as it reads the CSV of the same values: same splits, same
examples, the same refusals named by file, row and column."""

import csv
import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.example_gen.blocks import (
    parquet_raw_row_keys,
    parse_block,
    parse_parquet_block,
    raw_row_keys,
    read_blocks,
    read_parquet_blocks,
    split_indices,
)
from sluice.data.parquet_rows import check_columns, typed_rows
from sluice.data.rows import BadInputError, CsvFormat, RowError
from sluice.pipeline import Component

SPLITS = {"train": 80, "eval": 10, "test": 10}
COLUMNS = {
    "trip_id": "int",
    "start_time": "string",
    "area_code": "int",
    "miles": "float",
    "fare": "float",
    "company": "string",
    "card": "string",
    "tipped": "int",
}
FORMAT = {"columns": [[name, kind] for name, kind in COLUMNS.items()], "header": True, "missing_values": ["", "NA"]}


def trips_table(rows: int = 400, bad_fare_at: int | None = None) -> pa.Table:
    """Typed columns with gaps, a timestamp, categorical text with commas, quotes and blanks, numbers
    stored as text (`fare`, as some exports do) and a column no pipeline declares."""
    rng = np.random.default_rng(3)
    start = dt.datetime(2024, 3, 1)
    fares = [f"{2.5 + 2.0 * float(m):.2f}" for m in rng.lognormal(1.0, 1.0, rows)]
    if bad_fare_at is not None:
        fares[bad_fare_at - 1] = "twelve"
    return pa.table({
        "trip_id": pa.array(np.arange(1000, 1000 + rows)),
        "start_time": pa.array([start + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 86400, rows)], pa.timestamp("s")),
        "area_code": pa.array([None if i % 17 == 0 else int(c) for i, c in enumerate(rng.choice([212, 312, 415], rows))], pa.int64()),
        "miles": pa.array([None if i % 11 == 0 else float(m) for i, m in enumerate(rng.lognormal(1.0, 1.0, rows))]),
        "fare": pa.array(fares),
        # dictionary-encoded, as pandas writes a categorical column
        "company": pa.array([None if i % 13 == 0 else ["acme, inc", 'the "best" cabs', " padded ", "NA", "solo"][i % 5] for i in range(rows)]).dictionary_encode(),
        "card": pa.array([bool(i % 3) for i in range(rows)]),
        "tipped": pa.array(rng.integers(0, 2, rows)),
        "note": pa.array([f"extra {i}" for i in range(rows)]),
    })


def write_pair(directory, table: pa.Table):
    """The table as Parquet, and as the CSV `csv.writer` writes of the same values (a null as an empty field)."""
    parquet, text = directory / "trips.parquet", directory / "trips.csv"
    pq.write_table(table, parquet, row_group_size=150)
    with open(text, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.column_names)
        writer.writerows(["" if v is None else v for v in row.values()] for row in table.to_pylist())
    return parquet, text


def parquet_rows_of(path, fmt: CsvFormat, block_rows: int = 100):
    keys, tables, rejects = [], [], []
    with open(path, "rb") as handle:
        for block in read_parquet_blocks(handle, str(path), block_rows=block_rows):
            parsed = parse_parquet_block(block, fmt)
            keys += parquet_raw_row_keys(block, parsed.line_numbers).to_pylist()
            tables.append(parsed.table)
            rejects += parsed.rejects
    return keys, pa.concat_tables(tables), rejects


def csv_rows_of(path, fmt: CsvFormat):
    keys, tables, rejects = [], [], []
    with open(path, "rb") as handle:
        for block in read_blocks(handle, str(path), fmt):
            parsed = parse_block(block, fmt)
            keys += raw_row_keys(block, parsed.line_numbers)
            tables.append(parsed.table)
            rejects += parsed.rejects
    return keys, pa.concat_tables(tables), rejects


def test_a_parquet_file_and_its_csv_give_the_same_rows_keys_and_splits(tmp_path):
    parquet, text = write_pair(tmp_path, trips_table())
    fmt = CsvFormat(**FORMAT)
    parquet_keys, parquet_table, parquet_rejects = parquet_rows_of(parquet, fmt)
    csv_keys, csv_table, csv_rejects = csv_rows_of(text, fmt)
    assert parquet_rejects == csv_rejects == []
    assert parquet_keys == csv_keys and len(set(parquet_keys)) == 400
    assert list(split_indices(parquet_keys, SPLITS)) == list(split_indices(csv_keys, SPLITS))
    assert parquet_table.equals(csv_table)
    assert parquet_table["company"][1].as_py() == b"the \"best\" cabs" and parquet_table["company"][2].as_py() == b"padded"
    assert parquet_table["start_time"][0].as_py().decode() == str(trips_table()["start_time"][0].as_py())
    assert parquet_table["company"].null_count == len([i for i in range(400) if i % 13 == 0 or i % 5 == 3])  # null, "NA"


def test_the_raw_row_is_every_column_of_the_file_whatever_is_declared(tmp_path):
    parquet, _ = write_pair(tmp_path, trips_table(rows=50))
    every = parquet_rows_of(parquet, CsvFormat(**FORMAT))[0]
    fewer = parquet_rows_of(parquet, CsvFormat({"miles": "float", "tipped": "string"}, header=True))[0]
    assert every == fewer


def test_bad_values_are_named_by_file_row_and_column(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({
        "count": pa.array([1.0, 2.5, None, 4.0, 5.0]),  # floats as "int": whole numbers only
        "price": pa.array(["1.5", "2", "cheap", "NA", "3"]),
        "name": pa.array([b"a", b"b", b"c", b"\xff", b"e"]),
        "code": pa.array([1, 2, 3, 4, 2**64 - 1], pa.uint64()),
    }), path)
    fmt = CsvFormat({"count": "int", "price": "float", "name": "string", "code": "int"}, header=True, missing_values=["NA"])
    _, table, rejects = parquet_rows_of(path, fmt, block_rows=2)
    assert [str(error) for error in rejects] == [
        f"{path}, row 2, column 'count': '2.5' is not an integer",
        f"{path}, row 3, column 'price': 'cheap' is not a number",
        f"{path}, row 4, column 'name': not UTF-8 (invalid start byte at byte 0)",
        f"{path}, row 5, column 'code': '18446744073709551615' is beyond the int64 range",
    ]
    assert table.to_pydict() == {"count": [1], "price": [1.5], "name": [b"a"], "code": [1]}


def test_a_file_lacking_a_column_or_holding_an_unfit_one_is_refused_whole(tmp_path):
    schema = pa.schema([("a", pa.int64()), ("when", pa.timestamp("s")), ("tags", pa.list_(pa.string()))])
    with pytest.raises(BadInputError, match=r"f.parquet: no column 'b' \(its columns: a, when, tags\)"):
        check_columns(schema, CsvFormat({"a": "int", "b": "int"}), "f.parquet")
    with pytest.raises(BadInputError, match=r"column 'when': timestamp\[s\] values are not float numbers"):
        check_columns(schema, CsvFormat({"when": "float"}), "f.parquet")
    with pytest.raises(BadInputError, match=r"column 'tags': list<item: string> values \(lists or records\)"):
        check_columns(schema, CsvFormat({"tags": "string"}), "f.parquet")
    check_columns(schema, CsvFormat({"when": "string", "a": "float"}), "f.parquet")


def test_predict_reads_the_first_rows_of_a_parquet_file(tmp_path):
    parquet, _ = write_pair(tmp_path, trips_table(rows=20))
    rows = typed_rows(str(parquet), CsvFormat(**FORMAT), limit=2)
    assert [number for number, _ in rows] == [1, 2]
    first = rows[0][1]
    assert first["trip_id"] == 1000 and first["card"] == "False" and "company" not in first and "area_code" not in first
    assert first["fare"] == float(trips_table(rows=20)["fare"][0].as_py())  # the value written, not its float32


def _example_gen(train_file, max_reject_fraction=0.0) -> Component:
    params = {"sources": [{"pattern": str(train_file), "splits": SPLITS}], "format": FORMAT, "max_reject_fraction": max_reject_fraction}
    return Component("example_gen", "components.example_gen.component:SPEC", params=params)


def _examples(uri, split: str) -> list[str]:
    """The split's tf.Examples, each as sorted JSON (a proto's map order is not fixed)."""
    import json

    import tensorflow as tf
    from google.protobuf.json_format import MessageToDict

    records = tf.data.TFRecordDataset(tf.io.gfile.glob(f"{uri}/{split}/data-*.tfrecord")).as_numpy_iterator()
    return sorted(json.dumps(MessageToDict(tf.train.Example.FromString(record)), sort_keys=True) for record in records)


@pytest.mark.beam
def test_example_gen_writes_a_parquet_file_as_it_writes_the_same_csv(tmp_path):
    from sluice.artifacts import read_artifact
    from sluice.execute import execute

    parquet, text = write_pair(tmp_path, trips_table(bad_fare_at=7))
    from_parquet = read_artifact(execute(_example_gen(parquet, 0.01), tmp_path / "parquet_run", {}).uri)
    from_csv = read_artifact(execute(_example_gen(text, 0.01), tmp_path / "csv_run", {}).uri)

    assert from_parquet.properties["rows"] == {"read": 400, "written": 399, "rejected": 1}
    splits = from_parquet.properties["splits"]
    assert {name: s["rows"] for name, s in splits.items()} == {name: s["rows"] for name, s in from_csv.properties["splits"].items()}
    for name in SPLITS:
        assert _examples(from_parquet.path, name) == _examples(from_csv.path, name)
        copy = pa.concat_tables(pq.read_table(p) for p in sorted(from_parquet.path.glob(f"{name}/columns-*.parquet")))
        assert copy.num_rows == splits[name]["rows"] and copy.column_names == list(COLUMNS)
    (reject,) = [RowError(**json.loads(line)) for line in open(from_parquet.file("rejects.jsonl"))]
    assert str(reject) == f"{parquet}, row 7, column 'fare': 'twelve' is not a number"

    pq.write_table(trips_table(rows=5).drop(["fare"]), tmp_path / "no_fare.parquet")
    with pytest.raises(BadInputError, match=r"no_fare.parquet: no column 'fare'"):  # before any row is read
        execute(_example_gen(tmp_path / "no_fare.parquet"), tmp_path / "no_fare_run", {})
