"""Fetcher and pages_from_urls against a real HTTP server on 127.0.0.1."""

import gzip
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "web"))
from webserver import Reply, WebServer, fixture_bytes  # noqa: E402

from newsetl.records import RawDoc, Reject
from newsetl.settings import Settings
from newsetl.sources.http import Fetcher, FetchResult, pages_from_urls

PAGE = fixture_bytes("page_utf8.html")
HTML = {"Content-Type": "text/html; charset=utf-8"}
CP1252_PAGE = "<html><body><p>Café – “quoted” naïve</p></body></html>".encode("cp1252")


from newsetl.sources.http import ALLOW_PRIVATE as ALLOW  # noqa: E402

def _routes(base_holder):
    def page(req):
        return Reply(200, PAGE, HTML)

    def flaky(req):
        return Reply(500, b"oops", HTML) if req.hit == 1 else Reply(200, PAGE, HTML)

    def etag(req):
        if req.headers.get("if-none-match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(200, PAGE, {**HTML, "ETag": '"v1"'})

    def lastmod(req):
        lm = "Wed, 21 Oct 2015 07:28:00 GMT"
        if req.headers.get("if-modified-since") == lm:
            return Reply(304, b"")
        return Reply(200, PAGE, {**HTML, "Last-Modified": lm})

    def loop(req):
        n = int(req.path.rsplit("/", 1)[1].split("?")[0] if "/loop/" in req.path else 0)
        return Reply(302, b"", {"Location": f"/loop/{n + 1}"})

    routes = {
        "/robots.txt": lambda r: Reply(200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}),
        "/page": page,
        "/page2": page,
        "/private/page": page,
        "/r1": lambda r: Reply(302, b"", {"Location": base_holder[0] + "/r2"}),
        "/r2": lambda r: Reply(301, b"", {"Location": "/page?from=r2"}),
        "/slow": lambda r: Reply(200, PAGE, HTML, delay=1.5),
        "/flaky": flaky,
        "/always500": lambda r: Reply(503, b"down", HTML),
        "/missing": lambda r: Reply(404, b"no", HTML),
        "/cp1252": lambda r: Reply(200, CP1252_PAGE, HTML),
        "/big": lambda r: Reply(200, b"<p>" + b"x" * 50_000 + b"</p>", HTML),
        "/big-stream": lambda r: Reply(200, b"<p>" + b"x" * 50_000 + b"</p>", HTML, content_length=False),
        "/gzip-bomb": lambda r: Reply(200, gzip.compress(b"<p>" + b"x" * 1_000_000), {**HTML, "Content-Encoding": "gzip"}),
        "/etag": etag,
        "/lastmod": lastmod,
        "/image": lambda r: Reply(200, b"\x89PNG\r\n\x1a\n", {"Content-Type": "image/png"}),
        "/text": lambda r: Reply(200, "Plain text – article".encode(), {"Content-Type": "text/plain; charset=utf-8"}),
        "/feed.xml": lambda r: Reply(200, fixture_bytes("rss20.xml", base_holder[0]),
                                     {"Content-Type": "application/rss+xml"}),
        "/article/2": page,
        "/article/3": page,
        "/redirect-private": lambda r: Reply(302, b"", {"Location": "http://10.0.0.1/secret"}),
        "/redirect-file": lambda r: Reply(302, b"", {"Location": "file:///etc/passwd"}),
        "/timed": page,
        "/sleepy": lambda r: Reply(200, PAGE, HTML, delay=0.2),
        "/xml-data": lambda r: Reply(200, b"<?xml version='1.0'?><data><row>1</row></data>",
                                     {"Content-Type": "application/xml"}),
        "/xhtml-as-xml": lambda r: Reply(200, PAGE, {"Content-Type": "application/xml; charset=utf-8"}),
        "/to-missing": lambda r: Reply(302, b"", {"Location": "/missing"}),
        "/drip": lambda r: Reply(200, PAGE[:400], HTML, drip=0.01),
    }
    for i in range(20):
        routes[f"/loop/{i}"] = loop
    return routes


