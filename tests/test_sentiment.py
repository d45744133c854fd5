"""newsetl.transforms.sentiment: sentence scores, GDELT-style tone, target-dependent sentiment.

Hand-written sentences only, so these pass without ../shared (the NewsMTSC quality gate
is scripts/eval_sentiment.py).
"""

from __future__ import annotations

import math

import numpy as np
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


def test_a_targets_features_do_not_depend_on_how_many_tokens_it_spans():
    # Every feature reads the sentence with the target masked as one token: a one-word and a
    # three-word name in the same place give the same features (the mention's own head word
    # aside), with negators, quotes and clause breaks on both sides of it.
    left = 'Critics did not say "the plan failed", but'
    right = "never denied the awful charge; supporters hailed no one else."
    one = f"{left} Smith {right}"
    three = f"{left} Anna-Maria van Smythe {right}"
    for tpl in ((), S.TEMPLATES):
        f1, n1 = S.target_features(one, *span(one, "Smith"), compound=-0.4, templates=tpl)
        f3, n3 = S.target_features(three, *span(three, "Anna-Maria van Smythe"), compound=-0.4,
                                   templates=tpl)
        assert sorted(x for x in f1 if x != "m:smith") == sorted(x for x in f3 if x != "m:smythe")
        assert n1 == n3
    assert "neg:clause" in f1 and "q:any" in f1 and "b:but_<t>" in f1 and "b:<t>_never" in f1
    # lexicon words after the target, negated by "never" (VADER's 3-token window)
    assert "R+:denied" in f1 and "R+:awful" in f1 and "L-:failed" in f1


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab ,.'’\"n", max_size=30), st.integers(-3, 33), st.integers(-3, 33))
def test_target_features_mask_the_tokens_overlapping_the_span(text, start, end):
    # target_features finds the target's tokens by bisection over the sentence's shared
    # tokens; it must mask what the plain rule (target_token_range) names, odd spans too,
    # and give the same features with a sentence's tokens shared or not.
    toks, spans = S.reader_tokens(text)
    ts, te = S.target_token_range(spans, start, end)
    low = [w.lower().replace("’", "'") for w in toks]
    seq = low[:ts] + ["<t>"] + low[te:]
    f, _ = S.target_features(text, start, end, compound=0.0, templates=("mention",))
    assert [x[2:] for x in f if x.startswith("b:")] == [f"{x}_{y}" for x, y in zip(seq, seq[1:])]
    assert [x for x in f if x.startswith("m:")] == (["m:" + low[te - 1]] if te > ts else [])
    shared = S.sentence_tokens(text)
    for tpl in ((), S.TEMPLATES):
        assert (S.target_features(text, start, end, compound=0.2, templates=tpl, tokens=shared)
                == S.target_features(text, start, end, compound=0.2, templates=tpl))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab ,.'", max_size=30), st.integers(-3, 33), st.integers(-3, 33))
def test_target_token_range_is_the_tokens_overlapping_the_span(text, start, end):
    toks, spans = S.reader_tokens(text)
    ts, te = S.target_token_range(spans, start, end)
    hit = [i for i, (a, b) in enumerate(spans) if a < end and b > start]
    if hit:
        assert (ts, te) == (hit[0], hit[-1] + 1)
    else:
        assert ts == te == sum(1 for a, _ in spans if a < start)


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
    assert tr.article_of("allsides_2001_77_3_Ada Quill_0_6") == "allsides_2001_77"
    assert tr.article_of("polusa_v1_900000001_-1_4_Quill Board_1_2") == "polusa_v1_900000001"
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


def _write_newsmtsc(path, rows, prefix):
    """rows of (sentence, start, end, label) as NewsMTSC jsonl, three sentences an article."""
    import json

    pol = {0: 2.0, 1: 4.0, 2: 6.0}
    with open(path, "w", encoding="utf-8") as fh:
        for i, (s, a, b, lab) in enumerate(rows):
            fh.write(json.dumps({"primary_gid": f"{prefix}_{i // 3}_{i}_x_{a}_{b}", "sentence_normalized": s,
                                 "targets": [{"from": a, "to": b, "polarity": pol[lab]}]}) + "\n")
    return path


