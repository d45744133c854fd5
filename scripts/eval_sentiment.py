"""Evaluate target-dependent sentiment on NewsMTSC dev (macro F1 over neg/neu/pos).

    .venv/bin/python scripts/eval_sentiment.py            # print the table
    .venv/bin/python scripts/eval_sentiment.py --write    # also update docs/benchmarks.md

Compares the VADER sentence baseline (the sentence compound with VADER's +-0.05 band,
the same label for every target in a sentence) with `transforms.sentiment.target_scores`
on dev-rw (primary) and dev-mt (secondary, only multi-target sentences), and measures
targets/s of `target_scores` on one core (model already loaded). Exits non-zero when our
dev-rw macro F1 falls below FLOOR.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from newsetl.settings import Settings  # noqa: E402
from newsetl.transforms import sentiment as S  # noqa: E402

MODEL = S.load_target_model(Settings.from_env().model_paths[1])
from _report import BENCHMARKS as BENCH, replace_section  # noqa: E402
from train_sentiment import load_jsonl, macro_f1  # noqa: E402

# Quality gate on dev-rw macro F1. The shipped model scores 0.697 (docs/benchmarks.md);
# the floor sits a little under it so honest retraining noise passes but a regression does
# not. Do not lower it silently: say why in the commit message.
FLOOR = 0.65
DATA = ROOT.parent / "shared" / "data" / "sentiment-newsmtsc"
LABEL_IX = {lab: i for i, lab in enumerate(S.LABELS)}


def vader_labels(data) -> np.ndarray:
    scores = S.sentence_scores([d[0] for d in data])
    return np.array([0 if c <= S.VADER_NEG else 2 if c >= S.VADER_POS else 1 for c in scores])


def ours(data) -> tuple[np.ndarray, float]:
    sents = [d[0] for d in data]
    spans = [(d[1], d[2]) for d in data]
    S.target_scores(sents[:5], spans[:5], MODEL)  # load the model outside the timing
    # CPU time of this process (time.process_time), best of 3: the build machine is
    # shared, so wall time would measure the neighbours. Cold = VADER computed here;
    # warm = sentence compounds already cached by sentence_scores, as in the pipeline.
    best = float("inf")
    for _ in range(3):
        S._COMPOUND_CACHE.clear()
        t = time.process_time()
        out = S.target_scores(sents, spans, MODEL)
        best = min(best, time.process_time() - t)
    S.sentence_scores(sents)
    warm = float("inf")
    for _ in range(3):
        t = time.process_time()
        S.target_scores(sents, spans, MODEL)
        warm = min(warm, time.process_time() - t)
    S._COMPOUND_CACHE.clear()
    return np.array([LABEL_IX[lab] for _, lab in out]), (len(data) / best, len(data) / warm)


def row(name: str, y: np.ndarray, p: np.ndarray) -> str:
    f, fs = macro_f1(y, p)
    acc = float(np.mean(y == p))
    return (f"| {name} | {f:.3f} | {acc:.3f} | {fs[0]:.3f} | {fs[1]:.3f} | {fs[2]:.3f} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--write", action="store_true", help=f"update {BENCH.relative_to(ROOT)}")
    args = ap.parse_args(argv)

    lines = ["| split / model | macro F1 | accuracy | F1 neg | F1 neu | F1 pos |",
             "| --- | --- | --- | --- | --- | --- |"]
    f_rw = None
    speed = None
    for split in ("dev-rw", "dev-mt"):
        path = args.data / f"{split}.jsonl"
        if not path.exists():
            print(f"missing {path}", file=sys.stderr)
            return 2
        data = load_jsonl(path)
        y = np.array([d[3] for d in data])
        p_ours, tps = ours(data)
        lines.append(row(f"{split} ({len(y)} targets): VADER sentence", y, vader_labels(data)))
        lines.append(row(f"{split} ({len(y)} targets): target_scores", y, p_ours))
        if split == "dev-rw":
            f_rw = macro_f1(y, p_ours)[0]
            speed = tps
    meta = MODEL.meta
    table = "\n".join(lines)
    summary = (f"target_scores speed (one core, CPU time, dev-rw, model loaded): "
               f"{speed[0]:,.0f} targets/s cold, {speed[1]:,.0f} targets/s with the sentence "
               f"compounds already computed by sentence_scores (the pipeline's order). "
               f"Model: {meta.get('kind')}; 5-fold CV macro F1 on train "
               f"{meta.get('cv_macro_f1')}. Floor (dev-rw macro F1): {FLOOR}.")
    print(table)
    print(summary)

    if args.write:
        cmd = ".venv/bin/python scripts/eval_sentiment.py --write"
        section = ("## Sentiment toward entities (NewsMTSC dev)\n\n"
                   f"Command: `{cmd}` (data: `../shared/data/sentiment-newsmtsc/`, "
                   f"train with `.venv/bin/python scripts/train_sentiment.py`).\n\n"
                   f"{table}\n\n{summary}\n"
                   f"Published SOTA for reference (paper, holdout test-rw): GRU-TSC (RoBERTa) "
                   f"macro F1 0.831.\n\n"
                   f"Notes: trained on NewsMTSC train only; L2 strength and the per-class "
                   f"offsets are picked by 5-fold CV on train. Feature templates were compared "
                   f"on one train fold and on dev (model selection only), so dev is slightly "
                   f"optimistic; the holdout test split was never used. Labels for every "
                   f"target of a sentence come from one model call; the VADER baseline gives "
                   f"all targets of a sentence the same label.")
        replace_section("eval:sentiment", section)
        print(f"wrote {BENCH}")

    if f_rw is None or f_rw < FLOOR:
        print(f"FAIL: dev-rw macro F1 {f_rw} below floor {FLOOR}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
