"""One read-only connection per request, running named queries from sql/views/queries.sql.

A page needs several queries; they share one connection (opened by
newsetl.query.connect_read_only, so it is read-only, locked down and memory-limited like
every reader) and one time limit, enforced by a timer that interrupts the connection.
Parameters are always bound (`?`), never formatted into SQL.
"""

from __future__ import annotations

import math
import threading

import duckdb

from newsetl import sqlfiles
from newsetl.query import QueryFailed, connect_read_only
from newsetl.settings import Settings


def clean(v):
    """JSON- and template-safe values: NaN/inf become None."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list):
        return [clean(x) for x in v]
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    return v


class Reader:
    def __init__(self, settings: Settings, timeout_s: float):
        self.timeout_s = timeout_s
        self.con = connect_read_only(settings)
        self._timed_out = threading.Event()
        self._timer = threading.Timer(timeout_s, self._interrupt)
        self._timer.daemon = True
        self._timer.start()

    def _interrupt(self) -> None:
        self._timed_out.set()
        self.con.interrupt()

    def rows(self, name: str, params: list | tuple = ()) -> list[dict]:
        try:
            cur = self.con.execute(sqlfiles.query(name), list(params))
            cols = [d[0] for d in cur.description]
            return [{c: clean(v) for c, v in zip(cols, r)} for r in cur.fetchall()]
        except duckdb.Error as e:
            if self._timed_out.is_set():
                raise QueryFailed(f"page query stopped after the {self.timeout_s:g} s time limit") from None
            raise QueryFailed(f"{name}: {str(e).strip().splitlines()[0]}") from None

    def one(self, name: str, params: list | tuple = ()) -> dict | None:
        rows = self.rows(name, params)
        return rows[0] if rows else None

    def close(self) -> None:
        self._timer.cancel()
        self.con.close()

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