def test_extra_training_files_join_the_final_fit_only(tmp_path):
    """`train_sentiment.py --extra` (dev after its final check) adds targets to the shipped
    fit; the CV that chose the recipe, and so its score, is that of train alone."""
    import numpy as np
    from tests.conftest import load_script

    tr = load_script("train_sentiment")
    train = _write_newsmtsc(tmp_path / "train.jsonl", _toy_data(90, seed=4), "allsides_1")
    extra = _write_newsmtsc(tmp_path / "dev-rw.jsonl", _toy_data(30, seed=5), "allsides_2")
    fixed = ["--train", str(train), "--templates", "", "--l2", "0.003"]
    assert tr.main([*fixed, "--out", str(tmp_path / "a")]) == 0
    assert tr.main([*fixed, "--extra", str(extra), "--out", str(tmp_path / "b")]) == 0
    a, b = S.TargetModel.load(tmp_path / "a"), S.TargetModel.load(tmp_path / "b")
    assert a.meta["cv_macro_f1"] == b.meta["cv_macro_f1"]
    assert (a.meta["n_train_targets"], b.meta["n_train_targets"]) == (90, 120)
    assert (a.meta["extra"], b.meta["extra"]) == ([], ["dev-rw.jsonl"])
    assert "--extra dev-rw.jsonl" in b.meta["command"] and "dev-rw.jsonl" in b.meta["trained_on"]
    assert not np.array_equal(a.W, b.W)
    ev = load_script("eval_sentiment")
    assert ev.in_sample_splits(b.meta) == {"dev-rw"} and ev.in_sample_splits(a.meta) == set()



def test_nb_penalty_spares_features_whose_class_odds_are_uneven():
    """The NB weighting of the L2 (train_sentiment.nb_penalty): a feature held by one class's
    targets only is penalised less than one held equally by every class; gamma 0 is plain L2."""
    import numpy as np
    from tests.conftest import load_script

    tr = load_script("train_sentiment")
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2] * 4)
    # vocabulary: 0 bias, 1 in every row, 2 in the negatives only, 3 in one row of each class
    rows = [[0, 1, 2] if lab == 0 else [0, 1] for lab in y]
    for i in (0, 3, 6):
        rows[i] = rows[i] + [3]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    indices = np.concatenate(rows)
    plain = tr.nb_penalty(indptr, indices, y, 4, 0.003, 0.0)
    assert np.allclose(plain, 0.003)
    reg = tr.nb_penalty(indptr, indices, y, 4, 0.003, 0.75)
    assert reg[2] < 0.003 < reg[1]  # the one-class feature is spared, the even one is not
    assert reg[2] < reg[3]


def test_nb_gamma_is_chosen_recorded_and_used_by_every_cv(tmp_path):
    """--nb-gamma fixes the weighting; the model records it and `recipe` hands it to the CV
    of the reader script, the eval and the learning curve; a larger gamma changes the fit."""
    import numpy as np
    from tests.conftest import load_script

    tr = load_script("train_sentiment")
    train = _write_newsmtsc(tmp_path / "train.jsonl", _toy_data(90, seed=4), "allsides_1")
    fixed = ["--train", str(train), "--templates", "", "--l2", "0.003"]
    assert tr.main([*fixed, "--nb-gamma", "0", "--out", str(tmp_path / "a")]) == 0
    assert tr.main([*fixed, "--nb-gamma", "1", "--out", str(tmp_path / "b")]) == 0
    a, b = S.TargetModel.load(tmp_path / "a"), S.TargetModel.load(tmp_path / "b")
    assert (a.meta["nb_gamma"], b.meta["nb_gamma"]) == (0.0, 1.0)
    assert tr.recipe(b.meta) == {"l2": 0.003, "min_count": tr.MIN_COUNT, "nb_gamma": 1.0}
    assert tr.recipe({"l2": 0.01})["nb_gamma"] == 0.0  # a model from before the weighting
    assert not np.allclose(a.W, b.W)
    # The search runs when no gamma is given, and its steps are in the selection log.
    assert tr.main([*fixed, "--out", str(tmp_path / "c")]) == 0
    log = S.TargetModel.load(tmp_path / "c").meta["cv_selection_log"]
    assert [e["nb_gamma"] for e in log if "nb_gamma" in e] == list(tr.NB_GAMMA_GRID[1:])

# --- the context reader (VectorReader) and its trainer ----------------------------------
TOY_WORDS = ("the minister was praised criticised met with Smith Jones Lopez for her his "
             "honest corrupt work on Tuesday and said . , wonderful terrible reform plan").split()


