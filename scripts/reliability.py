"""Reliability and security figures for newsetl (issue #7): `make reliability`.

Runs a bounded version of the reliability test suite and writes docs/reliability.md:

1. bad input by category (empty, binary, invalid UTF-8, mixed encodings, a 50 MB HTML
   page, a 1 MB paragraph, 100k nested divs, billion laughs / XXE feeds, truncated WARC,
   non-English, random bytes and mutated fixtures) through the readers and
   `process.prepare`: each input must end as an article or a reject with a reason;
2. faults: `newsetl run` as a subprocess, SIGKILLed at random points during landing;
   after each kill the database must hold the whole old or the whole new state, the
   Parquet tree must have no partial file, and a later run must complete the batch;
3. concurrency: two runs on one warehouse (one stops with exit 3 or waits with --wait),
   and read-only queries looping while a run lands;
4. hostile sources and queries: non-http(s) URLs, loopback URLs with the private-address
   guard on and off, and SQL that tries to reach files.

The test files (tests/test_fuzz_*.py, tests/test_kill_landing.py,
tests/test_concurrent_runs.py, tests/test_hostile.py) import the helpers below.

    .venv/bin/python scripts/reliability.py [--kills N] [--fuzz N] [--write docs/reliability.md]
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NEWSETL_BIN = Path(sys.executable).parent / "newsetl"
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"

# --------------------------------------------------------------------------- corpora

_PEOPLE = ["Maria Lopez", "John Carter", "Angela Brandt", "Kim Jong-un", "Olaf Richter", "Priya Natarajan"]
_PLACES = ["Berlin", "Seoul", "Madrid", "Chicago", "Nairobi", "Lisbon"]
_ORGS = ["the European Commission", "Acme Corp", "the United Nations", "Reuters"]


def corpus_lines(start: int, n: int, seed: int = 1) -> list[str]:
    """n synthetic English articles as JSONL lines, ids start..start+n-1 (distinct URLs,
    dates spread over a week so the Parquet tree has several partitions)."""
    rng = random.Random(seed * 7919 + start)
    base = datetime(2026, 3, 1, tzinfo=timezone.utc)
    lines = []
    for i in range(start, start + n):
        paras = []
        for k in range(5):
            p, q, o = rng.choice(_PEOPLE), rng.choice(_PLACES), rng.choice(_ORGS)
            paras.append(f"{p} met officials from {o} in {q} on Tuesday to discuss item {i}-{k}. "
                         f"\"We are making progress,\" {p.split()[-1]} said after the meeting. "
                         f"Analysts in {q} expect a decision on proposal {i} soon.")
        lines.append(json.dumps({
            "url": f"https://news.example.com/a/{i}", "title": f"Story number {i} about the talks",
            "published_at": (base + timedelta(days=i % 7, hours=i % 24)).isoformat(),
            "text": "\n\n".join(paras)}))
    return lines


def write_corpus(path: Path, start: int, n: int, seed: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(corpus_lines(start, n, seed)) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- CLI runs


def cli_env(warehouse: Path, api_url: str | None, state_home: Path | None = None, **extra: str) -> dict:
    env = dict(os.environ)
    env.update({
        "NEWSETL_WAREHOUSE": str(warehouse), "NEWSETL_WORKERS": "1", "NEWSETL_PROGRESS": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
        "PYTHONUNBUFFERED": "1",
    })
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if state_home is not None:
        env["NEWSETL_STATE_HOME"] = str(state_home)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def newsetl_cmd(*args: str) -> list[str]:
    if NEWSETL_BIN.exists():
        return [str(NEWSETL_BIN), *args]
    return [sys.executable, "-m", "newsetl.cli", *args]


def start_run(sources: list[str], env: dict, *extra: str) -> subprocess.Popen:
    """`newsetl run` in its own process group; output goes to temp files (a pipe nobody
    reads while we poll could fill up and stall the run)."""
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    p = subprocess.Popen(newsetl_cmd("run", *sources, *extra), env=env, cwd=str(ROOT),
                         stdout=out, stderr=err, start_new_session=True)
    p._rel_files = (out, err)  # type: ignore[attr-defined]
    return p


def finish(p: subprocess.Popen, timeout: float | None = None) -> tuple[str, str]:
    """Wait for a run started by start_run; its (stdout, stderr)."""
    p.wait(timeout)
    texts = []
    for f in p._rel_files:  # type: ignore[attr-defined]
        f.seek(0)
        texts.append(f.read().decode("utf-8", "replace"))
        f.close()
    return texts[0], texts[1]


def run_to_end(sources: list[str], env: dict, *extra: str, timeout: float = 900) -> subprocess.CompletedProcess:
    p = start_run(sources, env, *extra)
    try:
        out, err = finish(p, timeout)
    except subprocess.TimeoutExpired:
        kill_group(p)
        finish(p)
        raise
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def kill_group(p: subprocess.Popen) -> None:
    """SIGKILL a run we started (its own process group) and reap it."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


@contextlib.contextmanager
def prefect_server(home: Path, timeout: float = 180):
    """One local Prefect API for many CLI subprocesses (each run would otherwise start
    its own temporary server): `prefect server start` under `home`, stopped at the end."""
    from newsetl.prefect_server import LocalPrefectServer

    server = LocalPrefectServer(prefect_home=str(home))
    try:
        yield server.start(timeout)
    finally:
        server.stop(grace=10.0)


# --------------------------------------------------------------------------- warehouse checks


@dataclass
class WarehouseState:
    opens: bool = False
    articles: int = -1
    distinct_articles: int = -1
    without_paragraphs: int = -1
    parquet_files: int = 0
    bad_parquet: list = field(default_factory=list)  # *.parquet files that do not read
    temp_files: list = field(default_factory=list)  # leftovers of an interrupted write
    parquet_articles: int | None = None  # rows in parquet/articles read as a hive dataset
    error: str = ""


