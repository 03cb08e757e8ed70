"""Server-side batching: concurrent requests gathered into one model call.

As TF Serving's batching parameters: `max_batch_size` caps the rows of one call (a request
larger than that runs alone, whole), `batch_timeout` is how long a call that is not full
may wait for more rows, and `concurrency` (TF Serving's num_batch_threads) how many calls
run at once. With a timeout of 0, batches still form under load: while the calls run (in
worker threads, off the event loop), the requests that arrive wait in the queue, and the
next call takes them all.

One Batcher per loaded version: requests queued on a version are scored by it, even after
the server has moved on to a newer one.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from concurrent.futures import Executor
from typing import Callable

import numpy as np

log = logging.getLogger(__name__)


class BatchRejected(Exception):
    """The model failed on this request's rows alone (other requests of its batch were scored)."""


class Batcher:
    """Gathers `submit` calls into calls of `predict(list of examples) -> array`.

    Args:
        predict: scores a list of serialized examples; blocking, run in `executor`.
        executor: where `predict` runs.
        max_batch_size: rows per call at most (a bigger request runs alone).
        batch_timeout: seconds a call that is not full waits for more rows.
        on_batch: told each call's row count (metrics).
        concurrency: calls running at once at most.
        overlap_rows: a call starts beside one already running only once this many rows
            wait (default: a quarter of `max_batch_size`). Small requests then keep
            gathering into one call at a time, which is what makes single rows cheap;
            large ones also keep a second call busy.
    """

    def __init__(self, predict: Callable[[list[bytes]], np.ndarray], executor: Executor, max_batch_size: int,
                 batch_timeout: float, on_batch: Callable[[int], None] = lambda rows: None, concurrency: int = 1,
                 overlap_rows: int | None = None):
        self._predict = predict
        self._concurrency = max(1, concurrency)
        self._overlap_rows = max(1, max_batch_size // 4) if overlap_rows is None else overlap_rows
        self._queued_rows = 0
        self._executor = executor
        self._max = max(1, max_batch_size)
        self._timeout = max(0.0, batch_timeout)
        self._on_batch = on_batch
        self._queue: collections.deque = collections.deque()
        self._arrived: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    def submit(self, examples: list[bytes]) -> asyncio.Future:
        """Queues one request's rows; the future gives their scores (or raises BatchRejected).

        Synchronous, so a caller that chose this version and queues without awaiting in
        between cannot be overtaken by a swap."""
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._arrived = asyncio.Event()
            self._task = loop.create_task(self._serve())
        future = loop.create_future()
        self._queue.append((examples, future))
        self._queued_rows += len(examples)
        self._arrived.set()
        return future

    def close(self) -> None:
        """Stops after the queued requests are scored (call on the event loop)."""
        if self._task is not None:
            self._queue.append(None)
            self._arrived.set()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        queue = self._queue
        slots = asyncio.Semaphore(self._concurrency) if self._concurrency > 1 else None
        running: set[asyncio.Task] = set()
        while True:
            if slots is not None:
                await slots.acquire()  # requests arriving meanwhile queue up for the next call
                while running and self._queued_rows < self._overlap_rows and not (queue and queue[-1] is None):
                    self._arrived.clear()  # set again by an arrival or by a call's end
                    await self._arrived.wait()
            if not queue:
                self._arrived.clear()
                await self._arrived.wait()
            if queue[0] is None:
                if running:
                    await asyncio.wait(running)
                return
            batch = [queue.popleft()]
            rows = len(batch[0][0])
            self._queued_rows -= rows
            deadline = loop.time() + self._timeout
            while rows < self._max:
                if queue and queue[0] is not None:
                    if rows + len(queue[0][0]) > self._max:
                        break
                    item = queue.popleft()
                    batch.append(item)
                    rows += len(item[0])
                    self._queued_rows -= len(item[0])
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0 or (queue and queue[0] is None):
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except asyncio.TimeoutError:
                    break
            if slots is None:  # one call at a time: run it here, as the requests meanwhile queue up
                await self._run(loop, batch, rows)
                continue
            call = loop.create_task(self._run(loop, batch, rows))
            running.add(call)
            call.add_done_callback(running.discard)
            call.add_done_callback(lambda _: (slots.release(), self._arrived.set()))

    async def _run(self, loop, batch: list, rows: int) -> None:
        examples = batch[0][0] if len(batch) == 1 else [example for item in batch for example in item[0]]
        self._on_batch(rows)
        try:
            scores = await loop.run_in_executor(self._executor, self._predict, examples)
            if len(scores) != rows:
                raise ValueError(f"the model returned {len(scores)} scores for {rows} rows")
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0][1], error=BatchRejected(f"{type(error).__name__}: {error}"))
                return
            for item in batch:  # find the request the model failed on; score the others
                await self._run(loop, [item], len(item[0]))
            return
        start = 0
        for examples_of_one, future in batch:
            end = start + len(examples_of_one)
            _settle(future, result=scores[start:end])
            start = end


def _settle(future: asyncio.Future, result=None, error: Exception | None = None) -> None:
    if future.done():  # the client went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
