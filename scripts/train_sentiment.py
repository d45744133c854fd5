"""Train the target-dependent sentiment model shipped in newsetl/models/tsc/.

    .venv/bin/python scripts/train_sentiment.py \
        --train ../shared/data/sentiment-newsmtsc/train.jsonl

Everything is chosen by k-fold cross-validation on NewsMTSC train only; dev is never read
here (scripts/eval_sentiment.py reports it once, as a final check):
- folds are grouped by *article* (the article part of `primary_gid`), so neither a sentence
  nor any other sentence of the same article sits on both sides of a split: that is what
  "unseen news" means, and it is stricter than grouping by sentence (which scored ~0.005
  higher with the same features);
- every CV figure is the mean over REPEATS fold assignments (different seeds), because one
  5-fold split moves macro F1 by about +-0.004;
- optional feature templates (`transforms.sentiment.TEMPLATES`) are added greedily, each kept
  only when it lifts CV macro F1 by at least MIN_GAIN; then the L2 strength is picked on
  L2_GRID; then the naive-Bayes weighting of that penalty (`nb_penalty`) on NB_GAMMA_GRID;
  then per-class logit offsets (learned class thresholds) are fit on the
  out-of-fold probabilities. The reported estimate uses *nested* offsets (for each fold,
  offsets fit on the other folds' out-of-fold predictions), so the offsets do not flatter it.

`--extra FILE` (repeatable) adds labelled targets to the *final fit only*, after everything
above was chosen on train CV: the shipped model is trained on train + dev-rw + dev-mt, as the
NER is on CoNLL train + dev, once dev has been reported as the final check with the model
trained on train alone (scripts/eval_sentiment.py --dev-check). The CV figures stay those of
train; the extra targets are never in a fold.

Reproducible: deterministic folds (crc32 of the article id), full-batch Adam from zero
weights, no randomness; a rerun reproduces the shipped files byte for byte. Takes 6-8
minutes on one core of the shared machine; needs only numpy (+ vaderSentiment).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsetl.transforms import sentiment as S  # noqa: E402

POLARITY = {2.0: 0, 4.0: 1, 6.0: 2}
DEFAULT_TRAIN = ROOT.parent / "shared" / "data" / "sentiment-newsmtsc" / "train.jsonl"
DEFAULT_OUT = ROOT / "newsetl" / "models" / "tsc"
MIN_COUNT = 2  # feature strings seen fewer times in train are dropped (noise, size)
L2_GRID = (1e-3, 3e-3, 1e-2)  # CV on train peaked inside this range (1e-4..1e-2 tried)
L2_SELECT = 3e-3  # L2 used while comparing templates (the CV optimum of the base features)
ITERS = 100  # enough: fold macro F1 is flat from 100 to 300 full-batch Adam steps
LR = 0.05
FOLDS = 5
REPEATS = 2
# A template must lift repeated-CV macro F1 by this much to be kept: about the spread of one
# 5-fold split (+-0.004) halved by averaging two, so smaller lifts are noise, and each
# template costs speed and model size.
MIN_GAIN = 0.002
# Naive-Bayes weighting of the L2 penalty (`nb_penalty`): the exponent is chosen by train CV
# on this grid (0 = one plain L2 for every feature, the recipe before); add-one smoothing of
# the per-class document frequencies, the NBSVM paper's default, not tuned.
NB_GAMMA_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
NB_SMOOTH = 1.0


def article_of(gid: str) -> str:
    """Article part of a NewsMTSC primary_gid: "allsides_2001_77" from "allsides_2001_77_3_<name>_0_6"."""
    return "_".join(gid.split("_")[:3])


def load_jsonl(path: Path):
    """[(sentence, start, end, y, sentence_no, article)] from a NewsMTSC jsonl file."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for no, line in enumerate(fh):
            if not line.strip():
                continue
            r = json.loads(line)
            s = r['sentence_normalized']
            art = article_of(r["primary_gid"])
            for t in r["targets"]:
                out.append((s, int(t["from"]), int(t["to"]),
                            POLARITY[float(t["polarity"])], no, art))
    return out


