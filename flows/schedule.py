"""`newsetl schedule`: serve the deployments of `deployments.toml` on their cron schedules.

- No PREFECT_API_URL configured: start a local Prefect server (`prefect server start`,
  SQLite under PREFECT_HOME, 127.0.0.1, `--port` or a free port) as a child process, wait
  until it is healthy, and stop it again on exit (SIGINT/SIGTERM included).
- Every deployment runs the main flow (`newsetl.flows.pipeline.run_flow`) with its sources and
  warehouse, served by this process (`prefect.serve`). At most one run of a deployment at a
  time: deployment concurrency limit 1 with collision strategy CANCEL_NEW, so a run due
  while the previous one still works is cancelled, not queued. A run that would start more
  than `late_after_seconds` after its scheduled time (the machine slept, the runner was
  stopped with SIGSTOP) is skipped instead of piling up: set to Cancelled, named "Skipped",
  while it waits, or, when the runner picked it up first, ended by the run itself before it
  touches anything (Completed, named "Skipped").
  While this process is stopped Prefect holds no scheduled runs of its deployments: at the
  next start the latest run due meanwhile runs if it is at most `late_after_seconds` late
  (`catch_up_missed_runs`), and runs a stop mid-run left Running are set Crashed, which
  frees the deployment's concurrency slot (`settle_interrupted_runs`).
- One `newsetl schedule` per state folder (a lock file beside the Prefect database); its
  local server ends with it, even when it is killed.
- Runs are incremental: the flow skips unchanged articles and URL sources use
  conditional GET, so a no-change run costs reading the inputs and nothing more.
- `--once`: run every deployment once now, in this process, print a summary and exit.
"""

from __future__ import annotations

import contextvars
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

from newsetl import locks
from newsetl.prefect_server import LocalPrefectServer, flow_call, port_taken, temporary_api
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
LOCK_FILE = "newsetl-schedule.lock"  # under PREFECT_HOME: one serving process at a time


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
                "wait_seconds": self.wait_seconds, "late_after_seconds": self.late_after_seconds}


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
    unknown = sorted(set(data) - {"defaults", "deployment"})
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(unknown)} (known: [defaults], [[deployment]])")
    defaults = data.get("defaults", {})
    base = path.parent
    specs: list[DeploymentSpec] = []
    for i, raw in enumerate(data.get("deployment", [])):
        d = {**defaults, **raw}
        where = f"{path}: deployment {d.get('name') or '#' + str(i + 1)!r}"
        unknown = sorted(set(d) - set(KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(KEYS)})")
        missing = [k for k in ("name", "sources", "cron") if not d.get(k)]
        if missing:
            raise ConfigError(f"{path}: deployment #{i + 1} lacks {', '.join(missing)}")
        for key, value in d.items():
            if not isinstance(value, KEYS[key]) or isinstance(value, bool) and bool not in KEYS[key]:
                raise ConfigError(f"{where}: {key} = {value!r} is not {KEY_KINDS[key]}")
            if key in ("late_after_seconds", "wait_seconds") and value < 0:
                raise ConfigError(f"{where}: {key} = {value!r} is negative")
        sources = [d["sources"]] if isinstance(d["sources"], str) else list(d["sources"])
        if not all(isinstance(x, str) and x.strip() for x in sources):
            raise ConfigError(f"{where}: sources must be paths or URLs (strings)")
        sources = [s if "://" in s or s.startswith("warehouse:") else str((base / s).resolve()) for s in sources]
        wh = d.get("warehouse")
        _check_cron(where, str(d["cron"]), str(d.get("timezone", "UTC")))
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


# What a deployment (or [defaults]) may set, and the TOML types each takes.
KEYS = {"name": (str,), "sources": (str, list), "cron": (str,), "timezone": (str,), "warehouse": (str,),
        "late_after_seconds": (int, float), "wait_seconds": (int, float), "description": (str,),
        "tags": (list,)}
