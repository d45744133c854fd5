"""Inputs an audit found to crash a whole batch, hang it, or land garbage: each must now
become a row in `rejects` with a reason, or land as the text it is (a date it cannot hold
is left out). Read through the sources' own entry point (iter_sources), as a run does."""

from __future__ import annotations

import gzip
import json
import os
import time
from datetime import datetime, timezone

import pytest

from newsetl.records import RawDoc, Reject
from newsetl.settings import Settings
from newsetl.sources.dispatch import iter_sources

ARTICLE = "The council met on Tuesday. Its members voted to open the new library in the spring."


def read(*sources: str) -> tuple[list[RawDoc], list[Reject]]:
    items = list(iter_sources([str(s) for s in sources], Settings()))
    return [i for i in items if isinstance(i, RawDoc)], [i for i in items if isinstance(i, Reject)]


def corrupt_gzip(data: bytes) -> bytes:
    """A gzip file whose header is valid and whose deflate stream is not (zlib.error, not
    OSError, when read)."""
    z = bytearray(gzip.compress(data, mtime=0))
    for i in range(20, min(60, len(z) - 8)):
        z[i] ^= 0xAA
    return bytes(z)


def test_gzip_files_with_a_corrupt_body_are_rejected_and_the_rest_lands(tmp_path):
    html = f"<html><body><article><p>{ARTICLE}</p></article></body></html>".encode() * 20
    (tmp_path / "page.html.gz").write_bytes(corrupt_gzip(html))
    lines = "".join(json.dumps({"url": f"https://example.org/{i}", "text": ARTICLE}) + "\n" for i in range(200))
    (tmp_path / "news.jsonl.gz").write_bytes(corrupt_gzip(lines.encode()))
    (tmp_path / "good.txt").write_text(ARTICLE)
    docs, rejects = read(tmp_path)
    assert [d.input_ref for d in docs if d.input_ref.endswith("good.txt")]
    reasons = {r.input_ref.rsplit("/", 1)[-1]: r.reason for r in rejects}
    assert "not a valid gzip file" in reasons["page.html.gz"]
    assert "corrupt" in reasons["news.jsonl.gz"]


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", True])
def test_a_date_with_no_utc_form_is_left_out_not_a_crash(tmp_path, when):
    (tmp_path / "news.jsonl").write_text(json.dumps({"url": "https://example.org/a", "text": ARTICLE,
                                                     "published_at": when}) + "\n")
    rss = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>A</title>'
           f'<link>https://example.org/b</link><pubDate>{when}</pubDate><description>{ARTICLE * 3}</description>'
           f'</item></channel></rss>')
    (tmp_path / "feed.rss").write_text(rss)
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "T",
            "items": [{"id": "c", "url": "https://example.org/c", "content_text": ARTICLE * 3, "date_published": when}]}
    (tmp_path / "feed.json").write_text(json.dumps(feed))
    docs, rejects = read(tmp_path)
    assert not rejects and len(docs) == 3
    assert all(d.published_at is None for d in docs)


def test_json_nested_too_deep_is_a_reject(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "news.jsonl").write_text('{"text": "deep", "x": ' + deep + "}\n"
                                         + json.dumps({"url": "https://example.org/a", "text": ARTICLE}) + "\n")
    (tmp_path / "feed.json").write_text('{"version": "https://jsonfeed.org/version/1.1", "items": ' + deep + "}")
    docs, rejects = read(tmp_path)
    assert [d.url for d in docs] == ["https://example.org/a"]
    assert sorted(r.reason for r in rejects) == ["invalid JSON: nested too deep to read",
                                                 "line is JSON nested too deep to read"]


def test_a_glob_through_a_symlink_loop_ends(tmp_path):
    """Two links back up the tree made glob.glob's `**` list paths without end."""
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "one.txt").write_text(ARTICLE)
    (tmp_path / "real" / ".hidden.txt").write_text(ARTICLE)
    os.symlink("..", tmp_path / "real" / "up1")
    os.symlink("..", tmp_path / "real" / "up2")
    t0 = time.monotonic()
    docs, rejects = read(f"{tmp_path}/**/*.txt")
    assert time.monotonic() - t0 < 10
    assert [d.input_ref for d in docs] == [str(tmp_path / "real" / "one.txt")] and not rejects
    docs, _ = read(f"{tmp_path}/real/**")  # glob.glob's "dir/**" listed its files too
    assert [d.input_ref for d in docs] == [str(tmp_path / "real" / "one.txt")]


