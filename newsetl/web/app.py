"""The routes of `newsetl serve` (Starlette; HTML from Jinja2 templates in templates/).

    GET /                                  catalog: tables, views, downloads, SQL box, charts
    GET /entities/<entity_id>[?page=N]     one entity: counts, mentions in context, quotes,
                                           co-occurring entities, mentions over time
    GET /articles/<article_id>             one article: paragraphs with kinds, marks, quotes,
                                           sentence sentiment on hover, near-duplicates
    GET /download/<table>.parquet          a whole table or view as one Parquet file
    GET /api/sql?q=...&format=json|csv|parquet[&limit=N]
    GET /api/catalog                       the catalog as JSON
    GET /api/entities?q=TEXT | ?limit=N    search by name or alias | most-mentioned entities
    GET /api/entity_timeseries?entity_id=  mentions / sentiment / tone per day
    GET /api/top_entities?day=YYYY-MM-DD&limit=N
    GET /api/days                          days that have mentions
    GET /api/overview                      undated-friendly charts: corpus dates, top
                                           entities, articles per source, tone histogram
    GET /static/*                          app.js, style.css (no third-party asset)

Every request opens its own read-only connection (newsetl.query.connect_read_only), so
the page keeps working while the writer renames a new news.duckdb into place. Page data
comes from named queries in sql/views/queries.sql with bound parameters. Ad-hoc SQL goes
through the same `check_read_only` as `newsetl sql`; a refused query is HTTP 400 with a
JSON body {"error": "..."}. Downloads are named by catalog entry, never by path.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import threading
import traceback
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from newsetl import export, schema, sqlfiles
from newsetl.query import (
    BATCH_ROWS,
    QueryFailed,
    QueryRefused,
    check_read_only,
    connect_read_only,
    execute,
    flat_for_csv,
    json_default,
    printable,
    to_rows,
)
from newsetl.settings import Settings
from newsetl.web import render
from newsetl.web.reader import Reader, clean
from newsetl.web.security import Guard

HERE = Path(__file__).resolve().parent
# Preview rows returned as JSON to the page: enough to eyeball, small enough to render.
PREVIEW_ROWS = 200
MAX_PREVIEW_ROWS = 10_000
# Full-result downloads (CSV/Parquet of a query): bounded so one request cannot fill the disk.
DOWNLOAD_MAX_ROWS = 5_000_000
# Time limits: previews and pages should feel interactive; downloads may take longer.
PREVIEW_TIMEOUT_S = 30.0
PAGE_TIMEOUT_S = 30.0
DOWNLOAD_TIMEOUT_S = 300.0
# Entity page: mentions per page, quotes and co-occurring entities shown.
MENTIONS_PER_PAGE = 25
QUOTES_SHOWN = 30
COOCCURRING_SHOWN = 25
SEARCH_LIMIT = 20
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

EXAMPLE_SQL = """select name, label, sum(mentions) as mentions, round(avg(mean_sentiment), 3) as sentiment
from entity_daily
group by all
order by mentions desc
limit 20"""


class JSON(JSONResponse):
    def render(self, content) -> bytes:
        return json.dumps(clean(content), default=json_default, ensure_ascii=False).encode()


def error(message: str, status: int = 400) -> JSON:
    return JSON({"error": message}, status)


def _int(raw, default: int, lo: int, hi: int) -> int:
    try:
        return max(lo, min(hi, int(raw)))
    except (TypeError, ValueError):
        return default


def _fmt_bytes(n) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _fmt_num(v, digits: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:+.{digits}f}"
    return f"{v:,}"


def _read_manifest(parquet_dir: Path) -> dict:
    try:
        return json.loads((Path(parquet_dir) / export.MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class Pages:
    """Route handlers bound to one warehouse (sync: Starlette runs them in its thread pool,
    DuckDB releases the GIL while it works)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                               autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(entity_href=render.entity_href, article_href=render.article_href,
                                fmt_bytes=_fmt_bytes, fmt_num=_fmt_num,
                                sentiment_label=render.sentiment_label, is_web_url=render.is_web_url)

    # ------------------------------------------------------------------ helpers
    def html(self, template: str, status: int = 200, **ctx) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(template).render(**ctx), status)

    def not_found_page(self, what: str) -> HTMLResponse:
        return self.html("error.html", 404, title="Not found", message=what)

    def no_db(self) -> JSON:
        return error(f"no warehouse database at {self.settings.db_path}", 503)

    def reader(self, timeout_s: float = PAGE_TIMEOUT_S) -> Reader:
        return Reader(self.settings, timeout_s)

    # ------------------------------------------------------------------ pages
    def index(self, request: Request) -> Response:
        cat = self.catalog()
        return self.html("index.html", cat=cat, example_sql=EXAMPLE_SQL)

    def entity(self, request: Request) -> Response:
        eid = request.path_params["entity_id"]
        if not self.settings.db_path.exists():
            return self.html("error.html", 503, title="No database", message=f"no warehouse database at {self.settings.db_path}")
        page = _int(request.query_params.get("page"), 1, 1, 1_000_000)
        with self.reader() as r:
            ent = r.one("entity_by_id", [eid]) or r.one("entity_from_mentions", [eid])
            if ent is None:
                return self.not_found_page(f"no entity with id {eid!r} in the warehouse")
            stats = r.one("entity_stats", [eid]) or {}
            total = stats.get("mentions") or 0
            pages = max(1, -(-total // MENTIONS_PER_PAGE))
            page = min(page, pages)
            mentions = r.rows("entity_mentions_in_context",
                              [eid, MENTIONS_PER_PAGE, (page - 1) * MENTIONS_PER_PAGE])
            quotes = r.rows("entity_quotes", [eid, QUOTES_SHOWN])
            cooc = r.rows("entity_cooccurring", [eid, eid, COOCCURRING_SHOWN])
            same_country = (r.rows("entity_same_country", [ent["country_code"], eid])
                            if ent.get("country_code") else [])
        for m in mentions:
            if m.get("paragraph_text"):
                m["context"] = render.highlight(m["paragraph_text"], m["start_char"], m["end_char"],
                                                (m.get("sentence_start"), m.get("sentence_end")))
            else:  # paragraph row missing: show the mention alone
                text = m.get("mention_text") or ""
                m["context"] = render.highlight(text, 0, len(text))
        aliases = [a for a in (ent.get("aliases") or []) if a != ent.get("name")]
        return self.html("entity.html", ent=ent, aliases=aliases, stats=stats, mentions=mentions,
                         quotes=quotes, cooc=cooc, same_country=same_country, page=page, pages=pages,
                         total=total, per_page=MENTIONS_PER_PAGE, dated=(stats.get("dated_mentions") or 0) > 0)

    def article(self, request: Request) -> Response:
        aid = request.path_params["article_id"]
        if not self.settings.db_path.exists():
            return self.html("error.html", 503, title="No database", message=f"no warehouse database at {self.settings.db_path}")
        with self.reader() as r:
            art = r.one("article_by_id", [aid])
            if art is None:
                return self.not_found_page(f"no article with id {aid!r} in the warehouse")
            paragraphs = r.rows("article_paragraphs", [aid])
            sentences = r.rows("article_sentences", [aid])
            mentions = r.rows("article_mentions", [aid])
            quotes = r.rows("article_quotes", [aid])
            dups = r.rows("article_near_duplicates", [aid, aid, aid])
        by_p_s: dict[int, list] = {}
        for s in sentences:
            by_p_s.setdefault(s["paragraph_index"], []).append(s)
        by_p_m: dict[int, list] = {}
        for m in mentions:
            by_p_m.setdefault(m["paragraph_index"], []).append(m)
        by_p_q: dict[int, list] = {}
        for q in quotes:
            by_p_q.setdefault(q["paragraph_index"], []).append(q)
        for p in paragraphs:
            i = p["paragraph_index"]
            p["html"] = render.paragraph_html(p["text"], by_p_s.get(i, []), by_p_m.get(i, []))
            p["quotes"] = by_p_q.get(i, [])
        counts = {k: sum(1 for p in paragraphs if p["kind"] == k) for k in ("body", "heading", "boilerplate")}
        entities: dict[str, dict] = {}
        for m in mentions:
            if m["entity_id"] is not None:
                e = entities.setdefault(m["entity_id"], {"entity_id": m["entity_id"], "name": m["entity_name"],
                                                         "label": m["label"], "mentions": 0})
                e["mentions"] += 1
        ents = sorted(entities.values(), key=lambda e: (-e["mentions"], e["name"] or ""))
        return self.html("article.html", art=art, paragraphs=paragraphs, quotes=quotes, dups=dups,
                         counts=counts, entities=ents, mentions=len(mentions))

    # ------------------------------------------------------------------ catalog
    def catalog(self) -> dict:
        s = self.settings
        manifest = _read_manifest(s.parquet_dir)
        out = {"warehouse": str(s.warehouse), "database": s.db_path.exists(), "tables": [], "views": [],
               "last_run": None, "manifest_generated_at": manifest.get("generated_at")}
        if not s.db_path.exists():
            return out
        con = connect_read_only(s)
        try:
            cols: dict[str, list] = {}
            for t, c, typ in con.execute(
                "select table_name, column_name, data_type from duckdb_columns() "
                "where schema_name = 'main' and database_name = current_database() order by table_name, column_index"
            ).fetchall():
                cols.setdefault(t, []).append({"name": c, "type": typ})
            stored = [r[0] for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main' "
                "and database_name = current_database() order by table_name").fetchall()]
            all_views = [r[0] for r in con.execute(
                "select view_name from duckdb_views() where schema_name = 'main' and not internal "
                "and database_name = current_database() order by view_name").fetchall()]
            # The contract's tables are "tables" to an analyst whether the catalog stores
            # them or is a view over their Parquet files; `_name` tables are bookkeeping.
            contract = set(schema.TABLES)
            tables = sorted({t for t in stored if not t.startswith("_")} | (contract & set(all_views)))
            views = [v for v in all_views if v not in contract]
            docs = {name: q.doc for name, q in sqlfiles.views().items()}
            for t in tables:
                # t comes from the database's own catalog (duckdb_tables), never from a request
                rows = con.execute(f'select count(*) from "{t}"').fetchall()[0][0]
                m = manifest.get("tables", {}).get(t, {})
                parts = m.get("partitions")
                out["tables"].append({
                    "name": t, "rows": rows, "columns": cols.get(t, []),
                    "partitioned": t in export.PARTITIONED_TABLES,
                    "partitions": len(parts) if parts is not None else None,
                    "parquet_bytes": m.get("bytes") or m.get("file_bytes"),
                    "download": f"/download/{t}.parquet",
                })
            for v in views:
                out["views"].append({"name": v, "columns": cols.get(v, []), "doc": docs.get(v, ""),
                                     "download": f"/download/{v}.parquet"})
            if "runs" in tables:
                rec = con.sql(sqlfiles.query("last_run")).to_arrow_table().to_pylist()
                out["last_run"] = rec[0] if rec else None
        finally:
            con.close()
        return out

    def api_catalog(self, request: Request) -> Response:
        return JSON(self.catalog())

    # ------------------------------------------------------------------ JSON APIs
    def named(self, name: str, params: list) -> Response:
        if not self.settings.db_path.exists():
            return self.no_db()
        result = execute(sqlfiles.query(name), self.settings, max_rows=MAX_PREVIEW_ROWS,
                         timeout_s=PREVIEW_TIMEOUT_S, params=params, checked=True)
        return JSON({"columns": result.columns, "rows": result.table.to_pylist()})

    def api_entities(self, request: Request) -> Response:
        q = request.query_params.get("q")
        if q is None:
            limit = _int(request.query_params.get("limit"), 20, 1, 500)
            if request.query_params.get("dated") == "1":  # the per-day chart's picker
                return self.named("top_entities_dated", [limit])
            return self.named("top_entities_overall", [limit])
        q = q.strip()
        if not q:
            return error("q is empty: give part of a name or alias, e.g. /api/entities?q=paris")
        if len(q) > 200:
            return error("q is too long (at most 200 characters)")
        limit = _int(request.query_params.get("limit"), SEARCH_LIMIT, 1, 200)
        return self.named("entity_search", [q, q, q, limit])

    def api_entity_timeseries(self, request: Request) -> Response:
        eid = request.query_params.get("entity_id", "")
        if not eid:
            return error("entity_id is required, e.g. /api/entity_timeseries?entity_id=...")
        return self.named("entity_timeseries", [eid])

    def api_top_entities(self, request: Request) -> Response:
        day = request.query_params.get("day", "")
        if not _DAY.match(day):
            return error("day must be YYYY-MM-DD, e.g. /api/top_entities?day=2026-11-01")
        return self.named("top_entities_of_day", [day, _int(request.query_params.get("limit"), 10, 1, 100)])

    def api_days(self, request: Request) -> Response:
        return self.named("days_with_mentions", [])

    def api_overview(self, request: Request) -> Response:
        if not self.settings.db_path.exists():
            return self.no_db()
        limit = _int(request.query_params.get("limit"), 10, 1, 50)
        with self.reader(PREVIEW_TIMEOUT_S) as r:
            dates = r.one("corpus_dates") or {}
            return JSON({
                "articles": dates.get("articles", 0),
                "dated_articles": dates.get("dated", 0),
                "days": dates.get("days", 0),
                # per-day series need at least two days to show anything over time
                "dated": (dates.get("days") or 0) >= 2,
                "top_entities": r.rows("top_entities_overall", [limit]),
                "sources": r.rows("articles_per_source", [limit]),
                "tone": r.rows("tone_distribution"),
            })

    def api_sql(self, request: Request) -> Response:
        params = request.query_params
        sql = params.get("q", "")
        fmt = params.get("format", "json")
        if fmt not in ("json", "csv", "parquet"):
            return error(f"unknown format {fmt!r}: use json, csv or parquet")
        check_read_only(sql)
        if fmt == "json":
            limit = _int(params.get("limit"), PREVIEW_ROWS, 1, MAX_PREVIEW_ROWS)
            result = execute(sql, self.settings, max_rows=limit, timeout_s=PREVIEW_TIMEOUT_S)
            return JSON({
                "columns": [{"name": f.name, "type": str(f.type)} for f in result.table.schema],
                "rows": to_rows(result.table),
                "row_count": result.num_rows,
                "truncated": result.truncated,
                "limit": limit,
            })
        path, rows, truncated = self._stream_to_file(sql, fmt)
        headers = {"Content-Disposition": f'attachment; filename="query.{fmt}"',
                   "X-Newsetl-Rows": str(rows), "X-Newsetl-Truncated": str(truncated).lower()}
        ctype = "application/vnd.apache.parquet" if fmt == "parquet" else "text/csv; charset=utf-8"
        return _file(path, ctype, headers)

    def download(self, request: Request) -> Response:
        name = request.path_params.get("name", "")
        if not name.endswith(".parquet") or not _NAME.match(name[: -len(".parquet")]):
            return error("refused: downloads are named /download/<table>.parquet with a table or view "
                         "name (letters, digits, _); paths are not accepted", 400)
        name = name[: -len(".parquet")]
        if not self.settings.db_path.exists():
            return self.no_db()
        con = connect_read_only(self.settings)
        try:
            known = {r[0] for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main' and database_name = current_database() "
                "union all select view_name from duckdb_views() where schema_name = 'main' and not internal "
                "and database_name = current_database()").fetchall()}
        finally:
            con.close()
        if name not in known:
            return error(f"no table or view named {name!r} in the warehouse", 404)
        # name is one of the database's own tables/views (checked above), quoted as an identifier
        path, rows, _ = self._stream_to_file(f'select * from "{name}"', "parquet")
        return _file(path, "application/vnd.apache.parquet",
                     {"Content-Disposition": f'attachment; filename="{name}.parquet"', "X-Newsetl-Rows": str(rows)})

    def _stream_to_file(self, sql: str, fmt: str) -> tuple[Path, int, bool]:
        """Run `sql` (already checked) and write the result batch by batch to a temporary
        file (bounded memory for big tables). Returns (path, rows, truncated)."""
        import duckdb

        con = connect_read_only(self.settings)
        timer = threading.Timer(DOWNLOAD_TIMEOUT_S, con.interrupt)
        timer.daemon = True
        fd, tmp = tempfile.mkstemp(prefix="newsetl-", suffix=f".{fmt}")
        os.close(fd)
        rows, truncated = 0, False
        try:
            timer.start()
            reader = con.sql(sql).to_arrow_reader(BATCH_ROWS)
            schema = reader.schema
            writer = None
            try:
                if fmt == "parquet":
                    writer = pq.ParquetWriter(tmp, printable(schema.empty_table()).schema,
                                              compression=export.COMPRESSION)
                    write = lambda b: writer.write_table(printable(pa.Table.from_batches([b])))  # noqa: E731
                else:
                    csv_schema = flat_for_csv(printable(schema.empty_table())).schema
                    writer = pacsv.CSVWriter(tmp, csv_schema)
                    write = lambda b: writer.write_table(flat_for_csv(printable(pa.Table.from_batches([b]))))  # noqa: E731
                for batch in reader:
                    if rows + batch.num_rows > DOWNLOAD_MAX_ROWS:
                        batch = batch.slice(0, DOWNLOAD_MAX_ROWS - rows)
                        truncated = True
                    write(batch)
                    rows += batch.num_rows
                    if truncated:
                        break
            finally:
                if writer is not None:
                    writer.close()
        except duckdb.Error as e:
            Path(tmp).unlink(missing_ok=True)
            raise QueryFailed(str(e).strip().splitlines()[0]) from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            timer.cancel()
            con.close()
        return Path(tmp), rows, truncated


