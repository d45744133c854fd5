"""Record the train CV of the transformer sentiment tier (newsetl-tsc-minilm) for
scripts/eval_sentiment.py: out-of-fold labels of NewsMTSC train, fold by fold.

Training runs in a torch venv of its own (scripts/experiments/tsc_teacher.py, about 30
minutes a fold on two cores), so this script only scores what those runs left in --runs:
- `adapter_f{k}.npz` (written by `tsc_teacher.py --fold k --save-adapter`): the fold's
  held-out articles are scored here through the shipped code (transforms/tsc_transformer.py,
  numpy), as the pipeline would score them;
- else `teacher_f{k}_lora8_holdout.npy`: the held-out probabilities torch computed at the end
  of the fold's run (whole sentences; the shipped code keeps 200 characters each side of the
  target, which moved fold 1's macro F1 by -0.0002 in the same run).
Folds with neither are left out, and the record says which folds it holds.

Routed (newsetl-tsc-minilm-routed: the default model first, the tier only for the targets it
is least sure of). The share of targets the tier sees is a cost budget (`--route-share`,
0.25: a quarter of the tier's cost), not a number tuned for F1: F1 rises with the share (the
record's curve), so there is no optimum to pick, only a trade-off. For the CV rows, each held-out
fold's threshold on the default model's top probability is the share's quantile over the other
folds' out-of-fold probabilities (fold seed 0: the regression's and the reader's out-of-fold
predictions, fused by each fold's alpha and offsets as scripts/train_sentiment_reader.py
chooses them, about 4 minutes on one core). The shipped threshold is the quantile over all of
train; it is written into newsetl/models/tsc_minilm_routed/model.json.

    .venv/bin/python scripts/tsc_transformer_cv.py --runs /tmp/mini/lora

After the default model is retrained, `--from-record` recomputes the routed rows and the
shipped threshold from the tier's out-of-fold labels already in the record (the tier did not
change; its torch runs need not be repeated):

    .venv/bin/python scripts/tsc_transformer_cv.py --from-record
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import train_sentiment as TR  # noqa: E402
import train_sentiment_reader as RD  # noqa: E402
from newsetl.settings import resolve_model  # noqa: E402
from newsetl.transforms import sentiment as S  # noqa: E402
from newsetl.transforms.tsc_transformer import TransformerTargetModel  # noqa: E402
from train_sentiment import FOLDS, fold_ids, load_jsonl, macro_f1  # noqa: E402

CV_JSON = ROOT / "docs" / "sentiment_transformer_cv.json"
DATA = ROOT.parent / "shared" / "data" / "sentiment-newsmtsc" / "train.jsonl"
FOLD_SEED = 0  # tsc_teacher.py's folds: train_sentiment.py's split with fold seed 0
ROUTE_SHARE = 0.25  # the tier's share of targets: a cost budget (F1 rises with it; no optimum)
CURVE_SHARES = (0.05, 0.1, 0.25, 0.5)
ROUTED_MODEL = Path(resolve_model("newsetl-tsc-minilm-routed"))


def default_oof(data, y: np.ndarray, fold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold (probabilities, labels) of the shipped default model (regression + reader)
    for one fold seed, each fold fused by the alpha and offsets chosen on the other folds,
    as scripts/train_sentiment_reader.py computes its CV."""
    from newsetl.transforms.ner import load_vectors

    meta = S.TargetModel.load(Path(resolve_model("newsetl-tsc"))).meta
    vectors = load_vectors(RD.VECTORS["module"])
    Z, tok_ids, ranges = RD.prepare(data, vectors)
    P_lr, L_rd, labels, alphas = RD.oof_fused(
        TR.featurize(data, tuple(meta.get("templates", ()))), Z, tok_ids, ranges, y, fold, FOLD_SEED,
        meta, vectors, [d[0] for d in data], [(d[1], d[2]) for d in data])
    P = np.zeros_like(P_lr)
    for k, a in enumerate(alphas):
        P[fold == k] = S.softmax(S.fuse(np.log(P_lr[fold == k] + 1e-12), L_rd[fold == k], a))
    return P, labels


def routed_cv(y, fold, tier, P, default_labels, share: float) -> dict:
    """Routed labels per held-out fold whose tier labels exist: targets whose default top
    probability is below the share's quantile over the other folds take the tier's label."""
    conf = P.max(axis=1)
    labels = np.full(len(y), -1)
    per_fold = []
    for k in sorted({int(f) for f in fold[tier >= 0]}):
        te = fold == k
        below = float(np.quantile(conf[~te], share))
        go = te & (conf < below)
        labels[te] = default_labels[te]
        labels[go] = tier[go]
        per_fold.append({"fold": k, "route_below": round(below, 4), "routed": round(float(go.sum() / te.sum()), 4),
                         "macro_f1": round(float(macro_f1(y[te], labels[te])[0]), 4),
                         "default_macro_f1": round(float(macro_f1(y[te], default_labels[te])[0]), 4)})
    done = labels >= 0
    return {"share": share, "per_fold": per_fold, "labels": labels,
            "macro_f1_pooled": round(float(macro_f1(y[done], labels[done])[0]), 4),
            "default_macro_f1_pooled": round(float(macro_f1(y[done], default_labels[done])[0]), 4),
            "routed": round(float(np.mean([f["routed"] for f in per_fold])), 4)}


