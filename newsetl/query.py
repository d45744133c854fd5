"""Safe, read-only ad-hoc SQL on the warehouse (`newsetl sql` and the web page).

Two independent layers keep a query inside the warehouse:

1. `check_read_only` refuses, before anything runs, every statement that is not one
   SELECT/WITH query (DuckDB's own parser decides: `duckdb.extract_statements` and the
   statement's type), and every query that names a file, URL or extension: table
   functions outside a small allow-list (read_csv, read_parquet, glob, query, ...),
   file-looking string literals used as tables ('x.csv'), and a few scalar functions.
   The syntax tree comes from DuckDB (`json_serialize_sql`), not from regexes.
2. The connection itself is opened read-only with `enable_external_access=false` and
   `lock_configuration=true`, no extension autoload/autoinstall, and a private
   extension directory inside the warehouse, so even a query that slipped through 1
   can neither read nor write a file outside news.duckdb, nor change that setting.

Every query has a row cap and a time limit: a timer thread interrupts the connection.
The writer replaces news.duckdb by an atomic rename, so a connection is opened per
query and always sees whole batches.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from newsetl.settings import Settings

FORMATS = ("table", "csv", "json", "parquet")
# CLI: an analyst waiting at a terminal; generous but bounded.
DEFAULT_TIMEOUT_S = 300.0
# Rows per Arrow batch while streaming a result (DuckDB's vector size is 2048).
BATCH_ROWS = 8192

# Table functions that only read the database's own catalog or generate values.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {
        "range", "generate_series", "unnest",
        "duckdb_tables", "duckdb_views", "duckdb_columns", "duckdb_schemas",
        "duckdb_databases", "duckdb_types", "duckdb_functions", "duckdb_constraints",
        "duckdb_indexes", "duckdb_keywords",
        "pragma_table_info", "pragma_show", "pragma_version", "pragma_database_size",
    }
)
# Scalar functions that read the environment, run other SQL or touch files.
DENIED_FUNCTIONS = frozenset(
    {"getenv", "query", "query_table", "glob", "sniff_csv", "current_setting",
     "json_execute_serialized_sql", "load_extension", "which_secret"}
)
DENIED_PREFIXES = ("read_", "parquet_", "iceberg_", "delta_", "sqlite_", "postgres_", "mysql_")
# A table name with one of these is a file path or URL for DuckDB's replacement scans.
_PATHLIKE = set("/\\:.*?~")

_STATEMENT_WORD = {
    duckdb.StatementType.COPY: "COPY",
    duckdb.StatementType.COPY_DATABASE: "COPY",
    duckdb.StatementType.ATTACH: "ATTACH",
    duckdb.StatementType.DETACH: "DETACH",
    duckdb.StatementType.LOAD: "INSTALL/LOAD",
    duckdb.StatementType.EXTENSION: "extension",
    duckdb.StatementType.PRAGMA: "PRAGMA",
    duckdb.StatementType.SET: "SET/RESET/USE",
    duckdb.StatementType.VARIABLE_SET: "SET VARIABLE",
    duckdb.StatementType.EXPORT: "EXPORT",
    duckdb.StatementType.INSERT: "INSERT",
    duckdb.StatementType.UPDATE: "UPDATE",
    duckdb.StatementType.DELETE: "DELETE",
    duckdb.StatementType.MERGE_INTO: "MERGE",
    duckdb.StatementType.CREATE: "CREATE",
    duckdb.StatementType.CREATE_FUNC: "CREATE FUNCTION",
    duckdb.StatementType.DROP: "DROP",
    duckdb.StatementType.ALTER: "ALTER",
    duckdb.StatementType.CALL: "CALL",
    duckdb.StatementType.VACUUM: "VACUUM",
    duckdb.StatementType.TRANSACTION: "transaction",
    duckdb.StatementType.EXPLAIN: "EXPLAIN",
    duckdb.StatementType.PREPARE: "PREPARE",
    duckdb.StatementType.EXECUTE: "EXECUTE",
}


class QueryRefused(ValueError):
    """The query is not a single read-only query on the warehouse (user error)."""


class QueryFailed(RuntimeError):
    """The query was allowed but DuckDB could not run it (SQL error, time limit, no warehouse)."""


@dataclass
class QueryResult:
    table: pa.Table
    truncated: bool  # True when more rows existed than max_rows

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


# --------------------------------------------------------------------------- safety


def check_read_only(sql: str) -> None:
    """Return None when `sql` is one read-only query on the warehouse, else raise
    QueryRefused with a one-line message an analyst can act on."""
    if sql is None or not sql.strip():
        raise QueryRefused("empty query: write one SELECT (or WITH ... SELECT) statement")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryRefused(f"SQL syntax error: {_first_line(e)}") from None
    if len(statements) != 1:
        raise QueryRefused(
            f"only one statement is allowed, found {len(statements)}: "
            "send a single SELECT (or WITH ... SELECT) query"
        )
    stmt = statements[0]
    if stmt.type == duckdb.StatementType.MULTI:
        # DuckDB turns a PIVOT whose values are not listed into two statements (one reads
        # the values, one pivots): listing them keeps it one SELECT.
        raise QueryRefused(
            "a PIVOT without an IN (...) list runs more than one statement, which is not allowed here: "
            "list the values, e.g. PIVOT t ON label IN ('PERSON', 'ORG') USING count(*)"
        )
    if stmt.type != duckdb.StatementType.SELECT:
        word = _STATEMENT_WORD.get(stmt.type, stmt.type.name)
        raise QueryRefused(
            f"{word} statements are not allowed: this is a read-only warehouse, "
            "only a single SELECT (or WITH ... SELECT) query can run"
        )
    _check_tree(_syntax_tree(stmt.query))


def _syntax_tree(sql: str) -> dict:
    con = duckdb.connect(config={"enable_external_access": False, "lock_configuration": True})
    try:
        raw = con.execute("select json_serialize_sql(?::varchar)", [sql]).fetchall()[0][0]
    finally:
        con.close()
    tree = json.loads(raw)
    if tree.get("error"):
        raise QueryRefused(f"SQL syntax error: {tree.get('error_message', 'cannot parse the query')}")
    return tree


def _check_tree(node) -> None:
    if isinstance(node, list):
        for item in node:
            _check_tree(item)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "TABLE_FUNCTION":
        fn = node.get("function") or {}
        name = str(fn.get("function_name", "")).lower()
        if name not in ALLOWED_TABLE_FUNCTIONS:
            raise QueryRefused(
                f"table function {name}() is not allowed: queries may only read the "
                "warehouse's tables and views (no file, network or extension access)"
            )
    elif kind == "BASE_TABLE":
        name = str(node.get("table_name", ""))
        if _PATHLIKE & set(name):
            raise QueryRefused(
                f"'{name}' looks like a file or URL used as a table: queries may only "
                "read the warehouse's tables and views (no file or network access)"
            )
    if node.get("class") == "FUNCTION":
        name = str(node.get("function_name", "")).lower()
        if name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES):
            raise QueryRefused(
                f"function {name}() is not allowed: queries may only read the "
                "warehouse's tables and views"
            )
    for value in node.values():
        if isinstance(value, (dict, list)):
            _check_tree(value)


# --------------------------------------------------------------------------- running


def reader_config(settings: Settings) -> dict:
    """DuckDB config for every reader connection (defence in depth, see module doc). File
    access is switched off right after connecting (`connect_read_only`), once the one
    folder the catalog's views read, the warehouse's Parquet files, is allowed."""
    return {
        "autoload_known_extensions": False,
        "autoinstall_known_extensions": False,
        # no Python replacement scans: a query never sees the server's own variables
        "python_enable_replacements": False,
        "extension_directory": str(settings.warehouse / ".duckdb_extensions"),
        "memory_limit": settings.reader_memory_limit,
    }


# Connections to one file in one process share a DuckDB instance and its settings: opening
# and locking one must not interleave with another reader doing the same.
_OPEN_LOCK = threading.Lock()


def connect_read_only(settings: Settings) -> duckdb.DuckDBPyConnection:
    with _OPEN_LOCK:
        return _connect_read_only(settings)


def _connect_read_only(settings: Settings) -> duckdb.DuckDBPyConnection:
    db = Path(settings.db_path)
    if not db.exists():
        raise QueryFailed(f"no warehouse database at {db}: run `newsetl run SOURCE...` first "
                          "(or `newsetl repair` if the warehouse has data)")
    try:
        con = duckdb.connect(str(db), read_only=True, config=reader_config(settings))
    except duckdb.Error as e:
        raise QueryFailed(f"cannot open {db} read-only: {_first_line(e)}; `newsetl repair` rebuilds it") from None
    # The views read Parquet files under <warehouse>/parquet/: that folder and nothing else.
    allowed = str(Path(settings.parquet_dir).resolve()).replace("'", "''") + "/"
    try:
        # Times as stored (UTC), on every machine: exports and `newsetl sql --out` label them
        # UTC as the landed files do, not with the machine's zone ("Etc/UTC", "Europe/Paris").
        con.execute("set global TimeZone = 'UTC'").fetchall()  # the instance's, for every connection
        con.execute(f"set allowed_directories = ['{allowed}']").fetchall()
        con.execute("set enable_external_access = false").fetchall()
        con.execute("set lock_configuration = true").fetchall()
    except duckdb.InvalidInputException:
        # Connections to one file in one process share a database instance: another reader
        # locked it already. Go on only if it is locked exactly this way.
        got = con.execute("select current_setting('enable_external_access'), current_setting('lock_configuration'), "
                          "current_setting('allowed_directories'), current_setting('TimeZone')").fetchall()[0]
        if (got[0] is not False or got[1] is not True or allowed.replace("''", "'") not in list(got[2] or [])
                or got[3] != "UTC"):
            con.close()
            raise QueryFailed(f"cannot lock down a reader of {db}: it is open in this process with other settings")
    return con


def unique_names(names: list[str]) -> list[str]:
    """Result column names made unique as DuckDB's CREATE TABLE AS does ("label", "label"
    -> "label", "label_1"; a taken name is skipped): a join selecting `e.label, m.label`
    would otherwise lose a column in JSON and break the table and Parquet writers."""
    seen: set[str] = set()
    out = []
    for name in names:
        new, k = name, 1
        while new in seen:
            new, k = f"{name}_{k}", k + 1
        seen.add(new)
        out.append(new)
    return out


def execute(
    sql: str,
    settings: Settings,
    max_rows: int | None = None,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    params: list | None = None,
    checked: bool = False,
) -> QueryResult:
    """Check `sql` (unless `checked`: trusted named queries), run it on a fresh read-only
    connection and return at most `max_rows` rows as an Arrow table."""
    if not checked:
        check_read_only(sql)
    con = connect_read_only(settings)
    timer = None
    timed_out = threading.Event()
    if timeout_s:

        def interrupt() -> None:
            timed_out.set()
            con.interrupt()

        timer = threading.Timer(timeout_s, interrupt)
        timer.daemon = True
        timer.start()
    try:
        reader = con.sql(sql, params=params or None).to_arrow_reader(BATCH_ROWS)
        batches, n, truncated = [], 0, False
        for batch in reader:
            if max_rows is not None and n + batch.num_rows > max_rows:
                batches.append(batch.slice(0, max_rows - n))
                truncated = True
                break
            batches.append(batch)
            n += batch.num_rows
        table = printable(pa.Table.from_batches(batches, schema=reader.schema))
        names = unique_names(table.column_names)
        if names != table.column_names:
            table = table.rename_columns(names)
        return QueryResult(table, truncated)
    except duckdb.Error as e:
        if timed_out.is_set():
            raise QueryFailed(f"query stopped after the {timeout_s:g} s time limit") from None
        raise QueryFailed(_first_line(e)) from None
    finally:
        if timer is not None:
            timer.cancel()
        con.close()


def _has_interval(t: pa.DataType) -> bool:
    if pa.types.is_interval(t):
        return True
    return any(_has_interval(t.field(i).type) for i in range(t.num_fields))


def printable(table: pa.Table) -> pa.Table:
    """INTERVAL columns (`finished_at - started_at`) as DuckDB writes them ("1 day
    02:03:04.5"): Arrow's month-day-nano type has no CSV, Parquet or Polars form, and
    JSON would get a bare [months, days, nanoseconds]. Inside a list or struct the query
    has to cast them itself."""
    for i, field in enumerate(table.schema):
        if pa.types.is_interval(field.type):
            text = [None if v is None else interval_text(v.months, v.days, v.nanoseconds)
                    for v in table.column(i).to_pylist()]
            table = table.set_column(i, pa.field(field.name, pa.string()), pa.array(text, pa.string()))
        elif _has_interval(field.type):
            raise QueryFailed(f"column {field.name!r} holds INTERVAL values inside a list or struct: "
                              "cast them to VARCHAR in the query")
    return table


def interval_text(months: int, days: int, nanoseconds: int) -> str:
    """An interval as DuckDB's CAST(... AS VARCHAR) writes it: "1 year 2 months 3 days
    -04:05:06.7"."""
    years = int(months / 12)  # toward zero, as DuckDB splits them
    parts = [f"{n} {unit}{'' if abs(n) == 1 else 's'}"
             for n, unit in ((years, "year"), (months - 12 * years, "month"), (days, "day")) if n]
    micros = int(nanoseconds / 1000)
    if micros or not parts:
        sign, micros = ("-" if micros < 0 else ""), abs(micros)
        hours, rest = divmod(micros, 3_600_000_000)
        minutes, rest = divmod(rest, 60_000_000)
        seconds, fraction = divmod(rest, 1_000_000)
        clock = f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
        parts.append(clock + (f".{fraction:06d}".rstrip("0") if fraction else ""))
    return " ".join(parts)


def run_query(
    sql: str,
    settings: Settings,
    fmt: str = "table",
    out: str | Path | BinaryIO | None = None,
    max_rows: int | None = None,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
) -> QueryResult:
    """Run a read-only query and write it as `fmt` to `out` (a path, a binary stream, or
    None for stdout). Raises QueryRefused / QueryFailed."""
    if fmt not in FORMATS:
        raise QueryRefused(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    result = execute(sql, settings, max_rows=max_rows, timeout_s=timeout_s)
    write_result(result, fmt, out)
    return result


def write_result(result: QueryResult, fmt: str, out: str | Path | BinaryIO | None = None) -> None:
    if isinstance(out, (str, Path)):
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as f:
            _write(result, fmt, f)
        tmp.replace(path)
    elif out is None:
        stream = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        if stream is None:  # e.g. captured by a test harness as text
            buf = io.BytesIO()
            _write(result, fmt, buf)
            sys.stdout.write(buf.getvalue().decode("utf-8", "replace"))
        else:
            sys.stdout.flush()
            _write(result, fmt, stream)
            stream.flush()
    else:
        _write(result, fmt, out)


def _write(result: QueryResult, fmt: str, f: BinaryIO) -> None:
    table = result.table
    if fmt == "parquet":
        pq.write_table(table, f)
    elif fmt == "csv":
        pacsv.write_csv(flat_for_csv(table), f)
    elif fmt == "json":
        # One array, written a batch of rows at a time: the Python objects of the whole
        # result at once took 2.7 GB for 5M short rows (CSV: 0.3 GB).
        sep = b"["
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            if batch.num_rows:
                chunk = json.dumps(to_records(pa.Table.from_batches([batch])), default=json_default, ensure_ascii=False)
                f.write(sep + chunk[1:-1].encode())
                sep = b", "
        f.write(b"[]\n" if sep == b"[" else b"]\n")
    elif fmt == "table":
        f.write(format_table(result).encode())
    else:
        raise QueryRefused(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def format_table(result: QueryResult) -> str:
    import polars as pl

    df = pl.from_arrow(flat_for_csv(result.table)) if result.table.num_columns else pl.DataFrame()
    with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=60, tbl_hide_dataframe_shape=True):
        text = str(df)
    note = f"({result.num_rows} rows{', truncated' if result.truncated else ''})"
    return f"{text}\n{note}\n"


def flat_for_csv(table: pa.Table) -> pa.Table:
    """CSV cannot hold lists or structs: write those columns as JSON text."""
    cols = []
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_nested(col.type):
            col = pa.array(
                [None if v is None else json.dumps(v, default=json_default, ensure_ascii=False)
                 for v in col.to_pylist()],
                pa.string(),
            )
        cols.append(col)
    return pa.table(cols, names=table.column_names) if cols else table


def to_records(table: pa.Table) -> list[dict]:
    return [{k: _clean(v) for k, v in row.items()} for row in table.to_pylist()]


def to_rows(table: pa.Table) -> list[list]:
    cols = [[_clean(v) for v in c.to_pylist()] for c in table.columns]
    return [list(r) for r in zip(*cols)]


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None  # JSON has no NaN/Infinity
    if isinstance(v, list):
        return [_clean(x) for x in v]
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def json_default(v):
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    if isinstance(v, timedelta):
        return v.total_seconds()
    if isinstance(v, Decimal):
        # sum() of an integer column is a HUGEINT, which reaches Python as a Decimal: keep
        # it a whole number, and never round a value a float cannot hold exactly.
        if v == v.to_integral_value():
            return int(v)
        return float(v) if Decimal(repr(float(v))) == v else str(v)
    if isinstance(v, bytes):
        return v.hex()
    return str(v)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# --------------------------------------------------------------------------- CLI


def format_for(out: str | None) -> str:
    """The format `newsetl sql --out FILE` writes when --format is not given: the one
    FILE's extension names (.csv, .json, .parquet), else the text table."""
    suffix = Path(out).suffix.lower().lstrip(".") if out else ""
    return suffix if suffix in FORMATS and suffix != "table" else "table"


def sql_command(query: str, fmt: str | None = None, out: str | None = None, settings: Settings | None = None) -> int:
    """`newsetl sql`: exit 0 on success, 2 when refused, 1 when the query failed.
    Errors are one line on stderr, never a traceback. A reader that stops early
    (`newsetl sql ... | head`) ends the command quietly, as it would `cat`."""
    settings = settings or Settings.from_env()
    named = format_for(out)
    if fmt and out is not None and named != "table" and named != fmt:
        # A file called x.csv that holds JSON misleads every reader after us.
        print(f"newsetl sql: refused: --out {out} names {named} but --format is {fmt}: "
              f"change the file's extension or drop --format", file=sys.stderr)
        return 2
    try:
        result = run_query(query, settings, fmt=fmt or named, out=out)
    except BrokenPipeError:
        if out is not None:
            raise
        # Python would report the closed pipe again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command the pipe's end closed
    except QueryRefused as e:
        print(f"newsetl sql: refused: {e}", file=sys.stderr)
        return 2
    except QueryFailed as e:
        print(f"newsetl sql: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"newsetl sql: cannot write {out}: {e.strerror or e}", file=sys.stderr)
        return 1
    if out is not None:
        print(f"wrote {result.num_rows} rows to {out}", file=sys.stderr)
    return 0
