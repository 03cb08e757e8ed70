"""A split by time: the earliest rows train, the later ones evaluate and test.

Two passes over the rows. The first reads each row's time (`block_times`); the cut-off
times are drawn from all of them at once (`cutoff_times`), so each split gets its share
of rows. The second puts each row in the split whose time range holds it
(`time_split_indices`). Rows at the same second always share a split: a tie at a cut-off
goes to the later split, so no moment is both trained on and evaluated. A row whose time
is missing or unreadable is rejected, naming its file, row and column.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from components.example_gen.blocks import ParsedBlock
from sluice.data.rows import RowError
from sluice.data.timestamps import FORMS, unix_seconds


def block_times(parsed: ParsedBlock, column: str, file: str) -> tuple[np.ndarray, np.ndarray, list[RowError]]:
    """(each row's unix seconds, which rows have one, a RowError for each row that has none)."""
    values = parsed.table[column]
    seconds, valid = unix_seconds(values)
    rejects = []
    for position in np.flatnonzero(~valid).tolist():
        value = values[position].as_py()
        if value is None or value in (b"", ""):
            reason = "no time, and a split by time needs one in every row"
        else:
            shown = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
            reason = f"{shown!r} is not a time ({FORMS}), and a split by time needs one in every row"
        rejects.append(RowError(file, int(parsed.line_numbers[position]), column, reason))
    return seconds, valid, rejects


def cutoff_times(seconds: np.ndarray, splits: Mapping[str, int]) -> list[int]:
    """The first second of each split after the first, from every row's time.

    Split i (after the first) starts at the time of the row ranked at the cumulative
    share of the splits before it; rows tied with that row join split i too.
    """
    bounds = np.cumsum(list(splits.values()))
    if bounds[-1] != 100:
        raise ValueError(f"split percentages {dict(splits)} do not add up to 100")
    ordered = np.sort(np.asarray(seconds, dtype=np.int64), kind="stable")
    if not len(ordered):
        return []
    ranks = np.minimum(np.round(len(ordered) * bounds[:-1] / 100).astype(np.int64), len(ordered) - 1)
    return [int(ordered[rank]) for rank in ranks]


def time_split_indices(seconds: np.ndarray, cutoffs: Sequence[int]) -> np.ndarray:
    """Index of each row's split: how many cut-off times are at or before its time."""
    return np.searchsorted(np.asarray(cutoffs, dtype=np.int64), np.asarray(seconds, dtype=np.int64), side="right")
