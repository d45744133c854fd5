"""newsetl.web over real HTTP (uvicorn on an ephemeral loopback port, in a thread)."""

from __future__ import annotations

import http.client
import io
import json
import re
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_surface import A6_TEXT, build_warehouse, undated_rows, web_rows  # noqa: E402

from newsetl.export import export_all  # noqa: E402
from newsetl.settings import Settings  # noqa: E402
from newsetl.web import make_server  # noqa: E402
from newsetl.web.render import paragraph_html  # noqa: E402


def _serve(settings, host="127.0.0.1", token=None):
    return make_server(settings, host, 0, quiet=True, token=token).start()


def _stop(srv):
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = build_warehouse(tmp_path_factory.mktemp("web"), web_rows())
    export_all(settings)
    srv = _serve(settings)
    yield srv
    _stop(srv)


@pytest.fixture(scope="module")
def undated(tmp_path_factory):
    srv = _serve(build_warehouse(tmp_path_factory.mktemp("undated"), undated_rows()))
    yield srv
    _stop(srv)


def request(srv, path: str, method: str = "GET", headers: dict | None = None):
    """Raw request: the path goes on the wire as written (no client-side normalising);
    http.client sends `Host: 127.0.0.1:<port>` unless headers say otherwise."""
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def page(srv, path: str) -> str:
    status, headers, body = request(srv, path)
    assert status == 200, (status, body[:300])
    assert headers["content-type"].startswith("text/html")
    return body.decode()


def sql(srv, q: str, fmt: str = "json", extra: str = ""):
    return request(srv, f"/api/sql?format={fmt}&q={quote(q)}{extra}")


def test_binds_loopback_by_default():
    import inspect

    from newsetl import web

    assert inspect.signature(web.serve_command).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(web.make_server).parameters["host"].default == "127.0.0.1"