def test_utf16_text_with_a_byte_order_mark_lands(tmp_path):
    (tmp_path / "utf16.txt").write_bytes(ARTICLE.encode("utf-16"))  # BOM first, then NULs in every other byte
    docs, rejects = read(tmp_path / "utf16.txt")
    assert not rejects and docs[0].text.strip() == ARTICLE


def test_utf8_with_a_damaged_letter_keeps_its_other_letters(tmp_path):
    """Read as cp1252 before: "Straße" became "StraÃŸe" all through the text."""
    text = ("Der Bürgermeister sagte, die Straße werde geöffnet. Ökonomen äußerten sich skeptisch über die "
            "Maßnahme, die München betrifft. ") * 3
    data = text.encode()
    cut = data.index("ü".encode())
    from newsetl.sources.decode import decode_bytes

    decoded, encoding = decode_bytes(data[:cut] + data[cut + 1:])
    assert encoding == "utf-8" and "Straße" in decoded and "\ufffd" in decoded
    # Latin-1 text that detection calls a Baltic code page is read as windows-1252.
    latin1 = "Café au lait is served in Paris. The mayor said a naïve résumé of prices rose.".encode("latin-1")
    assert decode_bytes(latin1) == ("Café au lait is served in Paris. The mayor said a naïve résumé of prices rose.",
                                    "cp1252")
    # Undeclared Chinese text is still read as GB18030, not as broken UTF-8.
    zh = "北京市政府周二宣布，将在未来三年内投资建设新的地铁线路，以缓解城市交通压力。" * 2
    assert decode_bytes(zh.encode("gb18030"))[0] == zh


def _warc_response(url: str, ctype: str, body: bytes) -> bytes:
    http = f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {url}\r\nWARC-Date: 2024-11-12T10:00:00Z\r\n"
            f"WARC-Record-ID: <urn:uuid:{abs(hash(url)):032x}>\r\nContent-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(http)}\r\n\r\n").encode()
    return head + http + b"\r\n\r\n"


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 8


def test_binary_bodies_served_as_html_are_rejected(tmp_path):
    page = f"<html><body><article><p>{ARTICLE}</p></article></body></html>".encode()
    (tmp_path / "crawl.warc").write_bytes(_warc_response("https://example.org/pdf", "text/html", PDF)
                                          + _warc_response("https://example.org/page", "text/html", page))
    docs, rejects = read(tmp_path / "crawl.warc")
    assert [d.url for d in docs] == ["https://example.org/page"]
    assert [r.reason for r in rejects] == ["record body is binary (control bytes) served as text/html, not text"]

    from newsetl.sources.http import FetchResult, docs_from_result

    res = FetchResult(url="https://example.org/pdf", final_url="https://example.org/pdf", status=200,
                      headers={"content-type": "text/html"}, content=PDF, content_type="text/html",
                      fetched_at=datetime.now(timezone.utc))
    out = list(docs_from_result(res, Settings()))
    assert len(out) == 1 and isinstance(out[0], Reject) and "binary content" in out[0].reason


def test_a_json_feed_item_that_is_no_object_is_a_reject_and_keeps_the_numbering(tmp_path):
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "T",
            "items": ["a string item", {"id": "b", "url": "https://example.org/b", "content_text": ARTICLE * 3}]}
    (tmp_path / "feed.json").write_text(json.dumps(feed))
    docs, rejects = read(tmp_path / "feed.json")
    assert [d.input_ref.rsplit("#", 1)[1] for d in docs] == ["b"]  # its id; an item without one: its place
    assert [(r.input_ref.rsplit("#", 1)[1], r.reason) for r in rejects] == [
        ("item0", "feed item has no content, no summary and no fetchable link")]


