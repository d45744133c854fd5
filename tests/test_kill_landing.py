"""Faults (issue #7): `newsetl run` as a subprocess, SIGKILLed at random points while it
lands, many times. After every kill news.duckdb opens read-only and holds either the whole
previous state or the whole new batch (every article with its paragraphs), every *.parquet
file reads, temp files stay hidden; a stale writer.lock text never blocks the next run,
and the next run completes the batch (Parquet matching DuckDB, nothing lost or doubled).

NEWSETL_TEST_KILLS / NEWSETL_TEST_KILL_SEED change the number of kills and the seed."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.conftest import load_script

pytestmark = pytest.mark.usefixtures("prefect_server")


R = load_script("reliability")


def test_sigkill_during_landing_keeps_whole_batches(tmp_path, api_url):
    kills = int(os.environ.get("NEWSETL_TEST_KILLS", "4"))
    seed = int(os.environ.get("NEWSETL_TEST_KILL_SEED", "7"))
    ks = R.kill_loop(tmp_path, api_url, kills=kills, recover_every=kills,
                     n_old=10, n_new=15, batch_size=5, seed=seed, log=lambda *_: None)
    report = f"{ks}"
    assert ks.kills + ks.finished_before_kill == kills, report
    assert ks.kills >= max(1, kills // 2), report  # most runs really were killed mid-way
    assert ks.db_unreadable == 0, report
    assert ks.other_state == 0, report  # whole previous state or whole new batch, nothing else
    assert ks.old_state + ks.new_state == kills, report
    assert ks.articles_without_paragraphs == 0, report
    assert ks.bad_parquet == 0, report
    assert ks.blocked_next_runs == 0, report  # flock dies with the process
    assert ks.recovery_attempts >= 1 and ks.recoveries == ks.recovery_attempts, report
    assert ks.articles_lost == 0 and ks.articles_duplicated == 0, report


def test_sigkill_at_every_landing_step_leaves_a_whole_state_and_the_next_run_repairs(tmp_path, api_url):
    """The writer kills itself once at each step of newsetl.warehouse.STEPS: before the
    journal a reader sees the whole previous state, from the catalog swap on the whole new
    one; the next run finishes or discards what was left and lands everything once."""
    from newsetl.warehouse import STEPS

    ks = R.kill_loop(tmp_path, api_url, kills=len(STEPS), recover_every=len(STEPS),
                     n_old=6, n_new=6, batch_size=4, steps=STEPS, log=lambda *_: None)
    report = f"{ks}"
    assert ks.kills == len(STEPS) and set(ks.per_step) == set(STEPS), report
    assert all(v["kills"] == 1 for v in ks.per_step.values()), report
    assert ks.other_state == 0 and ks.db_unreadable == 0 and ks.bad_parquet == 0, report
    before_swap = STEPS[:STEPS.index("catalog")]
    assert all(ks.per_step[s]["old"] == 1 for s in before_swap), report
    assert ks.per_step["catalog"]["new"] == 1 and ks.per_step["unlink"]["new"] == 1, report
    assert ks.recoveries == ks.recovery_attempts >= 1, report
    assert ks.articles_lost == 0 and ks.articles_duplicated == 0, report


def test_stale_lock_text_and_leftover_staging_do_not_block(tmp_path, api_url):
    """What a SIGKILL leaves behind (holder text in writer.lock, a half-written staging
    database and its WAL) must not stop or poison the next run."""
    src = tmp_path / "in"
    R.write_corpus(src / "a.jsonl", 0, 3)
    wh = tmp_path / "wh"
    state = wh / "state"
    state.mkdir(parents=True)
    (state / "writer.lock").write_text("pid 999999 since 2026-01-01 00:00:00Z")
    (state / "catalog.staging.duckdb").write_bytes(b"half a database" * 100)
    (state / "catalog.staging.duckdb.wal").write_bytes(b"junk")
    (state / "run-19700101T000000-dead00").mkdir()  # a killed run's scratch
    r = R.run_to_end([str(src)], R.cli_env(wh, api_url, tmp_path / "sh"))
    assert r.returncode == 0, r.stderr[-2000:]
    st = R.inspect_warehouse(wh)
    assert st.opens and st.articles == 3 and st.parquet_articles == 3 and not st.bad_parquet, st
    assert not (state / "catalog.staging.duckdb").exists()
    assert not list(state.glob("run-*"))


def test_a_data_file_is_written_outside_the_data_files_then_moved(tmp_path, settings, monkeypatch):
    """A run dying while it writes a data file (here: the first move fails) leaves no
    partial file among the data files: they are written in the run's scratch folder and
    renamed into place whole."""
    from pathlib import Path

    import pyarrow.parquet as pq

    from newsetl.flows.pipeline import run_flow
    from newsetl.warehouse import Writer

    seen = []

    def dies_on_move(self, rel):
        staged = self.run_dir / "out" / rel
        seen.append((staged, staged.is_relative_to(self.files_root)))
        pq.read_table(staged)  # written whole before it moves
        raise OSError("killed while placing a file")

    monkeypatch.setattr(Writer, "_place", dies_on_move)
    s = settings.with_(warehouse=tmp_path / "wh")
    sample = Path(__file__).resolve().parents[1] / "data" / "sample"
    with pytest.raises(OSError, match="placing"):
        run_flow(sources=[str(sample)], settings=s)
    assert seen and not seen[0][1]
    assert not [f for f in (s.warehouse / "parquet").rglob("*.parquet")]


def test_a_page_that_kills_the_run_twice_is_rejected_and_the_rest_lands(tmp_path, api_url):
    """A batch of one chunk of HTML is extracted in the run's own process, where a crash on a
    page kills the run. The next run counts that death from the journal the dead run left
    (newsetl.pagecrash); after two, the page is a reject and the rest of its batch lands."""
    import json

    import duckdb

    from newsetl.pagecrash import CRASH_LIMIT, CRASHED_REASON
    from newsetl.process import page_key
    from newsetl.sources.files import iter_file
    from tests.crash_hook import crash_on_mark as hook

    src = tmp_path / "pages"
    src.mkdir()
    body = "<p>{} council members met on Tuesday to agree the budget for the coming year, officials said.</p>"
    for i in range(3):
        mark = hook.MARK if i == 1 else ""
        (src / f"p{i}.html").write_text(
            f"<html><head><title>Budget story {i}</title></head><body><article><h1>Budget story {i}</h1>"
            + "".join(body.format(n) for n in ("Nine", "Ten", "Eleven", f"{i + 12}")) + f"</article>{mark}</body></html>",
            encoding="utf-8")
    wh = tmp_path / "wh"
    env = R.cli_env(wh, api_url, tmp_path / "sh", PYTHONPATH=str(Path(hook.__file__).parent))
    state = wh / "state"
    key = page_key(next(iter_file(src / "p1.html", str(src))))

    for death in range(1, CRASH_LIMIT + 1):
        r = R.run_to_end([str(src)], env)
        assert r.returncode == -signal.SIGSEGV, (r.returncode, r.stderr[-2000:])
        assert (state / "extracting").read_text().strip() == str(key)  # the page it died on
        counts = json.loads((state / "crashed-pages.json").read_text()) if death > 1 else {}
        assert counts == ({str(key): death - 1} if death > 1 else {})

    r = R.run_to_end([str(src)], env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((state / "crashed-pages.json").read_text()) == {str(key): CRASH_LIMIT}
    assert not (state / "extracting").exists()
    con = duckdb.connect(str(wh / "news.duckdb"), read_only=True)
    try:
        assert con.execute("select input_ref, reason from rejects").fetchall() == [(str(src / "p1.html"), CRASHED_REASON)]
        assert sorted(x for (x,) in con.execute("select input_ref from articles").fetchall()) == [
            str(src / "p0.html"), str(src / "p2.html")]
    finally:
        con.close()
