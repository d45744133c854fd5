"""A real browser on the analysts' page: Debian's /usr/bin/chromium driven by Playwright.

Never `playwright install`: Playwright launches the system Chromium. When Chromium or
Playwright is missing the test fails with a clear message under CI (env CI set: .ci/run
installs chromium) and is skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_surface import build_warehouse  # noqa: E402

from newsetl.export import export_all  # noqa: E402
from newsetl.web import make_server  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("NEWSETL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshot.png"


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


@pytest.fixture
def server(tmp_path):
    settings = build_warehouse(tmp_path)
    export_all(settings)
    srv = make_server(settings, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


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
    assert page.locator("#chart-mentions svg polyline.series").count() == 1
    assert page.locator("#chart-tone svg polyline.series").count() == 2
    assert page.locator("#chart-top svg rect.bar").count() >= 2

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
