"""Page latency of `newsetl serve` (issue 12): /, /entities/<id>, /articles/<id>.

    .venv/bin/python scripts/bench_web.py --warehouse /tmp/bbc-wh --write
    .venv/bin/python scripts/bench_web.py --warehouse DIR [DIR...] -n 20      # print only

Starts the real command (`newsetl serve --warehouse DIR --port P`) as a subprocess and
asks it for each page N times, one request at a time, over a fresh connection each
(what a browser's first visit costs), after 3 unmeasured warm-up requests. Ids:
  heaviest  the most-mentioned entity / the article with the most mentions (worst case)
  sampled   N requests cycling over 10 ids drawn with a fixed seed (typical pages)
Reports median, p95 and max wall time per page as the client sees it.

Run it without `nice` (the server inherits the niceness, and on a busy machine a niced
server waits for the CPU, which is not what a page costs); it is one request at a time,
so it takes one core at most.

Build the BBC warehouse first (research data, never copied into the repo):
    nice -n 10 .venv/bin/newsetl run /work/shared/data/bbc-news/bbc-news.jsonl --warehouse /tmp/bbc-wh

The section between `<!-- bench:web:start -->` and `<!-- bench:web:end -->` of
docs/benchmarks.md is replaced with --write. Not a timed test: the machine is shared.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import md_table, replace_section  # noqa: E402

from newsetl.prefect_server import free_port  # noqa: E402

SECTION = "bench:web"
TARGET_MS = 300.0  # issue 12, "Targets": both pages under 300 ms on the BBC warehouse
SAMPLED_IDS = 10
SEED = 12


def _get(port: int, path: str) -> tuple[int, float, int]:
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
    finally:
        conn.close()
    return r.status, (time.perf_counter() - t0) * 1000.0, len(body)


def _ids(warehouse: Path) -> dict[str, list[str]]:
    from newsetl.query import execute
    from newsetl.settings import Settings

    s = Settings(warehouse=warehouse, progress=False)

    def col(sql):
        return execute(sql, s, timeout_s=120).table.column(0).to_pylist()

    rng = random.Random(SEED)
    top_e = col("select entity_id from entities order by mention_count desc, entity_id limit 1")
    all_e = col("select entity_id from entities order by entity_id")
    top_a = col("select article_id from entity_mentions group by article_id order by count(*) desc, article_id limit 1")
    all_a = col("select article_id from articles order by article_id")
    return {"entity_top": top_e, "entity_sample": rng.sample(all_e, min(SAMPLED_IDS, len(all_e))),
            "article_top": top_a, "article_sample": rng.sample(all_a, min(SAMPLED_IDS, len(all_a)))}


def _counts(warehouse: Path) -> dict[str, int]:
    from newsetl.query import execute
    from newsetl.settings import Settings

    s = Settings(warehouse=warehouse, progress=False)
    out = {}
    for t in ("articles", "paragraphs", "sentences", "entity_mentions", "entities", "quotes"):
        out[t] = execute(f"select count(*) as n from {t}", s).table.to_pylist()[0]["n"]
    return out


def measure(warehouse: Path, n: int) -> dict:
    ids = _ids(warehouse)
    port = free_port()
    cmd = [str(Path(sys.executable).with_name("newsetl")), "serve", "--warehouse", str(warehouse), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"bench_web: `{' '.join(cmd)}` did not start")
            time.sleep(0.2)
        pages = [
            ("/ (catalog)", ["/"]),
            ("/entities/<id>, most-mentioned", [f"/entities/{quote(i, safe='')}" for i in ids["entity_top"]]),
            ("/entities/<id>, sampled", [f"/entities/{quote(i, safe='')}" for i in ids["entity_sample"]]),
            ("/articles/<id>, most mentions", [f"/articles/{quote(i, safe='')}" for i in ids["article_top"]]),
            ("/articles/<id>, sampled", [f"/articles/{quote(i, safe='')}" for i in ids["article_sample"]]),
        ]
        server = psutil.Process(proc.pid)
        rows = []
        for name, paths in pages:
            for p in paths[:3]:
                _get(port, p)  # warm-up: OS file cache, first template compile
            times, sizes = [], []
            cpu0 = sum(server.cpu_times()[:2])
            for k in range(n):
                status, ms, size = _get(port, paths[k % len(paths)])
                if status != 200:
                    raise SystemExit(f"bench_web: {paths[k % len(paths)]} answered {status}")
                times.append(ms)
                sizes.append(size)
            cpu_ms = (sum(server.cpu_times()[:2]) - cpu0) * 1000.0 / n
            times.sort()
            rows.append({"page": name, "ids": len(paths), "n": n, "cpu_ms": cpu_ms,
                         "median_ms": statistics.median(times),
                         "p95_ms": times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))],
                         "max_ms": times[-1], "kb": statistics.median(sizes) / 1024})
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"rows": rows, "counts": _counts(warehouse), "ids": ids}


def render(reports: list[tuple[Path, dict]], command: str) -> str:
    out = [
        "## Web pages (`scripts/bench_web.py`)",
        "",
        f"Command: `{command}`  ",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores "
        f"({platform.machine()}, Python {platform.python_version()}). Wall time per request as the "
        "client sees it: `newsetl serve` in its own process, one request at a time, a new connection "
        "each, 3 warm-up requests per page first. The machine is shared: the load average "
        f"(1 min, before / after) says how busy it was; niceness {os.nice(0)} (a latency bench "
        "run under `nice` measures the scheduler, not the page). Server CPU ms / request (user + "
        "system time of the server process, DuckDB's threads included, over the measured requests) "
        "is what a page costs whatever else runs.",
    ]
    worst_median = worst_p95 = 0.0
    for warehouse, report in reports:
        c, rows = report["counts"], report["rows"]
        pages = [r for r in rows if r["page"].startswith(("/entities", "/articles"))]
        worst_median = max(worst_median, *(r["median_ms"] for r in pages))
        worst_p95 = max(worst_p95, *(r["p95_ms"] for r in pages))
        out += [
            "",
            f"Warehouse `{warehouse}` ({report['layout']}): {c['articles']:,} articles, {c['paragraphs']:,} "
            f"paragraphs, {c['sentences']:,} sentences, {c['entity_mentions']:,} mentions, "
            f"{c['entities']:,} entities, {c['quotes']:,} quotes; load average {report['load'][0]:.1f} / "
            f"{report['load'][1]:.1f}.",
            "",
            md_table(
                ["page", "ids", "requests", "median ms", "p95 ms", "max ms", "server CPU ms / request", "page KB"],
                [[r["page"], r["ids"], r["n"], f"{r['median_ms']:.0f}", f"{r['p95_ms']:.0f}",
                  f"{r['max_ms']:.0f}", f"{r['cpu_ms']:.0f}", f"{r['kb']:.0f}"] for r in rows],
            ),
        ]
    def verdict(ms: float) -> str:
        return "met" if ms < TARGET_MS else "NOT met"

    out += ["", f"Target (issue 12): entity and article pages under {TARGET_MS:.0f} ms. Median: "
                f"**{verdict(worst_median)}** (slowest page {worst_median:.0f} ms); p95: "
                f"**{verdict(worst_p95)}** (slowest page {worst_p95:.0f} ms)."]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warehouse", required=True, nargs="+", help="built warehouse(s) (e.g. the BBC one)")
    ap.add_argument("-n", type=int, default=50, help="measured requests per page (default 50)")
    ap.add_argument("--write", nargs="?", const=str(ROOT / "docs" / "benchmarks.md"),
                    help="replace the bench:web section of this file (default docs/benchmarks.md)")
    args = ap.parse_args(argv)
    reports = []
    for w in args.warehouse:
        warehouse = Path(w)
        if not (warehouse / "news.duckdb").exists():
            print(f"bench_web: no warehouse at {warehouse} (build it with `newsetl run ... --warehouse {warehouse}`)",
                  file=sys.stderr)
            return 2
        before = os.getloadavg()[0]
        report = measure(warehouse, args.n)
        report["load"] = (before, os.getloadavg()[0])
        report["layout"] = _layout(warehouse)
        reports.append((warehouse, report))
    command = ".venv/bin/python scripts/bench_web.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = render(reports, command)
    print(text)
    if args.write:
        replace_section(SECTION, text, Path(args.write))
    return 0


def _layout(warehouse: Path) -> str:
    """Whether the contract tables are stored in news.duckdb or are views over Parquet files."""
    from newsetl.query import execute
    from newsetl.settings import Settings

    s = Settings(warehouse=warehouse, progress=False)
    views = execute("select count(*) as n from duckdb_views() where view_name = 'entity_mentions'", s).table
    return "tables as views over Parquet" if views.to_pylist()[0]["n"] else "tables stored in news.duckdb"


if __name__ == "__main__":
    sys.exit(main())
