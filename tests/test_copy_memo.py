"""Copies within a run (the same text under another URL, source or date) skip the
workers: `process.CopyMemo` gives them the rows of the article enriched earlier, under
their own id and date, and those rows are exactly what enriching the copy gives."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from newsetl import process, schema
from newsetl.records import RawDoc
from newsetl.settings import Settings
from tests.test_enrich_cache import wire_rows

TABLES = ("articles",) + schema.ARTICLE_CHILD_TABLES


def no_evidence(batch, relanded=None):
    return pl.DataFrame(schema={"kind": pl.String, "source": pl.String, "key": pl.String, "article_count": pl.Int64})


def wire_docs(tag: str, day: int, edit=None) -> list[RawDoc]:
    """The bundled wire articles under other URLs and source, published on `day`."""
    return [RawDoc(source=f"wire-{tag}", input_ref=f"{tag}:{i}", text=edit(row["text"]) if edit else row["text"],
                   title=row.get("title"), url=f"https://{tag}.example.net/story/{i}",
                   published_at=datetime(2026, 11, day, 9, tzinfo=timezone.utc))
            for i, row in enumerate(wire_rows())]


def prepared(docs: list[RawDoc]) -> process.Prepared:
    return process.prepare(docs, lambda ids: {}, no_evidence)


def enrich_text(text: str, title: str = "A story") -> dict[str, pl.DataFrame]:
    """One article of `text` prepared and enriched with the default models, in process."""
    doc = RawDoc(source="t", input_ref="t:0", text=text, title=title, url="https://example.net/story",
                 published_at=datetime(2026, 11, 2, tzinfo=timezone.utc))
    p = prepared([doc])
    return process.enrich(p.articles, p.paragraphs, Settings().model_paths)


def by_url(frames: dict[str, pl.DataFrame], articles: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Rows keyed by URL (ids differ between copies), in a fixed order."""
    url = articles.select("article_id", "url")
    out = {"articles": frames["articles"].sort("url")}
    for t, key in (("paragraphs", "paragraph_index"), ("sentences", "sentence_index"),
                   ("entity_mentions", "start_char"), ("quotes", "quote_index")):
        df = frames[t].join(url, on="article_id")
        out[t] = df.sort("url", "paragraph_index", key)
    return out


@pytest.fixture(scope="module")
def models():
    return Settings().model_paths


def enriched(plan: process.CopyPlan, models) -> dict[str, pl.DataFrame]:
    return process.enrich(plan.todo.articles, plan.todo.paragraphs, models)


def test_copies_get_exactly_the_rows_enriching_them_gives(models):
    first = prepared(wire_docs("one", 3))
    memo = process.CopyMemo()
    plan = memo.plan(first)
    assert plan.copies.height == 0 and plan.todo.articles.height == first.articles.height
    memo.remember(enriched(plan, models), plan)

    second = prepared(wire_docs("two", 5))  # other URLs, source and date: the same texts
    plan = memo.plan(second)
    assert plan.todo.articles.height == 0 and plan.copies.height == second.articles.height
    got = memo.fill(plan)
    alone = process.enrich(second.articles, second.paragraphs, models)
    a, b = by_url(got, second.articles), by_url(alone, second.articles)
    for t in TABLES:
        assert_frame_equal(a[t], b[t])
    assert a["entity_mentions"].height > 0 and a["quotes"].height > 0
    assert set(a["sentences"]["published_date"].to_list()) == {datetime(2026, 11, 5).date()}
    assert a["articles"]["source"].unique().to_list() == ["wire-two"]


def test_an_edited_copy_or_one_in_flight(models):
    """A copy with one word changed is enriched; a copy of a text still on its way to the
    workers (same batch or a batch in flight) waits for its rows."""
    memo = process.CopyMemo()
    one = prepared(wire_docs("one", 3))
    plan1 = memo.plan(one)
    edited = prepared(wire_docs("ed", 3, edit=lambda t: t.replace(" the ", " a ", 1)))
    two = prepared(wire_docs("two", 4))
    plan2 = memo.plan(two)  # batch one is still enriching
    assert plan2.todo.articles.height == 0 and plan2.copies.height == two.articles.height
    plan3 = memo.plan(edited)
    changed = edited.articles.height - plan3.copies.height
    assert changed >= 1 and plan3.todo.articles.height == changed

    memo.remember(enriched(plan1, models), plan1)
    got = memo.fill(plan2)
    alone = process.enrich(two.articles, two.paragraphs, models)
    for t in TABLES:
        assert_frame_equal(by_url(got, two.articles)[t], by_url(alone, two.articles)[t])


def test_a_paragraph_kind_is_part_of_the_text():
    """The same words with one paragraph's kind changed (boilerplate evidence grew between
    batches) are not a copy: enrich reads the kinds."""
    memo = process.CopyMemo()
    one = prepared(wire_docs("one", 3))
    memo.plan(one)
    two = prepared(wire_docs("two", 3))
    first = two.paragraphs["article_id"][0]
    flipped = two.paragraphs.with_columns(
        pl.when((pl.col("article_id") == first) & (pl.col("paragraph_index") == 0))
        .then(pl.lit("boilerplate")).otherwise(pl.col("kind")).alias("kind"))
    plan = memo.plan(process.Prepared(two.articles, flipped))
    assert plan.todo.articles["article_id"].to_list() == [first]