def test_catalog_page(server):
    status, headers, body = request(server, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    page = body.decode()
    for t in ("articles", "paragraphs", "sentences", "entity_mentions", "entities", "quotes", "rejects", "runs"):
        assert f"/download/{t}.parquet" in page
    assert "entity_daily" in page and "Last run <code>r1</code>" in page
    assert 'id="sql"' in page and 'id="chart-mentions"' in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page  # no CDN
    assert "script-src 'self'" in headers["content-security-policy"]


def test_static_assets(server):
    status, headers, body = request(server, "/static/charts.js")
    assert status == 200 and "javascript" in headers["content-type"] and b"function lineChart" in body
    status, headers, body = request(server, "/static/app.js")
    assert status == 200 and b"/api/entities?limit=12&q=" in body
    assert request(server, "/static/../app.py")[0] == 404
    assert request(server, "/static/style.css")[0] == 200


def test_catalog_json(server):
    status, _, body = request(server, "/api/catalog")
    cat = json.loads(body)
    rows = {t["name"]: t for t in cat["tables"]}
    assert rows["articles"]["rows"] == 6 and rows["articles"]["partitions"] == 3
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
    assert status == 200 and "attachment" in headers["content-disposition"]
    t = pq.read_table(io.BytesIO(body))
    assert t.column("article_id").to_pylist() == ["a1", "a2", "a3", "a4", "a5", "a6"]
    assert headers["x-newsetl-rows"] == "6"
    status, headers, body = sql(server, q, "csv")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    c = pacsv.read_csv(io.BytesIO(body))
    assert c.num_rows == 6 and json.loads(c.column("authors")[0].as_py()) == ["Reporter"]


def test_sql_interval_results_download_in_every_format(server):
    """A run's duration is an INTERVAL: CSV and Parquet answered 500 (Arrow has no form for it)."""
    q = "select run_id, interval 1 day + interval 90 minute as took from runs"
    for fmt in ("json", "csv", "parquet"):
        status, _, body = sql(server, q, fmt)
        assert status == 200, (fmt, body[:300])
    assert pq.read_table(io.BytesIO(body)).column("took").to_pylist() == ["1 day 01:30:00"]


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
    assert headers["content-type"].startswith("application/json")
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
    assert status == 200 and headers["content-type"] == "application/vnd.apache.parquet"
    assert 'filename="entities.parquet"' in headers["content-disposition"]
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
    assert [(r["day"], r["mentions"]) for r in ts["rows"]] == [("2026-11-01", 3), ("2026-11-02", 2)]
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
    srv = _serve(Settings(warehouse=tmp_path / "empty"))
    try:
        status, _, body = request(srv, "/")
        assert status == 200 and b"No database yet" in body
        status, _, body = request(srv, "/api/sql?q=select%201")
        assert status == 503 and b"no warehouse database" in body
        assert request(srv, "/download/articles.parquet")[0] == 503
        assert request(srv, "/entities/e_alice")[0] == 503
        assert request(srv, "/articles/a1")[0] == 503
        assert request(srv, "/api/entities?q=alice")[0] == 503
    finally:
        _stop(srv)


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
        _stop(srv)


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


# ------------------------------------------------------------------------ entity page


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_entity_page(server):
    html = page(server, "/entities/e_alice")
    assert 'id="entity-name">Alice Smith <span class="label">PERSON</span>' in html
    assert '<span class="alias">Alice</span>' in html  # the other alias
    # counts leave out the duplicate a4 and boilerplate: a1 (x2), a2, a5
    assert re.search(r'id="count-mentions">4<', html) and re.search(r'id="count-articles">3<', html)
    # mentions in context: the sentence, the mention highlighted, the sentiment label
    assert "<mark>Alice Smith</mark> said" in html
    assert '<span class="tone tone-positive"' in html
    # quotes by the entity (the duplicate article's copy left out)
    assert html.count("We are thrilled") == 1 and "Profits will recover soon enough" in html
    # co-occurring entities link to their pages
    cooc = html[html.index('id="cooccurring"'):]
    assert '<a href="/entities/e_acme">Acme Corp</a>' in cooc and '<a href="/entities/e_paris">Paris</a>' in cooc
    assert 'id="chart-entity-timeline"' in html and 'data-dated="1"' in html


def test_entity_page_links_a_country_and_its_people(tmp_path):
    rows = web_rows()
    rows["entities"] += [
        {"entity_id": "e_fr", "name": "France", "label": "GPE", "aliases": ["France"],
         "article_count": 2, "mention_count": 3, "country_code": "FR"},
        {"entity_id": "e_french", "name": "French", "label": "NORP", "aliases": ["French"],
         "article_count": 1, "mention_count": 1, "country_code": "FR"},
    ]
    settings = build_warehouse(tmp_path, rows)
    srv = _serve(settings)
    try:
        people = page(srv, "/entities/e_french")
        assert ('id="same-country">Same country (FR): <a href="/entities/e_fr">France</a> '
                '<span class="label">GPE</span></p>') in people
        assert '<a href="/entities/e_french">French</a>' in page(srv, "/entities/e_fr")
        assert 'id="same-country"' not in page(srv, "/entities/e_alice")
    finally:
        _stop(srv)
    # A catalog made before the column existed still serves the page, without the line.
    con = duckdb.connect(str(settings.db_path))
    con.execute("alter table entities drop column country_code")
    con.close()
    srv = _serve(settings)
    try:
        html = page(srv, "/entities/e_french")
        assert 'id="entity-name">French' in html and 'id="same-country"' not in html
    finally:
        _stop(srv)


def test_entity_mentions_are_paginated(server, monkeypatch):
    from newsetl.web import app as web_app

    monkeypatch.setattr(web_app, "MENTIONS_PER_PAGE", 2)
    first, second = page(server, "/entities/e_acme"), page(server, "/entities/e_acme?page=2")
    # e_acme: a1, a2 (x2), a3, a6 outside boilerplate and duplicates = 5 mentions, 3 pages
    assert "5 in all; page 1 of 3" in first and 'id="next-page" href="?page=2"' in first
    assert "page 2 of 3" in second and 'id="prev-page" href="?page=1"' in second
    items = lambda h: re.findall(r'<li class="mention">', h)  # noqa: E731
    assert len(items(first)) == 2 and len(items(second)) == 2
    assert '<ol class="mentions" start="3">' in second
    last = page(server, "/entities/e_acme?page=99")  # past the end: the last page
    assert "page 3 of 3" in last and len(items(last)) == 1


def test_entity_context_is_escaped(server):
    html = page(server, "/entities/e_acme?page=1")
    assert '&lt;script&gt;alert("x")&lt;/script&gt;' in html
    assert "<script>alert" not in html and "&lt;b&gt;<mark>Acme Corp</mark>&lt;/b&gt;" in html


def test_undated_entity_has_no_time_series(undated):
    html = page(undated, "/entities/e_alice")
    assert 'id="undated-note"' in html and 'id="chart-entity-timeline"' not in html
    assert "<mark>Alice Smith</mark>" in html


@pytest.mark.parametrize("eid", ["nope", "e_alice'%20or%20'1'='1", "%27%3B%20drop%20table%20entities%3B--", "e_alice%00"])
def test_unknown_entity_is_404(server, eid):
    status, headers, body = request(server, f"/entities/{eid}")
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert "no entity with id" in body.decode()
    assert request(server, "/entities/e_alice")[0] == 200  # nothing was dropped


def test_entity_search_api(server):
    def ids(q):
        status, _, body = request(server, f"/api/entities?q={quote(q)}")
        assert status == 200, body
        return [r["entity_id"] for r in json.loads(body)["rows"]]

    assert ids("alice") == ["e_alice"]
    assert ids("ALICE SM") == ["e_alice"]          # case-insensitive, part of the name
    assert ids("acme") == ["e_acme"]
    assert ids("PAR") == ["e_paris"]
    assert ids("%") == [] and ids("_") == [] and ids("'") == []  # wildcards and quotes are plain text
    assert ids("zzz") == []
    # an alias that is not in the name
    status, _, body = request(server, "/api/entities?q=x")
    assert status == 200
    status, _, body = request(server, "/api/entities?q=")
    assert status == 400 and "q is empty" in json.loads(body)["error"]


def test_entity_search_finds_by_alias_only(tmp_path):
    rows = web_rows()
    rows["entities"][0]["aliases"] = ["Alice Smith", "Ms Smith-Jones"]
    srv = _serve(build_warehouse(tmp_path, rows))
    try:
        body = json.loads(request(srv, "/api/entities?q=smith-JONES")[2])
        assert [(r["entity_id"], r["name"]) for r in body["rows"]] == [("e_alice", "Alice Smith")]
    finally:
        _stop(srv)


# ------------------------------------------------------------------------ article page


def test_article_page(server):
    html = page(server, "/articles/a1")
    assert 'id="article-title">Alice Smith visits Paris<' in html
    assert 'id="article-source">wire<' in html and 'id="article-date">2026-11-01<' in html
    assert '<a href="https://wire.example/a1"' in html
    # paragraphs in order with their kind; boilerplate set apart with its reason
    kinds = re.findall(r'<div class="para kind-(\w+)" id="p(\d+)"', html)
    assert kinds == [("heading", "0"), ("body", "1"), ("boilerplate", "2")]
    assert '<span class="kind-reason">newsletter sign-up</span>' in html
    # mentions as marks linking to the entity page
    assert ('<mark data-entity-id="e_alice" data-label="PERSON" class="ent ent-positive" '
            'title="Alice Smith (PERSON); sentiment toward it: positive"><a href="/entities/e_alice">Alice Smith</a></mark>') in html
    assert html.count('data-entity-id="e_acme"') == 2  # body + boilerplate paragraph
    # sentence sentiment on hover
    assert 'title="sentence sentiment +0.50 (positive)">' in html
    assert 'title="sentence sentiment -0.40 (negative)">' in html
    # quotes with their speaker
    quotes = html[html.index('id="article-quotes"'):]
    assert "We are thrilled" in quotes and '<a class="speaker" href="/entities/e_alice">Alice Smith</a>' in quotes
    # near-duplicates: a4 is a copy of a1 (same cluster, duplicate_of)
    dups = html[html.index('id="near-duplicates"'):]
    assert '<a href="/articles/a4">' in dups and "a copy of this one" in dups


def test_duplicate_links_back(server):
    html = page(server, "/articles/a4")
    assert '<a id="duplicate-of" href="/articles/a1">a1</a>' in html
    assert "the original this copies" in html[html.index('id="near-duplicates"'):]
    assert "No near-duplicate" in page(server, "/articles/a2")


def test_article_text_is_escaped_around_marks(server):
    html = page(server, "/articles/a6")
    assert "<script>" not in html and "<b>" not in html
    assert 'id="article-title">Markup &lt;b&gt;test&lt;/b&gt; &amp; more<' in html
    para = html[html.index('id="p0"'):html.index("</div>", html.index('class="para-text"'))]
    assert ('Tom said &lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;b&gt;<mark data-entity-id="e_acme"' in para)
    assert '><a href="/entities/e_acme">Acme Corp</a></mark>&lt;/b&gt; lost.' in para
    text = _text(para[para.index('class="para-text"'):]).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert text.endswith(A6_TEXT)


@pytest.mark.parametrize("aid", ["nope", "a1'%20or%20'1'='1", "a1%3B%20select%201"])
def test_unknown_article_is_404(server, aid):
    status, _, body = request(server, f"/articles/{aid}")
    assert status == 404 and "no article with id" in body.decode()


def test_article_shows_canonical_url_when_the_column_exists(tmp_path):
    """The column may not exist yet (older warehouses); when it does, the page shows it."""
    import duckdb

    settings = build_warehouse(tmp_path, web_rows())
    con = duckdb.connect(str(settings.db_path))
    con.execute("alter table articles add column if not exists canonical_url varchar")
    con.execute("update articles set canonical_url = 'https://wire.example/canonical-a1' where article_id = 'a1'")
    con.close()
    srv = _serve(settings)
    try:
        html = page(srv, "/articles/a1")
        assert 'id="article-canonical-url"><a href="https://wire.example/canonical-a1"' in html
        assert '<a href="https://wire.example/a1"' in html  # the input URL stays
        assert 'id="article-canonical-url"' not in page(srv, "/articles/a2")  # null: no row
    finally:
        _stop(srv)


def test_article_page_without_canonical_column(server):
    assert 'id="article-canonical-url"' not in page(server, "/articles/a1")


def test_only_web_urls_become_links(tmp_path):
    rows = web_rows()
    rows["articles"][1]["url"] = "javascript:alert(1)"
    srv = _serve(build_warehouse(tmp_path, rows))
    try:
        html = page(srv, "/articles/a2")
        assert 'href="javascript:' not in html and "javascript:alert(1)" in html
    finally:
        _stop(srv)


# ------------------------------------------------------------------------ paragraph rendering


def test_paragraph_html_marks_and_sentences():
    text = "Bob met <Ann> & left."
    sents = [{"start_char": 0, "end_char": 13, "sentiment": 0.6}, {"start_char": 14, "end_char": 21, "sentiment": -0.6}]
    ments = [{"start_char": 0, "end_char": 3, "entity_id": "e/b\"", "label": "PERSON", "text": "Bob",
              "entity_name": "Bob", "sentiment_label": "neutral"},
             {"start_char": 9, "end_char": 16, "entity_id": None, "label": "PERSON", "text": "Ann> & "}]
    out = str(paragraph_html(text, sents, ments))
    assert out.startswith('<span class="sent sent-positive" data-sentiment="+0.60"')
    assert '<mark data-entity-id="e/b&quot;"' in out and 'href="/entities/e%2Fb%22"' in out
    # a mark crossing a sentence end is cut in two; tags stay balanced
    assert out.count("<mark") == 4 and out.count("</mark>") == 4  # Bob + Ann in 3 pieces
    assert out.count("<span") == 2 and out.count("</span>") == 2
    assert "&lt;" in out and "<Ann>" not in out
    assert _text(out).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


def test_paragraph_html_tolerates_bad_offsets():
    out = str(paragraph_html("short", [{"start_char": 3, "end_char": 99, "sentiment": None}],
                             [{"start_char": -5, "end_char": 2, "entity_id": "e", "label": "X"},
                              {"start_char": 1, "end_char": 4, "entity_id": "f", "label": "X"},  # overlaps: dropped
                              {"start_char": 4, "end_char": 4, "entity_id": "g", "label": "X"}]))  # empty: dropped
    assert _text(out) == "short" and 'data-entity-id="f"' not in out and 'data-entity-id="g"' not in out
    assert 'data-sentiment="n/a"' in out


# ------------------------------------------------------------------------ charts data


def test_overview_dated(server):
    ov = json.loads(request(server, "/api/overview")[2])
    assert ov["dated"] is True and ov["days"] == 2 and ov["articles"] == 5  # a4 is a duplicate
    assert [(r["source"], r["articles"]) for r in ov["sources"]] == [("blog", 2), ("wire", 2), ("daily", 1)]
    assert sum(r["articles"] for r in ov["tone"]) == 5
    assert {r["bin"]: r["articles"] for r in ov["tone"]} == {-2: 1, -1: 1, 0: 2, 2: 1}
    assert ov["top_entities"][0]["entity_id"] == "e_acme"


def test_overview_undated(undated):
    ov = json.loads(request(undated, "/api/overview")[2])
    assert ov["dated"] is False and ov["dated_articles"] == 0 and ov["days"] == 0
    assert ov["top_entities"] and ov["sources"] and ov["tone"]
    assert json.loads(request(undated, "/api/days")[2])["rows"] == []


# ------------------------------------------------------------------------ who may ask


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST", "127.0.0.1:{port}", "localhost:{port}"])
def test_own_host_is_answered(server, host):
    status, _, _ = request(server, "/healthz", headers={"Host": host.format(port=server.server_address[1])})
    assert status == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "127.0.0.1:1",
                                  "", "127.0.0.1:abc", "[::1]:{port}", "10.0.0.1"])
