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

    .venv/bin/python scripts/tsc_transformer_cv.py --runs /tmp/mini/lora
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from newsetl.settings import resolve_model  # noqa: E402
from newsetl.transforms.tsc_transformer import TransformerTargetModel  # noqa: E402
from train_sentiment import FOLDS, fold_ids, load_jsonl, macro_f1  # noqa: E402

CV_JSON = ROOT / "docs" / "sentiment_transformer_cv.json"
DATA = ROOT.parent / "shared" / "data" / "sentiment-newsmtsc" / "train.jsonl"
FOLD_SEED = 0  # tsc_teacher.py's folds: train_sentiment.py's split with fold seed 0


def fold_model(adapter: Path) -> TransformerTargetModel:
    """The shipped tier's model.json with a fold's adapter."""
    shipped = Path(resolve_model("newsetl-tsc-minilm"))
    with tempfile.TemporaryDirectory() as tmp:
        meta = json.loads((shipped / "model.json").read_text(encoding="utf-8"))
        meta["adapter"] = "adapter.npz"
        (Path(tmp) / "model.json").write_text(json.dumps(meta), encoding="utf-8")
        shutil.copy(adapter, Path(tmp) / "adapter.npz")
        return TransformerTargetModel.load(Path(tmp))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, required=True, help="tsc_teacher.py's --out folder")
    ap.add_argument("--train", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=CV_JSON)
    args = ap.parse_args(argv)
    data = load_jsonl(args.train)
    y = np.array([d[3] for d in data])
    fold = fold_ids(data, FOLD_SEED, FOLDS)
    labels = np.full(len(data), -1)
    per_fold = []
    for k in range(FOLDS):
        idx = np.where(fold == k)[0]
        adapter = args.runs / f"adapter_f{k}.npz"
        probs = args.runs / f"teacher_f{k}_lora8_holdout.npy"
        if adapter.exists():
            model = fold_model(adapter)
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
        raise SystemExit(f"no fold results in {args.runs}")
    done = labels >= 0
    rec = {"command": "python scripts/tsc_transformer_cv.py --runs <tsc_teacher.py --out>",
           "recipe": "tsc_teacher.py --lora 8 --lr 5e-4 --epochs 3 (fixed before the runs)",
           "folds": FOLDS, "fold_seed": FOLD_SEED, "n_targets": len(data),
           "folds_run": [p["fold"] for p in per_fold], "per_fold": per_fold,
           "macro_f1_pooled": round(float(macro_f1(y[done], labels[done])[0]), 4),
           "labels": "".join(str(int(v)) if v >= 0 else "." for v in labels)}
    args.out.write_text(json.dumps(rec, indent=1) + "\n", encoding="utf-8")
    print(f"pooled over folds {rec['folds_run']}: {rec['macro_f1_pooled']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
