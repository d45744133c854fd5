"""Where enrichment shards run: Prefect task runners, chosen from the settings.

- `Settings.dask_address = "tcp://host:8786"`: an existing Dask cluster
  (`prefect_dask.DaskTaskRunner(address=...)`); start its workers with one thread each.
- `dask_address = "local"` / `"local:N"`, or `NEWSETL_DASK_WORKERS=N`: a local Dask cluster
  of N worker processes, one thread each, started and stopped with the run.
- otherwise `Settings.workers > 1`: a process pool (`ProcessPoolTaskRunner`) whose workers
  load the models once, at start (`initializer`); `workers <= 1`: one thread.

Faults. A shard is a pure function of its inputs (Arrow IPC bytes in, bytes out), so running
it again is always safe. Dask reruns a dead worker's shards on another worker. Prefect 3.9's
process pool does not: a worker killed mid-shard (the OOM killer, SIGKILL) breaks the
underlying ProcessPoolExecutor, every shard in it fails with BrokenProcessPool, the task's
`retries` never run (they live in the dead process) and the pool refuses new work
(tests/test_worker_faults.py shows it). `RecoveringProcessPool` is the smallest wrapper that
fixes it: `renew()` replaces a broken executor (and Prefect's message queue its workers
shared, whose lock the dead one may hold), and `shard_results` resubmits the shards
that failed with BrokenProcessPool, POOL_RETRIES times.

A page that kills the worker extracting it (a crash in a parser's C code, the OOM killer),
or an article that kills the worker enriching it, would break the pool on every retry. So
the chunks of HTML pages that were on a pool when a worker died, and the enrichment shards
that died past their retries, run again one at a time (`run_alone`): a part that kills its
worker alone is halved, down to the one page or article that does, which becomes a reject;
the rest of the batch lands. More such items in one batch than MAX_CRASHED_ITEMS is a crash
loop (no memory for any work, a broken model or library), not bad input: the batch fails
and the run lands nothing.

On Dask a worker that dies is restarted by its nanny, but not always: a worker that dies
while its nanny is still starting it can leave the nanny with no worker for good
(dask/distributed#7312; seen here, 7 of 26 runs of the Dask fault test, when a page
killed each new worker as it came up). With every worker gone a shard would wait forever, so
`result` watches the cluster while it waits: a local cluster (the run's own) that has had no
worker for NO_WORKERS_GRACE seconds gets new nannies; a remote cluster with no worker for
NO_WORKERS_TIMEOUT seconds fails the batch with an error that says so.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from concurrent.futures.process import BrokenProcessPool

from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

try:  # the message that stops the forwarding thread of a process pool's queue (Prefect 3.9)
    from prefect.task_runners import _PROCESS_POOL_MESSAGE_QUEUE_SHUTDOWN as _PREFECT_QUEUE_SHUTDOWN
except ImportError:  # pragma: no cover - another Prefect release
    _PREFECT_QUEUE_SHUTDOWN = None

from newsetl.memory import freeze_startup_objects
from newsetl.settings import Settings

log = logging.getLogger(__name__)

# Times a shard whose worker died is run again with the others (a worker killed from
# outside, once); a shard that dies more often than that runs alone (`run_alone`).
POOL_RETRIES = 1
# Items (pages, articles) of one `run_alone` call that may each kill their worker alone before the
# deaths count as a crash loop rather than bad input.
MAX_CRASHED_ITEMS = 3
# Fresh pools started after a worker died (the run log and tests read it).
pool_restarts = 0
# Seconds a Dask cluster may have no worker at all while a shard waits: a local cluster
# then gets new nannies (`_revive`; in the crash test a nanny brings a dead worker back
# within half a second), a remote one fails the batch.
NO_WORKERS_GRACE = 20.0
NO_WORKERS_TIMEOUT = 600.0
# How often a shard's wait looks at the cluster (seconds).
WAIT_POLL = 2.0
# Local Dask clusters given new nannies after they lost every worker (tests read it).
dask_revivals = 0


def load_models(models: tuple[str, str] | None, parent: int | None = None) -> None:
    """Worker initializer: one BLAS thread (the workers already use every core) and the
    models loaded now, before the first shard arrives."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if parent is not None:  # the run's pid, from the run: it may be gone before we get here
        threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True,
                         name="newsetl-orphan-watch").start()
    if models:
        from newsetl.transforms import sentiment
        from newsetl.transforms.ner import load_pipeline

        try:
            load_pipeline(models[0])
            sentiment.load_target_model(models[1])
        except Exception:
            # A model that passed Settings.check_models and breaks at load (a corrupt or
            # incomplete folder). Raised here, it broke the pool: every article of the
            # batch went to `rejects` as one that killed its worker. The worker lives on,
            # and each shard's own load (process.ready_models) meets the error again: the
            # run fails with its message, and nothing lands.
            pass
    # Modules and models live as long as the worker: out of the collector's sight, so the
    # full collections a shard's allocations trigger walk only the shard's own objects
    # (as the run's main process does at flow start).
    freeze_startup_objects()