@pytest.mark.parametrize("path", ["/", "/api/sql?q=select%201", "/download/articles.parquet", "/entities/e_alice"])
def test_foreign_host_is_refused(server, host, path):
    status, headers, body = request(server, path, headers={"Host": host.format(port=server.server_address[1])})
    assert status == 403
    msg = json.loads(body)["error"]
    assert msg.startswith("refused:") and ("Host" in msg)


def test_every_answer_has_security_headers(server):
    for path in ("/", "/entities/e_alice", "/articles/a1", "/api/entities?q=a", "/nope"):
        _, headers, _ = request(server, path)
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_pages_load_nothing_from_elsewhere(server):
    for path in ("/", "/entities/e_alice", "/articles/a1"):
        html = page(server, path)
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html), path


def test_token_required_when_set(tmp_path):
    settings = build_warehouse(tmp_path, web_rows())
    srv = _serve(settings, token="s3cret-T")
    try:
        status, _, body = request(srv, "/")
        assert status == 401 and "needs its token" in json.loads(body)["error"]
        assert request(srv, "/api/sql?q=select%201")[0] == 401
        assert request(srv, "/", headers={"Authorization": "Bearer wrong"})[0] == 401
        assert request(srv, "/?token=wrong")[0] == 401
        assert request(srv, "/", headers={"Authorization": "Bearer s3cret-T"})[0] == 200
        # ?token= once, then the cookie it sets
        status, headers, _ = request(srv, "/?token=s3cret-T")
        assert status == 200
        cookie = headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        value = cookie.split(";")[0]
        assert request(srv, "/articles/a1", headers={"Cookie": value})[0] == 200
        assert request(srv, "/articles/a1", headers={"Cookie": "newsetl_token=nope"})[0] == 401
        # a browser opening the printed link is sent back to the page without the token
        status, headers, _ = request(srv, "/entities/e_alice?page=1&token=s3cret-T", headers={"Accept": "text/html"})
        assert status == 303 and headers["location"] == "/entities/e_alice?page=1"
        assert headers["set-cookie"].split(";")[0] == value
        status, headers, _ = request(srv, "//evil.example/x?token=s3cret-T", headers={"Accept": "text/html"})
        assert status == 303 and headers["location"] == "/evil.example/x"  # stays on this server
        # the Host rule still holds with a good token
        assert request(srv, "/", headers={"Authorization": "Bearer s3cret-T", "Host": "evil.example"})[0] == 403
    finally:
        _stop(srv)


