"""parse_feed / is_feed / items_from_feed on fixtures and (when present) the real feeds."""

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "web"))
from webserver import fixture_bytes  # noqa: E402

from newsetl.records import RawDoc, Reject
from newsetl.sources.feeds import (
    FeedItem,
    is_feed,
    items_from_feed,
    items_from_feed_file,
    parse_date,
    parse_feed,
)

WEB = Path(__file__).parent / "fixtures" / "web"
REAL_FEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds"
BASE = "https://news.example"


def test_rss20_items_dates_and_full_content():
    items = parse_feed(fixture_bytes("rss20.xml", BASE))
    assert isinstance(items, list) and len(items) == 4
    first, teaser, future, slash = items
    assert first.title == "Council expands tram network"
    assert first.link == BASE + "/article/1?utm_source=rss"
    assert first.authors == ["Jane Doe"]
    assert first.published_at == datetime(2025, 6, 3, 7, 30, tzinfo=timezone.utc)
    assert first.content.startswith("<p>The council") and first.feed_title == "Local Test News"
    assert teaser.content is None and teaser.summary == "Read the whole story on the site."
    assert future.published_at is None  # year 2100: never in the future
    # feedparser alone reads this as 2020-11-01
    assert slash.published_at == datetime(2020, 1, 10, 14, 33, tzinfo=timezone.utc)
    assert first.language == "en"


def test_atom_rdf_rss091_json():
    atom = parse_feed(fixture_bytes("atom.xml"), base_url="https://example.org/feed")
    assert len(atom) == 1
    a = atom[0]
    assert a.title == "Atom & entry" and a.authors == ["John Roe"]
    assert a.link == "https://example.org/posts/1#comments"  # relative link resolved
    assert a.published_at == datetime(2024, 3, 1, 13, 0, tzinfo=timezone.utc)
    assert a.updated_at == datetime(2024, 3, 1, 14, 0, tzinfo=timezone.utc)

    rdf = parse_feed(fixture_bytes("rss10.rdf"))
    assert [i.title for i in rdf] == ["RDF item A", "RDF item B"]
    assert rdf[0].published_at == datetime(2023, 5, 6, 5, 8, 9, tzinfo=timezone.utc)

    old = parse_feed(fixture_bytes("rss091.xml"))
    assert [(i.title, i.link) for i in old] == [("Old item", "http://example.com/old")]

    js = parse_feed(fixture_bytes("feed.json"))
    assert [i.title for i in js] == ["JSON one", "JSON two"]
    assert js[0].content == "Plain text body." and js[0].content_is_html is False
    assert js[0].authors == ["Feed Author"] and js[1].authors == ["Item Author"]
    assert js[0].published_at == datetime(2022, 2, 2, 9, 0, tzinfo=timezone.utc)


def test_str_input_with_stale_encoding_declaration():
    doc = '<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><title>t</title>' \
          "<item><title>建国35周年纪念</title><link>http://x.cn/1</link></item></channel></rss>"
    items = parse_feed(doc)
    assert items[0].title == "建国35周年纪念"


@pytest.mark.parametrize("name", ["billion_laughs.xml", "xxe.xml"])
def test_entity_declarations_refused(name):
    t0 = time.monotonic()
    res = parse_feed(fixture_bytes(name))
    assert isinstance(res, Reject)
    assert "entity" in res.reason.lower()
    assert time.monotonic() - t0 < 1


@pytest.mark.parametrize(
    "data,why",
    [(b"", "empty"), (b"<html><body>hi</body></html>", "not an RSS"), (b"{\"a\": 1}", "not a JSON Feed"),
     (b"{not json", "invalid JSON"), (b"\x00\x01\x02garbage", "not an RSS")],
)
def test_not_feeds_rejected(data, why):
    res = parse_feed(data)
    assert isinstance(res, Reject) and why in res.reason


def test_is_feed():
    for name in ("rss20.xml", "atom.xml", "rss10.rdf", "rss091.xml", "feed.json"):
        assert is_feed(fixture_bytes(name)), name
    assert is_feed(b"\xef\xbb\xbf\n\n  <rss version='2.0'></rss>")
    assert is_feed("<?xml version='1.0'?><!-- c --><feed xmlns='http://www.w3.org/2005/Atom'/>".encode("utf-16"))
    for not_feed in (b"", b"<!doctype html><html></html>", b'{"version": "1"}', b"hello", fixture_bytes("page_utf8.html")):
        assert not is_feed(not_feed)


