"""A small generated table with what real files have: a header, missing values, a
timestamp, an integer-coded category, a skewed amount, a high-cardinality string and a
label derived from the other columns; optionally a pickup place (latitude, longitude)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

COLUMNS = ("trip_id", "start_time", "area_code", "miles", "fare", "company", "payment", "tipped")


LOCATION = ("pickup_lat", "pickup_lng")


def write_trips(path: Path, rows: int = 300, seed: int = 7, delimiter: str = ",", location: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    places = np.random.default_rng(seed + 1)  # its own draws: the other columns are the same with or without it
    start = dt.datetime(2024, 3, 1)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(COLUMNS + LOCATION if location else COLUMNS)
        for i in range(rows):
            when = start + dt.timedelta(minutes=int(rng.integers(0, 60 * 24 * 60)))
            miles = float(rng.lognormal(1.0, 1.0))
            payment = ["card", "cash", "mobile"][int(rng.integers(0, 3))]
            area = int(rng.choice([212, 312, 415, 617, 773]))
            # the label: tipped when paid by card or mobile, mostly, and more at night
            tipped = int((payment != "cash") ^ (rng.random() < 0.1) or (when.hour >= 22 and rng.random() < 0.5))
            row = [
                1000 + i,
                when.isoformat(),
                area,
                f"{miles:.2f}",
                f"{2.5 + 2.0 * miles:.2f}",
                f"company {int(rng.integers(0, 40))}",
                payment,
                tipped,
            ]
            if rng.random() < 0.08:
                row[3] = ""  # a missing number
            if rng.random() < 0.08:
                row[6] = "NA"  # a missing category
            if rng.random() < 0.05:
                row[2] = ""  # a missing code
            if location:  # around Chicago's Loop; a few places unknown
                known = places.random() >= 0.03
                row += [f"{41.88 + places.normal(0, 0.05):.5f}", f"{-87.63 + places.normal(0, 0.05):.5f}"] if known else ["", ""]
            writer.writerow(row)
    return path
