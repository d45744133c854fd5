"""A source that reads articles back out of the warehouse, for `newsetl backfill`.

Each article becomes a RawDoc again: its paragraphs (every kind, in order) joined by "\n",
plus title, url, dates, source, language, authors and the raw metadata from `articles`.
That is exactly the text `process.prepare` hashed the first time, so the rebuilt article
keeps its article_id (canonical URL, or content hash of title + paragraphs when it had none).

`news.duckdb` is opened READ-ONLY: the writer lands into a staging copy, so reading here is
safe while a run holds the writer lock, and readers are never blocked.

Source string (see dispatch.iter_sources): `warehouse:?since=YYYY-MM-DD&until=YYYY-MM-DD&outdated=1`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from urllib.parse import parse_qs, urlencode

from newsetl.records import RawDoc
from newsetl.settings import Settings

SCHEME = "warehouse:"
# Articles read back per query: bounds memory for a warehouse larger than RAM.
CHUNK = 500


def source_string(since: str | None = None, until: str | None = None, outdated: bool = False) -> str:
    q = {k: v for k, v in (("since", since), ("until", until)) if v}
    if outdated:
        q["outdated"] = "1"
    return SCHEME + "?" + urlencode(q)


def parse_source(src: str) -> dict:
    q = parse_qs(src[len(SCHEME):].lstrip("?"))
    one = lambda k: (q.get(k) or [None])[0]  # noqa: E731
    return {"since": one("since"), "until": one("until"),
            "outdated": (one("outdated") or "").lower() in {"1", "true", "yes"}}


def is_outdated(version: str | None, current: str) -> bool:
    """Older than `current` (PEP 440 order when both parse; otherwise any difference)."""
    if not version:
        return True
    try:
        from packaging.version import Version

        return Version(version) < Version(current)
    except Exception:
        return version != current


def _selected_ids(con, since, until, outdated: bool, current: str) -> list[str]:
    where, params = [], []
    if since:
        where.append("published_date >= ?")
        params.append(date.fromisoformat(since))
    if until:
        where.append("published_date <= ?")
        params.append(date.fromisoformat(until))
    sql = "select article_id, pipeline_version from articles"
    if where:
        sql += " where " + " and ".join(where)
    rows = con.execute(sql + " order by article_id", params).fetchall()
    return [a for a, v in rows if not outdated or is_outdated(v, current)]


def docs_from_warehouse(settings: Settings, since: str | None = None, until: str | None = None,
                        outdated: bool = False) -> Iterator[RawDoc]:
    from newsetl import settings as settings_mod
    from newsetl.query import connect_read_only

    if not settings.db_path.exists():
        return
    con = connect_read_only(settings)
    try:
        ids = _selected_ids(con, since, until, outdated, settings_mod.PIPELINE_VERSION)
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            arts = con.execute(
                "select article_id, source, input_ref, url, canonical_url, title, published_at, language, "
                "authors, site_name, fetched_at, raw_meta from articles where article_id in (select unnest(?)) "
                "order by article_id", [chunk]).fetchall()
            paras: dict[str, list[str]] = {}
            for aid, text in con.execute(
                "select article_id, text from paragraphs where article_id in (select unnest(?)) "
                "order by article_id, paragraph_index", [chunk]).fetchall():
                paras.setdefault(aid, []).append(text)
            for (aid, source, input_ref, url, canonical_url, title, published_at, language, authors,
                 site_name, fetched_at, raw_meta) in arts:
                try:
                    extra = json.loads(raw_meta) if raw_meta else {}
                except ValueError:
                    extra = {}
                yield RawDoc(
                    source=source, input_ref=input_ref or f"warehouse:{aid}",
                    text="\n".join(paras.get(aid, [])), url=url, canonical_url=canonical_url, title=title,
                    published_at=published_at, language=language, authors=list(authors or []),
                    site_name=site_name, fetched_at=fetched_at,
                    extra=extra if isinstance(extra, dict) else {},
                )
    finally:
        con.close()


def iter_rebuild(src: str, settings: Settings) -> Iterator[RawDoc]:
    return docs_from_warehouse(settings, **parse_source(src))