def inspect_warehouse(wh: Path) -> WarehouseState:
    import duckdb
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    st = WarehouseState()
    try:
        con = duckdb.connect(str(wh / "news.duckdb"), read_only=True)
        try:
            st.articles = con.execute("select count(*) from articles").fetchone()[0]
            st.distinct_articles = con.execute("select count(distinct article_id) from articles").fetchone()[0]
            st.without_paragraphs = con.execute(
                "select count(*) from articles a where not exists "
                "(select 1 from paragraphs p where p.article_id = a.article_id)").fetchone()[0]
        finally:
            con.close()
        st.opens = True
    except Exception as exc:  # noqa: BLE001 - reported, the caller asserts
        st.error = f"{type(exc).__name__}: {exc}"
    pdir = wh / "parquet"
    if pdir.exists():
        for f in sorted(pdir.rglob("*")):
            if not f.is_file():
                continue
            if f.name.endswith(".tmp") or ".tmp" in f.suffixes:
                st.temp_files.append(str(f.relative_to(wh)))
                if not f.name.startswith((".", "_")):
                    st.bad_parquet.append(f"{f.relative_to(wh)} (temp file visible to dataset readers)")
                continue
            if f.suffix == ".parquet":
                st.parquet_files += 1
                try:
                    pq.read_table(f)
                except Exception as exc:  # noqa: BLE001
                    st.bad_parquet.append(f"{f.relative_to(wh)}: {type(exc).__name__}")
        adir = pdir / "articles"
        if adir.exists():
            try:
                st.parquet_articles = pads.dataset(str(adir), format="parquet", partitioning="hive").count_rows()
            except Exception as exc:  # noqa: BLE001
                st.bad_parquet.append(f"parquet/articles dataset: {type(exc).__name__}: {exc}")
    return st


# --------------------------------------------------------------------------- faults: SIGKILL


@dataclass
class KillStats:
    kills: int = 0
    finished_before_kill: int = 0
    old_state: int = 0
    new_state: int = 0
    other_state: int = 0  # anything else is a lost or half-landed batch
    db_unreadable: int = 0
    articles_without_paragraphs: int = 0
    bad_parquet: int = 0
    temp_leftovers: int = 0
    parquet_lagging: int = 0  # DB published, Parquet export not yet: fixed by the next run
    stale_lock_text: int = 0
    blocked_next_runs: int = 0
    per_step: dict = field(default_factory=dict)  # landing step -> kills and the states they left
    recoveries: int = 0
    recovery_attempts: int = 0
    articles_lost: int = 0
    articles_duplicated: int = 0
    expected_old: int = 0
    expected_new: int = 0
    run_seconds: float = 0.0
    delays: list = field(default_factory=list)
    problems: list = field(default_factory=list)


def _restore(snapshot: Path, wh: Path) -> None:
    shutil.rmtree(wh, ignore_errors=True)
    shutil.copytree(snapshot, wh)


def kill_loop(work: Path, api_url: str | None, kills: int = 10, recover_every: int = 3,
              n_old: int = 20, n_new: int = 20, batch_size: int = 5, seed: int = 7,
              log=print, steps: tuple[str, ...] = ()) -> KillStats:
    """Land n_old articles (the previous state), then run old+new n times and SIGKILL the
    run at a random point between the moment it opens its staging copy and the time a
    whole run takes; check the warehouse after every kill, and run a recovery to the end
    every `recover_every` kills (and after the last). With `steps` (landing step names,
    newsetl.warehouse.STEPS), kill i instead makes the writer SIGKILL itself at step
    steps[i % len(steps)] (NEWSETL_FAULT_AT), so every step is hit; the report counts
    kills per step and the state each left."""
    rng = random.Random(seed)
    work.mkdir(parents=True, exist_ok=True)
    src = work / "in"
    wh = work / "wh"
    snap = work / "wh.previous"
    stats = KillStats(expected_old=n_old, expected_new=n_old + n_new)
    env = cli_env(wh, api_url, work / "state-home", NEWSETL_BATCH_SIZE=str(batch_size))
    write_corpus(src / "old.jsonl", 0, n_old, seed)
    # The setup run (n_old articles) also calibrates the kill window for runs that land
    # n_new more: when does the writer open its staging copy, how long is a whole run?
    t0 = time.monotonic()
    p = start_run([str(src)], env)
    staging = wh / "state" / "catalog.staging.duckdb"
    t_stage = None
    while p.poll() is None:
        if t_stage is None and staging.exists():
            t_stage = time.monotonic() - t0
        time.sleep(0.05)
    total = (time.monotonic() - t0) * max(1.0, n_new / max(1, n_old)) ** 0.5
    _out, err = finish(p)
    if p.returncode != 0:
        raise RuntimeError(f"setup run failed ({p.returncode}): {err[-2000:]}")
    shutil.copytree(wh, snap)
    write_corpus(src / "new.jsonl", n_old, n_new, seed)
    stats.run_seconds = total
    t_stage = t_stage if t_stage is not None else total * 0.3
    log(f"kill loop: whole run ~{total:.1f} s, staging copy opened at {t_stage:.1f} s")

    def recover(label: str) -> None:
        stats.recovery_attempts += 1
        r = run_to_end([str(src)], env)
        st = inspect_warehouse(wh)
        ok = (r.returncode == 0 and st.opens and st.articles == stats.expected_new
              and st.distinct_articles == st.articles and st.without_paragraphs == 0
              and not st.bad_parquet and st.parquet_articles == st.articles)
        if r.returncode == 3:
            stats.blocked_next_runs += 1
        if ok:
            stats.recoveries += 1
        else:
            stats.problems.append(f"recovery after {label}: rc={r.returncode} state={st} "
                                  f"stderr={r.stderr[-400:]}")
        stats.articles_lost += max(0, stats.expected_new - max(st.distinct_articles, 0))
        stats.articles_duplicated += max(0, st.articles - st.distinct_articles)
        _restore(snap, wh)

    db = wh / "news.duckdb"
    for i in range(kills):
        step = steps[i % len(steps)] if steps else None
        # Every third kill aims at the end of the run: just after the staging copy was
        # renamed over news.duckdb, while the Parquet export runs.
        after_publish = i % 3 == 2 and step is None
        delay = rng.uniform(max(0.0, t_stage - 0.5), total * 1.1)
        ino = db.stat().st_ino
        p = start_run([str(src)], dict(env, NEWSETL_FAULT_AT=step) if step else env)
        t0 = time.monotonic()
        if step is not None:
            p.wait(timeout=900)
            delay = time.monotonic() - t0
        elif after_publish:
            grace = rng.uniform(0.0, 0.6)
            while p.poll() is None:
                with contextlib.suppress(OSError):
                    if db.stat().st_ino != ino:
                        break
                time.sleep(0.01)
            time.sleep(grace)
            delay = time.monotonic() - t0
        else:
            while p.poll() is None and time.monotonic() - t0 < delay:
                time.sleep(0.02)
        stats.delays.append(round(delay, 2))
        if p.poll() is not None:
            _out, err = finish(p)
            stats.finished_before_kill += 1
            if p.returncode == 3:
                stats.blocked_next_runs += 1
                stats.problems.append(f"kill {i}: run refused as busy after a killed run: {err[-300:]}")
        else:
            kill_group(p)
            finish(p)
            stats.kills += 1
        if step is not None and p.returncode == -9:
            kill_group(p)  # the writer killed itself; its children go with the group
            stats.finished_before_kill -= 1
            stats.kills += 1
        lock = wh / "state" / "writer.lock"
        if lock.exists() and lock.read_text().strip():
            stats.stale_lock_text += 1
        st = inspect_warehouse(wh)
        if step is not None:
            left = ("unreadable" if not st.opens else "old" if st.articles == stats.expected_old
                    else "new" if st.articles == stats.expected_new else "other")
            per = stats.per_step.setdefault(step, {"kills": 0, "old": 0, "new": 0, "other": 0, "unreadable": 0,
                                                   "parquet_lagging": 0})
            per["kills"] += p.returncode == -9
            per[left] += 1
            per["parquet_lagging"] += bool(st.opens and st.parquet_articles is not None
                                           and st.parquet_articles != st.articles)
        if not st.opens:
            stats.db_unreadable += 1
            stats.problems.append(f"kill {i} at {delay:.2f}s: database does not open: {st.error}")
        elif st.articles == stats.expected_old:
            stats.old_state += 1
        elif st.articles == stats.expected_new:
            stats.new_state += 1
        else:
            stats.other_state += 1
            stats.problems.append(f"kill {i} at {delay:.2f}s: {st.articles} articles, "
                                  f"expected {stats.expected_old} or {stats.expected_new}")
        if st.without_paragraphs:
            stats.articles_without_paragraphs += st.without_paragraphs
            stats.problems.append(f"kill {i}: {st.without_paragraphs} articles without paragraphs")
        if st.bad_parquet:
            stats.bad_parquet += len(st.bad_parquet)
            stats.problems.append(f"kill {i}: unreadable parquet {st.bad_parquet[:3]}")
        stats.temp_leftovers += len(st.temp_files)
        if st.opens and st.parquet_articles is not None and st.parquet_articles != st.articles:
            stats.parquet_lagging += 1
        log(f"kill {i + 1}/{kills} at {delay:.2f} s: {st.articles} articles, "
            f"parquet {st.parquet_articles}, temp files {len(st.temp_files)}")
        if (i + 1) % recover_every == 0 or i == kills - 1:
            recover(f"kill {i}")
        elif st.articles == stats.expected_new:
            _restore(snap, wh)  # keep killing runs that have a batch to land
    return stats