KEY_KINDS = {"name": "a string", "sources": "a string or a list of strings", "cron": "a string",
             "timezone": "a string", "warehouse": "a string", "late_after_seconds": "a number",
             "wait_seconds": "a number", "description": "a string", "tags": "a list"}


def _check_cron(where: str, cron: str, tz: str) -> None:
    """Prefect's own schedule validation (five fields in range, an IANA time zone), now:
    else the server would start first and the mistake show as a traceback."""
    from pydantic import ValidationError
    from prefect.client.schemas.schedules import CronSchedule

    if len(cron.split()) != 5 and not cron.strip().startswith("@"):
        raise ConfigError(f"{where}: cron {cron!r} needs five fields (minute hour day month weekday)")
    try:
        CronSchedule(cron=cron, timezone=tz)
    except ValidationError as exc:
        msg = "; ".join(e.get("msg", "").removeprefix("Value error, ") for e in exc.errors())
        raise ConfigError(f"{where}: {msg}") from None


# ---------------------------------------------------------------- local Prefect server
class PortError(ValueError):
    pass


@contextmanager
def prefect_api(settings: Settings, port: int | None = None):
    """Yield the Prefect API URL: the configured one, or a local server started (and stopped)
    here, on `port` when given (a stable URL for operators' own Prefect commands), else on a
    free one."""
    url = os.environ.get("PREFECT_API_URL")
    if url:
        if port:
            raise PortError(f"--port {port} is for the local Prefect server, and PREFECT_API_URL is set "
                            f"({url}): unset one of them")
        yield url, None
        return
    if port and port_taken(port):
        raise PortError(f"port {port} on 127.0.0.1 is in use; pick another --port, or leave it out for a free one")
    server = LocalPrefectServer(port=port)
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


def skip_late_runs(specs: list[DeploymentSpec], now: datetime | None = None) -> list[tuple[str, datetime]]:
    """Cancel (as "Skipped") scheduled runs of these deployments that are past their window;
    (deployment, when it was due) of each."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterDeploymentId,
                                                FlowRunFilterExpectedStartTime, FlowRunFilterState,
                                                FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled

    now = now or datetime.now(timezone.utc)
    skipped = []
    with get_client(sync_client=True) as client:
        for s, dep in _deployments(client, specs):
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
                skipped.append((s.name, run.expected_start_time))
    return sorted(skipped, key=lambda x: x[1])


def settle_interrupted_runs(specs: list[DeploymentSpec]) -> int:
    """Runs of these deployments still Pending, Running or Cancelling when `newsetl schedule`
    starts were left so by a schedule process that stopped mid-run (Ctrl-C, kill -9): this
    one is the only process that serves them (`_only_schedule`), so none is alive. Each is
    set Crashed, which also frees the deployment's concurrency slot: else every later run
    of it was cancelled ("Deployment concurrency limit reached"), for good, without a word."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterState
    from prefect.client.schemas.filters import FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    settled = 0
    with get_client(sync_client=True) as client:
        for s, dep in _deployments(client, specs):
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=[dep.id]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(
                    any_=[StateType.PENDING, StateType.RUNNING, StateType.CANCELLING]))))
            for run in runs:
                client.set_flow_run_state(run.id, Crashed(
                    message="the newsetl schedule process running it stopped mid-run (found at its next start); "
                            "the warehouse is whole: the next run, or `newsetl repair`, finishes or drops "
                            "what it had begun"), force=True)
                settled += 1
    return settled


