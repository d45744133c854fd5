"""Evaluate paragraph splitting, sentence splitting and boilerplate classification.

    .venv/bin/python scripts/eval_boilerplate.py [--data ../shared/data] [--write] [--show N]

1. BBC News (2,225 clean articles, no boilerplate at all): share of paragraphs and words
   classified boilerplate / heading; every flagged paragraph is listed for a human.
2. Extraction benchmark gold bodies (hand-cleaned article text, paragraphs = lines):
   share of gold body words lost to boilerplate; flagged lines listed.
3. The seed article (trump-kim-talks.txt): expected kinds per paragraph.
4. Raw HTML pages of the extraction benchmark through the pipeline path
   (extract_html -> blocks -> split_paragraphs -> classify): upstream shingle P/R/F1
   with and without the paragraphs classified boilerplate.
5. Throughput in words/s of split_paragraphs, split_sentences, classify_paragraphs.

With --write the results replace the section between
<!-- eval:boilerplate:start --> and <!-- eval:boilerplate:end --> in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import BENCHMARKS, md_table, replace_section  # noqa: E402
from newsetl.transforms.boilerplate import classify_paragraphs, corpus_evidence  # noqa: E402
from newsetl.transforms.sentences import split_sentences  # noqa: E402
from newsetl.transforms.text import split_paragraphs  # noqa: E402

SECTION = "eval:boilerplate"
START = f"<!-- {SECTION}:start -->"
END = f"<!-- {SECTION}:end -->"

# Seed expectations (paragraph_index -> kind); everything else is body.
SEED_EXPECTED = {2: "boilerplate", 3: "boilerplate", 10: "boilerplate", 13: "heading", 19: "boilerplate"}
SEED_PARAGRAPHS = 20


def _words(expr: pl.Expr) -> pl.Expr:
    return expr.str.count_matches(r"\S+")


def _share_table(classified: pl.DataFrame) -> pl.DataFrame:
    total_p = classified.height
    total_w = classified.select(_words(pl.col("text")).sum()).item()
    return (
        classified.group_by("kind")
        .agg(pl.len().alias("paragraphs"), _words(pl.col("text")).sum().alias("words"))
        .with_columns(
            (pl.col("paragraphs") / total_p * 100).round(3).alias("paragraphs_%"),
            (pl.col("words") / total_w * 100).round(3).alias("words_%"),
        )
        .sort("kind")
    )


def _flagged(classified: pl.DataFrame, kinds: tuple[str, ...]) -> pl.DataFrame:
    return classified.filter(pl.col("kind").is_in(kinds)).select(
        "article_id", "paragraph_index", "kind", "kind_reason", "text"
    )


def _md_table(df: pl.DataFrame) -> str:
    """`md_table` of a DataFrame, cells cut at 110 characters."""
    return md_table(df.columns, df.iter_rows(), max_cell=110)


def eval_bbc(path: Path) -> dict:
    raw = pl.read_ndjson(path)
    arts = raw.select(
        pl.col("id").alias("article_id"), pl.lit("bbc").alias("source"), "title", "text"
    )
    words = arts.select(_words(pl.col("text")).sum()).item()

    t0 = time.perf_counter()
    paras = split_paragraphs(arts)
    t1 = time.perf_counter()
    sents = split_sentences(paras)
    t2 = time.perf_counter()
    classified = classify_paragraphs(paras, arts)
    t3 = time.perf_counter()
    # the evidence alone, to report its size and the most repeated keys
    ev = corpus_evidence(paras, arts)
    top_repeat = (
        ev.filter(pl.col("kind") == "paragraph").sort("article_count", descending=True).head(3)
    )
    return {
        "articles": arts.height,
        "paragraphs": paras.height,
        "sentences": sents.height,
        "words": words,
        "shares": _share_table(classified),
        "flagged": _flagged(classified, ("boilerplate", "heading")),
        "evidence_rows": ev.height,
        "top_repeat": top_repeat,
        "timing": {
            "split_paragraphs": words / (t1 - t0),
            "split_sentences": words / (t2 - t1),
            "classify_paragraphs": words / (t3 - t2),
            "all three": words / (t3 - t0),
        },
    }


def eval_extraction(path: Path) -> dict:
    gold = json.loads((path / "ground-truth.json").read_text(encoding="utf-8"))
    arts = pl.DataFrame(
        {
            "article_id": list(gold),
            "source": [urlparse(v.get("url") or "").netloc.lower() or None for v in gold.values()],
            "title": [None] * len(gold),
            "text": [v["articleBody"] for v in gold.values()],
        },
        schema={"article_id": pl.String, "source": pl.String, "title": pl.String, "text": pl.String},
    )
    paras = split_paragraphs(arts)
    classified = classify_paragraphs(paras, arts)
    return {
        "articles": arts.height,
        "paragraphs": paras.height,
        "shares": _share_table(classified),
        "flagged": _flagged(classified, ("boilerplate", "heading")),
    }


def _load_extraction_eval():
    """scripts/eval_extraction.py (metric + page loader), imported by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_eval_extraction", ROOT / "scripts" / "eval_extraction.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["_eval_extraction"] = mod
    spec.loader.exec_module(mod)
    return mod