# --------------------------------------------------------------------------- concurrency


@dataclass
class ConcurrencyStats:
    pairs: int = 0
    one_ran_other_refused: int = 0
    refused_with_clear_message: int = 0
    waited_and_completed: int = 0
    both_completed_unexpectedly: int = 0
    corrupt_after: int = 0
    reader_queries: int = 0
    reader_failures: int = 0
    reader_errors: list = field(default_factory=list)
    problems: list = field(default_factory=list)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 300) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if path.exists():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def concurrent_runs(work: Path, api_url: str | None, n_articles: int = 20, log=print,
                    with_wait: bool = True) -> ConcurrencyStats:
    """Run A holds the writer lock; run B starts while A lands: without --wait B must stop
    with exit 3 and a message naming another run; with --wait B must finish after A.
    Meanwhile read-only queries loop on the warehouse and must all succeed."""
    from newsetl.query import run_query
    from newsetl.settings import Settings

    stats = ConcurrencyStats()
    src = work / "in"
    wh = work / "wh"
    write_corpus(src / "first.jsonl", 0, n_articles)
    env = cli_env(wh, api_url, work / "state-home", NEWSETL_BATCH_SIZE="5")
    r = run_to_end([str(src)], env)  # a warehouse for the readers to read
    if r.returncode != 0:
        raise RuntimeError(f"setup run failed: {r.stderr[-1500:]}")
    settings = Settings(warehouse=wh, workers=1, progress=False)

    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                res = run_query("select count(*) as n from articles", settings, out=io.BytesIO())
                n = res.table.column(0)[0].as_py()
                if n < n_articles:
                    raise AssertionError(f"reader saw {n} articles, fewer than the {n_articles} landed before")
            except Exception as exc:  # noqa: BLE001
                stats.reader_failures += 1
                if len(stats.reader_errors) < 5:
                    stats.reader_errors.append(f"{type(exc).__name__}: {exc}")
            stats.reader_queries += 1
            time.sleep(0.05)

    modes = ["refuse"] + (["wait"] if with_wait else [])
    for k, mode in enumerate(modes):
        write_corpus(src / f"more{k}.jsonl", n_articles * (k + 1), n_articles)
        t = threading.Thread(target=reader, daemon=True)
        stop.clear()
        t.start()
        hold = wh / "state" / "hold"
        if mode == "refuse":
            # A keeps the lock (waits at its write-files step) until B has been turned away:
            # without it, a fast A could finish before B's process got to the lock.
            hold.touch()
        a = start_run([str(src)], env if mode != "refuse" else dict(env, NEWSETL_FAULT_AT="write-files:hold"))
        lock_taken = _wait_for(wh / "state" / "catalog.staging.duckdb", a)
        extra = ("--wait", "600") if mode == "wait" else ()
        b = start_run([str(src)], env, *extra)
        out_b, err_b = finish(b, 900)
        hold.unlink(missing_ok=True)
        out_a, err_a = finish(a, 900)
        stop.set()
        t.join()
        stats.pairs += 1
        if mode == "refuse":
            if a.returncode == 0 and b.returncode == 3:
                stats.one_ran_other_refused += 1
                if "another newsetl run" in err_b:
                    stats.refused_with_clear_message += 1
                else:
                    stats.problems.append(f"refusal message unclear: {err_b[-300:]}")
            elif a.returncode == 0 and b.returncode == 0:
                stats.both_completed_unexpectedly += 1
                stats.problems.append(f"second run was not refused (lock seen: {lock_taken})")
            else:
                stats.problems.append(f"refuse pair: rc A={a.returncode} B={b.returncode} {err_a[-300:]} {err_b[-300:]}")
        else:
            if a.returncode == 0 and b.returncode == 0:
                stats.waited_and_completed += 1
            else:
                stats.problems.append(f"wait pair: rc A={a.returncode} B={b.returncode} {err_b[-300:]}")
        st = inspect_warehouse(wh)
        expected = n_articles * (k + 2)
        if not st.opens or st.articles != expected or st.distinct_articles != st.articles or st.bad_parquet \
                or st.without_paragraphs or st.parquet_articles != st.articles:
            stats.corrupt_after += 1
            stats.problems.append(f"after {mode} pair: {st} (expected {expected} articles)")
        log(f"concurrent ({mode}): A rc={a.returncode} B rc={b.returncode}; {st.articles} articles; "
            f"{stats.reader_queries} reader queries, {stats.reader_failures} failed")
    return stats


