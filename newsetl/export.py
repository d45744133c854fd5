"""The Parquet download tree, rewritten from the database.

    parquet/
      <table>/published_date=YYYY-MM-DD/part-0.parquet    (PARTITIONED_TABLES)
      <table>/published_date=__HIVE_DEFAULT_PARTITION__/part-0.parquet   (no date)
      _tables/<table>.parquet                              (whole tables: see export_all)
      manifest.json                                        (tables, partitions, rows, bytes, last run)

Rules that make the tree safe to read while it is being written:
- every file is written to a temporary name in its own directory, then `os.replace`d,
  so a reader sees the old file or the new one, never half a file;
- a partition is always rewritten whole from the database (never appended), so
  re-exporting a day cannot duplicate rows;
- a partition with no rows left in the database is removed.
Partition files leave the `published_date` column out: the directory name carries it,
which is what DuckDB, Polars and pyarrow expect with hive partitioning. Directories
and files starting with `_` or `.` are skipped by those readers' hive discovery.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterable

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from newsetl.schema import CATALOG_TABLES, PARTITIONED_TABLES, TABLES
from newsetl.settings import Settings

PARTITION_COLUMN = "published_date"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
PART_FILE = "part-0.parquet"
TABLES_DIR = "_tables"
MANIFEST = "manifest.json"
# zstd: smaller than snappy at similar read speed; every reader named above supports it.
COMPRESSION = "zstd"


def partition_dir_name(day: date | None) -> str:
    return f"{PARTITION_COLUMN}={NULL_PARTITION if day is None else day.isoformat()}"


def _parse_partition(name: str) -> date | None | str:
    value = name.split("=", 1)[1]
    return None if value == NULL_PARTITION else date.fromisoformat(value)


def _as_day(d) -> date | None:
    """date, datetime, ISO string, or None/"" (the undated partition)."""
    if d is None or d == "" or d == NULL_PARTITION:
        return None
    if isinstance(d, datetime):
        return d.date()
    if isinstance(d, date):
        return d
    return date.fromisoformat(str(d))


def _temp_beside(path: Path) -> Path:
    """A fresh hidden name in `path`'s directory (readers' hive discovery skips it), for a
    file written there and then `os.replace`d onto `path`. Opened with open(), so the file
    gets the mode every other file of the tree gets (mkstemp's 0600 left `_tables/` and
    the manifest unreadable to the other users of a shared warehouse)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


def write_parquet_atomic(table: pa.Table, path: Path) -> int:
    """Write `table` to `path` via a temporary file in the same directory; returns bytes."""
    tmp = _temp_beside(path)
    try:
        with open(tmp, "xb") as f:
            pq.write_table(table, f, compression=COMPRESSION)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path.stat().st_size


def _write_json_atomic(data: dict, path: Path) -> None:
    tmp = _temp_beside(path)
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            json.dump(data, f, indent=2, default=str)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fetch(con, sql: str, params: list | None = None) -> pa.Table:
    return con.sql(sql, params=params or None).to_arrow_table()


def _existing_tables(con) -> set[str]:
    """The tables and views of the database. In a warehouse whose Parquet files are its
    store (newsetl/warehouse.py) the article tables are views over those files."""
    rows = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'main' and database_name = current_database() "
        "union all select view_name from duckdb_views() where schema_name = 'main' and not internal "
        "and database_name = current_database()"
    ).fetchall()
    return {r[0] for r in rows}


def _remove_partition(table_dir: Path, day: date | None) -> None:
    d = table_dir / partition_dir_name(day)
    if d.exists():
        shutil.rmtree(d)


