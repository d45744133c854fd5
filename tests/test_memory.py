"""newsetl.memory: per-batch garbage collection and heap trimming in a long run."""

from __future__ import annotations

import gc
import sys
import weakref

import pytest

from newsetl.memory import freeze_startup_objects, release_free_memory


@pytest.fixture
def frozen():
    freeze_startup_objects()
    try:
        yield
    finally:
        gc.unfreeze()


class _Future:
    """Shaped like Prefect's chained process-pool future: it and a done-callback closure
    refer to each other, and it holds the shard's result."""

    def __init__(self, result: bytes):
        self.result = result
        self.callbacks = [lambda: self]


def test_freeze_exempts_startup_objects(frozen):
    assert gc.get_freeze_count() > 1000  # the interpreter, pytest, polars, ... already loaded


def test_release_collects_result_cycles_of_a_batch(frozen):
    gc.disable()  # no automatic collection may do the work for us
    try:
        fut = _Future(b"x" * 5_000_000)
        gone = weakref.ref(fut)
        del fut
        assert gone() is not None  # a cycle: reference counting alone keeps it
        release_free_memory()
        assert gone() is None
    finally:
        gc.enable()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_release_trims_the_heap_on_linux():
    blocks = [bytearray(200_000) for _ in range(200)]  # 40 MB of heap, then freed
    del blocks
    assert release_free_memory(collect=False) is True


def test_worker_initializer_freezes_what_it_loaded(frozen):
    """fanout.load_models (each pool worker's initializer) leaves the models and modules it
    loaded out of later collections, as the run's main process does at flow start."""
    from newsetl.fanout import load_models

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    load_models(None)
    assert gc.get_freeze_count() > 1000
