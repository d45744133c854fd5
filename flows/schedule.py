"""`newsetl schedule`: serve the deployments of `deployments.toml` on their cron schedules.

- No PREFECT_API_URL configured: start a local Prefect server (`prefect server start`,
  SQLite under PREFECT_HOME, 127.0.0.1, a free port) as a child process, wait until it is
  healthy, and stop it again on exit (SIGINT/SIGTERM included).
- Every deployment runs the main flow (`newsetl.flows.pipeline.run_flow`) with its sources and
  warehouse, served by this process (`prefect.serve`). At most one run of a deployment at a
  time: deployment concurrency limit 1 with collision strategy CANCEL_NEW, so a run due
  while the previous one still works is cancelled, not queued. A run that would start more
  than `late_after_seconds` after its scheduled time (the machine slept, the serve process
  was down) is skipped: set to Cancelled, named "Skipped", instead of piling up.
- Runs are incremental: the flow skips unchanged articles and URL sources use
  conditional GET, so a no-change run costs reading the inputs and nothing more.
- `--once`: run every deployment once now, in this process, print a summary and exit.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from newsetl.prefect_server import LocalPrefectServer
from newsetl.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

DEFAULT_CONFIG = PROJECT_ROOT / "deployments.toml"
FLOW_NAME = "newsetl-run"  # the @flow name of newsetl.flows.pipeline.run_flow
# A run more than this late is skipped. Shorter than the shortest sensible interval (hourly),
# long enough that a busy machine picking a run up a minute late still runs it.
DEFAULT_LATE_AFTER_SECONDS = 600
# How often the late-run sweeper looks (the runner itself polls every ~10 s).
SWEEP_SECONDS = 5.0
STATE_FILE = "newsetl-schedule.json"  # under PREFECT_HOME: api url and pids, for operators


class ConfigError(ValueError):
    pass


@dataclass
class DeploymentSpec:
    name: str
    sources: list[str]
    cron: str
    timezone: str = "UTC"
    warehouse: str | None = None
    late_after_seconds: int = DEFAULT_LATE_AFTER_SECONDS
    # Two deployments on one warehouse: the second waits this long for the writer lock.
    wait_seconds: float = 300.0
    description: str = ""
    tags: list[str] = field(default_factory=list)

    def parameters(self, settings: Settings) -> dict:
        return {"sources": list(self.sources), "warehouse": str(self.warehouse or settings.warehouse),
                "wait_seconds": self.wait_seconds}


def load_config(path: str | Path | None) -> list[DeploymentSpec]:
    """`[[deployment]]` tables (name, sources, cron, timezone, warehouse, late_after_seconds);
    `[defaults]` fills what a deployment leaves out. Relative paths are relative to the file."""
    path = Path(path or DEFAULT_CONFIG).resolve()
    if not path.exists():
        raise ConfigError(f"no deployments config at {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    defaults = data.get("defaults", {})
    base = path.parent
    specs: list[DeploymentSpec] = []
    for i, raw in enumerate(data.get("deployment", [])):
        d = {**defaults, **raw}
        missing = [k for k in ("name", "sources", "cron") if not d.get(k)]
        if missing:
            raise ConfigError(f"{path}: deployment #{i + 1} lacks {', '.join(missing)}")
        sources = [d["sources"]] if isinstance(d["sources"], str) else list(d["sources"])
        sources = [s if "://" in s or s.startswith("warehouse:") else str((base / s).resolve()) for s in sources]
        wh = d.get("warehouse")
        try:
            from croniter import croniter

            if not croniter.is_valid(d["cron"]):
                raise ConfigError(f"{path}: deployment {d['name']!r}: invalid cron {d['cron']!r}")
        except ImportError:
            pass
        specs.append(DeploymentSpec(
            name=str(d["name"]), sources=sources, cron=str(d["cron"]), timezone=str(d.get("timezone", "UTC")),
            warehouse=str((base / wh).resolve()) if wh else None,
            late_after_seconds=int(d.get("late_after_seconds", DEFAULT_LATE_AFTER_SECONDS)),
            wait_seconds=float(d.get("wait_seconds", 300.0)),
            description=str(d.get("description", "")), tags=list(d.get("tags", [])),
        ))
    if not specs:
        raise ConfigError(f"{path}: no [[deployment]] entries")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: deployment names must be unique")
    return specs


# ---------------------------------------------------------------- local Prefect server
@contextmanager
def prefect_api(settings: Settings):
    """Yield the Prefect API URL: the configured one, or a local server started (and stopped) here."""
    url = os.environ.get("PREFECT_API_URL")
    if url:
        yield url, None
        return
    server = LocalPrefectServer()
    try:
        print(f"newsetl schedule: starting a local Prefect server (SQLite under {server.home}) ...", flush=True)
        url = server.start()
        os.environ["PREFECT_API_URL"] = url
        yield url, server
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()


# ---------------------------------------------------------------- deployments
def build_deployments(specs: list[DeploymentSpec], settings: Settings):
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from newsetl.flows.pipeline import run_flow

    deps = []
    for s in specs:
        deps.append(run_flow.to_deployment(
            name=s.name,
            schedule=Cron(s.cron, timezone=s.timezone),
            parameters=s.parameters(settings),
            # One run at a time; a run due while the last one works is cancelled, not queued.
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
            description=s.description or f"newsetl run {' '.join(s.sources)}",
            tags=["newsetl", *s.tags],
            enforce_parameter_schema=False,
            # Import by module: the flow-run process finds `flows` wherever it starts.
            entrypoint_type=EntrypointType.MODULE_PATH,
        ))
    return deps


def skip_late_runs(specs: list[DeploymentSpec], now: datetime | None = None) -> int:
    """Cancel (as "Skipped") scheduled runs of these deployments that are past their window."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterDeploymentId,
                                                FlowRunFilterExpectedStartTime, FlowRunFilterState,
                                                FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled

    now = now or datetime.now(timezone.utc)
    skipped = 0
    with get_client(sync_client=True) as client:
        for s in specs:
            try:
                dep = client.read_deployment_by_name(f"{FLOW_NAME}/{s.name}")
            except Exception:  # not registered yet
                continue
            cutoff = now - timedelta(seconds=s.late_after_seconds)
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=[dep.id]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                expected_start_time=FlowRunFilterExpectedStartTime(before_=cutoff),
            ))
            for run in runs:
                client.set_flow_run_state(run.id, Cancelled(
                    name="Skipped",
                    message=f"skipped: would start more than {s.late_after_seconds} s after "
                            f"its scheduled time {run.expected_start_time}"), force=True)
                skipped += 1
    return skipped


