"""scripts/ner_cv.py and the CV part of scripts/eval_ner.py: how the NER epoch and the
post-processing are chosen from fold runs on train (no CoNLL data needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scripts():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import eval_ner
        import ner_cv

        yield ner_cv, eval_ner
    finally:
        sys.path.remove(str(ROOT / "scripts"))


def _row(cons, prop, f1):
    return {"consistency": cons, "propagate": prop, "ALL": [f1, f1, f1],
            **{lab: [f1, f1, f1] for lab in ("PER", "ORG", "LOC", "MISC")}}


def _curve(f1s):
    return {"holdout_docs": 200, "curve": [{"epoch": 0, "scores": {"ALL": [0, 0, 0]}}]
            + [{"epoch": i + 1, "scores": {"ALL": [f, f, f]}} for i, f in enumerate(f1s)]}


def test_epoch_curve_averages_folds_and_stops_at_the_shortest(scripts):
    ner_cv, _ = scripts
    curve = ner_cv.epoch_curve([_curve([0.80, 0.90, 0.95]), _curve([0.70, 0.80])])
    assert [r["epoch"] for r in curve] == [1, 2]
    assert [r["f1"] for r in curve] == [0.75, 0.85]
    assert curve[1]["f1_per_fold"] == [0.9, 0.8]


def test_a_later_epoch_needs_the_minimum_lift(scripts):
    ner_cv, _ = scripts
    lift = ner_cv.MIN_LIFT
    f1s = [0.85, 0.87, 0.87 + lift / 2, 0.87 + lift, 0.87 + lift * 1.5]
    curve = [{"epoch": i + 1, "f1": f} for i, f in enumerate(f1s)]
    assert ner_cv.choose_epoch(curve)["epoch"] == 4  # epoch 5 is higher, but by less than the lift
    assert ner_cv.choose_epoch(curve[:3])["epoch"] == 2


def test_a_step_needs_the_minimum_lift(scripts):
    ner_cv, _ = scripts
    lift = ner_cv.MIN_LIFT
    # consistency lifts enough, propagation does not: consistency only
    rows = [_row(False, False, 0.89), _row(True, False, 0.90), _row(True, True, 0.90 + lift / 2)]
    assert ner_cv.choose(rows) == {"consistency": True, "propagate": False}
    # propagation judged against the setting chosen before it
    rows = [_row(False, False, 0.89), _row(True, False, 0.89 + lift / 2), _row(True, True, 0.89 + 0.9 * lift)]
    assert ner_cv.choose(rows) == {"consistency": False, "propagate": False}
    rows = [_row(False, False, 0.89), _row(True, False, 0.90), _row(True, True, 0.90 + 2 * lift)]
    assert ner_cv.choose(rows) == {"consistency": True, "propagate": True}


def test_cv_section_marks_the_chosen_setting(scripts):
    ner_cv, eval_ner = scripts
    rows = [_row(False, False, 0.89), _row(True, False, 0.90), _row(True, True, 0.9001)]
    cv = {"folds": 5, "holdout_docs": [158, 218], "recipe": "r", "min_lift": ner_cv.MIN_LIFT,
          "epoch_curve": ner_cv.epoch_curve([_curve([0.8, 0.85])]), "best_epoch": 2,
          "postprocessing": rows, "chosen": ner_cv.choose(rows)}
    text = eval_ner.cv_section(json.loads(json.dumps(cv)))
    assert "epoch picked for the shipped model (a later epoch only for a lift of >= 0.002): **2**" in text
    assert "| on | off | 0.900 | 0.900 | **0.900** |" in text
    assert "**0.890**" not in text and "| on | on | 0.900 | 0.900 | 0.900 |" in text


def test_committed_cv_record_agrees_with_the_rule(scripts):
    ner_cv, _ = scripts
    cv = json.loads((ROOT / "docs" / "ner_cv.json").read_text())
    assert cv["chosen"] == ner_cv.choose(cv["postprocessing"])
    assert cv["best_epoch"] == ner_cv.choose_epoch(cv["epoch_curve"])["epoch"]
    # the shipped model was trained for that many epochs
    meta = json.loads((ROOT / "newsetl" / "models" / "ner" / "meta.json").read_text())
    assert meta["newsetl_training"]["epochs_run"] == cv["best_epoch"]
    # the pipeline's defaults are the chosen ones
    from newsetl.transforms import ner

    assert ner.PROPAGATE == cv["chosen"]["propagate"]
    import inspect

    assert inspect.signature(ner.recognize_articles).parameters["consistency"].default == cv["chosen"]["consistency"]


def test_epoch_curve_reports_the_holdout_without_apostrophes_when_every_fold_has_it(scripts):
    ner_cv, _ = scripts
    a, b = _curve([0.80, 0.90]), _curve([0.70, 0.80])
    for c, bare in ((a, 0.6), (b, 0.5)):
        for row in c["curve"][1:]:
            row["scores_no_apostrophes"] = {"ALL": [bare, bare, bare]}
    assert [r["f1_no_apostrophes"] for r in ner_cv.epoch_curve([a, b])] == [0.55, 0.55]
    # a fold run without that score (an older recipe): no mean of the others alone
    assert "f1_no_apostrophes" not in ner_cv.epoch_curve([a, _curve([0.7, 0.8])])[0]


@pytest.fixture(scope="module")
def train_ner():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import train_ner

        yield train_ner
    finally:
        sys.path.remove(str(ROOT / "scripts"))


@pytest.mark.parametrize("text, spans, want_text, want_names", [
    # a possessive joins its name, and the name's span reaches the word's end
    ("Texaco 's stock rose", [(0, 6, "ORG")], "Texacos stock rose", ["Texacos"]),
    # a plural possessive loses its lone apostrophe; the next name keeps its own span
    ("at Bache Securities ' Stuart Weisbrod", [(3, 19, "ORG"), (22, 37, "PER")],
     "at Bache Securities Stuart Weisbrod", ["Bache Securities", "Stuart Weisbrod"]),
    # n't and other clitics join the word before; an apostrophe inside a name goes
    ("they do n't know O'Neill", [(17, 24, "PER")], "they dont know ONeill", ["ONeill"]),
    ("we 're told ' Blair ' said", [(14, 19, "PER")], "were told Blair said", ["Blair"]),
    ("' Quoted ' by Reuters", [(14, 21, "ORG")], "Quoted by Reuters", ["Reuters"]),
    ("no apostrophe here", [(0, 2, "ORG")], "no apostrophe here", ["no"]),
])
def test_drop_apostrophes_writes_text_as_feeds_that_lost_them(train_ner, text, spans, want_text, want_names):
    new, moved = train_ner.drop_apostrophes(text, spans)
    assert new == want_text
    assert [new[a:b] for a, b, _ in moved] == want_names
    assert [lab for _, _, lab in moved] == [lab for _, _, lab in spans]


def test_apostrophe_free_copies_take_only_sentences_with_an_apostrophe(train_ner):
    import random

    texts = ["Texaco 's stock", "Texaco stock", "Shell 's", "no names 's"]
    spans = [[(0, 6, "ORG")], [(0, 6, "ORG")], [(0, 5, "ORG")], []]
    out_t, out_s = train_ner.apostrophe_free_copies(texts, spans, 1.0, random.Random(0))
    assert out_t == ["Texacos stock", "Shells"]
    assert out_s == [[(0, 7, "ORG")], [(0, 6, "ORG")]]
    assert train_ner.apostrophe_free_copies(texts, spans, 0.0, random.Random(0)) == ([], [])


def test_cv_section_shows_the_holdout_without_apostrophes_when_recorded(scripts):
    ner_cv, eval_ner = scripts
    rows = [_row(False, False, 0.89), _row(True, False, 0.90), _row(True, True, 0.9001)]
    c = _curve([0.8, 0.85])
    for row, bare in zip(c["curve"][1:], (0.7, 0.75)):
        row["scores_no_apostrophes"] = {"ALL": [bare, bare, bare]}
    cv = {"folds": 5, "holdout_docs": [158, 218], "recipe": "r", "epoch_curve": ner_cv.epoch_curve([c]),
          "best_epoch": 2, "postprocessing": rows, "chosen": ner_cv.choose(rows)}
    assert "with every apostrophe dropped" in eval_ner.cv_section(cv)
    assert "mean F1 after epoch 1..2: 0.700, 0.750." in eval_ner.cv_section(cv)
    del cv["epoch_curve"][0]["f1_no_apostrophes"]
    assert "apostrophe" not in eval_ner.cv_section(cv)


def test_epoch_curve_pools_the_held_out_person_targets_by_their_count(scripts):
    ner_cv, eval_ner = scripts
    a, b = _curve([0.80, 0.90]), _curve([0.70, 0.80])
    for c, n, person in ((a, 100, 0.9), (b, 300, 0.7)):
        for row in c["curve"][1:]:
            row["person_targets"] = {"targets": n, "person": person, "any": 1.0, "exact": person - 0.1}
    rows = ner_cv.epoch_curve([a, b])
    assert rows[0]["person_targets"] == {"targets": 400, "person": 0.75, "exact": 0.65}
    cv = {"folds": 2, "holdout_docs": [158, 218], "recipe": "r", "epoch_curve": rows, "best_epoch": 2,
          "postprocessing": [_row(False, False, 0.9)], "chosen": {"consistency": False, "propagate": False}}
    assert "after epoch 1..2: 0.750 / 0.650, 0.750 / 0.650 (400 targets)." in eval_ner.cv_section(cv)
    # a fold run without them (a recipe without --person-targets): no pooled row
    assert "person_targets" not in ner_cv.epoch_curve([a, _curve([0.7, 0.8])])[0]


@pytest.mark.parametrize("text, target, want_name, want_outside", [
    ("Trump said it.", "Trump", "Trump", None),
    # a title in the target, or just before it, is outside the name
    ("Yesterday President Trump said it.", "President Trump", "Trump", "President "),
    ("Yesterday President Trump said it.", "Trump", "Trump", "President "),
    ("Then Vice President Mike Pence spoke.", "Vice President Mike Pence", "Mike Pence", "Vice President "),
    ("Mr. Trump's remarks", "Mr. Trump", "Trump", "Mr. "),
    # no plain name: its span is unknown, or it is no person's name
    ("Hillary Clinton said it.", "Clinton", None, None),        # cuts a name short
    ("Trump Tower rose.", "Trump", None, None),                 # part of a longer name
    ("He said it on Friday.", "Friday", None, None),            # a weekday
    ("He met Russian President Vladimir Putin.", "Russian President Vladimir Putin", None, None),
    ("But he said it.", "he", None, None),
    ("Queen and country.", "Queen", None, None),
])
def test_person_target_spans_keep_plain_names_and_their_titles(train_ner, text, target, want_name, want_outside):
    a = text.index(target)
    got = train_ner.person_target_spans(text, a, a + len(target))
    if want_name is None:
        assert got is None
        return
    (s, e), ts = got
    assert text[s:e] == want_name
    assert (text[ts:s] or None) == want_outside


@pytest.mark.parametrize("name, lab, want", [
    # a MISC span no model types: a demonym of the pipeline's table, in any case, is NORP
    ("Slovak", "MISC", "NORP"), ("DUTCH", "MISC", "NORP"),
    # an event's head noun makes it an EVENT, in capitals too
    ("Kestrel Open", "MISC", "EVENT"), ("TARN CUP", "MISC", "EVENT"),
    # anything else is MISC, a label of its own: no longer NORP
    ("GMT", "MISC", "MISC"), ("Vantor 95", "MISC", "MISC"), ("Quell League", "MISC", "MISC"),
    # LOC keeps its fallback
    ("Quellport", "LOC", "GPE"),
])
def test_fallback_fine_types_misc_spans_no_model_types(train_ner, name, lab, want):
    assert train_ner.fallback_fine(name, lab, "typed") == want
    # the shipped recipe
    assert train_ner.fallback_fine(name, lab) == {"MISC": "NORP", "LOC": "GPE"}[lab]


def test_partial_examples_mark_names_titles_and_plain_words_and_leave_the_rest_missing(train_ner):
    import spacy

    nlp = spacy.blank("en")
    text = "Yesterday President Trump met the Bank of England and Pelosi in Washington."
    a = text.index("Trump")
    (ex,) = train_ner.make_partial_examples(nlp, [(text, [(a, a + 5)], [(text.index("President"), a)])])
    tags = {t.text: t.ent_iob_ + ("-" + t.ent_type_ if t.ent_type_ else "") for t in ex.reference}
    assert tags["Trump"] == "B-PERSON"
    assert tags["President"] == "O" and tags["met"] == "O" and tags["the"] == "O" and tags["."] == "O"
    # other capitalised words may be names the corpus does not mark; "of" sits inside one
    assert tags["Yesterday"] == tags["Bank"] == tags["England"] == tags["Pelosi"] == tags["Washington"] == ""
    assert tags["of"] == ""
    assert tags["and"] == ""  # between two capitalised words too: a name may run over it
    # with another model's names for the rest (--self-label), those are labelled too
    bank = text.index("Bank of England")
    (ex,) = train_ner.make_partial_examples(nlp, [(text, [(a, a + 5)], [])],
                                            [[(bank, bank + 15, "ORG"), (a, a + 5, "ORG")]])
    tags = [(t.text, t.ent_iob_ + ("-" + t.ent_type_ if t.ent_type_ else "")) for t in ex.reference]
    assert tags[2:7] == [("Trump", "B-PERSON"), ("met", "O"), ("the", "O"), ("Bank", "B-ORG"), ("of", "I-ORG")]
