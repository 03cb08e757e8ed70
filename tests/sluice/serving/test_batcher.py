"""Requests queued together share model calls within the size cap; a request the model fails
on fails alone."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from sluice.serving.batcher import Batcher, BatchRejected


class Model:
    """Scores each example by its length; fails on b"bad"; records each call's size."""

    def __init__(self, gate: threading.Event | None = None):
        self.calls: list[int] = []
        self._gate = gate

    def __call__(self, examples):
        if self._gate is not None:
            assert self._gate.wait(10)
        self.calls.append(len(examples))
        if b"bad" in examples:
            raise ValueError("cannot parse b'bad'")
        return np.array([len(e) for e in examples], np.float32)


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 20))


def test_requests_waiting_behind_a_call_go_in_one_call_up_to_the_cap():
    gate = threading.Event()
    model = Model(gate)

    async def scenario():
        with ThreadPoolExecutor(1) as executor:
            batcher = Batcher(model, executor, max_batch_size=5, batch_timeout=0.0)
            first = batcher.submit([b"a"])
            await asyncio.sleep(0.05)  # the first call has started and is held
            waiting = [batcher.submit([b"bb", b"ccc"]) for _ in range(4)]
            gate.set()
            return await first, await asyncio.gather(*waiting)

    first, waiting = run(scenario())
    assert first.tolist() == [1.0]
    assert [w.tolist() for w in waiting] == [[2.0, 3.0]] * 4
    assert model.calls == [1, 4, 4]  # 2 + 2 rows per call (a third request would pass the cap of 5)


def test_a_timeout_gathers_requests_that_arrive_apart():
    model = Model()

    async def scenario():
        with ThreadPoolExecutor(1) as executor:
            batcher = Batcher(model, executor, max_batch_size=100, batch_timeout=0.3)
            first = batcher.submit([b"a"])
            await asyncio.sleep(0.05)
            second = batcher.submit([b"b"])
            return await asyncio.gather(first, second)

    run(scenario())
    assert model.calls == [2]


def test_a_request_the_model_fails_on_fails_alone():
    gate = threading.Event()
    model = Model(gate)

    async def scenario():
        with ThreadPoolExecutor(1) as executor:
            batcher = Batcher(model, executor, max_batch_size=100, batch_timeout=0.0)
            held = batcher.submit([b"x"])
            await asyncio.sleep(0.05)
            good, bad, other = batcher.submit([b"yy"]), batcher.submit([b"bad"]), batcher.submit([b"zzz"])
            gate.set()
            await held
            results = await asyncio.gather(good, bad, other, return_exceptions=True)
            batcher.close()
            return results

    good, bad, other = run(scenario())
    assert good.tolist() == [2.0] and other.tolist() == [3.0]
    assert isinstance(bad, BatchRejected) and "cannot parse" in str(bad)


def test_a_closed_batcher_scores_what_was_queued_then_stops():
    model = Model()

    async def scenario():
        with ThreadPoolExecutor(1) as executor:
            batcher = Batcher(model, executor, max_batch_size=100, batch_timeout=0.0)
            queued = [batcher.submit([b"q"]) for _ in range(3)]
            batcher.close()
            scores = await asyncio.gather(*queued)
            await asyncio.wait_for(batcher._task, 5)
            return scores

    assert [s.tolist() for s in run(scenario())] == [[1.0]] * 3


@pytest.mark.parametrize("rows", [1, 7])
def test_a_request_larger_than_the_cap_runs_alone_and_whole(rows):
    model = Model()

    async def scenario():
        with ThreadPoolExecutor(1) as executor:
            batcher = Batcher(model, executor, max_batch_size=3, batch_timeout=0.0)
            return await batcher.submit([b"r"] * rows)

    assert len(run(scenario())) == rows
    assert model.calls == [rows]


class HeldModel:
    """Holds every call until released; counts the calls running at once."""

    def __init__(self):
        self.release = threading.Event()
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, examples):
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        assert self.release.wait(10)
        with self._lock:
            self.running -= 1
        return np.array([len(e) for e in examples], np.float32)


@pytest.mark.parametrize("concurrency", [1, 2])
def test_calls_run_at_once_up_to_the_concurrency(concurrency):
    model = HeldModel()

    async def scenario():
        with ThreadPoolExecutor(4) as executor:
            batcher = Batcher(model, executor, max_batch_size=1, batch_timeout=0.0, concurrency=concurrency)
            requests = [batcher.submit([b"r" * n]) for n in (1, 2, 3)]
            await asyncio.sleep(0.2)  # every call that may start has started and is held
            held = model.running
            model.release.set()
            scores = await asyncio.gather(*requests)
            batcher.close()
            await asyncio.wait_for(batcher._task, 5)
            return held, scores

    held, scores = run(scenario())
    assert held == concurrency
    assert model.most_at_once == concurrency
    assert [s.tolist() for s in scores] == [[1.0], [2.0], [3.0]]


def test_a_second_call_starts_only_once_enough_rows_wait():
    model = HeldModel()

    async def scenario():
        with ThreadPoolExecutor(4) as executor:
            batcher = Batcher(model, executor, max_batch_size=100, batch_timeout=0.0, concurrency=2, overlap_rows=25)
            first = batcher.submit([b"a"])
            await asyncio.sleep(0.1)
            small = [batcher.submit([b"b"]) for _ in range(3)]  # 3 rows wait: they gather behind the first call
            await asyncio.sleep(0.2)
            alone = model.running
            large = batcher.submit([b"c"] * 30)  # 33 rows wait: a second call starts
            await asyncio.sleep(0.2)
            beside = model.running
            model.release.set()
            await asyncio.gather(first, large, *small)
            batcher.close()
            return alone, beside

    alone, beside = run(scenario())
    assert (alone, beside) == (1, 2)