def write_route_below(value: float, folder: Path = ROUTED_MODEL) -> None:
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    meta["route_below"] = value
    (folder / "model.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def tier_record(runs: Path, data, y: np.ndarray, fold: np.ndarray) -> tuple[np.ndarray, dict]:
    """The tier's out-of-fold labels from the runs tsc_teacher.py left in `runs`, and
    the record of them (routed rows added by main)."""
    labels = np.full(len(data), -1)
    per_fold = []
    for k in range(FOLDS):
        idx = np.where(fold == k)[0]
        adapter = runs / f"adapter_f{k}.npz"
        probs = runs / f"teacher_f{k}_lora8_holdout.npy"
        if adapter.exists():
            model = TransformerTargetModel.load(Path(resolve_model("newsetl-tsc-minilm")), adapter=adapter)
            lp = model.logprobs([data[j][0] for j in idx], [(data[j][1], data[j][2]) for j in idx])
            source = f"{adapter.name}, scored by transforms/tsc_transformer.py"
            sha = hashlib.sha256(adapter.read_bytes()).hexdigest()
        elif probs.exists():
            lp = np.log(np.load(probs) + 1e-12)
            if len(lp) != len(idx):
                raise SystemExit(f"{probs} holds {len(lp)} rows, fold {k} has {len(idx)}")
            source, sha = f"{probs.name}, torch at the end of the run", None
        else:
            continue
        labels[idx] = lp.argmax(1)
        f = macro_f1(y[idx], labels[idx])[0]
        per_fold.append({"fold": k, "targets": int(len(idx)), "macro_f1": round(float(f), 4),
                         "source": source, "adapter_sha256": sha})
        print(f"fold {k}: {len(idx)} targets, macro F1 {f:.4f} ({source})", flush=True)
    if not per_fold:
        raise SystemExit(f"no fold results in {runs}")
    done = labels >= 0
    rec = {"command": "python scripts/tsc_transformer_cv.py --runs <tsc_teacher.py --out>",
           "recipe": "tsc_teacher.py --lora 8 --lr 5e-4 --epochs 3 (fixed before the runs)",
           "folds": FOLDS, "fold_seed": FOLD_SEED, "n_targets": len(data),
           "folds_run": [p["fold"] for p in per_fold], "per_fold": per_fold,
           "macro_f1_pooled": round(float(macro_f1(y[done], labels[done])[0]), 4),
           "labels": "".join(str(int(v)) if v >= 0 else "." for v in labels)}
    return labels, rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--runs", type=Path, help="tsc_teacher.py's --out folder")
    src.add_argument("--from-record", action="store_true",
                     help="reuse the tier's out-of-fold labels in --out; redo the routed rows only")
    ap.add_argument("--train", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=CV_JSON)
    ap.add_argument("--route-share", type=float, default=ROUTE_SHARE,
                    help="share of targets the routed model sends to the tier (a cost budget)")
    args = ap.parse_args(argv)
    data = load_jsonl(args.train)
    y = np.array([d[3] for d in data])
    fold = fold_ids(data, FOLD_SEED, FOLDS)
    if args.from_record:
        rec = json.loads(args.out.read_text(encoding="utf-8"))
        if rec["n_targets"] != len(data) or rec["fold_seed"] != FOLD_SEED:
            raise SystemExit(f"{args.out} is not a record of these {len(data)} targets, fold seed {FOLD_SEED}")
        labels = np.array([-1 if c == "." else int(c) for c in rec["labels"]])
    else:
        labels, rec = tier_record(args.runs, data, y, fold)

    P, default_labels = default_oof(data, y, fold)
    shipped_cv = json.loads(RD.CV_JSON.read_text(encoding="utf-8"))["per_seed"][FOLD_SEED]["labels"]
    if "".join(map(str, default_labels.tolist())) != shipped_cv:
        raise SystemExit(f"the default model's out-of-fold labels differ from {RD.CV_JSON.name} (fold seed "
                         f"{FOLD_SEED}): run scripts/train_sentiment_reader.py first")
    routed = {}
    for share in sorted({*CURVE_SHARES, args.route_share}):
        r = routed_cv(y, fold, labels, P, default_labels, share)
        print(f"routed, share {share}: pooled {r['macro_f1_pooled']} (default {r['default_macro_f1_pooled']}; "
              f"tier share {r['routed']}) per fold {[f['macro_f1'] for f in r['per_fold']]}", flush=True)
        routed[share] = r
    shipped = round(float(np.quantile(P.max(axis=1), args.route_share)), 4)
    main_run = routed[args.route_share]
    rec["routed"] = {
        "model": "newsetl-tsc-minilm-routed", "share": args.route_share, "route_below": shipped,
        "gate": "the default model's top class probability (regression + reader, fused)",
        "per_fold": main_run["per_fold"], "macro_f1_pooled": main_run["macro_f1_pooled"],
        "default_macro_f1_pooled": main_run["default_macro_f1_pooled"],
        "curve": [{k: r[k] for k in ("share", "macro_f1_pooled", "routed")} for r in routed.values()],
        "labels": "".join(str(int(v)) if v >= 0 else "." for v in main_run["labels"])}
    write_route_below(shipped)
    print(f"route_below {shipped} (share {args.route_share} of all train targets) -> {ROUTED_MODEL}/model.json")
    args.out.write_text(json.dumps(rec, indent=1) + "\n", encoding="utf-8")
    print(f"pooled over folds {rec['folds_run']}: {rec['macro_f1_pooled']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
