"""newsetl.transforms.sentiment: sentence scores, GDELT-style tone, target-dependent sentiment.

Hand-written sentences only, so these pass without ../shared (the NewsMTSC quality gate
is scripts/eval_sentiment.py).
"""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from newsetl.transforms import sentiment as S

POS = "The volunteers did a wonderful job and everyone was grateful for their kindness."
NEG = "The attack killed twelve people and left the city in terror and grief."
NEU = "The committee meets on Tuesday at the town hall."


def _scores(sentences, spans):
    from newsetl.settings import Settings

    return S.target_scores(sentences, spans, S.load_target_model(Settings().model_paths[1]))


def span(sentence: str, mention: str) -> tuple[int, int]:
    i = sentence.index(mention)
    return (i, i + len(mention))


# --- sentence scores ---------------------------------------------------------------------
def test_sentence_scores_sign():
    pos, neg, neu = S.sentence_scores([POS, NEG, NEU])
    assert pos > 0.5
    assert neg < -0.5
    assert abs(neu) < S.VADER_POS


def test_sentence_scores_empty_and_blank():
    assert S.sentence_scores([]) == []
    assert S.sentence_scores(["", "   ", "!!!"]) == [0.0, 0.0, 0.0]


# --- tone -------------------------------------------------------------------------------
def test_tone_fields_arithmetic():
    tone, positive, negative, polarity = S.tone_fields(200, 10, 4)
    assert positive == pytest.approx(5.0)
    assert negative == pytest.approx(2.0)
    assert tone == pytest.approx(3.0)
    assert polarity == pytest.approx(7.0)


def test_tone_fields_no_words_is_zero():
    assert S.tone_fields(0, 0, 0) == (0.0, 0.0, 0.0, 0.0)


def test_tone_counts():
    assert S.tone_counts([]) == []
    (w, p, n), (w2, p2, n2), empty, nowords = S.tone_counts([POS, NEG, "", "123 -- 456 !!"])
    assert (w, n) == (13, 0) and p >= 2  # wonderful, grateful, kindness
    assert w2 == 13 and n2 >= 3 and p2 == 0  # attack, killed, terror, grief
    assert empty == (0, 0, 0)
    assert nowords == (0, 0, 0)
    assert S.tone_fields(*nowords) == (0.0, 0.0, 0.0, 0.0)


def test_tone_counts_apostrophes_are_one_word():
    assert S.tone_counts(["Don’t worry, it's fine."])[0][0] == 4


def test_tone_exprs_match_tone_fields():
    df = pl.DataFrame({"word_count": [200, 0], "positive_words": [10, 0], "negative_words": [4, 0]})
    got = df.select(S.tone_exprs())
    want = pl.DataFrame([S.tone_fields(200, 10, 4), S.tone_fields(0, 0, 0)],
                        schema=["tone", "positive", "negative", "polarity"], orient="row")
    assert_frame_equal(got, want)


# --- aggregation --------------------------------------------------------------------------
def test_paragraph_and_article_sentiment():
    sentences = pl.DataFrame({
        "article_id": ["a", "a", "a", "b"],
        "paragraph_index": [0, 0, 1, 0],
        "sentence_index": [0, 1, 0, 0],
        "sentiment": [0.5, -0.1, 0.9, -0.4],
    })
    paragraphs = pl.DataFrame({"article_id": ["a", "a", "b"], "paragraph_index": [0, 1, 0],
                               "kind": ["body", "heading", "body"]})
    para = S.paragraph_sentiment(sentences)
    assert_frame_equal(para, pl.DataFrame({"article_id": ["a", "a", "b"], "paragraph_index": [0, 1, 0],
                                           "sentiment": [0.2, 0.9, -0.4]}))
    art = S.article_sentiment(sentences, paragraphs)  # heading sentence left out
    assert_frame_equal(art, pl.DataFrame({"article_id": ["a", "b"], "sentiment": [0.2, -0.4]}))


def test_sentence_sentiment_expr_is_batched_vader():
    df = pl.DataFrame({"text": [POS, None, NEG]})
    got = df.select(S.sentence_sentiment_expr("text"))["text"].to_list()
    assert got == S.sentence_scores([POS, "", NEG])


# --- target-dependent sentiment -----------------------------------------------------------
def test_target_scores_clear_cases():
    pos = "Critics and supporters alike praised Maria Lopez for her brave, generous and honest leadership."
    neg = "Prosecutors said John Doe brutally attacked and robbed an elderly neighbor."
    neu = "Angela Merkel will travel to Paris on Tuesday."
    out = _scores([pos, neg, neu],
                          [span(pos, "Maria Lopez"), span(neg, "John Doe"), span(neu, "Angela Merkel")])
    (sp, lp), (sn, ln), (s0, l0) = out
    assert lp == "positive" and sp > 0.2
    assert ln == "negative" and sn < -0.2
    assert l0 == "neutral"
    assert sn < s0 < sp


def test_target_scores_depend_on_the_target():
    s = "Kim accused the US of escalating tensions"
    (s_kim, _), (s_us, _) = _scores([s, s], [span(s, "Kim"), span(s, "US")])
    assert s_kim != s_us
    assert abs(s_kim - s_us) > 0.05


def test_target_scores_shapes_and_ranges():
    assert _scores([], []) == []
    s = "Smith criticized Jones."
    out = _scores([s, s, "", None], [(0, 5), (17, 22), (0, 0), (0, 3)])
    assert len(out) == 4
    for score, label in out:
        assert -1.0 <= score <= 1.0 and not math.isnan(score)
        assert label in S.LABELS
    with pytest.raises(ValueError):
        _scores([s], [])


def test_target_scores_uses_cached_compound_consistently():
    s = "The senator praised Smith for the excellent plan."
    sp = span(s, "Smith")
    S._COMPOUND_CACHE.clear()
    cold = _scores([s], [sp])
    S.sentence_scores([s])  # fills the per-process cache, as the pipeline does
    warm = _scores([s], [sp])
    assert cold == warm


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200), st.integers(-5, 250), st.integers(-5, 250))
def test_target_scores_never_crash(text, a, b):
    (score, label), = _scores([text], [(a, b)])
    assert -1.0 <= score <= 1.0
    assert label in S.LABELS
