"""The temporary Prefect API server `newsetl run` starts itself (newsetl.prefect_server),
and what a killed run leaves behind: nothing (its server and its pool workers leave)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from newsetl.prefect_server import healthy, temporary_api

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "harbour-strike.txt"


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(NEWSETL_STATE_HOME=str(tmp_path / "state"), PREFECT_HOME=str(tmp_path / "state" / "prefect"),
               NEWSETL_PROGRESS="false")
    return env


def _wait_for(pred, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_temporary_api_starts_answers_and_stops(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    with temporary_api() as ready:
        url = os.environ["PREFECT_API_URL"]  # set before the flow's modules import prefect
        assert ready() == url and healthy(url)
        port = url.rsplit(":", 1)[1].split("/")[0]
        servers = [c for c in psutil.Process().children()
                   if "create_app" in (cmd := " ".join(c.cmdline())) and f"--port {port}" in cmd]
        assert len(servers) == 1
    assert "PREFECT_API_URL" not in os.environ
    assert not servers[0].is_running() or servers[0].status() == psutil.STATUS_ZOMBIE
    assert not healthy(url)


def test_temporary_api_uses_a_configured_server(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    before = set(psutil.Process().children())
    with temporary_api() as ready:
        assert ready() == "http://127.0.0.1:9/api"
        assert set(psutil.Process().children()) == before  # nothing started


def test_run_on_its_own_server_and_a_killed_run_leaves_nothing(tmp_path):
    cmd = [sys.executable, "-m", "newsetl.cli", "run", str(SAMPLE), "--warehouse", str(tmp_path / "wh")]
    done = subprocess.run(cmd, env=_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 new" in done.stdout and "Error logging to API" not in done.stderr

    # Killed with SIGKILL once its server and its pool worker are up (one article: one
    # shard, on the worker started before the flow): no cleanup code runs, yet neither may
    # stay behind.
    # It waits at its first landing step while state/hold exists (the pool is up then).
    wh2 = tmp_path / "wh2"
    (wh2 / "state").mkdir(parents=True)
    (wh2 / "state" / "hold").touch()
    env = dict(_env(tmp_path), NEWSETL_WORKERS="2", NEWSETL_FAULT_AT="stage-batch:hold")
    p = subprocess.Popen(cmd[:-1] + [str(wh2)], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    main = psutil.Process(p.pid)

    def kids():
        try:
            return main.children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def up():
        cmds = [" ".join(c.cmdline()) for c in kids() if c.is_running()]
        return any("create_app" in c for c in cmds) and any("spawn_main" in c for c in cmds)

    try:
        assert _wait_for(up, 120), [c.cmdline() for c in kids()]
        left = kids()
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        alive = lambda: [c for c in left if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        assert _wait_for(lambda: not alive(), 15), [c.cmdline()[:4] for c in alive()]
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_two_runs_in_one_process_each_use_their_own_temporary_api(tmp_path):
    """A library user calling `main` twice: Prefect reads PREFECT_API_URL once, at its first
    import, so the second run talked to the first run's stopped server (ConnectError) until
    `flow_call` entered the new server's URL in Prefect's settings too."""
    script = tmp_path / "twice.py"
    script.write_text(
        "import sys\n"
        "if __name__ == '__main__':\n"
        "    from newsetl.cli import main\n"
        f"    first = main(['run', {str(SAMPLE)!r}, '--warehouse', {str(tmp_path / 'wh')!r}])\n"
        f"    second = main(['run', {str(SAMPLE.with_name('korea-talks.txt'))!r}, '--warehouse', {str(tmp_path / 'wh')!r}])\n"
        "    print('RC', first, second)\n")
    done = subprocess.run([sys.executable, str(script)], env=_env(tmp_path), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0 and "RC 0 0" in done.stdout, done.stderr[-2000:]
    assert done.stdout.count("1 new") == 2 and "ConnectError" not in done.stderr
    assert "Error logging to API" not in done.stderr


@pytest.mark.parametrize("command", ["run", "schedule --once"])
def test_a_run_with_a_process_pool_starts_one_api_server(tmp_path, command):
    """Prefect's process pool forwards its workers' events from a thread of its own, and that
    thread reads Prefect's process-wide settings as they were when prefect was first
    imported. Had `newsetl run` imported prefect before it set the temporary API's URL, the
    thread would start a second temporary server at the first shard (a 3-article run took
    12.1 s instead of 6.1 s), and the workers' events would go to it: one server per run.
    `newsetl schedule --once` reads its config (which imports prefect) after that too."""
    if command == "run":
        cmd = [sys.executable, "-m", "newsetl.cli", "run", str(SAMPLE), "--warehouse", str(tmp_path / "wh")]
    else:
        cfg = tmp_path / "d.toml"
        cfg.write_text("".join(f'[[deployment]]\nname = "{n}"\nsources = ["{SAMPLE}"]\ncron = "0 * * * *"\n'
                               f'warehouse = "{tmp_path / n}"\n' for n in ("one", "two")))
        cmd = [sys.executable, "-m", "newsetl.cli", "schedule", "--once", "--config", str(cfg)]
    p = subprocess.Popen(cmd, env=dict(_env(tmp_path), NEWSETL_WORKERS="2"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    main, servers = psutil.Process(p.pid), set()
    try:
        while p.poll() is None:
            try:
                kids = main.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            for c in kids:
                try:
                    if "create_app" in " ".join(c.cmdline()):
                        servers.add(c.pid)
                except psutil.Error:
                    pass
            time.sleep(0.05)
        out, err = p.communicate(timeout=600)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err[-2000:]
    if command == "run":
        assert "1 new" in out
    else:  # each deployment landed its article, into its own warehouse
        assert "| one | completed | 1 |" in out and "| two | completed | 1 |" in out, out
    assert len(servers) == 1, servers


def test_a_run_on_the_temporary_api_sends_no_flow_heartbeats(tmp_path, monkeypatch):
    # Heartbeats let a server's services mark a crashed run. The temporary API runs no
    # services and ends with the command, so a run on it sends none (the flow's end would
    # wait up to 1 s for the heartbeat thread); a run on a configured server keeps them.
    import newsetl.flows.pipeline as pipeline
    from prefect.settings import get_current_settings

    from newsetl.cli import main
    from newsetl.runstate import RunSummary

    seen = []

    def fake_run_flow(**kw):
        seen.append((get_current_settings().flows.heartbeat_frequency, os.environ["PREFECT_API_URL"]))
        return RunSummary(run_id="r", status="completed")

    monkeypatch.setattr(pipeline, "run_flow", fake_run_flow)
    for k, v in _env(tmp_path).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("NEWSETL_WORKERS", "1")  # no pool: only the flow's settings matter here
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    # `newsetl backfill` and `newsetl schedule --once` start the same way (Prefect's own
    # temporary server, started at the flow call, cost them ~7 s)
    (tmp_path / "wh").mkdir()
    (tmp_path / "wh" / "news.duckdb").touch()  # backfill asks for a warehouse first
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'[[deployment]]\nname = "a"\nsources = ["{SAMPLE}"]\ncron = "0 * * * *"\n')
    for argv in (["run", str(SAMPLE), "--warehouse", str(tmp_path / "wh")],
                 ["backfill", "--all", "--warehouse", str(tmp_path / "wh")],
                 ["schedule", "--once", "--config", str(cfg), "--warehouse", str(tmp_path / "wh")]):
        seen.clear()
        monkeypatch.delenv("PREFECT_API_URL", raising=False)
        assert main(argv) == 0
        monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
        assert main(argv) == 0
        (temporary, url), (configured, configured_url) = seen
        assert temporary is None and url != configured_url, argv
        assert configured == get_current_settings().flows.heartbeat_frequency is not None
