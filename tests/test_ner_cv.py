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
