"""newsetl.export: the Hive Parquet tree, read back by DuckDB, Polars and pyarrow."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_surface import D1, D2, ROWS, build_warehouse, write_db  # noqa: E402

from newsetl import export  # noqa: E402
from newsetl.schema import PARTITIONED_TABLES, TABLES, columns  # noqa: E402

COUNTS = {t: len(ROWS.get(t, [])) for t in TABLES}


@pytest.fixture
def exported(tmp_path):
    settings = build_warehouse(tmp_path)
    manifest = export.export_all(settings)
    return settings, manifest


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_tree_layout(exported):
    settings, _ = exported
    files = _files(settings.parquet_dir)
    assert "articles/published_date=2026-11-01/part-0.parquet" in files
    assert "articles/published_date=2026-11-02/part-0.parquet" in files
    assert "articles/published_date=__HIVE_DEFAULT_PARTITION__/part-0.parquet" in files
    assert "sentences/published_date=2026-11-01/part-0.parquet" in files
    assert not any(f.startswith("sentences/published_date=2026-11-02") for f in files)  # no rows that day
    for t in TABLES:
        assert f"_tables/{t}.parquet" in files
    assert "manifest.json" in files
    assert not [f for f in files if f.endswith(".tmp") or "/." in f], "temporary files left behind"
    # partition files leave the partition column to the directory name
    f = settings.parquet_dir / "articles/published_date=2026-11-01/part-0.parquet"
    assert "published_date" not in pq.read_schema(f).names


@pytest.mark.parametrize("table", PARTITIONED_TABLES)
def test_duckdb_reads_the_tree(exported, table):
    settings, _ = exported
    glob = (settings.parquet_dir / table / "*" / "*.parquet").as_posix()
    con = duckdb.connect()
    got = con.execute(
        f"select published_date, count(*) from read_parquet('{glob}', hive_partitioning=true) "
        "group by all order by 1 nulls last"
    ).fetchall()
    want = duckdb.connect(str(settings.db_path), read_only=True).execute(
        f"select published_date, count(*) from {table} group by all order by 1 nulls last"
    ).fetchall()
    assert got == want
    cols = [r[0] for r in con.execute(f"describe select * from read_parquet('{glob}', hive_partitioning=true)").fetchall()]
    assert set(cols) == set(columns(table))


def test_polars_reads_the_tree(exported):
    settings, _ = exported
    df = pl.scan_parquet(settings.parquet_dir / "articles", hive_partitioning=True).collect()
    assert df.schema["published_date"] == pl.Date
    got = dict(zip(df["article_id"].to_list(), df["published_date"].to_list()))
    assert got == {"a1": D1, "a2": D1, "a3": D2, "a4": D2, "a5": None}
    m = pl.scan_parquet(settings.parquet_dir / "entity_mentions", hive_partitioning=True).collect()
    assert m.height == COUNTS["entity_mentions"]


def test_pyarrow_reads_the_tree(exported):
    settings, _ = exported
    t = ds.dataset(settings.parquet_dir / "articles", format="parquet", partitioning="hive").to_table()
    got = dict(zip(t["article_id"].to_pylist(), t["published_date"].to_pylist()))
    assert got == {"a1": "2026-11-01", "a2": "2026-11-01", "a3": "2026-11-02", "a4": "2026-11-02", "a5": None}
    typed = ds.partitioning(pa.schema([("published_date", pa.date32())]), flavor="hive")
    t = ds.dataset(settings.parquet_dir / "quotes", format="parquet", partitioning=typed).to_table()
    assert t.num_rows == COUNTS["quotes"]
    assert sorted(set(t["published_date"].to_pylist())) == [D1, D2]


def test_whole_table_files_match_the_database(exported):
    settings, _ = exported
    for t in TABLES:
        table = pq.read_table(settings.parquet_dir / "_tables" / f"{t}.parquet")
        assert table.num_rows == COUNTS[t], t
        assert table.column_names == columns(t)


def test_manifest(exported):
    settings, manifest = exported
    on_disk = json.loads((settings.parquet_dir / "manifest.json").read_text())
    assert on_disk["tables"] == json.loads(json.dumps(manifest["tables"], default=str))
    arts = on_disk["tables"]["articles"]
    assert arts["rows"] == 5
    assert [p["published_date"] for p in arts["partitions"]] == ["2026-11-01", "2026-11-02", None]
    assert [p["rows"] for p in arts["partitions"]] == [2, 2, 1]
    assert arts["bytes"] == sum(p["bytes"] for p in arts["partitions"]) > 0
    assert on_disk["tables"]["entities"] == {
        "partitioned": False, "rows": 3, "bytes": on_disk["tables"]["entities"]["file_bytes"],
        "file": "_tables/entities.parquet", "file_rows": 3, "file_bytes": on_disk["tables"]["entities"]["file_bytes"],
    }
    assert on_disk["last_run"]["run_id"] == "r1"


def test_reexport_rewrites_without_duplicates_and_removes_empty_partitions(exported):
    settings, _ = exported
    # second export of the same data: same rows, no appended copies
    export.export_all(settings)
    n = duckdb.sql(
        f"select count(*) from read_parquet('{settings.parquet_dir.as_posix()}/articles/*/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert n == [(5,)]
    # the data changes: every article of D2 goes away, the undated one gets a date
    rows = {k: [dict(r) for r in v] for k, v in ROWS.items()}
    for t in PARTITIONED_TABLES:
        rows[t] = [r for r in rows[t] if r["published_date"] != D2]
        for r in rows[t]:
            if r["published_date"] is None:
                r["published_date"] = D1
    settings.db_path.unlink()
    write_db(settings.db_path, rows)
    export.export_all(settings)
    parts = sorted(p.name for p in (settings.parquet_dir / "articles").iterdir())
    assert parts == ["published_date=2026-11-01"]
    assert pq.read_metadata(settings.parquet_dir / "articles" / parts[0] / "part-0.parquet").num_rows == 3


def test_export_partitions_for_given_dates_only(tmp_path):
    settings = build_warehouse(tmp_path)
    out = tmp_path / "tree"
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        written = export.export_partitions(con, out, ["articles", "quotes"], dates=[D1])
        assert written == {"articles": 1, "quotes": 1}
        assert sorted(p.name for p in (out / "articles").iterdir()) == ["published_date=2026-11-01"]
        # a stale partition for a day that has no rows is removed when that day is exported
        stale = out / "articles" / "published_date=2020-01-01"
        stale.mkdir()
        (stale / "part-0.parquet").write_bytes(b"old")
        export.export_partitions(con, out, ["articles"], dates=[date(2020, 1, 1), None])
        assert not stale.exists()
        assert (out / "articles" / "published_date=__HIVE_DEFAULT_PARTITION__" / "part-0.parquet").exists()
        with pytest.raises(ValueError, match="not partitioned"):
            export.export_partitions(con, out, ["entities"])
    finally:
        con.close()


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "x.parquet"
    export.write_parquet_atomic(pa.table({"a": [1]}), target)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(export.pq, "write_table", boom)
    with pytest.raises(OSError):
        export.write_parquet_atomic(pa.table({"a": [2]}), target)
    assert pq.read_table(target).column("a").to_pylist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["x.parquet"]


def test_export_command(tmp_path, capsys):
    settings = build_warehouse(tmp_path)
    out = tmp_path / "elsewhere"
    assert export.export_command(str(out), settings) == 0
    assert (out / "manifest.json").exists()
    assert "articles: 5 rows, 3 partitions, 3 files" in capsys.readouterr().out


def test_export_command_without_database(tmp_path, capsys):
    from newsetl.settings import Settings

    assert export.export_command(None, Settings(warehouse=tmp_path / "none")) == 1
    err = capsys.readouterr().err
    assert "no warehouse database" in err and len(err.strip().splitlines()) == 1


def test_export_partitions_accepts_iso_strings_and_blank_for_undated(tmp_path):
    settings = build_warehouse(tmp_path)
    out = tmp_path / "tree"
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        export.export_partitions(con, out, ["articles"], dates=["2026-11-02", ""])
    finally:
        con.close()
    assert sorted(p.name for p in (out / "articles").iterdir()) == [
        "published_date=2026-11-02", "published_date=__HIVE_DEFAULT_PARTITION__"]


def test_export_from_connection_whole_tables_subset(tmp_path):
    settings = build_warehouse(tmp_path)
    out = tmp_path / "tree"
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        manifest = export.export_from_connection(con, out, dates=[D1], whole_tables=["entities", "runs"])
    finally:
        con.close()
    assert sorted(p.name for p in (out / "_tables").iterdir()) == ["entities.parquet", "runs.parquet"]
    assert manifest["tables"]["articles"]["rows"] == 2  # only the D1 partition was written
    assert manifest["tables"]["runs"]["rows"] == 1


def _landed_counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def test_export_out_of_a_landed_warehouse_holds_every_table(sample_warehouse, tmp_path, capsys):
    """A warehouse the pipeline landed keeps its article tables as views over its Parquet
    store: `newsetl export --out DIR` writes them too (it once wrote only the catalog
    tables, and said "articles: 0 rows")."""
    from newsetl.settings import Settings

    want = _landed_counts(sample_warehouse / "news.duckdb")
    assert want["articles"] > 0 and want["entity_mentions"] > 0
    out = tmp_path / "download"
    assert export.export_command(str(out), Settings(warehouse=sample_warehouse)) == 0
    assert f"articles: {want['articles']} rows" in capsys.readouterr().out
    con = duckdb.connect()
    for table in PARTITIONED_TABLES:
        glob = (out / table / "*" / "*.parquet").as_posix()
        got = con.execute(f"select count(*) from read_parquet('{glob}', hive_partitioning=true)").fetchone()[0]
        assert got == want[table], table
    for table in ("entities", "rejects", "runs"):
        assert pq.read_metadata(out / "_tables" / f"{table}.parquet").num_rows == want[table]
    assert not (out / "_tables" / "articles.parquet").exists()  # the tree above holds it, once
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tables"]["articles"]["rows"] == want["articles"]
    # Readable by the other users of a shared machine, as the partition files are.
    for f in (out / "manifest.json", out / "_tables" / "entities.parquet"):
        assert f.stat().st_mode & 0o044 == 0o044, f


def test_export_out_into_the_warehouse_or_onto_a_file_is_refused(sample_warehouse, tmp_path, capsys):
    """A standalone tree written inside the warehouse nested its <table>/ folders in the live
    ones (the Hive tree then failed to read); an --out that is a file gave a raw errno."""
    import shutil

    from newsetl.settings import Settings

    wh = tmp_path / "wh"
    shutil.copytree(sample_warehouse, wh)
    before = sorted(p.relative_to(wh).as_posix() for p in wh.rglob("*"))
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    for out, words in ((wh / "parquet" / "articles", "is inside the warehouse"), (wh, "is inside the warehouse"),
                       (a_file, "is a file, not a folder")):
        assert export.export_command(str(out), Settings(warehouse=wh)) == 1
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1, err
    assert sorted(p.relative_to(wh).as_posix() for p in wh.rglob("*")) == before
    assert export.export_command(None, Settings(warehouse=wh)) == 0  # its own tree, as before
    assert f"wrote {(wh / 'parquet').resolve()}" in capsys.readouterr().out


def test_export_in_place_writes_the_catalog_tables_whole(sample_warehouse, tmp_path):
    import shutil

    from newsetl.settings import Settings

    wh = tmp_path / "wh"
    shutil.copytree(sample_warehouse, wh)
    want = _landed_counts(wh / "news.duckdb")
    export.export_all(Settings(warehouse=wh))
    tables = wh / "parquet" / "_tables"
    assert sorted(p.stem for p in tables.glob("*.parquet")) == sorted(["entities", "article_clusters", "rejects",
                                                                        "runs"])
    assert pq.read_metadata(tables / "entities.parquet").num_rows == want["entities"]
    assert _landed_counts(wh / "news.duckdb") == want