@pytest.fixture(scope="module")
def server():
    holder = [""]
    srv = WebServer(_routes(holder))
    holder[0] = srv.base
    with srv:
        yield srv


def make_settings(tmp_path, **kw):
    base = dict(warehouse=tmp_path / "wh", http_timeout=0.3, http_retries=3, http_per_host_delay=0.0,
                http_per_host_concurrency=4, block_private_addresses=False, http_max_bytes=10_000,
                http_max_redirects=3)
    base.update(kw)
    return Settings(**base)


@pytest.fixture
def fetcher(tmp_path):
    with Fetcher(make_settings(tmp_path), backoff=0.01) as f:
        yield f


def test_fetch_page(server, fetcher):
    res = fetcher.fetch(server.url("/page"))
    assert isinstance(res, FetchResult)
    assert res.status == 200 and res.content_type == "text/html"
    assert "Zürich café" in res.text and res.encoding == "utf-8"
    assert res.fetched_at.tzinfo is not None
    ua = server.request_headers["/page"][-1]["user-agent"]
    assert ua.startswith("newsetl/")


def test_redirect_chain_followed(server, fetcher):
    res = fetcher.fetch(server.url("/r1"))
    assert isinstance(res, FetchResult), res
    assert res.final_url == server.url("/page?from=r2")
    assert res.redirects == [server.url("/r1"), server.url("/r2")]


def test_too_many_redirects(server, fetcher):
    res = fetcher.fetch(server.url("/loop/0"))
    assert isinstance(res, Reject)
    assert res.reason == "more than 3 redirects"
    assert server.hits["/loop/4"] == 0


def test_timeout_is_retried_then_rejected(server, fetcher):
    t0 = time.monotonic()
    res = fetcher.fetch(server.url("/slow"))
    assert isinstance(res, Reject)
    assert res.reason == "timeout after 3 tries"
    assert server.hits["/slow"] == 3
    assert time.monotonic() - t0 < 5


def test_trickling_body_is_cut_at_the_wall_clock_cap_and_not_retried(server, fetcher):
    """Each byte comes well within the read timeout (0.3 s), so only the cap of 4 x 0.3 s
    ends the response; a server that slow would take as long again on each retry."""
    t0 = time.monotonic()
    res = fetcher.fetch(server.url("/drip"))
    took = time.monotonic() - t0
    assert isinstance(res, Reject)
    assert res.reason == "too slow: body not complete after 1.2 s"
    assert server.hits["/drip"] == 1
    assert 1.1 < took < 3.5, took


def test_500_then_200_is_retried(server, fetcher):
    res = fetcher.fetch(server.url("/flaky"))
    assert isinstance(res, FetchResult) and res.status == 200
    assert server.hits["/flaky"] == 2
    assert fetcher.stats["retries"] == 1


def test_persistent_5xx(server, fetcher):
    res = fetcher.fetch(server.url("/always500"))
    assert isinstance(res, Reject)
    assert res.reason == "HTTP 503 Service Unavailable after 3 tries"


def test_404_not_retried(server, fetcher):
    before = server.hits["/missing"]
    res = fetcher.fetch(server.url("/missing"))
    assert isinstance(res, Reject)
    assert res.reason == "HTTP 404 Not Found"
    assert res.source == "127.0.0.1" and res.input_ref == server.url("/missing")
    assert server.hits["/missing"] - before == 1


def test_wrong_charset_header(server, fetcher):
    res = fetcher.fetch(server.url("/cp1252"))
    assert "Café – “quoted” naïve" in res.text
    assert "\ufffd" not in res.text


@pytest.mark.parametrize("path", ["/big", "/big-stream", "/gzip-bomb"])
def test_oversized_body(server, fetcher, path):
    res = fetcher.fetch(server.url(path))
    assert isinstance(res, Reject)
    assert res.reason == "body larger than 10000 bytes"
    assert server.hits[path] == 1  # not retried


def test_content_type_refused(server, fetcher):
    res = fetcher.fetch(server.url("/image"))
    assert isinstance(res, Reject)
    assert res.reason == "content-type image/png is not HTML or a feed"