def test_parse_date_rules():
    now = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_date("Wed, 5 Nov 2024 13:52:10  EST", now=now) == datetime(2024, 11, 5, 18, 52, 10, tzinfo=timezone.utc)
    assert parse_date("2024-06-01T10:00:00Z", now=now) == datetime(2024, 6, 1, 10, 0, tzinfo=timezone.utc)
    assert parse_date("2025-01-01T12:30:00Z", now=now) == now  # small skew clamped
    assert parse_date("2025-01-05T00:00:00Z", now=now) is None  # far future dropped
    assert parse_date("1970-01-01T00:00:00Z", now=now) is None
    assert parse_date("yesterday-ish", now=now) is None
    assert parse_date(None) is None


@hsettings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_parse_feed_never_raises(data):
    res = parse_feed(b"<rss version='2.0'><channel><item><title>" + data + b"</title></item></channel></rss>")
    assert isinstance(res, (list, Reject))
    assert isinstance(parse_feed(data), (list, Reject))


def test_items_from_feed_without_fetcher():
    docs = list(items_from_feed("local.rss", fixture_bytes("rss20.xml", BASE)))
    assert all(isinstance(d, RawDoc) for d in docs) and len(docs) == 4
    full = docs[0]
    assert full.extra["content_from"] == "feed_content" and full.html.startswith("<p>The council")
    assert full.source == "news.example" and full.input_ref == "local.rss#local-1"  # its guid: stays its own as the feed grows
    assert full.canonical_url == BASE + "/article/1"
    assert full.site_name == "Local Test News" and full.extra["guid"] == "local-1"
    assert docs[1].extra["content_from"] == "summary"
    json_docs = list(items_from_feed("feed.json", fixture_bytes("feed.json")))
    assert json_docs[0].text == "Plain text body." and json_docs[0].html is None


def test_items_from_feed_file_missing(tmp_path):
    out = list(items_from_feed_file(tmp_path / "nope.rss"))
    assert len(out) == 1 and isinstance(out[0], Reject) and "cannot read" in out[0].reason
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<html>no</html>")
    out = list(items_from_feed_file(bad))
    assert isinstance(out[0], Reject) and out[0].input_ref == str(bad)


class _FakeFetcher:
    """Only the fetch_many contract items_from_feed relies on."""

    def __init__(self):
        self.asked = []

    def fetch_many(self, urls):
        from newsetl.sources.http import FetchResult

        for url in urls:
            self.asked.append(url)
            if url.endswith("/missing"):
                yield Reject("news.example", url, "HTTP 404 Not Found")
            else:
                yield FetchResult(url=url, final_url=url, status=200, headers={"content-type": "text/html"},
                                  content=b"<html><body><p>page body</p></body></html>",
                                  content_type="text/html", fetched_at=datetime.now(timezone.utc))


def test_items_from_feed_fetches_teasers():
    f = _FakeFetcher()
    out = list(items_from_feed(BASE + "/feed", fixture_bytes("rss20.xml", BASE), fetcher=f))
    assert f.asked == [BASE + "/article/2", BASE + "/article/3", BASE + "/missing"]
    docs = [d for d in out if isinstance(d, RawDoc)]
    assert [d.extra["content_from"] for d in docs] == ["feed_content", "page", "page"]
    assert docs[1].html == "<html><body><p>page body</p></body></html>"
    assert docs[1].title == "Only a teaser here"  # feed title as fallback
    assert docs[1].published_at == datetime(2025, 6, 4, 10, 0, tzinfo=timezone.utc)
    rejects = [d for d in out if isinstance(d, Reject)]
    assert rejects[0].input_ref == BASE + "/feed#item3"
    assert rejects[0].reason == BASE + "/missing: HTTP 404 Not Found"


# --- the eight real feeds (README table in ../shared/data/feeds) --------------------

EXPECTED = {
    "livemint.xml": 25, "aktuality.rss": 30, "macworld.rss": 30, "medscape.rss": 20,
    "DaringFireball.atom": 48, "489.rss": 10, "kc0011.rss": 20, "npr-technology.feed.json": 25,
}


