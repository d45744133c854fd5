"""transforms/text.py: normalisation and paragraph splitting."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from newsetl.transforms.text import normalize_text_expr, split_paragraphs

ARTICLES = Path(__file__).parent / "fixtures" / "articles"


def _norm(values: list[str | None]) -> list[str | None]:
    return pl.DataFrame({"t": values}, schema={"t": pl.String}).select(normalize_text_expr("t"))["t"].to_list()


def test_normalize_spaces_newlines_and_invisibles():
    raw = "  Hello\u00a0\u00a0world\t!\r\nSecond\u2009line \r\rthird\u200b line\ufeff\x07 \u2028last  "
    assert _norm([raw]) == ["Hello world !\nSecond line\n\nthird line\nlast"]


def test_normalize_keeps_curly_quotes_and_apostrophes():
    raw = "Trump’s “deal” – ‘maybe’ isn't \"done\""
    assert _norm([raw]) == [raw]


def test_normalize_nfc_and_null():
    decomposed = "Cafe\u0301 Zu\u0308rich"
    assert _norm([decomposed, None]) == ["Café Zürich", None]


def test_normalize_accepts_expr():
    df = pl.DataFrame({"t": [" a  b "]})
    assert df.select(normalize_text_expr(pl.col("t").str.to_uppercase()))["t"].to_list() == ["A B"]


def test_normalize_zero_width_between_letter_and_combining_mark_still_composes():
    assert _norm(["e\u200b\u0301"]) == ["é"]


def test_split_paragraphs_text_single_and_blank_newlines():
    articles = pl.DataFrame(
        {
            "article_id": ["a", "b", "c"],
            "text": ["First para.\n\n  Second\u00a0para. \nThird\r\n\r\n\r\n", "   ", None],
        }
    )
    expected = pl.DataFrame(
        {
            "article_id": ["a", "a", "a"],
            "paragraph_index": [0, 1, 2],
            "text": ["First para.", "Second para.", "Third"],
            "tag": [None, None, None],
        },
        schema={"article_id": pl.String, "paragraph_index": pl.Int32, "text": pl.String, "tag": pl.String},
    )
    assert_frame_equal(split_paragraphs(articles), expected)


def test_split_paragraphs_uses_blocks_when_present():
    block = pl.Struct({"text": pl.String, "tag": pl.String})
    articles = pl.DataFrame(
        {
            "article_id": ["html", "plain"],
            "text": ["ignored when blocks exist", "Line one\nLine two"],
            "blocks": [
                [
                    {"text": "A heading", "tag": "h"},
                    {"text": "  ", "tag": "p"},
                    {"text": "Para one<br>\nstill p", "tag": "p"},
                    {"text": "x = 1\ny = 2", "tag": "pre"},
                    {"text": "An item", "tag": "li"},
                ],
                None,
            ],
        },
        schema={"article_id": pl.String, "text": pl.String, "blocks": pl.List(block)},
    )
    expected = pl.DataFrame(
        {
            "article_id": ["html"] * 5 + ["plain"] * 2,
            "paragraph_index": [0, 1, 2, 3, 4, 0, 1],
            "text": ["A heading", "Para one<br>", "still p", "x = 1\ny = 2", "An item", "Line one", "Line two"],
            "tag": ["h", "p", "p", "pre", "li", None, None],
        },
        schema={"article_id": pl.String, "paragraph_index": pl.Int32, "text": pl.String, "tag": pl.String},
    )
    assert_frame_equal(split_paragraphs(articles), expected)


def test_split_paragraphs_lazy_in_lazy_out():
    lf = pl.LazyFrame({"article_id": ["a"], "text": ["x\ny"]})
    out = split_paragraphs(lf)
    assert isinstance(out, pl.LazyFrame)
    assert out.collect()["text"].to_list() == ["x", "y"]


def test_split_paragraphs_empty_input():
    empty = pl.DataFrame(schema={"article_id": pl.String, "text": pl.String})
    out = split_paragraphs(empty)
    assert out.height == 0
    assert out.schema == pl.Schema(
        {"article_id": pl.String, "paragraph_index": pl.Int32, "text": pl.String, "tag": pl.String}
    )


def test_seed_like_fixture_paragraph_count():
    arts = pl.DataFrame({"article_id": ["f"], "text": [(ARTICLES / "seedlike.txt").read_text("utf-8")]})
    paras = split_paragraphs(arts)
    assert paras.height == 15
    assert paras["paragraph_index"].to_list() == list(range(15))


# Any text: mixes of letters, odd spaces, controls, newlines and combining marks.
_ALPHABET = st.sampled_from(
    list("ab Z.,’“”'\"\n\r\t") + ["\u00a0", "\u2009", "\u200b", "\ufeff", "\x00", "\x0b", "\u0301", "\u0308", "\u2028", "é", "e"]
)
_TEXT = st.lists(_ALPHABET, max_size=60).map("".join) | st.text(max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=5))
def test_normalize_idempotent_and_clean(texts):
    once = _norm(texts)
    assert _norm(once) == once
    for t in once:
        assert unicodedata.is_normalized("NFC", t)
        assert "\r" not in t and "\t" not in t and "\u00a0" not in t and "\u200b" not in t
        assert "  " not in t
        for line in t.split("\n"):
            assert line == line.strip(" ")


@settings(max_examples=100, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=4))
def test_split_paragraphs_never_empty_and_ordered(texts):
    arts = pl.DataFrame({"article_id": [f"a{i}" for i in range(len(texts))], "text": texts})
    out = split_paragraphs(arts)
    assert (out["text"].str.len_chars() > 0).all()
    assert "\n" not in "".join(out["text"].to_list())
    for _aid, grp in out.group_by("article_id"):
        assert grp["paragraph_index"].to_list() == list(range(grp.height))
