"""A tiny hand-written warehouse for the analysts' surface tests (views, sql, export, web).

Not a pytest conftest (the lead owns tests/conftest.py): test files import it by name.

Cast: three canonical articles on two days from two sources, one syndicated duplicate
of a1 (a4, must count once), one undated article (a5); three entities; one mention and
one quote inside a boilerplate paragraph (must be left out of every mart).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from newsetl.schema import TABLES, arrow_schema, ddl
from newsetl.settings import Settings
from newsetl.sqlfiles import create_views

D1, D2 = date(2026, 11, 1), date(2026, 11, 2)
T0 = datetime(2026, 11, 3, 6, 0, tzinfo=timezone.utc)


def _article(aid, source, day, words, tone, sentiment, duplicate_of=None, title=None):
    return {
        "article_id": aid,
        "source": source,
        "url": f"https://{source}.example/{aid}",
        "title": title or f"Title {aid}",
        "published_at": datetime(day.year, day.month, day.day, 9, tzinfo=timezone.utc) if day else None,
        "published_date": day,
        "language": "en",
        "authors": ["Reporter"],
        "text": f"text of {aid}",
        "word_count": words,
        "content_hash": f"h-{aid}",
        "tone": tone,
        "sentiment": sentiment,
        "duplicate_of": duplicate_of,
        "pipeline_version": "1.0.0",
        "run_id": "r1",
    }


def _m(aid, day, p, s, start, text, label, eid, sent):
    return {
        "article_id": aid, "paragraph_index": p, "sentence_index": s, "start_char": start,
        "end_char": start + len(text), "text": text, "label": label, "entity_id": eid,
        "sentiment": sent, "sentiment_label": "positive" if sent > 0.05 else "negative" if sent < -0.05 else "neutral",
        "published_date": day,
    }


def _p(aid, day, i, kind, text):
    return {"article_id": aid, "paragraph_index": i, "text": text, "kind": kind,
            "kind_reason": "test", "sentiment": 0.0, "published_date": day}


def _q(aid, day, p, i, quote, speaker, eid):
    return {"article_id": aid, "paragraph_index": p, "quote_index": i, "quote": quote,
            "speaker": speaker, "speaker_entity_id": eid, "attribution": "said", "published_date": day}


ROWS: dict[str, list[dict]] = {
    "articles": [
        _article("a1", "wire", D1, 100, 2.0, 0.5, title="Alice Smith visits Paris"),
        _article("a2", "wire", D1, 50, -1.0, -0.2, title="Acme profits fall"),
        _article("a3", "daily", D2, 80, 0.5, 0.1, title="Paris and Acme"),
        _article("a4", "daily", D2, 100, 2.0, 0.5, duplicate_of="a1", title="Alice Smith visits Paris"),
        _article("a5", "blog", None, 10, 0.0, 0.0, title="Undated note"),
    ],
    "paragraphs": [
        _p("a1", D1, 0, "heading", "Alice Smith visits Paris"),
        _p("a1", D1, 1, "body", "Alice Smith said Acme Corp is thriving."),
        _p("a1", D1, 2, "boilerplate", "Subscribe to the Acme newsletter."),
        _p("a2", D1, 0, "body", "Acme Corp profits fall."),
        _p("a2", D1, 1, "body", "Alice Smith of Acme Corp spoke."),
        _p("a3", D2, 0, "body", "Paris welcomes Acme Corp."),
        _p("a4", D2, 0, "heading", "Alice Smith visits Paris"),
        _p("a4", D2, 1, "body", "Alice Smith said Acme Corp is thriving."),
        _p("a5", None, 0, "body", "Alice wrote a note. Bob read it."),
    ],
    "sentences": [
        {"article_id": "a1", "paragraph_index": 0, "sentence_index": 0, "start_char": 0, "end_char": 24,
         "text": "Alice Smith visits Paris", "sentiment": 0.0, "published_date": D1},
        {"article_id": "a1", "paragraph_index": 1, "sentence_index": 0, "start_char": 0, "end_char": 20,
         "text": "Alice Smith said", "sentiment": 0.5, "published_date": D1},
        {"article_id": "a1", "paragraph_index": 1, "sentence_index": 1, "start_char": 21, "end_char": 40,
         "text": "Acme Corp is thriving.", "sentiment": 0.5, "published_date": D1},
        {"article_id": "a2", "paragraph_index": 0, "sentence_index": 0, "start_char": 0, "end_char": 23,
         "text": "Acme Corp profits fall.", "sentiment": -0.5, "published_date": D1},
    ],
    "entity_mentions": [
        _m("a1", D1, 0, 0, 0, "Alice Smith", "PERSON", "e_alice", 0.4),
        _m("a1", D1, 0, 0, 19, "Paris", "GPE", "e_paris", 0.0),
        _m("a1", D1, 1, 0, 0, "Alice Smith", "PERSON", "e_alice", 0.6),
        _m("a1", D1, 1, 0, 17, "Acme Corp", "ORG", "e_acme", -0.2),
        _m("a1", D1, 2, 0, 18, "Acme", "ORG", "e_acme", 0.9),  # boilerplate: left out
        _m("a2", D1, 0, 0, 0, "Acme Corp", "ORG", "e_acme", -0.8),
        _m("a2", D1, 1, 0, 0, "Alice Smith", "PERSON", "e_alice", 0.2),
        _m("a2", D1, 1, 0, 15, "Acme Corp", "ORG", "e_acme", -0.4),
        _m("a3", D2, 0, 0, 0, "Paris", "GPE", "e_paris", 0.3),
        _m("a3", D2, 0, 0, 15, "Acme Corp", "ORG", "e_acme", 0.1),
        _m("a4", D2, 0, 0, 0, "Alice Smith", "PERSON", "e_alice", 0.4),  # duplicate article
        _m("a4", D2, 0, 0, 19, "Paris", "GPE", "e_paris", 0.0),
        _m("a5", None, 0, 0, 0, "Alice", "PERSON", "e_alice", 0.0),
        _m("a5", None, 0, 1, 20, "Bob", "PERSON", None, 0.0),  # unresolved
    ],
    "entities": [
        {"entity_id": "e_alice", "name": "Alice Smith", "label": "PERSON",
         "aliases": ["Alice Smith", "Alice"], "article_count": 4, "mention_count": 6},
        {"entity_id": "e_acme", "name": "Acme Corp", "label": "ORG",
         "aliases": ["Acme Corp", "Acme"], "article_count": 3, "mention_count": 5},
        {"entity_id": "e_paris", "name": "Paris", "label": "GPE",
         "aliases": ["Paris"], "article_count": 3, "mention_count": 3},
    ],
    "quotes": [
        _q("a1", D1, 1, 0, "We are thrilled", "Alice Smith", "e_alice"),
        _q("a1", D1, 2, 0, "Sign up now", "Acme", "e_acme"),  # boilerplate: left out
        _q("a2", D1, 1, 0, "Profits will recover soon enough", "Alice", "e_alice"),
        _q("a3", D2, 0, 0, "Nice city", "A. Tourist", None),
        _q("a4", D2, 1, 0, "We are thrilled", "Alice Smith", "e_alice"),  # duplicate article
    ],
    "rejects": [
        {"source": "files", "input_ref": "bad.html", "reason": "empty body", "run_id": "r1", "rejected_at": T0},
    ],
    "runs": [
        {"run_id": "r1", "started_at": T0, "finished_at": T0, "status": "success",
         "sources": ["tests/fixtures"], "articles": 5, "articles_new": 5, "articles_changed": 0,
         "articles_unchanged": 0, "paragraphs": 9, "sentences": 4, "entity_mentions": 14,
         "entities": 3, "quotes": 5, "rejects": 1, "seconds": 1.5, "pipeline_version": "1.0.0",
         "message": "ok"},
    ],
}


def arrow_rows(table: str, rows: list[dict]) -> pa.Table:
    names = [n for n, _ in TABLES[table]]
    return pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows], schema=arrow_schema(table))


def write_db(db_path: Path, rows: dict[str, list[dict]] = ROWS, views: bool = True) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    try:
        for table in TABLES:
            con.execute(ddl(table))
            data = arrow_rows(table, rows.get(table, []))
            con.register("_incoming", data)
            con.execute(f"insert into {table} by name select * from _incoming")
            con.unregister("_incoming")
        if views:
            create_views(con)
    finally:
        con.close()


def build_warehouse(root: Path, rows: dict[str, list[dict]] = ROWS) -> Settings:
    """A warehouse under `root` with news.duckdb (tables + views); no Parquet tree yet."""
    settings = Settings(warehouse=Path(root) / "warehouse", progress=False)
    write_db(settings.db_path, rows)
    return settings


# ---------------------------------------------------------------------------------- web
# Extra cast for the entity and article pages (tests/test_web.py, tests/test_browser.py);
# ROWS above stays as it is for the views/sql/export tests.
#  - a1/a4 share a duplicate cluster; a1's sentences have exact offsets;
#  - a6 holds HTML-looking text with a mention after it (escaping around marks).
A6_TEXT = 'Tom said <script>alert("x")</script> & <b>Acme Corp</b> lost.'


def web_rows() -> dict[str, list[dict]]:
    import copy

    rows = copy.deepcopy(ROWS)
    for a in rows["articles"]:
        a["cluster_id"] = {"a1": "c1", "a4": "c1"}.get(a["article_id"], f"c-{a['article_id']}")
    rows["articles"].append(_article("a6", "blog", D2, 12, -1.5, -0.3, title="Markup <b>test</b> & more"))
    rows["paragraphs"].append(_p("a6", D2, 0, "body", A6_TEXT))
    rows["paragraphs"][2]["kind_reason"] = "newsletter sign-up"
    for m in rows["entity_mentions"]:  # "Acme" starts at 17 in "Subscribe to the Acme newsletter."
        if (m["article_id"], m["paragraph_index"]) == ("a1", 2):
            m["start_char"], m["end_char"] = 17, 21
    rows["sentences"] = [s for s in rows["sentences"] if not (s["article_id"] == "a1" and s["paragraph_index"] == 1)]
    rows["sentences"] += [
        {"article_id": "a1", "paragraph_index": 1, "sentence_index": 0, "start_char": 0, "end_char": 16,
         "text": "Alice Smith said", "sentiment": 0.5, "published_date": D1},
        {"article_id": "a1", "paragraph_index": 1, "sentence_index": 1, "start_char": 17, "end_char": 39,
         "text": "Acme Corp is thriving.", "sentiment": -0.4, "published_date": D1},
        {"article_id": "a6", "paragraph_index": 0, "sentence_index": 0, "start_char": 0, "end_char": len(A6_TEXT),
         "text": A6_TEXT, "sentiment": -0.3, "published_date": D2},
    ]
    start = A6_TEXT.index("Acme Corp")
    rows["entity_mentions"].append(_m("a6", D2, 0, 0, start, "Acme Corp", "ORG", "e_acme", -0.5))
    return rows


def undated_rows() -> dict[str, list[dict]]:
    """The same cast with no publication date anywhere (like the BBC corpus)."""
    rows = web_rows()
    for table in rows.values():
        for r in table:
            if "published_date" in r:
                r["published_date"] = None
            if "published_at" in r:
                r["published_at"] = None
    return rows