def _file(path: Path, ctype: str, headers: dict) -> FileResponse:
    return FileResponse(path, media_type=ctype, headers=headers,
                        background=BackgroundTask(lambda: path.unlink(missing_ok=True)))


def _guarded(handler, pages: Pages | None = None):
    """Turn query errors into the answers the page promises: JSON {"error": ...} for the
    API, an HTML page saying why for the pages (when `pages` is given)."""

    def fail(message: str, status: int) -> Response:
        if pages is not None:
            return pages.html("error.html", status, title="Cannot show this page", message=message)
        return error(message, status)

    def endpoint(request: Request) -> Response:
        try:
            return handler(request)
        except QueryRefused as e:
            return fail(str(e), 400)
        except QueryFailed as e:
            return fail(str(e), 503 if "no warehouse database" in str(e) else 400)
        except Exception as e:  # keep serving; the traceback goes to the server log
            traceback.print_exc(file=sys.stderr)
            return fail(f"internal error: {type(e).__name__}: {e}", 500)

    return endpoint


def make_app(settings: Settings | None = None, host: str = "127.0.0.1", port: int | None = None,
             token: str | None = None):
    """The ASGI app: Starlette routes behind the Host/token guard (newsetl.web.security)."""
    pages = Pages(settings or Settings.from_env())

    async def not_found(request: Request, exc) -> Response:
        return error(f"not found: {request.url.path}", 404)

    def healthz(request: Request) -> Response:
        return JSON({"ok": True})

    routes = [
        Route("/", _guarded(pages.index, pages)),
        Route("/healthz", healthz),
        Route("/entities/{entity_id:path}", _guarded(pages.entity, pages)),
        Route("/articles/{article_id:path}", _guarded(pages.article, pages)),
        Route("/api/catalog", _guarded(pages.api_catalog)),
        Route("/api/sql", _guarded(pages.api_sql)),
        Route("/api/entities", _guarded(pages.api_entities)),
        Route("/api/entity_timeseries", _guarded(pages.api_entity_timeseries)),
        Route("/api/top_entities", _guarded(pages.api_top_entities)),
        Route("/api/days", _guarded(pages.api_days)),
        Route("/api/overview", _guarded(pages.api_overview)),
        Route("/download/{name:path}", _guarded(pages.download)),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found})
    app.router.redirect_slashes = False  # /entities is not found, not redirected to /entities/
    app.state.pages = pages
    return Guard(app, host, port, token)
