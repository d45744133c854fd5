"""What the one-off rewrite of older files costs after an upgrade that adds a column
(`newsetl.warehouse.Writer._conform_files`), against references measured in the same run.

    .venv/bin/python scripts/synth_warehouse.py --articles 200000 --warehouse /tmp/wh200k
    .venv/bin/python scripts/experiments/conform_cost.py /tmp/wh200k

Two copies of the warehouse; in one, every live file of `articles` and `quotes` loses a
column (as a pipeline version without it wrote them) and the `_meta` key is dropped. Then
one run of 25 new synthetic articles lands in each (the first rewrites the older files), a
second run in each (nothing to rewrite), and `newsetl export --out` of the control writes
every table once (a full rewrite of the warehouse, for scale). CPU and wall seconds each.
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import synth_warehouse as S  # noqa: E402

from newsetl import warehouse as W  # noqa: E402
from newsetl.export import export_all  # noqa: E402
from newsetl.settings import Settings  # noqa: E402

DROP = {"articles": "input_ref", "quotes": "speaker_entity_id"}


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(label: str, fn) -> tuple[float, float]:
    c0, t0 = cpu(), time.perf_counter()
    fn()
    wall, c = time.perf_counter() - t0, cpu() - c0
    print(f"{label:<48} wall {wall:7.2f} s   cpu {c:7.2f} s", flush=True)
    return wall, c


def age(settings: Settings) -> tuple[int, int]:
    con = duckdb.connect(str(settings.db_path))
    files = nbytes = 0
    try:
        for table, column in DROP.items():
            for rel in W.live_files(con, table):
                path = settings.parquet_dir / W.FILES / rel
                t = pq.read_table(path).drop_columns([column])
                path.unlink()
                pq.write_table(t, path, compression="zstd")
                link = settings.parquet_dir / rel
                link.unlink()
                link.hardlink_to(path)
                con.execute("update _files set schema_id = ? where path = ?", [W.file_schema_id(path)[1], rel])
                files, nbytes = files + 1, nbytes + path.stat().st_size
        con.execute("delete from _meta where key = 'stored_schema'")
    finally:
        con.close()
    return files, nbytes


def one_run(settings: Settings, model, first: int, run_id: str) -> None:
    w = W.Writer(settings)
    try:
        w.land(S.make_batch(model, first, 25, datetime.now(timezone.utc)), [], run_id)
        w.publish({"run_id": run_id, "status": "completed"})
    except BaseException:
        w.abort()
        raise


def main() -> None:
    src = Path(sys.argv[1])
    tmp = Path(tempfile.mkdtemp(prefix="conform-"))
    try:
        ctl, old = Settings(warehouse=tmp / "ctl"), Settings(warehouse=tmp / "old")
        shutil.copytree(src, ctl.warehouse)
        shutil.copytree(src, old.warehouse)
        files, nbytes = age(old)
        print(f"aged {files} files ({nbytes / 1e6:.0f} MB) of {', '.join(DROP)}")
        model = S.Model(seed=99)
        n = 10_000_000
        timed("control: run of 25 articles", lambda: one_run(ctl, model, n, "c1"))
        timed("older files: run of 25 articles (rewrites them)", lambda: one_run(old, model, n, "o1"))
        timed("control: second run", lambda: one_run(ctl, model, n + 25, "c2"))
        timed("older files: second run (nothing to rewrite)", lambda: one_run(old, model, n + 25, "o2"))
        timed("control: newsetl export --out (every table)", lambda: export_all(ctl, tmp / "export"))
        con = duckdb.connect(str(old.db_path), read_only=True)
        print("older files now uniform:", all(W.uniform_schema(con, t) for t in DROP),
              "| rows equal:", [con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in DROP])
        con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
