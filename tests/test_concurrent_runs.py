"""Concurrency (issue #7): two `newsetl run` on one warehouse at once. Without --wait the
second stops with exit code 3 and a message naming the other run; with --wait it runs after
the first. Read-only queries (newsetl.query.run_query) loop during both loads and must all
succeed and never see fewer articles than were landed before. No corruption afterwards."""

from __future__ import annotations

import pytest

from tests.conftest import load_script

pytestmark = pytest.mark.usefixtures("prefect_server")


R = load_script("reliability")


def test_two_runs_one_warehouse_and_readers_during_load(tmp_path, api_url):
    cs = R.concurrent_runs(tmp_path, api_url, n_articles=15, log=lambda *_: None)
    report = f"{cs}"
    assert cs.pairs == 2, report
    assert cs.one_ran_other_refused == 1 and cs.refused_with_clear_message == 1, report
    assert cs.waited_and_completed == 1, report
    assert cs.both_completed_unexpectedly == 0 and cs.corrupt_after == 0, report
    assert cs.reader_queries > 10 and cs.reader_failures == 0, report


def test_busy_message_names_the_other_run(tmp_path):
    """The lock itself, without Prefect: a second writer is refused with a clear message."""
    import fcntl

    from newsetl.settings import Settings
    from newsetl.warehouse import WarehouseBusy, writer_lock

    s = Settings(warehouse=tmp_path / "wh", workers=1)
    s.state_dir.mkdir(parents=True)
    with open(s.state_dir / "writer.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write("pid 4242 since now")
        fh.flush()
        with pytest.raises(WarehouseBusy, match="another newsetl run.*pid 4242.*--wait"):
            with writer_lock(s, wait_seconds=0.6):
                pass
    with writer_lock(s):  # released on close: the next writer gets it at once
        pass


@pytest.mark.parametrize("cmd", [["run"], ["backfill", "--all"]])
def test_a_busy_warehouse_is_one_line_before_any_flow(tmp_path, capsys, cmd):
    """`newsetl run` / `backfill` into a warehouse another run holds: one line, exit 3, no
    flow started (the flow logged the error with a Prefect traceback first); with --wait it
    says it waited, not "pass --wait"."""
    import fcntl
    import shutil
    from pathlib import Path

    from tests.conftest import run_cli

    from newsetl.settings import Settings

    s = Settings(warehouse=tmp_path / "wh")
    s.state_dir.mkdir(parents=True)
    s.db_path.write_bytes(b"")  # backfill first asks whether there is a warehouse
    src = tmp_path / "src"
    shutil.copytree(Path(__file__).resolve().parents[1] / "data" / "sample", src)
    with open(s.state_dir / "writer.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write("pid 4242 since now")
        fh.flush()
        args = cmd + ([str(src)] if cmd == ["run"] else []) + ["--warehouse", str(s.warehouse), "--wait", "0.6"]
        assert run_cli(*args) == 3
    out = capsys.readouterr()
    err = out.err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in out.err + out.out, out
    assert "pid 4242" in err and "still writing after --wait 0.6 s" in err and "pass --wait" not in err, err


def test_one_wait_covers_the_check_and_the_run(tmp_path, monkeypatch, capsys):
    """--wait bounds the whole wait: time spent in the early check comes off what the run's
    own lock may wait (it waited up to twice --wait)."""
    import argparse
    import time

    from newsetl import warehouse
    from newsetl.flows import backfill as B
    from newsetl.settings import Settings

    s = Settings(warehouse=tmp_path / "wh")
    s.warehouse.mkdir()
    s.db_path.write_bytes(b"")
    monkeypatch.setattr(warehouse, "check_writer_free", lambda settings, wait: time.sleep(0.5))
    asked = []

    def busy(settings, since, until, outdated, wait_seconds):
        asked.append(wait_seconds)
        raise warehouse.WarehouseBusy("another newsetl run is writing")

    monkeypatch.setattr(B, "backfill", busy)
    args = argparse.Namespace(since=None, until=None, outdated=False, all_articles=True, wait=2.0)
    assert B.backfill_command(args, s) == 3
    assert len(asked) == 1 and 1.0 < asked[0] <= 1.5, asked


@pytest.mark.parametrize("after", [0.0, 4.0])
def test_ctrl_c_on_a_run_is_one_line_and_the_warehouse_stays_whole(tmp_path, after):
    """SIGINT as a run opens its warehouse (inside a DuckDB query, which turns it into
    RuntimeError "Query interrupted") or during enrichment: exit 130 with one line on stderr
    (it was a 45-line Python traceback), and the warehouse is as before the run (here: none
    landed)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    src = tmp_path / "src.jsonl"
    story = ("Minister Ada Vinn said on Monday the council would open a new library in Marlow. "
             "Critics said the plan was late and costly. ") * 30
    src.write_text("".join(f'{{"url": "https://example.org/{i}", "text": "{story} Story {i}."}}\n'
                           for i in range(400)))
    wh = tmp_path / "wh"
    env = {**os.environ, "NEWSETL_WORKERS": "1", "NEWSETL_STATE_HOME": str(tmp_path / "state")}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "newsetl.cli", "run", str(src), "--warehouse", str(wh)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            cwd=Path(__file__).resolve().parents[1])
    scratch = wh / "state"
    deadline = time.monotonic() + 120
    while not any(scratch.glob("run-*")):  # the run has begun to stage its batches
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.1)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err[-6000:])
    assert "Traceback" not in err and "newsetl run: interrupted; a run lands all of itself or nothing" in err, err
    assert not (wh / "news.duckdb").exists(), out  # nothing landed
    # what it left is the next writer's (or repair's) to remove
    assert subprocess.run([sys.executable, "-m", "newsetl.cli", "repair", "--warehouse", str(wh)], env=env,
                          capture_output=True, timeout=120).returncode == 0
    assert not any(scratch.glob("run-*"))