def test_non_loopback_bind_needs_a_token(tmp_path, capsys):
    from newsetl.web.security import allowed_host_names, is_loopback
    from newsetl.web.server import token_for

    assert token_for("127.0.0.1", None) == (None, False)
    assert token_for("localhost", None) == (None, False)
    assert token_for("127.0.0.1", "given") == ("given", False)
    token, generated = token_for("0.0.0.0", None)
    assert generated and len(token) >= 32
    assert token_for("192.168.1.5", "T") == ("T", False)
    assert token_for("0.0.0.0", None)[0] != token  # a fresh one each start
    assert is_loopback("::1") and is_loopback("[::1]") and not is_loopback("192.168.1.5")
    assert {"127.0.0.1", "localhost", "192.168.1.5"} <= allowed_host_names("192.168.1.5")


def test_wildcard_bind_with_token(tmp_path):
    srv = _serve(build_warehouse(tmp_path, web_rows()), host="0.0.0.0", token="T0k")
    try:
        assert request(srv, "/healthz")[0] == 401
        assert request(srv, "/healthz", headers={"Authorization": "Bearer T0k"})[0] == 200
        assert request(srv, "/healthz", headers={"Authorization": "Bearer T0k", "Host": "evil.example"})[0] == 403
    finally:
        _stop(srv)


