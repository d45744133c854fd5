"""A shard worker killed in the middle of a batch: the batch completes on a fresh pool (or,
past the retry budget, the run fails and lands nothing); a re-run completes it; nothing is
lost or duplicated. The test kills a real worker process by pid while the batch runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import duckdb
import psutil
import pytest

from tests.conftest import news_jsonl
from tests.crash_hook import crash_on_mark

N_ARTICLES = 48


@pytest.fixture
def corpus(tmp_path) -> Path:
    (tmp_path / "src").mkdir()
    return news_jsonl(tmp_path / "src" / "news.jsonl", N_ARTICLES, spread=True)


def _pool_workers(exclude: set[int]) -> list[psutil.Process]:
    out = []
    for p in psutil.Process().children(recursive=False):
        try:
            if p.pid not in exclude and "spawn_main" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.Error:
            pass
    return out


def _run_and_kill(settings, sources, kill_after_cpu: float = 1.5, find=None):
    """Run the flow in a thread; SIGKILL one pool worker once it is busy. -> (summary|exc, killed pid)"""
    from newsetl.flows.pipeline import run_flow

    before = {p.pid for p in psutil.Process().children()}
    result: dict = {}

    def target():
        try:
            result["summary"] = run_flow(sources=sources, settings=settings)
        except BaseException as exc:  # noqa: BLE001 (the test inspects it)
            result["error"] = exc

    th = threading.Thread(target=target)
    th.start()
    killed = None
    deadline = time.monotonic() + 120
    while th.is_alive() and killed is None and time.monotonic() < deadline:
        for p in (find or _pool_workers)(before):
            try:
                t = p.cpu_times()
                if t.user + t.system >= kill_after_cpu:  # loading the model or enriching: mid-batch
                    os.kill(p.pid, signal.SIGKILL)
                    killed = p.pid
                    break
            except psutil.Error:
                pass
        time.sleep(0.1)
    th.join(timeout=240)
    assert not th.is_alive(), "the run hung after a worker was killed"
    return result, killed


def _state(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "articles": q("select count(*) from articles"),
            "distinct": q("select count(distinct article_id) from articles"),
            "para_dups": q("select count(*) - count(distinct (article_id, paragraph_index)) from paragraphs"),
            "sent_dups": q("select count(*) - count(distinct (article_id, paragraph_index, sentence_index)) from sentences"),
            "orphans": q("select count(*) from paragraphs where article_id not in (select article_id from articles)"),
            "no_paras": q("select count(*) from articles where article_id not in (select article_id from paragraphs)"),
        }
    finally:
        con.close()


# The id each landed article had in its JSONL line.
ARTICLE_IDS = "select json_extract_string(raw_meta, '$.id') from articles"


def _fetch(db: Path, *queries: str) -> list[list[tuple]]:
    """Each query's rows, from the landed catalog."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [con.execute(q).fetchall() for q in queries]
    finally:
        con.close()


def _fault_settings(settings):
    # One batch, four shards on two worker processes.
    return settings.with_(workers=2, batch_size=1000, min_shard_words=0)


def test_killed_worker_batch_completes_on_fresh_pool(settings, corpus, prefect_server):
    from newsetl.flows.pipeline import run_flow
    from newsetl import fanout

    settings = _fault_settings(settings)
    restarts = fanout.pool_restarts
    result, killed = _run_and_kill(settings, [str(corpus)])
    assert killed is not None, "no worker process was seen busy: the test did not exercise a kill"
    assert "error" not in result, result.get("error")
    summary = result["summary"]
    assert fanout.pool_restarts == restarts + 1  # the shards were retried on a fresh pool
    assert summary.status == "completed"
    assert summary.landed["articles"] == N_ARTICLES

    st = _state(settings.db_path)
    assert st == {"articles": N_ARTICLES, "distinct": N_ARTICLES, "para_dups": 0, "sent_dups": 0,
                  "orphans": 0, "no_paras": 0}

    # A re-run finds everything landed: nothing new, nothing duplicated.
    again = run_flow(sources=[str(corpus)], settings=settings.with_(workers=1))
    assert again.articles_unchanged == N_ARTICLES and again.articles_new == 0
    assert _state(settings.db_path) == st


