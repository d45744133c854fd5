"""Enrich each text once: syndicated copies (same texts, other URLs) reuse the raw NER
output of texts enriched before, in the same run or in the warehouse, and every copy's
rows are exactly what enriching it alone gives."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

ROOT = Path(__file__).resolve().parents[1]
WIRE = ROOT / "data" / "sample" / "wire.jsonl"


def wire_rows() -> list[dict]:
    """The bundled wire file's articles that have text (it also holds bad lines on purpose)."""
    out = []
    for line in WIRE.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and row.get("text"):
            out.append(row)
    return out


def copy_of(path: Path, tag: str, source: str) -> list[dict]:
    """The wire articles with text, under other URLs and another source."""
    out = []
    for row in wire_rows():
        row["url"] = f"https://{tag}.example.net/story/{len(out)}"
        row["source"] = source
        out.append(row)
    path.write_text("".join(json.dumps(r) + "\n" for r in out), encoding="utf-8")
    return out


def rows(db: Path, source: str) -> dict[str, pl.DataFrame]:
    """The copy's rows per table, keyed by its URL instead of its article_id."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        url = pl.from_arrow(con.sql("select article_id, url from articles where source = ?",
                                    params=[source]).to_arrow_table())
        out = {}
        for t, key in (("paragraphs", "paragraph_index"), ("sentences", "sentence_index"),
                       ("entity_mentions", "start_char"), ("quotes", "quote_index")):
            df = pl.from_arrow(con.sql(f"select * exclude (published_date) from {t}").to_arrow_table())
            df = df.join(url, on="article_id").drop("article_id")
            out[t] = df.sort("url", "paragraph_index", key)
        arts = pl.from_arrow(con.sql("select * exclude (article_id, run_id, cluster_id, duplicate_of, source, "
                                     "input_ref, url, canonical_url, fetched_at) from articles "
                                     "where source = ?", params=[source]).to_arrow_table())
        out["articles"] = arts.sort("title")
        return out
    finally:
        con.close()


def ner_cache_rows(wh: Path) -> int:
    files = sorted((wh / "parquet" / "_files" / "_ner_cache").glob("*.parquet"))
    return pl.scan_parquet(files).select(pl.len()).collect().item() if files else 0


def test_syndicated_copies_reuse_ner_and_land_what_alone_gives(settings, tmp_path, prefect_server):
    from newsetl.flows.pipeline import run_flow

    first = tmp_path / "first.jsonl"
    second = tmp_path / "second.jsonl"
    n = len(copy_of(first, "one", "wire-one"))
    copy_of(second, "two", "wire-two")
    assert n >= 3

    shared = settings.with_(warehouse=tmp_path / "shared")
    s1 = run_flow(sources=[str(first)], settings=shared)
    assert s1.landed["articles"] == n
    cached = ner_cache_rows(shared.warehouse)
    assert cached > 0  # every distinct content paragraph's raw NER output is stored
    s2 = run_flow(sources=[str(second)], settings=shared)
    assert s2.landed["articles"] == n
    assert ner_cache_rows(shared.warehouse) == cached  # the copy computed no new NER output

    alone = settings.with_(warehouse=tmp_path / "alone", enrich_cache=False)
    run_flow(sources=[str(second)], settings=alone)
    a, b = rows(shared.db_path, "wire-two"), rows(alone.db_path, "wire-two")
    for t in a:
        assert_frame_equal(a[t], b[t], check_exact=False, rel_tol=1e-9, abs_tol=1e-12)
    assert a["entity_mentions"].height > 0


def test_copies_in_one_run_are_enriched_once(settings, tmp_path, prefect_server):
    from newsetl.flows.pipeline import run_flow

    copy_of(tmp_path / "a.jsonl", "one", "wire-one")
    n = len(copy_of(tmp_path / "b.jsonl", "two", "wire-two"))
    s = settings.with_(warehouse=tmp_path / "wh", batch_size=3)  # later batches meet earlier texts
    summary = run_flow(sources=[str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")], settings=s)
    assert summary.copied == n and summary.landed["articles"] == 2 * n
    assert f"{n} of them repeat a text" in summary.markdown(s)
    once = settings.with_(warehouse=tmp_path / "once")
    run_flow(sources=[str(tmp_path / "a.jsonl")], settings=once)
    assert ner_cache_rows(s.warehouse) == ner_cache_rows(once.warehouse)
    a, b = rows(s.db_path, "wire-two"), rows(s.db_path, "wire-one")
    for t in ("entity_mentions", "sentences"):
        assert_frame_equal(a[t].drop("url"), b[t].drop("url"))
    # The copies skipped the workers (process.CopyMemo): their rows are what enriching them alone gives.
    alone = settings.with_(warehouse=tmp_path / "alone", enrich_cache=False)
    run_flow(sources=[str(tmp_path / "b.jsonl")], settings=alone)
    c = rows(alone.db_path, "wire-two")
    for t in a:
        assert_frame_equal(a[t], c[t], check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


def test_the_summary_adds_up_when_a_repeat_comes_in_a_later_batch(settings, tmp_path, prefect_server):
    """Inputs read = new + changed + unchanged + repeated + rejected, also when an input
    repeats one of an earlier batch (it lands once; the summary used to drop it)."""
    from newsetl.flows.pipeline import run_flow

    rows = copy_of(tmp_path / "w.jsonl", "one", "wire-one")
    rows.append(dict(rows[0]))  # the first article again, three batches later
    (tmp_path / "w.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    s = settings.with_(warehouse=tmp_path / "wh", batch_size=2)
    summary = run_flow(sources=[str(tmp_path / "w.jsonl")], settings=s)
    assert summary.landed["articles"] == summary.articles_new == len(rows) - 1
    assert summary.duplicates_in_batch == 1 and summary.rejects == 0, summary.markdown(s)
    assert summary.articles_seen == summary.articles_new + summary.articles_changed + summary.articles_unchanged \
        + summary.duplicates_in_batch + summary.rejects
    assert "1 repeated within this run" in summary.markdown(s)


def test_writer_ner_cache_for_this_runs_texts(tmp_path):
    """The run's own NER output is found by text hash, once per hash, whatever order or
    repeats the lookup asks in; unknown hashes are simply absent."""
    from newsetl.process import NER_CACHE_SCHEMA
    from newsetl.settings import Settings
    from newsetl.warehouse import Writer

    w = Writer(Settings(warehouse=tmp_path / "wh", workers=1))
    try:
        fresh = pl.DataFrame({"h": [11, 12, 13],
                              "spans": [[{"start": 0, "end": 3, "label": "PERSON"}], [],
                                        [{"start": 1, "end": 2, "label": "ORG"}, {"start": 5, "end": 9, "label": "GPE"}]],
                              "targets": [[{"s": "Ann won.", "a": 0, "b": 3, "score": 0.5, "label": "positive"}], None, []]},
                             schema=NER_CACHE_SCHEMA)
        w.remember_ner(fresh)
        w.remember_ner(fresh.filter(pl.col("h") == 13))  # a later batch computed it again
        got = w.ner_cache_for([13, 11, 99, 13, 12]).sort("h")
        assert got.schema == pl.Schema(NER_CACHE_SCHEMA)
        assert_frame_equal(got, fresh.sort("h"))
        assert w.ner_cache_for([99]).height == 0
    finally:
        w.abort()


def test_copy_on_another_worker_reuses_target_scores(monkeypatch, tmp_path):
    """A copy whose paragraphs were enriched by another worker (its target-sentiment memo
    is cold) gets the same rows without running the target model: the run's cache carries
    the scores with the spans."""
    from newsetl import process
    from newsetl.settings import Settings
    from newsetl.transforms import sentiment as S

    from newsetl.records import RawDoc

    rows = copy_of(tmp_path / "copy.jsonl", "any", "wire")

    docs = [RawDoc(source="wire", input_ref=f"wire:{i}", text=r["text"], title=r.get("title"), url=r.get("url"))
            for i, r in enumerate(rows) if isinstance(r, dict) and r.get("text")]
    empty_ev = lambda b, r=None: pl.DataFrame(schema={"kind": pl.String, "source": pl.String, "key": pl.String,
                                                       "article_count": pl.Int64})
    prep = process.prepare(docs, lambda ids: {}, empty_ev, force=False)
    models = Settings().model_paths
    process._TSC_MEMO.clear()
    first = process.enrich(prep.articles, prep.paragraphs, models)
    cache = first["_ner_cache"]
    assert cache["targets"].drop_nulls().list.len().sum() > 0

    process._TSC_MEMO.clear()  # the other worker never scored these sentences
    calls = []
    real = S.target_scores
    monkeypatch.setattr(S, "target_scores", lambda *a, **k: calls.append(len(a[0])) or real(*a, **k))
    again = process.enrich(prep.articles, prep.paragraphs, models, cache)
    assert sum(calls) == 0
    for t in ("entity_mentions", "sentences", "quotes", "articles"):
        assert_frame_equal(again[t], first[t])