def test_unknown_route_and_method(server):
    status, _, body = request(server, "/entities")
    assert status == 404 and json.loads(body)["error"] == "not found: /entities"
    assert request(server, "/entities/e_alice", "POST")[0] == 405


def test_dated_picker_leaves_out_undated_entities(server, undated):
    assert [r["entity_id"] for r in json.loads(request(undated, "/api/entities?dated=1")[2])["rows"]] == []
    assert len(json.loads(request(undated, "/api/entities")[2])["rows"]) == 3
    dated = json.loads(request(server, "/api/entities?dated=1&limit=10")[2])["rows"]
    assert {r["entity_id"] for r in dated} == {"e_acme", "e_alice", "e_paris"}
    # e_alice: the undated a5 mention is not counted for the per-day picker
    assert {r["entity_id"]: r["mentions"] for r in dated}["e_alice"] == 3


def test_catalog_lists_contract_tables_kept_as_views(tmp_path):
    """A warehouse whose contract tables are views over stored data (Parquet) still lists
    them as tables; internal `_name` tables are not listed."""
    import duckdb

    settings = build_warehouse(tmp_path, web_rows())
    con = duckdb.connect(str(settings.db_path))
    con.execute("alter table quotes rename to quotes_store")
    con.execute("create view quotes as select * from quotes_store")
    con.execute("create table _files (path varchar)")
    con.close()
    srv = _serve(settings)
    try:
        cat = json.loads(request(srv, "/api/catalog")[2])
        tables = {t["name"]: t for t in cat["tables"]}
        assert tables["quotes"]["rows"] == 5 and "_files" not in tables
        assert "quotes" not in {v["name"] for v in cat["views"]}
        assert "/download/quotes.parquet" in page(srv, "/")
        assert request(srv, "/download/quotes.parquet")[0] == 200
    finally:
        _stop(srv)