def _marked_corpus(dst: Path, n: int, marked: int, copies: int = 0) -> tuple[Path, list[str]]:
    """n news articles as JSONL, article `marked` with ENRICH_MARK as its last paragraph,
    then `copies` more rows of its text under URLs of their own (syndication).
    -> the file, the marked articles' ids."""
    path = news_jsonl(dst, n, spread=True)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows[marked]["text"] += "\n\n" + crash_on_mark.ENRICH_MARK
    rows += [{**rows[marked], "id": f"{rows[marked]['id']}-copy-{k}", "url": f"https://copies.example.net/{k}"}
             for k in range(copies)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path, [str(rows[marked]["id"])] + [str(r["id"]) for r in rows[n:]]


def test_article_that_kills_its_enrichment_worker_is_rejected_and_the_rest_lands(settings, tmp_path, prefect_server,
                                                                                 monkeypatch):
    from newsetl import fanout
    from newsetl.flows.pipeline import CRASHED_ARTICLE, run_flow

    n = 8
    # With a copy of the marked text: the run enriches a text once and copies its rows
    # (process.CopyMemo), so the copy never reaches a worker; it is set aside with it.
    src, marked_ids = _marked_corpus(tmp_path / "news.jsonl", n, marked=5, copies=1)
    settings = _fault_settings(settings)
    monkeypatch.setattr(fanout, "load_models", partial(_load_models_then, "install_enrich"))
    restarts = fanout.pool_restarts
    summary = run_flow(sources=[str(src)], settings=settings)

    assert summary.status == "completed"
    assert summary.landed["articles"] == n - 1
    assert summary.rejects == 2 and {r.reason for r in summary.reject_samples} == {CRASHED_ARTICLE}, repr(summary)
    # The marked shard died with the others, again on its retry, then alone, then as the
    # half that holds the article.
    assert fanout.pool_restarts - restarts >= 4
    rejects, ids = _fetch(settings.db_path, "select input_ref, reason from rejects", ARTICLE_IDS)
    ids = {r[0] for r in ids}
    assert len(rejects) == 2 and {r[1] for r in rejects} == {CRASHED_ARTICLE}
    assert all(r[0].startswith(str(src)) for r in rejects)
    assert not ids & set(marked_ids) and len(ids) == n - 1
    st = _state(settings.db_path)
    assert st == {"articles": n - 1, "distinct": n - 1, "para_dups": 0, "sent_dups": 0, "orphans": 0, "no_paras": 0}

    # No longer fatal: a re-run lands both, clears their rejects, duplicates nothing.
    monkeypatch.undo()
    again = run_flow(sources=[str(src)], settings=settings)
    assert again.status == "completed" and again.articles_new == 2 and again.articles_unchanged == n - 1
    st = _state(settings.db_path)
    assert st["articles"] == st["distinct"] == n + 1
    assert st["para_dups"] == st["sent_dups"] == st["orphans"] == st["no_paras"] == 0
    assert _fetch(settings.db_path, "select count(*) from rejects") == [[(0,)]]


def test_a_crash_loop_in_enrichment_lands_nothing_and_rerun_completes(settings, corpus, prefect_server,
                                                                      monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    from newsetl.flows.pipeline import run_flow
    from newsetl import fanout

    settings = _fault_settings(settings)
    monkeypatch.setattr(fanout, "load_models", partial(_load_models_then, "install_enrich", every=True))
    monkeypatch.setattr(fanout, "MAX_CRASHED_ITEMS", 1)  # the second article that dies alone ends it
    restarts = fanout.pool_restarts
    with pytest.raises(BrokenProcessPool):
        run_flow(sources=[str(corpus)], settings=settings)
    assert fanout.pool_restarts > restarts
    # Whole batch or nothing: nothing of the failed run is visible, no staging left behind.
    assert not settings.db_path.exists()
    assert not (settings.state_dir / "catalog.staging.duckdb").exists()
    assert not list(settings.state_dir.glob("run-*"))

    monkeypatch.undo()
    again = run_flow(sources=[str(corpus)], settings=settings)
    assert again.status == "completed" and again.articles_new == N_ARTICLES
    st = _state(settings.db_path)
    assert st["articles"] == st["distinct"] == N_ARTICLES
    assert st["para_dups"] == st["sent_dups"] == st["orphans"] == 0


def _own_paragraphs(path: Path) -> Path:
    """The JSONL corpus at `path` with every paragraph numbered by article and place, so no
    two paragraphs are the same text."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for i, row in enumerate(rows):
        paras = [p for p in row["text"].split("\n") if p.strip()]
        row["text"] = "\n\n".join(f"{p.strip()} (Story {i}, part {k}.)" for k, p in enumerate(paras))
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _dask_workers(exclude: set[int]) -> list[psutil.Process]:
    """Dask worker processes: LocalCluster keeps its nannies in this process and spawns
    each worker as a child process."""
    return _pool_workers(exclude)


def test_killed_dask_worker_shards_rerun_elsewhere(settings, tmp_path, prefect_server, monkeypatch):
    settings = _fault_settings(settings).with_(dask_address="local:2")
    import newsetl.fanout as ex

    # Kill a Dask worker (not its nanny) once it is busy; the scheduler reruns its shards.
    # A Dask worker loads its models at its first shard (3 s of CPU is past that). The
    # fixture articles of a machine without ../shared share most paragraphs, which the NER
    # reads once: each paragraph is made its own text, so the workers stay busy past 3 s
    # there too (48 fixture articles peaked at 2.5-2.9 s of CPU per worker).
    n = 2 * N_ARTICLES
    corpus = _own_paragraphs(news_jsonl(tmp_path / "news.jsonl", n, spread=True))
    result, killed = _run_and_kill(settings, [str(corpus)], kill_after_cpu=3.0, find=_dask_workers)
    assert killed is not None, "no Dask worker was seen busy: the test did not exercise a kill"
    assert "error" not in result, result.get("error")
    assert result["summary"].status == "completed"
    assert result["summary"].landed["articles"] == n
    st = _state(settings.db_path)
    assert st == {"articles": n, "distinct": n, "para_dups": 0, "sent_dups": 0, "orphans": 0, "no_paras": 0}
    assert ex.local_dask_workers(settings) == 2


def _all_gone(procs: list[psutil.Process], timeout: float = 30.0) -> bool:
    """Every process has exited (or is a zombie left for its parent to reap) within `timeout`."""
    def alive(p):
        try:
            return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(alive(p) for p in procs)


def test_a_pool_started_before_the_flow_runs_its_shards(settings, corpus, prefect_server, monkeypatch):
    # `newsetl run` starts the pool's workers while Prefect's API boots (fanout.prestarted_pool):
    # the flow takes that pool over, its shards run there, and the pool closes with the flow.
    from newsetl import fanout
    from newsetl.flows.pipeline import run_flow

    settings = _fault_settings(settings)
    used = []
    shard_results = fanout.shard_results
    monkeypatch.setattr(fanout, "shard_results", lambda runner, *a: (used.append(runner), shard_results(runner, *a))[1])
    with fanout.prestarted_pool(settings):
        pool, = fanout._prestarted
        early = [psutil.Process(p.pid) for p in pool._executor._processes.values()]
        assert len(early) == 1  # a worker spawned before the flow
        summary = run_flow(sources=[str(corpus)], settings=settings)
        assert not fanout._prestarted and pool._executor is None  # taken over, then closed
    assert used and all(r is pool for r in used)
    assert summary.status == "completed" and summary.landed["articles"] == N_ARTICLES
    assert _state(settings.db_path)["articles"] == N_ARTICLES
    assert _all_gone(early)  # the workers left once the flow was done with them


def test_a_prestarted_pool_the_flow_does_not_take_is_closed(settings, corpus, prefect_server):
    # A run whose settings want no pool (one worker) leaves the prestarted one alone; the
    # command's context closes it, and its workers leave.
    from newsetl import fanout
    from newsetl.flows.pipeline import run_flow

    settings = _fault_settings(settings)
    with fanout.prestarted_pool(settings):
        pool, = fanout._prestarted
        early = [psutil.Process(p.pid) for p in pool._executor._processes.values()]
        summary = run_flow(sources=[str(corpus)], settings=settings.with_(workers=1))
        assert fanout._prestarted  # not taken
    assert not fanout._prestarted and pool._executor is None
    assert summary.status == "completed"
    assert _all_gone(early)


# --- a page that kills the worker extracting it ------------------------------------------

CRASH_MARK = crash_on_mark.MARK


def _load_models_then(install: str, models, parent=None, **kwargs):
    """Pool worker initializer for the tests: the real one, then crash_on_mark's `install`
    hook (HTML extraction or enrichment that kills its own process on a mark). Module-level,
    so the spawned worker imports it by name; the tests bind `install` with partial."""
    from newsetl import fanout

    fanout.load_models(models, parent)
    getattr(crash_on_mark, install)(**kwargs)


def _html_pages(dst: Path, n: int, marked: int) -> list[Path]:
    """n news articles as HTML pages (from `news_jsonl`), page `marked` with CRASH_MARK."""
    import html
    import json

    dst.mkdir()
    rows = [json.loads(line) for line in news_jsonl(dst.parent / "pages.jsonl", n, spread=True).read_text(
        encoding="utf-8").splitlines()]
    pages = []
    for i, row in enumerate(rows):
        body = "".join(f"<p>{html.escape(p.strip())}</p>" for p in row["text"].split("\n") if p.strip())
        page = dst / f"story-{i}.html"
        page.write_text(f"<!DOCTYPE html><html><head><title>{html.escape(row['title'])}</title></head><body>"
                        f"<article><h1>{html.escape(row['title'])}</h1>{body}</article>"
                        f"{CRASH_MARK if i == marked else ''}</body></html>", encoding="utf-8")
        pages.append(page)
    return pages


def test_page_that_kills_its_extraction_worker_is_rejected_and_the_rest_lands(settings, tmp_path, prefect_server,
                                                                              monkeypatch):
    from newsetl import fanout
    from newsetl.flows.pipeline import CRASHED_PAGE, run_flow

    n = 8
    pages = _html_pages(tmp_path / "pages", n, marked=5)
    sizes = sorted(p.stat().st_size for p in pages)
    # Three chunks of HTML on two workers: the marked page shares its chunk with others.
    settings = settings.with_(workers=2, batch_size=1000, min_shard_words=0,
                              extract_chunk_chars=sum(sizes) // 3 + 1)
    monkeypatch.setattr(fanout, "load_models", partial(_load_models_then, "install"))
    restarts = fanout.pool_restarts
    summary = run_flow(sources=[str(tmp_path / "pages")], settings=settings)

    assert summary.status == "completed"
    assert summary.landed["articles"] == n - 1
    # The first death broke the pool under every chunk in flight; alone, the marked page's
    # chunk died again, then its halves down to the page.
    assert fanout.pool_restarts - restarts >= 3
    rejects, landed = _fetch(settings.db_path, "select input_ref, reason from rejects", "select input_ref from articles")
    landed = {r[0] for r in landed}
    assert rejects == [(str(pages[5]), CRASHED_PAGE)]
    assert landed == {str(p) for i, p in enumerate(pages) if i != 5}

    # The page is no longer fatal: a re-run lands it, clears its reject, duplicates nothing.
    monkeypatch.undo()
    again = run_flow(sources=[str(tmp_path / "pages")], settings=settings)
    assert again.status == "completed" and again.articles_new == 1 and again.articles_unchanged == n - 1
    st = _state(settings.db_path)
    assert st["articles"] == st["distinct"] == n
    assert st["para_dups"] == st["sent_dups"] == st["orphans"] == 0
    assert _fetch(settings.db_path, "select count(*) from rejects") == [[(0,)]]


class _DyingPool:
    """A runner whose worker dies under any submitted part that holds a bad item, as a
    process pool's does (the futures fail with BrokenProcessPool)."""

    def __init__(self, bad):
        self.bad, self.calls, self.renewed = set(bad), [], 0

    def submit(self, task, params):
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool

        part = params["part"]
        self.calls.append(part)
        fut = Future()
        if self.bad & set(part):
            fut.set_exception(BrokenProcessPool("a worker died"))
        else:
            try:
                fut.set_result([task(x) for x in part])
            except Exception as exc:  # the task's own error, as its future reports it
                fut.set_exception(exc)
        return fut

    def renew(self):
        self.renewed += 1


def test_run_alone_halves_a_part_down_to_the_item_that_kills_its_worker():
    from newsetl.fanout import run_alone

    pool = _DyingPool(bad={5})
    out = run_alone(pool, str, [[0, 1, 2, 3], [4, 5, 6, 7, 8]], lambda part: {"part": part}, "crashed")
    assert out == {**{i: str(i) for i in range(9) if i != 5}, 5: "crashed"}
    assert pool.calls == [[0, 1, 2, 3], [4, 5, 6, 7, 8], [4, 5], [4], [5], [6, 7, 8]]
    assert pool.renewed == 3  # one fresh pool per death


class _BreakingRunner:
    """A runner whose worker dies under shard `dies`: every shard that has not come back by
    then fails with it (BrokenProcessPool), as on a real process pool; a resubmitted shard
    dies again if it is in `dies_again`. The log shows when each shard was submitted and
    when its result was waited for. It cannot renew itself (as Dask's runner)."""

    def __init__(self, n: int, dies: int, dies_again=()):
        self.n, self.dies, self.dies_again, self.log = n, dies, set(dies_again), []

    def future(self, i: int, broken: bool):
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool

        log = self.log

        class Logged(Future):
            def result(self, timeout=None):
                log.append(("wait", i))
                return super().result(timeout)

        fut = Logged()
        fut.set_exception(BrokenProcessPool("a worker died")) if broken else fut.set_result(f"shard {i}")
        return fut

    def shard_results(self):
        from newsetl import fanout

        futures = [self.future(i, broken=i >= self.dies) for i in range(self.n)]
        return fanout.shard_results(self, "task", futures, [{"i": i} for i in range(self.n)])

    def submit(self, task, params):
        self.log.append(("submit", params["i"]))
        return self.future(params["i"], broken=params["i"] in self.dies_again)

    def submitted(self) -> list[int]:
        return [i for what, i in self.log if what == "submit"]


class _BreakingPool(_BreakingRunner):
    """The same, renewed after a death (RecoveringProcessPool)."""

    renewed = 0

    def renew(self):
        self.renewed += 1


def test_shards_a_dead_worker_took_down_run_again_together():
    """After a worker death, the shards it took down are resubmitted at once, so they run
    in parallel on the fresh pool, not one after the other."""
    pool = _BreakingPool(n=5, dies=2)
    out, died = pool.shard_results()
    assert out == [f"shard {i}" for i in range(5)] and died == []
    assert pool.submitted() == [2, 3, 4]
    last_submit = max(k for k, (what, _) in enumerate(pool.log) if what == "submit")
    assert pool.log[last_submit + 1:] == [("wait", 2), ("wait", 3), ("wait", 4)]
    assert pool.renewed >= 1


def test_shards_that_die_past_the_retries_are_named_for_running_alone():
    from newsetl import fanout

    pool = _BreakingPool(n=5, dies=1, dies_again={3})
    out, died = pool.shard_results()
    assert died == [3] and out == ["shard 0", "shard 1", "shard 2", None, "shard 4"]
    assert len(pool.submitted()) == 4 + (fanout.POOL_RETRIES - 1)  # the shard that kept dying, each retry
    # A runner that cannot renew itself gets no retries (Dask reruns a dead worker's shards itself).
    runner = _BreakingRunner(n=3, dies=1)
    out, died = runner.shard_results()
    assert died == [1, 2] and out == ["shard 0", None, None] and runner.submitted() == []


def test_run_alone_raises_on_a_crash_loop_and_on_errors_of_the_task():
    from concurrent.futures.process import BrokenProcessPool

    from newsetl import fanout

    # Every item kills its worker: a crash loop (a broken model, no memory), not bad input.
    pool = _DyingPool(bad=range(10))
    with pytest.raises(BrokenProcessPool):
        fanout.run_alone(pool, str, [list(range(10))], lambda part: {"part": part}, "crashed")
    singles = [c for c in pool.calls if len(c) == 1]
    assert len(singles) == fanout.MAX_CRASHED_ITEMS + 1

    # An error the task raises is no dead worker: it fails at once, nothing is halved.
    def boom(x):
        raise ValueError("bad page")

    pool = _DyingPool(bad=())
    with pytest.raises(ValueError):
        fanout.run_alone(pool, boom, [[1, 2]], lambda part: {"part": part}, "crashed")
    assert pool.calls == [[1, 2]] and pool.renewed == 0


def _crash_hook_on_dask_workers():
    """Every worker of a local cluster started inside imports the crash hook at start
    (distributed's `distributed.worker.preload`, handed to the worker processes by their
    nannies). distributed is imported first: a `dask.config.set` entered before it drops
    the whole `distributed` section, defaults included, on exit, and the next test's local
    cluster then fails (KeyError 'comm'; seen when these tests ran without test_dask.py)."""
    import dask
    import distributed  # noqa: F401 (its config defaults, before the set records the section)

    return dask.config.set({"distributed.worker.preload": ["tests.crash_hook.crash_on_mark"]})


def test_page_that_kills_its_dask_worker_is_rejected_and_the_rest_lands(settings, tmp_path, prefect_server):
    from newsetl.flows.pipeline import CRASHED_PAGE, run_flow
    n = 6
    pages = _html_pages(tmp_path / "pages", n, marked=2)
    settings = settings.with_(workers=2, batch_size=1000, min_shard_words=0, dask_address="local:2",
                              extract_chunk_chars=sum(p.stat().st_size for p in pages) // 2 + 1)
    with _crash_hook_on_dask_workers():
        summary = run_flow(sources=[str(tmp_path / "pages")], settings=settings)
    assert summary.status == "completed"
    assert summary.landed["articles"] == n - 1
    assert _fetch(settings.db_path, "select input_ref, reason from rejects") == [[(str(pages[2]), CRASHED_PAGE)]]


def test_a_worker_killed_holding_prefects_queue_lock_leaves_a_run_that_exits(api_url):
    """The renewed pool gets a fresh message queue (RecoveringProcessPool.renew): the dead
    worker's lock is lost with the old one. Before, the renewed workers' logs never reached
    the API and the process (a `newsetl run`, or pytest) hung at exit for good."""
    script = Path(__file__).parent / "crash_hook" / "lost_queue_lock.py"
    env = {**os.environ, "PREFECT_API_URL": api_url}
    try:
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout
        pytest.fail(f"the process did not exit after its run; its output: {out!s:.2000}")
    lines = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in done.stdout.splitlines() if " " in line}
    assert done.returncode == 0, done.stderr[-3000:]
    assert lines["results"] == "[0, 1, 4, 9]"
    assert lines["pool"] == "restarts 1"
    assert json.loads(lines["forwarded"]) == [f"renewed pool squared {x}" for x in range(4)]
    assert "Timed out waiting for process-pool message forwarding" not in done.stderr


def test_article_that_kills_its_dask_worker_is_rejected_and_the_rest_lands(settings, tmp_path, prefect_server):
    from newsetl.flows.pipeline import CRASHED_ARTICLE, run_flow
    n = 6
    src, (marked_id,) = _marked_corpus(tmp_path / "news.jsonl", n, marked=2)
    settings = settings.with_(workers=2, batch_size=1000, min_shard_words=0, dask_address="local:2")
    with _crash_hook_on_dask_workers():
        summary = run_flow(sources=[str(src)], settings=settings)
    assert summary.status == "completed"
    assert summary.landed["articles"] == n - 1
    rejects, ids = _fetch(settings.db_path, "select reason from rejects", ARTICLE_IDS)
    assert rejects == [(CRASHED_ARTICLE,)]
    ids = {r[0] for r in ids}
    assert marked_id not in ids and len(ids) == n - 1