@pytest.fixture(scope="module")
def toy_vectors():
    """A real CompactVectors table (the class the NER uses) over a few words, 8 dims."""
    import numpy as np
    from spacy.strings import get_string_id

    from newsetl.transforms.ner import _compact_class

    rng = np.random.default_rng(5)
    words = [w for w in dict.fromkeys(w.lower() for w in TOY_WORDS)]
    keys = np.array([get_string_id(w) for w in words], dtype=np.uint64)
    order = np.argsort(keys)
    data = rng.standard_normal((len(words), 8)).astype(np.float32)
    return _compact_class()(data, keys[order], np.arange(len(words), dtype=np.int32)[order], "toy")


def _toy_data(n, seed=0):
    """(sentence, start, end, label) rows whose label follows the word after the name."""
    import numpy as np

    rng = np.random.default_rng(seed)
    names = ("Smith", "Jones", "Lopez")
    verbs = (("criticised", 0), ("met with", 1), ("praised", 2))
    out = []
    for _ in range(n):
        who = names[rng.integers(3)]
        verb, lab = verbs[rng.integers(3)]
        pre = "On Tuesday , " if rng.random() < 0.5 else ""
        s = f"{pre}the minister {verb} {who} for his work on the reform plan ."
        a = s.index(who)
        out.append((s, a, a + len(who), lab))
    return out


def _reader_and_trainer(data, idx, vectors, seed: int):
    """A reader trained a few steps on the first 40 targets of `data`, then run on `idx` by
    inference (`VectorReader.logprobs`) and by the trainer's forward pass: (inference
    log-probabilities, the trainer's, the trainer's input table Z, token ranges)."""
    import numpy as np
    from tests.conftest import load_script

    R = load_script("train_sentiment_reader")
    y = np.array([d[3] for d in data])
    Z, tok, rg = R.prepare(data, vectors)
    params = R.train_reader(Z, tok, rg, y, np.arange(40), seed=seed, steps=5)
    net = R.Net(Z.shape[1], np.random.default_rng(0))
    net.p = params
    logits, _ = net.forward(Z, *R.batch_arrays(idx, tok, rg, len(Z) - 1))
    got = S.VectorReader(params, vectors).logprobs([data[i][0] for i in idx],
                                                   [(data[i][1], data[i][2]) for i in idx])
    return got, S.log_softmax(logits.astype(np.float64)), Z, rg


def test_reader_inference_matches_the_trainers_forward_pass(toy_vectors):
    import numpy as np

    data = _toy_data(60)
    got, want, Z, _ = _reader_and_trainer(data, np.arange(40, 60), toy_vectors, seed=1)
    assert Z.shape == (len(set(w for d in data for w in S.reader_tokens(d[0])[0])) + 1, 8 + 3)
    assert np.abs(got - want).max() < 1e-5
    assert np.allclose(np.exp(got).sum(1), 1.0)


def test_reader_inference_matches_the_trainers_forward_pass_at_the_edges(toy_vectors):
    """Targets that start or end their sentence, a target that is the whole sentence, one
    between tokens (no token of its own) and sentences of different lengths in one batch
    (padding): inference pools as the trainer's forward pass does."""
    import numpy as np

    data = _toy_data(40, seed=5)
    s1 = "Smith praised the honest reform plan of Jones"
    s2 = "Lopez"
    s3 = "the minister met with Smith and said his work on the plan was wonderful ."
    gap = s3.index(" and")  # between "Smith" and "and": an empty target
    data += [(s1, 0, 5, 2), (s1, s1.index("Jones"), len(s1), 0), (s2, 0, 5, 1), (s3, gap, gap, 1),
             (s3, 0, len("the minister"), 2)]
    idx = np.arange(30, len(data))
    got, want, _, rg = _reader_and_trainer(data, idx, toy_vectors, seed=2)
    assert [rg[i] for i in idx[-5:]] == [(0, 1), (7, 8), (0, 1), (5, 5), (0, 2)]
    assert np.abs(got - want).max() < 1e-5


def test_reader_learns_which_word_carries_the_sentiment(toy_vectors):
    import numpy as np
    from tests.conftest import load_script

    R = load_script("train_sentiment_reader")
    data = _toy_data(300, seed=2)
    y = np.array([d[3] for d in data])
    Z, tok, rg = R.prepare(data, toy_vectors)
    params = R.train_reader(Z, tok, rg, y, np.arange(200), seed=3, epochs=30, ema=0.9)
    lp = S.VectorReader(params, toy_vectors).logprobs([d[0] for d in data[200:]],
                                                      [d[1:3] for d in data[200:]])
    assert np.mean(lp.argmax(1) == y[200:]) > 0.9  # chance is 1/3


