"""Once a version is served, the heap it was loaded into is frozen out of the garbage
collector's full collections; a newer version is frozen in too, after the swap."""

from __future__ import annotations

import gc
import time

from tests.sluice.serving.tiny_model import push


def frozen_within(seconds: float) -> int:
    """The freeze count once it is not 0 (the poller freezes just after a swap), or 0."""
    deadline = time.monotonic() + seconds
    while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    return gc.get_freeze_count()


def test_the_heap_is_frozen_after_each_version_is_served(tiny_server, tiny_model):
    gc.unfreeze()
    try:
        with tiny_server() as server:
            assert frozen_within(10) > 10_000  # TensorFlow and the loaded model at least
            gc.unfreeze()
            push(tiny_model, server.base, 2)
            deadline = time.monotonic() + 60
            while server.core.models["tiny"].served.version != 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.core.models["tiny"].served.version == 2
            assert frozen_within(10) > 10_000
    finally:
        gc.unfreeze()
