"""Bad input, fuzzed, into every transform (issue #7): split_paragraphs, split_sentences,
classify_paragraphs, extract_html, extract_quotes, resolve_mentions. No crash, no hang
(hard per-example limit), outputs keep their contract (offsets inside the text, one
row per input row, ...). Plus the big ones: a 1 MB paragraph and 100k nested divs."""

from __future__ import annotations

import time

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import load_script
from newsetl.transforms.boilerplate import classify_paragraphs
from newsetl.transforms.entities import resolve_mentions
from newsetl.transforms.html_extract import extract_html
from newsetl.transforms.quotes import extract_quotes
from newsetl.transforms.sentences import split_sentences
from newsetl.transforms.text import split_paragraphs

R = load_script("reliability")

# Per-example hard limit of R.HARD_TIMEOUT_S = 30 s (a hang fails the test instead of
# stalling the suite).
hard_timeout = R.hard_timeout

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=True)


# Text with the characters that break splitters: quotes of every kind, dots, newlines,
# surrogate-free unicode, control characters, RTL marks, zero-width joiners.
ALPHABET = st.sampled_from(list("abc XYZ .!?;:,\"'“”‘’«»„‹›—–-()[]\n\r\t\u00a0\u200b\u200f\u202e\x00\x0bé日本ü") + ["Mr.", "U.S.", "...", "said", " \"", "\" "])
news_text = st.one_of(
    st.text(max_size=600),
    st.lists(ALPHABET, max_size=200).map("".join),
)
LABELS = st.sampled_from(["PERSON", "ORG", "GPE", "LOC", "NORP", "MISC", "", "DATE"])


def _paragraph_frame(texts: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"article_id": ["a" if i % 2 else "b" for i in range(len(texts))],
                         "paragraph_index": list(range(len(texts))), "text": texts},
                        schema={"article_id": pl.String, "paragraph_index": pl.Int32, "text": pl.String})


@FUZZ
@given(texts=st.lists(st.one_of(news_text, st.none()), max_size=6),
       blocks=st.lists(st.tuples(news_text, st.sampled_from(["p", "h", "pre", "li", None])), max_size=5))
def test_split_paragraphs(texts, blocks):
    n = len(texts)
    df = pl.DataFrame({
        "article_id": [f"a{i}" for i in range(n)], "text": texts,
        "blocks": [[{"text": t, "tag": g} for t, g in blocks] if i % 2 else None for i in range(n)],
    }, schema={"article_id": pl.String, "text": pl.String,
               "blocks": pl.List(pl.Struct({"text": pl.String, "tag": pl.String}))})
    with hard_timeout():
        out = split_paragraphs(df)
    assert set(out.columns) >= {"article_id", "paragraph_index", "text"}
    assert out.filter(pl.col("text").is_null() | (pl.col("text").str.strip_chars() == "")).height == 0
    for aid, g in out.group_by("article_id"):
        assert g["paragraph_index"].sort().to_list() == list(range(g.height))


@FUZZ
@given(texts=st.lists(st.one_of(news_text, st.none()), max_size=6))
def test_split_sentences_offsets(texts):
    paras = _paragraph_frame(texts)
    with hard_timeout():
        out = split_sentences(paras)
    by_key = {(a, p): t for a, p, t in paras.iter_rows()}
    for a, p, si, s, e, text in out.select("article_id", "paragraph_index", "sentence_index",
                                           "start_char", "end_char", "text").iter_rows():
        para = by_key[(a, p)]
        assert para is not None and 0 <= s <= e <= len(para), (para, s, e)
        assert para[s:e] == text, (para, s, e, text)


@FUZZ
@given(texts=st.lists(news_text, min_size=1, max_size=8), title=st.one_of(st.none(), news_text),
       tags=st.lists(st.sampled_from(["p", "h", "li", None]), min_size=8, max_size=8))
def test_classify_paragraphs(texts, title, tags):
    paras = _paragraph_frame(texts).with_columns(pl.Series("tag", tags[: len(texts)], dtype=pl.String))
    arts = pl.DataFrame({"article_id": ["a", "b"], "source": ["s", "s"], "title": [title, None]},
                        schema={"article_id": pl.String, "source": pl.String, "title": pl.String})
    with hard_timeout():
        out = classify_paragraphs(paras, arts)
    assert out.height == paras.height
    assert set(out["kind"].to_list()) <= {"body", "heading", "boilerplate"}
    assert out["kind_reason"].null_count() == 0


html_fragments = st.lists(st.sampled_from([
    "<p>", "</p>", "<div>", "</div>", "<script>", "</script>", "<style>", "<!--", "-->", "<![CDATA[", "]]>",
    "<h1>", "</h1>", "<br>", "<table><tr><td>", "&amp;", "&#0;", "&#x110000;", "&nbsp;", "<meta charset='x'>",
    "<html lang='\x00'>", "<svg><foreignObject>", "<a href='javascript:alert(1)'>", "</a>", "<title>", "</title>",
    "<!DOCTYPE html>", "<?xml version='1.0'?>", "<base href='::'>", "<link rel=canonical href='http://[::1'>",
    "Council votes on the harbour budget. ", "“Quote,” she said. ", "\x00", "\ud7ff", "日本語のテキスト。",
]), max_size=60).map("".join)


