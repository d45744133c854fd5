"""Experiment (issue 11, not shipped): distil a fine-tuned transformer teacher
(scripts/experiments/tsc_teacher.py) into the shipped context reader
(transforms.sentiment.VectorReader) or the regression, and compare on one NewsMTSC train
fold.

    # unlabelled targets: distinct PERSON mentions of a warehouse, with their sentence
    .venv/bin/python scripts/experiments/tsc_distill.py targets --warehouse /tmp/bbcwh \
        --out /tmp/mini/bbc_targets.jsonl
    # the fold's reader trained on gold only, then on gold + the teacher's soft labels
    .venv/bin/python scripts/experiments/tsc_distill.py compare --fold 1 \
        --teacher /tmp/mini --targets /tmp/mini/bbc_targets.jsonl
    # the fold's regression trained on gold, then on gold + the teacher's labels (hard, soft)
    .venv/bin/python scripts/experiments/tsc_distill.py compare-lr --fold 1 \
        --teacher /tmp/mini --targets /tmp/mini/bbc_targets.jsonl

The reader's recipe is scripts/train_sentiment_reader.py's (same network, seeds, epochs,
class weights by the hard label); the only change is a soft target for the teacher-labelled
rows. Scored on the fold's held-out articles (fold seed 0): the reader alone and fused with
the regression's out-of-fold probabilities at the shipped alpha range, argmax labels (no
offsets) for every variant alike.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from newsetl.transforms import sentiment as S  # noqa: E402
import train_sentiment as TR  # noqa: E402
import train_sentiment_reader as RD  # noqa: E402

F32 = np.float32


def targets(warehouse: Path, out: Path) -> int:
    import duckdb

    con = duckdb.connect(str(warehouse / "news.duckdb"), read_only=True)
    rows = con.sql(
        "select m.start_char, m.end_char, m.text, p.text, s.text, m.article_id "
        "from entity_mentions m join paragraphs p using (article_id, paragraph_index) "
        "join sentences s using (article_id, paragraph_index, sentence_index) where m.label = 'PERSON'"
    ).fetchall()
    seen, kept = set(), []
    for a, b, mention, ptext, stext, aid in rows:
        off = ptext.find(stext)
        f, t = a - off, b - off
        if off < 0 or f < 0 or t > len(stext) or stext[f:t] != mention or (stext, f, t) in seen:
            continue
        seen.add((stext, f, t))
        kept.append({"s": stext, "from": f, "to": t, "article": aid})
    out.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    print(f"{len(rows)} PERSON mentions, {len(kept)} distinct targets -> {out}")
    return 0


def _teacher_file(teacher: Path, fold_no: int, kind: str) -> Path:
    """tsc_teacher.py's output for the fold: teacher_f{k}_{kind}.npy, or with --lora R
    teacher_f{k}_loraR_{kind}.npy."""
    found = sorted(teacher.glob(f"teacher_f{fold_no}_{kind}.npy")) or sorted(
        teacher.glob(f"teacher_f{fold_no}_lora*_{kind}.npy"))
    if not found:
        raise SystemExit(f"no teacher_f{fold_no}_*{kind}.npy in {teacher}")
    return found[0]


def _report(name: str, y: np.ndarray, L: np.ndarray, fused_at) -> None:
    """Macro F1 of log-probabilities L alone and of `fused_at(alpha)` at the shipped alpha
    range, argmax labels (no offsets)."""
    out = {"alone": TR.macro_f1(y, L.argmax(1))[0]}
    out.update({f"fused {a}": TR.macro_f1(y, fused_at(a).argmax(1))[0] for a in (0.4, 0.45, 0.5)})
    print(name, {k: round(v, 4) for k, v in out.items()}, flush=True)


def train_soft(Z, tok_ids, ranges, Q, ycls, w_row, tr, n_gold, seed, epochs=RD.EPOCHS):
    """train_sentiment_reader.train_reader with soft targets Q (rows of train `tr`)."""
    rng = np.random.default_rng(seed)
    net = RD.Net(Z.shape[1], rng, RD.EMA)
    gold = tr[tr < n_gold]
    cw = len(gold) / (3 * np.maximum(np.bincount(ycls[gold], minlength=3), 1)).astype(F32)
    lens = np.array([len(tok_ids[i]) for i in tr])
    for _ in range(epochs):
        perm = rng.permutation(len(tr))
        batches = []
        for c in range(0, len(perm), RD.BATCH * 20):
            ch = perm[c:c + RD.BATCH * 20]
            ch = ch[np.argsort(lens[ch], kind="stable")]
            batches += [ch[i:i + RD.BATCH] for i in range(0, len(ch), RD.BATCH)]
        rng.shuffle(batches)
        for bt in batches:
            idx = tr[bt]
            logits, cache = net.forward(Z, *RD.batch_arrays(idx, tok_ids, ranges, len(Z) - 1), rng=rng)
            P = np.exp(S.log_softmax(logits))
            wts = cw[ycls[idx]] * w_row[idx]
            net.step(net.backward(((P - Q[idx]) * (wts / wts.sum())[:, None]).astype(F32), cache))
    return net.averaged()


def compare(fold_no: int, teacher: Path, targets_file: Path, weights: list[float]) -> int:
    from newsetl.transforms.ner import load_vectors

    meta = S.TargetModel.load(TR.DEFAULT_OUT).meta
    data = TR.load_jsonl(TR.DEFAULT_TRAIN)
    y = np.array([d[3] for d in data])
    fold = TR.fold_ids(data, 0)
    rows = TR.featurize(data, tuple(meta.get("templates", ())))
    P_lr = TR.oof_probs(rows, y, fold, float(meta["l2"]), int(meta.get("min_count", TR.MIN_COUNT)))
    unl = [json.loads(line) for line in open(targets_file, encoding="utf-8")]
    Q_u = np.load(_teacher_file(teacher, fold_no, "unlabelled")).astype(F32)
    vectors = load_vectors(RD.VECTORS["module"])
    alld = data + [(r["s"], r["from"], r["to"], -1, -1, "unlabelled") for r in unl]
    Z, tok_ids, ranges = RD.prepare(alld, vectors)
    n = len(data)
    Q = np.zeros((len(alld), 3), F32)
    Q[np.arange(n), y] = 1
    Q[n:] = Q_u
    ycls = np.concatenate([y, Q_u.argmax(1)])
    tr_gold, te = np.where(fold != fold_no)[0], np.where(fold == fold_no)[0]
    L_lr = np.log(P_lr[te] + 1e-12)
    sents, spans = [d[0] for d in data], [(d[1], d[2]) for d in data]

    def score(name, L):
        _report(name, y[te], L, lambda a: S.fuse(L_lr, L, a))

    score("regression", L_lr)
    T = np.load(_teacher_file(teacher, fold_no, "holdout"))
    score("teacher (as the reader)", np.log(T + 1e-12))
    for lam in weights:
        w = np.ones(len(alld), F32)
        w[n:] = lam
        tr = tr_gold if lam == 0 else np.concatenate([tr_gold, np.arange(n, len(alld))])
        params = train_soft(Z, tok_ids, ranges, Q, ycls, w, tr, n, RD.init_seed(0, fold_no))
        L = S.VectorReader(params, vectors).logprobs([sents[i] for i in te], [spans[i] for i in te])
        score(f"reader, unlabelled weight {lam}", L)
    return 0


def compare_lr(fold_no: int, teacher: Path, targets_file: Path, weights: list[float]) -> int:
    """The regression (the shipped recipe: templates, L2, NB weighting) trained on the fold's
    training side plus the teacher-labelled unlabelled targets, each weighted `lam`, with
    hard (argmax) or soft teacher labels; scored alone and fused with the reader trained on
    the gold training side only."""
    from newsetl.transforms.ner import load_vectors

    meta = S.TargetModel.load(TR.DEFAULT_OUT).meta
    rec = TR.recipe(meta)
    templates = tuple(meta.get("templates", ()))
    data = TR.load_jsonl(TR.DEFAULT_TRAIN)
    y = np.array([d[3] for d in data])
    fold = TR.fold_ids(data, 0)
    tr, te = np.where(fold != fold_no)[0], np.where(fold == fold_no)[0]
    unl = [json.loads(line) for line in open(targets_file, encoding="utf-8")]
    Q_u = np.load(_teacher_file(teacher, fold_no, "unlabelled")).astype(np.float64)
    print("teacher labels of the unlabelled targets (neg, neu, pos):",
          np.bincount(Q_u.argmax(1), minlength=3).tolist(), flush=True)
    rows = TR.featurize(data, templates)
    rows_u = TR.featurize([(r["s"], r["from"], r["to"]) for r in unl], templates)
    sents, spans = [d[0] for d in data], [(d[1], d[2]) for d in data]
    cache = teacher / f"reader_f{fold_no}_holdout.npy"
    if cache.exists():
        L_rd = np.load(cache)
    else:
        vectors = load_vectors(RD.VECTORS["module"])
        Z, tok_ids, ranges = RD.prepare(data, vectors)
        L_rd = S.VectorReader(RD.train_reader(Z, tok_ids, ranges, y, tr, RD.init_seed(0, fold_no)),
                              vectors).logprobs([sents[i] for i in te], [spans[i] for i in te])
        np.save(cache, L_rd)

    def score(name, L):
        _report(name, y[te], L, lambda a: S.fuse(L, L_rd, a))

    score("reader alone (as the regression)", L_rd)
    T = np.load(_teacher_file(teacher, fold_no, "holdout"))
    score("teacher (as the regression)", np.log(T + 1e-12))
    for lam in weights:
        for soft in ((False, True) if lam else (False,)):
            fit_rows = [rows[i] for i in tr] + (rows_u if lam else [])
            yy = np.concatenate([y[tr], Q_u.argmax(1)]) if lam else y[tr]
            w = np.concatenate([np.ones(len(tr)), np.full(len(rows_u), lam)]) if lam else None
            Y = None
            if soft:
                Y = np.concatenate([np.eye(3)[y[tr]], Q_u])
            P = TR.fit_predict(fit_rows, yy, [rows[i] for i in te], **rec, row_weight=w, Y=Y)
            score(f"regression, unlabelled weight {lam}{' soft' if soft else ''}", np.log(P + 1e-12))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("targets")
    t.add_argument("--warehouse", type=Path, required=True)
    t.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("compare")
    c.add_argument("--fold", type=int, default=0)
    c.add_argument("--teacher", type=Path, required=True, help="tsc_teacher.py's --out folder")
    c.add_argument("--targets", type=Path, required=True)
    c.add_argument("--weights", type=float, nargs="+", default=[0.0, 1.0])
    c2 = sub.add_parser("compare-lr")
    c2.add_argument("--fold", type=int, default=0)
    c2.add_argument("--teacher", type=Path, required=True, help="tsc_teacher.py's --out folder")
    c2.add_argument("--targets", type=Path, required=True)
    c2.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    args = ap.parse_args()
    if args.cmd == "targets":
        return targets(args.warehouse, args.out)
    if args.cmd == "compare-lr":
        return compare_lr(args.fold, args.teacher, args.targets, args.weights)
    return compare(args.fold, args.teacher, args.targets, args.weights)


if __name__ == "__main__":
    raise SystemExit(main())