# --------------------------------------------------------------------------- hostile input


def nested_divs(n: int) -> str:
    return "<html><body>" + "<div>" * n + "<p>Deep inside the nest there is a sentence.</p>" + "</div>" * n + "</body></html>"


def quadratic_blowup(entity_chars: int = 50_000, refs: int = 20_000) -> bytes:
    """One big entity referenced many times (no nesting: passes naive nesting limits)."""
    return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{"a" * entity_chars}">]>'
            f'<rss version="2.0"><channel><title>Q</title><item><title>q</title><description>'
            f'{"&a;" * refs}</description></item></channel></rss>').encode()


def big_html(target_bytes: int) -> bytes:
    """A plausible but huge article page of about target_bytes."""
    para = ("<p>The council met again on Thursday to debate the harbour budget, and members "
            "of the public filled the gallery to hear the arguments for and against.</p>\n")
    n = max(1, target_bytes // len(para))
    return ("<html><head><title>Huge page</title></head><body><article><h1>Huge page</h1>\n"
            + para * n + "</article></body></html>").encode()


def make_warc(records: list[tuple[str, bytes]], gz: bool = False) -> bytes:
    """A WARC (optionally gzipped per record) of HTML 200 responses (url, html body)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)
    for url, body in records:
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    return buf.getvalue()


ARTICLE_HTML = ("<html><head><title>Port strike ends</title></head><body><article><h1>Port strike ends</h1>"
                "<p>Dock workers in Rotterdam returned to work on Monday after a three-week strike over pay.</p>"
                "<p>The union said the new agreement raises wages by six percent over two years.</p>"
                "</article></body></html>").encode()


def hostile_inputs(tmp: Path, big_mb: int = 50) -> dict[str, list[Path]]:
    """Write hostile files by category into tmp (large ones generated here, never committed)."""
    tmp.mkdir(parents=True, exist_ok=True)
    out: dict[str, list[Path]] = {}

    def put(cat: str, name: str, data: bytes) -> None:
        p = tmp / cat / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        out.setdefault(cat, []).append(p)

    put("empty", "empty.txt", b"")
    put("empty", "empty.html", b"")
    put("empty", "empty.jsonl", b"")
    put("empty", "empty.rss", b"")
    put("empty", "empty.warc", b"")
    put("whitespace", "ws.txt", b"  \n\t\r\n   \n")
    put("whitespace", "ws.html", b"\n\n   \n")
    put("whitespace", "ws.jsonl", b"\n\n\n")
    put("whitespace", "ws.xml", b"   \n")
    rnd = random.Random(11)
    binary = bytes(rnd.randrange(256) for _ in range(4096))
    for ext in ("txt", "html", "jsonl", "rss", "warc", "txt.gz"):
        put("binary", f"random.{ext}", binary)
    put("binary", "png.txt", b"\x89PNG\r\n\x1a\n" + binary)
    put("invalid-utf8", "bad.txt", "Caf\u00e9 au lait in the morning, ".encode() * 5 + b"\xff\xfe\xc3\x28 broken \xa0\xa1 bytes here.\n")
    put("invalid-utf8", "bad.jsonl", b'{"text": "ok text \xff\xfe broken bytes in a json line that is long enough"}\n')
    put("invalid-utf8", "bad.html", b"<html><body><p>Broken \xc3\x28 bytes \xff in a page about the council budget.</p></body></html>")
    put("mixed-encoding", "mixed.txt", "Déjà vu in the café, said the mayor of Málaga on Monday.\n".encode()
        + "Straße und Größe waren Thema beim Treffen in München.\n".encode("latin-1")
        + "Ещё одна строка текста.\n".encode("cp1251"))
    put("mixed-encoding", "mixed.html", b"<html><head><meta charset='utf-8'></head><body><p>"
        + "Caf\u00e9 society met in Lyon on Friday to talk about the price of bread.".encode()
        + "</p><p>".encode() + "Ni\u00f1o and se\u00f1or discussed the weather at length.".encode("cp1252")
        + b"</p></body></html>")
    put("nested-html", "nested.html", nested_divs(100_000).encode())
    put("one-mb-paragraph", "onemb.txt", (("word " * 9 + "sentence. ") * 20_000).encode()[:1_000_000])
    put("huge-html", f"huge{big_mb}mb.html", big_html(big_mb * 1024 * 1024))
    for f in ("billion_laughs.rss", "xxe.rss", "xxe_parameter.rss", "xxe_doctype_system.rss"):
        src = HOSTILE / f
        if src.exists():
            put("xml-entities", f, src.read_bytes())
    put("xml-entities", "quadratic_blowup.rss", quadratic_blowup())
    whole = make_warc([("https://example.com/one", ARTICLE_HTML), ("https://example.com/two", ARTICLE_HTML + b" ")])
    put("truncated-warc", "cut_mid_record.warc", whole[: len(whole) - 200])
    put("truncated-warc", "cut_in_header.warc", whole[:40])
    gzw = make_warc([("https://example.com/one", ARTICLE_HTML), ("https://example.com/two", ARTICLE_HTML + b" ")], gz=True)
    put("truncated-warc", "cut.warc.gz", gzw[: len(gzw) - 50])
    for f in ("es_article.txt", "de_article.txt", "fr_article.html"):
        src = HOSTILE / f
        if src.exists():
            put("non-english", f, src.read_bytes())
    return out


@dataclass
class InputOutcome:
    category: str
    ref: str
    landed: int = 0
    rejected: int = 0
    reasons: list = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""
    languages: list = field(default_factory=list)
    skipped: bool = False  # a WARC whose records are all non-HTML/non-200 (normal crawl traffic)


def read_and_prepare(path: Path, category: str) -> InputOutcome:
    """One input file through its reader and process.prepare (no enrichment)."""
    from newsetl import process
    from newsetl.records import Reject
    from newsetl.sources.files import iter_file

    o = InputOutcome(category, path.name)
    t = time.monotonic()
    try:
        items = list(iter_file(path, "hostile"))
        docs = [d for d in items if not isinstance(d, Reject)]
        rejects = [d for d in items if isinstance(d, Reject)]
        if docs:
            prep = process.prepare(docs, {})
            rejects += prep.rejects
            o.landed = prep.articles.height
            # language is detected in the enrichment step when the source gave none
            o.languages = process.fill_languages(prep.articles, prep.paragraphs)["language"].to_list()
        o.rejected = len(rejects)
        o.reasons = [r.reason for r in rejects]
        if not items:
            if path.name.lower().endswith((".warc", ".warc.gz")) and path.stat().st_size > 0:
                o.skipped = True  # warc.py skips non-HTML / non-200 records by design
            else:
                o.error = "no article and no reject for this input"
    except Exception as exc:  # noqa: BLE001 - counted as a crash
        o.error = f"{type(exc).__name__}: {exc}"
    o.seconds = time.monotonic() - t
    return o


# Reader -> (file name suffix, seed fixture suffixes): every reader gets its own inputs.
FUZZ_READERS = {
    "txt": (".txt", (".txt",)),
    "html": (".html", (".html",)),
    "jsonl": (".jsonl", (".jsonl",)),
    "feed": (".rss", (".xml", ".rss", ".json")),
    "warc": (".warc", ()),
    "gzip": (".txt.gz", (".txt",)),
}


def fuzz_inputs(n: int, seed: int = 3) -> list[tuple[str, str, bytes]]:
    """`n` generated inputs for EACH reader (FUZZ_READERS): random bytes (30%) and mutated
    fixtures of that reader's kind; (category = reader, filename, data)."""
    import gzip

    rng = random.Random(seed)
    seeds: dict[str, list[bytes]] = {}
    for d in (ROOT / "tests" / "fixtures" / "e2e", ROOT / "tests" / "fixtures" / "web", HOSTILE):
        if d.exists():
            for p in sorted(d.iterdir()):
                for reader, (_, exts) in FUZZ_READERS.items():
                    if p.suffix in exts:
                        seeds.setdefault(reader, []).append(p.read_bytes())
    seeds["warc"] = [make_warc([("https://example.com/one", ARTICLE_HTML)])]
    out = []
    for reader, (ext, _) in FUZZ_READERS.items():
        for i in range(n):
            if rng.random() < 0.3 or not seeds.get(reader):
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 3000)))
            else:
                data = bytearray(rng.choice(seeds[reader]))
                for _ in range(rng.randrange(1, 8)):
                    op = rng.random()
                    if not data:
                        break
                    pos = rng.randrange(len(data))
                    if op < 0.4:
                        data[pos] = rng.randrange(256)
                    elif op < 0.6:
                        del data[pos: pos + rng.randrange(1, 64)]
                    elif op < 0.8:
                        data[pos:pos] = rng.choice([b"\x00", b"\xff\xfe", b"<div>" * 50, b"&lol;", b"]]>",
                                                    b"\r\n\r\n", b"{"])
                    else:
                        del data[pos:]
                data = bytes(data)
                if reader == "gzip":
                    data = gzip.compress(data, mtime=0) if rng.random() < 0.8 else data[: rng.randrange(1, 40)]
            out.append((reader, f"fz{i}{ext}", data))
    return out


