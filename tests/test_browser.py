"""A real browser on the analysts' page: Debian's /usr/bin/chromium driven by Playwright.

Never `playwright install`: Playwright launches the system Chromium. When Chromium or
Playwright is missing the test fails with a clear message under CI (env CI set: .ci/run
installs chromium) and is skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_surface import build_warehouse, undated_rows, web_rows  # noqa: E402

from newsetl.export import export_all  # noqa: E402
from newsetl.web import make_server  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("NEWSETL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DOCS = Path(__file__).resolve().parents[1] / "docs"
SCREENSHOT = DOCS / "screenshot.png"


def _missing(what: str) -> None:
    message = f"{what}; install it with `apt-get install -y chromium` (never `playwright install`)"
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run under CI: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _serve(settings):
    srv = make_server(settings, "127.0.0.1", 0, quiet=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


@pytest.fixture
def server(tmp_path):
    settings = build_warehouse(tmp_path)
    export_all(settings)
    srv, url = _serve(settings)
    try:
        yield url
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def web_server(tmp_path):
    srv, url = _serve(build_warehouse(tmp_path, web_rows()))
    try:
        yield url
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def undated_server(tmp_path):
    srv, url = _serve(build_warehouse(tmp_path, undated_rows()))
    try:
        yield url
    finally:
        srv.shutdown()
        srv.server_close()


def _page(browser, errors):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context, page


def _assert_chart_has_axes(page, box: str) -> None:
    svg = page.locator(f"{box} svg")
    assert svg.count() == 1, box
    assert (svg.locator("text.axis-title.x").text_content() or "").strip(), box
    assert (svg.locator("text.axis-title.y").text_content() or "").strip(), box


def test_page_query_preview_download_and_charts(browser, server, tmp_path):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")

    # catalog
    assert page.locator("#tables").get_by_text("entity_mentions", exact=True).count() == 1
    assert "r1" in page.locator("#last-run").inner_text()

    # charts render (the page sets data-charts-ready once both charts are drawn)
    page.wait_for_selector("body[data-charts-ready='1']", timeout=15_000)
    assert page.locator("#dated-charts").is_visible()
    assert page.locator("#chart-mentions svg polyline.series").count() == 1
    assert page.locator("#chart-tone svg polyline.series").count() == 2
    assert page.locator("#chart-top svg rect.bar").count() >= 2
    for box in ("#chart-mentions", "#chart-tone", "#chart-top", "#chart-top-entities", "#chart-sources", "#chart-tone-dist"):
        _assert_chart_has_axes(page, box)
        assert page.locator(f"figure:has({box}) figcaption").inner_text().strip(), box

    # run a query, see the preview
    page.fill("#sql", "select entity_id, sum(mentions) as mentions from entity_daily group by all order by entity_id")
    page.click("#run")
    page.wait_for_selector("#preview-table tbody tr")
    rows = page.locator("#preview-table tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).inner_text().split() == ["e_acme", "4"]
    assert "3 rows" in page.locator("#sql-status").inner_text()

    # a refused query shows the server's message
    page.fill("#sql", "select * from read_csv('/etc/passwd')")
    page.click("#run")
    page.wait_for_selector("#sql-error:not([hidden])")
    assert "read_csv" in page.locator("#sql-error").inner_text()

    # download the query result as Parquet and read it with pyarrow
    page.fill("#sql", "select article_id, title from article_overview order by article_id")
    with page.expect_download() as info:
        page.click("#dl-parquet")
    target = tmp_path / "result.parquet"
    info.value.save_as(target)
    table = pq.read_table(target)
    assert table.column("article_id").to_pylist() == ["a1", "a2", "a3", "a4", "a5"]

    # download a whole table from the catalog
    with page.expect_download() as info:
        page.click("a[href='/download/entities.parquet']")
    target = tmp_path / "entities.parquet"
    info.value.save_as(target)
    assert sorted(pq.read_table(target).column("entity_id").to_pylist()) == ["e_acme", "e_alice", "e_paris"]

    # a preview for the screenshot
    page.fill("#sql", "select name, label, day, mentions, articles, round(mean_sentiment, 2) as sentiment, "
                      "mean_tone from entity_daily order by day, mentions desc")
    page.click("#run")
    page.wait_for_selector("#preview-table tbody tr")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert not errors, errors
    context.close()


def test_entity_page(browser, web_server):
    errors: list[str] = []
    context, page = _page(browser, errors)
    page.goto(web_server + "/entities/e_alice")
    assert page.locator("#entity-name").inner_text().startswith("Alice Smith")
    assert page.locator("#count-mentions").inner_text() == "4"
    # mentions in context: the mention is highlighted inside its sentence
    first = page.locator("li.mention").first
    assert first.locator(".context mark").inner_text() == "Alice Smith"
    assert first.locator(".tone").inner_text() in ("positive", "neutral", "negative")
    mark_bg = first.locator(".context mark").evaluate("e => getComputedStyle(e).backgroundColor")
    assert mark_bg not in ("rgba(0, 0, 0, 0)", "transparent")
    # mentions over time: a line with axis titles
    page.wait_for_selector("body[data-charts-ready='1']", timeout=15_000)
    assert page.locator("#chart-entity-timeline svg polyline.series").count() == 1
    _assert_chart_has_axes(page, "#chart-entity-timeline")
    assert page.locator("#quotes-section blockquote").count() == 2
    page.screenshot(path=str(DOCS / "screenshot-entity.png"), full_page=True)
    # co-occurring entities link to their pages
    page.locator("#cooccurring a", has_text="Acme Corp").click()
    page.wait_for_url("**/entities/e_acme")
    assert page.locator("#entity-name").inner_text().startswith("Acme Corp")
    assert not errors, errors
    context.close()


def test_article_page(browser, web_server):
    errors: list[str] = []
    context, page = _page(browser, errors)
    page.goto(web_server + "/articles/a1")
    assert page.locator("#article-title").inner_text() == "Alice Smith visits Paris"
    paras = page.locator("#paragraphs .para")
    assert [paras.nth(i).get_attribute("data-kind") for i in range(paras.count())] == ["heading", "body", "boilerplate"]
    # boilerplate is visibly set apart: another background and its reason shown
    bg = lambda sel: page.locator(sel).evaluate("e => getComputedStyle(e).backgroundColor")  # noqa: E731
    assert bg("#p2") != bg("#p1")
    assert page.locator("#p2 .kind-reason").inner_text() == "newsletter sign-up"
    # sentence sentiment on hover: the title, and a highlight while hovered
    sent = page.locator("#p1 .sent").first
    assert sent.get_attribute("title") == "sentence sentiment +0.50 (positive)"
    before = sent.evaluate("e => getComputedStyle(e).backgroundColor")
    sent.hover()
    assert sent.evaluate("e => getComputedStyle(e).backgroundColor") != before
    # quotes with their speaker; near-duplicates linked
    assert "Alice Smith" in page.locator("#article-quotes .speaker").first.inner_text()
    assert page.locator("#near-duplicates a[href='/articles/a4']").count() == 1
    page.mouse.move(0, 0)
    page.screenshot(path=str(DOCS / "screenshot-article.png"), full_page=True)
    # a mark links to its entity page
    page.locator("#p1 mark[data-entity-id='e_acme'] a").click()
    page.wait_for_url("**/entities/e_acme")
    assert not errors, errors
    context.close()


def test_article_markup_is_text(browser, web_server):
    errors: list[str] = []
    context, page = _page(browser, errors)
    page.goto(web_server + "/articles/a6")
    text = page.locator("#p0 .para-text").inner_text()
    assert text == 'Tom said <script>alert("x")</script> & <b>Acme Corp</b> lost.'
    assert page.locator("#p0 mark[data-entity-id='e_acme']").inner_text() == "Acme Corp"
    assert page.locator("#p0 script, #p0 b").count() == 0
    assert not errors, errors
    context.close()


def test_search_box(browser, web_server):
    errors: list[str] = []
    context, page = _page(browser, errors)
    page.goto(web_server + "/articles/a2")  # the box is on every page
    page.fill("#entity-search", "acm")
    page.wait_for_selector("#search-results:not([hidden]) a")
    links = page.locator("#search-results a")
    assert links.count() == 1 and links.first.inner_text() == "Acme Corp"
    page.fill("#entity-search", "zzzz")
    page.wait_for_selector("#search-results li.none")
    assert "no entity" in page.locator("#search-results").inner_text()
    page.fill("#entity-search", "PARIS")
    page.wait_for_selector("#search-results a[href='/entities/e_paris']")
    page.press("#entity-search", "Enter")
    page.wait_for_url("**/entities/e_paris")
    assert page.locator("#entity-name").inner_text().startswith("Paris")
    assert not errors, errors
    context.close()


def test_undated_corpus_gets_charts_that_need_no_dates(browser, undated_server):
    errors: list[str] = []
    context, page = _page(browser, errors)
    page.goto(undated_server + "/")
    page.wait_for_selector("body[data-charts-ready='1']", timeout=15_000)
    assert not page.locator("#dated-charts").is_visible()  # no empty per-day charts
    assert "None of the 5 articles carries a publication date" in page.locator("#charts-note").inner_text()
    assert page.locator("#chart-top-entities svg rect.bar").count() == 3
    assert page.locator("#chart-sources svg rect.bar").count() == 3
    assert page.locator("#chart-tone-dist svg rect.bar").count() == 4
    for box in ("#chart-top-entities", "#chart-sources", "#chart-tone-dist"):
        _assert_chart_has_axes(page, box)
        caption = page.locator(f"figure:has({box}) figcaption").first.inner_text()
        assert len(caption) > 20 and "\n" not in caption.strip()
    page.locator("#charts-section").screenshot(path=str(DOCS / "screenshot-charts-undated.png"))
    # a bar of the top-entities chart leads to the entity
    page.locator("#chart-top-entities svg a").first.click()
    page.wait_for_url("**/entities/e_*")
    assert not errors, errors
    context.close()


def test_token_link_then_cookie(browser, tmp_path):
    """A non-loopback server's printed link (?token=T) works once; the page, its scripts'
    requests and the next pages then ride on the cookie, and the token leaves the address."""
    srv = make_server(build_warehouse(tmp_path, web_rows()), "127.0.0.1", 0, quiet=True, token="tok-123").start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        errors: list[str] = []
        context, page = _page(browser, errors)
        r = page.goto(url + "/")
        assert r.status == 401 and "needs its token" in page.content()
        errors.clear()  # the 401 above is expected
        page.goto(url + "/?token=tok-123")
        assert page.url == url + "/"
        page.wait_for_selector("body[data-charts-ready='1']", timeout=15_000)
        assert page.locator("#chart-top-entities svg rect.bar").count() == 3
        page.goto(url + "/articles/a1")
        assert page.locator("#article-title").inner_text() == "Alice Smith visits Paris"
        assert not errors, errors
        context.close()
    finally:
        srv.shutdown()
        srv.server_close()
