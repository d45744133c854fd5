"""Issue 4 end to end: a feed and pages served on 127.0.0.1 and a WARC file, through the
real CLI and flow, into a temporary warehouse."""

from __future__ import annotations

import io

import pytest

from tests.conftest import FIXTURES, query, run_cli
from tests.fixtures.web.webserver import Reply, WebServer

pytestmark = pytest.mark.usefixtures("prefect_server")

ARTICLE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title} | Local Test News</title>
<link rel="canonical" href="{base}/article/{n}?utm_medium=social">
<meta property="article:published_time" content="2025-06-04T10:00:00+02:00">
<meta property="og:site_name" content="Local Test News"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>{title}</h1>
<p>Mayor Anne Hidalgo said on Wednesday that the city would plant 20,000 trees along the river banks by 2030, doubling the shade in the hottest districts of Paris.</p>
<p>"We cannot wait for the next heatwave to act," Hidalgo told reporters at City Hall. The plan will cost about 45 million euros, paid from the green budget.</p>
<p>Opposition councillor Rachida Dati said the plan was too slow and criticised the cost of maintaining the trees.</p>
<aside><h3>More from Local Test News</h3><ul><li><a href="/x">Trams return to the south bank</a></li></ul></aside>
</article><footer>Subscribe to our newsletter. © 2025 Local Test News</footer></body></html>"""


@pytest.fixture
def site():
    feed = (FIXTURES / "web" / "rss20.xml").read_bytes()
    state = {"etag_hits": 0}

    def page(n, title):
        def route(req):
            if req.headers.get("if-none-match") == f'"p{n}"':
                return Reply(304, b"", {"ETag": f'"p{n}"'})
            body = ARTICLE.format(title=title, base=srv.base, n=n).encode()
            return Reply(200, body, {"Content-Type": "text/html; charset=utf-8", "ETag": f'"p{n}"'})
        return route

    routes = {
        "/feed.xml": lambda req: Reply(200, feed.replace(b"{BASE}", srv.base.encode()),
                                       {"Content-Type": "application/rss+xml"}),
        "/article/2": page(2, "Paris to plant 20,000 trees"),
        "/article/3": page(3, "A story with a bogus date"),
        "/gone": lambda req: Reply(404, b"no", {"Content-Type": "text/plain"}),
    }
    srv = WebServer(routes)
    with srv:
        yield srv, state


def test_feed_and_pages_land_and_rerun_uses_conditional_get(site, tmp_path, monkeypatch):
    srv, _ = site
    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    monkeypatch.setenv("NEWSETL_BLOCK_PRIVATE_ADDRESSES", "false")  # the test server is on loopback
    monkeypatch.setenv("NEWSETL_HTTP_PER_HOST_DELAY", "0")
    monkeypatch.setenv("NEWSETL_HTTP_RETRIES", "1")
    wh = tmp_path / "wh"
    assert run_cli("run", srv.url("/feed.xml"), srv.url("/gone"), "--warehouse", str(wh)) == 0
    rows = {url.rsplit("/", 2)[-2] + "/" + url.rsplit("/", 1)[-1]: title for title, url in
            query(wh, "select title, canonical_url from articles")}
    # `url` is the link as the feed gave it; `canonical_url` drops the tracking parameter
    assert any("utm_" in u for (u,) in query(wh, "select url from articles"))
    # item 1 carries full text in content:encoded (its canonical URL lost the tracking parameter);
    # item 2 is a teaser, so its page was fetched; the feed's headline is kept as title
    assert rows["article/1"] == "Council expands tram network"
    assert rows["article/2"] == "Only a teaser here"
    paris = query(wh, "select text, published_at from articles where url like '%/article/2'")[0]
    assert "Hidalgo" in paris[0] and "Subscribe" not in paris[0] and "Trams return" not in paris[0]
    assert paris[1] is not None
    rej = dict(query(wh, "select input_ref, reason from rejects"))
    assert any(r.endswith("/gone") and "404" in reason for r, reason in rej.items())
    assert any("/missing" in reason and "404" in reason for r, reason in rej.items())
    persons = {r[0] for r in query(wh, "select name from entities where label = 'PERSON'")}
    assert "Anne Hidalgo" in persons
    hits_before = dict(srv.hits)
    n_articles = query(wh, "select count(*) from articles")[0][0]
    # a scheduled re-run: the pages answer 304 and nothing changes
    assert run_cli("run", srv.url("/feed.xml"), "--warehouse", str(wh)) == 0
    assert query(wh, "select count(*) from articles")[0][0] == n_articles
    assert srv.hits["/article/2"] == hits_before["/article/2"] + 1  # asked again, conditionally
    assert query(wh, "select count(*) from articles where url like '%/article/2'")[0][0] == 1
    # the pages that answered 304 are counted unchanged (the run said "0 articles read")
    (seen, unchanged, new), = query(wh, "select articles, articles_unchanged, articles_new from runs "
                                        "order by started_at desc limit 1")
    assert unchanged >= 2 and seen >= unchanged and new == 0, (seen, unchanged, new)


def test_warc_records_land_with_url_and_date(tmp_path, monkeypatch):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    src = tmp_path / "crawl"
    src.mkdir()
    path = src / "crawl.warc.gz"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for n, title in ((7, "Paris to plant 20,000 trees"), (8, "Another Paris story")):
            body = ARTICLE.format(title=title, base="https://news.example.fr", n=n).encode()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            rec = writer.create_warc_record(f"https://news.example.fr/article/{n}", "response",
                                            payload=io.BytesIO(body), http_headers=http,
                                            warc_headers_dict={"WARC-Date": "2025-06-05T08:00:00Z"})
            writer.write_record(rec)
    wh = tmp_path / "wh"
    assert run_cli("run", str(path), "--warehouse", str(wh)) == 0
    rows = query(wh, "select url, title from articles order by url")
    assert [r[0] for r in rows] == ["https://news.example.fr/article/7", "https://news.example.fr/article/8"]


def test_url_schemes_other_than_http_are_rejected(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    good = tmp_path / "in"
    good.mkdir()
    (good / "a.txt").write_text("The mayor of Lyon, Grégory Doucet, opened a new bridge on Monday.", encoding="utf-8")
    wh = tmp_path / "wh"
    assert run_cli("run", str(good), "file:///etc/passwd", "ftp://example.org/x", "--warehouse", str(wh)) == 0
    reasons = [r[0] for r in query(wh, "select reason from rejects order by input_ref")]
    assert len(reasons) == 2 and all("only http and https" in r for r in reasons)
