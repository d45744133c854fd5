"""Test-only (tests/test_worker_faults.py), run as a script: a process-pool worker dies
(SIGKILL, as the OOM killer does) while it holds the write lock of Prefect's message queue,
which every worker of the pool shares. The pool is renewed and used, the run closes, and
the process must then exit. Prints the renewed pool's results and, as JSON, the log lines
its tasks forwarded to this process through the queue."""

import json
import os
import signal
import sys
from concurrent.futures.process import BrokenProcessPool

from prefect import flow, get_run_logger, task

from newsetl import fanout


@task
def die_holding_the_queue_lock() -> None:
    from prefect.logging import handlers

    handlers._api_log_sink.args[0]._wlock.acquire()  # the queue Prefect gave this worker
    os.kill(os.getpid(), signal.SIGKILL)


@task
def square(x: int) -> int:
    get_run_logger().warning("renewed pool squared %d", x)  # WARNING: tests run Prefect quiet
    return x * x


forwarded: list[str] = []


def _keep_forwarded_logs():
    """A message processor (Prefect's hook on the pool's forwarding thread) that keeps the
    messages of the logs the workers forward."""
    def process(kind, payload):
        if kind == "log" and "squared" in str(payload.get("message")):
            forwarded.append(payload["message"])
        return kind, payload
    return process


@flow
def lose_the_lock_then_renew() -> None:
    runner = fanout.RecoveringProcessPool(2, None)
    runner.set_subprocess_message_processor_factories([_keep_forwarded_logs])
    with runner:
        try:
            runner.submit(die_holding_the_queue_lock, {}).result()
        except BrokenProcessPool:
            runner.renew()
        futures = [runner.submit(square, {"x": x}) for x in range(4)]
        print("results", [f.result() for f in futures], flush=True)


if __name__ == "__main__":
    lose_the_lock_then_renew()
    print("forwarded", json.dumps(sorted(forwarded)), flush=True)
    print("pool restarts", fanout.pool_restarts, flush=True)
    sys.exit(0)
