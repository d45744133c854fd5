"""Cross-validation summary of an NER recipe on CoNLL-2003 *train* (no dev involved).

Reads the fold runs of `scripts/train_ner.py --folds K --fold k --out DIR/<name>-f<k>
--curve DIR/<name>-f<k>.json` (k = 0..K-1) and writes `docs/ner_cv.json`, which
`scripts/eval_ner.py` prints next to its dev scores:

1. the epoch curve: mean holdout F1 over the folds after each epoch (raw model spans), and
   the epoch it picks (`choose_epoch`: a later epoch only for a lift of MIN_LIFT), used to
   train the shipped model;
2. the article-level post-processing of `transforms.ner.recognize_articles` (label
   consistency on/off, name propagation on/off), scored on every fold model's out-of-fold
   documents: a step is on in the pipeline when it lifts pooled F1 by >= MIN_LIFT.

Each fold model is that fold's best epoch on its own holdout, so (2) is slightly optimistic in
level; it compares settings on the same output, which is what it is for.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/ner_cv.py --dir /tmp/cv --name md --write
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_ner import CV_JSON, fold_docs, load_articles, score, to_conll  # noqa: E402
from train_ner import DEFAULT_TRAIN  # noqa: E402

# (label consistency, name propagation), simplest first; propagation runs inside consistency.
SETTINGS = [(False, False), (True, False), (True, True)]
# A post-processing step is switched on only if it lifts pooled CV F1 by at least this much
# (the rule used for the sentiment feature templates): a smaller lift is within fold noise and
# not worth a rule that can tag common words in general news.
MIN_LIFT = 0.002


def choose(rows: list[dict]) -> dict:
    """Walk SETTINGS from the simplest; take the next step only when it lifts F1 by MIN_LIFT."""
    f1 = {(r["consistency"], r["propagate"]): r["ALL"][2] for r in rows}
    chosen = SETTINGS[0]
    for step in SETTINGS[1:]:
        if f1[step] - f1[chosen] >= MIN_LIFT:
            chosen = step
    return {"consistency": chosen[0], "propagate": chosen[1]}


def choose_epoch(curve: list[dict]) -> dict:
    """Walk the epochs in order; move to a later one only when its mean F1 beats the
    current choice by MIN_LIFT (the rule of `choose`: more training for less than fold
    noise is not taken). On the 8-epoch curve this picks the highest mean, epoch 8."""
    chosen = curve[0]
    for row in curve[1:]:
        if row["f1"] - chosen["f1"] >= MIN_LIFT:
            chosen = row
    return chosen


def epoch_curve(curves: list[dict]) -> list[dict]:
    """Mean holdout P/R/F1 per epoch over the folds that reached it (all folds, or dropped)."""
    n = min(len(c["curve"]) for c in curves)
    out = []
    for i in range(1, n):
        per_fold = [c["curve"][i]["scores"]["ALL"] for c in curves]
        row = {"epoch": i, "f1": round(sum(s[2] for s in per_fold) / len(per_fold), 4),
               "f1_per_fold": [round(s[2], 4) for s in per_fold]}
        bare = [(c["curve"][i].get("scores_no_apostrophes") or {}).get("ALL") for c in curves]
        if all(bare):  # the same holdout written without apostrophes (train_ner.py)
            row["f1_no_apostrophes"] = round(sum(s[2] for s in bare) / len(bare), 4)
        people = [c["curve"][i].get("person_targets") for c in curves]
        if all(people):  # held-out NewsMTSC name targets (train_ner.py --person-targets), pooled
            n = sum(p["targets"] for p in people)
            row["person_targets"] = {"targets": n, **{k: round(sum(p[k] * p["targets"] for p in people) / n, 4)
                                                      for k in ("person", "exact")}}
        out.append(row)
    return out


def postprocessing(dir_: Path, name: str, folds: int, train: Path) -> list[dict]:
    from newsetl.transforms.ner import recognize_articles

    articles, gold, _ = load_articles(train)
    pooled_gold, pooled = [], {s: [] for s in SETTINGS}
    for k in range(folds):
        held = fold_docs(len(articles), folds, k)
        arts = [articles[i] for i in held]
        pooled_gold += [gold[i] for i in held]
        known: dict = {}
        model = str(dir_ / f"{name}-f{k}")
        for cons, prop in SETTINGS:
            pred = recognize_articles(arts, model=model, consistency=cons, propagate=prop, known=known)
            pooled[(cons, prop)] += to_conll(pred)
        print(f"fold {k}: {len(held)} docs decoded", flush=True)
    rows = []
    for (cons, prop), pred in pooled.items():
        s = score(pooled_gold, pred)
        rows.append({"consistency": cons, "propagate": prop,
                     **{lab: [round(x, 4) for x in v] for lab, v in s.items()}})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, required=True, help="folder of the fold runs")
    ap.add_argument("--name", required=True, help="prefix of the fold runs (<name>-f<k>)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--train", type=Path, default=DEFAULT_TRAIN)
    ap.add_argument("--recipe", default="", help="the train_ner.py options of the runs (for the record)")
    ap.add_argument("--write", action="store_true", help=f"write {CV_JSON.relative_to(ROOT)}")
    args = ap.parse_args(argv)

    curves = [json.loads((args.dir / f"{args.name}-f{k}.json").read_text()) for k in range(args.folds)]
    curve = epoch_curve(curves)
    best = choose_epoch(curve)
    for r in curve:
        print(f"epoch {r['epoch']}: mean holdout F1 {r['f1']:.4f}  per fold {r['f1_per_fold']}"
              + (f"  without apostrophes {r['f1_no_apostrophes']:.4f}" if "f1_no_apostrophes" in r else "")
              + (f"  person targets {r['person_targets']}" if "person_targets" in r else ""))
    print(f"best epoch by CV: {best['epoch']} ({best['f1']:.4f})")
    post = postprocessing(args.dir, args.name, args.folds, args.train)
    for r in post:
        print(f"consistency={r['consistency']} propagate={r['propagate']}: "
              f"P {r['ALL'][0]:.4f} R {r['ALL'][1]:.4f} F1 {r['ALL'][2]:.4f}")
    chosen = choose(post)
    result = {
        "recipe": args.recipe, "folds": args.folds,
        "holdout_docs": [c["holdout_docs"] for c in curves],
        "epoch_curve": curve, "best_epoch": best["epoch"],
        "postprocessing": post,
        "min_lift": MIN_LIFT, "chosen": chosen,
    }
    print(json.dumps(chosen))
    if args.write:
        # Keep what other scripts recorded in the same file (eval_ner.py --dev-check and
        # eval_ner_pipeline.py --dev-check write the final checks on dev there).
        if CV_JSON.exists():
            old = json.loads(CV_JSON.read_text())
            result = {**{k: v for k, v in old.items() if k not in result}, **result}
        CV_JSON.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {CV_JSON}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
