"""Bad input, fuzzed, into every reader (issue #7): arbitrary bytes and mutated fixtures
through files.iter_file (.txt/.html/.jsonl/.gz/feeds/.warc), feeds.parse_feed /
items_from_feed and warc.records_from_warc. No crash, no hang, and every input ends as
RawDoc(s) or Reject(s) with a non-empty reason (RawDocs then through process.prepare)."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsetl.records import RawDoc, Reject
from newsetl.sources import feeds
from newsetl.sources.files import iter_file
from newsetl.sources.warc import records_from_warc
from tests.conftest import FIXTURES, load_script

# scripts/reliability.py holds the helpers the tests and `make reliability` share.
R = load_script("reliability")

# Per-example hard limit of R.HARD_TIMEOUT_S = 30 s (a hang fails the test instead of
# stalling the suite).
hard_timeout = R.hard_timeout

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=True)

SEED_FILES = sorted(
    p for d in (FIXTURES / "e2e", FIXTURES / "web", FIXTURES / "hostile") if d.exists()
    for p in d.iterdir() if p.suffix in (".txt", ".html", ".jsonl", ".xml", ".rss", ".json", ".rdf")
)
WARC_SEED = R.make_warc([("https://example.com/one", R.ARTICLE_HTML), ("https://example.com/two", R.ARTICLE_HTML + b" ")])
EXTS = [".txt", ".html", ".htm", ".jsonl", ".rss", ".xml", ".json", ".atom", ".warc", ".txt.gz", ".html.gz", ".jsonl.gz"]


def check_outcome(items: list, require_some: bool = True) -> None:
    """Every item a RawDoc or a Reject with a reason; RawDocs survive prepare()."""
    from newsetl import process

    if require_some:
        assert items, "input vanished: neither an article nor a reject"
    docs = []
    for it in items:
        assert isinstance(it, (RawDoc, Reject)), type(it)
        if isinstance(it, Reject):
            assert isinstance(it.reason, str) and it.reason.strip(), it
            assert it.input_ref
        else:
            assert (it.text is not None) or (it.html is not None), it
            docs.append(it)
    if docs:
        prep = process.prepare(docs, {})
        # each doc became an article (or a duplicate of one) or a reject with a reason
        assert prep.articles.height + len(prep.rejects) + prep.duplicates_in_batch >= len(docs)
        assert all(r.reason for r in prep.rejects)
        assert prep.paragraphs["article_id"].n_unique() == prep.articles.height or prep.articles.height == 0


def _read_file(data: bytes, ext: str) -> list:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"input{ext}"
        if ext.endswith(".gz") and data[:2] != b"\x1f\x8b" and len(data) % 2:
            data = gzip.compress(data)  # half the gz cases are valid gzip around the bytes
        p.write_bytes(data)
        with hard_timeout():
            return list(iter_file(p, "fuzz"))


def _mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    b = bytearray(data)
    for kind, pos, val in ops:
        if not b:
            break
        pos %= len(b)
        if kind == 0:
            b[pos] = val % 256
        elif kind == 1:
            del b[pos: pos + 1 + val % 64]
        elif kind == 2:
            b[pos:pos] = [b"\x00", b"\xff\xfe", b"<div>" * 40, b"&lol;", b"]]>", b"\r\n\r\n", b"{", b"<!ENTITY x 'y'>"][val % 8]
        else:
            del b[pos:]
    return bytes(b)


mutations = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8)


@FUZZ
@given(data=st.binary(max_size=4096), ext=st.sampled_from(EXTS))
def test_iter_file_arbitrary_bytes(data, ext):
    check_outcome(_read_file(data, ext))


@FUZZ
@given(idx=st.integers(0, max(0, len(SEED_FILES) - 1)), ops=mutations,
       ext=st.sampled_from([None, ".txt", ".html", ".jsonl", ".rss"]))
def test_iter_file_mutated_fixtures(idx, ops, ext):
    seed = SEED_FILES[idx]
    check_outcome(_read_file(_mutate(seed.read_bytes(), ops), ext or seed.suffix))


@FUZZ
@given(ops=mutations, gz=st.booleans())
def test_warc_mutated(ops, gz):
    data = R.make_warc([("https://example.com/one", R.ARTICLE_HTML)], gz=gz) if gz else WARC_SEED
    # a mutated WARC may legally hold only skipped records (e.g. status no longer 200)
    check_outcome(_read_file(_mutate(data, ops), ".warc"), require_some=False)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_warc_arbitrary_bytes(data):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.warc"
        p.write_bytes(data)
        with hard_timeout():
            items = list(records_from_warc(p))
    check_outcome(items)


xmlish = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=2048),
    st.builds(lambda a, b: f'<?xml version="1.0"?><rss version="2.0"><channel><title>{a}</title>'
                           f"<item><title>{a}</title><description>{b}</description></item></channel></rss>",
              st.text(max_size=200), st.text(max_size=800)),
    st.builds(lambda a: '{"version": "https://jsonfeed.org/version/1.1", "items": ' + a + "}",
              st.sampled_from(["[]", "[{}]", '[{"content_html": "<p>x</p>"}]', "null", '"x"', "[1, 2]",
                               '[{"title": 5, "url": [], "content_text": "' + "word " * 120 + '"}]'])),
)


@FUZZ
@given(doc=xmlish)
def test_parse_feed_and_items_from_feed(doc):
    with hard_timeout():
        parsed = feeds.parse_feed(doc)
        items = list(feeds.items_from_feed("fuzz.rss", doc, None))
    if isinstance(parsed, Reject):
        assert parsed.reason.strip()
        assert len(items) == 1 and isinstance(items[0], Reject)
    else:
        assert isinstance(parsed, list)
        assert len(items) == max(1, len(parsed))  # a feed with no items is one reject
    check_outcome(items)


@FUZZ
@given(idx=st.integers(0, max(0, len(SEED_FILES) - 1)), ops=mutations)
def test_feed_reader_mutated_fixtures(idx, ops):
    data = _mutate(SEED_FILES[idx].read_bytes(), ops)
    with hard_timeout():
        items = list(feeds.items_from_feed("fuzz.xml", data, None))
    check_outcome(items)


# ---- named hostile inputs (each must land or be rejected with a reason) ----------------

@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    # the 50 MB page is covered by test_hostile.py (via the CLI); keep this module fast
    return R.hostile_inputs(tmp_path_factory.mktemp("hostile"), big_mb=1)


@pytest.mark.parametrize("category", ["empty", "whitespace", "binary", "invalid-utf8", "mixed-encoding",
                                      "xml-entities", "truncated-warc", "non-english", "nested-html",
                                      "one-mb-paragraph"])
def test_hostile_category(hostile, category):
    for path in hostile[category]:
        with hard_timeout(120):
            o = R.read_and_prepare(path, category)
        assert not o.error, (path.name, o.error)
        assert o.landed + o.rejected >= 1, path.name
        assert all(r.strip() for r in o.reasons), (path.name, o.reasons)
        if category in ("empty", "whitespace", "binary", "xml-entities"):
            assert o.landed == 0, (path.name, "should be rejected")
        if category == "truncated-warc":
            assert any("truncated" in r or "corrupt" in r for r in o.reasons), (path.name, o.reasons)
        if category == "non-english":
            assert o.landed == 1 and o.languages[0] in ("es", "de", "fr"), (path.name, o.languages)


def test_xml_entity_tricks_are_refused_before_parsing():
    for name in ("billion_laughs.rss", "xxe.rss", "xxe_parameter.rss"):
        with hard_timeout(10):
            res = feeds.parse_feed((FIXTURES / "hostile" / name).read_bytes())
        assert isinstance(res, Reject) and "entity" in res.reason.lower(), (name, res)
    with hard_timeout(10):
        res = feeds.parse_feed(R.quadratic_blowup())
    assert isinstance(res, Reject), res
    # a DOCTYPE pointing at a local file is never fetched: nothing of /etc/passwd shows up
    res = feeds.parse_feed((FIXTURES / "hostile" / "xxe_doctype_system.rss").read_bytes())
    text = repr(res)
    assert "root:" not in text and "/bin/" not in text


def test_truncated_warc_keeps_whole_records_and_rejects_the_rest(tmp_path):
    p = tmp_path / "cut.warc"
    p.write_bytes(WARC_SEED[: len(WARC_SEED) - 200])
    items = list(records_from_warc(p))
    assert sum(isinstance(i, RawDoc) for i in items) == 1
    rej = [i for i in items if isinstance(i, Reject)]
    assert len(rej) == 1 and "truncated" in rej[0].reason


def test_empty_jsonl_and_warc_are_rejects_not_silence(tmp_path):
    for name in ("e.jsonl", "e.jsonl.gz", "e.warc"):
        p = tmp_path / name
        p.write_bytes(gzip.compress(b"\n \n") if name.endswith(".gz") else b"")
        items = list(iter_file(p, "t"))
        assert len(items) == 1 and isinstance(items[0], Reject) and items[0].reason, (name, items)


def test_hard_timeout_raises_and_puts_back_the_timer_it_found():
    """Under pytest-timeout a test's own limit must not cancel the suite's (both are SIGALRM)."""
    import signal
    import time

    saved_handler = signal.getsignal(signal.SIGALRM)
    saved_timer, _ = signal.getitimer(signal.ITIMER_REAL)
    signal.signal(signal.SIGALRM, lambda *a: None)
    signal.setitimer(signal.ITIMER_REAL, 100)
    try:
        with hard_timeout(5):
            pass
        assert 95 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100
        with pytest.raises(R.Hang):
            with hard_timeout(0.2):
                time.sleep(3)
        assert 90 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100
    finally:
        signal.setitimer(signal.ITIMER_REAL, saved_timer)
        signal.signal(signal.SIGALRM, saved_handler)