@FUZZ
@given(html=st.one_of(html_fragments, st.text(max_size=2000), st.binary(max_size=2000)),
       url=st.one_of(st.none(), st.sampled_from(["https://example.com/a", "http://[::1", "javascript:x", "", "::"])))
def test_extract_html_never_raises(html, url):
    with hard_timeout():
        ex = extract_html(html, url)
    assert isinstance(ex.blocks, list)
    for text, tag in ex.blocks:
        assert isinstance(text, str) and text.strip()


mention_rows = st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 3), st.integers(0, 80),
                                  st.sampled_from(["Donald Trump", "Trump", "Mr. Trump", "Kim", "Kim Jong-un",
                                                   "U.N.", "United Nations", "Trump-Kim", "", " ", "he", "X" * 300,
                                                   "Biden's", "the U.S.", "日本"]),
                                  LABELS), max_size=25)


def _mentions(rows) -> pl.DataFrame:
    return pl.DataFrame(
        {"article_id": [r[0] for r in rows], "paragraph_index": [r[1] for r in rows],
         "start_char": [r[2] for r in rows], "end_char": [r[2] + len(r[3]) for r in rows],
         "text": [r[3] for r in rows], "label": [r[4] for r in rows]},
        schema={"article_id": pl.String, "paragraph_index": pl.Int32, "start_char": pl.Int32,
                "end_char": pl.Int32, "text": pl.String, "label": pl.String})


@FUZZ
@given(rows=mention_rows)
def test_resolve_mentions(rows):
    m = _mentions(rows)
    with hard_timeout():
        out = resolve_mentions(m)
    assert out.height == m.height
    assert {"entity_id", "entity_name"} <= set(out.columns)
    assert out.select("article_id", "start_char").to_dicts() == m.select("article_id", "start_char").to_dicts()


@FUZZ
@given(texts=st.lists(news_text, min_size=1, max_size=4), rows=mention_rows,
       kinds=st.lists(st.sampled_from(["body", "heading", "boilerplate", None]), min_size=4, max_size=4))
def test_extract_quotes(texts, rows, kinds):
    paras = _paragraph_frame(texts).with_columns(pl.Series("kind", kinds[: len(texts)], dtype=pl.String))
    with hard_timeout():
        resolved = resolve_mentions(_mentions(rows))
        out = extract_quotes(paras, resolved)
    assert {"article_id", "paragraph_index", "quote", "speaker"} <= set(out.columns)
    known = {(a, p) for a, p in paras.filter(pl.col("kind").is_null() | (pl.col("kind") != "boilerplate"))
             .select("article_id", "paragraph_index").iter_rows()}
    for a, p in out.select("article_id", "paragraph_index").iter_rows():
        assert (a, p) in known  # never a quote from boilerplate or from nowhere


# ---- the big ones ---------------------------------------------------------------------

ONE_MB = ("The harbour council said on Monday that “the budget will hold,” and Mr. Smith agreed. " * 12_000)[:1_000_000]


def _timed(fn, *args, limit: float = 120):
    t = time.monotonic()
    with hard_timeout(limit):
        out = fn(*args)
    return out, time.monotonic() - t


def test_one_megabyte_single_paragraph():
    arts = pl.DataFrame({"article_id": ["big"], "text": [ONE_MB]})
    paras, _ = _timed(split_paragraphs, arts)
    assert paras.height == 1 and paras["text"][0].startswith("The harbour council")
    sents, secs = _timed(split_sentences, paras.select("article_id", "paragraph_index", "text"))
    assert sents.height > 1000 and secs < 120
    kinds, _ = _timed(classify_paragraphs, paras.with_columns(pl.lit(None, pl.String).alias("tag")),
                      pl.DataFrame({"article_id": ["big"], "source": ["s"], "title": ["Big"]}))
    assert kinds.height == 1


def test_one_megabyte_single_paragraph_quotes():
    # Was quadratic (a $-anchored search over the whole prefix at every full stop).
    paras = pl.DataFrame({"article_id": ["big"], "paragraph_index": [0], "text": [ONE_MB], "kind": ["body"]},
                         schema={"article_id": pl.String, "paragraph_index": pl.Int32, "text": pl.String,
                                 "kind": pl.String})
    quotes, secs = _timed(extract_quotes, paras, resolve_mentions(_mentions([("big", 0, 55, "Smith", "PERSON")])),
                          limit=30)
    assert quotes.height >= 1 and secs < 30


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_html(depth):
    from newsetl import process
    from newsetl.records import RawDoc

    html = "<html><body>" + "<div>" * depth + "<p>" + "The harbour council met on Monday to vote on the budget. " * 3 + "</p>" + "</div>" * depth + "</body></html>"
    ex, secs = _timed(extract_html, html, None, limit=120)
    assert secs < 120
    prep, _ = _timed(process.prepare, [RawDoc(source="t", input_ref="nested.html", html=html)], {}, limit=120)
    # landed with its text, or rejected with a reason: never an exception
    assert prep.articles.height + len(prep.rejects) == 1
    assert all(r.reason for r in prep.rejects)
