"""A local Prefect API server as a child process.

Two uses:
- `newsetl schedule` runs `prefect server start` (with Prefect's scheduler and other
  services) for as long as it serves its deployments.
- `newsetl run` without PREFECT_API_URL needs the same temporary API server Prefect would
  start by itself (its `SubprocessASGIServer`: uvicorn with Prefect's app, no UI, no
  services). Prefect starts it only when the flow is called, after the command has
  imported everything, and it takes ~5 s to boot; started here first, it boots while the
  command imports Prefect, Polars, DuckDB and the pipeline, and the command does not import
  Prefect's server package at all (1.8 s of imports). Measured in docs/benchmarks.md.

The temporary server stays in the command's process group (Ctrl-C and a group kill reach
it) and gets SIGTERM when the command dies (PR_SET_PDEATHSIG on Linux), so a killed run
leaves no server behind.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from newsetl.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_taken(port: int) -> bool:
    """True when something already listens on 127.0.0.1:port (a server started there would
    fail, and a Prefect server already there would answer the health check in its stead)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def healthy(api_url: str, path: str = "/health") -> bool:
    try:
        with urllib.request.urlopen(api_url + path, timeout=2) as r:
            return r.status == 200
    except Exception:
        return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class LocalPrefectServer:
    """A Prefect API server on loopback as a child process; `stop()` ends it.

    temporary=False: `prefect server start` (services included) in its own process group,
    logging to PREFECT_HOME/server.log. temporary=True: the API alone, as Prefect's own
    temporary server runs it, in the caller's process group."""

    def __init__(self, prefect_home: str | None = None, port: int | None = None, temporary: bool = False):
        self.home = Path(prefect_home or os.environ.get("PREFECT_HOME") or PROJECT_ROOT / ".state" / "prefect")
        self.port = port or free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.temporary = temporary
        self.proc: subprocess.Popen | None = None
        self.log_path = self.home / ("temporary-server.log" if temporary else "server.log")

    def _command(self) -> list[str]:
        if not self.temporary:
            return [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                    "--port", str(self.port), "--no-ui"]
        # Prefect's own temporary-server command (prefect.server.api.server.SubprocessASGIServer),
        # found without importing prefect.
        site = Path(importlib.util.find_spec("prefect").origin).parent.parent
        return [sys.executable, "-m", "uvicorn", "--app-dir", str(site), "--factory",
                "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
                "--log-level", "error", "--lifespan", "on"]

    def launch(self) -> None:
        """Start the process; `wait()` for it to answer."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.pop("PREFECT_API_URL", None)
        env.update({"PREFECT_HOME": str(self.home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "PREFECT_UI_ENABLED": "false", "PREFECT_SERVER_UI_ENABLED": "false"})
        if self.temporary:
            env.update({"PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"})
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self._command(), env=env, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                # `prefect server start` in its own session: stop() signals the whole group
                # (it may fork helpers).
                start_new_session=not self.temporary,
                # and it ends with the process that started it, even one killed with -9 (the
                # schedule's server was left serving, and a restart started a second one on
                # the same SQLite file)
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        finally:
            logf.close()

    def wait(self, timeout: float | None = None) -> str:
        """The API URL once the server answers; RuntimeError if it exits or times out."""
        timeout = timeout or float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the Prefect server exited with {self.proc.returncode}:\n{tail}")
            if healthy(self.api_url):
                if self.temporary:
                    # The API's first real request costs it ~0.4 s (health does not): made
                    # now, in the background, it overlaps the caller's own start of the flow
                    # instead of delaying the flow engine's first call (its version check).
                    threading.Thread(target=healthy, args=(self.api_url, "/admin/version"),
                                     daemon=True, name="newsetl-api-warmup").start()
                return self.api_url
            time.sleep(0.1 if self.temporary else 0.5)
        self.stop()
        raise RuntimeError(f"the Prefect server did not become healthy within {timeout:.0f} s (log: {self.log_path})")

    def start(self, timeout: float | None = None) -> str:
        self.launch()
        return self.wait(timeout)

    def stop(self, grace: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None and not self._group_alive():
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            try:
                if self.temporary:
                    self.proc.send_signal(sig)
                else:
                    os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            if not self._group_alive():
                break
        self.proc = None

    def _group_alive(self) -> bool:
        if self.temporary:
            return self.proc.poll() is None
        try:
            os.killpg(self.proc.pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False


@contextmanager
def temporary_api():
    """For a command that runs flows: PREFECT_API_URL if set, else a temporary server
    launched now (yields its `wait` function: call it before the first flow call, after
    the slow imports) and stopped at the end."""
    if os.environ.get("PREFECT_API_URL"):
        yield lambda: os.environ["PREFECT_API_URL"]
        return
    server = LocalPrefectServer(temporary=True)
    server.launch()
    os.environ["PREFECT_API_URL"] = server.api_url  # read when prefect is imported
    try:
        yield server.wait
    finally:
        _drain_prefect_workers()  # their last logs and events, while the API still answers
        os.environ.pop("PREFECT_API_URL", None)
        server.stop(grace=5.0)


@contextmanager
def flow_call(settings, api_ready=None):
    """Around a command's flow call (`newsetl run`, `newsetl backfill`, each deployment of
    `newsetl schedule --once`), inside `temporary_api` and after the command's own checks:
    the run's process pool started (one worker loads its models on the core the command
    leaves idle while it waits for the API), the API awaited, and flow-run heartbeats off
    on a temporary API (they let a server's services mark a crashed run; the temporary API
    runs no services and ends with the command, so nothing reads them, and the flow's end
    waits for the heartbeat thread's next 1 s tick: 0.5 s on average). `api_ready`: what
    `temporary_api` yields (None: nothing to wait for)."""
    import fastapi.encoders  # noqa: F401  (what the flow call imports first: now, while the API boots)
    import prefect.flow_engine  # noqa: F401
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from newsetl.fanout import prestarted_pool

    server = getattr(api_ready, "__self__", None)  # temporary_api's server, when it started one
    temporary = isinstance(server, LocalPrefectServer) and server.temporary
    # On a temporary API the URL is entered in Prefect's settings too: Prefect reads the
    # environment once, at its import, so a second command in one process (a library user
    # calling `main` twice) would otherwise talk to the first command's stopped server.
    on_temporary = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, PREFECT_API_URL: server.api_url} if temporary else {}
    with prestarted_pool(settings), temporary_settings(on_temporary):
        if api_ready is not None:
            api_ready()
        yield


def _drain_prefect_workers(timeout: float = 10.0) -> None:
    """Send what Prefect's background log and event workers still hold (Prefect itself
    drains them at interpreter exit, which is after this server would be gone)."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=timeout)
