"""Throughput of the enrichment step, in words per CPU second of one core.

    .venv/bin/python scripts/eval_throughput.py [--data ../shared/data] [--articles 400] [--write]

Runs `newsetl.process.prepare` then `newsetl.process.enrich` (NER, entity resolution,
quotes, sentence and target sentiment, tone) in this one process, one BLAS thread, on the
first N BBC articles, and reports words of body text per CPU second, per stage. CPU time,
not wall time, so other jobs on a shared machine do not distort it. The NER model alone
(same paragraphs, `nlp.pipe`) is measured in the same run as the reference.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

# Issue 3 asks the enrichment step to stay at or above this many words/s per core.
FLOOR_WORDS_PER_S = 5000


def cpu() -> float:
    return time.process_time()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--articles", type=int, default=400)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    import itertools

    import polars as pl

    from newsetl import process
    from newsetl.records import RawDoc
    from newsetl.settings import Settings
    from newsetl.sources.files import iter_jsonl
    from newsetl.transforms.ner import load_pipeline

    src = args.data / "bbc-news" / "bbc-news.jsonl"
    if not src.exists():
        print(f"no data at {src}", file=sys.stderr)
        return 2
    docs = [d for d in itertools.islice(iter_jsonl(src, "bbc"), args.articles) if isinstance(d, RawDoc)]
    settings = Settings.from_env()
    models = settings.model_paths
    nlp = load_pipeline(models[0])
    process.enrich(*_warm(process, docs), models)  # loads VADER, the sentiment model, language id

    t = cpu()
    prep = process.prepare(docs, {})
    t_prep = cpu() - t
    content = prep.paragraphs.filter(pl.col("kind") != "boilerplate")
    words = int(content["text"].str.split(" ").list.len().sum())

    t = cpu()
    for _ in nlp.pipe(content["text"].to_list(), batch_size=64):
        pass
    t_ner_only = cpu() - t

    t = cpu()
    process.enrich(prep.articles, prep.paragraphs, models)
    t_enrich = cpu() - t

    rows = [
        ("NER model alone (`nlp.pipe`, reference)", t_ner_only),
        ("prepare (paragraphs, ids, boilerplate)", t_prep),
        ("enrich (NER + entities + quotes + sentiment + tone)", t_enrich),
        ("prepare + enrich", t_prep + t_enrich),
    ]
    lines = [
        "## Enrichment throughput",
        "",
        f"Command: `.venv/bin/python scripts/eval_throughput.py --articles {args.articles} --write`  ",
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; first {len(docs)} BBC articles, "
        f"{words:,} words of body/heading text; model `{settings.spacy_model}`; one process, one thread; CPU seconds.",
        "",
        "| step | CPU s | words/s per core |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {sec:.2f} | {words / sec:,.0f} |" for name, sec in rows]
    rate = words / (t_prep + t_enrich)
    lines += ["", f"Enrichment overhead beside NER alone: {t_enrich / t_ner_only:.2f}x. "
                  f"Floor: {FLOOR_WORDS_PER_S:,} words/s per core for prepare + enrich: "
                  f"{'PASS' if rate >= FLOOR_WORDS_PER_S else 'FAIL'}."]
    report = "\n".join(lines)
    print(report)
    if args.write:
        from _report import replace_section

        replace_section("eval:throughput", report)
    return 0 if rate >= FLOOR_WORDS_PER_S else 1


def _warm(process, docs):
    prep = process.prepare(docs[:3], {})
    return prep.articles, prep.paragraphs


if __name__ == "__main__":
    sys.exit(main())