@pytest.mark.parametrize("path,header", [("/etag", "if-none-match"), ("/lastmod", "if-modified-since")])
def test_conditional_get_across_runs(server, tmp_path, path, header):
    settings = make_settings(tmp_path)
    with Fetcher(settings, backoff=0.01) as f:
        first = f.fetch(server.url(path))
        assert isinstance(first, FetchResult) and not first.not_modified
        f.commit_validators()  # the run landed what it fetched
    assert (settings.state_dir / "http_cache.sqlite").exists()
    with Fetcher(settings, backoff=0.01) as f:  # a later run
        second = f.fetch(server.url(path))
        assert isinstance(second, FetchResult) and second.not_modified and second.status == 304
        assert header in server.request_headers[path][-1]
        assert list(pages_from_urls([server.url(path)], settings, fetcher=f)) == []
        assert f.stats["not_modified"] == 2


def test_validators_of_a_run_that_did_not_land_are_forgotten(server, tmp_path):
    settings = make_settings(tmp_path)
    with Fetcher(settings, backoff=0.01) as f:
        assert not f.fetch(server.url("/etag")).not_modified
        # no commit_validators(): the run crashed before landing
    with Fetcher(settings, backoff=0.01) as f:
        again = f.fetch(server.url("/etag"))
        assert isinstance(again, FetchResult) and not again.not_modified and again.status == 200


def test_robots_disallow(server, fetcher):
    res = fetcher.fetch(server.url("/private/page"))
    assert isinstance(res, Reject)
    assert res.reason.startswith("robots.txt disallows")
    assert server.hits["/private/page"] == 0


def test_robots_can_be_switched_off(server, tmp_path):
    with Fetcher(make_settings(tmp_path, respect_robots=False), backoff=0.01) as f:
        assert isinstance(f.fetch(server.url("/private/page")), FetchResult)


def test_private_address_refused_when_guard_on(server, tmp_path):
    before = sum(server.hits.values())
    with Fetcher(make_settings(tmp_path, block_private_addresses=True), backoff=0.01) as f:
        res = f.fetch(server.url("/page"))
        assert isinstance(res, Reject)
        assert res.reason == "loopback address 127.0.0.1 refused" + ALLOW  # and how to allow it
        for url in ("http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "file:///etc/passwd",
                    "ftp://example.com/x", "not a url"):
            assert isinstance(f.fetch(url), Reject)
        assert f.fetch("http://10.0.0.1/").reason == "private address 10.0.0.1 refused" + ALLOW
    assert sum(server.hits.values()) == before  # nothing reached the server


class _LocalOnlyFetcher(Fetcher):
    """The real SSRF rule for every address except our test server's."""

    def _refuse_ip(self, ip):
        return None if ip == "127.0.0.1" else super()._refuse_ip(ip)


def test_redirect_hops_are_checked(server, tmp_path):
    settings = make_settings(tmp_path, block_private_addresses=True)
    with _LocalOnlyFetcher(settings, backoff=0.01) as f:
        assert isinstance(f.fetch(server.url("/page")), FetchResult)
        res = f.fetch(server.url("/redirect-private"))
        assert isinstance(res, Reject)
        assert res.reason == "redirect to http://10.0.0.1/secret: private address 10.0.0.1 refused" + ALLOW
        res = f.fetch(server.url("/redirect-file"))
        assert "only http and https" in res.reason


def test_dns_rebinding_caught_at_connect(server, tmp_path, monkeypatch):
    """The name resolves to a public address when checked, to a private one at connect."""
    import newsetl.sources.http as http_mod

    answers = iter([["93.184.216.34"], ["10.0.0.1"]])
    monkeypatch.setattr(http_mod, "resolve_host", lambda host, port=None: next(answers))
    settings = make_settings(tmp_path, block_private_addresses=True, respect_robots=False)
    with Fetcher(settings, backoff=0.01) as f:
        res = f.fetch("http://rebind.example/page")
    assert isinstance(res, Reject)
    assert res.reason == "private address 10.0.0.1 refused (rebind.example resolves to it)" + ALLOW


