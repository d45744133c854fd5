"""`newsetl repair`: a lost or corrupt catalog, a corrupt manifest, a torn Hive tree and an
interrupted commit each get a clear error or are brought back to one whole state."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def landed(settings, tmp_path, prefect_server):
    from newsetl.flows.pipeline import run_flow

    src = tmp_path / "src"
    shutil.copytree(ROOT / "data" / "sample", src)
    run_flow(sources=[str(src)], settings=settings)
    return settings


def counts(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"select count(*) from {t}").fetchall()[0][0]
                for t in ("articles", "paragraphs", "sentences", "entity_mentions", "quotes", "entities")}
    finally:
        con.close()


def hive_articles(settings) -> int:
    return duckdb.sql(f"select count(*) from read_parquet('{settings.parquet_dir}/articles/*/*.parquet', "
                      "hive_partitioning = true)").fetchall()[0][0]


def test_missing_catalog_is_a_clear_error_and_repair_rebuilds_it(landed, capsys):
    from newsetl.cli import main

    before = counts(landed.db_path)
    landed.db_path.unlink()
    assert main(["sql", "select count(*) from articles", "--warehouse", str(landed.warehouse)]) != 0
    assert "newsetl repair" in capsys.readouterr().err
    assert main(["repair", "--warehouse", str(landed.warehouse)]) == 0
    assert "rebuilt the catalog" in capsys.readouterr().out
    assert counts(landed.db_path) == before
    assert hive_articles(landed) == before["articles"]


def test_rebuilt_catalog_restores_run_history_from_the_last_export(landed, capsys):
    """`runs` and `rejects` live only in the catalog; the whole-table files of `newsetl export`
    hold them up to the export, and a rebuild takes them back from there (and says so)."""
    from newsetl.cli import main

    def history():
        con = duckdb.connect(str(landed.db_path), read_only=True)
        try:
            return [con.execute(f"select * from {t} order by all").fetchall() for t in ("runs", "rejects")]
        finally:
            con.close()

    before = history()
    assert len(before[0]) == 1 and before[1]  # the sample's one run, and its rejects
    assert main(["export", "--warehouse", str(landed.warehouse)]) == 0
    landed.db_path.unlink()
    capsys.readouterr()
    assert main(["repair", "--warehouse", str(landed.warehouse)]) == 0
    out = capsys.readouterr().out
    assert f"1 runs and {len(before[1])} rejects restored from the export of" in out, out
    assert history() == before
    # without an export there is nothing to restore: said, not guessed
    shutil.rmtree(landed.parquet_dir / "_tables")
    landed.db_path.unlink()
    assert main(["repair", "--warehouse", str(landed.warehouse)]) == 0
    assert "run history and rejects start empty (no whole-table export" in capsys.readouterr().out
    assert history() == [[], []]


def test_corrupt_catalog_is_set_aside_and_rebuilt(landed):
    from newsetl.warehouse import repair

    before = counts(landed.db_path)
    landed.db_path.write_bytes(b"not a database" * 100)
    done = repair(landed)
    assert any("rebuilt the catalog" in line for line in done)
    assert counts(landed.db_path) == before
    assert (landed.warehouse / "news.duckdb.damaged").exists()


def test_corrupt_manifest_and_torn_tree_are_repaired(landed):
    from newsetl.warehouse import repair

    (landed.parquet_dir / "manifest.json").write_text("{ torn", encoding="utf-8")
    one = next((landed.parquet_dir / "articles").glob("*/*.parquet"))
    one.unlink()  # a link lost from the Hive tree (the data file itself is kept under _files)
    stray = landed.parquet_dir / "articles" / "published_date=2001-01-01" / "part-stray.parquet"
    stray.parent.mkdir()
    shutil.copy(next((landed.parquet_dir / "quotes").glob("*/*.parquet")), stray)
    done = repair(landed)
    assert any("Hive tree: 1 link(s) added, 1 stray file(s) removed" in line for line in done)
    manifest = json.loads((landed.parquet_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["articles"]["rows"] == counts(landed.db_path)["articles"] == hive_articles(landed)
    assert not stray.exists() and one.exists()


def test_missing_data_file_is_reported_not_dropped(landed):
    from newsetl.warehouse import WarehouseDamaged, repair

    victim = next((landed.parquet_dir / "_files" / "sentences").glob("*/*.parquet"))
    victim.unlink()
    with pytest.raises(WarehouseDamaged, match="gone .*restore them"):
        repair(landed)


def test_interrupted_commit_is_finished_by_repair(landed, tmp_path, monkeypatch):
    """A run killed after its journal (the commit point): repair finishes it."""
    import subprocess
    import sys

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "a.txt").write_text("Harbour strike ends\n\nDock workers in Rotterdam returned to work on "
                                 "Tuesday after a two-week strike, the union said.\n", encoding="utf-8")
    env = {**__import__("os").environ, "NEWSETL_FAULT_AT": "journal", "NEWSETL_WORKERS": "1",
           "NEWSETL_WAREHOUSE": str(landed.warehouse)}
    from prefect.settings import PREFECT_API_URL

    env["PREFECT_API_URL"] = PREFECT_API_URL.value()
    before = counts(landed.db_path)["articles"]
    r = subprocess.run([sys.executable, "-m", "newsetl.cli", "run", str(extra)], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == -9, r.stderr[-1000:]
    assert (landed.state_dir / "journal.json").exists()
    assert counts(landed.db_path)["articles"] == before  # readers still see the old state
    from newsetl.warehouse import repair

    assert any("journal" in line for line in repair(landed))
    assert counts(landed.db_path)["articles"] == before + 1 == hive_articles(landed)


def test_repair_says_it_removed_a_killed_runs_scratch(landed):
    """It removed them and said "nothing to repair"."""
    from newsetl.warehouse import repair

    before = counts(landed.db_path)
    (landed.state_dir / "run-20261206T000000-abcdef" / "articles").mkdir(parents=True)
    (landed.state_dir / "catalog.staging.duckdb").write_bytes(b"half a copy")
    done = repair(landed)
    assert done == ["removed what a killed run left unfinished (catalog.staging.duckdb, run-20261206T000000-abcdef): "
                    "nothing of it had landed"]
    assert not list(landed.state_dir.glob("run-*")) and not (landed.state_dir / "catalog.staging.duckdb").exists()
    assert counts(landed.db_path) == before
    assert repair(landed) == ["nothing to repair"]