def non_english_cli(work: Path, api_url: str | None) -> dict:
    """es/de articles through the real CLI: their language, and no English-only enrichment."""
    import duckdb

    src = work / "in"
    src.mkdir(parents=True, exist_ok=True)
    for f in ("es_article.txt", "de_article.txt"):
        shutil.copy(HOSTILE / f, src / f)
    write_corpus(src / "en.jsonl", 0, 2)
    wh = work / "wh"
    r = run_to_end([str(src)], cli_env(wh, api_url, work / "state-home"))
    con = duckdb.connect(str(wh / "news.duckdb"), read_only=True)
    try:
        rows = con.execute("""
            select regexp_extract(input_ref, '[^/]+$') as f, language,
                   (select count(*) from entity_mentions m where m.article_id = a.article_id) as mentions,
                   sentiment, tone
            from articles a order by f""").fetchall()
    finally:
        con.close()
    return {"rc": r.returncode, "rows": rows, "stderr": r.stderr[-500:]}


# --------------------------------------------------------------------------- transforms


HARD_TIMEOUT_S = 30


class Hang(Exception):
    """Raised by hard_timeout when the guarded call has not returned in time."""


@contextlib.contextmanager
def hard_timeout(seconds: float = HARD_TIMEOUT_S):
    """A hard limit (SIGALRM, main thread only) on the block: raises Hang when exceeded.
    Also used by tests/test_fuzz_*.py so a hang fails a test instead of stalling the suite.
    A timer already set (pytest-timeout's, under pytest) is put back afterwards, less the
    time the block took."""

    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    outer, _ = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 0.001))


