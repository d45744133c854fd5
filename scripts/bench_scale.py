"""`make bench`, scale part (issue 13, part 5): what a run costs as the warehouse grows.

    .venv/bin/python scripts/bench_scale.py --shared ../shared/data --write docs/benchmarks.md
    .venv/bin/python scripts/bench_scale.py --sizes 10k            # one size, print only

For each warehouse size (synthetic articles from scripts/synth_warehouse.py, built once
into --workdir and reused while its marker file `synth.json` says the same size and seed):
  new        `newsetl run <25 real articles>` into (a working copy of) that warehouse
  empty      the same command into an empty warehouse, measured right before it, so the
             ratio new/empty compares two runs under the same machine load
  unchanged  the same command again into the same warehouse (nothing new)
  sql        `newsetl sql "select count(*) from entity_mentions"` on it
Each is one subprocess; wall time as a user waits for it; peak RSS of its process tree
(psutil, sum over the command and its children, sampled every 0.1 s); peak disk of the
warehouse (`du -sb` every 0.2 s) against its size before the run.

The working copy: every data file of the warehouse is hard-linked (the landing writes new
Parquet files and never changes one in place), every other file (the catalog, manifest,
state) is copied. So the synthetic warehouse stays pristine for the next size or bench,
and the copy costs seconds, not a second copy of the data. `du -sb` of the copy counts
each linked file once, so its size is the whole warehouse.

The 25 real articles are the first 25 of <shared>/bbc-news/bbc-news.jsonl (research data:
read at bench time, never copied into the repo), written to a temporary JSONL with URLs
of their own. Without that file the bench says so and exits 0.

Results are ratios measured in one run (the machine is shared), written between
`<!-- bench:scale:start -->` and `<!-- bench:scale:end -->` of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import md_table, replace_section  # noqa: E402

SECTION = "bench:scale"
N_REAL = 25
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
# Targets (issue 13, "Targets").
TARGET_NEW_OVER_EMPTY, TARGET_NEW_PLUS_S = 1.5, 5.0  # new <= 1.5 x empty + 5 s (1M warehouse)
TARGET_DISK_RATIO = 1.25  # peak disk during the run <= 1.25 x size before
TARGET_SQL_S = 2.0  # count(*) from entity_mentions < 2 s (1M warehouse)
TARGET_RSS_BYTES = 2 * 1024 ** 3  # peak RSS < 2 GB
COUNT_SQL = "select count(*) from entity_mentions"


def parse_size(text: str) -> int:
    t = text.strip().lower().replace("_", "").replace(",", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if t[-1:] in "km" else t) * mult)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1_000}k" if n % 1_000 == 0 else str(n)


def du_bytes(path: Path) -> int:
    r = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True)
    try:
        return int(r.stdout.split()[0])
    except (IndexError, ValueError):
        return 0  # path vanished or is being swapped under us: skip this sample


def newsetl_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("newsetl")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "newsetl.cli"]


# --------------------------------------------------------------------------- inputs
def write_real_articles(corpus: Path, out: Path, n: int = N_REAL) -> int:
    """The first n articles of the corpus as JSONL with URLs of their own (the BBC file
    has none), so they are new articles in any synthetic warehouse."""
    rows = []
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
            if len(rows) >= n:
                break
    with open(out, "w", encoding="utf-8") as fh:
        for i, a in enumerate(rows):
            a = dict(a)
            a["url"] = f"https://bench-scale.example/bbc/{a.get('id') or i}"
            a.setdefault("source", "bbc-news")
            fh.write(json.dumps(a, ensure_ascii=False) + "\n")
    return len(rows)


def generator_version() -> str:
    """A hash of the generator: a warehouse built by another generator is rebuilt (one built
    by older landing code is kept: the writer migrates old layouts; pass --rebuild to redo)."""
    return hashlib.sha256((ROOT / "scripts" / "synth_warehouse.py").read_bytes()).hexdigest()[:12]


def ensure_synthetic(n: int, workdir: Path, seed: int, rebuild: bool, log=print) -> tuple[Path, dict]:
    """The synthetic warehouse of n articles, built once (marker: synth-<n>.json, which
    names the size, seed and generator version it was built with)."""
    wh = workdir / f"synth-{label(n)}"
    marker = workdir / f"synth-{label(n)}.json"
    version = generator_version()
    if not rebuild and marker.exists():
        info = json.loads(marker.read_text())
        if (info.get("articles") == n and info.get("seed") == seed and info.get("version") == version
                and (wh / "news.duckdb").exists()):
            log(f"reusing {wh} (built {info.get('built_at')}, {info.get('seconds', 0):.0f} s)")
            return wh, info
    shutil.rmtree(wh, ignore_errors=True)
    marker.unlink(missing_ok=True)
    log(f"building {wh}: {n:,} synthetic articles ...")
    # niced: the build is not what is measured, and the machine is shared
    cmd = ["nice", "-n", "10", sys.executable, str(ROOT / "scripts" / "synth_warehouse.py"), "--articles", str(n),
           "--warehouse", str(wh), "--seed", str(seed)]
    log_path = workdir / f"synth-{label(n)}.log"  # progress, readable while it builds
    t0 = time.monotonic()
    with open(log_path, "w") as fh:
        rc = subprocess.run(cmd, cwd=ROOT, text=True, stdout=fh, stderr=subprocess.STDOUT).returncode
    secs = time.monotonic() - t0
    out = log_path.read_text()
    if rc != 0:
        raise SystemExit(f"synth_warehouse.py failed ({rc}), see {log_path}:\n{out[-4000:]}")
    info = {"articles": n, "seed": seed, "version": version, "seconds": round(secs, 1), "bytes": du_bytes(wh),
            "built_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "log": out.strip().splitlines()[-3:]}
    marker.write_text(json.dumps(info, indent=1))
    log(f"  built in {secs:.0f} s ({n / secs:,.0f} articles/s), {info['bytes'] / 1e9:.2f} GB")
    return wh, info


def working_copy(src: Path, dst: Path) -> None:
    """Hard links for Parquet data files (never changed in place), copies of the rest."""
    shutil.rmtree(dst, ignore_errors=True)
    for dirpath, _dirs, files in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for f in files:
            s, d = Path(dirpath) / f, dst / rel / f
            if f.endswith(".parquet"):
                os.link(s, d)
            else:
                shutil.copy2(s, d)


# --------------------------------------------------------------------------- measuring
def run_measured(cmd: list[str], warehouse: Path | None, env: dict, timeout: float = 3600) -> dict:
    """One subprocess: wall time, peak RSS of its tree, peak `du -sb` of the warehouse."""
    import psutil

    import resource

    before = du_bytes(warehouse) if warehouse is not None and warehouse.exists() else 0
    load = os.getloadavg()[0]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(p.pid)
    peak = {"rss": 0, "disk": before}
    stop = threading.Event()

    def rss():
        while not stop.is_set():
            try:
                procs = [ps] + ps.children(recursive=True)
            except psutil.Error:
                procs = []
            total = 0
            for q in procs:
                try:
                    total += q.memory_info().rss
                except psutil.Error:
                    pass
            peak["rss"] = max(peak["rss"], total)
            stop.wait(0.1)

    def disk():
        while warehouse is not None and not stop.is_set():
            peak["disk"] = max(peak["disk"], du_bytes(warehouse))
            stop.wait(0.2)

    threads = [threading.Thread(target=f, daemon=True) for f in (rss, disk)]
    for t in threads:
        t.start()
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    wall = time.monotonic() - t0
    stop.set()
    for t in threads:
        t.join()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds of the command and the children it waited for: moves less with the
    # machine's load than wall time does
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    after = du_bytes(warehouse) if warehouse is not None and warehouse.exists() else 0
    peak["disk"] = max(peak["disk"], after)
    return {"cmd": cmd, "rc": p.returncode, "wall": round(wall, 2), "cpu": round(cpu, 2), "rss": peak["rss"],
            "summary": parse_summary(out), "disk_before": before,
            "disk_peak": peak["disk"], "disk_after": after, "loadavg": round((load + os.getloadavg()[0]) / 2, 2),
            "stdout": out[-3000:], "stderr": err[-3000:]}


def parse_summary(stdout: str) -> dict:
    """From the Markdown `newsetl run` prints: the run's own seconds and its step table."""
    out: dict = {"steps": {}}
    m = re.search(r"; ([\d.]+) s\.", stdout)
    if m:
        out["seconds"] = float(m[1])
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2 and re.fullmatch(r"[\d.]+", cells[1] or "x"):
            out["steps"][cells[0]] = float(cells[1])
    return out


