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
