"""The NB weighting of the sentiment regression (scripts/train_sentiment.py `nb_penalty`)
scored on fold seeds of NewsMTSC train, the regression alone and fused with the reader:

    .venv/bin/python scripts/experiments/tsc_nb_check.py --seeds 2 3 --gammas 0 0.75

Fold seeds 0 and 1 are the ones the training script chooses gamma on; 2 and 3 were never
used to choose anything, so their lift is a check of the choice, free of its selection.
For each fold seed: the reader's out-of-fold log-probabilities once (the shipped reader
recipe), then the regression's for each gamma (the shipped templates, L2 and minimum count),
and the nested fusion of scripts/train_sentiment_reader.py (alpha and class offsets chosen
per fold on the other folds). Dev is never read. About 2 minutes a fold seed plus 30 s a
gamma on one core; the numbers are quoted in eval:sentiment (docs/benchmarks.md).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train_sentiment as TR  # noqa: E402
import train_sentiment_reader as RD  # noqa: E402
from newsetl.transforms import sentiment as S  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, default=TR.DEFAULT_TRAIN)
    ap.add_argument("--seeds", type=int, nargs="+", default=[2, 3])
    ap.add_argument("--gammas", type=float, nargs="+", default=[0.0, 0.75])
    args = ap.parse_args(argv)
    from newsetl.transforms.ner import load_vectors

    meta = S.TargetModel.load(TR.DEFAULT_OUT).meta
    vectors = load_vectors(RD.VECTORS["module"])
    data = TR.load_jsonl(args.train)
    y = np.array([d[3] for d in data])
    rows = TR.featurize(data, tuple(meta.get("templates", ())))
    Z, tok_ids, ranges = RD.prepare(data, vectors)
    sents, spans = [d[0] for d in data], [(d[1], d[2]) for d in data]
    recipe = dict(TR.recipe(meta))
    scores: dict[float, list[tuple[float, float]]] = {g: [] for g in args.gammas}
    for seed in args.seeds:
        fold = TR.fold_ids(data, seed)
        L_rd = RD.oof_reader(Z, tok_ids, ranges, y, fold, seed, vectors, sents, spans)
        for g in args.gammas:
            P = TR.oof_probs(rows, y, fold, **dict(recipe, nb_gamma=g))
            f_lr = TR.macro_f1(y, TR.nested_offset_labels(P, y, fold))[0]
            lab, _ = RD.nested_fusion_labels(np.log(P + 1e-12), L_rd, y, fold)
            f = TR.macro_f1(y, lab)[0]
            scores[g].append((f_lr, f))
            print(f"fold seed {seed}, gamma {g:g}: regression {f_lr:.4f}, fused {f:.4f}", flush=True)
    for g, fs in scores.items():
        lr, fu = np.mean(fs, axis=0)
        print(f"gamma {g:g}, mean of fold seeds {args.seeds}: regression {lr:.4f}, fused {fu:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