def check_rc(name: str, r: dict) -> None:
    if r["rc"] != 0:
        raise SystemExit(f"{name} failed (exit {r['rc']}): {' '.join(map(str, r['cmd']))}\n"
                         f"{r['stdout'][-1500:]}\n{r['stderr'][-3000:]}")


def measure_size(n: int, real: Path, workdir: Path, seed: int, rebuild: bool, env: dict, repeat: int = 2,
                 log=print) -> dict:
    """`repeat` pairs (empty, then new into a fresh working copy), back to back; the last
    copy then gets the unchanged re-run and the count(*) query. Each kind reports its
    fastest repetition (the one least disturbed by other load on the shared machine)."""
    res: dict = {"articles": n}
    src, info = ensure_synthetic(n, workdir, seed, rebuild, log)
    res["build"] = info
    run = newsetl_cmd() + ["run", str(real), "--warehouse"]
    empty, wh = workdir / "empty", workdir / f"work-{label(n)}"
    tries: dict[str, list] = {"empty": [], "new": [], "sql": []}
    try:
        for i in range(repeat):
            shutil.rmtree(empty, ignore_errors=True)
            log(f"  [{i + 1}/{repeat}] 25 real articles into an empty warehouse ...")
            tries["empty"].append(run_measured(run + [str(empty)], empty, env))
            check_rc("run into the empty warehouse", tries["empty"][-1])
            working_copy(src, wh)
            log(f"  [{i + 1}/{repeat}] 25 real articles into the {label(n)} warehouse ...")
            tries["new"].append(run_measured(run + [str(wh)], wh, env))
            check_rc(f"run into the {label(n)} warehouse", tries["new"][-1])
        log("  the same 25 again (unchanged) ...")
        res["unchanged"] = run_measured(run + [str(wh)], wh, env)
        check_rc("unchanged re-run", res["unchanged"])
        for i in range(repeat):
            log(f"  [{i + 1}/{repeat}] newsetl sql {COUNT_SQL!r} ...")
            tries["sql"].append(run_measured(newsetl_cmd() + ["sql", COUNT_SQL, "--warehouse", str(wh),
                                                               "--format", "csv"], None, env))
            check_rc("newsetl sql", tries["sql"][-1])
    finally:
        shutil.rmtree(wh, ignore_errors=True)
        shutil.rmtree(empty, ignore_errors=True)
    for kind, ms in tries.items():
        res[kind] = min(ms, key=lambda m: m["wall"])
        res[kind]["walls"] = [m["wall"] for m in ms]
    # disk and RSS peaks: the worst over the repetitions
    res["new"]["disk_peak_all"] = max(m["disk_peak"] / max(1, m["disk_before"]) for m in tries["new"])
    res["new"]["rss_all"] = max(m["rss"] for m in tries["new"])
    res["mentions"] = res["sql"]["stdout"].strip().splitlines()[-1]
    return res


