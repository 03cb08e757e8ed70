"""A sample of served requests' raw feature rows, on disk, in files rotating by the hour.

Layout: `<log_dir>/<model>/<YYYY-MM-DDTHH>.jsonl` (UTC hour of the request; each worker of
`sluice serve --workers N` writes `<YYYY-MM-DDTHH>.worker-<pid>.jsonl`), one JSON line per
row: `{"timestamp": "2024-05-01T13:45:12.345678+00:00", "model": ..., "version": ...,
"features": {feature: value, ...}}`. This is the serving data that monitoring compares
with the training data.

The request path only appends to a queue in memory (a sampled request costs a
`random()` and an append); a background thread writes the list out every
`flush_seconds`, and `close` writes what is left.
"""

from __future__ import annotations

import collections
import datetime
import logging
import random
import threading
from pathlib import Path
from typing import Callable

import orjson

from sluice.serving.typed_rows import row_json

log = logging.getLogger(__name__)

Clock = Callable[[], datetime.datetime]


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class RequestLog:
    """Samples requests and appends their rows to hourly files.

    Args:
        log_dir: where the per-model folders go.
        sample: the fraction of requests logged (0 to 1); every row of a sampled request is logged.
        clock: the time of a request (tests inject one; timezone-aware, UTC by default).
        flush_seconds: how often the background thread writes.
        seed: for the sampling (reproducible tests).
        file_tag: put between the hour and ".jsonl" in file names, so that processes logging
            to one directory never append to the same file.
    """

    def __init__(self, log_dir: str | Path, sample: float, clock: Clock = utc_now, flush_seconds: float = 1.0, seed: int | None = None,
                 file_tag: str = ""):
        if not 0.0 <= sample <= 1.0:
            raise ValueError(f"request log sample must be between 0 and 1, not {sample}")
        self.log_dir = Path(log_dir)
        self.sample = sample
        self._file_tag = file_tag
        self._clock = clock
        self._random = random.Random(seed).random
        self._pending: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._flush_seconds = flush_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, model: str, version: int, rows: list) -> None:
        """Keeps `rows` of one request, if it is sampled; cheap, never blocks on disk."""
        if self.sample <= 0.0 or (self.sample < 1.0 and self._random() >= self.sample):
            return
        self._pending.append((self._clock(), model, version, rows))  # deque.append: safe beside the flushing thread

    def start(self) -> None:
        self._thread = threading.Thread(target=self._flush_periodically, name="request-log", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _flush_periodically(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            try:
                self.flush()
            except OSError as error:  # a full disk must not stop serving
                log.error("request log: %s", error)

    def flush(self) -> None:
        """Writes the rows kept so far, each to its model's file of its hour."""
        with self._lock:
            by_file: dict[Path, list[bytes]] = {}
            for _ in range(len(self._pending)):
                when, model, version, rows = self._pending.popleft()
                path = self.log_dir / model / f"{when.astimezone(datetime.timezone.utc):%Y-%m-%dT%H}{self._file_tag}.jsonl"
                stamp = when.isoformat()
                lines = by_file.setdefault(path, [])
                for row in rows:
                    lines.append(orjson.dumps({"timestamp": stamp, "model": model, "version": version, "features": row}, default=row_json))
            for path, lines in by_file.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("ab") as handle:
                    handle.write(b"\n".join(lines) + b"\n")
