"""Landing: Parquet files are the source of truth, `news.duckdb` a small catalog over them.

    <warehouse>/
      news.duckdb                 the catalog: views over the live Parquet files of each
                                  article table, plus the small tables (entities,
                                  article_clusters, rejects, runs), `_files`, the list of
                                  every data file with its table, partition, rows, run,
                                  retirement time and schema id, and the writer's lookup
                                  tables `_article_index` and `_entity_counts`. Replaced by
                                  an atomic rename once per run.
      parquet/
        _files/<table>/published_date=D/part-<run>-<i>.parquet
                                  every data file, written once, never changed
        <table>/published_date=D/part-<run>-<i>.parquet
                                  hard link of each live file: the Hive download tree
        _files/_evidence/, _files/_dedup_keys/
                                  append-only internal tables (boilerplate evidence counts,
                                  duplicate-detection keys), read by the writer only
        manifest.json             the live files per table (same content as `_files`)
      state/                      writer.lock, journal.json, the staging catalog, run scratch

Why this shape (see docs/ARCHITECTURE.md for the trade-offs): a run writes only new files
(its own rows, plus copies of the few files that held articles it replaces, plus small
compactions) and a new catalog that is a copy of a small file, so its cost follows the
batch, not the warehouse. Readers open the catalog read-only and never block the writer:
the rename swaps in a new catalog, an open connection keeps the old one and its files,
which stay on disk `snapshot_retention_seconds` after they are retired. The Hive tree
holds exactly the live files once a run has finished (links added before the catalog
swap, retired links removed after it).

Crash safety. Everything before the journal is written is invisible scratch: a killed
run leaves the previous state whole, and the next writer (or `newsetl repair`) deletes
the scratch and any data file no catalog lists. Writing `state/journal.json` is the
commit point: it names the finished staging catalog, the links to add and to remove; the
next writer or `newsetl repair` finishes an interrupted journal (every step is idempotent).
One writer at a time: `writer_lock` (flock).
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import math
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

from newsetl import locks, schema
from newsetl.records import Reject
from newsetl.settings import Settings

FILES = "_files"
EVIDENCE = "_evidence"
DEDUP_KEYS = "_dedup_keys"
NER_CACHE = "_ner_cache"
PAGES_SEEN = "_pages_seen"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
PARTITION_COLUMN = "published_date"
MANIFEST = "manifest.json"
JOURNAL = "journal.json"
# Files under this size count as small for compaction: a partition whose small files reach
# `Settings.compact_min_files` is rewritten as one file. 64 MB keeps row groups full and
# each compaction cheap (a day of news is far below it at a million articles a year).
COMPACT_SMALL_BYTES = 64 << 20
# Internal append-only tables: this many files of one size tier are merged into one.
INTERNAL_COMPACT_FILES = 8
INTERNAL_TIER = 8
COMPRESSION = "zstd"

FILES_DDL = """create table if not exists _files (
  table_name varchar, published_date date, path varchar, rows bigint, bytes bigint,
  run_id varchar, created_at timestamptz, retired_at timestamptz)"""
# Small catalog tables that make a run's lookups cost what its batch costs:
# _article_index  one row per live article (what `known_for` and re-landing ask, and the
#                 partition each article lives in, so that its old rows are read from that
#                 partition's files only);
# _entity_counts  transforms.entities.entity_counts of every live mention, kept additive, so
#                 a run rebuilds an entity's row from its counts, not from all its mentions;
# _meta           key/value: which of the above are built, the analyst views' version.
INDEX_DDL = """create table if not exists _article_index (
  article_id varchar, content_hash varchar, pipeline_version varchar, published_date date,
  source varchar, input_ref varchar, has_url boolean)"""
COUNTS_DDL = """create table if not exists _entity_counts (
  entity_id varchar, text varchar, label varchar, entity_name varchar, mentions bigint, articles bigint)"""
META_DDL = "create table if not exists _meta (key varchar, value varchar)"
# Bumped when _article_index or _entity_counts change meaning: the writer rebuilds them once.
DERIVED_VERSION = "1"
# The columns entity counts are kept from (no positions: a minimum cannot be subtracted).
COUNT_COLUMNS = "article_id, entity_id, entity_name, text, label"
# The tables whose rows cross-article links change (entity ids, and the quotes' speakers).
LINKED_TABLES = ("entity_mentions", "quotes")
# An `_article_index` row from an `articles` row.
INDEX_SELECT = f"article_id, content_hash, pipeline_version, {PARTITION_COLUMN}, source, input_ref, url is not null"


# The landing steps, in order; `Settings.fault_at` names one to SIGKILL the writer there
# (scripts/reliability.py kills runs at every step and checks what each leaves).
STEPS = ("stage-batch", "write-files", "duplicates", "entities", "compact", "views", "journal",
         "links", "catalog", "unlink")


def _step(settings: Settings, name: str) -> None:
    """Fault injection for tests and scripts/reliability.py: `fault_at = "<step>"` SIGKILLs
    the writer at that step; `"<step>:hold"` makes it wait there while `state/hold` exists
    (at most 10 min), so a test can keep the writer lock held for as long as it needs."""
    if settings.fault_at == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    if settings.fault_at == f"{name}:hold":
        deadline = time.monotonic() + 600
        while (settings.state_dir / "hold").exists() and time.monotonic() < deadline:
            time.sleep(0.1)


class WarehouseBusy(RuntimeError):
    pass


class WarehouseDamaged(RuntimeError):
    """The catalog or its files are not usable as they are; `newsetl repair` fixes it."""


def query_pl(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> pl.DataFrame:
    """A query's result as a Polars frame (DuckDB 2.x: through an Arrow table)."""
    return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())


def duckdb_config(settings: Settings) -> dict:
    ext = settings.state_dir / "duckdb_extensions"
    ext.mkdir(parents=True, exist_ok=True)
    return {"extension_directory": str(ext), "autoinstall_known_extensions": False,
            "autoload_known_extensions": True}


def _lock_writer(settings: Settings, wait_seconds: float):
    """The writer lock's file, locked; WarehouseBusy once `wait_seconds` have passed."""
    fh, holder = locks.acquire(settings.state_dir / "writer.lock", wait_seconds)
    if fh is None:
        advice = (f"it was still writing after --wait {wait_seconds:g} s" if wait_seconds > 0
                  else "wait for it to finish or pass --wait SECONDS")
        raise WarehouseBusy(f"another newsetl run is writing to {settings.warehouse} ({holder}); {advice}")
    return fh


def check_writer_free(settings: Settings, wait_seconds: float = 0.0) -> None:
    """Raise WarehouseBusy now, before a flow starts, if another writer holds the warehouse
    past `wait_seconds` (inside the flow, Prefect logs the error with a traceback first)."""
    fh = _lock_writer(settings, wait_seconds)
    fcntl.flock(fh, fcntl.LOCK_UN)
    fh.close()


@contextmanager
def writer_lock(settings: Settings, wait_seconds: float = 0.0):
    with locks.holding(_lock_writer(settings, wait_seconds)):
        yield


