"""Where enrichment shards run: in this process, a local process pool, or a Dask
cluster. All offer `submit(fn, *args) -> Future` (something with `.result()`).

- `Settings.dask_address = "tcp://host:8786"`: an existing Dask cluster (distributed.Client).
- `Settings.dask_address = "local"` or `"local:N"`, or `NEWSETL_DASK_WORKERS=N`: a local
  Dask cluster of N worker processes, one thread each, started and stopped with the run.
- otherwise `Settings.workers > 1`: a local process pool; `workers <= 1`: inline.

Faults. A shard is a pure function of its inputs (Arrow IPC bytes in, bytes out), so
running it again is always safe. Dask reschedules the shards of a worker that dies on
another worker (up to `distributed.scheduler.allowed-failures`). The local pool does the
same by hand: when a worker process dies the pool is broken (BrokenProcessPool) for every
shard in it, so the shards are resubmitted to a fresh pool, at most POOL_RETRIES times; past
that the batch fails and the flow lands nothing of the run.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from newsetl.settings import Settings

log = logging.getLogger(__name__)

# A worker dying twice in one run is a crash loop (out of memory, a bad model), not bad luck.
POOL_RETRIES = 2
# Counts fresh pools started after a worker died (tests and the run log read it).
pool_restarts = 0


class InlineExecutor:
    n_workers = 1

    def submit(self, fn, *args) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # surfaced when the caller asks for the result
            fut.set_exception(exc)
        return fut

    def shutdown(self) -> None:
        pass


def _worker_init(models: tuple[str, str] | None = None) -> None:
    # One BLAS thread per worker: the workers already use every core.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if models:  # load the models now, while the parent still reads its first batch
        from newsetl.transforms import sentiment
        from newsetl.transforms.ner import load_pipeline

        load_pipeline(models[0])
        sentiment.target_scores(["Warm up."], [(0, 4)], sentiment.load_target_model(models[1]))


def _noop() -> None:
    return None


class _ShardFuture:
    """A shard on the local pool; `result()` resubmits it to a fresh pool if the pool broke."""

    def __init__(self, owner: "RetryingProcessPool", fn, args):
        self.owner, self.fn, self.args = owner, fn, args
        self.generation, self.inner = owner._submit(fn, args)
        self.attempts = 0

    def result(self, timeout: float | None = None):
        while True:
            try:
                return self.inner.result(timeout)
            except BrokenProcessPool:
                if self.attempts >= POOL_RETRIES:
                    raise
                self.attempts += 1
                self.generation, self.inner = self.owner._resubmit(self.generation, self.fn, self.args)

    def exception(self, timeout: float | None = None):
        try:
            self.result(timeout)
        except BaseException as exc:
            return exc
        return None

    def done(self) -> bool:
        return self.inner.done()


class RetryingProcessPool:
    """ProcessPoolExecutor (spawn) that survives a worker process being killed."""

    def __init__(self, workers: int, model: tuple[str, str] | None = None):
        self.workers = self.n_workers = workers
        self.model = model
        self.lock = threading.Lock()
        self.generation = 0
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the parent runs Prefect and DuckDB threads that must not be forked.
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                   initializer=_worker_init, initargs=(self.model,))
        pool.submit(_noop)  # start the workers (and their model loading) right away
        return pool

    def _submit(self, fn, args):
        with self.lock:
            try:
                return self.generation, self.pool.submit(fn, *args)
            except BrokenProcessPool:  # broke before any shard's result() noticed
                self._renew()
                return self.generation, self.pool.submit(fn, *args)

    def _resubmit(self, seen_generation: int, fn, args):
        with self.lock:
            if seen_generation == self.generation:  # first shard to notice: replace the pool
                self._renew()
            return self.generation, self.pool.submit(fn, *args)

    def _renew(self) -> None:  # with self.lock held
        global pool_restarts
        log.warning("a shard worker process died; retrying the batch's shards on a fresh pool")
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new_pool()
        self.generation += 1
        pool_restarts += 1

    def submit(self, fn, *args) -> _ShardFuture:
        return _ShardFuture(self, fn, args)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        with self.lock:
            self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


class DaskExecutor:
    """Shards as Dask tasks. Not `pure`: a retried run must really recompute."""

    def __init__(self, client):
        self.client = client

    @property
    def n_workers(self) -> int:
        """Worker threads in the cluster now (the flow can size its shards by it)."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:
            return 1

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def shutdown(self) -> None:
        pass


def local_dask_workers(settings: Settings) -> int:
    """N for a local Dask cluster: `dask_address = "local[:N]"` or NEWSETL_DASK_WORKERS=N (0 = none)."""
    addr = (settings.dask_address or "").strip()
    if addr == "local" or addr.startswith("local:"):
        n = addr.partition(":")[2]
        return int(n) if n else max(1, settings.workers)
    n = getattr(settings, "dask_workers", None) or os.environ.get("NEWSETL_DASK_WORKERS") or 0
    return 0 if addr else int(n)


@contextmanager
def local_dask_client(n_workers: int):
    from distributed import Client, LocalCluster

    # Processes with one thread each: spaCy holds the GIL. No dashboard (no port to clash).
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1", silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


# A local pool started before the flow (see `prestart`), handed to the flow's executor.
_prestarted: dict[tuple, "RetryingProcessPool"] = {}


def prestart(settings: Settings) -> None:
    """Start the local worker pool now, so the workers load their models while Prefect's
    temporary API server starts (both take seconds; doing them at once saves that time).
    Only for the default local pool; Dask clusters start inside the flow."""
    if settings.workers > 1 and not settings.dask_address and not local_dask_workers(settings):
        key = (settings.workers, settings.model_paths)
        if key not in _prestarted:
            _prestarted[key] = RetryingProcessPool(settings.workers, settings.model_paths)


@contextmanager
def shard_executor(settings: Settings):
    n_local = local_dask_workers(settings)
    if n_local:
        with local_dask_client(n_local) as client:
            yield DaskExecutor(client)
        return
    if settings.dask_address:
        from distributed import Client

        client = Client(settings.dask_address)
        try:
            yield DaskExecutor(client)
        finally:
            client.close()
        return
    if settings.workers <= 1:
        yield InlineExecutor()
        return
    ex = _prestarted.pop((settings.workers, settings.model_paths), None) or RetryingProcessPool(
        settings.workers, settings.model_paths)
    try:
        yield ex
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
