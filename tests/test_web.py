"""newsetl.web over real HTTP (a ThreadingHTTPServer on an ephemeral loopback port)."""

from __future__ import annotations

import http.client
import io
import json
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_surface import build_warehouse  # noqa: E402

from newsetl.export import export_all  # noqa: E402
from newsetl.settings import Settings  # noqa: E402
from newsetl.web import make_app, make_server  # noqa: E402


def _serve(settings):
    srv = make_server(settings, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = build_warehouse(tmp_path_factory.mktemp("web"))
    export_all(settings)
    srv = _serve(settings)
    yield srv
    srv.shutdown()
    srv.server_close()


def request(srv, path: str, method: str = "GET"):
    """Raw request: the path goes on the wire as written (no client-side normalising)."""
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def sql(srv, q: str, fmt: str = "json", extra: str = ""):
    return request(srv, f"/api/sql?format={fmt}&q={quote(q)}{extra}")


def test_binds_loopback_by_default():
    import inspect

    from newsetl import web

    assert inspect.signature(web.serve_command).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(web.make_server).parameters["host"].default == "127.0.0.1"


def test_catalog_page(server):
    status, headers, body = request(server, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    for t in ("articles", "paragraphs", "sentences", "entity_mentions", "entities", "quotes", "rejects", "runs"):
        assert f"/download/{t}.parquet" in page
    assert "entity_daily" in page and "Last run <code>r1</code>" in page
    assert 'id="sql"' in page and 'id="chart-mentions"' in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page  # no CDN
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def test_static_assets(server):
    status, headers, body = request(server, "/static/app.js")
    assert status == 200 and "javascript" in headers["Content-Type"] and b"lineChart" in body
    assert request(server, "/static/style.css")[0] == 200


def test_catalog_json(server):
    status, _, body = request(server, "/api/catalog")
    cat = json.loads(body)
    rows = {t["name"]: t for t in cat["tables"]}
    assert rows["articles"]["rows"] == 5 and rows["articles"]["partitions"] == 3
    assert rows["entities"]["partitions"] is None and rows["entities"]["parquet_bytes"] > 0
    assert {"entity_daily", "article_overview", "stg_articles"} <= {v["name"] for v in cat["views"]}
    assert cat["last_run"]["run_id"] == "r1"


def test_sql_json_preview(server):
    status, _, body = sql(server, "select entity_id, mentions from entity_daily where day = '2026-11-01' order by 1")
    assert status == 200
    data = json.loads(body)
    assert [c["name"] for c in data["columns"]] == ["entity_id", "mentions"]
    assert data["rows"] == [["e_acme", 3], ["e_alice", 3], ["e_paris", 1]]
    assert data["truncated"] is False


def test_sql_preview_is_capped(server):
    data = json.loads(sql(server, "select * from range(1000)", extra="&limit=7")[2])
    assert len(data["rows"]) == 7 and data["truncated"] is True and data["row_count"] == 7


def test_sql_csv_and_parquet_downloads(server):
    q = "select article_id, authors, published_date from articles order by 1"
    status, headers, body = sql(server, q, "parquet")
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    t = pq.read_table(io.BytesIO(body))
    assert t.column("article_id").to_pylist() == ["a1", "a2", "a3", "a4", "a5"]
    assert headers["X-Newsetl-Rows"] == "5"
    status, headers, body = sql(server, q, "csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    c = pacsv.read_csv(io.BytesIO(body))
    assert c.num_rows == 5 and json.loads(c.column("authors")[0].as_py()) == ["Reporter"]


@pytest.mark.parametrize(
    "q,words",
    [
        ("select * from read_csv('/etc/passwd')", "read_csv"),
        ("copy articles to '/tmp/x.csv'", "COPY"),
        ("copy (select * from articles) to '/tmp/x.parquet' (format parquet)", "COPY"),
        ("attach '/tmp/x.duckdb' as x", "ATTACH"),
        ("install httpfs", "INSTALL"),
        ("load httpfs", "LOAD"),
        ("pragma database_list", "PRAGMA"),
        ("select 1; select 2", "only one statement"),
        ("delete from articles", "DELETE"),
        ("drop view entity_daily", "DROP"),
        ("select * from '/etc/passwd'", "file or URL"),
        ("select * from glob('/*')", "glob"),
        ("", "empty query"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_refused_queries_get_400_with_a_clear_message(server, q, words, fmt):
    status, headers, body = sql(server, q, fmt)
    assert status == 400
    assert headers["Content-Type"].startswith("application/json")
    msg = json.loads(body)["error"]
    assert words.lower() in msg.lower(), msg


def test_sql_error_is_400(server):
    status, _, body = sql(server, "select * from no_such_table")
    assert status == 400 and "no_such_table" in json.loads(body)["error"]


def test_unknown_format_is_400(server):
    status, _, body = sql(server, "select 1", "xlsx")
    assert status == 400 and "unknown format" in json.loads(body)["error"]


def test_download_table(server):
    status, headers, body = request(server, "/download/entities.parquet")
    assert status == 200 and headers["Content-Type"] == "application/vnd.apache.parquet"
    assert 'filename="entities.parquet"' in headers["Content-Disposition"]
    assert sorted(pq.read_table(io.BytesIO(body)).column("entity_id").to_pylist()) == ["e_acme", "e_alice", "e_paris"]


def test_download_view(server):
    status, _, body = request(server, "/download/entity_daily.parquet")
    assert status == 200 and pq.read_table(io.BytesIO(body)).num_rows == 6


@pytest.mark.parametrize(
    "path",
    [
        "/download/../news.duckdb",
        "/download/../../../../etc/passwd",
        "/download/..%2F..%2F..%2Fetc%2Fpasswd",
        "/download/%2e%2e%2fnews.duckdb",
        "/download/..%5cnews.duckdb",
        "/download/%2Fetc%2Fpasswd",
        "/download/parquet/_tables/articles.parquet",
        "/download/articles.parquet%00.txt",
        "/download/news.duckdb",
        "/download/articles",
        "/download/",
    ],
)
def test_download_path_traversal_refused(server, path):
    status, _, body = request(server, path)
    assert status == 400
    assert "refused" in json.loads(body)["error"]


def test_download_unknown_table_is_404(server):
    status, _, body = request(server, "/download/secrets.parquet")
    assert status == 404 and "no table or view" in json.loads(body)["error"]


def test_download_of_a_refused_name_leaks_nothing(server):
    # a name that looks like SQL is refused by the name rule before any query runs
    status, _, _ = request(server, "/download/articles%22%3B%20drop%20table%20x.parquet")
    assert status == 400


def test_chart_apis(server):
    ts = json.loads(request(server, "/api/entity_timeseries?entity_id=e_acme")[2])
    assert [(r["day"], r["mentions"]) for r in ts["rows"]] == [("2026-11-01", 3), ("2026-11-02", 1)]
    top = json.loads(request(server, "/api/top_entities?day=2026-11-01&limit=2")[2])
    assert [r["entity_id"] for r in top["rows"]] == ["e_acme", "e_alice"]
    ents = json.loads(request(server, "/api/entities?limit=10")[2])
    assert [r["entity_id"] for r in ents["rows"]][:2] == ["e_acme", "e_alice"]
    days = json.loads(request(server, "/api/days")[2])
    assert [r["day"] for r in days["rows"]] == ["2026-11-02", "2026-11-01"]


@pytest.mark.parametrize(
    "path,status",
    [
        ("/api/entity_timeseries", 400),
        ("/api/top_entities?day=yesterday", 400),
        ("/api/top_entities?day=2026-11-01%27%20or%201=1", 400),
        ("/nope", 404),
    ],
)
def test_api_errors(server, path, status):
    assert request(server, path)[0] == status


def test_write_methods_not_allowed(server):
    assert request(server, "/api/sql?q=select%201", "POST")[0] == 405
    assert request(server, "/download/articles.parquet", "DELETE")[0] == 405


def test_page_without_a_database(tmp_path):
    app = make_app(Settings(warehouse=tmp_path / "empty"))
    r = app.handle("GET", "/")
    assert r.status == 200 and b"No database yet" in r.body
    r = app.handle("GET", "/api/sql?q=select%201")
    assert r.status == 503 and b"no warehouse database" in r.body
    assert app.handle("GET", "/download/articles.parquet").status == 503


def test_serves_while_the_warehouse_is_replaced(tmp_path):
    """The writer renames a new news.duckdb into place; the next request sees it."""
    import os

    from conftest_surface import ROWS, write_db

    settings = build_warehouse(tmp_path)
    srv = _serve(settings)
    try:
        assert json.loads(sql(srv, "select count(*) as n from runs")[2])["rows"] == [[1]]
        staging = settings.db_path.with_name("news.staging.duckdb")
        data = {k: list(v) for k, v in ROWS.items()}
        data["runs"] = data["runs"] + [dict(data["runs"][0], run_id="r2")]
        write_db(staging, data)
        os.replace(staging, settings.db_path)
        assert json.loads(sql(srv, "select count(*) as n from runs")[2])["rows"] == [[2]]
    finally:
        srv.shutdown()
        srv.server_close()


def test_concurrent_requests(server):
    results = []

    def worker():
        results.append(sql(server, "select count(*) from entity_mentions")[0])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 8


def test_serve_command_reports_a_busy_port(server, tmp_path, capsys):
    from newsetl.web import serve_command

    port = server.server_address[1]
    assert serve_command("127.0.0.1", port, Settings(warehouse=tmp_path)) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and len(err.strip().splitlines()) == 1