# --------------------------------------------------------------------------- report
def _gb(b: int) -> str:
    return f"{b / 1e9:.2f} GB" if b >= 1e8 else f"{b / 1e6:.1f} MB"


def _count(text: str) -> str:
    return f"{int(text):,}" if str(text).isdigit() else str(text)


def _mb(b: int) -> str:
    return f"{b / 2**20:,.0f} MB"


def targets(results: list[dict]) -> list[tuple]:
    """PASS/FAIL rows, judged on the largest warehouse measured (the targets are set for
    1M articles; with a smaller largest size the row says so)."""
    if not results:
        return []
    big = max(results, key=lambda r: r["articles"])
    at = label(big["articles"]) + ("" if big["articles"] >= 1_000_000 else " (targets are for 1M: not measured)")
    e, nw = big["empty"]["wall"], big["new"]["wall"]
    limit = TARGET_NEW_OVER_EMPTY * e + TARGET_NEW_PLUS_S
    rows = [("25 new articles: into the warehouse vs into an empty one (fastest of the repetitions)", at,
             f"{nw:.1f} s vs {e:.1f} s ({nw / e:.2f}x)", f"<= {TARGET_NEW_OVER_EMPTY}x + {TARGET_NEW_PLUS_S:.0f} s = {limit:.1f} s",
             "PASS" if nw <= limit else "FAIL")]
    for r in results:
        ratio = _disk_ratio(r)
        rows.append(("peak disk during the run / size before (worst repetition)", label(r["articles"]),
                     f"{ratio:.3f} of {_gb(r['new']['disk_before'])}",
                     f"<= {TARGET_DISK_RATIO}", "PASS" if ratio <= TARGET_DISK_RATIO else "FAIL"))
    rss = max(_rss(r) for r in results)
    rows.append(("peak RSS of the run (process tree)", "all sizes", _mb(rss), "< 2 GB",
                 "PASS" if rss < TARGET_RSS_BYTES else "FAIL"))
    s = big["sql"]["wall"]
    rows.append((f"`newsetl sql \"{COUNT_SQL}\"`", at, f"{s:.2f} s", f"< {TARGET_SQL_S:.0f} s",
                 "PASS" if s < TARGET_SQL_S else "FAIL"))
    return rows