def test_duplicate_texts_in_one_batch_go_to_the_workers_once():
    docs = wire_docs("one", 3)
    dup = wire_docs("two", 3)[:2]
    prep = prepared(docs + dup)
    plan = process.CopyMemo().plan(prep)
    assert plan.copies.height == 2 and plan.todo.articles.height == len(docs)
    assert set(plan.copies["_key"].to_list()) <= set(plan.work_keys["_key"].to_list())


def test_the_memo_is_bounded_but_keeps_what_a_batch_in_flight_needs(models):
    memo = process.CopyMemo(max_bytes=1)  # every remembered batch is over the bound
    one = prepared(wire_docs("one", 3))
    plan1 = memo.plan(one)
    two = prepared(wire_docs("two", 4))
    plan2 = memo.plan(two)  # pins batch one's texts
    memo.remember(enriched(plan1, models), plan1)
    got = memo.fill(plan2)
    assert got["articles"].height == two.articles.height
    # Nothing pins them now: the next batch's arrival evicts them, and a later copy is enriched.
    memo._evict()
    plan3 = memo.plan(prepared(wire_docs("three", 5)))
    assert plan3.copies.height == 0 and plan3.todo.articles.height == one.articles.height


def test_a_batch_with_little_text_goes_in_fewer_shards():
    prep = prepared(wire_docs("one", 3))
    words = prep.paragraphs["text"].str.count_matches(r"\S+").sum()
    assert len(process.shard(prep, 4)) == min(4, prep.articles.height)
    assert len(process.shard(prep, 4, min_words=words)) == 1
    assert len(process.shard(prep, 4, min_words=words // 2)) == 2
    shards = process.shard(prep, 4, min_words=words // 2)
    assert sorted(sum((a["article_id"].to_list() for a, _ in shards), [])) == sorted(prep.articles["article_id"].to_list())


def test_paragraphs_with_known_ner_output_weigh_less():
    """A batch whose NER output is all known (copies that missed the memo, e.g. because a
    paragraph's kind changed) is cheap: one shard, where the same words unknown make two."""
    prep = prepared(wire_docs("one", 3))
    words = prep.paragraphs["text"].str.count_matches(r"\S+").sum()
    known = pl.Series(process.text_hashes(prep.paragraphs["text"].to_list()), dtype=pl.Int64)
    assert len(process.shard(prep, 4, min_words=words // 2)) == 2
    assert len(process.shard(prep, 4, min_words=words // 2, cached=known)) == 1
    # Balance follows the cost: the uncached half of the articles is split over the shards.
    half = prep.articles["article_id"].to_list()[::2]
    part = pl.Series(process.text_hashes(prep.paragraphs.filter(pl.col("article_id").is_in(half))["text"].to_list()),
                     dtype=pl.Int64)
    shards = process.shard(prep, 2, cached=part)
    fresh = [a.filter(~pl.col("article_id").is_in(half)).height for a, _ in shards]
    assert len(shards) == 2 and min(fresh) >= 1


def test_a_text_that_killed_its_worker_sets_its_copies_aside(models):
    """No rows came back for one article (its enrichment killed the worker: the flow
    rejected it). Its copies, in the same batch, in a batch in flight and in a later one,
    get no rows and go to no worker: `set_aside` names them; the other copies fill."""
    memo = process.CopyMemo()
    one = prepared(wire_docs("one", 3))
    plan1 = memo.plan(one)
    lost = plan1.todo.articles["article_id"][0]
    lost_key = plan1.work_keys.filter(pl.col("article_id") == lost)["_key"][0]
    two = prepared(wire_docs("two", 4))
    plan2 = memo.plan(two)  # batch one is still enriching
    frames = enriched(plan1, models)
    memo.remember({t: frames[t].filter(pl.col("article_id") != lost) for t in TABLES}, plan1)

    got = memo.fill(plan2)
    aside = memo.set_aside(plan2)
    assert got["articles"].height == two.articles.height - 1 and aside.height == 1
    assert aside["article_id"][0] not in got["articles"]["article_id"].to_list()
    assert plan2.copies.filter(pl.col("article_id") == aside["article_id"][0])["_key"][0] == lost_key

    three = prepared(wire_docs("three", 5))
    plan3 = memo.plan(three)
    assert plan3.todo.articles.height == 0 and plan3.copies.height == three.articles.height
    assert memo.fill(plan3)["articles"].height == three.articles.height - 1
    story = one.articles.filter(pl.col("article_id") == lost)["url"][0].rsplit("/", 1)[1]
    assert memo.set_aside(plan3)["url"].to_list() == [f"https://three.example.net/story/{story}"]
    assert memo._pins == {}