def test_robots_fetched_once_per_host_and_5xx_means_disallow(tmp_path):
    routes = {"/robots.txt": lambda r: Reply(503, b"down"), "/page": lambda r: Reply(200, PAGE, HTML)}
    with WebServer(routes) as srv, Fetcher(make_settings(tmp_path, http_retries=1), backoff=0.01) as f:
        for _ in range(2):  # the reason says robots.txt was unavailable, not that it disallows
            why = f.fetch(srv.url("/page")).reason
            assert why.startswith(f"robots.txt of {srv.url('')} answered HTTP 503") and "disallow all" in why, why
        assert srv.hits["/robots.txt"] == 1 and srv.hits["/page"] == 0
    routes = {"/robots.txt": lambda r: Reply(404, b""), "/page": lambda r: Reply(200, PAGE, HTML)}
    with WebServer(routes) as srv, Fetcher(make_settings(tmp_path), backoff=0.01) as f:
        assert isinstance(f.fetch(srv.url("/page")), FetchResult)  # 4xx robots: no rules


def test_429_retried_with_retry_after(tmp_path):
    routes = {"/busy": lambda r: Reply(429, b"", {"Retry-After": "0"}) if r.hit == 1 else Reply(200, PAGE, HTML)}
    with WebServer(routes) as srv, Fetcher(make_settings(tmp_path), backoff=0.01) as f:
        assert isinstance(f.fetch(srv.url("/busy")), FetchResult)
        assert srv.hits["/busy"] == 2


def test_per_host_delay(server, tmp_path):
    with Fetcher(make_settings(tmp_path, http_per_host_delay=0.3), backoff=0.01) as f:
        f.fetch(server.url("/robots.txt"))  # warm robots so only page requests are timed
        results = list(f.fetch_many([server.url("/timed")] * 3))
    assert all(isinstance(r, FetchResult) for r in results)
    times = server.times["/timed"][-3:]
    # Starts are spaced 0.3 s apart by the client, so the third request cannot arrive
    # sooner than 0.6 s after the first; arrival jitter on a loaded machine can move one
    # gap by tens of ms, so the span is asserted rather than each gap.
    assert times[-1] - times[0] >= 0.5, times


def test_per_host_concurrency(server, tmp_path):
    server.wait_idle()  # "/slow" handlers of the timeout tests may still be sleeping
    server.max_in_flight = 0
    with Fetcher(make_settings(tmp_path, http_per_host_concurrency=2), backoff=0.01) as f:
        results = list(f.fetch_many([server.url(f"/sleepy?{i}") for i in range(6)]))
    assert all(isinstance(r, FetchResult) for r in results)
    assert server.max_in_flight <= 2


def test_fetch_many_keeps_order(server, fetcher):
    urls = [server.url("/missing"), server.url("/page"), "ftp://x/", server.url("/page2")]
    out = list(fetcher.fetch_many(urls))
    assert [type(r).__name__ for r in out] == ["Reject", "FetchResult", "Reject", "FetchResult"]
    assert out[2].input_ref == "ftp://x/"


def test_pages_from_urls(server, tmp_path):
    settings = make_settings(tmp_path)
    urls = [server.url("/page"), server.url("/page?utm_source=x"), server.url("/missing"),
            server.url("/text"), server.url("/r1")]
    out = list(pages_from_urls(urls, settings))
    docs = [d for d in out if isinstance(d, RawDoc)]
    rejects = [d for d in out if isinstance(d, Reject)]
    assert len(docs) == 3  # the utm_ duplicate is fetched once
    page = docs[0]
    assert page.source == "127.0.0.1" and page.input_ref == server.url("/page")
    assert "Zürich café" in page.html and page.text is None
    assert page.url == server.url("/page") and page.fetched_at is not None
    assert docs[1].text == "Plain text – article" and docs[1].html is None
    assert docs[2].url == server.url("/page?from=r2") and docs[2].input_ref == server.url("/r1")
    assert [r.reason for r in rejects] == ["HTTP 404 Not Found"]