def _exit_when_orphaned(parent: int, every: float = 1.0) -> None:
    """A pool worker whose run was killed (SIGKILL, the OOM killer) is never told: it would
    sit idle with its models loaded for good. It leaves once its parent is gone."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


class RecoveringProcessPool(ProcessPoolTaskRunner):
    """ProcessPoolTaskRunner that can replace its executor after a worker was killed."""

    def __init__(self, max_workers: int, models: tuple[str, str] | None = None):
        super().__init__(max_workers=max_workers, initializer=load_models, initargs=(models, os.getpid()))
        self.models = models
        self._renew_lock = threading.Lock()

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        """As ProcessPoolTaskRunner's, but after a run whose shards all came back the
        workers exit in the background (about 0.5 s of model teardown) while the run
        publishes; the interpreter joins them at exit."""
        ex = self._executor
        if exc_type is None and ex is not None and multiprocessing.parent_process() is None:
            ex.shutdown(wait=False)
            self._executor = None
        # else (an exception, or a flow run in a process of its own, as a served deployment's
        # is): wait for them. Such a process unlinks the pool's semaphores at its exit before
        # it joins the pool, and a worker still starting then died with a FileNotFoundError
        # traceback (`newsetl schedule`).
        super().__exit__(exc_type, exc_value, traceback)

    def duplicate(self) -> "RecoveringProcessPool":
        return type(self)(self._max_workers, self.models)

    def renew(self) -> None:
        """Replace the executor if a dead worker broke it (a no-op when another shard
        already did)."""
        global pool_restarts
        with self._renew_lock:
            ex = self._executor
            if ex is None or not getattr(ex, "_broken", False):
                return
            log.warning("a shard worker process died; its shards run again on a fresh pool")
            ex.shutdown(wait=False, cancel_futures=True)
            self._executor = ProcessPoolExecutor(max_workers=self._max_workers, mp_context=ex._mp_context,
                                                 initializer=ex._initializer,
                                                 initargs=self._fresh_message_queue(ex._mp_context, ex._initargs))
            pool_restarts += 1

    def _fresh_message_queue(self, mp_context, initargs: tuple) -> tuple:
        """The new workers' initargs, with a new message queue (Prefect's: its workers'
        logs and events, forwarded to the API by a thread of this process).

        The dead worker may have died holding the old queue's write lock, which every
        process that writes to it shares: nothing more would pass through that queue, and
        this process, which puts the queue's shutdown message on it when the run ends,
        would wait forever at exit to flush it. So the old queue is given up: this process
        no longer joins its feeder at exit, and its forwarding thread is asked to stop
        (it forwards what is already queued first; if the lock is lost, the thread, a
        daemon, just stays asleep)."""
        old = getattr(self, "_subprocess_message_queue", None)
        if (old is None or _PREFECT_QUEUE_SHUTDOWN is None or not initargs or initargs[0] is not old
                or not hasattr(self, "_forward_subprocess_messages")):
            return initargs  # not the Prefect release this was written against: keep its queue
        old.cancel_join_thread()
        try:
            old.put_nowait(_PREFECT_QUEUE_SHUTDOWN)
        except (ValueError, OSError):
            pass
        self._subprocess_message_queue = mp_context.Queue()
        self._message_forwarding_thread = threading.Thread(target=self._forward_subprocess_messages, daemon=True,
                                                           name="ProcessPoolTaskRunnerMessageForwarder")
        self._message_forwarding_thread.start()
        return (self._subprocess_message_queue, *initargs[1:])


def start_workers(runner) -> None:
    """Spawn a process pool's workers now (ProcessPoolExecutor spawns them at the first
    submit): their initializer loads the models while the flow reads its first batch."""
    ex = getattr(runner, "_executor", None)
    if isinstance(ex, ProcessPoolExecutor):
        ex.submit(int)


# A process pool started before its flow (`prestarted_pool`), for the flow's `shard_runner`.
_prestarted: list["RecoveringProcessPool"] = []


def _pool_key(settings: Settings) -> tuple | None:
    """What a process pool for these settings is made of; None when the run uses no
    process pool (Dask, or one worker in the flow's own thread)."""
    if local_dask_workers(settings) or settings.dask_address or settings.workers <= 1:
        return None
    return settings.workers, settings.model_paths


@contextmanager
def prestarted_pool(settings: Settings):
    """Start the run's process pool before its flow, for `shard_runner` to take over.

    `newsetl run` enters this while Prefect's temporary API server boots: the command then
    only waits, so one worker imports and loads its models on the otherwise idle core
    instead of after the flow has started (the others spawn at the flow's first shards:
    started here too, they slowed the server's boot, and a run with nothing new to enrich
    paid their start-up). A pool the flow did not take (its settings differ, or it failed
    before its first shard) is closed here."""
    key = _pool_key(settings)
    if key is None:
        yield
        return
    runner = RecoveringProcessPool(*key)
    runner.__enter__()
    _prestarted.append(runner)
    try:
        start_workers(runner)
        yield
    finally:
        if runner in _prestarted:
            _prestarted.remove(runner)
            runner.__exit__(*sys.exc_info())


def _take_prestarted(settings: Settings):
    key = _pool_key(settings)
    for runner in _prestarted:
        if (runner._max_workers, runner.models) == key:
            _prestarted.remove(runner)
            return runner
    return None


@contextmanager
def _started(runner):
    """A runner already entered (prestarted), exited like `with runner:` would."""
    try:
        yield runner
    except BaseException as exc:
        runner.__exit__(type(exc), exc, exc.__traceback__)
        raise
    runner.__exit__(None, None, None)


def local_dask_workers(settings: Settings) -> int:
    """N for a local Dask cluster: `dask_address = "local[:N]"` or NEWSETL_DASK_WORKERS=N (0 = none)."""
    addr = (settings.dask_address or "").strip()
    if addr == "local" or addr.startswith("local:"):
        n = addr.partition(":")[2]
        return int(n) if n else max(1, settings.workers)
    return 0 if addr else int(settings.dask_workers or 0)


@contextmanager
def shard_runner(settings: Settings):
    """The started task runner for a run's shards (inside a flow run).

    Worker processes must report their task runs to the API the flow uses. Without
    PREFECT_API_URL the flow runs on Prefect's temporary server, and a spawned worker that
    does not know its address starts a temporary server of its own (seconds each, and its
    task runs would not show beside the flow's): so its address is handed down."""
    from prefect.client.orchestration import get_client

    saved = os.environ.get("PREFECT_API_URL")
    if not saved:
        with get_client(sync_client=True) as client:
            os.environ["PREFECT_API_URL"] = str(client.api_url)
    try:
        prestarted = _take_prestarted(settings)
        if prestarted is not None:
            with _started(prestarted) as runner:
                yield runner
            return
        with task_runner(settings) as runner:
            start_workers(runner)  # they load their models while the first batch is read
            yield runner
    finally:
        if saved is None:
            os.environ.pop("PREFECT_API_URL", None)


def task_runner(settings: Settings):
    """The task runner the run's enrichment shards are mapped on (not yet started)."""
    n_local = local_dask_workers(settings)
    if n_local or settings.dask_address:
        from prefect_dask import DaskTaskRunner

        if n_local:
            # Processes with one thread each: spaCy holds the GIL. No dashboard (no port to clash).
            # A task whose worker died is run again POOL_RETRIES times, as on the process pool,
            # before Dask gives up on it (KilledWorker) and the run halves it (`run_alone`):
            # Dask's default (3) cost each halving step of a deadly article four worker deaths.
            return DaskTaskRunner(cluster_kwargs={"n_workers": n_local, "threads_per_worker": 1, "processes": True,
                                                  "dashboard_address": None, "host": "127.0.0.1",
                                                  "scheduler_kwargs": {"allowed_failures": POOL_RETRIES}})
        return DaskTaskRunner(address=settings.dask_address)
    if settings.workers <= 1:
        return ThreadPoolTaskRunner(max_workers=1)
    return RecoveringProcessPool(settings.workers, settings.model_paths)


# Shards a batch is cut into per worker slot: two, so a slow shard does not leave the other
# worker idle (the flow; scripts/bench_steps.py cuts the corpus the same way).
SHARDS_PER_WORKER = 2


def dask_client(runner):
    """The Dask client of a started DaskTaskRunner; None for any other runner."""
    return None if isinstance(runner, ProcessPoolTaskRunner) else getattr(runner, "client", None)


def n_workers(runner, settings: Settings) -> int:
    """Worker slots of a started runner (the flow sizes its shards by it)."""
    if (client := dask_client(runner)) is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:
            return max(1, local_dask_workers(settings))
    return max(1, getattr(runner, "_max_workers", 1) or 1)


def worker_died(exc: BaseException) -> bool:
    """A shard failed because its worker process died, not because its own code raised:
    the process pool is broken (BrokenProcessPool), or Dask gave up on a task whose
    workers kept dying under it (KilledWorker)."""
    return isinstance(exc, BrokenProcessPool) or type(exc).__name__ == "KilledWorker"


def recover(runner, exc: BaseException) -> bool:
    """After a shard's error: whether its worker died (`worker_died`), with a broken
    process pool replaced by then (a runner without `renew`, Dask, recovers by itself)."""
    if not worker_died(exc):
        return False
    if hasattr(runner, "renew"):
        runner.renew()
    return True


def run_alone(runner, task, parts: list[list], params_of, crashed, split=None) -> dict:
    """`task`'s results by item, for parts (lists of items) that were on a pool when a
    worker died.

    One submission at a time, so a death names its part: a part that kills its worker
    alone is halved, down to the item that does, whose result is `crashed`. `params_of`
    gives a part's task parameters; the task returns one result per item, in order, or
    `split(part, result)` says which result is whose ((item, result) pairs). Past
    MAX_CRASHED_ITEMS such items the deaths are a crash loop, and the last one is raised."""
    split = split or (lambda part, res: zip(part, res, strict=True))
    out: dict = {}
    stack, n_crashed = [list(p) for p in reversed(parts) if p], 0
    while stack:
        part = stack.pop()
        try:
            out.update(split(part, result(runner, runner.submit(task, params_of(part)))))
            continue
        except Exception as exc:
            if not recover(runner, exc):
                raise
            if len(part) > 1:
                stack += [part[len(part) // 2:], part[: len(part) // 2]]  # the first half next
                continue
            n_crashed += 1
            if n_crashed > MAX_CRASHED_ITEMS:
                raise
        out[part[0]] = crashed
    return out


def result(runner, future):
    """A submitted task's result (`future.result()`). On Dask, the wait watches the
    cluster: see the module's docstring (Faults) for what happens when it has no worker."""
    client = dask_client(runner)
    if client is None:
        return future.result()
    inner = future.wrapped_future  # a PrefectDaskFuture's distributed.Future
    idle_since = None
    while True:
        future.wait(WAIT_POLL)  # PrefectDaskFuture: keeps the final state it fetched
        if inner.done():
            return future.result()
        if client.nthreads():
            idle_since = None
            continue
        now = time.monotonic()
        idle_since = idle_since or now
        cluster = getattr(client, "cluster", None)
        if cluster is not None and now - idle_since >= NO_WORKERS_GRACE:
            _revive(client, cluster)
            idle_since = None
        elif now - idle_since >= NO_WORKERS_TIMEOUT:
            raise RuntimeError(f"the Dask cluster at {client.scheduler.address} has had no worker for "
                               f"{NO_WORKERS_TIMEOUT:.0f} s: its workers died or were stopped")


def _revive(client, cluster, timeout: float = 120.0) -> None:
    """New nannies for a local Dask cluster whose every worker is gone (the same number as
    before: their worker specs are put back once the old nannies are closed)."""
    global dask_revivals
    specs = dict(cluster.worker_spec)
    log.warning("the local Dask cluster has had no worker for %.0f s (a nanny that lost its worker): "
                "starting %d new ones", NO_WORKERS_GRACE, len(specs))
    cluster.scale(0)
    deadline = time.monotonic() + timeout
    while cluster.workers and time.monotonic() < deadline:
        time.sleep(0.1)
    cluster.worker_spec.update(specs)
    cluster.scale(len(specs))
    client.wait_for_workers(len(specs), timeout=timeout)
    dask_revivals += 1


def shard_results(runner, task, futures: list, params: list[dict]) -> tuple[list, list[int]]:
    """Results of mapped shard futures, in order, and the indices of the shards whose
    worker died under them every time (their result is None), for the caller to run alone
    (`run_alone`). The shards whose worker died (a dead worker breaks the whole process
    pool, so every shard in flight fails with it) are resubmitted together once all have
    reported, on a renewed pool (RecoveringProcessPool), up to POOL_RETRIES times: they run
    in parallel again, as they did the first time. Dask has already rerun a shard on other
    workers by the time it reports KilledWorker. Any other error fails the batch."""
    futures = list(futures)
    out: list = [None] * len(futures)
    pending = list(range(len(futures)))
    retries = POOL_RETRIES if hasattr(runner, "renew") else 0
    while True:
        died: list[int] = []
        for i in pending:
            try:
                out[i] = result(runner, futures[i])
            except Exception as exc:
                if not recover(runner, exc):
                    raise
                died.append(i)
        if not died or retries == 0:
            return out, died
        retries -= 1
        for i in died:
            futures[i] = runner.submit(task, params[i])
        pending = died