def load_extra(paths) -> list:
    """The targets of the `--extra` files, in order (they join a final fit only)."""
    return [t for path in paths for t in load_jsonl(path)]


def fold_ids(data, seed: int, folds: int = FOLDS) -> np.ndarray:
    """Fold per target, grouped by article, deterministic for a seed."""
    return np.array([zlib.crc32(f"{seed}:{d[5]}".encode()) % folds for d in data])


def featurize(data, templates=()):
    cache: dict[str, float] = {}
    rows = []
    for s, a, b, *_ in data:
        if s not in cache:
            cache[s] = S.sentence_scores([s])[0]
        rows.append(S.target_features(s, a, b, compound=cache[s], templates=templates))
    return rows


def class_f1_rows(y: np.ndarray, labs: np.ndarray) -> np.ndarray:
    """F1 of each class (columns) for each row of predicted labels labs (m, n), at once."""
    out = np.zeros((labs.shape[0], 3))
    for k in range(3):
        pk, yk = labs == k, (y == k)[None, :]
        tp = np.sum(pk & yk, 1)
        denom = 2 * tp + np.sum(pk & ~yk, 1) + np.sum(~pk & yk, 1)
        out[:, k] = np.where(tp > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return out


def macro_f1(y: np.ndarray, p: np.ndarray) -> tuple[float, list[float]]:
    fs = [float(f) for f in class_f1_rows(y, np.asarray(p)[None])[0]]
    return float(np.mean(fs)), fs


def nb_penalty(indptr, indices, y, n_vocab: int, l2: float, gamma: float,
               smooth: float = NB_SMOOTH) -> np.ndarray:
    """L2 strength of each binary feature (vocabulary order), weighted by naive Bayes.

    Scaling a binary feature by its naive-Bayes log-count ratio before a penalised linear
    model (Wang and Manning 2012, "NBSVM") is the same as penalising its weight by l2 / s**2:
    a feature whose class odds in training are far from even is penalised less than one
    seen as often in every class. r = the largest over the classes of |log p(f | c) -
    log p(f | not c)|, p the smoothed share of the class's targets that hold the feature; s =
    (r / median r) ** gamma, so gamma 0 is one plain L2 for all. Computed on the rows being
    fitted (each fold's training side in CV), so nothing of a held-out fold leaks in."""
    rows = np.repeat(np.arange(len(y)), np.diff(indptr))
    n_fc = np.stack([np.bincount(indices[y[rows] == c], minlength=n_vocab) for c in range(3)], 1)
    n_c = np.bincount(y, minlength=3).astype(float)
    p = (n_fc + smooth) / (n_c + 2 * smooth)
    q = (n_fc.sum(1, keepdims=True) - n_fc + smooth) / (n_c.sum() - n_c + 2 * smooth)
    r = np.abs(np.log(p) - np.log(q)).max(1)
    s = (r / max(float(np.median(r)), 1e-12)) ** gamma
    return l2 / np.maximum(s, 1e-3) ** 2


def fit(Xn, indptr, indices, y, n_feat, l2, iters=ITERS, lr=LR, nb_gamma=0.0, row_weight=None,
        Y=None):
    """Softmax regression, balanced class weights, L2 (not on the bias; NB-weighted on the
    binary features when nb_gamma > 0, see `nb_penalty`), full-batch Adam. `row_weight`
    scales each row's class weight and `Y` gives soft targets instead of y's one-hot rows
    (experiments: scripts/experiments/tsc_distill.py)."""
    n = len(y)
    counts = np.bincount(y, minlength=3).astype(float)
    cw = n / (3.0 * np.maximum(counts, 1))
    sw = cw[y] if row_weight is None else cw[y] * row_weight
    sw = sw / np.sum(sw)
    Y = np.eye(3)[y] if Y is None else Y
    rows = np.repeat(np.arange(n), np.diff(indptr))
    W = np.zeros((n_feat, 3))
    m = np.zeros_like(W)
    v = np.zeros_like(W)
    b1, b2, eps = 0.9, 0.999, 1e-8
    nn = Xn.shape[1]
    reg = np.full((n_feat, 1), l2)
    if nb_gamma:
        reg[nn:, 0] = nb_penalty(indptr, indices, y, n_feat - nn, l2, nb_gamma)
    reg[nn] = 0.0  # "bias" is always vocabulary entry 0 (see build_vocab)
    g = np.empty_like(W)
    for it in range(1, iters + 1):
        G = (S.softmax(S.design_dot(Xn, indptr, indices, W)) - Y) * sw[:, None]
        g[:nn] = Xn.T @ G
        Gr = G[rows]
        for k in range(3):
            g[nn:, k] = np.bincount(indices, weights=Gr[:, k], minlength=n_feat - nn)
        g += reg * W
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        W -= lr * (m / (1 - b1 ** it)) / (np.sqrt(v / (1 - b2 ** it)) + eps)
    return W


OFFSET_GRID = np.round(np.arange(-1.0, 1.0001, 0.05), 2)


def fit_offsets_many(Ls: list[np.ndarray], ys: list[np.ndarray]) -> np.ndarray:
    """Per-class log-prob offsets (neutral fixed at 0) maximising the mean macro F1 over
    several (log-probs, gold) parts: the first grid point (negative offset outer, positive
    inner) with the best mean, or no offsets when none beats plain argmax."""
    def mean_f1(offs):
        return np.mean([class_f1_rows(y, np.argmax(L[None] + offs[:, None, :], axis=2)).mean(1)
                        for L, y in zip(Ls, ys)], axis=0)

    base = mean_f1(np.zeros((1, 3)))[0]
    best = (base, 0.0, 0.0)
    for a in OFFSET_GRID:
        offs = np.stack([np.full_like(OFFSET_GRID, a), np.zeros_like(OFFSET_GRID), OFFSET_GRID], 1)
        f = mean_f1(offs)
        i = int(np.argmax(f))
        if f[i] > best[0] + 1e-9:
            best = (f[i], float(a), float(OFFSET_GRID[i]))
    return np.array([best[1], 0.0, best[2]])


def fit_offsets(P: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-class log-prob offsets (neutral fixed at 0) maximising macro F1."""
    return fit_offsets_many([np.log(P + 1e-12)], [y])


def build_vocab(rows, min_count=MIN_COUNT):
    cnt = Counter()
    for feats, _ in rows:
        cnt.update(set(feats))
    keep = sorted(w for w, c in cnt.items() if c >= min_count and w != "bias")
    return {w: i for i, w in enumerate(["bias"] + keep)}


def standardiser(rows):
    nums = np.array([r[1] for r in rows], dtype=np.float64)
    mean, std = nums.mean(0), nums.std(0)
    std[std < 1e-9] = 1.0
    return mean, std


def recipe(meta: dict) -> dict:
    """The fitting settings a model's meta records, as keyword arguments of `oof_probs`
    (models trained before the NB weighting have none: gamma 0)."""
    return {"l2": float(meta.get("l2", L2_SELECT)), "min_count": int(meta.get("min_count", MIN_COUNT)),
            "nb_gamma": float(meta.get("nb_gamma", 0.0))}


def oof_probs(rows, y, fold, l2, min_count=MIN_COUNT, keep=None, nb_gamma=0.0):
    """Out-of-fold class probabilities; vocabulary, scaling and NB weights are built on each
    training side only, so nothing of the held-out articles leaks in. `keep` (training side
    -> the part of it to train on) cuts the training sides, for a learning curve."""
    P = np.zeros((len(y), 3))
    for k in range(int(fold.max()) + 1):
        tr, te = np.where(fold != k)[0], np.where(fold == k)[0]
        if keep is not None:
            tr = keep(tr)
        P[te] = fit_predict([rows[i] for i in tr], y[tr], [rows[i] for i in te], l2, min_count, nb_gamma)
    return P


def fit_predict(tr_rows, y_tr, te_rows, l2, min_count=MIN_COUNT, nb_gamma=0.0, row_weight=None, Y=None):
    """Class probabilities of `te_rows` from a regression fitted on `tr_rows` (`fit`'s
    arguments); the vocabulary, scaling and NB weights come from the training rows only."""
    vocab = build_vocab(tr_rows, min_count)
    mean, std = standardiser(tr_rows)
    W = fit(*S.build_design(tr_rows, vocab, mean, std), y_tr, len(mean) + len(vocab), l2,
            nb_gamma=nb_gamma, row_weight=row_weight, Y=Y)
    return S.softmax(S.design_dot(*S.build_design(te_rows, vocab, mean, std), W))


def nested_offset_labels(P, y, fold) -> np.ndarray:
    """Labels with per-class offsets fit, for each fold, on the other folds' predictions."""
    lab = np.zeros(len(y), dtype=int)
    for k in range(int(fold.max()) + 1):
        tr, te = fold != k, fold == k
        off = fit_offsets(P[tr], y[tr])
        lab[te] = np.argmax(np.log(P[te] + 1e-12) + off, 1)
    return lab


def cv_score(rows, y, folds, l2, nb_gamma=0.0) -> dict:
    """Repeated grouped k-fold CV: mean macro F1 (argmax and nested offsets), per-class F1,
    and the out-of-fold probabilities of every repeat."""
    f_arg, f_off, per_class, probs = [], [], [], []
    for fold in folds:
        P = oof_probs(rows, y, fold, l2, nb_gamma=nb_gamma)
        probs.append(P)
        f_arg.append(macro_f1(y, P.argmax(1))[0])
        f, fs = macro_f1(y, nested_offset_labels(P, y, fold))
        f_off.append(f)
        per_class.append(fs)
    return {"macro_f1": float(np.mean(f_off)), "macro_f1_argmax": float(np.mean(f_arg)),
            "per_repeat": [round(f, 4) for f in f_off],
            "per_class": [round(float(x), 4) for x in np.mean(per_class, axis=0)],
            "probs": probs}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, default=DEFAULT_TRAIN)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--l2", type=float, default=None, help="skip the L2 search, use this L2")
    ap.add_argument("--templates", default=None,
                    help="comma-separated templates; skips the template search ('' = none)")
    ap.add_argument("--extra", type=Path, action="append", default=[],
                    help="NewsMTSC jsonl whose targets join the final fit only (not the CV)")
    ap.add_argument("--nb-gamma", type=float, default=None,
                    help="skip the search of the NB weighting, use this exponent (0 = plain L2)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    data = load_jsonl(args.train)
    y = np.array([d[3] for d in data])
    folds = [fold_ids(data, seed) for seed in range(REPEATS)]
    log = []

    def say(msg):
        print(f"{msg}  [{time.perf_counter() - t0:.0f}s]", flush=True)

    all_rows = {}

    def rows_for(tpl):
        key = tuple(t for t in S.TEMPLATES if t in tpl)
        if key not in all_rows:
            all_rows[key] = featurize(data, key)
        return all_rows[key]

    # 1. feature templates: greedy forward selection by repeated grouped CV
    if args.templates is not None:
        chosen = tuple(t for t in args.templates.split(",") if t)
        unknown = set(chosen) - set(S.TEMPLATES)
        if unknown:
            ap.error(f"unknown templates {sorted(unknown)}; known: {S.TEMPLATES}")
    else:
        chosen = ()
        best = cv_score(rows_for(chosen), y, folds, L2_SELECT)["macro_f1"]
        say(f"templates (none): CV macro F1 {best:.4f}")
        log.append({"templates": [], "cv_macro_f1": round(best, 4)})
        while True:
            trials = []
            for t in S.TEMPLATES:
                if t in chosen:
                    continue
                cand = chosen + (t,)
                f = cv_score(rows_for(cand), y, folds, L2_SELECT)["macro_f1"]
                say(f"templates {'+'.join(cand)}: CV macro F1 {f:.4f}")
                log.append({"templates": list(cand), "cv_macro_f1": round(f, 4)})
                trials.append((f, t))
            if not trials:
                break
            f, t = max(trials)
            if f < best + MIN_GAIN:
                break
            chosen, best = chosen + (t,), f
        chosen = tuple(t for t in S.TEMPLATES if t in chosen)
    say(f"chosen templates: {list(chosen) or 'none'}")
    rows = rows_for(chosen)

    # 2. L2 strength
    grid = L2_GRID if args.l2 is None else (args.l2,)
    best_l2 = None
    for l2 in grid:
        r = cv_score(rows, y, folds, l2)
        say(f"l2={l2:g}: CV macro F1 {r['macro_f1']:.4f} (nested offsets), "
            f"{r['macro_f1_argmax']:.4f} (argmax), repeats {r['per_repeat']}")
        log.append({"templates": list(chosen), "l2": l2, "cv_macro_f1": round(r["macro_f1"], 4)})
        if best_l2 is None or r["macro_f1"] > best_l2[1]["macro_f1"]:
            best_l2 = (l2, r)
    l2, r = best_l2

    # 3. NB weighting of the penalty on the binary features; gamma 0 is the L2 step's result
    if args.nb_gamma is None:
        gamma, trials = 0.0, NB_GAMMA_GRID[1:]
    else:
        gamma, trials = args.nb_gamma, ()
        if gamma:
            r = cv_score(rows, y, folds, l2, nb_gamma=gamma)
    for g in trials:
        rg = cv_score(rows, y, folds, l2, nb_gamma=g)
        say(f"nb_gamma={g:g}: CV macro F1 {rg['macro_f1']:.4f} (nested offsets), "
            f"{rg['macro_f1_argmax']:.4f} (argmax), repeats {rg['per_repeat']}")
        log.append({"templates": list(chosen), "l2": l2, "nb_gamma": g,
                    "cv_macro_f1": round(rg["macro_f1"], 4)})
        if rg["macro_f1"] > r["macro_f1"]:
            gamma, r = g, rg

    # 4. offsets on all out-of-fold predictions (first repeat's split), then the final fit
    off = fit_offsets(r["probs"][0], y)
    extra = load_extra(args.extra)
    rows_all = rows + featurize(extra, chosen)
    y_all = np.concatenate([y, np.array([d[3] for d in extra], dtype=y.dtype)])
    vocab = build_vocab(rows_all)
    mean, std = standardiser(rows_all)
    X = S.build_design(rows_all, vocab, mean, std)
    W = fit(*X, y_all, len(mean) + len(vocab), l2, nb_gamma=gamma)
    f_train = macro_f1(y_all, np.argmax(np.log(S.softmax(S.design_dot(*X, W)) + 1e-12) + off, 1))[0]
    extra_names = [path.name for path in args.extra]
    files = [args.train.name] + extra_names
    model = S.TargetModel(vocab, W, mean, std, off, meta={
        "kind": "multinomial logistic regression over transforms.sentiment.target_features",
        "templates": list(chosen),
        "trained_on": f"NewsMTSC {' + '.join(files)} (fhamborg/NewsMTSC b9d9b79, MIT)",
        "n_train_targets": int(len(y_all)),
        "extra": extra_names,
        "selected_on": f"{args.train.name} CV only ({len(y)} targets)",
        "l2": l2, "nb_gamma": gamma, "nb_smooth": NB_SMOOTH, "iters": ITERS, "lr": LR,
        "min_count": MIN_COUNT,
        "cv": f"{FOLDS}-fold x {REPEATS} repeats, grouped by article, nested offsets",
        "cv_folds": FOLDS, "cv_repeats": REPEATS,
        "cv_macro_f1": round(r["macro_f1"], 4),
        "cv_macro_f1_argmax": round(r["macro_f1_argmax"], 4),
        "cv_per_class_f1": r["per_class"],
        "cv_selection_log": log,
        "train_macro_f1": round(f_train, 4),
        "command": "python scripts/train_sentiment.py" + "".join(f" --extra {x}" for x in extra_names),
    })
    model.save(args.out)
    say(f"chosen l2={l2:g}, nb_gamma={gamma:g}, templates {list(chosen)}: CV macro F1 {r['macro_f1']:.4f}; "
        f"train macro F1 {f_train:.4f}; offsets {off[0]:+.2f}/{off[2]:+.2f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
