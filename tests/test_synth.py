"""scripts/synth_warehouse.py: a small synthetic warehouse, built through the real landing
code, has BBC-like row counts, repeating entity ids, dates over a year, duplicates,
consistent offsets, and is queryable by `newsetl sql`."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import pytest

from newsetl import schema
from tests.conftest import load_script, query, run_cli

N = 300


@pytest.fixture(scope="module")
def model(synth):
    # a smaller vocabulary keeps the unit tests fast; the Zipf shape is the same
    return synth.Model(seed=7, vocab_size=20_000)


@pytest.fixture(scope="module")
def warehouse(synth, tmp_path_factory):
    wh = tmp_path_factory.mktemp("synth") / "wh"
    # two runs, the first of two batches: several batches per run and a run landing into a
    # warehouse that already holds articles (incremental entities and duplicates) are exercised
    synth.main(["--articles", str(N), "--warehouse", str(wh), "--batch-size", "100", "--run-size", "200"])
    return wh


def test_batch_frames_conform_and_are_deterministic(synth, model):
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    a = synth.make_batch(model, 0, 50, now)
    b = synth.make_batch(model, 0, 50, now)
    for table, df in a.items():
        assert df.columns == schema.columns(table)
        assert df.schema == schema.conform(df, table).schema
        assert df.equals(b[table]), table
    # another batch of the same seed is different articles
    c = synth.make_batch(model, 50, 50, now)
    assert not set(c["articles"]["article_id"]) & set(a["articles"]["article_id"])


def test_offsets_point_at_the_text(synth, model):
    f = synth.make_batch(model, 0, 200, datetime(2026, 1, 1, tzinfo=timezone.utc))
    paras = f["paragraphs"].select("article_id", "paragraph_index", pl.col("text").alias("p"), "kind")
    for table in ("sentences", "entity_mentions"):
        j = f[table].join(paras, on=["article_id", "paragraph_index"], how="left")
        assert j["p"].null_count() == 0, table
        got = j.select(pl.col("p").str.slice(pl.col("start_char"), pl.col("end_char") - pl.col("start_char")))
        assert (got.to_series() == j["text"]).all(), table
    # no mention in boilerplate; articles.text = body and heading paragraphs
    kinds = f["entity_mentions"].join(paras, on=["article_id", "paragraph_index"])["kind"]
    assert "boilerplate" not in kinds.to_list()
    one = f["articles"].row(0, named=True)
    body = paras.filter((pl.col("article_id") == one["article_id"]) & (pl.col("kind") != "boilerplate"))
    assert one["text"] == "\n\n".join(body.sort("paragraph_index")["p"].to_list())
    # quotes are said by the PERSON mentioned in their sentence
    q = f["quotes"].join(f["entity_mentions"], left_on=["article_id", "paragraph_index", "speaker_entity_id"],
                         right_on=["article_id", "paragraph_index", "entity_id"], how="left")
    assert q.height >= f["quotes"].height and (q["label"] == "PERSON").all()


def test_row_counts_per_article_are_bbc_like(warehouse):
    (arts, paras, sents, ments, quotes, words, chars), = query(warehouse, """
        select (select count(*) from articles), (select count(*) from paragraphs),
               (select count(*) from sentences), (select count(*) from entity_mentions),
               (select count(*) from quotes), (select avg(word_count) from articles),
               (select avg(length(text)) from articles)""")
    assert arts == N
    assert query(warehouse, "select count(*) from runs where status = 'completed'")[0][0] == 2
    # issue 13: about 5 paragraphs, 19 sentences, 28 mentions, 4 quotes, ~330 words
    assert 4.3 <= paras / N <= 5.7
    assert 16 <= sents / N <= 22
    assert 24 <= ments / N <= 32
    assert 3.0 <= quotes / N <= 5.0
    assert 270 <= words <= 390
    assert 1400 <= chars <= 2600
    kinds = dict(query(warehouse, "select kind, count(*) from paragraphs group by kind"))
    assert kinds["body"] > 0.8 * paras and kinds.get("heading", 0) > 0 and kinds.get("boilerplate", 0) > 0


def test_entity_ids_repeat_across_articles(warehouse):
    (n_ids, top, repeated), = query(warehouse, """
        with per as (select entity_id, count(distinct article_id) n from entity_mentions group by entity_id)
        select count(*), max(n), count(*) filter (where n >= 2) from per""")
    assert top >= N // 20  # Zipf head: the most common entity is in many articles
    assert repeated >= 100
    assert n_ids < 0.8 * query(warehouse, "select count(*) from entity_mentions")[0][0]
    # ids are the pipeline's own, and the entities table covers every mentioned id
    from newsetl.transforms.entities import entity_id_for

    (eid, label, name), = query(warehouse, "select entity_id, label, entity_name from entity_mentions limit 1")
    assert eid == entity_id_for(label, name)
    missing, = query(warehouse, "select count(distinct entity_id) from entity_mentions "
                                "where entity_id not in (select entity_id from entities)")[0]
    assert missing == 0


def test_dates_span_a_year_and_children_share_them(warehouse):
    (months, undated, sources), = query(warehouse, """
        select count(distinct date_trunc('month', published_date)), count(*) filter (where published_date is null),
               count(distinct source) from articles""")
    assert months >= 10
    assert 1 <= undated <= N * 0.1
    assert sources >= 4
    for table in schema.ARTICLE_CHILD_TABLES:
        bad, = query(warehouse, f"""select count(*) from {table} c join articles a using (article_id)
                                    where c.published_date is distinct from a.published_date""")[0]
        assert bad == 0, table


def test_exact_and_near_duplicates(warehouse):
    exact, = query(warehouse, """select count(*) from (select content_hash from articles
                                 group by content_hash having count(*) > 1)""")[0]
    assert exact >= 1
    # near duplicates: a copy with one sentence changed shares most of its paragraphs
    near, = query(warehouse, """
        with p as (select article_id, hash(text) h from paragraphs where kind = 'body'),
        pairs as (select a.article_id x, b.article_id y, count(*) shared from p a join p b
                  on a.h = b.h and a.article_id < b.article_id group by 1, 2)
        select count(*) from pairs
        join articles ax on ax.article_id = x join articles ay on ay.article_id = y
        where ax.content_hash <> ay.content_hash and shared >= 2""")[0]
    assert near >= 1


def test_newsetl_sql_reads_it(warehouse, capsys):
    assert run_cli("sql", "select count(*) from entity_mentions", "--warehouse", str(warehouse),
                   "--format", "csv") == 0
    out = capsys.readouterr().out.strip().splitlines()
    expected = query(warehouse, "select count(*) from entity_mentions")[0][0]
    assert out[-1].strip() == str(expected) and expected > 20 * N


# ---- scripts/bench_scale.py helpers (the bench itself needs the research corpus and minutes)
def test_bench_working_copy_links_data_and_copies_the_catalog(warehouse, tmp_path):
    bench = load_script("bench_scale")
    copy = tmp_path / "copy"
    bench.working_copy(warehouse, copy)
    data = [p for p in warehouse.rglob("*.parquet")]
    assert data and all((copy / p.relative_to(warehouse)).stat().st_ino == p.stat().st_ino for p in data)
    assert (copy / "news.duckdb").stat().st_ino != (warehouse / "news.duckdb").stat().st_ino
    assert query(copy, "select count(*) from articles")[0][0] == N


def test_bench_reads_sizes_summaries_and_targets():
    bench = load_script("bench_scale")
    assert [bench.parse_size(s) for s in ("10k", "100K", "1M", "2500")] == [10_000, 100_000, 1_000_000, 2500]
    assert [bench.label(n) for n in (10_000, 1_000_000)] == ["10k", "1M"]
    out = ("25 articles read: 25 new, 0 changed, 0 unchanged (skipped), 0 rejected; 10.7 s.\n\n"
           "| step | seconds |\n| --- | ---: |\n| enrich (wait) | 7.61 |\n| publish | 0.76 |\n")
    assert bench.parse_summary(out) == {"seconds": 10.7, "steps": {"enrich (wait)": 7.61, "publish": 0.76}}

    def result(n, empty, new, disk, sql):
        m = {"wall": new, "rss": 10**9, "disk_before": 100, "disk_peak": disk}
        return {"articles": n, "empty": {"wall": empty}, "new": m, "unchanged": {"wall": 1, "rss": 10**9},
                "sql": {"wall": sql}}

    rows = bench.targets([result(1_000_000, 10.0, 20.0, 120, 1.0)])
    assert [r[-1] for r in rows] == ["PASS", "PASS", "PASS", "PASS"]
    rows = bench.targets([result(1_000_000, 10.0, 20.1, 130, 2.5)])
    assert [r[-1] for r in rows] == ["FAIL", "FAIL", "PASS", "FAIL"]