def test_reader_output_does_not_depend_on_batching(toy_vectors):
    import numpy as np

    rng = np.random.default_rng(0)
    d = 8 + 3
    params = {"P": rng.standard_normal((d, 6)).astype(np.float32), "bp": rng.standard_normal(6),
              "Wc": rng.standard_normal((18, 5)), "bc": rng.standard_normal(5),
              "Bb": rng.standard_normal((S.READER_BUCKETS, 5)), "Wo": rng.standard_normal((20, 3)),
              "bo": rng.standard_normal(3)}
    r = S.VectorReader(params, toy_vectors)
    long = "On Tuesday the minister praised Smith and criticised Jones for his corrupt reform plan ."
    short = "Lopez said ."
    items = [(long, span(long, "Smith")), (short, span(short, "Lopez")), (long, span(long, "Jones")),
             ("", (0, 0)), (short, (40, 50))]
    together = r.logprobs([s for s, _ in items], [sp for _, sp in items])
    alone = np.vstack([r.logprobs([s], [sp]) for s, sp in items])
    assert np.allclose(together, alone, atol=1e-6)
    assert not np.allclose(together[0], together[2])  # the target changes the reading
    assert np.isfinite(together).all()
    assert r.logprobs([], []).shape == (0, 3)


def test_reader_memory_bounds_do_not_change_its_output(toy_vectors, monkeypatch):
    """A page-long "sentence" naming many entities is read in bounded pieces, with the same
    result as in one piece."""
    import numpy as np

    rng = np.random.default_rng(3)
    params = {"P": rng.standard_normal((11, 6)), "bp": rng.standard_normal(6),
              "Wc": rng.standard_normal((18, 5)), "bc": rng.standard_normal(5),
              "Bb": rng.standard_normal((S.READER_BUCKETS, 5)), "Wo": rng.standard_normal((20, 3)),
              "bo": rng.standard_normal(3)}
    r = S.VectorReader(params, toy_vectors)
    words = TOY_WORDS * 40
    long = " ".join(words)
    starts = [m.start() for m in __import__("re").finditer(r"Smith|Jones|Lopez", long)]
    sents = [long] * len(starts) + ["Smith met Jones .", "Lopez said ."]
    spans = [(a, a + 5) for a in starts] + [(0, 5), (0, 5)]
    whole = r.logprobs(sents, spans)
    monkeypatch.setattr(S, "READER_BATCH_TOKENS", 7)
    monkeypatch.setattr(S, "READER_TARGET_TOKENS", 50)
    pieces = r.logprobs(sents, spans)
    assert len(starts) >= 100 and len(words) > S.READER_TARGET_TOKENS
    assert np.allclose(whole, pieces, atol=1e-6)


def test_distance_buckets_and_target_tokens():
    import numpy as np

    toks, spans = S.reader_tokens("Mr. Smith, 52, said hello")
    assert toks[:4] == ["Mr", ".", "Smith", ","]
    assert S.target_token_range(spans, 4, 9) == (2, 3)
    assert S.target_token_range(spans, 3, 3) == (2, 2)  # between tokens: an empty range
    bk = S.distance_buckets(np.arange(30), 10, 12)
    assert bk[10] == bk[11] == 0  # the target
    assert bk[9] == 1 and bk[12] == 1 + len(S.READER_EDGES) + 1  # next to it, either side
    assert bk.max() < S.READER_BUCKETS
    assert (np.diff(bk[:10]) <= 0).all() and (np.diff(bk[12:]) >= 0).all()