def export_partitions(
    con: duckdb.DuckDBPyConnection,
    parquet_dir: Path,
    tables: Iterable[str] = PARTITIONED_TABLES,
    dates: Iterable[date | None] | None = None,
) -> dict[str, int]:
    """Rewrite the Hive partitions of `tables` from `con`; returns files written per table.

    dates=None: every partition of each table is rewritten, and partition directories
    with no rows in the database are removed. Otherwise only the given days (None is the
    undated partition); a listed day with no rows left has its directory removed.
    """
    parquet_dir = Path(parquet_dir)
    present = _existing_tables(con)
    written: dict[str, int] = {}
    wanted = None if dates is None else list(dict.fromkeys(_as_day(d) for d in dates))
    for table in tables:
        if table not in PARTITIONED_TABLES:
            raise ValueError(f"{table} is not partitioned by {PARTITION_COLUMN}")
        table_dir = parquet_dir / table
        written[table] = 0
        if table not in present:
            continue
        if wanted is None:
            days = [r[0] for r in con.execute(f"select distinct {PARTITION_COLUMN} from {table}").fetchall()]
            keep = {partition_dir_name(d) for d in days}
            if table_dir.exists():
                for sub in table_dir.iterdir():
                    if sub.is_dir() and sub.name.startswith(f"{PARTITION_COLUMN}=") and sub.name not in keep:
                        shutil.rmtree(sub)
        else:
            days = wanted
        for day in days:
            if day is None:
                where, params = f"{PARTITION_COLUMN} is null", []
            else:
                where, params = f"{PARTITION_COLUMN} = ?", [day]
            data = _fetch(con, f"select * exclude ({PARTITION_COLUMN}) from {table} where {where}", params)
            if data.num_rows == 0:
                _remove_partition(table_dir, day)
                continue
            write_parquet_atomic(data, table_dir / partition_dir_name(day) / PART_FILE)
            written[table] += 1
    return written


def export_tables(con, parquet_dir: Path, tables: Iterable[str] | None = None) -> dict[str, int]:
    """Whole-table files `_tables/<table>.parquet` (every table by default). Returns rows."""
    parquet_dir = Path(parquet_dir)
    present = _existing_tables(con)
    rows = {}
    for table in TABLES if tables is None else tables:
        if table not in present:
            continue
        data = _fetch(con, f"select * from {table}")
        write_parquet_atomic(data, parquet_dir / TABLES_DIR / f"{table}.parquet")
        rows[table] = data.num_rows
    return rows


def build_manifest(parquet_dir: Path, con=None) -> dict:
    """Describe the tree as it is on disk (so it is right after partial exports too)."""
    parquet_dir = Path(parquet_dir)
    tables: dict[str, dict] = {}
    for table in TABLES:
        entry: dict = {"partitioned": table in PARTITIONED_TABLES, "rows": None, "bytes": 0}
        table_dir = parquet_dir / table
        if table in PARTITIONED_TABLES:
            parts = []
            if table_dir.exists():
                for sub in sorted(table_dir.iterdir()):
                    f = sub / PART_FILE
                    if not (sub.is_dir() and sub.name.startswith(f"{PARTITION_COLUMN}=") and f.exists()):
                        continue
                    day = _parse_partition(sub.name)
                    parts.append(
                        {
                            PARTITION_COLUMN: None if day is None else day.isoformat(),
                            "path": f.relative_to(parquet_dir).as_posix(),
                            "rows": pq.read_metadata(f).num_rows,
                            "bytes": f.stat().st_size,
                        }
                    )
            entry["partitions"] = parts
            entry["rows"] = sum(p["rows"] for p in parts)
            entry["bytes"] = sum(p["bytes"] for p in parts)
            entry["path"] = f"{table}/"
        whole = parquet_dir / TABLES_DIR / f"{table}.parquet"
        if whole.exists():
            entry["file"] = whole.relative_to(parquet_dir).as_posix()
            entry["file_rows"] = pq.read_metadata(whole).num_rows
            entry["file_bytes"] = whole.stat().st_size
            if entry["rows"] is None:
                entry["rows"] = entry["file_rows"]
                entry["bytes"] = entry["file_bytes"]
        tables[table] = entry
    last_run = None
    if con is not None and "runs" in _existing_tables(con):
        rec = _fetch(
            con,
            "select * from runs order by coalesce(finished_at, started_at) desc nulls last limit 1",
        ).to_pylist()
        last_run = rec[0] if rec else None
    return {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "layout": f"<table>/{PARTITION_COLUMN}=YYYY-MM-DD/{PART_FILE}; whole tables in {TABLES_DIR}/",
        "null_partition": NULL_PARTITION,
        "tables": tables,
        "last_run": last_run,
    }