class _LateRunSweeper(threading.Thread):
    def __init__(self, specs: list[DeploymentSpec]):
        super().__init__(name="newsetl-late-runs", daemon=True)
        self.specs = specs
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(SWEEP_SECONDS):
            try:
                n = skip_late_runs(self.specs)
                if n:
                    log.warning("skipped %d late scheduled run(s)", n)
            except Exception as exc:  # the API may be restarting; try again next time
                log.debug("late-run sweep failed: %s", exc)

    def stop(self) -> None:
        self.stopped.set()


def _write_state(api_url: str, server: LocalPrefectServer | None, specs) -> Path:
    home = Path(os.environ.get("PREFECT_HOME") or PROJECT_ROOT / ".state" / "prefect")
    home.mkdir(parents=True, exist_ok=True)
    path = home / STATE_FILE
    path.write_text(json.dumps({
        "api_url": api_url, "pid": os.getpid(),
        "server_pid": server.proc.pid if server and server.proc else None,
        "deployments": [f"{FLOW_NAME}/{s.name}" for s in specs],
    }))
    return path


def run_once(specs: list[DeploymentSpec], settings: Settings) -> int:
    from newsetl.flows.pipeline import run_flow
    from newsetl.warehouse import WarehouseBusy

    failed = 0
    rows = []
    for s in specs:
        st = settings.with_(warehouse=Path(s.parameters(settings)["warehouse"]))
        try:
            summary = run_flow(sources=s.sources, wait_seconds=s.wait_seconds, settings=st)
            rows.append((s.name, summary.status, summary.articles_new, summary.articles_changed,
                         summary.articles_unchanged, summary.rejects, f"{summary.seconds:.1f}"))
            failed += summary.status != "completed"
        except WarehouseBusy as exc:
            rows.append((s.name, "skipped (warehouse busy)", "", "", "", "", ""))
            print(f"newsetl schedule: {s.name}: {exc}", file=sys.stderr)
            failed += 1
        except Exception as exc:
            rows.append((s.name, f"failed: {exc.__class__.__name__}", "", "", "", "", ""))
            print(f"newsetl schedule: {s.name}: {exc}", file=sys.stderr)
            failed += 1
    print("| deployment | status | new | changed | unchanged | rejects | seconds |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")
    return 1 if failed else 0


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def schedule_command(args, settings: Settings) -> int:
    try:
        specs = load_config(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"newsetl schedule: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "once", False):
        return run_once(specs, settings)

    # Until the runner installs its own handler, SIGTERM must still unwind through `finally`
    # (so the server we start is stopped).
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)
    sweeper = None
    try:
        with prefect_api(settings) as (url, server):
            from prefect import serve
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: url}):
                deps = build_deployments(specs, settings)
                print(f"newsetl schedule: Prefect API {url}", flush=True)
                for s in specs:
                    print(f"  {FLOW_NAME}/{s.name}: {s.cron} ({s.timezone}) -> {s.parameters(settings)['warehouse']}",
                          flush=True)
                _write_state(url, server, specs)
                try:  # runs left over from before a restart of an external server
                    skip_late_runs(specs)
                except Exception as exc:
                    log.debug("late-run sweep failed: %s", exc)
                sweeper = _LateRunSweeper(specs)
                sweeper.start()
                serve(*deps, print_starting_message=False, limit=None)
    except KeyboardInterrupt:
        pass
    finally:
        if sweeper:
            sweeper.stop()
    print("newsetl schedule: stopped", flush=True)
    return 0
