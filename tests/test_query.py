"""newsetl.query: the read-only guard, limits, output formats and the `newsetl sql` command."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_surface import build_warehouse  # noqa: E402

from newsetl.query import (  # noqa: E402
    QueryFailed,
    QueryRefused,
    check_read_only,
    connect_read_only,
    execute,
    run_query,
    sql_command,
)
from newsetl.settings import Settings  # noqa: E402

# (query, words the one-line message must contain)
REFUSED = [
    ("select * from read_csv('/etc/passwd')", "read_csv"),
    ("select * from read_csv_auto('/etc/passwd')", "read_csv_auto"),
    ("select * from read_parquet('data/warehouse/parquet/articles/*/*.parquet')", "read_parquet"),
    ("select * from read_json('x.json')", "read_json"),
    ("select * from read_text('/etc/hostname')", "read_text"),
    ("select * from read_blob('/etc/hostname')", "read_blob"),
    ("select * from parquet_scan('x.parquet')", "parquet_scan"),
    ("select * from glob('/etc/*')", "glob"),
    ("select * from query('select 1')", "query"),
    ("select * from '/etc/passwd'", "file or URL"),
    ("select * from 'articles.csv'", "file or URL"),
    ("select * from 'https://example.invalid/x.parquet'", "file or URL"),
    ("select count(*) from articles where article_id in (select * from read_csv('/etc/passwd'))", "read_csv"),
    ("with x as (select * from glob('/*')) select * from x", "glob"),
    ("select getenv('HOME')", "getenv"),
    ("copy articles to '/tmp/out.csv'", "COPY"),
    ("copy (select 1) to '/tmp/out.parquet' (format parquet)", "COPY"),
    ("attach '/tmp/other.duckdb' as other", "ATTACH"),
    ("detach news", "DETACH"),
    ("install httpfs", "INSTALL"),
    ("load httpfs", "LOAD"),
    ("pragma database_list", "PRAGMA"),
    ("set enable_external_access = true", "SET"),
    ("export database '/tmp/dump'", "EXPORT"),
    ("select 1; select 2", "one statement"),
    ("select 1; drop table articles", "one statement"),
    ("delete from articles", "DELETE"),
    ("insert into runs (run_id) values ('x')", "INSERT"),
    ("update articles set title = 'x'", "UPDATE"),
    ("drop table articles", "DROP"),
    ("create table x as select 1", "CREATE"),
    ("call pragma_version()", "CALL"),
    ("", "empty"),
    ("   ", "empty"),
    ("selec 1", "syntax error"),
    # a PIVOT with its values unlisted is two statements to DuckDB: say how to make it one
    ("pivot entity_mentions on label using count(*)", "list the values, e.g. PIVOT t ON label IN ("),
]

ALLOWED = [
    "select 1",
    "select * from articles",
    "with a as (select * from articles) select count(*) from a",
    "from entity_daily select name",
    "select * from range(3)",
    "select * from duckdb_tables()",
    "describe articles",
    "show tables",
    "summarize articles",
    "select 'a.csv' as not_a_table",  # a string literal as a value is fine
    "select 1;",
    "pivot entity_mentions on label in ('PERSON', 'ORG') using count(*)",
]


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return build_warehouse(tmp_path_factory.mktemp("query"))


@pytest.mark.parametrize("sql,words", REFUSED)
def test_refused(sql, words):
    with pytest.raises(QueryRefused) as info:
        check_read_only(sql)
    msg = str(info.value)
    assert words.lower() in msg.lower()
    assert "\n" not in msg


@pytest.mark.parametrize("sql", ALLOWED)
def test_allowed(sql):
    assert check_read_only(sql) is None


def test_connection_blocks_files_even_without_the_guard(settings, tmp_path):
    """Defence in depth: a query that bypasses check_read_only still cannot touch files."""
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    con = connect_read_only(settings)
    try:
        with pytest.raises(duckdb.Error, match="disabled|Permission"):
            con.execute(f"select * from read_csv('{secret}')").fetchall()
        with pytest.raises(duckdb.Error, match="locked|Cannot change"):
            con.execute("set enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute(f"copy (select 1) to '{tmp_path / 'out.csv'}'")
        with pytest.raises(duckdb.Error):
            con.execute("delete from articles")
    finally:
        con.close()
    assert not (tmp_path / "out.csv").exists()


def test_execute_unchecked_file_read_fails_cleanly(settings):
    with pytest.raises(QueryFailed, match="disabled|Permission"):
        execute("select * from read_csv('/etc/passwd')", settings, checked=True)


def test_row_cap(settings):
    r = execute("select * from range(100000)", settings, max_rows=10)
    assert r.num_rows == 10 and r.truncated
    r = execute("select * from articles", settings, max_rows=10)
    assert r.num_rows == 5 and not r.truncated


def test_time_limit_interrupts(settings):
    with pytest.raises(QueryFailed, match="time limit"):
        execute("select count(*) from range(1000000000) a, range(100000) b", settings, timeout_s=0.5)


def test_sql_error_is_query_failed(settings):
    with pytest.raises(QueryFailed, match="nope"):
        execute("select * from nope", settings)


def test_missing_warehouse(tmp_path):
    with pytest.raises(QueryFailed, match="no warehouse database"):
        execute("select 1", Settings(warehouse=tmp_path / "none"))


def test_formats_to_files(settings, tmp_path):
    sql = "select article_id, authors, published_date, tone from articles order by article_id"
    run_query(sql, settings, fmt="parquet", out=tmp_path / "r.parquet")
    t = pq.read_table(tmp_path / "r.parquet")
    assert t.column("article_id").to_pylist() == ["a1", "a2", "a3", "a4", "a5"]
    assert t.schema.field("authors").type.value_type == "string"
    # times are labelled UTC, as in the landed files, whatever the machine's zone
    run_query("select timestamptz '2026-11-01 08:00:00+02' as t", settings, fmt="parquet", out=tmp_path / "t.parquet")
    assert str(pq.read_schema(tmp_path / "t.parquet").field("t").type) == "timestamp[us, tz=UTC]"

    run_query(sql, settings, fmt="csv", out=tmp_path / "r.csv")
    c = pacsv.read_csv(tmp_path / "r.csv")
    assert c.column("article_id").to_pylist() == ["a1", "a2", "a3", "a4", "a5"]
    assert json.loads(c.column("authors")[0].as_py()) == ["Reporter"]

    run_query(sql, settings, fmt="json", out=tmp_path / "r.json")
    j = json.loads((tmp_path / "r.json").read_text())
    assert j[0] == {"article_id": "a1", "authors": ["Reporter"], "published_date": "2026-11-01", "tone": 2.0}
    assert j[4]["published_date"] is None

    buf = io.BytesIO()
    run_query(sql, settings, fmt="table", out=buf)
    text = buf.getvalue().decode()
    assert "a5" in text and "(5 rows)" in text


def test_unknown_format(settings):
    with pytest.raises(QueryRefused, match="unknown format"):
        run_query("select 1", settings, fmt="xml")


def test_sql_command_ok(settings, capsys):
    assert sql_command("select count(*) as n from entity_daily", "csv", None, settings) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ['"n"', "6"]


def test_sql_command_writes_out_file(settings, tmp_path, capsys):
    out = tmp_path / "sub" / "x.parquet"
    assert sql_command("select * from source_daily", "parquet", str(out), settings) == 0
    assert pq.read_table(out).num_rows == 3
    assert "wrote 3 rows" in capsys.readouterr().err


@pytest.mark.parametrize(
    "sql,code,words",
    [
        ("select * from read_csv('/etc/passwd')", 2, "refused: table function read_csv"),
        ("delete from articles", 2, "refused: DELETE"),
        ("select * from nope", 1, "error: Catalog Error"),
        ("select 1 +", 2, "syntax error"),
    ],
)
def test_sql_command_errors_are_one_line(settings, capsys, sql, code, words):
    assert sql_command(sql, "table", None, settings) == code
    err = capsys.readouterr().err
    assert words in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_readers_work_while_the_writer_renames_a_new_file(settings, tmp_path):
    """The writer builds a staging copy and renames it over news.duckdb; a query opened
    before the rename finishes on the old file, the next one sees the new data."""
    import os
    import shutil

    from conftest_surface import ROWS, write_db

    con = connect_read_only(settings)
    try:
        staging = settings.db_path.with_name("news.staging.duckdb")
        data = {k: list(v) for k, v in ROWS.items()}
        data["runs"] = data["runs"] + [dict(data["runs"][0], run_id="r2")]
        write_db(staging, data)
        os.replace(staging, settings.db_path)
        assert con.execute("select count(*) from runs").fetchall() == [(1,)]  # old snapshot
    finally:
        con.close()
    assert execute("select count(*) from runs", settings).table.to_pylist() == [{"count_star()": 2}]
    # put the module-scoped warehouse back as it was
    write_db(staging, ROWS)
    os.replace(staging, settings.db_path)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_repeated_column_names_are_made_unique_in_every_format(settings, tmp_path, capsys):
    # A join that selects `e.label, m.label` gives two columns of one name: the table
    # writer raised, JSON kept only the last one.
    sql = "select 1 as label, 2 as label, 3 as label_1, 'x' as label"
    result = execute(sql, settings)
    assert result.table.column_names == ["label", "label_1", "label_1_1", "label_2"]
    assert result.table.to_pylist() == [{"label": 1, "label_1": 2, "label_1_1": 3, "label_2": "x"}]
    for fmt in ("table", "csv", "json", "parquet"):
        assert sql_command(sql, fmt, str(tmp_path / f"r.{fmt}"), settings) == 0
    assert json.loads((tmp_path / "r.json").read_text()) == [{"label": 1, "label_1": 2, "label_1_1": 3, "label_2": "x"}]
    assert pq.read_table(tmp_path / "r.parquet").column_names == ["label", "label_1", "label_1_1", "label_2"]
    assert "label_1_1" in (tmp_path / "r.table").read_text()
    assert "error" not in capsys.readouterr().err


def test_interval_results_read_as_duckdb_writes_them_in_every_format(settings, tmp_path, capsys):
    """A run's duration (`finished_at - started_at`) is an INTERVAL: the CLI crashed with a
    traceback in table, CSV and Parquet, and JSON gave [months, days, nanoseconds]."""
    sql = ("select interval 1 day + interval 2 hour as a, interval 14 month - interval 3 day as b, "
           "timestamp '2024-01-01 00:00:02.5' - timestamp '2024-01-01' as c, null::interval as d")
    want = {"a": "1 day 02:00:00", "b": "1 year 2 months -3 days", "c": "00:00:02.5", "d": None}
    con = duckdb.connect()
    assert con.execute(f"select a::varchar, b::varchar, c::varchar from ({sql})").fetchone() == tuple(
        want[k] for k in "abc")  # DuckDB's own text
    for fmt in ("table", "csv", "json", "parquet"):
        assert sql_command(sql, fmt, str(tmp_path / f"r.{fmt}"), settings) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "r.json").read_text()) == [want]
    assert pq.read_table(tmp_path / "r.parquet").to_pylist() == [want]
    assert pacsv.read_csv(tmp_path / "r.csv").to_pylist() == [want]
    assert "1 year 2 months -3 days" in (tmp_path / "r.table").read_text()
    # Inside a list the query has to cast them: one clear line, no traceback.
    assert sql_command("select [interval 1 day] as l", "json", None, settings) == 1
    err = capsys.readouterr().err
    assert "cast them to VARCHAR" in err and "Traceback" not in err


def test_interval_text_matches_duckdb_on_random_intervals():
    import random

    from newsetl.query import interval_text

    rng = random.Random(7)
    con = duckdb.connect()
    for _ in range(300):
        months, days = rng.choice([0, rng.randint(-40, 40)]), rng.choice([0, rng.randint(-400, 400)])
        micros = rng.choice([0, rng.randint(-10**11, 10**11), rng.randint(-10**6, 10**6)])
        text, value = con.execute("select v::varchar, v from (select to_months(?) + to_days(?) "
                                  "+ to_microseconds(?) as v)", [months, days, micros]).fetchone()
        assert interval_text(months, days, micros * 1000) == text, (months, days, micros)


def test_sums_and_decimals_keep_their_digits_in_json(settings, capsys):
    """sum() of an integer column is a HUGEINT, which reached JSON as 98787.0."""
    sql = ("select sum(x) as total, 170141183460469231731687303715884105727::hugeint as big, "
           "1.25::decimal(10, 2) as price, 0.123456789012345678901234567::decimal(38, 27) as fine "
           "from (values (1), (2)) t(x)")
    assert sql_command(sql, "json", None, settings) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["total"] == 3 and isinstance(row["total"], int)
    assert row["big"] == 170141183460469231731687303715884105727
    assert row["price"] == 1.25
    assert row["fine"] == "0.123456789012345678901234567"  # a float would round it


def test_csv_keeps_letters_of_any_script_inside_lists(settings, capsys):
    assert sql_command("select ['Müller', '金正恩'] as aliases", "csv", None, settings) == 0
    assert capsys.readouterr().out.splitlines()[1] == '"[""Müller"", ""金正恩""]"'


def test_out_file_extension_picks_the_format_and_a_different_one_is_refused(settings, tmp_path, capsys):
    from newsetl.cli import main

    for name in ("r.parquet", "r.csv", "r.json", "r.txt"):
        assert main(["sql", "select 1 as n", "--warehouse", str(settings.warehouse), "--out", str(tmp_path / name)]) == 0
    assert pq.read_table(tmp_path / "r.parquet").to_pylist() == [{"n": 1}]
    assert (tmp_path / "r.csv").read_text().splitlines() == ['"n"', "1"]
    assert json.loads((tmp_path / "r.json").read_text()) == [{"n": 1}]
    assert "(1 rows)" in (tmp_path / "r.txt").read_text()
    capsys.readouterr()
    # CSV in a file named .parquet (it used to be written) misleads every reader of the file.
    assert main(["sql", "select 1 as n", "--warehouse", str(settings.warehouse), "--format", "csv",
                 "--out", str(tmp_path / "x.parquet")]) == 2
    assert not (tmp_path / "x.parquet").exists()
    assert "names parquet but --format is csv" in capsys.readouterr().err
    # An extension that names no format takes the one asked for; the same one is fine too.
    assert main(["sql", "select 1 as n", "--warehouse", str(settings.warehouse), "--format", "csv",
                 "--out", str(tmp_path / "x.dat")]) == 0
    assert (tmp_path / "x.dat").read_text().splitlines() == ['"n"', "1"]
    assert main(["sql", "select 1 as n", "--warehouse", str(settings.warehouse), "--format", "json",
                 "--out", str(tmp_path / "y.JSON")]) == 0
    assert json.loads((tmp_path / "y.JSON").read_text()) == [{"n": 1}]


def test_a_reader_that_stops_early_ends_the_command_quietly(settings):
    """`newsetl sql ... | head -1` printed "cannot write None: Broken pipe" and exited 1."""
    import os
    import subprocess

    env = {**os.environ, "NEWSETL_WAREHOUSE": str(settings.warehouse)}
    p = subprocess.Popen([sys.executable, "-m", "newsetl.cli", "sql", "select * from range(2000000)", "--format", "csv"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert p.stdout.readline() == b'"range"\n'
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 141
    assert err == ""


def test_json_written_in_batches_is_one_array(settings, tmp_path):
    from newsetl.query import BATCH_ROWS

    sql = f"select i, 'row ' || i as s, [i, i + 1] as l from range({2 * BATCH_ROWS + 5}) t(i)"
    assert sql_command(sql, "json", str(tmp_path / "r.json"), settings) == 0
    text = (tmp_path / "r.json").read_text()
    rows = json.loads(text)
    assert len(rows) == 2 * BATCH_ROWS + 5 and rows[-1] == {"i": 2 * BATCH_ROWS + 4, "s": f"row {2 * BATCH_ROWS + 4}",
                                                            "l": [2 * BATCH_ROWS + 4, 2 * BATCH_ROWS + 5]}
    assert text == json.dumps(rows, ensure_ascii=False) + "\n"
    assert sql_command("select 1 as n where false", "json", str(tmp_path / "e.json"), settings) == 0
    assert (tmp_path / "e.json").read_text() == "[]\n"