@pytest.mark.skipif(not REAL_FEEDS.is_dir(), reason=f"real feed snapshots not present at {REAL_FEEDS}")
@pytest.mark.parametrize("name,count", sorted(EXPECTED.items()))
def test_real_feeds(name, count):
    data = (REAL_FEEDS / name).read_bytes()
    assert is_feed(data)
    items = parse_feed(data)
    assert isinstance(items, list), items
    assert len(items) == count
    now = datetime.now(timezone.utc)
    for it in items:
        assert isinstance(it, FeedItem) and it.title and it.link
        assert it.published_at is not None and it.published_at.tzinfo is not None
        assert it.published_at <= now
        assert "\ufffd" not in (it.title + (it.summary or "") + (it.content or ""))
    docs = list(items_from_feed(str(REAL_FEEDS / name), data))
    assert len(docs) == count and all(isinstance(d, RawDoc) for d in docs)
    if name == "kc0011.rss":
        assert items[0].title == "建国35周年纪念，华表，和平鸽"
        assert items[0].published_at == datetime(2020, 1, 10, 14, 33, tzinfo=timezone.utc)
    if name == "medscape.rss":
        assert all(i.published_at.year == 2025 and i.published_at.month == 11 for i in items)
    if name == "489.rss":  # posts 6 and 7 are an embedded tweet: a script and one line of text
        assert [d.extra["content_from"] == "feed_content" for d in docs] == [True] * 6 + [False] * 3 + [True]
    if name == "macworld.rss":  # long teasers ending in "read this article in full"
        assert all(d.extra["content_from"] == "summary" for d in docs)


def test_json_feed_with_objects_where_strings_belong_does_not_crash():
    # fuzzing found it: a JSON Feed whose language (and other string fields) are objects
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": {"x": 1}, "language": {"en": True},
           "home_page_url": ["x"], "items": [
               {"id": 1, "url": {"href": "x"}, "language": {"a": 1}, "title": ["t"],
                "content_text": "Dock workers in Rotterdam returned to work on Monday after a strike over pay."},
               {"id": 2, "url": "https://example.org/two", "language": "en", "content_text": "Second item text here."}]}
    items = parse_feed(json.dumps(doc).encode())
    assert [i.language for i in items] == [None, "en"]
    assert items[0].link is None and items[0].title is None
    docs = list(items_from_feed("odd.json", json.dumps(doc).encode()))
    assert len(docs) == 2 and docs[0].text.startswith("Dock workers")


def test_malformed_date_element_that_feedparser_gives_as_an_object():
    # fuzzing found it (make reliability, feed/fz4254.rss): a mutated RSS item whose
    # date element comes back from feedparser as a dict
    data = (Path(__file__).parent / "fixtures" / "fuzz-feed-updated-object.rss").read_bytes()
    docs = list(items_from_feed("fz.rss", data))
    assert docs and all(isinstance(d, (RawDoc, Reject)) for d in docs)
    assert parse_date({"x": 1}) is None


# --- what a feed reader meets (stop 59's audit of feeds over HTTP) ---------------------

LONG = "<p>" + " ".join(["The council approved the budget after a long debate."] * 12) + "</p>"


def _atom(entries: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f'<title>Linked Notes</title><link rel="alternate" href="https://notes.example/"/>'
            f'<id>tag:notes.example,2024:feed</id><updated>2024-03-01T12:00:00Z</updated>{entries}</feed>').encode()


def test_a_link_blog_post_is_filed_under_its_own_permalink():
    """Atom link blogs point rel="alternate" at the story they comment on and rel="related"
    at their own post: the post's text lands under the post's URL, never the other site's
    (where it would replace, and be replaced by, that site's own article)."""
    entry = ('<entry><title>On the budget</title><link rel="alternate" href="https://paper.example/budget"/>'
             '<link rel="related" href="https://notes.example/linked/budget"/><id>tag:notes.example,2024:/1</id>'
             f'<published>2024-03-01T10:00:00Z</published><content type="html"><![CDATA[{LONG}]]></content></entry>'
             '<entry><title>Own post</title><link rel="alternate" href="https://notes.example/2024/own"/>'
             f'<id>tag:notes.example,2024:/2</id><content type="html"><![CDATA[{LONG}]]></content></entry>')
    docs = list(items_from_feed("https://notes.example/feed", _atom(entry)))
    assert [d.url for d in docs] == ["https://notes.example/linked/budget", "https://notes.example/2024/own"]
    assert docs[0].extra["links_to"] == "https://paper.example/budget" and "links_to" not in docs[1].extra
    assert docs[0].input_ref == "https://notes.example/feed#tag:notes.example,2024:/1"