def catch_up_missed_runs(specs: list[DeploymentSpec], now: datetime | None = None) -> list[str]:
    """A run due while `newsetl schedule` was stopped (Prefect pauses a served deployment and
    deletes its scheduled runs when the serve process stops) is run now if it is at most
    `late_after_seconds` late, once: the latest cron time before now, when no run of the
    deployment is for it. Older ones are past their window, as a late run is. Returns the
    names of the deployments given a run."""
    from zoneinfo import ZoneInfo

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterDeploymentId,
                                                FlowRunFilterExpectedStartTime)
    from prefect.states import Scheduled

    try:
        from prefect._vendor.croniter import croniter  # what Prefect's own cron schedules use
    except ImportError:  # pragma: no cover - another Prefect release
        return []
    now = now or datetime.now(timezone.utc)
    started = []
    with get_client(sync_client=True) as client:
        for s, dep in _deployments(client, specs):
            due = croniter(s.cron, now.astimezone(ZoneInfo(s.timezone))).get_prev(datetime)
            if (now - due).total_seconds() > s.late_after_seconds:
                continue
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=[dep.id]),
                expected_start_time=FlowRunFilterExpectedStartTime(
                    after_=due - timedelta(seconds=1), before_=now + timedelta(seconds=1))), limit=1)
            if runs:
                continue
            client.create_flow_run_from_deployment(dep.id, state=Scheduled(
                scheduled_time=now, message=f"due at {due.isoformat()} while newsetl schedule was stopped"))
            started.append(s.name)
    return started


OVERLAP_MESSAGE = "Deployment concurrency limit reached."  # Prefect's CANCEL_NEW cancellation


def cancelled_for_overlap(specs: list[DeploymentSpec], since: datetime) -> list[tuple[str, datetime]]:
    """Runs that Prefect cancelled since `since` because the deployment's previous run was
    still working (one at a time): (deployment, when it was due). Said on the console, which
    showed nothing of them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterDeploymentId,
                                                FlowRunFilterExpectedStartTime, FlowRunFilterState,
                                                FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType

    out = []
    with get_client(sync_client=True) as client:
        for s, dep in _deployments(client, specs):
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=[dep.id]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CANCELLED])),
                expected_start_time=FlowRunFilterExpectedStartTime(after_=since - timedelta(days=1))))
            out += [(s.name, r.expected_start_time) for r in runs
                    if r.state.message == OVERLAP_MESSAGE and r.state.timestamp > since]
    return sorted(out, key=lambda x: x[1])


class _LateRunSweeper(threading.Thread):
    def __init__(self, specs: list[DeploymentSpec], served_before: list[DeploymentSpec] | None = None):
        super().__init__(name="newsetl-late-runs", daemon=True)
        self.specs = specs
        self.served_before = served_before or []  # only these can have missed a run
        self.stopped = threading.Event()
        # Prefect keeps its settings (the API URL among them) in context variables, and a
        # new thread starts with none of them set: Prefect's import-time settings, with no
        # API URL, so every call of the sweep went to a temporary server of its own, which
        # knew no deployment. The sweep runs in a copy of the starting thread's context.
        self.context = contextvars.copy_context()

    def run(self) -> None:
        self.context.run(self._sweep)

    def _sweep(self) -> None:
        # First, once serve() has registered (and so unpaused) the deployments, the runs
        # missed while this process was not running.
        deadline = time.monotonic() + 120
        while self.served_before and not self.stopped.wait(1.0) and time.monotonic() < deadline:
            try:
                if _all_served(self.specs):
                    for name in catch_up_missed_runs(self.served_before):
                        print(f"newsetl schedule: {name}: running the run due while the schedule was stopped",
                              flush=True)
                    break
            except Exception as exc:  # the API may be busy; try again
                log.debug("catch-up failed: %s", exc)
        since = datetime.now(timezone.utc)
        while not self.stopped.wait(SWEEP_SECONDS):
            try:
                for name, due in skip_late_runs(self.specs):
                    print(f"newsetl schedule: {name}: the run due at {due:%Y-%m-%d %H:%M %Z} was skipped: "
                          "it would start more than late_after_seconds after its time", flush=True)
                now = datetime.now(timezone.utc)
                for name, due in cancelled_for_overlap(self.specs, since):
                    print(f"newsetl schedule: {name}: the run due at {due:%Y-%m-%d %H:%M %Z} was not started: "
                          "the previous run was still working (one run at a time)", flush=True)
                since = now
            except Exception as exc:  # the API may be restarting; try again next time
                log.debug("late-run sweep failed: %s", exc)

    def stop(self) -> None:
        self.stopped.set()


def _deployments(client, specs: list[DeploymentSpec]):
    """(spec, its Prefect deployment) for the specs the API knows (served at least once)."""
    for s in specs:
        try:
            yield s, client.read_deployment_by_name(f"{FLOW_NAME}/{s.name}")
        except Exception:  # not registered (yet)
            continue


def _registered(specs: list[DeploymentSpec]) -> list[DeploymentSpec]:
    """The deployments the Prefect API knows already (served by an earlier start)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return [s for s, _ in _deployments(client, specs)]


