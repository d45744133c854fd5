"""Landing into DuckDB and the Parquet tree.

The writer never opens `news.duckdb` for writing in place. A run copies it to a staging
file, lands each batch there in one transaction, and at the end renames the staging file
over `news.duckdb` (atomic on POSIX). So:
- readers (`newsetl sql`, `newsetl serve`, an analyst's own duckdb) open `news.duckdb`
  read-only at any time, also during a load, and always see whole runs;
- a run killed at any point leaves `news.duckdb` as it was; the next run starts over.
One writer at a time is enforced by an advisory lock on `state/writer.lock`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from newsetl import schema
from newsetl.records import Reject
from newsetl.settings import Settings


class WarehouseBusy(RuntimeError):
    pass


def query_pl(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> pl.DataFrame:
    """A query's result as a Polars frame (DuckDB 2.x: through an Arrow table)."""
    return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())


def duckdb_config(settings: Settings) -> dict:
    ext = settings.state_dir / "duckdb_extensions"
    ext.mkdir(parents=True, exist_ok=True)
    return {"extension_directory": str(ext), "autoinstall_known_extensions": False,
            "autoload_known_extensions": True}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for table in schema.TABLES:
        con.execute(schema.ddl(table))
        have = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_name = ?", [table]).fetchall()}
        for name, typ in schema.TABLES[table]:
            if name not in have:  # additive migration: new columns appear as null
                con.execute(f"alter table {table} add column {name} {typ}")


