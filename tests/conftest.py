"""Shared test setup: Prefect offline and quiet, one Prefect test server per session,
and a small warehouse built by the real flow from tests/fixtures. Also the helpers more
than one test file uses: load_script, query, load_summit, news_jsonl."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

os.environ.setdefault("NEWSETL_STATE_HOME", str(Path(__file__).resolve().parents[1] / ".state" / "test"))
from newsetl import env  # noqa: E402

env.configure(quiet=True)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_script(name: str) -> ModuleType:
    """scripts/<name>.py as a module, loaded once (cached in sys.modules), so tests can
    call the helpers a script shares with them (e.g. scripts/reliability.py)."""
    mod_name = f"newsetl_{name}_script"
    if mod_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(mod_name, ROOT / "scripts" / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = mod
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            del sys.modules[mod_name]
            raise
    return sys.modules[mod_name]


BBC = SHARED / "bbc-news" / "bbc-news.jsonl"


def news_jsonl(out: Path, n: int, spread: bool = False) -> Path:
    """n news articles as JSONL (id, title, text with blank-line paragraphs) at `out`: BBC
    stories from ../shared when present (the first n, or with `spread` n taken across the
    file: several categories), else built from the bundled sample and our fixtures, so a
    test that needs a corpus passes on a machine without ../shared too. Every built article
    is its own text (its paragraphs rotated and numbered): none is a copy of another."""
    if BBC.exists():
        lines = BBC.read_text(encoding="utf-8").splitlines()
        picked = lines[::max(1, len(lines) // n)][:n] if spread else lines[:n]
        out.write_text("\n".join(picked) + "\n", encoding="utf-8")
        return out
    texts = []
    for p in sorted(FIXTURES.rglob("*.txt")) + sorted((ROOT / "data" / "sample").glob("*.txt")):
        t = p.read_text(encoding="utf-8", errors="replace").strip()
        if len(t.split()) > 30:
            title, _, body = t.partition("\n")
            texts.append((title.strip(), [b.strip() for b in body.split("\n") if b.strip()]))
    rows = []
    for i in range(n):
        title, paras = texts[i % len(texts)]
        k = i // len(texts) % len(paras)
        rows.append({"id": f"fixture/{i:03d}", "title": f"{title} ({i})",
                     "text": "\n\n".join([f"Paragraph {i} of a fixture article."] + paras[k:] + paras[:k])})
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def synth():
    """scripts/synth_warehouse.py as a module (BBC-like synthetic batches)."""
    return load_script("synth_warehouse")


def query(warehouse_dir: Path, sql: str) -> list[tuple]:
    """All rows of `sql` against <warehouse_dir>/news.duckdb, opened read-only and closed again."""
    import duckdb

    con = duckdb.connect(str(Path(warehouse_dir) / "news.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


PAR_SCHEMA = {"article_id": pl.String, "paragraph_index": pl.Int32, "text": pl.String, "kind": pl.String}
MENTION_SCHEMA = {"article_id": pl.String, "paragraph_index": pl.Int32, "sentence_index": pl.Int32,
                  "start_char": pl.Int32, "end_char": pl.Int32, "text": pl.String, "label": pl.String}


def load_summit() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The hand-written seed-like article (paragraphs) and its NER-like mentions, from
    tests/fixtures/entities (used by test_entities and test_quotes)."""
    fixtures = FIXTURES / "entities"
    pars = []
    for i, line in enumerate((fixtures / "summit_article.txt").read_text(encoding="utf-8").splitlines()):
        kind, text = line.split("|", 1)
        pars.append({"article_id": "summit", "paragraph_index": i, "text": text, "kind": kind})
    paragraphs = pl.DataFrame(pars, schema=PAR_SCHEMA)
    texts = dict(zip(paragraphs["paragraph_index"].to_list(), paragraphs["text"].to_list()))
    rows = []
    for line in (fixtures / "summit_mentions.tsv").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        p, surface, occ, label = line.split("\t")
        p, occ = int(p), int(occ)
        start = [m.start() for m in re.finditer(re.escape(surface), texts[p])][occ]
        rows.append({"article_id": "summit", "paragraph_index": p, "sentence_index": 0,
                     "start_char": start, "end_char": start + len(surface), "text": surface, "label": label})
    return paragraphs, pl.DataFrame(rows, schema=MENTION_SCHEMA)


