"""`newsetl serve`: the analysts' web page (stdlib http.server, no framework).

    GET /                                  catalog page: tables and views, rows, partitions,
                                           sizes, last run, downloads, SQL box, charts
    GET /download/<table>.parquet          a whole table or view as one Parquet file
    GET /api/sql?q=...&format=json|csv|parquet[&limit=N]
    GET /api/catalog                       the catalog as JSON
    GET /api/entities?limit=N              most-mentioned entities (chart picker)
    GET /api/entity_timeseries?entity_id=  mentions / sentiment / tone per day
    GET /api/top_entities?day=YYYY-MM-DD&limit=N
    GET /api/days                          days that have mentions
    GET /static/app.js, /static/style.css

Every request opens its own read-only, locked-down connection (newsetl.query), so the
page keeps working while the writer renames a new news.duckdb into place. Ad-hoc SQL
goes through the same `check_read_only` as `newsetl sql`; a refused query is HTTP 400
with a JSON body {"error": "..."}. Downloads are named by catalog entry, never by path:
the name must be an existing table or view of the database, so nothing outside the
warehouse can be fetched. The page loads no third-party asset (no CDN): charts are
plain SVG drawn by ~150 lines of vanilla JS served from this module.

Binds 127.0.0.1 by default; there is no authentication, so do not expose it publicly.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from newsetl import export, sqlfiles
from newsetl.query import (
    BATCH_ROWS,
    QueryFailed,
    QueryRefused,
    check_read_only,
    connect_read_only,
    flat_for_csv,
    json_default,
    to_rows,
)
from newsetl.settings import Settings

# Preview rows returned as JSON to the page: enough to eyeball, small enough to render.
PREVIEW_ROWS = 200
MAX_PREVIEW_ROWS = 10_000
# Full-result downloads (CSV/Parquet of a query): bounded so one request cannot fill the disk.
DOWNLOAD_MAX_ROWS = 5_000_000
# Time limits: previews should feel interactive; downloads may take longer.
PREVIEW_TIMEOUT_S = 30.0
DOWNLOAD_TIMEOUT_S = 300.0
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Response:
    status: int
    content_type: str = "application/json; charset=utf-8"
    body: bytes = b""
    file: Path | None = None  # streamed, then deleted (a temporary result file)
    headers: dict = field(default_factory=dict)


def _json(data, status: int = 200) -> Response:
    return Response(status, body=json.dumps(data, default=json_default, ensure_ascii=False).encode())


def _error(message: str, status: int = 400) -> Response:
    return _json({"error": message}, status)


class App:
    """The routes, independent of the HTTP server (tests may call `handle` directly)."""

    def __init__(self, settings: Settings):
        self.settings = settings

    # ------------------------------------------------------------------ dispatch
    def handle(self, method: str, target: str) -> Response:
        parts = urlsplit(target)
        path = parts.path
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if method not in ("GET", "HEAD"):
            return _error(f"{method} is not allowed: this page is read-only", 405)
        try:
            if path == "/":
                return Response(200, "text/html; charset=utf-8", render_page(self.catalog()).encode())
            if path == "/static/app.js":
                return Response(200, "text/javascript; charset=utf-8", APP_JS.encode())
            if path == "/static/style.css":
                return Response(200, "text/css; charset=utf-8", STYLE_CSS.encode())
            if path == "/healthz":
                return _json({"ok": True})
            if path == "/api/catalog":
                return _json(self.catalog())
            if path == "/api/sql":
                return self.api_sql(params)
            if path == "/api/entities":
                return self.named("top_entities_overall", [_int(params.get("limit"), 20, 1, 500)])
            if path == "/api/entity_timeseries":
                eid = params.get("entity_id", "")
                if not eid:
                    return _error("entity_id is required, e.g. /api/entity_timeseries?entity_id=...")
                return self.named("entity_timeseries", [eid])
            if path == "/api/top_entities":
                day = params.get("day", "")
                if not _DAY.match(day):
                    return _error("day must be YYYY-MM-DD, e.g. /api/top_entities?day=2026-11-01")
                return self.named("top_entities_of_day", [day, _int(params.get("limit"), 10, 1, 100)])
            if path == "/api/days":
                return self.named("days_with_mentions", [])
            if path.startswith("/download/"):
                return self.download(path[len("/download/"):])
        except QueryRefused as e:
            return _error(str(e), 400)
        except QueryFailed as e:
            status = 503 if "no warehouse database" in str(e) else 400
            return _error(str(e), status)
        except Exception as e:  # keep serving; the traceback goes to the server log
            import traceback

            traceback.print_exc(file=sys.stderr)
            return _error(f"internal error: {type(e).__name__}: {e}", 500)
        return _error(f"not found: {path}", 404)

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
            cols = {}
            for t, c, typ in con.execute(
                "select table_name, column_name, data_type from duckdb_columns() "
                "where schema_name = 'main' and database_name = current_database() order by table_name, column_index"
            ).fetchall():
                cols.setdefault(t, []).append({"name": c, "type": typ})
            tables = [r[0] for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main' "
                "and database_name = current_database() order by table_name").fetchall()]
            views = [r[0] for r in con.execute(
                "select view_name from duckdb_views() where schema_name = 'main' and not internal "
                "and database_name = current_database() order by view_name").fetchall()]
            docs = {name: q.doc for name, q in sqlfiles.views().items()}
            for t in tables:
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

    # ------------------------------------------------------------------ queries
    def named(self, name: str, params: list) -> Response:
        from newsetl.query import execute

        if not self.settings.db_path.exists():
            return _error(f"no warehouse database at {self.settings.db_path}", 503)
        result = execute(sqlfiles.query(name), self.settings, max_rows=MAX_PREVIEW_ROWS,
                         timeout_s=PREVIEW_TIMEOUT_S, params=params, checked=True)
        return _json({"columns": result.columns, "rows": result.table.to_pylist()})

    def api_sql(self, params: dict) -> Response:
        from newsetl.query import execute

        sql = params.get("q", "")
        fmt = params.get("format", "json")
        if fmt not in ("json", "csv", "parquet"):
            return _error(f"unknown format {fmt!r}: use json, csv or parquet")
        check_read_only(sql)
        if fmt == "json":
            limit = _int(params.get("limit"), PREVIEW_ROWS, 1, MAX_PREVIEW_ROWS)
            result = execute(sql, self.settings, max_rows=limit, timeout_s=PREVIEW_TIMEOUT_S)
            return _json({
                "columns": [{"name": f.name, "type": str(f.type)} for f in result.table.schema],
                "rows": to_rows(result.table),
                "row_count": result.num_rows,
                "truncated": result.truncated,
                "limit": limit,
            })
        path, rows, truncated = self._stream_to_file(sql, fmt, checked=True)
        headers = {"Content-Disposition": f'attachment; filename="query.{fmt}"',
                   "X-Newsetl-Rows": str(rows), "X-Newsetl-Truncated": str(truncated).lower()}
        ctype = "application/vnd.apache.parquet" if fmt == "parquet" else "text/csv; charset=utf-8"
        return Response(200, ctype, file=path, headers=headers)

    def download(self, rest: str) -> Response:
        name = unquote(rest)
        if not name.endswith(".parquet") or not _NAME.match(name[: -len(".parquet")]):
            return _error("refused: downloads are named /download/<table>.parquet with a table or view "
                          "name (letters, digits, _); paths are not accepted", 400)
        name = name[: -len(".parquet")]
        if not self.settings.db_path.exists():
            return _error(f"no warehouse database at {self.settings.db_path}", 503)
        con = connect_read_only(self.settings)
        try:
            known = {r[0] for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main' and database_name = current_database() "
                "union all select view_name from duckdb_views() where schema_name = 'main' and not internal "
                "and database_name = current_database()").fetchall()}
        finally:
            con.close()
        if name not in known:
            return _error(f"no table or view named {name!r} in the warehouse", 404)
        path, rows, _ = self._stream_to_file(f'select * from "{name}"', "parquet", checked=True)
        return Response(200, "application/vnd.apache.parquet", file=path,
                        headers={"Content-Disposition": f'attachment; filename="{name}.parquet"',
                                 "X-Newsetl-Rows": str(rows)})

    def _stream_to_file(self, sql: str, fmt: str, checked: bool) -> tuple[Path, int, bool]:
        """Run `sql` and write the result batch by batch to a temporary file (bounded
        memory for big tables). Returns (path, rows, truncated)."""
        import duckdb

        if not checked:
            check_read_only(sql)
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
                    writer = pq.ParquetWriter(tmp, schema, compression=export.COMPRESSION)
                    write = writer.write_batch
                else:
                    csv_schema = flat_for_csv(schema.empty_table()).schema
                    writer = pacsv.CSVWriter(tmp, csv_schema)
                    write = lambda b: writer.write_table(flat_for_csv(pa.Table.from_batches([b])))  # noqa: E731
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


def _int(raw, default: int, lo: int, hi: int) -> int:
    try:
        return max(lo, min(hi, int(raw)))
    except (TypeError, ValueError):
        return default


def _read_manifest(parquet_dir: Path) -> dict:
    try:
        return json.loads((Path(parquet_dir) / export.MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# ---------------------------------------------------------------------- HTTP glue


def make_handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "newsetl"
        sys_version = ""

        def do_GET(self):  # noqa: N802
            self._respond(app.handle("GET", self.path), head=False)

        def do_HEAD(self):  # noqa: N802
            self._respond(app.handle("HEAD", self.path), head=True)

        def _other(self):
            self._respond(app.handle(self.command, self.path), head=False)

        do_POST = do_PUT = do_DELETE = do_PATCH = _other  # noqa: N815

        def _respond(self, r: Response, head: bool) -> None:
            try:
                size = r.file.stat().st_size if r.file is not None else len(r.body)
                self.send_response(r.status)
                self.send_header("Content-Type", r.content_type)
                self.send_header("Content-Length", str(size))
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("Cache-Control", "no-store")
                self.send_header(
                    "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                    "frame-ancestors 'none'",
                )
                for k, v in r.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if head:
                    return
                if r.file is not None:
                    with open(r.file, "rb") as f:
                        shutil.copyfileobj(f, self.wfile, 1 << 20)
                else:
                    self.wfile.write(r.body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                if r.file is not None:
                    r.file.unlink(missing_ok=True)

        def log_message(self, fmt, *args):  # one line per request on stderr
            sys.stderr.write(f"{self.address_string()} {fmt % args}\n")

    return Handler


def make_app(settings: Settings | None = None) -> App:
    return App(settings or Settings.from_env())


def make_server(settings: Settings | None = None, host: str = "127.0.0.1", port: int = 8000,
                quiet: bool = False) -> ThreadingHTTPServer:
    app = make_app(settings)
    handler = make_handler(app)
    if quiet:
        handler.log_message = lambda *a, **k: None
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_command(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None) -> int:
    settings = settings or Settings.from_env()
    try:
        server = make_server(settings, host, port)
    except OSError as e:
        print(f"newsetl serve: cannot listen on {host}:{port}: {e.strerror or e}", file=sys.stderr)
        return 1
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"newsetl serve: warning: listening on {host} without authentication", file=sys.stderr)
    if not settings.db_path.exists():
        print(f"newsetl serve: no database yet at {settings.db_path} (run `newsetl run` first)", file=sys.stderr)
    h, p = server.server_address[:2]
    print(f"newsetl serve: http://{h}:{p}/  (warehouse {settings.warehouse}; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


# ---------------------------------------------------------------------- page

EXAMPLE_SQL = """select name, label, sum(mentions) as mentions, round(avg(mean_sentiment), 3) as sentiment
from entity_daily
group by all
order by mentions desc
limit 20"""


def _fmt_bytes(n) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def render_page(cat: dict) -> str:
    e = html.escape
    if not cat["database"]:
        body = (f"<p class='warn'>No database yet at <code>{e(cat['warehouse'])}/news.duckdb</code>. "
                "Run <code>newsetl run SOURCE...</code> first.</p>")
        return PAGE.format(body=body)
    run = cat.get("last_run")
    if run:
        when = run.get("finished_at") or run.get("started_at")
        run_html = (f"<p id='last-run'>Last run <code>{e(str(run['run_id']))}</code>: "
                    f"<strong>{e(str(run.get('status')))}</strong> at {e(str(when))} — "
                    f"{e(str(run.get('articles')))} articles ({e(str(run.get('articles_new')))} new), "
                    f"{e(str(run.get('rejects')))} rejects.</p>")
    else:
        run_html = "<p id='last-run'>No run recorded yet.</p>"
    rows = []
    for t in cat["tables"]:
        cols = ", ".join(f"{c['name']} <small>{e(c['type'])}</small>" for c in t["columns"])
        parts = "–" if t["partitions"] is None else str(t["partitions"])
        rows.append(
            f"<tr><td><code>{e(t['name'])}</code></td><td class='num'>{t['rows']:,}</td>"
            f"<td class='num'>{parts}</td><td class='num'>{_fmt_bytes(t['parquet_bytes'])}</td>"
            f"<td><a class='dl' href='{e(t['download'])}' download>{e(t['name'])}.parquet</a></td>"
            f"<td class='cols'><details><summary>{len(t['columns'])} columns</summary>{cols}</details></td></tr>"
        )
    vrows = []
    for v in cat["views"]:
        cols = ", ".join(e(c["name"]) for c in v["columns"])
        vrows.append(
            f"<tr><td><code>{e(v['name'])}</code></td><td>{e(v['doc'])}</td>"
            f"<td><a class='dl' href='{e(v['download'])}' download>{e(v['name'])}.parquet</a></td>"
            f"<td class='cols'><details><summary>{len(v['columns'])} columns</summary>{cols}</details></td></tr>"
        )
    body = f"""
{run_html}
<section>
<h2>Tables</h2>
<table class="catalog" id="tables">
<thead><tr><th>table</th><th>rows</th><th>partitions</th><th>Parquet size</th><th>download</th><th>columns</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<p class="hint">Partitioned Parquet tree: <code>parquet/&lt;table&gt;/published_date=YYYY-MM-DD/part-0.parquet</code>
(read with <code>hive_partitioning</code>); manifest generated {e(str(cat.get('manifest_generated_at') or 'never (run newsetl export)'))}.</p>
</section>
<section>
<h2>Views for analysts</h2>
<table class="catalog" id="views"><thead><tr><th>view</th><th>what</th><th>download</th><th>columns</th></tr></thead>
<tbody>{''.join(vrows)}</tbody></table>
</section>
<section>
<h2>SQL (read-only)</h2>
<form id="sql-form">
<textarea id="sql" name="q" rows="6" spellcheck="false">{e(EXAMPLE_SQL)}</textarea>
<div class="actions"><button id="run" type="submit">Run</button>
<a id="dl-parquet" class="dl" href="#" download>Download result as Parquet</a>
<a id="dl-csv" class="dl" href="#" download>Download result as CSV</a>
<span id="sql-status"></span></div>
</form>
<div id="sql-error" class="error" hidden></div>
<div id="preview"></div>
</section>
<section>
<h2>Charts</h2>
<div class="charts">
<div class="chart-box"><label>Entity <select id="entity-select"></select></label>
<h3>Mentions per day</h3><div id="chart-mentions" class="chart"></div>
<h3>Sentiment toward the entity and article tone per day</h3><div id="chart-tone" class="chart"></div></div>
<div class="chart-box"><label>Day <select id="day-select"></select></label>
<h3>Top entities of the day</h3><div id="chart-top" class="chart"></div></div>
</div>
</section>"""
    return PAGE.format(body=body)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>newsetl warehouse</title>
<link rel="stylesheet" href="/static/style.css">
<script src="/static/app.js" defer></script>
</head><body>
<header><h1>newsetl warehouse</h1><p>News articles, paragraphs, entities, quotes and sentiment.
Download tables as Parquet or query them read-only with DuckDB SQL.</p></header>
<main>{body}</main>
</body></html>
"""