def _disk_ratio(r: dict) -> float:
    return r["new"].get("disk_peak_all", r["new"]["disk_peak"] / max(1, r["new"]["disk_before"]))


def _rss(r: dict) -> int:
    return max(r["new"].get("rss_all", r["new"]["rss"]), r["unchanged"]["rss"])


def _walls(m: dict) -> str:
    w = m.get("walls") or [m["wall"]]
    return f"{m['wall']:.1f} s" + (f" ({', '.join(f'{x:.1f}' for x in w)})" if len(w) > 1 else "")


def step_rows(results: list[dict]) -> list[tuple]:
    rows = []
    for r in results:
        for name in ("empty", "new", "unchanged"):
            m = r[name]
            sm = m.get("summary", {})
            steps = ", ".join(f"{k} {v:.1f}" for k, v in sm.get("steps", {}).items() if v >= 0.05)
            rows.append((f"{r['articles']:,}", name, f"{m['wall']:.1f} s", f"{m.get('cpu', 0):.1f} s",
                         f"{sm['seconds']:.1f} s" if "seconds" in sm else "", steps))
    return rows


def render(results: list[dict], command: str, machine: dict) -> str:
    curve = []
    for r in results:
        b, nw, un, e = r["build"], r["new"], r["unchanged"], r["empty"]
        curve.append((
            f"{r['articles']:,}", _gb(nw["disk_before"]), f"{b.get('seconds', 0):.0f} s ({r['articles'] / max(b.get('seconds', 1), 1e-9):,.0f}/s)",
            _walls(e), _walls(nw), f"{nw['wall'] / e['wall']:.2f}x", f"{un['wall']:.1f} s",
            f"{_disk_ratio(r):.3f}x", _mb(_rss(r)), _walls(r["sql"]), _count(r.get("mentions", "")),
            f"{e['loadavg']:.1f} / {nw['loadavg']:.1f}",
        ))
    return "\n".join([
        "## Run cost against warehouse size (`make bench`, issue 13)",
        "",
        f"Command (from the repo root): `{command}`  ",
        f"Machine: {machine['nproc']} cores, {machine['ram_gb']} GB RAM, Python {machine['python']}, "
        f"{machine['platform']}; load average at start {machine['loadavg_start']}; "
        f"measured {machine['date']}.",
        "",
        "Warehouses are synthetic (`scripts/synth_warehouse.py`, seed "
        f"{machine['seed']}: per article ~5 paragraphs, 19 sentences, 28 mentions, 4 quotes), "
        "built once and reused; each run goes into a working copy (data files hard-linked). "
        "*empty*: the same 25 real BBC articles into an empty warehouse, measured right before "
        "each run into the big one; empty/new pairs and the query are repeated, each cell shows the "
        "fastest (all repetitions in brackets). Wall time is the whole command (interpreter start, "
        "Prefect, model loads); RSS the peak sum over its process tree; disk the peak `du -sb` of "
        "the warehouse during the run over its size before (worst repetition).",
        "",
        md_table(["articles", "size before", "synthetic build", "25 new: empty", "25 new: this",
                  "this / empty", "unchanged re-run", "peak disk", "peak RSS", "count(*) query",
                  "mentions", "load (empty / this)"], curve),
        "",
        *[f"Note ({label(r['articles'])} warehouse): {r['build']['note']}.\n" for r in results
          if r.get("build", {}).get("note")],
        "Where the time goes (CPU seconds of the process tree; the run's own seconds and steps "
        "from its summary):",
        "",
        md_table(["articles", "run", "wall", "CPU", "run's own", "steps"], step_rows(results)),
        "",
        "Targets (issue 13; ratios from this one run):",
        "",
        md_table(["target", "warehouse", "measured", "limit", "result"], targets(results)),
    ])