def eval_html(path: Path) -> dict | None:
    """Pipeline path on the 121 raw pages: extract_html -> blocks -> split_paragraphs ->
    classify. Upstream shingle P/R/F1 of all paragraphs vs body+heading paragraphs only:
    what classification adds on top of extraction. None if extraction is unavailable."""
    try:
        ev = _load_extraction_eval()
        from newsetl.transforms.html_extract import extract_html
    except Exception as exc:  # another module in progress: report, do not fail
        print(f"(html check skipped: {exc!r})")
        return None
    html, gold, urls = ev.load_pages(path)
    rows = []
    for key, page in html.items():
        ex = extract_html(page, urls.get(key))
        rows.append(
            {
                "article_id": key,
                "source": urlparse(urls.get(key) or "").netloc.lower() or None,
                "title": ex.title,
                "text": ex.text,
                "blocks": [{"text": t, "tag": g} for t, g in ex.blocks] or None,
            }
        )
    arts = pl.DataFrame(
        rows,
        schema={
            "article_id": pl.String,
            "source": pl.String,
            "title": pl.String,
            "text": pl.String,
            "blocks": pl.List(pl.Struct({"text": pl.String, "tag": pl.String})),
        },
    )
    paras = split_paragraphs(arts.select("article_id", "text", "blocks"))
    classified = classify_paragraphs(paras, arts.select("article_id", "source", "title"))

    def joined(df: pl.DataFrame) -> dict[str, str]:
        agg = df.group_by("article_id", maintain_order=True).agg(pl.col("text").str.join("\n\n"))
        return dict(agg.iter_rows())

    before = ev.score(gold, joined(classified))
    after = ev.score(gold, joined(classified.filter(pl.col("kind") != "boilerplate")))
    removed = classified.filter(pl.col("kind") == "boilerplate")
    gold_tokens = {k: set(re.findall(r"\w+", v.lower())) for k, v in gold.items()}
    in_gold = [
        all(tok in gold_tokens.get(aid, set()) for tok in re.findall(r"\w+", t.lower())) and bool(re.search(r"\w", t))
        for aid, t in removed.select("article_id", "text").iter_rows()
    ]
    removed = removed.with_columns(pl.Series("words_in_gold", in_gold)).select(
        "article_id", "paragraph_index", "kind_reason", "words_in_gold", "text"
    )
    return {"before": before, "after": after, "removed": removed, "paragraphs": paras.height}


