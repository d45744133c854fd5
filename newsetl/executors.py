"""Where enrichment shards run: in this process, a local process pool, or a Dask
cluster (`Settings.dask_address`). All three offer `submit(fn, *args) -> Future`."""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager

from newsetl.settings import Settings


class InlineExecutor:
    def submit(self, fn, *args) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # surfaced when the caller asks for the result
            fut.set_exception(exc)
        return fut

    def shutdown(self) -> None:
        pass


def _worker_init() -> None:
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")


@contextmanager
def shard_executor(settings: Settings):
    if settings.dask_address:
        from distributed import Client

        client = Client(settings.dask_address)
        try:
            yield client
        finally:
            client.close()
        return
    if settings.workers <= 1:
        yield InlineExecutor()
        return
    # spawn, not fork: the parent runs Prefect and DuckDB threads that must not be forked.
    ex = ProcessPoolExecutor(max_workers=settings.workers, mp_context=mp.get_context("spawn"),
                             initializer=_worker_init)
    try:
        yield ex
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