def machine_info(seed: int) -> dict:
    import psutil

    return {"nproc": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 1024 ** 3, 1),
            "python": platform.python_version(), "platform": platform.platform(terse=True),
            "loadavg_start": tuple(round(x, 2) for x in os.getloadavg()), "seed": seed,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def main(argv: list[str] | None = None) -> int:
    from bench import warn_autogroup

    warn_autogroup()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(label(n) for n in DEFAULT_SIZES),
                    help="warehouse sizes in articles, comma-separated (10k,100k,1M)")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"), help="the shared data folder")
    ap.add_argument("--corpus", help="JSONL of real articles (default <shared>/bbc-news/bbc-news.jsonl)")
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "newsetl-bench-scale"),
                    help="where synthetic warehouses are built and kept (default /tmp/newsetl-bench-scale)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--rebuild", action="store_true", help="rebuild the synthetic warehouses")
    ap.add_argument("--repeat", type=int, default=2, help="empty/new pairs and queries per size (default 2)")
    ap.add_argument("--write", nargs="?", const=str(ROOT / "docs" / "benchmarks.md"),
                    help="write the section into this Markdown file (default docs/benchmarks.md)")
    args = ap.parse_args(argv)
    sizes = sorted(parse_size(s) for s in args.sizes.split(",") if s.strip())
    corpus = Path(args.corpus) if args.corpus else Path(args.shared) / "bbc-news" / "bbc-news.jsonl"
    if not corpus.exists():
        print(f"bench_scale: skipped: no real articles at {corpus} (the BBC corpus is research data in "
              "the shared folder; pass --shared or --corpus)")
        return 0
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    real = workdir / "real-25.jsonl"
    got = write_real_articles(corpus, real)
    print(f"bench_scale: {got} real articles from {corpus}; sizes {', '.join(label(n) for n in sizes)}; "
          f"workdir {workdir}", flush=True)
    env = dict(os.environ, NEWSETL_PROGRESS="0", PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    env.pop("NEWSETL_WAREHOUSE", None)
    machine = machine_info(args.seed)
    results = []
    for n in sizes:
        print(f"{label(n)}:", flush=True)
        r = measure_size(n, real, workdir, args.seed, args.rebuild, env, args.repeat, log=lambda s: print(s, flush=True))
        results.append(r)
        print(f"  empty {r['empty']['wall']:.1f} s, new {r['new']['wall']:.1f} s "
              f"({r['new']['wall'] / r['empty']['wall']:.2f}x), unchanged {r['unchanged']['wall']:.1f} s, "
              f"peak disk {_disk_ratio(r):.3f}x of {_gb(r['new']['disk_before'])}, RSS {_mb(_rss(r))}, "
              f"sql {r['sql']['wall']:.2f} s", flush=True)
    command = "python scripts/bench_scale.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = render(results, command.strip(), machine)
    print()
    print(text)
    if args.write:
        replace_section(SECTION, text, Path(args.write))
        print(f"\nwrote the {SECTION} section of {args.write}")
    raw = workdir / "bench_scale.json"
    raw.write_text(json.dumps({"machine": machine, "results": results}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