def write_manifest(parquet_dir: Path, con=None) -> dict:
    manifest = build_manifest(parquet_dir, con)
    _write_json_atomic(manifest, Path(parquet_dir) / MANIFEST)
    return manifest


def export_from_connection(
    con,
    parquet_dir: Path,
    dates: Iterable[date | None] | None = None,
    whole_tables: Iterable[str] | None = None,
) -> dict:
    """Everything the writer needs after landing: partitions (all, or only `dates`),
    whole-table files (every table, or only `whole_tables`: an incremental run may pass
    ("entities", "rejects", "runs") to skip rewriting the big per-article tables), and
    the manifest. Returns the manifest."""
    export_partitions(con, parquet_dir, PARTITIONED_TABLES, dates)
    export_tables(con, parquet_dir, whole_tables)
    return write_manifest(parquet_dir, con)


class ExportRefused(ValueError):
    """An --out that the export must not write to (one line for the user)."""


def export_all(settings: Settings, out_dir: str | Path | None = None) -> dict:
    """`newsetl export`. Returns the manifest.

    Into the warehouse's own tree (no --out) of a warehouse whose Parquet files are its
    store (newsetl/warehouse.py): every run keeps `<table>/published_date=.../` up to date,
    so this writes what runs do not, the whole-table files `_tables/<table>.parquet` of
    the catalog tables (entities, article_clusters, rejects, runs), and the manifest.
    Anywhere else (or for a warehouse that keeps its tables inside news.duckdb): a complete
    standalone tree, one `part-0.parquet` per partition of the article tables, and the same
    whole-table files (every table, for a news.duckdb warehouse)."""
    from newsetl.query import connect_read_only
    from newsetl.warehouse import build_manifest

    out = Path(out_dir) if out_dir is not None else settings.parquet_dir
    in_place = out.resolve() == Path(settings.parquet_dir).resolve()
    warehouse = Path(settings.warehouse).resolve()
    if not in_place and (out.resolve() == warehouse or warehouse in out.resolve().parents):
        # a standalone tree inside the warehouse nests its own <table>/ folders in the live
        # ones, and the Hive tree can no longer be read (a repair removes them as strays)
        raise ExportRefused(f"--out {out} is inside the warehouse {warehouse}: export to a folder outside "
                            "it, or give no --out to update the warehouse's own tree")
    if out.exists() and not out.is_dir():
        raise ExportRefused(f"--out {out} is a file, not a folder")
    # pyarrow writes the files; DuckDB only reads, through the same locked, read-only
    # connection as the analysts' queries.
    con = connect_read_only(settings)
    try:
        parquet_store = "_files" in _existing_tables(con)
        if in_place and parquet_store:
            rows = export_tables(con, out, CATALOG_TABLES)
            manifest = build_manifest(con, out)
            for table, n in rows.items():
                f = out / TABLES_DIR / f"{table}.parquet"
                entry = manifest["tables"].setdefault(table, {"partitioned": False, "rows": n})
                entry.update(file=f.relative_to(out).as_posix(), file_rows=n, file_bytes=f.stat().st_size)
            _write_json_atomic(manifest, out / MANIFEST)
            return manifest
        return export_from_connection(con, out, whole_tables=CATALOG_TABLES if parquet_store else None)
    finally:
        con.close()


def export_command(out_dir: str | None = None, settings: Settings | None = None) -> int:
    """`newsetl export [--out DIR]`: exit 0 on success, 1 with one line on stderr if not."""
    from newsetl.query import QueryFailed

    settings = settings or Settings.from_env()
    try:
        manifest = export_all(settings, out_dir)
    except (QueryFailed, ExportRefused, OSError, duckdb.Error) as e:
        print(f"newsetl export: error: {str(e).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    out = (Path(out_dir) if out_dir else settings.parquet_dir).resolve()
    for name, t in manifest["tables"].items():
        parts = t.get("partitions")  # the live tree's manifest lists files, several per day
        extra = (f", {len({p.get(PARTITION_COLUMN) for p in parts})} partitions, {len(parts)} files"
                 if parts is not None else "")
        print(f"{name}: {t['rows'] or 0} rows{extra}")
    print(f"wrote {out}")
    return 0