def test_fused_model_round_trip(tmp_path, toy_vectors, monkeypatch):
    import numpy as np

    from newsetl.transforms import ner

    monkeypatch.setattr(ner, "load_vectors", lambda module: toy_vectors)
    rng = np.random.default_rng(1)
    params = {"P": rng.standard_normal((11, 4)), "bp": np.zeros(4), "Wc": rng.standard_normal((12, 4)),
              "bc": np.zeros(4), "Bb": rng.standard_normal((S.READER_BUCKETS, 4)),
              "Wo": rng.standard_normal((16, 3)), "bo": np.zeros(3)}
    np.savez(tmp_path / "reader.npz", **params)
    vocab = {"bias": 0, "m:lopez": 1}
    k = S.n_numeric(())
    W = rng.standard_normal((k + len(vocab), 3))
    spec = {"file": "reader.npz", "alpha": 0.4, "offsets": [0.2, 0.0, -0.1],
            "vectors": {"module": "toy", "shape": [len(toy_vectors.data), 8]}}
    lr = S.TargetModel(vocab, W, np.zeros(k), np.ones(k), np.zeros(3), meta={})
    S.TargetModel(vocab, W, np.zeros(k), np.ones(k), np.zeros(3), meta={"reader": spec}).save(tmp_path)
    m = S.TargetModel.load(tmp_path)
    assert m.reader is not None and m.meta["reader"]["alpha"] == 0.4
    sents = ["Critics praised Lopez for her honest work .", NEG]
    spans = [span(sents[0], "Lopez"), (4, 10)]
    out = S.target_scores(sents, spans, m)
    p_lr, _ = lr.predict([S.target_features(s, a, b) for s, (a, b) in zip(sents, spans)])
    lp = 0.6 * np.log(p_lr + 1e-12) + 0.4 * m.reader.logprobs(sents, spans)
    p = np.exp(lp) / np.exp(lp).sum(1, keepdims=True)
    want = [S.LABELS[i] for i in np.argmax(lp + np.array(spec["offsets"]), 1)]
    assert [lab for _, lab in out] == want
    assert [sc for sc, _ in out] == pytest.approx(list(p[:, 2] - p[:, 0]), abs=1e-5)
    spec["vectors"]["shape"] = [3, 8]
    S.TargetModel(vocab, W, np.zeros(k), np.ones(k), np.zeros(3), meta={"reader": spec}).save(tmp_path)
    with pytest.raises(ValueError, match="trained on"):
        S.TargetModel.load(tmp_path)


def test_shipped_reader_matches_its_cv_record():
    """The model folder, its reader and docs/sentiment_cv.json come from one training run,
    and the reader reads the NER's vectors package (one copy per worker)."""
    import hashlib
    import json
    from pathlib import Path

    from newsetl.settings import Settings

    root = Path(__file__).resolve().parents[1]
    folder = Path(Settings().model_paths[1])
    m = S.load_target_model(str(folder))
    spec = m.meta["reader"]
    rec = json.loads((root / "docs" / "sentiment_cv.json").read_text(encoding="utf-8"))
    sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert rec["reader_sha256"] == sha(folder / spec["file"])
    assert rec["weights_sha256"] == sha(folder / "weights.npz")
    assert rec["alpha"] == spec["alpha"] and rec["offsets"] == spec["offsets"]
    assert 0.0 < spec["alpha"] < 1.0
    assert all(len(r["labels"]) == rec["n_targets"] for r in rec["per_seed"])
    ner_meta = json.loads((Path(Settings().model_paths[0]) / "meta.json").read_text())
    assert spec["vectors"]["module"] == ner_meta["newsetl_vectors"]["module"]
    assert spec["vectors"]["shape"] == ner_meta["newsetl_vectors"]["shape"]


# --- the learning curve (scripts/sentiment_curve.py) ------------------------------------
def test_learning_curve_shares_keep_whole_articles():
    curve = load_script_for_curve()
    data = [("s", 0, 1, 0, i, f"art{i % 97}") for i in range(2000)]
    tr = np.arange(0, 2000, 1)
    for share in (0.25, 0.5, 0.75):
        kept = curve.kept(data, tr, share, seed=0)
        assert (kept == curve.kept(data, tr, share, seed=0)).all()  # deterministic
        arts = {data[i][5] for i in kept}
        # whole articles: every target of a kept article is kept
        assert len(kept) == sum(1 for d in data if d[5] in arts)
        assert abs(len(arts) / 97 - share) < 0.2
    assert (curve.kept(data, tr, 1.0, seed=0) == tr).all()
    # a larger share keeps more (the groups are drawn in one order per seed)
    assert set(curve.kept(data, tr, 0.25, 1)) <= set(curve.kept(data, tr, 0.5, 1))