def test_entity_known_only_from_mentions(tmp_path):
    """An entity_id with mentions but no entities row still gets a page (from its mentions)."""
    rows = web_rows()
    rows["entities"] = [e for e in rows["entities"] if e["entity_id"] != "e_paris"]
    srv = _serve(build_warehouse(tmp_path, rows))
    try:
        html = page(srv, "/entities/e_paris")
        assert 'id="entity-name">Paris <span class="label">GPE</span>' in html
        assert "<mark>Paris</mark>" in html
    finally:
        _stop(srv)


def test_ids_with_url_special_characters(tmp_path):
    """Ids are data: a slash, space, ?, # or % in one survives the link and the lookup."""
    odd = "Q/1 a?b#c%d"
    rows = web_rows()
    for table in ("entities", "entity_mentions", "quotes"):
        for r in rows[table]:
            for key in ("entity_id", "speaker_entity_id"):
                if r.get(key) == "e_paris":
                    r[key] = odd
    srv = _serve(build_warehouse(tmp_path, rows))
    try:
        html = page(srv, "/articles/a1")
        href = "/entities/" + quote(odd, safe="")
        assert f'<a href="{href}">Paris</a>' in html
        ent = page(srv, href)
        assert 'id="entity-name">Paris <span' in ent and "Q/1 a?b#c%d" in ent
        search = json.loads(request(srv, "/api/entities?q=paris")[2])["rows"]
        assert [r["entity_id"] for r in search] == [odd]
    finally:
        _stop(srv)


