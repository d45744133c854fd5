"""Evaluate exact and near-duplicate clustering (transforms/dedup.py).

    .venv/bin/python scripts/eval_dedup.py [--data ../shared/data] [--write] [--show N] [--big N]

1. BBC News (2,225 articles; the README counts 98 exact copies (same title and text)
   and 133 articles whose body is identical to another one): exact duplicates found
   versus those counts, near-duplicate clusters and pairs (with Jaccard and titles for a
   human to judge), the hardest negatives (most similar pairs left in different
   clusters), time.
2. Simulated syndication: every distinct BBC body of >= 80 words republished by a
   "wire" source with a new first sentence, a "(Reuters) -" credit, a trailing
   "Reporting by ...; Editing by ..." line, a newsletter line and 3 words changed.
   Jaccard of copy vs original, share of copies clustered with their original, BBC
   clusters merged by the copies (should be 0) and cluster_ids of the originals
   unchanged by adding the copies (stability).
3. Throughput on synthetic corpora of 10k (and --big N) unique articles made of random
   BBC sentences plus 5% near-duplicate copies.

With --write the results replace the section between <!-- eval:dedup:start --> and
<!-- eval:dedup:end --> in docs/benchmarks.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import BENCHMARKS, md_table, replace_section  # noqa: E402
from newsetl.transforms import dedup as D  # noqa: E402
from newsetl.transforms.dedup import cluster_duplicates, shingle_jaccard  # noqa: E402

SECTION = "eval:dedup"
START = f"<!-- {SECTION}:start -->"
END = f"<!-- {SECTION}:end -->"
T0 = datetime(2005, 1, 1, tzinfo=timezone.utc)

LEADS = [
    "Officials confirmed the latest developments in a statement released on Tuesday.",
    "The news was first reported by several media outlets late on Monday evening.",
    "Here is what we know so far about the story that has been developing all week.",
]
TAILS = [
    "Reporting by Jane Doe in London; Editing by John Smith",
    "Sign up for our daily newsletter to get the top headlines in your inbox.",
]
SWAPS = ["significant", "reported", "officials", "yesterday", "company", "several"]


def _timed(fn, *args, repeat: int = 3, **kw):
    best_wall, best_cpu, res = 1e9, 1e9, None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        res = fn(*args, **kw)
        best_wall = min(best_wall, time.perf_counter() - w)
        best_cpu = min(best_cpu, time.process_time() - c)
    return res, best_wall, best_cpu


def load_bbc(data: Path) -> pl.DataFrame:
    rows = [json.loads(line) for line in open(data / "bbc-news" / "bbc-news.jsonl", encoding="utf-8")]
    return pl.DataFrame(
        {
            "article_id": [r["id"] for r in rows],
            "title": [r["title"] for r in rows],
            "text": [r["text"] for r in rows],
            "source": ["bbc"] * len(rows),
        }
    ).with_columns(pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("published_at"))


def syndicate(text: str, rng: random.Random) -> str:
    """A wire republication of `text`: new lead sentence + credit, 3 words changed,
    two trailing boilerplate lines."""
    paras = text.split("\n\n")
    first = paras[0]
    m = re.search(r"[.!?]\s", first)
    rest = first[m.end():] if m else ""
    paras[0] = ("LONDON (Reuters) - " + rng.choice(LEADS) + " " + rest).strip()
    words = "\n\n".join(paras).split(" ")
    for _ in range(3):
        k = rng.randrange(len(words))
        if "\n" not in words[k]:
            words[k] = rng.choice(SWAPS)
    return " ".join(words) + "\n\n" + "\n\n".join(TAILS)


def bbc_section(bbc: pl.DataFrame, show: int) -> tuple[list[str], dict]:
    n = bbc.height
    raw_body_dups = n - bbc["text"].n_unique()
    raw_exact_dups = n - bbc.select("title", "text").n_unique()
    (out, stats), wall, cpu = _timed(cluster_duplicates, bbc, with_stats=True)
    j = bbc.with_row_index("row").join(out, on="article_id")
    # exact-body pairs (raw string identity) that ended up in the same cluster
    body_groups = j.group_by("text").agg(pl.col("cluster_id").n_unique().alias("k"), pl.len().alias("m")).filter(pl.col("m") > 1)
    body_split = body_groups.filter(pl.col("k") > 1).height
    exact_rows_in_groups = int(body_groups["m"].sum())
    te_groups = j.group_by("title", "text").agg(pl.col("cluster_id").n_unique().alias("k"), pl.len().alias("m")).filter(pl.col("m") > 1)
    te_split = te_groups.filter(pl.col("k") > 1).height
    # normalised-body exact groups found by the module
    feats = D._features(bbc["text"])
    keyed = bbc.with_columns(pl.Series("k0", feats.key[:, 0]), pl.Series("k1", feats.key[:, 1]), pl.Series("nt", feats.per_doc))
    norm_dups = n - keyed.select("nt", "k0", "k1").n_unique()
    # bodies equal only after normalisation (case, punctuation, whitespace): show them
    extra = []
    for g in keyed.sort("article_id").group_by("nt", "k0", "k1", maintain_order=True).agg("article_id", "text").filter(pl.col("text").list.n_unique() > 1).iter_rows(named=True):
        a_txt, a_id = g["text"][0], g["article_id"][0]
        for b_txt, b_id in zip(g["text"][1:], g["article_id"][1:]):
            if b_txt != a_txt:
                k = next((i for i, (x, y) in enumerate(zip(a_txt, b_txt)) if x != y), min(len(a_txt), len(b_txt)))
                extra.append([a_id, b_id, repr(a_txt[max(0, k - 25) : k + 25]), repr(b_txt[max(0, k - 25) : k + 25])])
    dup_rows = int(out["duplicate_of"].is_not_null().sum())
    clusters = j.group_by("cluster_id").agg(pl.len().alias("size"), pl.col("text").n_unique().alias("bodies"), pl.col("title"), pl.col("article_id"))
    multi = clusters.filter(pl.col("size") > 1)
    near_clusters = multi.filter(pl.col("bodies") > 1)
    pairs = stats["near_pair_rows"].sort("jaccard", descending=True)
    titles, ids = bbc["title"].to_list(), bbc["article_id"].to_list()
    cid = out["cluster_id"].to_list()

    # hardest negatives: all pairs by signature estimate, exact Jaccard of the top ones
    sh, cnt = feats.sh, feats.cnt
    sig = D._signatures_from_shingles(sh, cnt)
    cand = []
    for a in range(0, n, 128):
        eq = (sig[a : a + 128, None, :] == sig[None, :, :]).sum(-1)
        ii, jj = np.nonzero(eq >= 8)
        ii = ii + a
        keep = ii < jj
        cand.append(np.stack([ii[keep], jj[keep]], axis=1))
    cand = np.concatenate(cand)
    cand = cand[[cid[a] != cid[b] for a, b in cand.tolist()]]
    jac, cont, ratio = D._overlap_pairs(cand, sh, cnt)
    # closeness to acceptance under either rule
    score = np.maximum(jac / D.JACCARD_THRESHOLD, np.where(ratio >= D.MIN_SIZE_RATIO, cont, 0) / D.CONTAINMENT_THRESHOLD)
    order = np.argsort(-score)
    negatives = [(float(jac[k]), float(cont[k]), *cand[k].tolist()) for k in order[:show]]
    max_neg_j, max_neg_c = float(jac.max(initial=0)), float(np.where(ratio >= D.MIN_SIZE_RATIO, cont, 0).max(initial=0))

    lines = [
        "### BBC News (2,225 articles)",
        "",
        f"`cluster_duplicates` on all 2,225 articles: **{wall:.2f} s wall, {cpu:.2f} s CPU** (best of 3).",
        "",
        md_table(
            ["check", "count", "note"],
            [
                ["articles whose body is a byte-identical copy of another (README: 133)", raw_body_dups, f"{exact_rows_in_groups} articles in {body_groups.height} groups; groups split across clusters: {body_split}"],
                ["exact copies, same title and text (README: 98)", raw_exact_dups, f"groups split across clusters: {te_split}"],
                ["duplicates by normalised body (module's exact key: word tokens; case, punctuation, whitespace ignored)", norm_dups, f"{norm_dups - raw_body_dups} more than byte-identical (listed below)"],
                ["near-duplicate pairs verified, exact copies excluded", stats["near_pairs"], f"LSH candidate pairs: {stats['lsh_candidates']}"],
                ["clusters with >= 2 articles", multi.height, f"{near_clusters.height} of them contain a near (not identical) body"],
                ["articles with duplicate_of set", dup_rows, f"= {norm_dups} exact (normalised) + {dup_rows - norm_dups} near"],
                ["hardest negatives: highest Jaccard / containment between two different clusters", f"{max_neg_j:.3f} / {max_neg_c:.3f}", "thresholds %.2f / %.2f" % (D.JACCARD_THRESHOLD, D.CONTAINMENT_THRESHOLD)],
            ],
        ),
        "",
        "Bodies identical only after normalisation (the first difference, 25 characters either side):",
        "",
        md_table(["a", "b", "a text", "b text"], extra) if extra else "(none)",
        "",
        "Near-duplicate pairs found (all of them, most similar first; judge: same story?):",
        "",
        md_table(
            ["jaccard", "containment", "a", "b", "title a", "title b"],
            [[f"{r['jaccard']:.3f}", f"{r['containment']:.3f}", ids[r["i"]], ids[r["j"]], titles[r["i"]], titles[r["j"]]] for r in pairs.iter_rows(named=True)],
        ),
        "",
        f"Hardest negatives (pairs left in different clusters that come closest to either rule; top {show} of all pairs):",
        "",
        md_table(["jaccard", "containment", "a", "b", "title a", "title b"], [[f"{jv:.3f}", f"{cv:.3f}", ids[a], ids[b], titles[a], titles[b]] for jv, cv, a, b in negatives]),
    ]
    summary = {
        "raw_body_dups": raw_body_dups, "raw_exact_dups": raw_exact_dups, "body_split": body_split,
        "te_split": te_split, "near_pairs": stats["near_pairs"], "near_clusters": near_clusters.height,
        "dup_rows": dup_rows, "wall": wall, "cpu": cpu, "max_negative": (max_neg_j, max_neg_c),
    }
    print(f"BBC: {wall:.2f}s wall {cpu:.2f}s cpu; raw body dups {raw_body_dups} title+text {raw_exact_dups}; "
          f"split {body_split}/{te_split}; normalised {norm_dups}; near pairs {stats['near_pairs']}; "
          f"near clusters {near_clusters.height}; dup rows {dup_rows}; max negative {summary['max_negative']}")
    for r in pairs.iter_rows(named=True):
        print(f"  near {r['jaccard']:.3f} {r['containment']:.3f} {ids[r['i']]} {ids[r['j']]} | {titles[r['i']][:40]} | {titles[r['j']][:40]}")
    for jv, cv, a, b in negatives[:10]:
        print(f"  neg  {jv:.3f} {cv:.3f} {ids[a]} {ids[b]} | {titles[a][:40]} | {titles[b][:40]}")
    return lines, summary


def syndication_section(bbc: pl.DataFrame, seed: int = 7) -> tuple[list[str], dict]:
    rng = random.Random(seed)
    orig = bbc.with_columns(
        (pl.lit(T0) + pl.duration(hours=pl.int_range(pl.len()))).alias("published_at")
    )
    base = cluster_duplicates(orig)
    uniq = orig.unique(subset="text", keep="first", maintain_order=True)
    uniq = uniq.filter(pl.col("text").str.count_matches(r"\S+") >= 80)
    copies = uniq.select(
        ("wire-" + pl.col("article_id")).alias("article_id"),
        pl.col("article_id").alias("orig_id"),
        pl.col("text").map_elements(lambda t: syndicate(t, rng), return_dtype=pl.String).alias("text"),
        (pl.col("published_at") + timedelta(minutes=30)).alias("published_at"),
        pl.lit("wire").alias("source"),
    )
    jac = np.array([shingle_jaccard(a, b) for a, b in zip(uniq["text"].to_list(), copies["text"].to_list())])
    words = uniq["text"].str.count_matches(r"\S+").to_numpy()
    both = pl.concat([orig.select("article_id", "text", "published_at", "source"), copies.drop("orig_id")])
    out, wall, cpu = _timed(cluster_duplicates, both, repeat=1)
    cmap = dict(zip(out["article_id"].to_list(), out["cluster_id"].to_list()))
    dmap = dict(zip(out["article_id"].to_list(), out["duplicate_of"].to_list()))
    ok = np.array([cmap[c] == cmap[o] for c, o in zip(copies["article_id"].to_list(), copies["orig_id"].to_list())])
    # originals: same cluster ids as without the copies? clusters merged?
    base_map = dict(zip(base["article_id"].to_list(), base["cluster_id"].to_list()))
    changed = sum(cmap[a] != c for a, c in base_map.items())
    base_clusters = len(set(base_map.values()))
    merged_clusters = len({cmap[a] for a in base_map})
    rep_is_orig = sum(dmap[c] is not None for c in copies["article_id"].to_list())
    short = words < 150
    lines = [
        "### Simulated syndication (BBC bodies republished by a wire source)",
        "",
        "Each distinct BBC body of >= 80 words (%d) gets a copy published 30 minutes later by source `wire`:" % len(uniq)
        + " first sentence replaced by a generic lead, `LONDON (Reuters) - ` prefixed, 3 random words replaced,"
        " `Reporting by ...; Editing by ...` and a newsletter line appended. Originals get distinct dates an hour apart.",
        "",
        md_table(
            ["check", "result"],
            [
                ["Jaccard copy vs original: min / 5th pct / median", f"{jac.min():.3f} / {np.percentile(jac, 5):.3f} / {np.median(jac):.3f}"],
                ["same, originals under 150 words (%d): min / median" % int(short.sum()), f"{jac[short].min():.3f} / {np.median(jac[short]):.3f}" if short.any() else "n/a"],
                ["copies below the threshold %.2f" % D.JACCARD_THRESHOLD, int((jac < D.JACCARD_THRESHOLD).sum())],
                ["copies clustered with their original (recall)", f"{ok.sum()} / {len(ok)} ({ok.mean():.2%})"],
                ["copies with duplicate_of set (the earlier original is the representative)", f"{rep_is_orig} / {len(ok)}"],
                ["BBC clusters merged with each other by adding the copies", base_clusters - merged_clusters],
                ["BBC articles whose cluster_id changed when the copies were added", changed],
                ["time for %d articles" % both.height, f"{wall:.2f} s wall, {cpu:.2f} s CPU"],
            ],
        ),
    ]
    summary = {"jac_min": float(jac.min()), "jac_p5": float(np.percentile(jac, 5)), "recall": float(ok.mean()),
               "merged": base_clusters - merged_clusters, "changed": changed, "wall": wall}
    print(f"syndication: n={len(ok)} jaccard min {jac.min():.3f} p5 {np.percentile(jac, 5):.3f} median {np.median(jac):.3f}; "
          f"recall {ok.mean():.4f}; merged {base_clusters - merged_clusters}; changed ids {changed}; {wall:.2f}s")
    if (~ok).any():
        ids = copies["orig_id"].to_list()
        for k in np.flatnonzero(~ok)[:10]:
            print(f"  missed {ids[k]} jaccard {jac[k]:.3f} words {words[k]}")
    return lines, summary


def synthetic(bbc: pl.DataFrame, n: int, seed: int = 11) -> pl.DataFrame:
    """n articles: 95% unique texts of 8-30 random BBC sentences, 5% lightly edited
    copies of earlier ones (so the near-duplicate path has work to do)."""
    rng = np.random.default_rng(seed)
    sents = (
        bbc.select(pl.col("text").str.split(". ")).explode("text").filter(pl.col("text").str.len_chars() > 20)["text"].to_numpy()
    )
    lens = rng.integers(8, 31, size=n)
    picks = rng.integers(0, len(sents), size=int(lens.sum()))
    ends = np.cumsum(lens)
    texts = [". ".join(sents[picks[e - k : e]]) + "." for e, k in zip(ends.tolist(), lens.tolist())]
    n_copy = n // 20
    src = rng.integers(0, n - n_copy, size=n_copy)
    for k, s in enumerate(src.tolist()):
        texts[n - n_copy + k] = "UPDATED: " + texts[s] + " Copyright wire service."
    return pl.DataFrame(
        {
            "article_id": [f"s{k:07d}" for k in range(n)],
            "text": texts,
            "published_at": [T0 + timedelta(minutes=k) for k in range(n)],
            "source": ["synthetic"] * n,
        }
    )


def scale_section(bbc: pl.DataFrame, sizes: list[int]) -> tuple[list[str], dict]:
    rows, summary = [], {}
    for n in sizes:
        df = synthetic(bbc, n)
        words = int(df["text"].str.count_matches(r"\S+").sum())
        (out, stats), wall, cpu = _timed(cluster_duplicates, df, with_stats=True, repeat=2 if n <= 20000 else 1)
        dups = int(out["duplicate_of"].is_not_null().sum())
        rows.append([f"{n:,}", f"{words:,}", f"{wall:.2f}", f"{cpu:.2f}", f"{n / wall:,.0f}", stats["lsh_candidates"], stats["near_pairs"], f"{dups} (planted {n // 20})"])
        summary[n] = wall
        print(f"scale n={n}: {wall:.2f}s wall {cpu:.2f}s cpu, words {words}, candidates {stats['lsh_candidates']}, near {stats['near_pairs']}, dups {dups}")
    lines = [
        "### Throughput (synthetic: random BBC sentences, 8-30 per article, 5% planted near-copies)",
        "",
        md_table(["articles", "words", "wall s", "CPU s", "articles/s", "LSH candidates", "verified near pairs", "duplicates found"], rows),
    ]
    return lines, summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--write", action="store_true", help="replace the dedup section of docs/benchmarks.md")
    ap.add_argument("--show", type=int, default=12, help="hardest negatives to list")
    ap.add_argument("--big", type=int, default=100_000, help="largest synthetic corpus (0 to skip)")
    args = ap.parse_args()

    bbc = load_bbc(args.data)
    cluster_duplicates(bbc)  # warm up (P^k tables)
    load = os.getloadavg()[0]
    b_lines, _ = bbc_section(bbc, args.show)
    s_lines, _ = syndication_section(bbc)
    sizes = [10_000] + ([args.big] if args.big else [])
    t_lines, _ = scale_section(bbc, sizes)

    cmd = "python scripts/eval_dedup.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    head = [
        START,
        "## Duplicates: exact and near-duplicate clusters (`transforms/dedup.py`)",
        "",
        f"Command (from the repo root): `{cmd.strip()}`  ",
        f"Run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, polars {pl.__version__}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs (shared; load average {load:.1f} at the start, so wall times are inflated).  ",
        f"Settings: word {D.SHINGLE_WORDS}-shingles, {D.NUM_PERM} MinHash permutations, LSH {D.BANDS} bands x {D.ROWS} rows, "
        f"verified on exact shingle sets: Jaccard >= {D.JACCARD_THRESHOLD} or containment >= {D.CONTAINMENT_THRESHOLD} "
        f"(size ratio >= {D.MIN_SIZE_RATIO}); near matching only for bodies >= {D.MIN_NEAR_WORDS} words.",
        "",
    ]
    section = "\n".join(head + b_lines + [""] + s_lines + [""] + t_lines + [END]) + "\n"
    if args.write:
        replace_section(SECTION, section)
        print(f"wrote {BENCHMARKS}")
    else:
        print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
