"""Named SQL queries kept in `sql/` files (aiosql style), and the analyst views.

A file holds blocks that each start with a `-- name: <name>` comment line; the block
runs until the next `-- name:` line. Comment lines right after the name line are the
block's doc. Names are unique across the files loaded together.

`sql/views/NN_*.sql` (numbered) hold `create or replace view` statements and are run in
file order by `create_views`: staging (`stg_*`) first, then the marts that read them.
Other files in `sql/views/` (`queries.sql`) hold read-only queries used by the web page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import newsetl.sql

# sql/ installs as the package newsetl.sql (see pyproject.toml), so this works from a
# checkout and from an installed wheel alike.
VIEWS_DIR = Path(newsetl.sql.__file__).resolve().parent / "views"
_NAME = re.compile(r"^--\s*name:\s*([A-Za-z_][\w-]*)\s*$")
_VIEW_FILE = re.compile(r"^\d+_.*\.sql$")


@dataclass(frozen=True)
class NamedQuery:
    name: str
    sql: str
    doc: str
    path: Path


def parse_sql_file(path: Path) -> list[NamedQuery]:
    """Split one file into its named blocks (text before the first name is ignored)."""
    blocks: list[NamedQuery] = []
    name: str | None = None
    lines: list[str] = []

    def close() -> None:
        if name is None:
            return
        doc = []
        body = list(lines)
        while body and body[0].lstrip().startswith("--"):
            doc.append(body.pop(0).lstrip()[2:].strip())
        sql = "\n".join(body).strip()
        if not sql:
            raise ValueError(f"{path}: query {name!r} is empty")
        blocks.append(NamedQuery(name, sql, " ".join(doc), path))

    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = _NAME.match(line.strip())
        if m:
            close()
            name, lines = m.group(1).replace("-", "_"), []
        elif name is not None:
            lines.append(line)
    close()
    return blocks


def load_queries(paths: list[Path]) -> dict[str, NamedQuery]:
    out: dict[str, NamedQuery] = {}
    for path in paths:
        for q in parse_sql_file(path):
            if q.name in out:
                raise ValueError(f"query {q.name!r} defined in {out[q.name].path} and {path}")
            out[q.name] = q
    return out


def view_files(views_dir: Path = VIEWS_DIR) -> list[Path]:
    return sorted(p for p in Path(views_dir).iterdir() if _VIEW_FILE.match(p.name))


@lru_cache(maxsize=4)
def views(views_dir: Path = VIEWS_DIR) -> dict[str, NamedQuery]:
    """The view definitions, in creation order (dicts keep insertion order)."""
    return load_queries(view_files(views_dir))


@lru_cache(maxsize=4)
def queries(views_dir: Path = VIEWS_DIR) -> dict[str, NamedQuery]:
    """The named read-only queries (every non-numbered .sql file in sql/views/)."""
    others = sorted(p for p in Path(views_dir).glob("*.sql") if not _VIEW_FILE.match(p.name))
    return load_queries(others)


def query(name: str) -> str:
    """The SQL text of a named read-only query."""
    try:
        return queries()[name].sql
    except KeyError:
        raise KeyError(f"no SQL query named {name!r} in {VIEWS_DIR}") from None


def view_names() -> list[str]:
    return list(views())


def views_version() -> str:
    """A hash of every analyst view's SQL: the writer remakes the views when it changes."""
    import hashlib

    return hashlib.sha256("\n".join(q.sql for q in views().values()).encode()).hexdigest()[:16]


def create_views(con) -> list[str]:
    """(Re)create every analyst view in `con` (a writable DuckDB connection whose
    database already holds the tables of newsetl.schema). Returns the view names.

    Views are stored in the database file, so readers of news.duckdb see them.
    """
    created = []
    for name, q in views().items():
        con.execute(q.sql)
        created.append(name)
    return created
