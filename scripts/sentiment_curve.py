"""Learning curve of the shipped sentiment recipe: train CV macro F1 against training size.

    .venv/bin/python scripts/sentiment_curve.py      # ~15 minutes on one core

The CV row of `make eval` (docs/sentiment_cv.json) scores models trained on 4/5 of NewsMTSC
train; the shipped model is trained on all of it. This script measures how the score grows
with the training set, on train only (dev is never read), so the report can say what the
extra fifth is worth:

- 5-fold CV (the same article-grouped folds and fold seeds as the CV row) with each training
  side cut to a share of its articles (0.25, 0.5, 0.75, 1.0; the cut keeps whole articles);
- 10-fold CV on the whole training sides (9/10 of train).

Every point is the shipped recipe end to end: the regression (its templates, L2 and minimum
count, from the shipped model.json), the context reader (scripts/train_sentiment_reader.py's
settings and code) and the nested fusion (alpha and class offsets chosen per fold on the
other folds). A least-squares line of macro F1 against log2(training targets) through the
points gives the estimate at the shipped model's training size. Writes
docs/sentiment_curve.json, which scripts/eval_sentiment.py reports; it checks that the
curve's 5-fold full-share point is the CV row's record (else the curve is stale).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # reproducible float sums, and one core

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from newsetl.transforms import sentiment as S  # noqa: E402
import train_sentiment as TR  # noqa: E402
import train_sentiment_reader as R  # noqa: E402

CURVE_JSON = ROOT / "docs" / "sentiment_curve.json"
SHARES = (0.25, 0.5, 0.75, 1.0)
SUBGROUPS = 20  # a training side is cut by these article groups (a share keeps some of them)


def kept(data, tr: np.ndarray, share: float, seed: int) -> np.ndarray:
    """The targets of `tr` whose article falls in a `share` of SUBGROUPS article groups."""
    if share >= 1:
        return tr
    groups = TR.fold_ids(data, 1000 + seed, SUBGROUPS)
    keep = np.random.default_rng(100 + seed).permutation(SUBGROUPS)[: int(round(share * SUBGROUPS))]
    return tr[np.isin(groups[tr], keep)]


def point(data, y, rows, meta, Z, tok_ids, ranges, vectors, folds: int, share: float,
          say=print) -> dict:
    """Nested-fusion CV macro F1 of the recipe over the fold seeds, at one size."""
    sents = [d[0] for d in data]
    spans = [(d[1], d[2]) for d in data]
    per_seed, sizes = [], []
    for seed in range(TR.REPEATS):
        fold = TR.fold_ids(data, seed, folds)

        def keep(tr, seed=seed):
            tr = kept(data, tr, share, seed)
            sizes.append(len(tr))
            return tr

        P = TR.oof_probs(rows, y, fold, keep=keep, **TR.recipe(meta))
        L_rd = R.oof_reader(Z, tok_ids, ranges, y, fold, seed, vectors, sents, spans,
                            keep=lambda tr, seed=seed: kept(data, tr, share, seed))
        lab, _ = R.nested_fusion_labels(np.log(P + 1e-12), L_rd, y, fold)
        per_seed.append(round(TR.macro_f1(y, lab)[0], 4))
        say(f"{folds}-fold, share {share}, fold seed {seed}: fused {per_seed[-1]:.4f}")
    return {"folds": folds, "share": share, "train_targets_mean": round(float(np.mean(sizes)), 1),
            "macro_f1_per_seed": per_seed, "macro_f1": round(float(np.mean(per_seed)), 4)}


def fit_line(points: list[dict]) -> tuple[float, float]:
    """(intercept, slope per doubling) of macro F1 against log2(training targets)."""
    x = np.log2([p["train_targets_mean"] for p in points])
    f = np.array([p["macro_f1"] for p in points])
    slope, intercept = np.polyfit(x, f, 1)
    return float(intercept), float(slope)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, default=TR.DEFAULT_TRAIN)
    ap.add_argument("--model", type=Path, default=TR.DEFAULT_OUT)
    ap.add_argument("--out", type=Path, default=CURVE_JSON)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    def say(msg):
        print(f"{msg}  [{time.perf_counter() - t0:.0f}s]", flush=True)

    from newsetl.transforms.ner import load_vectors

    meta = dict(S.TargetModel.load(args.model).meta)
    vectors = load_vectors(R.VECTORS["module"])
    data = TR.load_jsonl(args.train)
    y = np.array([d[3] for d in data])
    rows = TR.featurize(data, tuple(meta.get("templates", ())))
    Z, tok_ids, ranges = R.prepare(data, vectors)
    points = [point(data, y, rows, meta, Z, tok_ids, ranges, vectors, TR.FOLDS, s, say) for s in SHARES]
    points.append(point(data, y, rows, meta, Z, tok_ids, ranges, vectors, 2 * TR.FOLDS, 1.0, say))
    intercept, slope = fit_line(points)
    at = intercept + slope * np.log2(len(y))
    rec = {"command": "python scripts/sentiment_curve.py", "n_targets": int(len(y)),
           "fold_seeds": list(range(TR.REPEATS)), "points": points,
           "fit": {"intercept": round(intercept, 4), "slope_per_doubling": round(slope, 4),
                   "macro_f1_at_all_train": round(float(at), 4)}}
    args.out.write_text(json.dumps(rec, indent=1) + "\n", encoding="utf-8")
    say(f"slope {slope:+.4f} per doubling; at {len(y)} targets {at:.4f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
