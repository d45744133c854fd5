"""Where an enrichment worker's CPU goes: the steps of `process.enrich` beside bare NER.

`make bench` compares the whole command with bare spaCy NER (scripts/bench.py). This
script splits the worker's side of that gap, in one process and one thread, on the same
corpus: the pipeline's own `process.enrich` over the batch's shards (as `newsetl run`
prepares and shards it: batches, `fanout.SHARDS_PER_WORKER` shards per worker), each step
timed by wrapping the shipped function it calls (CPU seconds, `time.process_time`), and
next to it bare `nlp.pipe` over the same paragraph texts with the same loaded model (the
bench floor's work, in this process). A fresh
subprocess measures what one worker spends before its first shard (imports and the
models, `fanout.load_models`). Each shard runs enrich, then the bare NER on its texts; the
round with the fastest enrich is reported.

    python scripts/bench_steps.py --shared ../shared/data --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from _report import md_table, replace_section  # noqa: E402

SECTION = "bench:steps"

# (module, function, row name): the calls `process.enrich` makes, looked up at call time.
STEPS = (
    ("newsetl.transforms.ner", "recognize_articles", "NER (recognize_articles: the model and its post-processing)"),
    ("newsetl.transforms.ner", "_run", "of which the model (`nlp.pipe`, the spans cleaned)"),
    ("newsetl.process", "_target_scores_memo", "target sentiment (target_scores: features, regression, reader)"),
    ("newsetl.transforms.sentiment", "sentence_scores", "sentence sentiment (VADER)"),
    ("newsetl.process", "fill_languages", "language of articles without one (py3langid)"),
    ("newsetl.transforms.entities", "resolve_mentions", "entity resolution (resolve_mentions)"),
    ("newsetl.transforms.quotes", "extract_quotes", "quotes (extract_quotes)"),
    ("newsetl.transforms.sentences", "split_sentences", "sentence split"),
    ("newsetl.transforms.sentiment", "tone_counts", "tone (tone_counts)"),
)

STARTUP_CODE = """
import os, resource, sys, time
w0 = time.perf_counter()
sys.path.insert(0, {root!r})
from newsetl.fanout import load_models
from newsetl.settings import Settings
load_models(Settings.from_env(warehouse={wh!r}).model_paths)
import newsetl.process, prefect.task_engine  # what a worker imports for its first task
r = resource.getrusage(resource.RUSAGE_SELF)
print(r.ru_utime + r.ru_stime, time.perf_counter() - w0)
"""


@contextmanager
def timed_steps(acc: dict[str, float], calls: dict[str, int]):
    """Within the block, each function of STEPS adds its CPU seconds to acc[row] and its
    calls to calls[row]; the modules get their own functions back afterwards."""
    import importlib

    saved = []
    for mod_name, fn_name, row in STEPS:
        mod = importlib.import_module(mod_name)
        fn = getattr(mod, fn_name)
        saved.append((mod, fn_name, fn))

        def timed(*a, _fn=fn, _row=row, **k):
            t = time.process_time()
            try:
                return _fn(*a, **k)
            finally:
                acc[_row] += time.process_time() - t
                calls[_row] += 1

        setattr(mod, fn_name, timed)
    try:
        yield
    finally:
        for mod, fn_name, fn in saved:
            setattr(mod, fn_name, fn)


def worker_startup(warehouse: Path) -> tuple[float, float]:
    code = STARTUP_CODE.format(root=str(ROOT), wh=str(warehouse))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    cpu, wall = out.stdout.split()[-2:]
    return float(cpu), float(wall)


def measure(corpus: Path, shards: int | None, rounds: int, workdir: Path) -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import polars as pl

    from newsetl import process
    from newsetl.fanout import SHARDS_PER_WORKER
    from newsetl.settings import Settings
    from newsetl.sources.dispatch import iter_sources, run_batches
    from newsetl.transforms import sentiment
    from newsetl.transforms.ner import load_pipeline

    settings = Settings.from_env(warehouse=str(workdir / "wh"))
    models = settings.model_paths
    shards = shards or settings.workers * SHARDS_PER_WORKER
    # as `newsetl run` cuts a fresh corpus with a process pool of settings.workers: its
    # batches (run_batches), each prepared and split into `shards` shards of at least
    # min_shard_words
    parts, n_articles = [], 0
    for docs, _rejects in run_batches(iter_sources([str(corpus)], settings), settings.batch_size,
                                      settings.batch_chars or None):
        prep = process.prepare(docs)
        n_articles += prep.articles.height
        parts += process.shard(prep, shards, settings.min_shard_words)
    texts = [process.ner_texts(a, p).to_list() for a, p in parts]
    arts, paras = parts[0]
    head = arts.head(3)["article_id"].to_list()
    process.enrich(arts.filter(pl.col("article_id").is_in(head)), paras.filter(pl.col("article_id").is_in(head)),
                   models)
    nlp = load_pipeline(models[0])  # the pipeline's own load: only `ner` (and what it listens to) runs
    runs = []
    for _ in range(rounds):
        acc: dict[str, float] = defaultdict(float)
        calls: dict[str, int] = defaultdict(int)
        sentiment._COMPOUND_CACHE.clear()  # per-process memos: every round starts cold
        process._TSC_MEMO.clear()
        total = floor = 0.0
        ents = 0
        with timed_steps(acc, calls):
            for (arts, paras), shard_texts in zip(parts, texts):  # shard by shard, so both sides
                t = time.process_time()                            # see the machine in the same state
                process.enrich(arts, paras, models)
                total += time.process_time() - t
                t = time.process_time()
                ents += sum(len(doc.ents) for doc in nlp.pipe(shard_texts, batch_size=64))
                floor += time.process_time() - t
        runs.append({"enrich": total, "floor": floor, "steps": dict(acc), "calls": dict(calls), "entities": ents})
    best = min(runs, key=lambda r: r["enrich"])
    cpu, wall = worker_startup(workdir / "wh")
    return {"articles": n_articles, "paragraphs": sum(map(len, texts)), "shards": len(parts),
            "rounds": runs, "best": best, "startup_cpu": cpu, "startup_wall": wall,
            "load_avg": os.getloadavg()[0]}


def render(rep: dict, corpus: Path, started: str, command: str) -> str:
    best = rep["best"]
    total, floor = best["enrich"], best["floor"]
    rows = []
    for _mod, _fn, row in STEPS:
        v = best["steps"].get(row, 0.0)
        rows.append([row if row != STEPS[1][2] else "&nbsp;&nbsp;" + row, f"{v:.1f}", f"{v / total:.1%}"])
    other = total - sum(best["steps"].values())
    other += best["steps"].get(STEPS[1][2], 0.0)  # nested in the NER row
    rows.append(["everything else in enrich (Polars joins, frames, conform)", f"{other:.1f}", f"{other / total:.1%}"])
    rows.append(["**enrich, all steps**", f"**{total:.1f}**", "100%"])
    ner = best["steps"].get(STEPS[0][2], 0.0)
    model = best["steps"].get(STEPS[1][2], 0.0)
    lines = [
        "## Where a worker's CPU goes (`scripts/bench_steps.py`)",
        "",
        f"Command: `{command}`  ",
        f"Run: {started} (UTC); corpus `{corpus.name}`: {rep['articles']:,} articles, {rep['paragraphs']:,} "
        f"paragraphs the NER reads, in {rep['shards']} shards; one process, one thread; "
        f"{len(rep['rounds'])} rounds (each shard: enrich, then bare NER on its texts), the fastest enrich "
        f"shown; load average at the end {rep['load_avg']:.1f}.",
        "",
        md_table(["step of `process.enrich`", "CPU s", "share"], rows),
        "",
        f"The steps after NER add {total - ner:.1f} s of CPU to the model's {model:.1f} s in the same calls: "
        f"**{(total - ner) / model:.1%}** of the model's own time. Bare `nlp.pipe` over the same "
        f"{rep['paragraphs']:,} texts with the same loaded model, run after each shard's enrich: {floor:.1f} s "
        f"CPU ({best['entities']:,} entities); enrich / bare NER {total / floor:.2f}. CPU seconds of identical "
        f"work can drift by 10-30% within minutes on a shared machine, so the first ratio, whose two sides "
        f"share every call, is the steadier one.",
        "",
        f"A worker's start-up before its first shard (fresh process: imports, `fanout.load_models`, the task "
        f"engine): {rep['startup_cpu']:.1f} s CPU, {rep['startup_wall']:.1f} s wall. The bench floor's spaCy "
        f"workers fork from a process that already loaded the model and pay none of it; each of the "
        f"pipeline's spawned pool workers pays it once per run.",
        "",
        "All rounds (enrich / bare NER, CPU s): " + "; ".join(
            f"{r['enrich']:.1f} / {r['floor']:.1f}" for r in rep["rounds"]) + ".",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"), help="shared data folder")
    ap.add_argument("--corpus", help="JSONL corpus (default <shared>/bbc-news/bbc-news.jsonl)")
    ap.add_argument("--shards", type=int, default=None,
                    help="shards per batch (default: the flow's, SHARDS_PER_WORKER per configured worker)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--write", help="markdown file whose bench:steps section is replaced")
    ap.add_argument("--json", help="also write the raw report here")
    args = ap.parse_args(argv)
    if args.rounds < 1 or (args.shards is not None and args.shards < 1):
        ap.error("--rounds and --shards must be at least 1")
    corpus = Path(args.corpus or Path(args.shared) / "bbc-news" / "bbc-news.jsonl")
    if not corpus.exists():
        print(f"bench_steps: no corpus at {corpus}", file=sys.stderr)
        return 2
    import tempfile

    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="newsetl-bench-steps-") as tmp:
        rep = measure(corpus, args.shards, args.rounds, Path(tmp))
    command = "python scripts/bench_steps.py --shared ../shared/data --write docs/benchmarks.md"
    text = render(rep, corpus, started, command)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(rep, indent=1), encoding="utf-8")
    if args.write:
        replace_section(SECTION, text, Path(args.write))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