def test_page_reader_has_memory_and_time_limits(tmp_path, monkeypatch):
    """Page queries run on newsetl.query's reader connection: its memory limit (the
    reader_memory_limit setting) and the page's time limit apply."""
    import time

    from newsetl.query import QueryFailed
    from newsetl.web import reader as reader_mod

    settings = Settings(warehouse=build_warehouse(tmp_path).warehouse, progress=False, reader_memory_limit="1GiB")
    with reader_mod.Reader(settings, 5) as r:
        assert r.con.execute("select current_setting('memory_limit')").fetchall() == [("1.0 GiB",)]
    # a named query that would run for minutes is stopped by the page's timer
    monkeypatch.setattr(reader_mod.sqlfiles, "query", lambda name: "select sum(range) from range(100000000000)")
    with reader_mod.Reader(settings, 0.3) as r:
        t0 = time.monotonic()
        with pytest.raises(QueryFailed, match="time limit"):
            r.rows("slow")
        assert time.monotonic() - t0 < 10


def test_page_errors_are_html_and_say_why(tmp_path):
    """A warehouse that lost a table: the page says what failed, as a page."""
    import duckdb

    settings = build_warehouse(tmp_path, web_rows())
    con = duckdb.connect(str(settings.db_path))
    con.execute("drop view if exists article_overview")
    con.execute("alter table sentences rename to sentences_gone")
    con.close()
    srv = _serve(settings)
    try:
        status, headers, body = request(srv, "/articles/a1")
        assert status == 400 and headers["content-type"].startswith("text/html")
        assert "article_sentences" in body.decode() and "sentences" in body.decode()
        status, headers, body = request(srv, "/api/entity_timeseries?entity_id=e_alice")
        assert headers["content-type"].startswith("application/json")
    finally:
        _stop(srv)


# ------------------------------------------------------------------------ properties (untrusted input)

from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402


def _spans_strategy(n_max: int = 40):
    span = st.tuples(st.integers(-5, n_max + 5), st.integers(-5, n_max + 5))
    return st.lists(span, max_size=6)


@hsettings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab <>&\"'/é\n")), max_size=40),
       sents=_spans_strategy(), ments=_spans_strategy(), ids=st.lists(st.sampled_from(["e1", None, '<"x">']), min_size=6, max_size=6))
def test_paragraph_html_keeps_the_text_and_balances_tags(text, sents, ments, ids):
    """Whatever the text and the offsets (overlapping, empty, out of range), the page
    shows exactly the text, escaped, with balanced tags."""
    import html as html_mod

    out = str(paragraph_html(text,
                             [{"start_char": s, "end_char": e, "sentiment": 0.1} for s, e in sents],
                             [{"start_char": s, "end_char": e, "entity_id": ids[i], "label": "X", "text": "t"}
                              for i, (s, e) in enumerate(ments)]))
    assert html_mod.unescape(re.sub(r"<[^>]+>", "", out)) == text
    assert out.count("<span") == out.count("</span>") and out.count("<mark") == out.count("</mark>")
    assert out.count("<a ") == out.count("</a>")
    # no tag comes from the text: every "<" in the output opens one of ours
    assert re.findall(r"<(/?[a-z]+)", out) == [t for t in re.findall(r"<(/?[a-z]+)", out) if t.strip("/") in ("span", "mark", "a")]


@hsettings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_split_host_never_raises_and_round_trips(value):
    from newsetl.web.security import split_host

    parsed = split_host(value)
    if parsed is not None:
        host, port = parsed
        assert port is None or 0 <= port <= 65535
        assert host and host == host.lower() and not set(host) & set("[]/@ ")


@pytest.mark.parametrize("value,expected", [
    ("127.0.0.1:8000", ("127.0.0.1", 8000)), ("LocalHost", ("localhost", None)), ("[::1]:80", ("::1", 80)),
    ("[::1]", ("::1", None)), ("::1", None), ("a:b", None), ("[::1]x", None), ("", None), ("h:", None),
    ("]", None), ("evil.example@127.0.0.1", None), ("127.0.0.1:99999", None), ("127.0.0.1:８０", None),
])
def test_split_host(value, expected):
    from newsetl.web.security import split_host

    assert split_host(value) == expected