def _all_served(specs: list[DeploymentSpec]) -> bool:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        found = list(_deployments(client, specs))
    return len(found) == len(specs) and not any(dep.paused for _, dep in found)


class AlreadyRunning(RuntimeError):
    pass


def _prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or PROJECT_ROOT / ".state" / "prefect")


@contextmanager
def _only_schedule(home: Path):
    """One `newsetl schedule` per state folder: a second one would serve the same deployments
    and, when it stopped, pause them all under the first."""
    fh, holder = locks.acquire(home / LOCK_FILE)
    if fh is None:
        raise AlreadyRunning(f"newsetl schedule is already running from {home} ({holder}); "
                             "stop it first (Ctrl-C or SIGTERM)")
    with locks.holding(fh):
        yield


def _write_state(api_url: str, server: LocalPrefectServer | None, specs) -> Path:
    home = _prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    path = home / STATE_FILE
    path.write_text(json.dumps({
        "api_url": api_url, "pid": os.getpid(),
        "server_pid": server.proc.pid if server and server.proc else None,
        "deployments": [f"{FLOW_NAME}/{s.name}" for s in specs],
    }))
    return path


def run_once(specs: list[DeploymentSpec], settings: Settings, api_ready=None) -> int:
    """`api_ready`: from `temporary_api` (see `prefect_server.flow_call`)."""
    from newsetl.flows.pipeline import run_flow
    from newsetl.warehouse import WarehouseBusy

    failed = 0
    rows = []
    for s in specs:
        st = settings.with_(warehouse=Path(s.parameters(settings)["warehouse"]))
        try:
            with flow_call(st, api_ready):
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


def _config(args) -> list[DeploymentSpec] | None:
    try:
        return load_config(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"newsetl schedule: {exc}", file=sys.stderr)
        return None


def schedule_command(args, settings: Settings) -> int:
    if getattr(args, "once", False):
        # As `newsetl run` starts: the temporary API boots while the config is read (which
        # imports prefect: after the API's URL is set) and the pipeline imported.
        with temporary_api() as api_ready:
            specs = _config(args)
            return 2 if specs is None else run_once(specs, settings, api_ready)
    specs = _config(args)
    if specs is None:
        return 2

    # Until the runner installs its own handler, SIGTERM must still unwind through `finally`
    # (so the server we start is stopped).
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)
    sweeper = None
    try:
        with _only_schedule(_prefect_home()), prefect_api(settings, getattr(args, "port", None)) as (url, server):
            from prefect import serve
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: url}):
                deps = build_deployments(specs, settings)
                print(f"newsetl schedule: Prefect API {url}", flush=True)
                for s in specs:
                    print(f"  {FLOW_NAME}/{s.name}: {s.cron} ({s.timezone}) -> {s.parameters(settings)['warehouse']}",
                          flush=True)
                _write_state(url, server, specs)
                served_before: list[DeploymentSpec] = []
                try:  # runs left over from before a restart
                    served_before = _registered(specs)
                    n = settle_interrupted_runs(specs)
                    if n:
                        print(f"newsetl schedule: {n} run(s) left running by a stop mid-run set Crashed",
                              flush=True)
                    skip_late_runs(specs)
                except Exception as exc:
                    log.debug("start-up sweep failed: %s", exc)
                sweeper = _LateRunSweeper(specs, served_before)
                sweeper.start()
                serve(*deps, print_starting_message=False, limit=None)
    except (AlreadyRunning, PortError) as exc:
        print(f"newsetl schedule: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        if sweeper:
            sweeper.stop()
    print("newsetl schedule: stopped", flush=True)
    return 0