def _transform_calls(text: str, html: str | None = None):
    import polars as pl

    from newsetl.transforms.boilerplate import classify_paragraphs
    from newsetl.transforms.entities import resolve_mentions
    from newsetl.transforms.html_extract import extract_html
    from newsetl.transforms.quotes import extract_quotes
    from newsetl.transforms.sentences import split_sentences
    from newsetl.transforms.text import split_paragraphs

    para = pl.DataFrame({"article_id": ["a"], "paragraph_index": [0], "text": [text]},
                        schema={"article_id": pl.String, "paragraph_index": pl.Int32, "text": pl.String})
    words = text.split()
    name = next((w.strip(".,\"'") for w in words if w[:1].isupper()), "Smith") or "Smith"
    pos = max(0, text.find(name))
    ments = pl.DataFrame({"article_id": ["a"], "paragraph_index": [0], "start_char": [pos],
                          "end_char": [pos + len(name)], "text": [name], "label": ["PERSON"]},
                         schema={"article_id": pl.String, "paragraph_index": pl.Int32, "start_char": pl.Int32,
                                 "end_char": pl.Int32, "text": pl.String, "label": pl.String})
    arts = pl.DataFrame({"article_id": ["a"], "source": ["s"], "title": ["t"]})
    return [
        ("split_paragraphs", lambda: split_paragraphs(pl.DataFrame({"article_id": ["a"], "text": [text]}))),
        ("split_sentences", lambda: split_sentences(para)),
        ("classify_paragraphs", lambda: classify_paragraphs(para.with_columns(pl.lit(None, pl.String).alias("tag")), arts)),
        ("extract_html", lambda: extract_html(html if html is not None else text, None)),
        ("resolve_mentions", lambda: resolve_mentions(ments)),
        ("extract_quotes", lambda: extract_quotes(para.with_columns(pl.lit("body").alias("kind")), resolve_mentions(ments))),
    ]


def transform_timings(limit: float = 30.0) -> list[tuple[str, str, str]]:
    """The big inputs through every transform, each with a time limit: (input, transform,
    seconds or 'TIMEOUT' or the exception)."""
    one_mb = ("The harbour council said on Monday that \u201cthe budget will hold,\u201d and Mr. Smith agreed. " * 12_000)[:1_000_000]
    nested = nested_divs(100_000)
    out = []
    for label, text, html in (("1 MB paragraph", one_mb, None), ("100k nested divs", "Deep text. " * 10, nested)):
        for name, call in _transform_calls(text, html):
            t = time.monotonic()
            try:
                with hard_timeout(limit):
                    call()
                res = f"{time.monotonic() - t:.1f} s"
            except Hang:
                res = f"TIMEOUT (> {limit:.0f} s)"
            except Exception as exc:  # noqa: BLE001
                res = f"{type(exc).__name__}: {str(exc)[:60]}"
            out.append((label, name, res))
    return out


def fuzz_transforms(n: int, seed: int = 5, limit: float = 20.0) -> tuple[int, list[str]]:
    """Random news-like text through every transform: (calls, failures)."""
    rng = random.Random(seed)
    alphabet = list("abc XYZ .!?;:,\"'\u201c\u201d\u2018\u2019\u00ab\u00bb\u2014-()[]\n\t\u00a0\u200b\u202e\x00e\u65e5") + \
        ["Mr.", "U.S.", "...", "said", "<p>", "</p>", "<div>", "&amp;", "<script>", "Trump", "Kim Jong-un"]
    calls, failures = 0, []
    for i in range(n):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 300)))
        for name, call in _transform_calls(text):
            calls += 1
            try:
                with hard_timeout(limit):
                    call()
            except Hang:
                failures.append(f"{name}: timeout on {text[:60]!r}")
            except Exception as exc:  # noqa: BLE001
                failures.append(f"{name}: {type(exc).__name__}: {exc} on {text[:60]!r}")
    return calls, failures


# --------------------------------------------------------------------------- hostile sources and SQL

HOSTILE_SQL = [
    "select * from read_csv('/etc/passwd')",
    "select * from read_csv_auto('/etc/passwd')",
    "select * from read_text('/etc/passwd')",
    "select * from read_blob('/etc/passwd')",
    "select * from read_json('/etc/hosts')",
    "select * from read_parquet('/tmp/x.parquet')",
    "select * from glob('/etc/*')",
    "select * from '/etc/passwd'",
    "select * from 'x.csv'",
    "select * from \"data.parquet\"",
    "select * from 'https://example.com/x.parquet'",
    "copy articles to '/tmp/out.csv'",
    "copy (select 1) to '/tmp/out.parquet' (format parquet)",
    "attach '/tmp/other.duckdb' as other",
    "install httpfs",
    "load httpfs",
    "export database '/tmp/dump'",
    "select getenv('HOME')",
    "select current_setting('enable_external_access')",
    "set enable_external_access = true",
    "pragma enable_profiling",
    "create table t as select 1",
    "insert into articles (article_id) values ('x')",
    "drop table articles",
    "select 1; select * from read_csv('/etc/passwd')",
    "select * from query('select * from read_csv(''/etc/passwd'')')",
    "select * from query_table('articles')",
    "with x as (select * from read_csv('/etc/passwd')) select * from x",
    "select (select count(*) from read_csv('/etc/passwd'))",
    "select * from sniff_csv('/etc/passwd')",
    "select * from parquet_metadata('/tmp/x.parquet')",
    "call load_extension('httpfs')",
]


def refused_queries(queries=HOSTILE_SQL) -> tuple[int, list[str]]:
    from newsetl.query import QueryRefused, check_read_only

    refused, slipped = 0, []
    for q in queries:
        try:
            check_read_only(q)
        except QueryRefused:
            refused += 1
            continue
        slipped.append(q)
    return refused, slipped


class _PageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path.startswith("/robots.txt"):
            body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
        else:
            body, ctype = ARTICLE_HTML, "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def local_page_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/article.html"
    finally:
        srv.shutdown()
        srv.server_close()