def test_reasons_say_what_the_body_or_the_redirect_was(server, tmp_path):
    """XML that is no feed said "content-type application/xml is not HTML or a feed" (the type
    is fine, the body is not); an XHTML page sent as XML is read as the page it is; a 404
    after a redirect names where the redirect went."""
    out = list(pages_from_urls([server.url(p) for p in ("/xml-data", "/xhtml-as-xml", "/to-missing")],
                               make_settings(tmp_path)))
    reasons = [r.reason for r in out if isinstance(r, Reject)]
    assert reasons == ["served as application/xml, but the body is no RSS, Atom or JSON feed",
                       f"redirect to {server.url('/missing')}: HTTP 404 Not Found"], reasons
    docs = [d for d in out if isinstance(d, RawDoc)]
    assert len(docs) == 1 and "Zürich café" in docs[0].html and docs[0].input_ref == server.url("/xhtml-as-xml")


def test_pages_from_urls_expands_a_feed(server, tmp_path):
    settings = make_settings(tmp_path)
    out = list(pages_from_urls([server.url("/feed.xml")], settings))
    docs = [d for d in out if isinstance(d, RawDoc)]
    rejects = [d for d in out if isinstance(d, Reject)]
    # item 1 has full content; items 2 and 3 are fetched pages; item 4 links to a 404
    assert [d.extra["content_from"] for d in docs] == ["feed_content", "page", "page"]
    assert docs[1].url == server.url("/article/2") and "Zürich café" in docs[1].html
    assert docs[1].title == "Only a teaser here"
    assert len(rejects) == 1 and rejects[0].reason.endswith("HTTP 404 Not Found")


def test_an_unchanged_feed_still_brings_the_items_that_failed_or_changed(tmp_path):
    """A feed is read whole every time: its 304 hid every item behind it, so a page that had
    failed (or was edited) was never asked for again while the feed stayed the same. Pages
    keep their conditional GET; a forced run asks for them whole. The feed is served as
    application/x-rss+xml, the older name many servers send (it was refused)."""
    state = {"page": None}
    holder = [""]

    def feed(req):
        if req.headers.get("if-none-match") == '"f1"':
            return Reply(304, b"", {"ETag": '"f1"'})
        body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>{holder[0]}/</link>'
                f'<item><title>Story</title><link>{holder[0]}/story</link><description>Teaser.</description>'
                "</item></channel></rss>").encode()
        return Reply(200, body, {"Content-Type": "application/x-rss+xml", "ETag": '"f1"'})

    def story(req):
        if state["page"] is None:
            return Reply(404, b"no", {"Content-Type": "text/plain"})
        tag = f'"{state["page"]}"'
        if req.headers.get("if-none-match") == tag:
            return Reply(304, b"", {"ETag": tag})
        body = f"<html><body><article><p>Version {state['page']} of the story.</p></article></body></html>"
        return Reply(200, body.encode(), {**HTML, "ETag": tag})

    srv = WebServer({"/feed.xml": feed, "/story": story})
    with srv:
        holder[0] = srv.base
        settings = make_settings(tmp_path)

        def run(**kw):
            with Fetcher(settings, backoff=0.01, **kw) as f:
                out = list(pages_from_urls([srv.url("/feed.xml")], settings, fetcher=f))
                f.commit_validators()  # the run landed
            return [d.html for d in out if isinstance(d, RawDoc)], [r.reason for r in out if isinstance(r, Reject)]

        docs, rejects = run()  # the page is missing at first
        assert docs == [] and len(rejects) == 1 and rejects[0].endswith("HTTP 404 Not Found"), rejects
        state["page"] = "v1"
        docs, rejects = run()
        assert len(docs) == 1 and "Version v1" in docs[0] and not rejects
        assert all("if-none-match" not in h for h in srv.request_headers["/feed.xml"])
        assert run() == ([], [])  # the page answers 304: skipped
        assert srv.request_headers["/story"][-1].get("if-none-match") == '"v1"'
        state["page"] = "v2"
        docs, _ = run()
        assert len(docs) == 1 and "Version v2" in docs[0]
        docs, _ = run(conditional=False)  # --force: asked whole, the page unchanged
        assert len(docs) == 1 and "if-none-match" not in srv.request_headers["/story"][-1]


