"""The same corpus on a 2-worker local Dask cluster lands exactly what the serial run lands."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
from polars.testing import assert_frame_equal
from prefect import task

from tests.conftest import news_jsonl

ROOT = Path(__file__).resolve().parents[1]
E2E = ROOT / "tests" / "fixtures" / "e2e"

# Columns that differ between two runs of the same data by design.
VOLATILE = {"run_id", "started_at", "finished_at", "rejected_at", "seconds"}


def corpus(dst: Path) -> Path:
    dst.mkdir(parents=True)
    shutil.copytree(ROOT / "data" / "sample", dst / "sample")
    for name in ("korea-talks.txt", "cp1252.txt", "feedlike.jsonl", "empty.txt", "broken.html"):
        shutil.copy(E2E / name, dst / name)
    for page in sorted((ROOT / "tests" / "fixtures" / "html").glob("*.html")):  # extracted on the cluster
        shutil.copy(page, dst / page.name)
    news_jsonl(dst / "news.jsonl", 15, spread=True)  # several categories, to give the shards work
    return dst


def tables(db: Path) -> dict[str, pl.DataFrame]:
    from newsetl import schema
    from newsetl.warehouse import query_pl

    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for t in schema.TABLES:
            if t == "runs":
                continue
            df = query_pl(con, f"select * from {t}")
            df = df.drop([c for c in df.columns if c in VOLATILE])
            sortable = [c for c, dt in df.schema.items() if not isinstance(dt, (pl.List, pl.Struct))]
            out[t] = df.sort(sortable, nulls_last=True)
        return out
    finally:
        con.close()


def test_local_dask_cluster_lands_same_tables_as_serial(settings, prefect_server, tmp_path, monkeypatch):
    import distributed  # noqa: F401  (the dask extra is a test dependency: fail, never skip)

    from prefect_dask import DaskTaskRunner

    from newsetl.flows.pipeline import run_flow

    on_dask = []
    real_submit = DaskTaskRunner.submit
    monkeypatch.setattr(DaskTaskRunner, "submit",
                        lambda self, task, *args, **kw: on_dask.append(task.name) or real_submit(self, task, *args, **kw))

    src = corpus(tmp_path / "src")
    serial = settings.with_(warehouse=tmp_path / "serial", workers=1)
    dask = settings.with_(warehouse=tmp_path / "dask", workers=2, dask_address="local:2", min_shard_words=0,
                          extract_chunk_chars=1)

    s1 = run_flow(sources=[str(src)], settings=serial)
    s2 = run_flow(sources=[str(src)], settings=dask)
    assert s1.status == s2.status == "completed"
    assert s1.landed["articles"] >= 10
    assert s2.landed == s1.landed
    assert on_dask.count("enrich-shard") >= 2  # the shards really went to the cluster
    assert on_dask.count("extract-pages") >= 2  # and the HTML pages, a chunk each

    a, b = tables(serial.db_path), tables(dask.db_path)
    assert set(a) == set(b)
    for t in a:
        assert_frame_equal(a[t], b[t], check_exact=False, rel_tol=1e-9, abs_tol=1e-12)
    assert a["articles"]["article_id"].n_unique() == a["articles"].height


def test_dask_workers_env_selects_local_cluster(monkeypatch, settings):
    from newsetl.fanout import local_dask_workers
    from newsetl.settings import Settings

    monkeypatch.setenv("NEWSETL_DASK_WORKERS", "3")
    env = Settings.from_env(warehouse=settings.warehouse)
    assert local_dask_workers(env) == 3
    assert local_dask_workers(env.with_(dask_address="local:2")) == 2
    # an explicit cluster address wins over the local-cluster variable
    assert local_dask_workers(env.with_(dask_address="tcp://127.0.0.1:8786")) == 0
    monkeypatch.delenv("NEWSETL_DASK_WORKERS")
    assert local_dask_workers(Settings.from_env(warehouse=settings.warehouse)) == 0


def test_local_dask_runner_reports_its_workers(settings):
    from prefect_dask import DaskTaskRunner

    from newsetl.fanout import n_workers, task_runner

    s = settings.with_(dask_address="local:2")
    with task_runner(s) as runner:
        assert isinstance(runner, DaskTaskRunner)
        assert n_workers(runner, s) == 2
        assert runner.client.submit(pow, 3, 2).result() == 9
        # A task whose worker died runs again as often as on the process pool, not Dask's 3 times.
        from newsetl.fanout import POOL_RETRIES

        assert runner.client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures) == POOL_RETRIES


@task(persist_result=False)
def square(x: int) -> int:
    return x * x


def _close_every_worker(cluster, client) -> None:
    """Leave a local cluster's nannies without their workers (as dask/distributed#7312 does):
    the scheduler then knows no worker, and nothing starts one again by itself."""
    import time

    for nanny in list(cluster.workers.values()):
        cluster.sync(nanny.close)
    deadline = time.monotonic() + 60  # the scheduler drops a worker once its comm closes
    while client.nthreads() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not client.nthreads()


def test_a_shard_waiting_on_a_local_cluster_with_no_worker_gets_new_ones(settings, prefect_server, monkeypatch):
    from newsetl import fanout

    monkeypatch.setattr(fanout, "NO_WORKERS_GRACE", 1.0)
    monkeypatch.setattr(fanout, "WAIT_POLL", 0.5)
    revivals = fanout.dask_revivals

    with fanout.task_runner(settings.with_(dask_address="local:1")) as runner:
        _close_every_worker(runner.client.cluster, runner.client)
        # Without the watch this result would never come (the test's timeout would end it).
        assert fanout.result(runner, runner.submit(square, {"x": 7})) == 49
        assert fanout.dask_revivals == revivals + 1
        assert len(runner.client.nthreads()) == 1


def test_a_shard_waiting_on_a_remote_cluster_with_no_worker_fails_the_batch(prefect_server, monkeypatch):
    import pytest
    from distributed import LocalCluster
    from prefect_dask import DaskTaskRunner

    from newsetl import fanout

    monkeypatch.setattr(fanout, "NO_WORKERS_TIMEOUT", 2.0)
    monkeypatch.setattr(fanout, "WAIT_POLL", 0.5)
    revivals = fanout.dask_revivals

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as cluster:
        with DaskTaskRunner(address=cluster.scheduler_address) as runner:
            assert fanout.result(runner, runner.submit(square, {"x": 3})) == 9
            _close_every_worker(cluster, runner.client)
            with pytest.raises(RuntimeError, match="has had no worker for 2 s"):
                fanout.result(runner, runner.submit(square, {"x": 4}))
    assert fanout.dask_revivals == revivals  # not ours to restart
