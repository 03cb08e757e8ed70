"""An integer column written with a decimal point ("187.0", as pandas writes one with a
missing value) is read as a float, so ExampleGen does not reject its rows."""

import pandas as pd

from sluice.inference import choose_columns, choose_label, read_table


def test_integral_values_written_as_floats_are_floats(tmp_path):
    frame = pd.DataFrame({
        "flipper": [187.0, 210.0, None, 199.0] * 10,
        "year": [2007, 2008, 2009, 2007] * 10,
        "code": [1.0, 2.0, 3.0, None] * 10,
        "y": [1.0, 0.0, 1.0, 0.0] * 10,
    })
    frame.to_csv(tmp_path / "t.csv", index=False)
    table = read_table(tmp_path / "t.csv")
    choices = {c.name: (c.csv_type, c.kind) for c in choose_columns(table, "y")}
    assert choices == {"flipper": ("float", "integer_category"), "year": ("int", "integer_category"), "code": ("float", "integer_category")}
    label = choose_label(table, "y")
    assert (label.task, label.csv_type, label.positive) == ("binary", "string", "1.0")