def test_a_name_that_does_not_resolve_is_not_retried(tmp_path):
    """Retrying "Name or service not known" only waited out the backoff three times."""
    for block in (True, False):  # the guarded resolver, and the HTTP client's own
        with Fetcher(make_settings(tmp_path, block_private_addresses=block), backoff=0.01) as f:
            res = f.fetch("http://no-such-host.invalid/story")
            assert isinstance(res, Reject), res
            assert res.reason.startswith("DNS lookup failed for no-such-host.invalid"), res.reason
            assert f.stats["retries"] == 0 and "after" not in res.reason


@pytest.mark.parametrize(
    "ip,words",
    [
        ("2002:a00:1::1", "6to4 address 2002:a00:1::1 wraps 10.0.0.1"),  # 6to4 of 10.0.0.1
        ("2002:c0a8:101::", "wraps 192.168.1.1"),
        ("2002:7f00:1::1", "wraps 127.0.0.1"),
        ("2002:a9fe:a9fe::", "wraps 169.254.169.254"),  # cloud metadata over 6to4
        ("fec0::1", "site-local address fec0::1 refused"),
        ("fec0::a00:1", "site-local"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo"),  # Teredo client 10.0.0.1
        ("64:ff9b::a00:1", "NAT64 address 64:ff9b::a00:1 wraps 10.0.0.1"),
        ("64:ff9b::7f00:1", "wraps 127.0.0.1"),
    ],
)
def test_ipv6_forms_wrapping_private_ipv4_are_refused(ip, words):
    from newsetl.sources.http import private_address_refusal

    reason = private_address_refusal(ip)
    assert reason is not None and words in reason, reason


@pytest.mark.parametrize("ip", ["2002:808:808::1", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_and_6to4_of_public_ipv4_pass(ip):
    from newsetl.sources.http import private_address_refusal

    assert private_address_refusal(ip) is None


def test_fetcher_refuses_6to4_and_site_local_hosts(server, tmp_path, monkeypatch):
    """A name resolving to a 6to4 / site-local address never gets a request."""
    import newsetl.sources.http as http_mod

    answers = {"sixtofour.example": ["2002:a00:1::1"], "sitelocal.example": ["fec0::5"],
               "2002:a00:1::1": ["2002:a00:1::1"]}
    monkeypatch.setattr(http_mod, "resolve_host", lambda host, port=None: answers[host])
    with Fetcher(make_settings(tmp_path, block_private_addresses=True, respect_robots=False), backoff=0.01) as f:
        res = f.fetch("http://sixtofour.example/page")
        assert isinstance(res, Reject)
        assert res.reason == ("6to4 address 2002:a00:1::1 wraps 10.0.0.1: private address 10.0.0.1 refused "
                              "(sixtofour.example resolves to it)" + ALLOW)
        res = f.fetch("http://sitelocal.example/page")
        assert isinstance(res, Reject) and res.reason.startswith("site-local address fec0::5 refused")
        res = f.fetch("http://[2002:a00:1::1]/x")
        assert isinstance(res, Reject) and res.reason.endswith("wraps 10.0.0.1: private address 10.0.0.1 refused" + ALLOW)


def test_a_page_that_two_feeds_list_is_fetched_once_a_run(tmp_path):
    """Two feeds (or one feed twice, or with a tracking parameter) link one page: one
    request, the later items counted as repeats (they were fetched again and then rejected
    as "a different text" when the feeds' titles differed)."""
    from newsetl.sources.feeds import items_from_feed

    def rss(title, link):
        return (f"<rss version='2.0'><channel><title>{title}</title><item><title>{title} story</title>"
                f"<link>{link}</link><description>Teaser.</description></item></channel></rss>").encode()

    with WebServer({"/story": lambda r: Reply(200, PAGE, HTML)}) as srv, \
            Fetcher(make_settings(tmp_path, respect_robots=False), backoff=0.01) as f:
        a = list(items_from_feed("a.xml", rss("A", srv.url("/story")), fetcher=f))
        b = list(items_from_feed("b.xml", rss("B", srv.url("/story?utm_source=rss")), fetcher=f))
    assert len(a) == 1 and isinstance(a[0], RawDoc) and b == []
    assert srv.hits["/story"] == 1 and f.stats["repeated_links"] == 1