# ---------------------------------------------------------------------------- helpers


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json_atomic(data, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        # one line: json.dumps without indent runs the C encoder (10x faster on 10k files)
        f.write(json.dumps(data, default=str))
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def partition_dir(day) -> str:
    return f"{PARTITION_COLUMN}={NULL_PARTITION if day is None else day.isoformat()}"


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def _evidence_hash(kind: str, source: str | None, key: str) -> int:
    """Stable 63-bit key of one evidence entry (Python's hash() is salted per process)."""
    d = hashlib.blake2b(f"{kind}\x1f{source}\x1f{key}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(d, "little") >> 1


def evidence_hashes(ev: pl.DataFrame) -> pl.Series:
    return pl.Series("h", [_evidence_hash(k, s, key) for k, s, key in ev.select("kind", "source", "key").iter_rows()],
                     dtype=pl.Int64)


def _empty_select(table: str) -> str:
    cols = ", ".join(f"cast(null as {typ}) as {name}" for name, typ in schema.TABLES[table])
    return f"select {cols} where false"


def scan_sql(paths: list[str], uniform: bool = False) -> str:
    """read_parquet over data files of one partitioned table (absolute paths), with the
    partition column from their directory names. Files written before a column was added
    need union_by_name, which reads every footer when bound (a second on 10k files), so
    `uniform` (every file has the same schema) leaves it out."""
    return (f"read_parquet({_sql_list(paths)}, hive_partitioning = true, "
            f"hive_types = {{'{PARTITION_COLUMN}': DATE}}{'' if uniform else ', union_by_name = true'})")


def parquet_view_sql(table: str, paths: list[str], uniform: bool = False) -> str:
    """The catalog view of a partitioned table over its live files (absolute paths)."""
    if not paths:
        return f"create or replace view {table} as {_empty_select(table)}"
    src = scan_sql(paths, uniform)
    typed = {name: typ for name, typ in schema.TABLES[table]}
    if table == "articles":
        # An article with no row in article_clusters is its own cluster; its id is the same
        # function of its article_id that transforms.dedup uses ("C" + 16 hex of md5).
        cols = []
        for name, _ in schema.TABLES[table]:
            if name == "duplicate_of":
                cols.append("c.duplicate_of")
            elif name == "cluster_id":
                cols.append("coalesce(c.cluster_id, 'C' || left(md5(a.article_id), 16)) as cluster_id")
            else:
                cols.append(f"cast(a.{name} as {typed[name]}) as {name}")
        return (f"create or replace view articles as select {', '.join(cols)} from {src} a "
                f"left join article_clusters c on c.article_id = a.article_id")
    cols = ", ".join(f"cast({name} as {typed[name]}) as {name}" for name, _ in schema.TABLES[table])
    return f"create or replace view {table} as select {cols} from {src}"


def ensure_files_table(con) -> None:
    con.execute(FILES_DDL)
    # the file's Arrow schema (hash): views skip union_by_name when every live file has one
    con.execute("alter table _files add column if not exists schema_id varchar")


def ensure_catalog(con: duckdb.DuckDBPyConnection) -> None:
    """Small tables and `_files` exist with every column of the schema (additive migration)."""
    ensure_files_table(con)
    for ddl in (INDEX_DDL, COUNTS_DDL, META_DDL):
        con.execute(ddl)
    for table in schema.CATALOG_TABLES:
        con.execute(schema.ddl(table))
        have = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_name = ?", [table]).fetchall()}
        for name, typ in schema.TABLES[table]:
            if name not in have:
                con.execute(f"alter table {table} add column {name} {typ}")
                if (table, name) == ("entities", "country_code"):
                    _fill_country_codes(con)


def _fill_country_codes(con) -> None:
    """`entities.country_code` for the rows of a catalog made before the column existed
    (each run sets it for the entities it touches): one update joined to the few hundred
    ids a country or a demonym can have, which are made from its ISO code."""
    from newsetl.transforms.entities import country_ids

    with registered(con, "_country_ids", country_ids()):
        con.execute("update entities set country_code = c.country_code from _country_ids c "
                    "where entities.entity_id = c.entity_id")


def file_schema_id(path: Path) -> tuple[int, str]:
    """(rows, schema id) of a Parquet data file, from its footer."""
    md = pq.read_metadata(path)
    cols = [f"{f.name}:{f.type}" for f in md.schema.to_arrow_schema()]  # names and types, not nullability
    return md.num_rows, hashlib.sha1("|".join(cols).encode()).hexdigest()[:16]


def stored_schema_key() -> str:
    """The columns and types of every article table's files, as one key (`_meta`)."""
    text = "|".join(f"{t}.{c}:{typ}" for t in schema.PARTITIONED_TABLES for c, typ in schema.TABLES[t]
                    if c in schema.stored_columns(t))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def register_file(con, table: str, day, rel: str, path: Path, run_id: str) -> None:
    rows, sid = file_schema_id(path)
    con.execute("insert into _files (table_name, published_date, path, rows, bytes, run_id, created_at, retired_at, "
                "schema_id) values (?, ?, ?, ?, ?, ?, now(), null, ?)", [table, day, rel, rows, path.stat().st_size,
                                                                         run_id, sid])


def uniform_schema(con, table: str) -> bool:
    """Every live file of `table` has the same known schema."""
    n, unknown = con.execute("select count(distinct schema_id), count(*) filter (where schema_id is null) "
                             "from _files where table_name = ? and retired_at is null", [table]).fetchall()[0]
    return n <= 1 and unknown == 0


def get_meta(con, key: str) -> str | None:
    rows = con.execute("select value from _meta where key = ?", [key]).fetchall()
    return rows[0][0] if rows else None


def set_meta(con, key: str, value: str) -> None:
    con.execute("delete from _meta where key = ?", [key])
    con.execute("insert into _meta values (?, ?)", [key, value])


@contextmanager
def registered(con, name: str, df: pl.DataFrame):
    """`df` visible to `con`'s queries as `name` for the block."""
    con.register(name, df.to_arrow())
    try:
        yield name
    finally:
        con.unregister(name)


def insert_counts(con, counts: pl.DataFrame) -> None:
    if counts.height:
        with registered(con, "_counts", counts.select("entity_id", "text", "label", "entity_name", "mentions",
                                                      "articles")):
            con.execute("insert into _entity_counts select * from _counts")


def stored_counts(con, touched: str | None = None) -> pl.DataFrame:
    """`_entity_counts` rows as transforms.entities.entity_counts gives them (positions null),
    all of them or those of the entity ids in the registered relation `touched`."""
    from newsetl.transforms.entities import ENTITY_COUNT_SCHEMA

    where = f" where entity_id in (select entity_id from {touched})" if touched else ""
    return query_pl(con, f"select *, cast(null as bigint) as first_pos from _entity_counts{where}"
                    ).cast(ENTITY_COUNT_SCHEMA)


def backfill_derived(con, files_root: Path) -> None:
    """_article_index and _entity_counts from the live files: once for a catalog from
    before they existed, and for a catalog rebuilt by `newsetl repair`. Mentions are read
    a slice of files at a time (an article's rows are all in one file, so the counts of the
    slices add up), which bounds memory on a warehouse of any size."""
    from newsetl.transforms.entities import entity_counts, sum_entity_counts

    con.execute("delete from _article_index")
    con.execute("delete from _entity_counts")
    arts = [str(files_root / r) for r in live_files(con, "articles")]
    if arts:
        con.execute(f"insert into _article_index select {INDEX_SELECT} from {scan_sql(arts)}")
    rels = live_files(con, "entity_mentions")
    parts = []
    for i in range(0, len(rels), 256):
        chunk = [str(files_root / r) for r in rels[i:i + 256]]
        parts.append(entity_counts(query_pl(con, f"select {COUNT_COLUMNS} from {scan_sql(chunk)}")))
    if parts:
        insert_counts(con, sum_entity_counts(pl.concat(parts)))
    set_meta(con, "derived", DERIVED_VERSION)


def live_files(con, table: str, dates=None) -> list[str]:
    """Relative paths (under parquet/_files) of a table's live files, optionally only some partitions."""
    rows = con.execute("select path, published_date from _files where table_name = ? and retired_at is null "
                       "order by path", [table]).fetchall()
    if dates is None:
        return [p for p, _ in rows]
    dates = set(dates)
    return [p for p, d in rows if d in dates]


# ---------------------------------------------------------------------------- the journal


def _apply_journal(settings: Settings, j: dict) -> None:
    """Finish a committed run: links in, catalog swapped, retired links out, manifest.
    Idempotent: a crash anywhere here is finished by running it again."""
    root = settings.parquet_dir
    for rel in j["link"]:
        src, dst = root / FILES / rel, root / rel
        if dst.exists() or not src.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.link(src, dst)
    _step(settings, "links")
    staging = Path(j["catalog"])
    if staging.exists():
        _fsync(staging)
        os.replace(staging, settings.db_path)
        _fsync(settings.warehouse)
    _step(settings, "catalog")
    for rel in j["unlink"]:
        p = root / rel
        p.unlink(missing_ok=True)
        try:
            p.parent.rmdir()  # an emptied partition directory goes too
        except OSError:
            pass
    _step(settings, "unlink")
    _write_json_atomic(j["manifest"], root / MANIFEST)
    (settings.state_dir / JOURNAL).unlink(missing_ok=True)


def recover(settings: Settings) -> bool:
    """What a writer does first (holding the lock): finish a committed run's journal and
    drop scratch of a killed one. Returns True when a journal was rolled forward."""
    path = settings.state_dir / JOURNAL
    rolled = False
    if path.exists():
        try:
            j = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            j = None  # torn before the rename: it was never written, nothing committed
        if j is not None:
            _apply_journal(settings, j)
            rolled = True
        path.unlink(missing_ok=True)
    for leftover in settings.state_dir.glob("run-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in settings.state_dir.glob("catalog.staging.duckdb*"):
        leftover.unlink(missing_ok=True)
    return rolled


# ---------------------------------------------------------------------------- the writer


class Writer:
    """The writer's side of one run (use inside `writer_lock`)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        settings.warehouse.mkdir(parents=True, exist_ok=True)
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.root = settings.parquet_dir
        self.files_root = self.root / FILES
        self.files_root.mkdir(parents=True, exist_ok=True)
        recover(settings)
        self.tag = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        self.run_dir = settings.state_dir / f"run-{self.tag}"
        self.run_dir.mkdir()
        self.staging = settings.state_dir / "catalog.staging.duckdb"
        if settings.db_path.exists():
            shutil.copyfile(settings.db_path, self.staging)
        try:
            self.con = duckdb.connect(str(self.staging), config=duckdb_config(settings))
        except duckdb.Error as exc:
            raise WarehouseDamaged(f"cannot open the catalog {settings.db_path}: {str(exc).splitlines()[0]}; "
                                   "run `newsetl repair`") from None
        self.migrated_files: list[str] = []  # files written at start-up, for the old rows
        self.migrated_retired: list[str] = []
        self._migrate_old_layout()
        ensure_catalog(self.con)
        self._delete_orphans()
        self._gc_retired()
        if get_meta(self.con, "derived") != DERIVED_VERSION:
            backfill_derived(self.con, self.files_root)
        self._fill_schema_ids()
        self._conform_files()
        # The snapshot as this run starts; views are (re)made only for a fresh or migrated
        # catalog here, and at commit only for the tables whose files changed.
        self.open_files = {t: live_files(self.con, t) for t in schema.PARTITIONED_TABLES}
        have = {r[0] for r in self.con.execute("select view_name from duckdb_views() where not internal").fetchall()}
        self._parquet_views([t for t in schema.PARTITIONED_TABLES if t not in have])
        self.batch_no = 0
        self.latest_batch: dict[str, int] = {}  # article_id -> the batch that staged it last
        # batch -> (its sources, first and last published date, whether it has undated articles)
        self.batch_span: dict[int, tuple[set[str], object, object, bool]] = {}
        # known_entities' staged part for the last window asked: (key, entities). One entry, so
        # a long run holds one window's entities, not one per window it ever linked.
        self._staged_memo: tuple[tuple, pl.DataFrame] | None = None
        self.replaced: set[str] = set()  # live article ids this run replaces
        self.replaced_dates: set = set()
        self.touched_dates: set = set()
        self.touched_entities: set[str] = set()
        self.count_delta: list[pl.DataFrame] = []  # entity counts of replaced articles, negated
        self.evidence_delta: list[pl.DataFrame] = []
        self.run_known: dict[str, tuple[str, str, str]] = {}
        self.changed = False
        self.landed: dict[str, int] = {}
        self.new_count = self.changed_count = 0
        # Raw NER output per paragraph text for this model and pipeline version (see
        # process.enrich): this run's, then the stored ones.
        from newsetl.settings import PIPELINE_VERSION

        self.ner_key = f"{settings.model_paths[0]}|{PIPELINE_VERSION}"
        from newsetl.process import NER_CACHE_SCHEMA

        self.ner_run = pl.DataFrame(schema=NER_CACHE_SCHEMA)  # (h, spans, targets) this run computed
        from newsetl.process import PAGES_SEEN_SCHEMA

        self.pages_run = pl.DataFrame(schema=PAGES_SEEN_SCHEMA)  # HTML pages this run extracted

    # ---- startup housekeeping
    def _migrate_old_layout(self) -> None:
        """A warehouse from before the Parquet store held every table inside news.duckdb:
        move the article tables out into files once (same rows, same ids)."""
        kinds = dict(self.con.execute("select table_name, table_type from information_schema.tables "
                                      "where table_schema = 'main'").fetchall())
        if kinds.get("articles") != "BASE TABLE":
            return
        ensure_files_table(self.con)
        for table in schema.PARTITIONED_TABLES:
            if kinds.get(table) == "BASE TABLE":
                cols = [c for c in schema.stored_columns(table) if self._has_column(table, c)]
                if table == "articles" and self._has_column("articles", "cluster_id"):
                    self.con.execute(schema.ddl("article_clusters"))
                    self.con.execute("insert into article_clusters select article_id, cluster_id, duplicate_of "
                                     "from articles where duplicate_of is not null or cluster_id in "
                                     "(select cluster_id from articles where duplicate_of is not null)")
                self.migrated_files += self._write_partitioned(
                    table, f"select {', '.join(cols)}, {PARTITION_COLUMN} from {table}", "migrated")
            # the old layout's exported copies: the new tree is made of links to the files above
            shutil.rmtree(self.root / table, ignore_errors=True)
        shutil.rmtree(self.root / "_tables", ignore_errors=True)
        for view in self.con.execute("select view_name from duckdb_views() where not internal").fetchall():
            self.con.execute(f"drop view if exists {view[0]}")
        for table in schema.PARTITIONED_TABLES:
            self.con.execute(f"drop table if exists {table}")

    def _has_column(self, table: str, col: str) -> bool:
        return bool(self.con.execute("select 1 from information_schema.columns where table_name = ? and "
                                     "column_name = ?", [table, col]).fetchall())

    def _delete_orphans(self) -> None:
        """Data files that no catalog lists (a killed run's output) are deleted."""
        known = {r[0] for r in self.con.execute("select path from _files").fetchall()}
        if not known and not self.settings.db_path.exists() and any(self.files_root.rglob("*.parquet")):
            raise WarehouseDamaged(f"{self.settings.db_path} is missing but {self.files_root} holds data files; "
                                   "run `newsetl repair` to rebuild the catalog from them")
        for path in self.files_root.rglob("*.parquet"):
            rel = path.relative_to(self.files_root).as_posix()
            if rel not in known:
                path.unlink(missing_ok=True)

    def _fill_schema_ids(self) -> None:
        """Files registered before `_files.schema_id` existed get theirs (once)."""
        rels = [r for (r,) in self.con.execute("select path from _files where schema_id is null "
                                               "and retired_at is null").fetchall()]
        ids = [(rel, file_schema_id(self.files_root / rel)[1]) for rel in rels if (self.files_root / rel).exists()]
        if ids:
            with registered(self.con, "_sid", pl.DataFrame(ids, schema=["path", "sid"], orient="row")):
                self.con.execute("update _files set schema_id = s.sid from _sid s where _files.path = s.path")

    def _conform_files(self) -> None:
        """After an upgrade that adds, drops or retypes a column of an article table, the
        live files written before it are rewritten once with the current columns (null
        where an old file has none). Every file of the Hive tree then has one schema:
        `pl.scan_parquet` refuses a folder whose files differ, pyarrow.dataset and DuckDB
        without union_by_name keep the first file's columns. A one-off cost per schema
        change (each old file read and written once, in the first run after the upgrade);
        otherwise a lookup of one `_meta` key. Which files differ is read off `_files.schema_id`
        and one footer per distinct id."""
        want = stored_schema_key()
        if get_meta(self.con, "stored_schema") == want:
            return
        for table in schema.PARTITIONED_TABLES:
            cols, typed = schema.stored_columns(table), dict(schema.TABLES[table])
            target = [(c, schema.arrow_type(typed[c])) for c in cols]
            conformed = []
            # files of one schema id have one schema: one footer read per id, not per file
            for rels, days in self.con.execute("select list(path order by path), list(published_date order by path) "
                                               "from _files where table_name = ? and retired_at is null "
                                               "group by schema_id", [table]).fetchall():
                present = [(rel, day) for rel, day in zip(rels, days) if (self.files_root / rel).exists()]
                have = pq.read_schema(self.files_root / present[0][0]) if present else None
                if have is None or [(f.name, f.type) for f in have] == target:
                    continue  # (a listed file that is gone is `newsetl repair`'s business)
                select = ", ".join(f"cast({c} as {typed[c]}) as {c}" if c in have.names
                                   else f"cast(null as {typed[c]}) as {c}" for c in cols)
                for rel, day in present:
                    new_rel = f"{Path(rel).parent.as_posix()}/part-{self.tag}-m{uuid.uuid4().hex[:6]}.parquet"
                    esc = str(self.files_root / rel).replace("'", "''")
                    self._copy_into(table, new_rel, day, "conformed",
                                    f"select {select} from read_parquet('{esc}', hive_partitioning = false)")
                    self.migrated_files.append(new_rel)
                    conformed.append(rel)
            self._retire(conformed)
            self.migrated_retired += conformed
        set_meta(self.con, "stored_schema", want)

    def _gc_retired(self) -> None:
        """Files retired longer ago than the retention are deleted (open readers of old
        catalogs have had that long to finish)."""
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=self.settings.snapshot_retention_seconds)
        old = [r[0] for r in self.con.execute("select path from _files where retired_at < ?", [cutoff]).fetchall()]
        for rel in old:
            (self.files_root / rel).unlink(missing_ok=True)
        if old:
            self.con.execute("delete from _files where retired_at < ?", [cutoff])

    # ---- reads the flow needs
    def known_for(self, ids: list[str]) -> dict[str, tuple[str, str, str, bool]]:
        """(content_hash, pipeline_version, source, landed by this run) of the given ids as
        landed (this run included)."""
        out: dict[str, tuple[str, str, str, bool]] = {}
        if ids:
            rows = self.con.execute(
                "select article_id, content_hash, pipeline_version, source from _article_index "
                "where article_id in (select unnest(?))", [list(ids)]).fetchall()
            out = {a: (h, v, src, False) for a, h, v, src in rows}
        for a in ids:
            if a in self.run_known:
                out[a] = (*self.run_known[a], True)
        return out

    def evidence_for(self, batch: pl.DataFrame, relanded: list[str]) -> pl.DataFrame:
        """Corpus evidence counts (kind, source, key, article_count) for the entries of a
        batch's own evidence, from everything landed before it (warehouse and this run),
        without the current versions of the articles being re-landed (no double counting)."""
        out_schema = {"kind": pl.String, "source": pl.String, "key": pl.String, "article_count": pl.Int64}
        if batch.height == 0:
            return pl.DataFrame(schema=out_schema)
        q = batch.select("kind", "source", "key").unique()
        q = q.with_columns(evidence_hashes(q))
        counts = [self._stored_evidence(q["h"])]
        counts += [d.join(q.select("h"), on="h", how="semi") for d in self.evidence_delta]
        relanded_live = [a for a in relanded if a not in self.replaced]
        if relanded_live:
            old = self._old_evidence(relanded_live)
            counts.append(old.with_columns(-pl.col("delta")).join(q.select("h"), on="h", how="semi"))
        total = (pl.concat([c.select("h", pl.col("delta").cast(pl.Int64)) for c in counts])
                 .group_by("h").agg(pl.col("delta").sum()))
        return (q.join(total, on="h", how="inner").filter(pl.col("delta") > 0)
                .select("kind", "source", "key", pl.col("delta").alias("article_count")).cast(out_schema))

    def _stored_evidence(self, hashes: pl.Series) -> pl.DataFrame:
        files = self._abs(live_files(self.con, EVIDENCE))
        if not files:
            return pl.DataFrame(schema={"h": pl.Int64, "delta": pl.Int64})
        self.con.register("_ev_q", pl.DataFrame({"h": hashes}).to_arrow())
        try:
            return query_pl(self.con, f"select h, sum(delta)::bigint as delta from read_parquet({_sql_list(files)}) "
                                      "where h in (select h from _ev_q) group by h")
        finally:
            self.con.unregister("_ev_q")

    def _live_rows(self, table: str, cols: str, ids: list[str], dates=None) -> pl.DataFrame:
        """Rows of live articles `ids` of a partitioned table, read from the files of their
        partitions only (`dates`, by default looked up in _article_index)."""
        if dates is None:
            dates = {d for (d,) in self.con.execute(f"select distinct {PARTITION_COLUMN} from _article_index "
                                                      "where article_id in (select unnest(?))", [ids]).fetchall()}
        files = self._abs(live_files(self.con, table, dates)) if dates else []
        if not files:
            return query_pl(self.con, f"select {cols} from ({_empty_select(table)})")
        with registered(self.con, "_ids", pl.DataFrame({"article_id": ids}, schema={"article_id": pl.String})):
            return query_pl(self.con, f"select {cols} from {scan_sql(files)} "
                                      "where article_id in (select article_id from _ids)")

    def _old_evidence(self, ids: list[str]) -> pl.DataFrame:
        """The evidence the landed versions of `ids` contributed, as (h, delta) rows of +1."""
        from newsetl.transforms.boilerplate import corpus_evidence

        arts = self._live_rows("articles", "article_id, source, title", ids)
        paras = self._live_rows("paragraphs", "article_id, text", ids)
        ev = corpus_evidence(paras, arts)
        return pl.DataFrame({"h": evidence_hashes(ev), "delta": ev["article_count"].cast(pl.Int64)},
                            schema={"h": pl.Int64, "delta": pl.Int64})

    def known_entities(self, articles: pl.DataFrame, window_days: int, staged: bool = True) -> pl.DataFrame:
        """Entities (entity_id, name, label, aliases, mention_count) named in articles of the
        same sources within `window_days` of the batch's dates, or in the sources' undated articles when the
        batch has undated ones: the candidates of cross-article surname linking. The
        run's staged batches count too, the batch itself among them, built as one set of
        mentions (unless `staged` is false: the warehouse as the run found it). The stored
        and the staged rows come apart: an entity the warehouse and the run both name has a
        row of each."""
        empty = pl.DataFrame(schema={"entity_id": pl.String, "name": pl.String, "label": pl.String,
                                     "aliases": pl.List(pl.String), "mention_count": pl.Int64})
        if articles.height == 0:
            return empty
        sources = articles["source"].drop_nulls().unique().to_list()
        dates = articles["published_date"].drop_nulls()
        conds, params = [], [sources]
        lo = hi = None
        if dates.len():
            conds.append(f"{PARTITION_COLUMN} between ? and ?")
            lo, hi = dates.min() - timedelta(days=window_days), dates.max() + timedelta(days=window_days)
            params += [lo, hi]
        undated = articles["published_date"].null_count() > 0
        if undated:
            conds.append(f"{PARTITION_COLUMN} is null")
        where = f"source in (select unnest(?)) and ({' or '.join(conds)})"
        ids = query_pl(self.con, f"select article_id, {PARTITION_COLUMN} from _article_index where {where}", params)
        named = self._live_rows("entity_mentions", "distinct entity_id", ids["article_id"].to_list(),
                                set(ids[PARTITION_COLUMN].to_list()))
        parts = [empty]
        if named.height:
            with registered(self.con, "_named", named):
                parts.append(query_pl(self.con, "select entity_id, name, label, aliases, mention_count from entities "
                                                "where entity_id in (select entity_id from _named)"))
        # Only the staged batches that can hold such articles are read: a long run (a
        # backfill of years) costs each batch what its window holds, not the whole run.
        near = {b for b, (srcs, first, last, nulls) in self.batch_span.items()
                if staged and not srcs.isdisjoint(sources)
                and ((lo is not None and first is not None and first <= hi and last >= lo) or (undated and nulls))}
        # Consecutive batches of one window (every batch of an undated corpus) share one build:
        # linking a run costs what its windows hold, once, not once per batch.
        if near:
            key = (where, repr(params), frozenset(near))
            if self._staged_memo is None or self._staged_memo[0] != key:
                self._staged_memo = (key, self._staged_entities(where, params, near).select(empty.columns))
            parts.append(self._staged_memo[1])
        return pl.concat(parts, how="vertical_relaxed")

    def _staged_entities(self, where: str, params: list, batches: set[int]) -> pl.DataFrame:
        """Entities named by the articles that `batches` of this run staged (each article
        in its latest batch, if among them) and that match `where` (over articles'
        columns): the `entities` table only has them once the run publishes, and a run of
        many batches must link across them as a run of one batch does. The mentions as the
        workers resolved them, before cross-article links, as a one-batch run's own
        entities are."""
        from newsetl.transforms.entities import build_entities

        def files(table: str) -> list[str]:
            return [str(f) for b in sorted(batches) if (f := self.run_dir / table / f"b{b:06d}.parquet").exists()]

        arts, ments = files("articles"), files("entity_mentions")
        latest = {a: b for a, b in self.latest_batch.items() if b in batches}
        if not arts or not ments or not latest:
            return build_entities(schema.empty("entity_mentions"))
        latest = pl.DataFrame({"article_id": list(latest), "_batch": list(latest.values())},
                              schema={"article_id": pl.String, "_batch": pl.Int32})
        with registered(self.con, "_latest", latest):
            rows = query_pl(
                self.con,
                f"select m.{COUNT_COLUMNS.replace(', ', ', m.')} "
                f"from read_parquet({_sql_list(ments)}, hive_partitioning = false) m "
                "semi join _latest l on m.article_id = l.article_id and m._batch = l._batch "
                "where m.article_id in (select a.article_id "
                f"from read_parquet({_sql_list(arts)}, hive_partitioning = false) a "
                f"semi join _latest l on a.article_id = l.article_id and a._batch = l._batch where {where})",
                params)
        return build_entities(rows)

    def ner_cache_for(self, hashes: list[int]) -> pl.DataFrame:
        """Raw NER output already computed for these paragraph-text hashes (this run's or
        stored), as (h, spans, targets): targets only for this run's texts."""
        from newsetl.process import NER_CACHE_SCHEMA

        # Frames, not Python dicts of span lists: four syndicated copies look up ~30k texts.
        want = pl.Series("h", hashes, dtype=pl.Int64).unique()
        got = self.ner_run.filter(pl.col("h").is_in(want.implode())).unique("h")
        rest = want.filter(~want.is_in(got["h"].implode()))
        files = self._abs(live_files(self.con, NER_CACHE))
        if rest.len() and files and self.settings.enrich_cache:
            with registered(self.con, "_nq", rest.to_frame()):
                stored = query_pl(self.con, f"select h, any_value(spans) as spans from read_parquet({_sql_list(files)}) "
                                            "where model_key = ? and h in (select h from _nq) group by h", [self.ner_key])
            stored = stored.with_columns(pl.lit(None).alias("targets"))  # scored by another run: not kept
            got = pl.concat([got, stored.cast(NER_CACHE_SCHEMA)], how="vertical_relaxed")
        return got.select(list(NER_CACHE_SCHEMA))

    def remember_ner(self, fresh: pl.DataFrame) -> None:
        """Raw NER output the workers just computed: reused by later batches of this run,
        stored for later runs at publish (unless Settings.enrich_cache is off)."""
        if fresh.height == 0 or not self.settings.enrich_cache:
            return
        self.ner_run = pl.concat([self.ner_run, fresh.select(self.ner_run.columns)], how="vertical_relaxed")

    def _append_ner_cache(self, run_id: str, new_files: list[str]) -> None:
        if self.ner_run.height == 0 or not self.settings.enrich_cache:
            return
        df = (self.ner_run.unique("h", keep="first")
              .with_columns(pl.lit(self.ner_key).alias("model_key")).select("model_key", "h", "spans"))
        self._append_internal(NER_CACHE, df.sort("h"), run_id, new_files,
                              "select model_key, h, any_value(spans) as spans from {src} "
                              "group by model_key, h order by model_key, h")

    def pages_seen(self, keys: list[int]) -> dict[int, tuple[str, str]]:
        """(article_id, content_hash) that extracting each of these HTML pages gave before
        (`process.page_key`: this pipeline version), this run's or stored; `known_for`
        says whether that article is still landed so."""
        want = pl.Series("key", keys, dtype=pl.Int64).unique()
        got = self.pages_run.filter(pl.col("key").is_in(want.implode()))
        rest = want.filter(~want.is_in(got["key"].implode()))
        files = self._abs(live_files(self.con, PAGES_SEEN))
        if rest.len() and files:
            with registered(self.con, "_pk", rest.to_frame()):
                got = pl.concat([got, query_pl(self.con, "select key, article_id, content_hash from "
                                                         f"read_parquet({_sql_list(files)}) "
                                                         "where key in (select key from _pk)")],
                                how="vertical_relaxed")
        return {k: (a, h) for k, a, h in got.unique("key", keep="first").iter_rows()}

    def remember_pages(self, pages: pl.DataFrame) -> None:
        """The HTML pages a batch extracted (`Prepared.pages`): stored at publish."""
        if pages.height:
            self.pages_run = pl.concat([self.pages_run, pages.select(self.pages_run.columns)], how="vertical_relaxed")

    def _append_pages_seen(self, run_id: str, new_files: list[str]) -> None:
        if self.pages_run.height:
            self._append_internal(PAGES_SEEN, self.pages_run.unique("key", keep="last").sort("key"), run_id,
                                  new_files, "select key, any_value(article_id) as article_id, any_value(content_hash)"
                                             " as content_hash from {src} group by key order by key")

    def _abs(self, rels: list[str]) -> list[str]:
        return [str(self.files_root / r) for r in rels]

    # ---- one batch
    def land(self, frames: dict[str, pl.DataFrame], rejects: list[Reject], run_id: str,
             whole_file_refs: list[str] = ()) -> dict[str, int]:
        """Stage one batch's rows (invisible until `publish`); rejects go to the catalog."""
        from newsetl.transforms.boilerplate import corpus_evidence

        arts = frames.get("articles", schema.empty("articles")).with_columns(pl.lit(run_id).alias("run_id"))
        arts = schema.conform(arts, "articles")
        ids = arts["article_id"].to_list()
        # Live versions this batch replaces: the same ids, and older versions of whole files
        # that have no URL (their id is a content hash, so an edited file has a new id).
        old = query_pl(
            self.con,
            "select article_id, published_date from _article_index where article_id in (select unnest(?)) "
            "or (not has_url and input_ref in (select unnest(?)))",
            [ids, list(whole_file_refs)]) if (ids or whole_file_refs) else pl.DataFrame()
        new_old = [a for a in (old["article_id"].to_list() if old.height else []) if a not in self.replaced]
        if new_old:
            from newsetl.transforms.entities import entity_counts

            ev = self._old_evidence(new_old)
            old_counts = entity_counts(self._live_rows("entity_mentions", COUNT_COLUMNS, new_old))
            dates = old.filter(pl.col("article_id").is_in(new_old))["published_date"].to_list()
            self.replaced.update(new_old)
            self.replaced_dates.update(dates)
            self.touched_dates.update(dates)
            self.evidence_delta.append(ev.with_columns(-pl.col("delta")))
            self.count_delta.append(old_counts.with_columns(-pl.col("mentions"), -pl.col("articles")))
            self.touched_entities.update(old_counts["entity_id"].to_list())
        # Same article staged by an earlier batch of this run: the later batch wins (publish
        # keeps only each article's latest batch).
        self.batch_no += 1
        dated = arts[PARTITION_COLUMN].drop_nulls()
        self.batch_span[self.batch_no] = (set(arts["source"].drop_nulls().to_list()), dated.min(), dated.max(),
                                          arts[PARTITION_COLUMN].null_count() > 0)
        counts: dict[str, int] = {}
        for table in schema.PARTITIONED_TABLES:
            df = arts if table == "articles" else schema.conform(frames.get(table, schema.empty(table)), table)
            counts[table] = df.height
            if df.height:
                self._stage(self.run_dir / table, df, self.batch_no)
        _step(self.settings, "stage-batch")
        for a in ids:
            self.latest_batch[a] = self.batch_no
        for a, h, v, src in arts.select("article_id", "content_hash", "pipeline_version", "source").iter_rows():
            self.run_known[a] = (h, v, src)
        mentions = frames.get("entity_mentions")
        if mentions is not None and mentions.height:
            self.touched_entities.update(mentions["entity_id"].drop_nulls().unique().to_list())
        # An input that lands now is no longer a reject.
        self.con.begin()
        try:
            if arts.height:
                self.con.execute("delete from rejects where input_ref in (select unnest(?))",
                                 [arts["input_ref"].drop_nulls().to_list()])
            counts["rejects"] = self._land_rejects(rejects, run_id)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        # Last, so that a retried land (the task retries) never counts a batch's evidence twice.
        if arts.height:
            paras = frames.get("paragraphs", schema.empty("paragraphs"))
            ev = corpus_evidence(paras.select("article_id", "text"), arts.select("article_id", "source", "title"))
            self.evidence_delta.append(pl.DataFrame({"h": evidence_hashes(ev), "delta": ev["article_count"]},
                                                    schema={"h": pl.Int64, "delta": pl.Int64}))
            self.touched_dates.update(arts[PARTITION_COLUMN].to_list())
            self.changed = True
        for k, v in counts.items():
            self.landed[k] = self.landed.get(k, 0) + v
        return counts

    def _stage(self, folder: Path, df: pl.DataFrame, batch: int) -> None:
        """One staged file of a batch's rows (stored columns, the partition column and
        `_batch`), written whole or not at all (a retried step writes it again)."""
        table = folder.name
        out = df.select(schema.stored_columns(table) + [PARTITION_COLUMN]).with_columns(
            pl.lit(batch, dtype=pl.Int32).alias("_batch"))
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".b{batch:06d}.parquet.tmp"
        out.write_parquet(tmp, compression="lz4")
        tmp.replace(folder / f"b{batch:06d}.parquet")

    # ---- cross-article links, once every batch of the run is staged
    def staged_batches(self):
        """(batch number, frames) for each batch that staged entity mentions: its articles,
        entity mentions and quotes as staged (the articles whose latest batch it is), for
        the run's cross-article links (flows.pipeline.link_entities)."""
        by_batch: dict[int, list[str]] = {}
        for a, b in self.latest_batch.items():
            by_batch.setdefault(b, []).append(a)
        for b in sorted(by_batch):
            frames = {}
            for table in ("articles",) + LINKED_TABLES:
                path = self.run_dir / table / f"b{b:06d}.parquet"
                df = pl.read_parquet(path) if path.exists() else schema.empty(table)
                frames[table] = df.filter(pl.col("article_id").is_in(by_batch[b]))
            if frames["entity_mentions"].height:
                yield b, frames

    def stage_linked(self, batch: int, frames: dict[str, pl.DataFrame]) -> None:
        """A staged batch's entity mentions and quotes after the run's cross-article links:
        publish reads them in place of the batch's own, which stay as they were (so the
        links are made again from them if the step is retried)."""
        for table in LINKED_TABLES:
            self._stage(self.run_dir / "linked" / table, schema.conform(frames[table], table), batch)
        # Counts to update: the entities the links joined the mentions to.
        self.touched_entities.update(frames["entity_mentions"]["entity_id"].drop_nulls().unique().to_list())

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

    # ---- the end of the run
    def publish(self, run_row: dict) -> dict[str, int]:
        """All the end-of-run steps in order (the flow runs them as separate tasks).
        Returns the row counts of every table after the run."""
        self.write_files(run_row["run_id"])
        self.update_duplicates()
        self.update_entities()
        self.compact()
        return self.commit(run_row)

    def write_files(self, run_id: str) -> None:
        """The run's rows as new files (each article once, from its latest batch), and
        copies without them of the files that held replaced articles."""
        self.run_id = run_id
        self.new_files: list[str] = list(self.migrated_files)
        self.retired: list[str] = list(self.migrated_retired)
        # Counted once per article, whatever batches it came in.
        self.changed_count = len(self.replaced & set(self.latest_batch))
        self.new_count = len(self.latest_batch) - self.changed_count
        self.landed = {"rejects": self.landed.get("rejects", 0)}
        if not self.changed:
            return
        self._latest_table()
        for table in schema.PARTITIONED_TABLES:
            src = self._staged_sql(table)
            self.landed[table] = 0
            if src is not None:
                written = self._write_partitioned(table, src, run_id)
                self.landed[table] = self.con.execute(
                    "select coalesce(sum(rows), 0) from _files where path in (select unnest(?))", [written]).fetchall()[0][0]
                self.new_files += written
        self.retired += self._copy_on_write(run_id, self.new_files)
        self._update_index()
        _step(self.settings, "write-files")

    def _update_index(self) -> None:
        """_article_index: replaced articles out, this run's articles in."""
        self.con.execute("delete from _article_index where article_id in (select unnest(?))",
                         [sorted(self.replaced | set(self.latest_batch))])
        staged = self._staged_sql("articles")
        if staged is not None:
            self.con.execute(f"insert into _article_index select {INDEX_SELECT} from ({staged})")

    def update_duplicates(self) -> None:
        if self.changed:
            self._update_duplicates(self.run_id, self.new_files)
        _step(self.settings, "duplicates")

    def update_entities(self) -> None:
        if self.changed:
            self._update_entities()
        _step(self.settings, "entities")

    def compact(self) -> None:
        """Small files of touched partitions merged; evidence, NER cache and pages seen appended."""
        if self.changed:
            self.retired += self._compact(self.run_id, self.new_files)
            self._append_evidence(self.run_id, self.new_files, self.retired)
        self._append_ner_cache(self.run_id, self.new_files)
        self._append_pages_seen(self.run_id, self.new_files)
        _step(self.settings, "compact")

    def commit(self, run_row: dict) -> dict[str, int]:
        """Views over the new live files, the `runs` row, then the catalog swap."""
        self._recreate_views()
        _step(self.settings, "views")
        totals = self.table_counts()
        row = dict(run_row, articles_new=self.new_count, articles_changed=self.changed_count)
        row.setdefault("entities", totals.get("entities", 0))
        for t in schema.ARTICLE_CHILD_TABLES:
            row.setdefault(t, self.landed.get(t, 0))
        row.setdefault("rejects", self.landed.get("rejects", 0))
        self._record_run(row)
        totals["runs"] = self.con.execute("select count(*) from runs").fetchall()[0][0]
        self._swap(self.new_files, self.retired)
        return totals

    def _latest_table(self) -> None:
        df = pl.DataFrame({"article_id": list(self.latest_batch), "_batch": list(self.latest_batch.values())},
                          schema={"article_id": pl.String, "_batch": pl.Int32})
        df.write_parquet(self.run_dir / "latest.parquet")

    def _staged_sql(self, table: str) -> str | None:
        """The rows of `table` this run publishes: each article's from its latest batch, a
        batch's entity mentions and quotes as the cross-article links left them."""
        files = sorted(glob.glob(str(self.run_dir / table / "*.parquet")))
        if not files:
            return None
        linked = self.run_dir / "linked" / table
        files = [str(linked / Path(f).name) if (linked / Path(f).name).exists() else f for f in files]
        latest = str(self.run_dir / "latest.parquet").replace("'", "''")
        cols = ", ".join(schema.stored_columns(table) + [PARTITION_COLUMN])
        return (f"select {cols} from read_parquet({_sql_list(files)}, hive_partitioning = false) s "
                f"semi join read_parquet('{latest}') l on s.article_id = l.article_id and s._batch = l._batch "
                f"order by s.article_id")

    def _register(self, table: str, rel: str, day, run_id: str) -> None:
        register_file(self.con, table, day, rel, self.files_root / rel, run_id)

    def _staged(self, rel: str) -> Path:
        """Where the new data file `rel` is written before `_place` moves it among the data
        files: the run's scratch folder, so a kill mid-write leaves no partial file there
        (the move is a rename: the scratch folder is in the same warehouse)."""
        path = self.run_dir / "out" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _copy_into(self, table: str, rel: str, day, run_id: str, select_sql: str) -> None:
        """A query's rows as the new data file `rel` of `table`: written in scratch, moved in
        among the data files, registered."""
        target = str(self._staged(rel)).replace("'", "''")
        self.con.execute(f"copy ({select_sql}) to '{target}' (format parquet, compression {COMPRESSION})")
        self._place(rel)
        self._register(table, rel, day, run_id)

    def _place(self, rel: str) -> None:
        dst = self.files_root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(self.run_dir / "out" / rel, dst)

    def _write_partitioned(self, table: str, select_sql: str, run_id: str) -> list[str]:
        """COPY a query (stored columns + published_date) into new files of `table`, one
        per partition; registers and returns their relative paths."""
        base = self.run_dir / "out" / table
        base.mkdir(parents=True, exist_ok=True)
        prefix = f"part-{self.tag}-{uuid.uuid4().hex[:6]}"
        esc = str(base).replace("'", "''")
        self.con.execute(
            f"copy (select * from ({select_sql}) where {PARTITION_COLUMN} is not null) to '{esc}' "
            f"(format parquet, compression {COMPRESSION}, partition_by ({PARTITION_COLUMN}), "
            f"filename_pattern '{prefix}-{{i}}', overwrite_or_ignore true)")
        nd = base / partition_dir(None)
        n_null = self.con.execute(f"select count(*) from ({select_sql}) where {PARTITION_COLUMN} is null").fetchall()[0][0]
        if n_null:
            nd.mkdir(parents=True, exist_ok=True)
            target = str(nd / f"{prefix}-0.parquet").replace("'", "''")
            self.con.execute(f"copy (select * exclude ({PARTITION_COLUMN}) from ({select_sql}) "
                             f"where {PARTITION_COLUMN} is null) to '{target}' (format parquet, compression {COMPRESSION})")
        out = []
        for f in sorted(base.glob(f"*/{prefix}-*.parquet")):
            rel = f"{table}/{f.parent.name}/{f.name}"
            self._place(rel)
            value = f.parent.name.split("=", 1)[1]
            day = None if value == NULL_PARTITION else datetime.strptime(value, "%Y-%m-%d").date()
            self._register(table, rel, day, run_id)
            out.append(rel)
        return out

    def _retire(self, rels: list[str]) -> None:
        if rels:
            self.con.execute("update _files set retired_at = now() where path in (select unnest(?))", [rels])

    def _copy_on_write(self, run_id: str, new_files: list[str]) -> list[str]:
        """Files that hold rows of replaced articles are rewritten without them (this run's
        own files hold only the new rows; those it rewrote at start-up hold old ones)."""
        if not self.replaced:
            return []
        retired = []
        own = set(new_files) - set(self.migrated_files)
        self.con.register("_replaced", pl.DataFrame({"article_id": sorted(self.replaced)}).to_arrow())
        try:
            for table in schema.PARTITIONED_TABLES:
                cands = [r for r in live_files(self.con, table, self.replaced_dates) if r not in own]
                if not cands:
                    continue
                hit = self.con.execute(
                    f"select distinct filename from read_parquet({_sql_list(self._abs(cands))}, filename = true, "
                    "hive_partitioning = false) where article_id in (select article_id from _replaced)").fetchall()
                for (fname,) in hit:
                    rel = Path(fname).relative_to(self.files_root).as_posix()
                    day = self.con.execute("select published_date from _files where path = ?", [rel]).fetchall()[0][0]
                    kept = self.con.execute(f"select count(*) from read_parquet('{fname}', hive_partitioning = false) "
                                            "where article_id not in (select article_id from _replaced)").fetchall()[0][0]
                    if kept:
                        new_rel = f"{Path(rel).parent.as_posix()}/part-{self.tag}-cow{uuid.uuid4().hex[:6]}.parquet"
                        self._copy_into(table, new_rel, day, run_id,
                                        f"select * from read_parquet('{fname}', hive_partitioning = false) "
                                        "where article_id not in (select article_id from _replaced)")
                        new_files.append(new_rel)
                    retired.append(rel)
        finally:
            self.con.unregister("_replaced")
        self._retire(retired)
        for r in retired:
            if r in new_files:
                new_files.remove(r)
        return retired

    def _compact(self, run_id: str, new_files: list[str]) -> list[str]:
        """A partition this run touched whose small files reach compact_min_files is
        rewritten as one file (bounds the number of files a reader opens)."""
        retired = []
        rows = self.con.execute(
            "select table_name, published_date, list(path order by path) from _files where retired_at is null "
            "and bytes < ? and table_name not like '\\_%' escape '\\' group by all having count(*) >= ?",
            [COMPACT_SMALL_BYTES, self.settings.compact_min_files]).fetchall()
        for table, day, rels in rows:
            if day not in self.touched_dates:
                continue
            new_rel = f"{table}/{partition_dir(day)}/part-{self.tag}-c{uuid.uuid4().hex[:6]}.parquet"
            self._copy_into(table, new_rel, day, run_id,
                            f"select * from read_parquet({_sql_list(self._abs(rels))}, hive_partitioning = false, "
                            "union_by_name = true) order by article_id")
            new_files.append(new_rel)
            retired += rels
        self._retire(retired)
        for r in retired:
            if r in new_files:
                new_files.remove(r)
        return retired

    def _update_duplicates(self, run_id: str, new_files: list[str]) -> None:
        """Match only this run's articles against the stored duplicate keys, then recluster
        just the articles involved (new ones, their matches, and those matches' clusters)."""
        from newsetl.transforms.dedup import cluster_duplicates, dedup_keys

        new = query_pl(self.con, f"select article_id, text, published_at from ({self._staged_sql('articles')})")
        if new.height == 0:
            return
        keys = dedup_keys(new["text"])
        krows = pl.DataFrame({"article_id": new["article_id"], "key": keys}).explode("key").drop_nulls("key")
        key_files = self._abs(live_files(self.con, DEDUP_KEYS))
        involved = set(new["article_id"].to_list())
        if key_files and krows.height:
            self.con.register("_k", krows.to_arrow())
            try:
                hits = self.con.execute(
                    f"select distinct s.article_id from read_parquet({_sql_list(key_files)}) s "
                    "where s.key in (select key from _k)").fetchall()
            finally:
                self.con.unregister("_k")
            involved.update(a for (a,) in hits)
        # Keys of replaced articles are dropped with them (their old text no longer exists).
        involved -= (self.replaced - set(new["article_id"].to_list()))
        old_ids = sorted(involved - set(new["article_id"].to_list()))
        if old_ids:
            clusters = self.con.execute(
                "select distinct cluster_id from article_clusters where article_id in (select unnest(?))",
                [old_ids]).fetchall()
            if clusters:
                members = self.con.execute("select article_id from article_clusters where cluster_id in (select unnest(?))",
                                           [[c for (c,) in clusters]]).fetchall()
                old_ids = sorted(set(old_ids) | {a for (a,) in members} - set(new["article_id"].to_list()))
        subset = new
        if old_ids:
            old = self._live_rows("articles", "article_id, text, published_at", old_ids)
            subset = pl.concat([new, old], how="vertical_relaxed")
        result = cluster_duplicates(subset)
        sizes = result.group_by("cluster_id").agg(pl.len().alias("n"))
        multi = result.join(sizes, on="cluster_id").filter(pl.col("n") > 1).drop("n")
        self.con.register("_subset", subset.select("article_id").to_arrow())
        self.con.register("_multi", schema.conform(multi, "article_clusters").to_arrow())
        try:
            self.con.execute("delete from article_clusters where article_id in (select article_id from _subset)"
                             " or article_id in (select unnest(?))", [sorted(self.replaced)])
            self.con.execute("insert into article_clusters select * from _multi")
        finally:
            self.con.unregister("_subset")
            self.con.unregister("_multi")
        # Store this run's keys (append-only; a replaced article's stale keys only cost a
        # verification, which reads its current text).
        self._append_internal(DEDUP_KEYS, krows, run_id, new_files, "select * from {src}")

    def _update_entities(self) -> None:
        """_entity_counts and `entities` rows for the ids this run touched: their stored
        counts, minus the replaced articles' counts, plus this run's (never all mentions)."""
        from newsetl.transforms.entities import entities_from_counts, entity_counts, sum_entity_counts

        if not self.touched_entities:
            return
        touched = pl.DataFrame({"entity_id": sorted(self.touched_entities)})
        with registered(self.con, "_touched", touched):
            parts = [stored_counts(self.con, "_touched"), *self.count_delta]
            staged = self._staged_sql("entity_mentions")
            if staged is not None:
                parts.append(entity_counts(query_pl(self.con, f"select {COUNT_COLUMNS} from ({staged})")))
            counts = sum_entity_counts(pl.concat(parts, how="vertical_relaxed")).join(touched, on="entity_id",
                                                                                      how="semi")
            ents = schema.conform(entities_from_counts(counts), "entities")
            self.con.execute("delete from _entity_counts where entity_id in (select entity_id from _touched)")
            insert_counts(self.con, counts)
            self.con.execute("delete from entities where entity_id in (select entity_id from _touched)")
            with registered(self.con, "_ents", ents):
                self.con.execute("insert into entities select * from _ents")

    def _append_evidence(self, run_id: str, new_files: list[str], retired: list[str]) -> None:
        if not self.evidence_delta:
            return
        delta = (pl.concat(self.evidence_delta).group_by("h").agg(pl.col("delta").sum())
                 .filter(pl.col("delta") != 0))
        self._append_internal(EVIDENCE, delta.sort("h"), run_id, new_files,
                              "select h, sum(delta)::bigint as delta from {src} group by h "
                              "having sum(delta) <> 0 order by h")

    def _append_internal(self, table: str, df: pl.DataFrame, run_id: str, new_files: list[str],
                         compact_sql: str) -> None:
        """One more file of an append-only internal table; merged into one file (by
        `compact_sql`) once the table has INTERNAL_COMPACT_FILES files."""
        if df.height:
            rel = f"{table}/part-{self.tag}.parquet"
            df.write_parquet(self._staged(rel), compression=COMPRESSION)
            self._place(rel)
            self._register(table, rel, None, run_id)
            new_files.append(rel)
        self._compact_internal(table, compact_sql, run_id, new_files)

    def _compact_internal(self, table: str, select: str, run_id: str, new_files: list[str]) -> None:
        """Size-tiered: files of about the same size (within a factor of INTERNAL_TIER) are
        merged once INTERNAL_COMPACT_FILES of them exist, so a row is rewritten about
        log(rows) times over its life and no run rewrites the whole table."""
        rows = self.con.execute("select path, bytes from _files where table_name = ? and retired_at is null "
                                "order by path", [table]).fetchall()
        tiers: dict[int, list[str]] = {}
        for rel, size in rows:
            tiers.setdefault(int(math.log(max(size, 1), INTERNAL_TIER)), []).append(rel)
        rels = next((r for _, r in sorted(tiers.items()) if len(r) >= INTERNAL_COMPACT_FILES), None)
        if rels is None:
            return
        src = f"read_parquet({_sql_list(self._abs(rels))})"
        rel = f"{table}/part-{self.tag}-c.parquet"
        self._copy_into(table, rel, None, run_id, select.format(src=src))
        self._retire(rels)
        new_files.append(rel)

    def _parquet_views(self, tables) -> None:
        for table in tables:
            self.con.execute(parquet_view_sql(table, self._abs(live_files(self.con, table)),
                                              uniform_schema(self.con, table)))

    def _recreate_views(self) -> None:
        """Views of the tables whose live files changed in this run; the analyst views when
        their SQL changed (a view binds its sources when made, which reads every file footer:
        seconds on a big warehouse, so never for nothing)."""
        from newsetl.sqlfiles import create_views, views_version

        self._parquet_views([t for t in schema.PARTITIONED_TABLES
                             if live_files(self.con, t) != self.open_files[t] or self.migrated_files])
        if get_meta(self.con, "views") != views_version():
            create_views(self.con)
            set_meta(self.con, "views", views_version())

    def _record_run(self, row: dict) -> None:
        df = schema.conform(pl.DataFrame([row], infer_schema_length=None, strict=False), "runs")
        self.con.register("b_run", df.to_arrow())
        self.con.execute("delete from runs where run_id in (select run_id from b_run)")
        self.con.execute("insert into runs select * from b_run")
        self.con.unregister("b_run")

    def table_counts(self) -> dict[str, int]:
        out = {}
        for t in schema.PARTITIONED_TABLES:
            out[t] = self.con.execute("select coalesce(sum(rows), 0) from _files where table_name = ? "
                                      "and retired_at is null", [t]).fetchall()[0][0]
        for t in schema.CATALOG_TABLES:
            out[t] = self.con.execute(f"select count(*) from {t}").fetchall()[0][0]
        return out

    def manifest(self) -> dict:
        return build_manifest(self.con, self.root)

    def _swap(self, new_files: list[str], retired: list[str]) -> None:
        """Commit: journal, then links, catalog rename, retired links out, manifest."""
        visible = lambda rels: [r for r in rels if not r.startswith("_")]  # noqa: E731
        manifest = self.manifest()
        self.con.execute("checkpoint")
        self.con.close()
        _fsync(self.staging)
        journal = {"catalog": str(self.staging), "link": visible(new_files), "unlink": visible(retired),
                   "manifest": manifest}
        _write_json_atomic(journal, self.settings.state_dir / JOURNAL)  # the commit point
        _step(self.settings, "journal")
        _apply_journal(self.settings, journal)
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def abort(self) -> None:
        try:
            self.con.close()
        except Exception:
            pass
        self.staging.unlink(missing_ok=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def build_manifest(con, parquet_dir: Path) -> dict:
    """Every live file of the Hive tree per table, with partition, rows and bytes."""
    tables: dict[str, dict] = {}
    rows = con.execute("select table_name, published_date, path, rows, bytes from _files where retired_at is null "
                       "and table_name not like '\\_%' escape '\\' order by table_name, published_date, path").fetchall()
    for t in schema.PARTITIONED_TABLES:
        tables[t] = {"partitioned": True, "path": f"{t}/", "rows": 0, "bytes": 0, "partitions": []}
    for t, day, rel, n, size in rows:
        e = tables.setdefault(t, {"partitioned": True, "path": f"{t}/", "rows": 0, "bytes": 0, "partitions": []})
        e["partitions"].append({PARTITION_COLUMN: None if day is None else day.isoformat(), "path": rel,
                           "rows": n, "bytes": size})
        e["rows"] += n
        e["bytes"] += size
    for t in schema.CATALOG_TABLES:
        tables[t] = {"partitioned": False, "rows": con.execute(f"select count(*) from {t}").fetchall()[0][0],
                     "download": f"_tables/{t}.parquet (newsetl export) or /download/{t}.parquet (newsetl serve)"}
    last = con.execute("select * from runs order by coalesce(finished_at, started_at) desc nulls last limit 1").fetchall()
    cols = [d[0] for d in con.description] if last else []
    return {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "layout": f"<table>/{PARTITION_COLUMN}=YYYY-MM-DD/part-*.parquet (Hive); undated: "
                  f"{PARTITION_COLUMN}={NULL_PARTITION}",
        "null_partition": NULL_PARTITION,
        "tables": tables,
        "last_run": dict(zip(cols, last[0])) if last else None,
    }


# ---------------------------------------------------------------------------- repair


def _catalog_usable(settings: Settings) -> bool:
    if not settings.db_path.exists():
        return False
    try:
        con = duckdb.connect(str(settings.db_path), read_only=True)
        try:
            con.execute("select count(*) from _files").fetchall()
        finally:
            con.close()
        return True
    except duckdb.Error:
        return False


def repair(settings: Settings, wait_seconds: float = 0.0) -> list[str]:
    """`newsetl repair`: bring a warehouse back to one whole, consistent state.

    - a committed run whose journal was interrupted is finished; a killed run's scratch
      and unlisted data files are deleted (what every writer does first);
    - a missing or unreadable catalog is rebuilt from the Hive tree (the live files):
      entities, duplicate clusters and the internal evidence and duplicate keys are
      recomputed from the data; the history in `runs` and `rejects` comes back from the last
      `newsetl export` up to its day, or starts empty (said);
    - the Hive tree is made to hold exactly the live files again, and the manifest rewritten.
    Returns what it did, one line each."""
    done: list[str] = []
    with writer_lock(settings, wait_seconds):
        scratch = sorted(p.name for pattern in ("run-*", "catalog.staging.duckdb*")
                         for p in settings.state_dir.glob(pattern))
        if recover(settings):
            done.append("finished an interrupted run from its journal")
        elif scratch:  # a run killed before its commit point
            done.append(f"removed what a killed run left unfinished ({', '.join(scratch)}): nothing of it had landed")
        if not _catalog_usable(settings):
            history = _rebuild_catalog(settings)
            done.append(f"rebuilt the catalog {settings.db_path} from the Parquet tree "
                        f"(entities, duplicate clusters and evidence recomputed; {history})")
        con = duckdb.connect(str(settings.db_path), read_only=True)
        try:
            listed = [r for (r,) in con.execute("select path from _files where retired_at is null").fetchall()]
        finally:
            con.close()
        missing = [r for r in listed if not (settings.parquet_dir / FILES / r).exists()]
        if missing:
            raise WarehouseDamaged(f"{len(missing)} data file(s) listed by the catalog are gone (e.g. "
                                   f"{missing[0]}): restore them from a backup; nothing was changed")
        w = Writer(settings)
        try:
            live = {r for (r,) in w.con.execute("select path from _files where retired_at is null").fetchall()
                    if not r.startswith("_")}
            stray = [p.relative_to(w.root).as_posix() for t in schema.PARTITIONED_TABLES
                     for p in (w.root / t).glob("*/*.parquet") if p.relative_to(w.root).as_posix() not in live]
            absent = sorted(r for r in live if not (w.root / r).exists())
            if stray or absent:
                done.append(f"Hive tree: {len(absent)} link(s) added, {len(stray)} stray file(s) removed")
            w._recreate_views()
            w._swap(absent, stray)
        except BaseException:
            w.abort()
            raise
    return done or ["nothing to repair"]


def _restore_history(con, root: Path) -> str:
    """`runs` and `rejects` from the whole-table files of the last `newsetl export`
    (`_tables/<table>.parquet`), where there are any: they live only in the catalog, and the
    export holds them up to its day. Returns what it restored, for repair to say."""
    from newsetl.export import TABLES_DIR

    files = {t: root / TABLES_DIR / f"{t}.parquet" for t in ("runs", "rejects")}
    if not all(f.exists() for f in files.values()):
        return "run history and rejects start empty (no whole-table export of them to restore)"
    try:
        counts = {}
        for table, f in files.items():
            have = set(schema.columns(table))
            cols = [c for c in pq.read_schema(f).names if c in have]
            con.execute(f"insert into {table} by name select {', '.join(cols)} from read_parquet(?)", [str(f)])
            counts[table] = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    except (duckdb.Error, OSError, ValueError) as exc:
        for table in files:
            con.execute(f"delete from {table}")
        return f"run history and rejects start empty (the export in {TABLES_DIR}/ is unreadable: {exc})"
    when = datetime.fromtimestamp(files["runs"].stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{counts['runs']} runs and {counts['rejects']} rejects restored from the export of {when} in "
            f"{TABLES_DIR}/; runs after it are not in the history")


def _rebuild_catalog(settings: Settings) -> str:
    """A new catalog whose live files are the Hive tree's; derived tables recomputed, run
    history restored from the last export if any (`_restore_history`, whose line it returns)."""
    from newsetl.transforms.boilerplate import corpus_evidence
    from newsetl.transforms.dedup import cluster_duplicates, dedup_keys
    from newsetl.transforms.entities import entities_from_counts

    root = settings.parquet_dir
    for leftover in (settings.db_path, Path(str(settings.db_path) + ".wal")):
        if leftover.exists():
            leftover.rename(leftover.with_name(leftover.name + ".damaged"))
    tmp = settings.state_dir / "catalog.rebuild.duckdb"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp), config=duckdb_config(settings))
    ensure_catalog(con)
    history = _restore_history(con, root)
    tag = f"repair-{uuid.uuid4().hex[:6]}"
    for table in schema.PARTITIONED_TABLES:
        for vis in sorted((root / table).glob("*/*.parquet")):
            rel = vis.relative_to(root).as_posix()
            prim = root / FILES / rel
            if not prim.exists():
                prim.parent.mkdir(parents=True, exist_ok=True)
                os.link(vis, prim)
            value = vis.parent.name.split("=", 1)[1]
            day = None if value == NULL_PARTITION else datetime.strptime(value, "%Y-%m-%d").date()
            register_file(con, table, day, rel, vis, tag)
    # internal tables are rebuilt below: their old files are no longer listed (deleted as orphans)
    for table in schema.PARTITIONED_TABLES:
        con.execute(parquet_view_sql(table, [str(root / FILES / r) for r in live_files(con, table)],
                                     uniform_schema(con, table)))
    backfill_derived(con, root / FILES)
    ents = schema.conform(entities_from_counts(stored_counts(con)), "entities")
    con.register("_e", ents.to_arrow())
    con.execute("insert into entities select * from _e")
    arts = query_pl(con, "select article_id, text, published_at, source, title from articles")
    clusters = cluster_duplicates(arts.select("article_id", "text", "published_at"))
    sizes = clusters.group_by("cluster_id").agg(pl.len().alias("n"))
    multi = schema.conform(clusters.join(sizes, on="cluster_id").filter(pl.col("n") > 1), "article_clusters")
    con.register("_c", multi.to_arrow())
    con.execute("insert into article_clusters select * from _c")
    internal = {
        DEDUP_KEYS: pl.DataFrame({"article_id": arts["article_id"], "key": dedup_keys(arts["text"])})
        .explode("key").drop_nulls("key"),
    }
    paras = query_pl(con, "select article_id, text from paragraphs")
    ev = corpus_evidence(paras, arts.select("article_id", "source", "title"))
    internal[EVIDENCE] = pl.DataFrame({"h": evidence_hashes(ev), "delta": ev["article_count"]},
                                      schema={"h": pl.Int64, "delta": pl.Int64})
    for table, df in internal.items():
        shutil.rmtree(root / FILES / table, ignore_errors=True)
        (root / FILES / table).mkdir(parents=True, exist_ok=True)
        rel = f"{table}/part-{tag}.parquet"
        df.write_parquet(root / FILES / rel, compression=COMPRESSION)
        register_file(con, table, None, rel, root / FILES / rel, tag)
    con.execute("checkpoint")
    con.close()
    os.replace(tmp, settings.db_path)
    return history