STYLE_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
header { background: #1d3557; color: #fff; padding: 12px 24px; }
header h1 { margin: 0; font-size: 22px; } header p { margin: 4px 0 0; opacity: .85; }
main { padding: 8px 24px 40px; max-width: 1200px; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 8px 16px 16px; margin: 16px 0; }
h2 { font-size: 17px; margin: 8px 0; } h3 { font-size: 13px; margin: 10px 0 4px; color: #445; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eceff3; vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.cols { font-size: 12px; max-width: 420px; } small { color: #778; }
textarea { width: 100%; font: 13px ui-monospace, monospace; box-sizing: border-box; padding: 6px; }
.actions { margin: 6px 0; display: flex; gap: 14px; align-items: center; }
button { background: #1d3557; color: #fff; border: 0; border-radius: 4px; padding: 6px 18px; cursor: pointer; }
a.dl { color: #1d5fa8; }
.error { background: #fdecea; color: #8a1c12; border: 1px solid #f5c2bd; padding: 8px; border-radius: 4px; }
.warn { background: #fff6e0; padding: 8px; }
#preview { overflow: auto; max-height: 420px; font-size: 12px; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.chart svg { width: 100%; height: auto; background: #fbfcfd; border: 1px solid #eceff3; }
.hint { color: #667; font-size: 12px; }
"""

APP_JS = r"""
"use strict";
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}

async function getJSON(url) {
  const r = await fetch(url);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function sqlUrl(fmt) {
  return "/api/sql?format=" + fmt + "&q=" + encodeURIComponent($("sql").value);
}

function renderPreview(data) {
  const box = $("preview");
  box.textContent = "";
  const t = document.createElement("table");
  t.id = "preview-table";
  const head = t.createTHead().insertRow();
  for (const c of data.columns) {
    const th = document.createElement("th");
    th.textContent = c.name;
    th.title = c.type;
    head.appendChild(th);
  }
  const tb = t.createTBody();
  for (const row of data.rows) {
    const tr = tb.insertRow();
    for (const v of row) {
      tr.insertCell().textContent = v === null ? "NULL" : (typeof v === "object" ? JSON.stringify(v) : String(v));
    }
  }
  box.appendChild(t);
  $("sql-status").textContent = data.row_count + " rows" + (data.truncated ? " (preview truncated at " + data.limit + "; download for all rows)" : "");
}

async function runSql(ev) {
  if (ev) ev.preventDefault();
  $("sql-error").hidden = true;
  $("sql-status").textContent = "running…";
  try {
    renderPreview(await getJSON(sqlUrl("json")));
  } catch (e) {
    $("preview").textContent = "";
    $("sql-status").textContent = "";
    $("sql-error").textContent = e.message;
    $("sql-error").hidden = false;
  }
}

// Plot area: x from L to W - R, y from T (legend above it) to H - B.
const L = 46, R = 36, T = 28, B = 26;

function axes(svg, W, H, xs, ymin, ymax, fmtY) {
  svg.appendChild(el("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#99a"}));
  svg.appendChild(el("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#99a"}));
  for (const v of [ymin, (ymin + ymax) / 2, ymax]) {
    const y = H - B - (v - ymin) / (ymax - ymin || 1) * (H - B - T);
    svg.appendChild(el("line", {x1: L, y1: y, x2: W - R, y2: y, stroke: "#e3e6ea"}));
    svg.appendChild(el("text", {x: L - 4, y: y + 4, "text-anchor": "end", "font-size": 10}, fmtY(v)));
  }
  const step = Math.max(1, Math.ceil(xs.length / 6));
  xs.forEach((x, i) => {
    if (i % step) return;
    const px = L + (xs.length === 1 ? 0.5 : i / (xs.length - 1)) * (W - L - R);
    svg.appendChild(el("text", {x: px, y: H - B + 16, "text-anchor": "middle", "font-size": 10}, x));
  });
}

function lineChart(box, xs, series, opts) {
  box.textContent = "";
  const W = 520, H = 220;
  const svg = el("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.label});
  const all = series.flatMap((s) => s.values.filter((v) => v !== null));
  if (!xs.length || !all.length) {
    svg.appendChild(el("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}, "no data"));
    box.appendChild(svg);
    return;
  }
  let ymin = Math.min(opts.zero ? 0 : Infinity, ...all), ymax = Math.max(...all);
  if (ymin === ymax) { ymin -= 1; ymax += 1; }
  axes(svg, W, H, xs, ymin, ymax, opts.fmtY || ((v) => v.toFixed(2)));
  const px = (i) => L + (xs.length === 1 ? 0.5 : i / (xs.length - 1)) * (W - L - R);
  const py = (v) => H - B - (v - ymin) / (ymax - ymin) * (H - B - T);
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => (v === null ? null : [px(i), py(v)])).filter(Boolean);
    svg.appendChild(el("polyline", {class: "series", points: pts.map((p) => p.join(",")).join(" "),
      fill: "none", stroke: s.color, "stroke-width": 2}));
    for (const [x, y] of pts) svg.appendChild(el("circle", {cx: x, cy: y, r: 3, fill: s.color}));
    svg.appendChild(el("rect", {x: L + k * 170, y: 8, width: 10, height: 10, fill: s.color}));
    svg.appendChild(el("text", {x: L + 14 + k * 170, y: 17, "font-size": 11}, s.name));
  });
  box.appendChild(svg);
}

function barChart(box, items, label) {
  box.textContent = "";
  const W = 520, rowH = 22, P = 150;
  const H = Math.max(60, items.length * rowH + 20);
  const svg = el("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label});
  if (!items.length) {
    svg.appendChild(el("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}, "no data"));
  }
  const max = Math.max(1, ...items.map((d) => d.value));
  items.forEach((d, i) => {
    const y = 10 + i * rowH, w = d.value / max * (W - P - 50);
    svg.appendChild(el("text", {x: P - 6, y: y + 14, "text-anchor": "end", "font-size": 11}, d.label));
    svg.appendChild(el("rect", {class: "bar", x: P, y: y + 2, width: Math.max(1, w), height: rowH - 6, fill: "#457b9d"}));
    svg.appendChild(el("text", {x: P + w + 4, y: y + 14, "font-size": 11}, String(d.value)));
  });
  box.appendChild(svg);
}

async function drawEntity() {
  const id = $("entity-select").value;
  if (!id) return;
  try {
    const data = await getJSON("/api/entity_timeseries?entity_id=" + encodeURIComponent(id));
    const xs = data.rows.map((r) => r.day);
    lineChart($("chart-mentions"), xs, [{name: "mentions", color: "#1d3557", values: data.rows.map((r) => r.mentions)}],
      {label: "mentions per day", zero: true, fmtY: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1))});
    lineChart($("chart-tone"), xs, [
      {name: "sentiment toward entity", color: "#e63946", values: data.rows.map((r) => r.mean_sentiment)},
      {name: "mean article tone", color: "#2a9d8f", values: data.rows.map((r) => r.mean_tone)},
    ], {label: "sentiment and tone per day"});
  } catch (e) {
    $("chart-mentions").textContent = e.message;
  }
}

async function drawDay() {
  const day = $("day-select").value;
  if (!day) return;
  try {
    const data = await getJSON("/api/top_entities?limit=10&day=" + encodeURIComponent(day));
    barChart($("chart-top"), data.rows.map((r) => ({label: r.name + " (" + r.label + ")", value: r.mentions})), "top entities of " + day);
  } catch (e) {
    $("chart-top").textContent = e.message;
  }
}

function fill(select, items) {
  select.textContent = "";
  for (const [value, text] of items) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    select.appendChild(o);
  }
}

async function initCharts() {
  if (!$("entity-select")) return;
  try {
    const ents = await getJSON("/api/entities?limit=50");
    fill($("entity-select"), ents.rows.map((r) => [r.entity_id, r.name + " (" + r.mentions + ")"]));
    const days = await getJSON("/api/days");
    fill($("day-select"), days.rows.map((r) => [r.day, r.day]));
  } catch (e) {
    $("chart-mentions").textContent = e.message;
    return;
  }
  $("entity-select").addEventListener("change", drawEntity);
  $("day-select").addEventListener("change", drawDay);
  await Promise.all([drawEntity(), drawDay()]);
  document.body.dataset.chartsReady = "1";
}

document.addEventListener("DOMContentLoaded", () => {
  const form = $("sql-form");
  if (form) {
    form.addEventListener("submit", runSql);
    $("dl-parquet").addEventListener("click", (e) => { e.currentTarget.href = sqlUrl("parquet"); });
    $("dl-csv").addEventListener("click", (e) => { e.currentTarget.href = sqlUrl("csv"); });
  }
  initCharts();
});
"""