def ssrf_cli(work: Path, api_url: str | None) -> dict:
    """A loopback page URL via the real CLI, guard on (default) and off."""
    import duckdb

    out = {}
    with local_page_server() as url:
        for label, extra in (("guard on", {}), ("guard off", {"NEWSETL_BLOCK_PRIVATE_ADDRESSES": "false"})):
            wh = work / label.replace(" ", "-")
            env = cli_env(wh, api_url, work / "state-home", NEWSETL_HTTP_PER_HOST_DELAY="0", **extra)
            env.pop("NEWSETL_BLOCK_PRIVATE_ADDRESSES", None) if not extra else None
            r = run_to_end([url], env)
            rows = {"articles": 0, "rejects": []}
            if (wh / "news.duckdb").exists():
                con = duckdb.connect(str(wh / "news.duckdb"), read_only=True)
                try:
                    rows["articles"] = con.execute("select count(*) from articles").fetchone()[0]
                    rows["rejects"] = con.execute("select input_ref, reason from rejects").fetchall()
                finally:
                    con.close()
            out[label] = {"rc": r.returncode, **rows, "stderr": r.stderr[-500:]}
    return out


BAD_SCHEME_URLS = ["file:///etc/passwd", "ftp://example.com/x.html", "javascript:alert(1)",
                   "gopher://127.0.0.1:70/", "data:text/html,<p>hi</p>"]


def scheme_refusals(settings=None) -> list[tuple[str, str | None]]:
    """(url, refusal reason) from the same guard the fetcher uses."""
    from newsetl.urls import ssrf_refusal

    return [(u, ssrf_refusal(u, block_private=True)) for u in BAD_SCHEME_URLS]


# --------------------------------------------------------------------------- report


