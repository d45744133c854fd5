"""`newsetl schedule` end to end: it starts its own Prefect server, serves a deployment on a
one-minute cron, a scheduled run lands rows, and SIGTERM leaves no process behind."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 150  # a one-minute cron, plus a flow-run process on a loaded 2-core machine


def _articles(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return 0
    try:
        return con.execute("select count(*) from articles").fetchone()[0]
    finally:
        con.close()


def _descendants(pid: int, seen: dict[int, psutil.Process]) -> None:
    try:
        for c in psutil.Process(pid).children(recursive=True):
            if c.pid not in seen:
                seen[c.pid] = c
                try:  # kept: a process that has ended no longer tells
                    c._newsetl_cmdline = c.cmdline()
                except psutil.Error:
                    pass
    except psutil.Error:
        pass


def _cmdline(p: psutil.Process) -> list[str]:
    return getattr(p, "_newsetl_cmdline", [])


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_load_config_resolves_paths_and_validates(tmp_path):
    from newsetl.flows.schedule import ConfigError, load_config

    cfg = tmp_path / "d.toml"
    cfg.write_text('[defaults]\ntimezone = "Europe/London"\n\n[[deployment]]\nname = "a"\n'
                   'sources = ["in", "https://example.org/feed.xml"]\ncron = "*/5 * * * *"\nwarehouse = "wh"\n')
    (spec,) = load_config(cfg)
    assert spec.sources == [str(tmp_path / "in"), "https://example.org/feed.xml"]
    assert spec.warehouse == str(tmp_path / "wh") and spec.timezone == "Europe/London"
    cfg.write_text('[[deployment]]\nname = "a"\nsources = ["x"]\n')
    with pytest.raises(ConfigError, match="cron"):
        load_config(cfg)
    # the shipped sample config loads
    assert load_config(ROOT / "deployments.toml")


@pytest.mark.parametrize("line,why", [
    ('cron = "61 * * * *"', "Invalid cron string"),
    ('cron = "0 0 * * * *"', "needs five fields"),
    ('cron = "0 * * * *"\ntimezone = "Mars/Olympus"', "Invalid timezone"),
    ('cron = "0 * * * *"\nlate_after_secs = 5', "unknown key(s) late_after_secs"),
    ('cron = "0 * * * *"\nlate_after_seconds = "ten"', "late_after_seconds = 'ten' is not a number"),
    ('cron = "0 * * * *"\nwait_seconds = -1', "wait_seconds = -1 is negative"),
])
def test_config_mistakes_are_one_line_before_anything_starts(tmp_path, line, why):
    """Each was accepted (rc 0 with --once) or a traceback once the server had started."""
    from newsetl.flows.schedule import ConfigError, load_config

    cfg = tmp_path / "d.toml"
    cfg.write_text(f'[[deployment]]\nname = "a"\nsources = ["x"]\n{line}\n')
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert why in str(err.value) and "\n" not in str(err.value), err.value
    cfg.write_text('[defaults]\nshedule = "x"\n[[deployment]]\nname = "a"\nsources = ["x"]\ncron = "0 * * * *"\n')
    with pytest.raises(ConfigError, match="unknown key"):  # a typo in [defaults] too
        load_config(cfg)


def test_port_taken_or_beside_an_api_url_is_one_line_before_a_server_starts(tmp_path):
    """`--port`: a port in use would have the health check answered by whatever listens
    there (another Prefect server passed for ours); with PREFECT_API_URL set no local server
    starts, so the port would be silently ignored."""
    import socket

    cfg = tmp_path / "d.toml"
    cfg.write_text(f'[[deployment]]\nname = "a"\nsources = ["{tmp_path}"]\ncron = "0 * * * *"\n')
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(NEWSETL_STATE_HOME=str(tmp_path / "state"), PREFECT_HOME=str(tmp_path / "state" / "prefect"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cmd = [sys.executable, "-m", "newsetl.cli", "schedule", "--config", str(cfg), "--port", str(port)]
        taken = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        both = subprocess.run(cmd, env={**env, "PREFECT_API_URL": "http://127.0.0.1:9/api"},
                              capture_output=True, text=True, timeout=120)
    assert taken.returncode == 2 and f"port {port} on 127.0.0.1 is in use" in taken.stderr, taken
    assert both.returncode == 2 and "PREFECT_API_URL is set" in both.stderr, both
    for r in (taken, both):
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "state" / "prefect" / "server.log").exists()  # no server was started
    bad = subprocess.run(cmd[:-1] + ["70000"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "is not a port" in bad.stderr


def test_schedule_serves_cron_deployment_on_its_own_server(tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (FlowRunFilter,
                                                FlowRunFilterDeploymentId)
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Scheduled

    from prefect.states import Cancelled, Running

    from newsetl.flows.schedule import (FLOW_NAME, OVERLAP_MESSAGE, STATE_FILE, DeploymentSpec,
                                        cancelled_for_overlap, catch_up_missed_runs, settle_interrupted_runs,
                                        skip_late_runs)

    src = tmp_path / "src"
    shutil.copytree(ROOT / "data" / "sample", src)
    wh = tmp_path / "wh"
    cfg = tmp_path / "deployments.toml"
    cfg.write_text(f'[[deployment]]\nname = "every-minute"\nsources = ["{src}"]\ncron = "* * * * *"\n'
                   f'warehouse = "{wh}"\nlate_after_seconds = 300\n')
    state_home = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(NEWSETL_STATE_HOME=str(state_home), PREFECT_HOME=str(state_home / "prefect"),
               NEWSETL_WORKERS="1", NEWSETL_BATCH_SIZE="50")
    log = open(tmp_path / "schedule.log", "wb")
    from newsetl.prefect_server import free_port

    port = free_port()  # a stable URL for operators' own Prefect commands
    proc = subprocess.Popen([sys.executable, "-m", "newsetl.cli", "schedule", "--config", str(cfg),
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    seen: dict[int, psutil.Process] = {}
    try:
        state_file = state_home / "prefect" / STATE_FILE
        deadline = time.monotonic() + 150
        while not state_file.exists():
            assert proc.poll() is None, (tmp_path / "schedule.log").read_text()
            assert time.monotonic() < deadline, "the Prefect server did not come up"
            time.sleep(0.5)
        state = json.loads(state_file.read_text())
        url = state["api_url"]
        # a second schedule on the same state folder is refused (it served the same
        # deployments and, when it stopped, paused them under the first)
        second = subprocess.run([sys.executable, "-m", "newsetl.cli", "schedule", "--config", str(cfg)],
                                env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert second.returncode == 2 and "already running" in second.stderr, second
        assert f"pid {proc.pid}" in second.stderr and "Traceback" not in second.stderr
        assert url == f"http://127.0.0.1:{port}/api"
        assert state["server_pid"] and psutil.pid_exists(state["server_pid"])

        # A scheduled run (not one we trigger) completes and lands rows.
        deadline = time.monotonic() + RUN_TIMEOUT
        while _articles(wh / "news.duckdb") == 0:
            _descendants(proc.pid, seen)
            assert proc.poll() is None, (tmp_path / "schedule.log").read_text()
            assert time.monotonic() < deadline, "no scheduled run landed rows in time:\n" + \
                (tmp_path / "schedule.log").read_text()[-3000:]
            time.sleep(1)
        _descendants(proc.pid, seen)
        assert _articles(wh / "news.duckdb") >= 3

        with temporary_settings(updates={PREFECT_API_URL: url}):
            with get_client(sync_client=True) as client:
                dep = client.read_deployment_by_name(f"{FLOW_NAME}/every-minute")
                assert dep.global_concurrency_limit.limit == 1
                assert dep.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW
                assert dep.parameters["warehouse"] == str(wh)
                deadline = time.monotonic() + 60
                while True:  # the flow run reports Completed shortly after the data is published
                    runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                        deployment_id=FlowRunFilterDeploymentId(any_=[dep.id])))
                    done = [r for r in runs if r.state and r.state.is_completed()]
                    if done or time.monotonic() > deadline:
                        break
                    time.sleep(1)
                assert done, [(r.name, r.state and r.state.name) for r in runs]
                assert done[0].auto_scheduled  # it came from the cron schedule

                # A late run of the served deployment never lands: the sweeper cancels it
                # while it waits, or the runner picks it up first and the run skips itself.
                late_served = client.create_flow_run_from_deployment(
                    dep.id, state=Scheduled(scheduled_time=datetime.now(timezone.utc) - timedelta(hours=1)))
                deadline = time.monotonic() + 90
                while not (st := client.read_flow_run(late_served.id).state).is_final():
                    assert time.monotonic() < deadline, st
                    _descendants(proc.pid, seen)
                    time.sleep(1)
                assert st.name == "Skipped", st

                # Late runs are skipped, not piled up (on a registered but not served deployment,
                # so the runner cannot race the check).
                flow_id = client.create_flow_from_name(FLOW_NAME)
                other = client.create_deployment(flow_id=flow_id, name="not-served",
                                                 entrypoint="newsetl.flows.pipeline.run_flow")
                now = datetime.now(timezone.utc)
                late = client.create_flow_run_from_deployment(other, state=Scheduled(scheduled_time=now - timedelta(hours=1)))
                due = client.create_flow_run_from_deployment(other, state=Scheduled(scheduled_time=now + timedelta(hours=1)))
                spec = DeploymentSpec(name="not-served", sources=[], cron="* * * * *", late_after_seconds=600)
                assert [n for n, _ in skip_late_runs([spec])] == ["not-served"]
                assert client.read_flow_run(late.id).state.is_cancelled()
                assert client.read_flow_run(late.id).state.name == "Skipped"
                assert client.read_flow_run(due.id).state.is_scheduled()

                # A late run that starts anyway (the runner took it before the sweeper could
                # cancel it) ends at once, Skipped, and lands nothing.
                checked = client.create_deployment(
                    flow_id=flow_id, name="late-check", entrypoint="newsetl.flows.pipeline.run_flow",
                    parameters={"sources": [str(src)], "warehouse": str(tmp_path / "wh-late"),
                                "late_after_seconds": 600})
                started = client.create_flow_run_from_deployment(
                    checked, state=Scheduled(scheduled_time=now - timedelta(hours=1)))
                ran = subprocess.run([sys.executable, "-m", "prefect", "flow-run", "execute", str(started.id)],
                                     env={**env, "PREFECT_API_URL": url}, capture_output=True, text=True,
                                     cwd=tmp_path, timeout=180)
                st = client.read_flow_run(started.id).state
                assert ran.returncode == 0 and st.name == "Skipped" and "600" in st.message, (st, ran.stderr[-3000:])
                assert "Traceback" not in ran.stderr, ran.stderr[-3000:]
                assert "newsetl schedule: late-check: skipped: started 36" in ran.stdout, ran.stdout
                assert not (tmp_path / "wh-late").exists()

                # A run left Running by a stop mid-run is set Crashed at the next start (it
                # held the deployment's only concurrency slot: every later run was cancelled).
                stuck = client.create_flow_run_from_deployment(other, state=Scheduled(scheduled_time=now))
                client.set_flow_run_state(stuck.id, Running(), force=True)
                assert settle_interrupted_runs([spec]) == 1
                assert client.read_flow_run(stuck.id).state.is_crashed()
                assert settle_interrupted_runs([spec]) == 0

                # The run due while the schedule was stopped runs at its start, once; none
                # when the last one due is older than late_after_seconds.
                quiet = client.create_deployment(flow_id=flow_id, name="was-stopped",
                                                 entrypoint="newsetl.flows.pipeline.run_flow")
                for late_after, want in ((0, []), (600, ["was-stopped"]), (600, [])):
                    missed = DeploymentSpec(name="was-stopped", sources=[], cron="* * * * *",
                                            late_after_seconds=late_after)
                    assert catch_up_missed_runs([missed], now=now) == want
                caught = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                    deployment_id=FlowRunFilterDeploymentId(any_=[quiet])))
                assert len(caught) == 1 and caught[0].state.is_scheduled()

                # A run cancelled because the previous one still worked is said on the console
                # (the sweeper's question), once: later sweeps ask from their own start.
                before = datetime.now(timezone.utc) - timedelta(seconds=1)
                over = client.create_flow_run_from_deployment(other, state=Scheduled(scheduled_time=now))
                client.set_flow_run_state(over.id, Cancelled(message=OVERLAP_MESSAGE), force=True)
                assert [n for n, _ in cancelled_for_overlap([spec], before)] == ["not-served"]
                assert cancelled_for_overlap([spec], datetime.now(timezone.utc) + timedelta(seconds=1)) == []
    finally:
        _descendants(proc.pid, seen)
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            for p in seen.values():
                if _alive(p):
                    p.kill()
            raise
        log.close()
    assert rc == 0, (tmp_path / "schedule.log").read_text()[-3000:]
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in seen.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = [(p.pid, p.name()) for p in seen.values() if _alive(p)]
    for p in seen.values():
        if _alive(p):
            p.kill()
    assert not left, f"processes left behind: {left}"
    assert state["server_pid"] in seen  # the server was ours, and it is gone
    # and it was the only one: the sweeper's thread once talked to a temporary server of its
    # own (Prefect's settings live in context variables, which a new thread does not inherit)
    temporary = [p.pid for p in seen.values() if "prefect.server.api.server:create_app" in " ".join(_cmdline(p))]
    assert not temporary, temporary
    out = (tmp_path / "schedule.log").read_text()
    # each scheduled run says so on the console (nothing did), and nothing crashed on the way out
    assert re.search(r"newsetl schedule: every-minute: completed, \d+ new, \d+ changed", out), out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    # the late run said so, whichever of the sweeper or the run itself skipped it
    assert re.search(r"every-minute: (skipped: started \d+ s|the run due at .+ was skipped)", out), out[-3000:]