@contextmanager
def writer_lock(settings: Settings, wait_seconds: float = 0.0):
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    path = settings.state_dir / "writer.lock"
    fh = open(path, "a+")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                fh.close()
                raise WarehouseBusy(
                    f"another newsetl run is writing to {settings.warehouse} ({holder}); "
                    "wait for it to finish or pass --wait SECONDS"
                ) from None
            time.sleep(0.5)
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} since {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%SZ}")
    fh.flush()
    try:
        yield
    finally:
        fh.seek(0)
        fh.truncate()
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StagingWriter:
    """The writer's side of one run (use inside `writer_lock`)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        settings.warehouse.mkdir(parents=True, exist_ok=True)
        self.staging = settings.state_dir / "news.staging.duckdb"
        for leftover in (self.staging, Path(str(self.staging) + ".wal")):
            leftover.unlink(missing_ok=True)  # a killed run's half-written staging file
        if settings.db_path.exists():
            shutil.copyfile(settings.db_path, self.staging)
        self.con = duckdb.connect(str(self.staging), config=duckdb_config(settings))
        ensure_schema(self.con)
        self.touched_dates: set = set()
        # Did any batch replace or add articles? If not, entities and duplicate clusters
        # (both derived from all articles) cannot have changed and are not rebuilt.
        self.changed = False

    # ---- reads the flow needs
    def known_hashes(self) -> dict[str, tuple[str, str]]:
        rows = self.con.execute("select article_id, content_hash, pipeline_version from articles").fetchall()
        return {a: (h, v) for a, h, v in rows}

    def paragraphs_for_sources(self, sources: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
        src = pl.DataFrame({"source": sources}, schema={"source": pl.String})
        self.con.register("_src", src.to_arrow())
        arts = query_pl(self.con, "select article_id, source, title from articles where source in (select source from _src)")
        paras = query_pl(
            self.con,
            "select p.article_id, p.paragraph_index, p.text from paragraphs p "
            "join articles a using (article_id) where a.source in (select source from _src)",
        )
        self.con.unregister("_src")
        return paras, arts

    # ---- one batch, one transaction
    def land(self, frames: dict[str, pl.DataFrame], rejects: list[Reject], run_id: str,
             whole_file_refs: list[str] = ()) -> dict[str, int]:
        con = self.con
        articles = frames.get("articles", schema.empty("articles")).with_columns(pl.lit(run_id).alias("run_id"))
        counts: dict[str, int] = {}
        con.begin()
        try:
            # Articles to replace: the batch's own ids, plus older versions of whole files
            # with no URL (their id is a content hash, so an edited file has a new id).
            ids = articles.select("article_id")
            if whole_file_refs:
                con.register("b_wf", pl.DataFrame({"input_ref": list(whole_file_refs)}).to_arrow())
                old = query_pl(
                    con, "select article_id from articles where url is null and input_ref in (select input_ref from b_wf)"
                )
                con.unregister("b_wf")
                ids = pl.concat([ids, old.cast({"article_id": pl.String})]).unique()
            con.register("b_ids", ids.to_arrow())
            # Partitions the replaced versions lived in must be re-exported too.
            self.touched_dates.update(
                r[0] for r in con.execute(
                    "select distinct published_date from articles where article_id in (select article_id from b_ids)"
                ).fetchall()
            )
            for table in schema.ARTICLE_CHILD_TABLES + ("articles",):
                con.execute(f"delete from {table} where article_id in (select article_id from b_ids)")
            for table in ("articles",) + schema.ARTICLE_CHILD_TABLES:
                df = articles if table == "articles" else frames.get(table, schema.empty(table))
                df = schema.conform(df, table)
                con.register("b_rows", df.to_arrow())
                con.execute(f"insert into {table} select * from b_rows")
                con.unregister("b_rows")
                counts[table] = df.height
            con.unregister("b_ids")
            # An input that lands now is no longer a reject.
            con.register("b_refs", articles.select("input_ref").to_arrow())
            con.execute("delete from rejects where input_ref in (select input_ref from b_refs)")
            con.unregister("b_refs")
            counts["rejects"] = self._land_rejects(rejects, run_id)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        self.touched_dates.update(articles["published_date"].to_list())
        self.changed = self.changed or ids.height > 0
        return counts

    def _land_rejects(self, rejects: list[Reject], run_id: str) -> int:
        if not rejects:
            return 0
        now = datetime.now(timezone.utc)
        df = pl.DataFrame(
            {"source": [r.source for r in rejects], "input_ref": [r.input_ref for r in rejects],
             "reason": [r.reason for r in rejects], "run_id": run_id, "rejected_at": now},
        ).unique(subset=["input_ref", "reason"], keep="last", maintain_order=True)
        df = schema.conform(df, "rejects")
        self.con.register("b_rej", df.to_arrow())
        # Same input, same reason: one row, refreshed (re-runs never pile up rejects).
        self.con.execute("delete from rejects where (input_ref, reason) in (select (input_ref, reason) from b_rej)")
        self.con.execute("insert into rejects select * from b_rej")
        self.con.unregister("b_rej")
        return df.height

    def rebuild_entities(self) -> int:
        from newsetl.transforms.entities import build_entities

        mentions = query_pl(self.con,
            "select article_id, entity_id, entity_name, text, label from entity_mentions where entity_id is not null"
        )
        ents = schema.conform(build_entities(mentions), "entities")
        self.con.begin()
        self.con.execute("delete from entities")
        self.con.register("b_ent", ents.to_arrow())
        self.con.execute("insert into entities select * from b_ent")
        self.con.unregister("b_ent")
        self.con.commit()
        return ents.height

    def rebuild_duplicates(self) -> int:
        """Exact and near-duplicate clusters over every article (transforms/dedup.py);
        partitions whose rows changed cluster are re-exported. Returns changed rows."""
        from newsetl.transforms.dedup import cluster_duplicates

        arts = query_pl(self.con, "select article_id, text, published_at, source, duplicate_of, cluster_id, "
                                  "published_date from articles")
        if arts.height == 0:
            return 0
        new = cluster_duplicates(arts.select("article_id", "text", "published_at", "source"))
        changed = arts.select("article_id", "duplicate_of", "cluster_id", "published_date").join(
            new, on="article_id", suffix="_new"
        ).filter(
            pl.col("duplicate_of").ne_missing(pl.col("duplicate_of_new"))
            | pl.col("cluster_id").ne_missing(pl.col("cluster_id_new"))
        )
        if changed.height == 0:
            return 0
        self.con.begin()
        self.con.register("b_dup", changed.select("article_id", "duplicate_of_new", "cluster_id_new").to_arrow())
        self.con.execute(
            "update articles set duplicate_of = b.duplicate_of_new, cluster_id = b.cluster_id_new "
            "from b_dup b where articles.article_id = b.article_id"
        )
        self.con.unregister("b_dup")
        self.con.commit()
        self.touched_dates.update(changed["published_date"].to_list())
        return changed.height

    def record_run(self, row: dict) -> None:
        df = schema.conform(pl.DataFrame([row], infer_schema_length=None, strict=False), "runs")
        self.con.register("b_run", df.to_arrow())
        self.con.execute("delete from runs where run_id in (select run_id from b_run)")
        self.con.execute("insert into runs select * from b_run")
        self.con.unregister("b_run")

    def table_counts(self) -> dict[str, int]:
        return {t: self.con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in schema.TABLES}

    def publish(self) -> None:
        """Make the run visible: checkpoint, close, fsync, rename over news.duckdb."""
        try:
            from newsetl.sqlfiles import create_views

            create_views(self.con)
        except ImportError:
            pass
        self.con.execute("checkpoint")
        self.con.close()
        fd = os.open(self.staging, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.staging, self.settings.db_path)
        _fsync_dir(self.settings.warehouse)

    def abort(self) -> None:
        try:
            self.con.close()
        finally:
            self.staging.unlink(missing_ok=True)


EXPORT_PENDING = "export-pending.json"


def mark_export_pending(settings: Settings, dates: set) -> None:
    path = settings.state_dir / EXPORT_PENDING
    old = json.loads(path.read_text()) if path.exists() else {"dates": [], "all": False}
    old["dates"] = sorted({*old["dates"], *(str(d) if d else "" for d in dates)})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(old))
    os.replace(tmp, path)


def export_pending(settings: Settings) -> dict | None:
    path = settings.state_dir / EXPORT_PENDING
    return json.loads(path.read_text()) if path.exists() else None


def clear_export_pending(settings: Settings) -> None:
    (settings.state_dir / EXPORT_PENDING).unlink(missing_ok=True)