def _md_table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=10, help="SIGKILLs at random times")
    ap.add_argument("--step-kills", type=int, default=5,
                    help="SIGKILLs at each landing step (newsetl.warehouse.STEPS), injected by the writer")
    ap.add_argument("--recover-every", type=int, default=5)
    ap.add_argument("--fuzz", type=int, default=300, help="random/mutated inputs through EACH reader")
    ap.add_argument("--big-mb", type=int, default=50)
    ap.add_argument("--write", default=str(ROOT / "docs" / "reliability.md"))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    os.environ.setdefault("NEWSETL_STATE_HOME", str(ROOT / ".state" / "reliability"))
    from newsetl import env as nenv

    nenv.configure(quiet=True)
    t_start = time.monotonic()
    command = "make reliability  (" + " ".join(["python", "scripts/reliability.py", *(argv if argv is not None else sys.argv[1:])]).strip() + ")"
    work = Path(tempfile.mkdtemp(prefix="newsetl-reliability-"))
    problems: list[str] = []
    try:
        # 1. bad input
        print("1. hostile and fuzzed inputs ...", flush=True)
        cats: dict[str, dict] = {}
        crashes = []
        slowest = (0.0, "")
        files = hostile_inputs(work / "hostile", args.big_mb)
        for cat, paths in files.items():
            for p in paths:
                o = read_and_prepare(p, cat)
                c = cats.setdefault(cat, {"tried": 0, "landed": 0, "rejected": 0, "skipped": 0, "crashed": 0, "reasons": set()})
                c["tried"] += 1
                c["landed"] += o.landed
                c["rejected"] += o.rejected
                c["skipped"] += o.skipped
                c["reasons"].update(r[:70] for r in o.reasons)
                if o.error or any(not r for r in o.reasons):
                    c["crashed"] += 1
                    crashes.append(f"{cat}/{p.name}: {o.error or 'reject without reason'}")
                if o.seconds > slowest[0]:
                    slowest = (o.seconds, f"{cat}/{p.name}")
        fz = work / "fuzz"
        fz.mkdir()
        for cat, name, data in fuzz_inputs(args.fuzz, args.seed):
            p = fz / name
            p.write_bytes(data)
            o = read_and_prepare(p, cat)
            c = cats.setdefault(cat, {"tried": 0, "landed": 0, "rejected": 0, "skipped": 0, "crashed": 0, "reasons": set()})
            c["tried"] += 1
            c["landed"] += o.landed
            c["rejected"] += o.rejected
            c["skipped"] += o.skipped
            if o.error or any(not r for r in o.reasons):
                c["crashed"] += 1
                crashes.append(f"{cat}/{name}: {o.error or 'reject without reason'}")
            if o.seconds > slowest[0]:
                slowest = (o.seconds, f"{cat}/{name}")
            p.unlink()
        shutil.rmtree(work / "hostile", ignore_errors=True)
        print("   transforms ...", flush=True)
        t_calls, t_failures = fuzz_transforms(max(10, args.fuzz // 5), args.seed)
        problems += t_failures[:10]
        timings = transform_timings()
        problems += [f"transform {n} on {lab}: {r}" for lab, n, r in timings if not r.endswith(" s")]
        refused, slipped = refused_queries()
        schemes = scheme_refusals()
        problems += crashes
        problems += [f"query not refused: {q}" for q in slipped]
        problems += [f"URL not refused: {u}" for u, why in schemes if not why]

        with prefect_server(work / "prefect") as api:
            print("2. SIGKILL during landing ...", flush=True)
            ks = kill_loop(work / "kill", api, kills=args.kills, recover_every=args.recover_every, seed=args.seed)
            problems += ks.problems
            from newsetl.warehouse import STEPS

            sk = kill_loop(work / "stepkill", api, kills=args.step_kills * len(STEPS), recover_every=len(STEPS),
                           seed=args.seed, steps=STEPS)
            problems += sk.problems
            print("3. concurrent runs and readers ...", flush=True)
            cs = concurrent_runs(work / "conc", api)
            problems += cs.problems + cs.reader_errors
            print("4. non-English and SSRF through the CLI ...", flush=True)
            ne = non_english_cli(work / "lang", api)
            ss = ssrf_cli(work / "ssrf", api)
        ne_ok = ne["rc"] == 0 and {r[0]: r[1] for r in ne["rows"]}.get("es_article.txt") == "es" \
            and {r[0]: r[1] for r in ne["rows"]}.get("de_article.txt") == "de" \
            and all(r[2] == 0 and r[3] is None and r[4] is None for r in ne["rows"] if r[1] in ("es", "de"))
        if not ne_ok:
            problems.append(f"non-English CLI check: {ne}")
        ss_on, ss_off = ss["guard on"], ss["guard off"]
        ssrf_ok = ss_on["articles"] == 0 and any("loopback" in r[1] for r in ss_on["rejects"]) and ss_off["articles"] == 1
        if not ssrf_ok:
            problems.append(f"SSRF CLI check: {ss}")

        # ---- report
        total = {k: sum(c[k] for c in cats.values()) for k in ("tried", "landed", "rejected", "skipped", "crashed")}
        lines = ["# Reliability and security figures", "",
                 f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `{command}` "
                 f"in {time.monotonic() - t_start:.0f} s on {os.cpu_count()} cores. "
                 "Tests with the same checks: `pytest tests/test_fuzz_readers.py tests/test_fuzz_transforms.py "
                 "tests/test_kill_landing.py tests/test_concurrent_runs.py tests/test_hostile.py`.", "",
                 "## Summary (targets: lost 0, duplicated 0, crashes 0)", ""]
        lines += _md_table(["measure", "count"], [
            ["inputs tried (files through readers + prepare)", total["tried"]],
            ["articles landed from them", total["landed"]],
            ["rejects (each with a reason)", total["rejected"]],
            ["mutated WARCs left with only non-HTML/non-200 records (skipped by design)", total["skipped"]],
            ["crashes, hangs or rejects without a reason", total["crashed"]],
            ["random texts through the six transforms: calls / failures", f"{t_calls} / {len(t_failures)}"],
            ["big inputs through transforms over the time limit or failing",
             sum(1 for *_, r in timings if not r.endswith(" s"))],
            ["SIGKILLs injected during runs (random times / at each landing step)", f"{ks.kills} / {sk.kills}"],
            ["articles lost or duplicated after step kills", sk.articles_lost + sk.articles_duplicated],
            ["recovery runs after step kills that completed the batch", f"{sk.recoveries} / {sk.recovery_attempts}"],
            ["runs that finished before their kill time", ks.finished_before_kill],
            ["states after a kill: whole previous / whole new / other", f"{ks.old_state} / {ks.new_state} / {ks.other_state}"],
            ["database unreadable after a kill", ks.db_unreadable],
            ["articles without paragraphs after a kill", ks.articles_without_paragraphs],
            ["unreadable or visible partial Parquet files", ks.bad_parquet],
            ["hidden temp files left by a kill (ignored by readers)", ks.temp_leftovers],
            ["kills after publish, before the Parquet export (next run re-exports)", ks.parquet_lagging],
            ["kills leaving stale writer.lock text (flock released)", ks.stale_lock_text],
            ["next runs blocked by a dead writer", ks.blocked_next_runs],
            ["recovery runs that completed the batch", f"{ks.recoveries} / {ks.recovery_attempts}"],
            ["articles lost", ks.articles_lost],
            ["articles duplicated", ks.articles_duplicated],
            ["concurrent run pairs", cs.pairs],
            ["second run stopped with exit 3 and a clear message", cs.refused_with_clear_message],
            ["second run waited (--wait) and completed", cs.waited_and_completed],
            ["warehouse inconsistent after concurrent runs", cs.corrupt_after],
            ["read-only queries during loads / failed", f"{cs.reader_queries} / {cs.reader_failures}"],
            ["hostile SQL refused", f"{refused} / {len(HOSTILE_SQL)}"],
            ["non-http(s) URLs refused", f"{sum(1 for _, w in schemes if w)} / {len(schemes)}"],
            ["loopback URL refused with guard on / landed with guard off",
             f"{'yes' if ss_on['articles'] == 0 and ss_on['rejects'] else 'NO'} / {'yes' if ss_off['articles'] == 1 else 'NO'}"],
            ["non-English articles landed with language, no English NER/sentiment", "yes" if ne_ok else "NO"],
        ])
        lines += ["", "## Inputs by category", ""]
        lines += _md_table(["category", "tried", "articles landed", "rejected", "skipped WARC", "crashed"],
                           [[k, c["tried"], c["landed"], c["rejected"], c["skipped"], c["crashed"]] for k, c in cats.items()])
        lines += ["", "## Big inputs through each transform (30 s limit each)", ""]
        lines += _md_table(["input", "transform", "result"], [list(t) for t in timings])
        lines += ["", f"Slowest single input: {slowest[1]} ({slowest[0]:.1f} s, reader + prepare).", "",
                  "Reject reasons seen (hostile categories):", ""]
        for k, c in cats.items():
            if c["reasons"]:
                lines.append(f"- {k}: " + "; ".join(f"`{r}`" for r in sorted(c["reasons"])[:4]))
        lines += ["", "## Kills at each landing step", "",
                  "The writer SIGKILLs itself on reaching the step (`NEWSETL_FAULT_AT`); the state is read right "
                  "after (before any repair): old = the whole previous state, new = the whole new one; "
                  "'Hive tree lagging' counts kills after which the directory listing of parquet/articles "
                  "differs from the catalog until the next run or `newsetl repair` finishes the journal.", ""]
        lines += _md_table(["step", "kills", "old", "new", "other", "unreadable", "Hive tree lagging"],
                           [[step, v["kills"], v["old"], v["new"], v["other"], v["unreadable"], v["parquet_lagging"]]
                            for step, v in sk.per_step.items()])
        lines += ["", "## Faults", "",
                  f"{ks.expected_old} articles landed first (previous state), then runs of "
                  f"{ks.expected_new - ks.expected_old} more (batch size 5) killed with SIGKILL at random "
                  f"delays between the staging copy opening and the end of a whole run "
                  f"({ks.run_seconds:.0f} s): {', '.join(f'{d:.1f}' for d in ks.delays)} s. "
                  f"After every kill: DuckDB opened read-only, article count is one of "
                  f"{ks.expected_old}/{ks.expected_new}, every article has paragraphs, every *.parquet reads "
                  "with pyarrow; recovery runs must land everything with Parquet matching DuckDB.", "",
                  "## Hostile SQL", ""]
        lines += [f"- `{q}`" for q in HOSTILE_SQL]
        lines += ["", "## Problems found in this run", ""]
        lines += [f"- {p}" for p in problems[:40]] or ["- none"]
        Path(args.write).parent.mkdir(parents=True, exist_ok=True)
        Path(args.write).write_text("\n".join(lines) + "\n", encoding="utf-8")
        print("\n".join(lines))
        print(f"wrote {args.write} in {time.monotonic() - t_start:.0f} s")
        return 0 if not problems else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
