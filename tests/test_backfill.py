"""`newsetl backfill`: reprocess from the warehouse's own text, same ids, readers unaffected."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
E2E = ROOT / "tests" / "fixtures" / "e2e"

TABLES = ("articles", "paragraphs", "sentences", "entity_mentions", "quotes")


def _snapshot(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "versions": dict(con.execute("select article_id, pipeline_version from articles").fetchall()),
            "hashes": dict(con.execute("select article_id, content_hash from articles").fetchall()),
            "paragraphs": con.execute(
                "select article_id, paragraph_index, text from paragraphs order by all").fetchall(),
            "counts": {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES},
            "dups": con.execute(
                "select count(*) - count(distinct article_id) from articles").fetchone()[0],
        }
    finally:
        con.close()


READER = textwrap.dedent("""
    import sys, time, duckdb, pathlib
    db, stop = sys.argv[1], pathlib.Path(sys.argv[2])
    ok = fail = 0
    con = duckdb.connect(db, read_only=True)   # held open across the backfill's rename
    while not stop.exists():
        try:
            con.execute("select count(*) from articles").fetchone()
            fresh = duckdb.connect(db, read_only=True)  # and new readers can always open it
            fresh.execute("select count(*) from paragraphs").fetchone()
            fresh.close()
            ok += 1
        except Exception as e:
            fail += 1
            print("reader error:", e, file=sys.stderr)
        time.sleep(0.05)
    print(ok, fail)
""")


@pytest.fixture
def landed(settings, prefect_server, tmp_path):
    from newsetl.flows.pipeline import run_flow

    src = tmp_path / "src"
    shutil.copytree(ROOT / "data" / "sample", src / "sample")
    for name in ("korea-talks.txt", "cp1252.txt", "feedlike.jsonl"):
        shutil.copy(E2E / name, src / name)
    summary = run_flow(sources=[str(src)], settings=settings)
    assert summary.status == "completed"
    assert summary.landed["articles"] >= 5
    return settings


def test_backfill_outdated_rebuilds_every_article_with_same_ids(landed, monkeypatch, tmp_path):
    import newsetl.flows.pipeline
    import newsetl.process
    import newsetl.settings
    from newsetl.flows.backfill import backfill

    settings = landed
    before = _snapshot(settings.db_path)
    assert set(before["versions"].values()) == {newsetl.settings.PIPELINE_VERSION}

    # Nothing is outdated yet: --outdated selects nothing.
    summary = backfill(settings, outdated=True)
    assert summary.articles_seen == 0

    new_version = "99.0.0"
    for mod in (newsetl.settings, newsetl.process, newsetl.flows.pipeline):
        monkeypatch.setattr(mod, "PIPELINE_VERSION", new_version)

    stop = tmp_path / "stop-reader"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(settings.db_path), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        summary = backfill(settings, outdated=True)
        time.sleep(0.5)
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=60)
    ok, fail = map(int, out.split())
    assert fail == 0, err
    assert ok > 0

    assert summary.status == "completed"
    assert summary.articles_seen == len(before["versions"])
    assert summary.articles_changed == len(before["versions"]) and summary.articles_new == 0
    assert summary.articles_reprocessed == 0  # an older pipeline version: really changed
    after = _snapshot(settings.db_path)
    assert set(after["versions"]) == set(before["versions"])  # same ids, none lost, none new
    assert set(after["versions"].values()) == {new_version}
    assert after["hashes"] == before["hashes"]  # exactly the same text was rebuilt
    assert after["paragraphs"] == before["paragraphs"]
    assert after["counts"]["articles"] == before["counts"]["articles"]
    assert after["dups"] == 0

    # Now nothing is outdated: a second --outdated backfill has nothing to do.
    again = backfill(settings, outdated=True)
    assert again.articles_seen == 0


def test_backfill_date_range_selects_only_that_range(landed):
    from newsetl.flows.backfill import backfill

    settings = landed
    con = duckdb.connect(str(settings.db_path), read_only=True)
    dates = sorted(d for (d,) in con.execute(
        "select distinct published_date from articles where published_date is not null").fetchall())
    expect = con.execute("select count(*) from articles where published_date = ?", [dates[0]]).fetchone()[0]
    con.close()
    assert dates, "fixture corpus has dated articles"
    day = dates[0].isoformat()
    summary = backfill(settings, since=day, until=day)
    assert summary.articles_seen == expect
    assert summary.articles_changed == expect
    # same text, same version: re-enriched, and the summary does not call them changed
    assert summary.articles_reprocessed == expect
    md = summary.markdown(settings)
    assert md.startswith("# newsetl backfill `") and f"0 changed, {expect} unchanged but re-enriched (forced)" in md


def test_backfill_all_rescores_every_article_with_a_changed_sentiment_model(landed, monkeypatch):
    """After NEWSETL_TARGET_SENTIMENT_MODEL changes, `backfill --all` re-enriches every article,
    undated ones too (a date range cannot select those), under the same ids: the mentions
    then carry the new model's scores."""
    from tests.conftest import run_cli

    settings = landed
    q = ("select m.article_id, m.paragraph_index, m.start_char, m.sentiment from entity_mentions m "
         "order by all")
    before, snap = _query(settings.db_path, q), _snapshot(settings.db_path)
    undated = _query(settings.db_path, "select count(*) from articles where published_date is null")[0][0]
    assert undated > 0, "fixture corpus has undated articles"
    assert run_cli("backfill", "--all", "--since", "2020-01-01", "--warehouse", str(settings.warehouse)) == 2
    monkeypatch.setenv("NEWSETL_TARGET_SENTIMENT_MODEL", "newsetl-tsc-minilm-routed")
    assert run_cli("backfill", "--all", "--workers", "1", "--warehouse", str(settings.warehouse)) == 0
    after = _snapshot(settings.db_path)
    assert set(after["hashes"]) == set(snap["hashes"]) and after["counts"] == snap["counts"]
    assert after["dups"] == 0
    rescored = _query(settings.db_path, q)
    assert [r[:3] for r in rescored] == [r[:3] for r in before]  # same mentions, same places
    changed = {r[0] for r, s in zip(before, rescored) if r[3] != s[3]}
    assert changed, "the routed model gives other scores to some mentions"
    dated = dict(_query(settings.db_path, "select article_id, published_date is not null from articles"))
    assert any(not dated[a] for a in changed)  # undated articles were re-scored too


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_backfill_cli_needs_a_selection(settings, capsys):
    from tests.conftest import run_cli

    assert run_cli("backfill", "--warehouse", str(settings.warehouse)) == 2


@pytest.mark.parametrize("argv,words", [
    (["--since", "2024-11-14", "--until", "2024-11-12"], "--since 2024-11-14 is after --until 2024-11-12"),
    (["--since", "2024-13-01"], "--since '2024-13-01' is not a date (YYYY-MM-DD)"),
    (["--until", "yesterday"], "--until 'yesterday' is not a date"),
])
def test_backfill_cli_refuses_dates_that_select_nothing(settings, capsys, argv, words):
    """A reversed range said "nothing to reprocess", exited 0 and added a run; a bad date
    said only "month must be in 1..12". Both are refused before any run starts."""
    from tests.conftest import run_cli

    assert run_cli("backfill", "--warehouse", str(settings.warehouse), *argv) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert not settings.db_path.exists()