@pytest.fixture(scope="session")
def prefect_server():
    """One Prefect API for the whole test session (a flow run otherwise starts its own)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def api_url(prefect_server):
    """The Prefect API URL of the session's `prefect_server` (for `newsetl` subprocesses)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@pytest.fixture
def settings(tmp_path):
    from newsetl.settings import Settings

    return Settings(warehouse=tmp_path / "wh", workers=1, batch_size=50, progress=False)


# --- slow tests ------------------------------------------------------------------------
# `make test` (CI) runs everything; `make test-fast` (-m "not slow") leaves these out to
# stay under a minute. Marked here, centrally, so test files need no decorators: whole
# modules that start subprocesses, servers or worker pools, inject faults or benchmark,
# and any test that needs the Prefect test server (a real flow run: `prefect_server`,
# and through it `api_url` and `sample_warehouse`).
SLOW_MODULES = frozenset({
    "test_backfill", "test_bench_smoke", "test_browser", "test_concurrent_runs", "test_dask",
    "test_kill_landing", "test_pipeline", "test_prefect_server", "test_schedule", "test_web_flow", "test_worker_faults",
})
SLOW_FIXTURES = frozenset({"prefect_server"})
# (module, fixture): a module's own fixture that lands a whole warehouse. test_synth's
# `warehouse` lands 2 runs of synthetic articles (11 s of the fast run's 48 s CPU).
SLOW_MODULE_FIXTURES = frozenset({("test_synth", "warehouse")})
# Single tests elsewhere that start a subprocess or take several seconds of CPU on their own
# (measured with --durations on the 2-core machine: each over 9 s).
SLOW_TESTS = frozenset({
    "test_hostile.py::test_fifty_megabyte_html_page_bounded",  # a child process parses 50 MB
    # a child process enriches one megabyte of text
    "test_hostile.py::test_a_megabyte_paragraph_with_no_sentence_end_is_enriched_in_bounded_time_and_memory",
    "test_ner.py::test_very_long_paragraph_is_cut_in_pieces_with_right_offsets",  # 225,000 chars of spaCy
})


def _is_slow(item: pytest.Item) -> bool:
    module = item.path.stem
    name = f"{item.path.name}::{getattr(item, 'originalname', item.name)}"
    fixtures = set(getattr(item, "fixturenames", ()))
    return (module in SLOW_MODULES or name in SLOW_TESTS or not SLOW_FIXTURES.isdisjoint(fixtures)
            or any(m == module and f in fixtures for m, f in SLOW_MODULE_FIXTURES))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: subprocess, server, fault-injection or benchmark test; "
                                       "left out by `make test-fast`")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _is_slow(item):
            item.add_marker(pytest.mark.slow)


def run_cli(*argv: str) -> int:
    from newsetl.cli import main

    return main(list(argv))


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory, prefect_server):
    """The bundled sample data landed once by the real CLI into a temporary warehouse."""
    wh = tmp_path_factory.mktemp("sample") / "wh"
    root = Path(__file__).resolve().parents[1]
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(root / "data" / "sample", src / "sample")
    shutil.copy(FIXTURES / "articles" / "seedlike.txt", src / "sample" / "seedlike.txt")
    old = os.environ.get("NEWSETL_WORKERS")
    os.environ["NEWSETL_WORKERS"] = "1"
    try:
        assert run_cli("run", str(src / "sample"), "--warehouse", str(wh)) == 0
    finally:
        if old is None:
            os.environ.pop("NEWSETL_WORKERS", None)
        else:
            os.environ["NEWSETL_WORKERS"] = old
    return wh