def test_jsonl_fields_of_the_wrong_type_are_not_stored_as_python_repr(tmp_path):
    (tmp_path / "news.jsonl").write_text(json.dumps({"url": 12345, "title": {"nested": "title"},
                                                     "source": ["list", "source"], "text": ARTICLE}) + "\n")
    docs, _ = read(tmp_path / "news.jsonl")
    (doc,) = docs
    assert doc.url == "12345" and doc.title is None and doc.source == tmp_path.name
    assert doc.extra == {"title_given": {"nested": "title"}, "source_given": ["list", "source"]}


def test_an_earlier_text_under_the_same_url_in_one_batch_is_a_reject(tmp_path):
    from newsetl.process import prepare

    rows = [{"url": "https://example.org/a", "text": ARTICLE}, {"url": "https://example.org/a", "text": ARTICLE},
            {"url": "https://example.org/a", "text": ARTICLE + " It opens in May."}]
    (tmp_path / "news.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    docs, _ = read(tmp_path / "news.jsonl")
    prep = prepare(docs)
    # each input counted once: 1 landed, 2 rejects (they were counted as repeats too)
    assert prep.articles.height == 1 and prep.duplicates_in_batch == 0
    assert "It opens in May." in " ".join(prep.paragraphs["text"].to_list())
    assert sorted((r.input_ref.rsplit(":", 1)[1], r.reason) for r in prep.rejects) == [
        ("1", "another input later in this batch has the same URL and a different text; that one landed"),
        ("2", "another input later in this batch has the same URL and a different text; that one landed")]
    # the same text under another title (one page listed by two feeds): a repeat, no reject
    rows = [{"url": "https://example.org/b", "title": "Library opens", "text": ARTICLE},
            {"url": "https://example.org/b", "title": "New library for Marlow", "text": ARTICLE}]
    (tmp_path / "titles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    docs, _ = read(tmp_path / "titles.jsonl")
    prep = prepare(docs)
    assert prep.articles.height == 1 and prep.duplicates_in_batch == 1 and prep.rejects == []
    assert prep.articles["title"].to_list() == ["New library for Marlow"]  # the later listing, as for any repeat


def test_a_url_with_no_host_names_an_article_only_within_its_source(tmp_path):
    """Two exports that key their stories "12345" are two articles (the second replaced the
    first); a URL with a host still names one article whoever sent it."""
    from newsetl.process import prepare

    for src, extra in (("a", " It opens in May."), ("b", " It closes in June.")):
        rows = [{"url": "12345", "text": ARTICLE + extra, "source": src},
                {"url": "https://example.org/shared", "text": ARTICLE + " Shared.", "source": src}]
        (tmp_path / f"{src}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    docs, _ = read(tmp_path / "a.jsonl", tmp_path / "b.jsonl")
    prep = prepare(docs)
    got = sorted(prep.articles.select("source", "url").iter_rows())
    assert got == [("a", "12345"), ("b", "12345"), ("b", "https://example.org/shared")], got
    assert prep.articles["article_id"].n_unique() == 3 and prep.duplicates_in_batch == 1


def test_an_article_landed_under_the_old_id_of_a_host_less_url_keeps_it(tmp_path):
    """Ids of host-less URLs took the source late: what a source landed before under the
    URL's own id keeps that id, so a re-run or an edit does not land it twice; another
    source's article of that URL gets its own id."""
    from newsetl.process import PIPELINE_VERSION, article_id_for, prepare

    (tmp_path / "a.jsonl").write_text(json.dumps({"url": "12345", "text": ARTICLE, "source": "a"}) + "\n")
    docs, _ = read(tmp_path / "a.jsonl")
    first = prepare(docs)
    chash = first.articles["content_hash"][0]
    old = article_id_for("12345", chash)
    assert first.articles["article_id"][0] != old  # the new id takes the source
    asked = []

    def known(ids, source="a", version=PIPELINE_VERSION, h=chash):
        asked.extend(ids)
        return {old: (h, version, source)}

    again = prepare(docs, known)
    assert old in asked and again.articles.height == 0 and again.unchanged == 1
    edited = prepare(docs, lambda ids: known(ids, h="another hash"))
    assert edited.articles["article_id"].to_list() == [old] and edited.changed_ids == [old]
    other = prepare(docs, lambda ids: known(ids, source="b"))
    assert other.articles["article_id"].to_list() == first.articles["article_id"].to_list()
    assert other.new_ids == first.articles["article_id"].to_list()


def test_target_sentiment_scored_in_parts_is_the_same(monkeypatch):
    """Targets are scored in parts of bounded sentence text (a dump's 14,560 targets in
    2,000-character sentences took 1.2 GB at once); each target's score is its own."""
    from newsetl import process
    from newsetl.settings import Settings

    model = Settings().model_paths[1]
    sentences = ["The minister praised Anna Berg for her work.", "Critics attacked Anna Berg over the delay.",
                 "Tom Reyes said the plan would fail, and Anna Berg agreed."] * 3
    spans = [(21, 30), (17, 26), (0, 9)] * 3
    args = ([s for s in sentences], [a for a, _ in spans], [b for _, b in spans], model)
    process._TSC_MEMO.clear()
    whole = process._target_scores_memo(*args)
    process._TSC_MEMO.clear()
    calls = []
    from newsetl.transforms import sentiment

    real = sentiment.target_scores
    monkeypatch.setattr(sentiment, "target_scores", lambda s, sp, m: (calls.append(len(s)), real(s, sp, m))[1])
    monkeypatch.setattr(process, "TSC_PART_CHARS", 50)
    assert process._target_scores_memo(*args) == whole
    assert calls == [1, 1, 1]  # three distinct targets, one part each


CONSENT = ("We and our 312 partners store and/or access information on a device, such as cookies, and process "
           "personal data for personalised advertising and content measurement.",
           "You can change your preferences at any time by returning to this site or visiting our privacy policy.")


def test_a_cookie_wall_is_a_reject_and_an_article_beside_a_notice_lands(tmp_path):
    """A page that shows only a consent notice (and its heading) is no article: it is a
    reject with its reason, not an article of boilerplate; a page whose notice stands
    beside the story lands, the notice boilerplate in it. An article landed before that
    now answers with a cookie wall is neither new nor changed: what landed stays."""
    from newsetl.process import CONSENT_WALL_REASON, PIPELINE_VERSION, prepare

    notice = "".join(f"<p>{p}</p>" for p in CONSENT)
    (tmp_path / "wall.html").write_text(
        '<html><head><title>Harbour council approves ferry terminal</title>'
        '<link rel="canonical" href="https://herald.example/ferry"></head><body>'
        f'<div class="cookie-wall"><h2>We value your privacy</h2>{notice}<button>Accept all</button></div>'
        '</body></html>')
    (tmp_path / "story.html").write_text(
        '<html><head><title>Library to open in spring</title></head><body>'
        f'<div class="cookie-banner">{notice}</div><article><h1>Library to open in spring</h1>'
        '<p>The council met on Tuesday and voted to open the new library in the spring, after two years '
        'of delays caused by a dispute over the building contract.</p>'
        '<p>Members said the library would keep longer hours than the old one and lend laptops.</p>'
        '</article></body></html>')
    docs, _ = read(tmp_path)
    prep = prepare(docs)
    assert [(r.input_ref.rsplit("/", 1)[-1], r.reason) for r in prep.rejects] == [("wall.html", CONSENT_WALL_REASON)]
    assert prep.articles["title"].to_list() == ["Library to open in spring"]
    assert set(prep.paragraphs["article_id"]) == set(prep.articles["article_id"]) == set(prep.new_ids)
    kinds = dict(zip(prep.paragraphs["text"], prep.paragraphs["kind_reason"]))
    assert "body" in kinds.values() and [kinds.get(p) for p in CONSENT] in (
        [None, None], ["consent_notice", "consent_notice"]), kinds

    wall = [d for d in docs if d.input_ref.endswith("wall.html")]
    again = prepare(wall, lambda ids: {i: ("the story's hash", PIPELINE_VERSION) for i in ids}, force=True)
    assert again.articles.height == 0 and again.paragraphs.height == 0 and again.pages.height == 0
    assert again.changed_ids == [] and again.new_ids == [] and again.reprocessed == 0
    assert [r.reason for r in again.rejects] == [CONSENT_WALL_REASON]