def test_script_text_is_not_article_text_and_plain_descriptions_are_text():
    embed = "<p>Our upcoming features</p><script>" + "var x = 1; " * 200 + "</script>"
    rss = ("<rss version='2.0'><channel><title>T</title><link>https://t.example/</link>"
           f"<item><title>Embed</title><link>https://t.example/embed</link><description><![CDATA[{embed}]]></description></item>"
           "<item><title>Brief</title><description>Forty words of plain text news: the council met on "
           "Monday and agreed to open the new library in May.\nA second line.</description></item>"
           "</channel></rss>").encode()
    f = _FakeFetcher()
    docs = list(items_from_feed("https://t.example/feed", rss, fetcher=f))
    assert f.asked == ["https://t.example/embed"]  # 2,000 characters of script are no full text
    brief = docs[0]
    assert brief.html is None and brief.text.startswith("Forty words") and "\n" in brief.text


def test_a_failed_page_lands_the_text_the_feed_carried():
    rss = ("<rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/'><channel><title>T</title>"
           "<item><title>Short brief</title><link>https://news.example/missing</link>"
           "<content:encoded><![CDATA[<p>The bridge reopens on Monday after repairs, the city said.</p>]]>"
           "</content:encoded></item>"
           "<item><title>Teaser only</title><link>https://news.example/missing</link>"
           "<description>Read the whole story on the site.</description></item></channel></rss>").encode()
    out = list(items_from_feed(BASE + "/feed", rss, fetcher=_FakeFetcher()))
    doc, rej = out
    assert isinstance(doc, RawDoc) and "bridge reopens" in doc.html and doc.extra["content_from"] == "feed_content"
    assert doc.extra["page_error"] == "https://news.example/missing: HTTP 404 Not Found"
    assert isinstance(rej, Reject) and rej.reason.endswith("HTTP 404 Not Found")  # a summary never stands in


def test_a_cut_off_feed_lands_what_it_has_and_says_the_rest_is_lost():
    whole = fixture_bytes("rss20.xml", BASE)
    cut = whole[: whole.rindex(b"<item>") + 40]
    out = list(items_from_feed("cut.xml", cut))
    rejects = [o for o in out if isinstance(o, Reject)]
    assert "closing </rss> tag" in rejects[0].reason and "any after it are lost" in rejects[0].reason
    assert [o.input_ref for o in out if isinstance(o, RawDoc)][:3] == ["cut.xml#local-1", "cut.xml#local-2",
                                                                       "cut.xml#item2"]
    assert not any(isinstance(o, Reject) for o in items_from_feed("whole.xml", whole))


def test_html_in_a_title_is_dropped_and_a_feed_served_as_html_is_read_as_a_feed():
    rss = ("<rss version='2.0'><channel><title>T</title><item>"
           "<title>Port sells &lt;span class=\"cur\"&gt;₹&lt;/span&gt;90 crore of bonds</title>"
           f"<link>https://t.example/a</link><description><![CDATA[{LONG}]]></description></item></channel></rss>")
    assert parse_feed(rss.encode())[0].title == "Port sells ₹90 crore of bonds"
    from newsetl.settings import Settings
    from newsetl.sources.http import FetchResult, docs_from_result

    res = FetchResult(url="https://t.example/feed", final_url="https://t.example/feed", status=200,
                      headers={"content-type": "text/html"}, content=rss.encode(), content_type="text/html",
                      fetched_at=datetime.now(timezone.utc))
    out = list(docs_from_result(res, Settings()))
    assert [d.title for d in out] == ["Port sells ₹90 crore of bonds"]  # its item, not the XML as one page


def test_an_article_that_is_all_boilerplate_is_a_reject():
    from newsetl.process import prepare

    title = "What the library plans for spring — @marlowlib"
    prep = prepare([RawDoc(source="t.example", input_ref="feed#1", url="https://t.example/1", title=title,
                           text=title)])
    assert prep.articles.height == 0
    assert [r.reason for r in prep.rejects] == ["no article text: every paragraph is boilerplate (own_title)"]