def eval_seed(path: Path) -> dict:
    arts = pl.DataFrame(
        {"article_id": ["seed"], "source": ["seed"], "title": [None], "text": [path.read_text("utf-8")]},
        schema={"article_id": pl.String, "source": pl.String, "title": pl.String, "text": pl.String},
    )
    classified = classify_paragraphs(split_paragraphs(arts), arts)
    got = classified.select("paragraph_index", "kind", "kind_reason", "text")
    expected = [SEED_EXPECTED.get(i, "body") for i in range(SEED_PARAGRAPHS)]
    ok = got.height == SEED_PARAGRAPHS and got["kind"].to_list() == expected
    return {"ok": ok, "table": got.filter(pl.col("kind") != "body")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    ap.add_argument("--show", type=int, default=60, help="max flagged rows listed per corpus")
    ap.add_argument("--no-html", action="store_true", help="skip the raw-HTML pipeline check")
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    data = Path(args.data)

    pl.Config.set_tbl_rows(args.show)
    pl.Config.set_fmt_str_lengths(100)
    pl.Config.set_tbl_width_chars(200)

    bbc = eval_bbc(data / "bbc-news" / "bbc-news.jsonl")
    ext = eval_extraction(data / "extraction")
    seed = eval_seed(data / "seed" / "trump-kim-talks.txt")
    html = None if args.no_html else eval_html(data / "extraction")

    print(f"== BBC: {bbc['articles']} articles, {bbc['paragraphs']} paragraphs, {bbc['words']} words")
    print(bbc["shares"])
    print(f"flagged ({bbc['flagged'].height}):")
    print(bbc["flagged"].head(args.show))
    print("most repeated paragraph keys:", bbc["top_repeat"].rows())
    print(f"\n== Extraction gold bodies: {ext['articles']} articles, {ext['paragraphs']} paragraphs")
    print(ext["shares"])
    print(f"flagged ({ext['flagged'].height}):")
    print(ext["flagged"].head(args.show))
    if html is not None:
        b_, a_ = html["before"], html["after"]
        print(f"\n== Raw HTML pages -> extract_html -> classify ({html['paragraphs']} paragraphs)")
        print(f"  all paragraphs:        P {b_.precision:.4f}  R {b_.recall:.4f}  F1 {b_.f1:.4f}")
        print(f"  without boilerplate:   P {a_.precision:.4f}  R {a_.recall:.4f}  F1 {a_.f1:.4f}")
        print(f"removed as boilerplate ({html['removed'].height}; words_in_gold = every word also occurs in the gold body):")
        print(html["removed"].head(args.show))
    print(f"\n== Seed article: {'PASS' if seed['ok'] else 'FAIL'}")
    print(seed["table"])
    print("\n== Throughput (words/s, BBC, 1 process):")
    for k, v in bbc["timing"].items():
        print(f"  {k:20s} {v:12,.0f}")

    if args.write:
        write_benchmarks(bbc, ext, seed, html, args)
    return 0 if seed["ok"] else 1


def write_benchmarks(bbc: dict, ext: dict, seed: dict, html: dict | None, args: argparse.Namespace) -> None:
    def share(d: dict, kind: str, col: str) -> float:
        row = d["shares"].filter(pl.col("kind") == kind)
        return float(row[col][0]) if row.height else 0.0

    cmd = " ".join(["python scripts/eval_boilerplate.py", *(shlex.quote(a) for a in args.argv)])
    body = [
        START,
        "## Boilerplate / paragraphs / sentences",
        "",
        f"Command (from the repo root): `{cmd}`  ",
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, polars {pl.__version__}, "
        f"{os.cpu_count()} CPUs (shared).",
        "",
        "| check | result |",
        "| --- | --- |",
        f"| BBC ({bbc['articles']} articles, {bbc['paragraphs']} paragraphs, {bbc['words']:,} words): boilerplate | "
        f"{share(bbc, 'boilerplate', 'paragraphs_%')}% of paragraphs, {share(bbc, 'boilerplate', 'words_%')}% of words |",
        f"| BBC: heading | {share(bbc, 'heading', 'paragraphs_%')}% of paragraphs, "
        f"{share(bbc, 'heading', 'words_%')}% of words |",
        f"| Extraction gold bodies ({ext['articles']} articles, {ext['paragraphs']} lines): gold words lost to boilerplate | "
        f"{share(ext, 'boilerplate', 'words_%')}% ({share(ext, 'boilerplate', 'paragraphs_%')}% of lines) |",
        f"| Extraction gold bodies: heading | {share(ext, 'heading', 'paragraphs_%')}% of lines |",
        f"| Seed article (20 paragraphs, 4 boilerplate, 1 heading) | {'PASS' if seed['ok'] else 'FAIL'} |",
        f"| BBC sentences | {bbc['sentences']:,} |",
    ]
    if html is not None:
        b_, a_ = html["before"], html["after"]
        body.append(
            f"| Raw HTML pages (121) through extract_html: shingle P / R / F1, all paragraphs | "
            f"{b_.precision:.4f} / {b_.recall:.4f} / {b_.f1:.4f} |"
        )
        body.append(
            f"| same, boilerplate paragraphs dropped ({html['removed'].height} of {html['paragraphs']}) | "
            f"{a_.precision:.4f} / {a_.recall:.4f} / {a_.f1:.4f} |"
        )
    for k, v in bbc["timing"].items():
        body.append(f"| throughput `{k}` | {v:,.0f} words/s |")
    body += ["", "Flagged on BBC (clean prose with no web boilerplate: a human judges each row; "
             "the author bios repeated in 7-8 articles are real template text):", ""]
    body.append(_md_table(bbc["flagged"].head(args.show)) if bbc["flagged"].height else "(none)")
    body += ["", "Flagged on the extraction gold bodies:", ""]
    body.append(_md_table(ext["flagged"].head(args.show)) if ext["flagged"].height else "(none)")
    if html is not None:
        body += ["", "Removed as boilerplate from the extracted HTML pages "
                 "(words_in_gold: every word of the line also occurs in the gold body):", ""]
        body.append(_md_table(html["removed"].head(args.show)) if html["removed"].height else "(none)")
    body += ["", "Seed article, non-body paragraphs:", "", _md_table(seed["table"]), END]
    section = "\n".join(body)

    replace_section(SECTION, section)
    print(f"wrote {BENCHMARKS}")


if __name__ == "__main__":
    raise SystemExit(main())