def test_learning_curve_line_reads_the_slope_per_doubling():
    curve = load_script_for_curve()
    pts = [{"train_targets_mean": n, "macro_f1": 0.5 + 0.03 * np.log2(n / 1000)} for n in (1000, 2000, 4000, 6000)]
    intercept, slope = curve.fit_line(pts)
    assert slope == pytest.approx(0.03)
    assert intercept + slope * np.log2(8000) == pytest.approx(0.59)


def test_learning_curve_record_is_of_the_shipped_recipe():
    """docs/sentiment_curve.json's 5-fold full-share point is the CV row of the shipped model
    (docs/sentiment_cv.json): the same folds, seeds and code, so the curve is not stale."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    curve = json.loads((root / "docs" / "sentiment_curve.json").read_text(encoding="utf-8"))
    cv = json.loads((root / "docs" / "sentiment_cv.json").read_text(encoding="utf-8"))
    full = [p for p in curve["points"] if p["folds"] == 5 and p["share"] == 1.0]
    assert [p["macro_f1_per_seed"] for p in full] == [[r["macro_f1_fused"] for r in cv["per_seed"]]]
    sizes = [p["train_targets_mean"] for p in curve["points"]]
    assert sizes == sorted(sizes) and curve["n_targets"] == cv["n_targets"]


def load_script_for_curve():
    from tests.conftest import load_script

    return load_script("sentiment_curve")


# --- scripts/eval_sentiment_pipeline.py: scoring the landed labels ------------------------

def test_pipeline_eval_counts_a_target_without_a_mention_wrong_and_splits_the_misses():
    from tests.conftest import load_script

    E = load_script("eval_sentiment_pipeline")
    assert [E.is_name(m) for m in ("Trump", "Hillary Clinton", "he", "His", "The governor", "")] == \
        [True, True, False, False, False, False]
    # made-up records (offsets and names of no NewsMTSC record)
    rows = [{"sentence_normalized": "On Friday Okafor was convicted of fraud and bribery.",
             "targets": [{"from": 10, "to": 16, "mention": "Okafor", "polarity": 2.0}]},
            {"sentence_normalized": "Late on Thursday evening they praised the brave and generous nurses.",
             "targets": [{"from": 24, "to": 28, "mention": "they", "polarity": 6.0}]},
            {"sentence_normalized": "Quill met Tarrow on Monday.",
             "targets": [{"from": 0, "to": 5, "mention": "Quill", "polarity": 4.0},
                         {"from": 10, "to": 16, "mention": "Tarrow", "polarity": 4.0}]}]
    landed = ["negative", None, "neutral", None]
    r = E.evaluate(rows, landed)
    assert (r["n"], r["found"], r["missed_other"], r["missed_names"]) == (4, 2, 1, 1)
    assert r["top_missed"] == [("Tarrow", 1)]
    # Both found labels are right (macro F1 over three classes, one absent: 2/3); the two
    # missing targets count wrong in "all" (negative 1, neutral 2/3, positive 0).
    assert r["found_pipeline"] == pytest.approx(2 / 3) and r["all"] == pytest.approx(5 / 9)


def test_target_scores_do_not_depend_on_the_batch():
    """A target's score is the same whatever other sentences share its call: a serial run
    and a Dask run batch an article's sentences with different others (their target scores
    once differed by 1e-6 after the rounding: the float32 products moved with the batch)."""
    rng = np.random.default_rng(7)
    words = ("the minister said talks with unions had failed and strikes would go on while "
             "fans cheered a brilliant win but critics warned of a deep crisis in the economy "
             "as prices rose sharply and the council praised volunteers for their help").split()
    names = ("Mara Quillon", "Vantor", "Petra Lenz", "Osric Dane", "the Harbour Board")
    sentences, spans = [], []
    for i in range(1200):
        body = rng.choice(words, size=int(rng.integers(4, 40))).tolist()
        at = int(rng.integers(0, len(body) + 1))
        name = names[i % len(names)]
        before = " ".join(body[:at])
        text = (before + " " if before else "") + name + " " + " ".join(body[at:]) + "."
        start = len(before) + (1 if before else 0)
        sentences.append(text[:1].upper() + text[1:])
        spans.append((start, start + len(name)))
    together = _scores(sentences, spans)
    assert len({label for _, label in together}) == 3  # the sentences are not all alike
    apart = [r for i in range(0, len(sentences), 7) for r in _scores(sentences[i:i + 7], spans[i:i + 7])]
    reversed_ = _scores(sentences[::-1], spans[::-1])[::-1]
    assert together == apart == reversed_
