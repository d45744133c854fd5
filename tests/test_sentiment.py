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


# --- optional feature templates, model files, CV folds -------------------------------------
def test_target_features_templates_are_opt_in():
    s = "Prosecutors said John Doe brutally attacked an elderly neighbor, but he denied it."
    a, b = span(s, "John Doe")
    f0, n0 = S.target_features(s, a, b)
    assert len(n0) == S.N_NUMERIC == S.n_numeric(())
    assert not [x for x in f0 if x.startswith(("m:", "w:", "vcl:", "vl:", "vr:"))]
    f1, n1 = S.target_features(s, a, b, templates=S.TEMPLATES)
    assert len(n1) == S.n_numeric(S.TEMPLATES) == S.N_NUMERIC + 3
    assert f1[:len(f0)] == f0 and n1[:S.N_NUMERIC] == n0  # templates only add
    assert "m:doe" in f1  # the mention's head word, lower-cased
    assert "w:neighbor" in f1 and "w:<t>" not in f1
    # VADER on the clause "John Doe brutally attacked an elderly neighbor" (target left out)
    # and on the words either side of the target
    assert "vcl:-" in f1 and "vr:-" in f1
    v_cl, v_l, v_r = n1[S.N_NUMERIC:]
    assert v_cl < -0.05 and v_r < -0.05 and -1.0 <= v_l <= 1.0


def test_target_model_round_trip_keeps_templates(tmp_path):
    import numpy as np

    tpl = ("mention", "vader_windows")
    s = "Critics praised Maria Lopez for her honest leadership."
    rows = [S.target_features(s, *span(s, "Maria Lopez"), templates=tpl),
            S.target_features(NEG, 0, 3, templates=tpl)]
    vocab = {"bias": 0, "m:lopez": 1, "vcl:+": 2}
    k = S.n_numeric(tpl)
    W = np.arange((k + len(vocab)) * 3, dtype=np.float64).reshape(-1, 3) % 7 / 10.0
    m = S.TargetModel(vocab, W, np.zeros(k), np.ones(k), np.array([0.1, 0.0, -0.2]),
                      meta={"templates": list(tpl)})
    m.save(tmp_path)
    m2 = S.TargetModel.load(tmp_path)
    assert m2.templates == tpl and m2.meta["n_numeric"] == k
    p1, l1 = m.predict(rows)
    p2, l2 = m2.predict(rows)
    assert np.allclose(p1, p2, atol=1e-5) and (l1 == l2).all()
    out = S.target_scores([s], [span(s, "Maria Lopez")], m2)
    assert out[0][0] == pytest.approx(float(p2[0, 2] - p2[0, 0]), abs=1e-5)


def test_shipped_model_matches_its_templates():
    from newsetl.settings import Settings

    m = S.load_target_model(Settings().model_paths[1])
    assert set(m.templates) <= set(S.TEMPLATES)
    assert len(m.mean) == S.n_numeric(m.templates)
    assert m.W.shape == (len(m.mean) + len(m.vocab), 3)


def test_train_folds_group_by_article():
    from tests.conftest import load_script

    tr = load_script("train_sentiment")
    assert tr.article_of("allsides_1000_401_25_Reality Leigh Winner_0_6") == "allsides_1000_401"
    assert tr.article_of("polusa_v1_113895645_-1_22_EPA_10_13") == "polusa_v1_113895645"
    # rows as load_jsonl gives them: (sentence, start, end, y, sentence_no, article)
    data = [("s", 0, 1, 0, i, f"art{i % 37}") for i in range(400)]
    for seed in (0, 1):
        fold = tr.fold_ids(data, seed)
        assert (fold == tr.fold_ids(data, seed)).all()  # deterministic
        by_art: dict[str, set] = {}
        for d, k in zip(data, fold):
            by_art.setdefault(d[5], set()).add(int(k))
        assert all(len(ks) == 1 for ks in by_art.values())  # an article never straddles
        assert set(fold.tolist()) == set(range(tr.FOLDS))
    assert (tr.fold_ids(data, 0) != tr.fold_ids(data, 1)).any()  # repeats differ
