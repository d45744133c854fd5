"""End to end: the real CLI and flow, a temporary warehouse, fixtures of our own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.dataset as ds
import pytest

from newsetl import schema
from tests.conftest import FIXTURES, query, run_cli

pytestmark = pytest.mark.usefixtures("prefect_server")

E2E = FIXTURES / "e2e"
GOOD_TXT = "korea-talks.txt"


def _copy(tmp_path: Path, *names: str) -> Path:
    src = tmp_path / "in"
    src.mkdir(exist_ok=True)
    for n in names:
        shutil.copy(E2E / n, src / n)
    return src


def _counts(wh: Path) -> dict[str, int]:
    return {t: query(wh, f"select count(*) from {t}")[0][0] for t in schema.TABLES if t not in ("runs", "rejects")}


@pytest.fixture
def landed(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    src = _copy(tmp_path, GOOD_TXT, "feedlike.jsonl", "empty.txt", "blank.txt", "picture.txt",
                "cp1252.txt", "broken.html")
    wh = tmp_path / "wh"
    assert run_cli("run", str(src), "--warehouse", str(wh)) == 0
    return src, wh


def test_contract_tables_and_columns(landed):
    _, wh = landed
    con = duckdb.connect(str(wh / "news.duckdb"), read_only=True)
    for table, cols in schema.TABLES.items():
        have = [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
            [table]).fetchall()]
        assert have[: len(cols)] == [c for c, _ in cols]
    con.close()
    # 1 txt article + 2 JSONL articles + the cp1252 text file
    assert query(wh, "select count(*) from articles")[0][0] == 4
    # keys are unique
    for table, key in schema.KEYS.items():
        k = ", ".join(key)
        assert query(wh, f"select count(*) - count(distinct ({k})) from {table}")[0][0] == 0, table


def test_seedlike_article_paragraphs_and_kinds(landed):
    _, wh = landed
    rows = query(wh, """select paragraph_index, kind, p.text from paragraphs p join articles a using (article_id)
                     where a.input_ref like '%korea-talks.txt' order by paragraph_index""")
    assert [r[0] for r in rows] == list(range(20))
    kinds = {r[2]: r[1] for r in rows}
    assert kinds["JOIN OUR WHATSAPP CHANNEL"] == "boilerplate"
    assert kinds["Follow our live coverage of the conflict on @worlddesk_news."] == "boilerplate"
    assert kinds["Why Europe’s Tank Factories Cannot Keep Up With Kyiv’s Needs"] == "boilerplate"
    assert kinds["Select any passage and press Ctrl + Enter to report a typo"] == "boilerplate"
    assert kinds["Pyongyang Moves Closer to Moscow"] == "heading"
    assert sum(1 for k in kinds.values() if k == "body") == 15
    text = query(wh, "select text from articles where input_ref like '%korea-talks.txt'")[0][0]
    assert "WHATSAPP" not in text and "Ctrl + Enter" not in text
    assert "Pyongyang Moves Closer to Moscow" in text  # headings stay in the clean body


def test_seedlike_article_entities(landed):
    _, wh = landed
    rows = query(wh, """select m.text, m.label, p.kind from entity_mentions m
                     join articles a using (article_id)
                     join paragraphs p using (article_id, paragraph_index)
                     where a.input_ref like '%korea-talks.txt'""")
    assert all(kind != "boilerplate" for _, _, kind in rows)
    persons = {t for t, lab, _ in rows if lab == "PERSON"}
    for name in ("Donald Trump", "Kim Jong-un", "Joe Biden", "Alex Wong", "Vladimir Putin"):
        assert name in persons, (name, persons)
    gpes = {t for t, lab, _ in rows if lab == "GPE"}
    for name in ("North Korea", "Russia", "Ukraine"):
        assert name in gpes, (name, gpes)
    # offsets index into the paragraph text
    bad = query(wh, """select count(*) from entity_mentions m join paragraphs p using (article_id, paragraph_index)
                    where substr(p.text, m.start_char + 1, m.end_char - m.start_char) <> m.text""")
    assert bad[0][0] == 0


def test_rejects_have_reasons_and_rest_lands(landed):
    _, wh = landed
    rej = dict(query(wh, "select regexp_extract(input_ref, '[^/]+$'), reason from rejects"))
    assert rej["empty.txt"] == "empty file"
    assert "no text" in rej["blank.txt"] or "empty" in rej["blank.txt"]
    assert "binary" in rej["picture.txt"]
    assert "no article text" in rej["broken.html"]
    jsonl = {k: v for k, v in rej.items() if k.startswith("feedlike.jsonl:")}
    assert "not JSON" in jsonl["feedlike.jsonl:3"]
    assert "neither 'text' nor 'html'" in jsonl["feedlike.jsonl:4"]
    assert "not an object" in jsonl["feedlike.jsonl:5"]
    # cp1252 bytes decoded, not replaced
    txt = query(wh, "select text from articles where input_ref like '%cp1252.txt'")[0][0]
    assert "Café" in txt and "\ufffd" not in txt
    assert query(wh, "select count(*) from rejects where reason is null or reason = ''")[0][0] == 0


def test_rerun_is_idempotent_and_skips_unchanged(landed, monkeypatch):
    src, wh = landed
    before = _counts(wh)
    ids = query(wh, "select article_id from articles order by 1")
    n_rej = query(wh, "select count(*) from rejects")[0][0]
    assert run_cli("run", str(src), "--warehouse", str(wh)) == 0
    assert _counts(wh) == before
    assert query(wh, "select article_id from articles order by 1") == ids
    assert query(wh, "select count(*) from rejects")[0][0] == n_rej
    last = query(wh, "select articles_unchanged, articles_new, articles_changed from runs order by finished_at desc limit 1")[0]
    assert last == (4, 0, 0)


def test_changed_article_is_replaced(landed):
    src, wh = landed
    p = src / GOOD_TXT
    lines = p.read_text(encoding="utf-8").splitlines()
    p.write_text("\n".join(lines[:10]) + "\n", encoding="utf-8")  # the article was cut
    assert run_cli("run", str(src), "--warehouse", str(wh)) == 0
    # no URL: the id is the content hash, but the new version of the file replaces the
    # old one (with its paragraphs), it does not sit beside it
    assert query(wh, "select count(*) from articles where input_ref like '%korea-talks.txt'")[0][0] == 1
    n = query(wh, "select count(*) from paragraphs p join articles a using (article_id) where a.input_ref like '%korea-talks.txt'")
    assert n[0][0] == 10
    assert query(wh, "select count(*) from paragraphs where article_id not in (select article_id from articles)")[0][0] == 0


def test_changed_jsonl_article_with_url_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    src = _copy(tmp_path, "feedlike.jsonl")
    wh = tmp_path / "wh"
    assert run_cli("run", str(src), "--warehouse", str(wh)) == 0
    f = src / "feedlike.jsonl"
    f.write_text(f.read_text(encoding="utf-8").replace("fell on Wednesday", "fell sharply on Wednesday"), encoding="utf-8")
    assert run_cli("run", str(src), "--warehouse", str(wh)) == 0
    rows = query(wh, "select text from articles where url like '%oil-prices'")
    assert len(rows) == 1 and "fell sharply" in rows[0][0]
    assert query(wh, "select count(*) from sentences s join articles a using (article_id) where a.url like '%oil-prices' and s.text like 'Oil prices fell on%'")[0][0] == 0
    last = query(wh, "select articles_changed, articles_unchanged from runs order by finished_at desc limit 1")[0]
    assert last == (1, 1)


def test_nothing_landed_exits_nonzero(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    src = _copy(tmp_path, "empty.txt", "picture.txt")
    assert run_cli("run", str(src), "--warehouse", str(tmp_path / "wh")) != 0


def test_parquet_tree_readable_three_ways(landed):
    _, wh = landed
    root = wh / "parquet" / "articles"
    parts = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert "published_date=2024-11-20" in parts
    assert any(p.endswith("__HIVE_DEFAULT_PARTITION__") or p.endswith("unknown") for p in parts)
    assert not list((wh / "parquet").rglob("*.tmp"))
    n_db = query(wh, "select count(*) from articles")[0][0]
    con = duckdb.connect()
    n_duck = con.execute(f"select count(*) from read_parquet('{root}/*/*.parquet', hive_partitioning=true)").fetchone()[0]
    n_pl = pl.scan_parquet(str(root), hive_partitioning=True).select(pl.len()).collect().item()
    n_pa = ds.dataset(str(root), format="parquet", partitioning="hive").count_rows()
    assert n_db == n_duck == n_pl == n_pa


def test_a_later_run_links_an_acronym_an_earlier_article_spelled_out(tmp_path, monkeypatch):
    """Cross-article acronyms through the flow: the warehouse's `entities` (aliases and
    counts) are the evidence that "EU" names the European Union (issue 11)."""
    import json

    from newsetl.transforms.entities import entity_id_for

    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    wh = tmp_path / "wh"
    first = ("The European Union agreed new fishing quotas on Monday after talks in Brussels. "
             "EU ministers said the EU deal would protect stocks.")  # named "EU": its most written form
    later = ("EU leaders will meet in Brussels next week to discuss the budget, officials said. "
             "The talks are expected to last two days.")
    for i, text in enumerate((first, later)):
        src = tmp_path / f"in{i}.jsonl"
        src.write_text(json.dumps({"url": f"https://example.test/eu-{i}", "title": "", "text": text,
                                   "source": "example.test", "published_at": "2026-03-0%dT10:00:00Z" % (i + 1)})
                       + "\n", encoding="utf-8")
        assert run_cli("run", str(src), "--warehouse", str(wh)) == 0
    rows = query(wh, "select a.url, m.text, m.entity_id from entity_mentions m join articles a using (article_id) "
                     "where m.text in ('EU', 'European Union') order by a.url, m.start_char")
    assert {r[1] for r in rows if r[0].endswith("-1")} == {"EU"}
    assert {r[2] for r in rows} == {entity_id_for("ORG", "European Union")}


def test_batches_start_small_and_keep_each_reject_with_the_batch_it_was_met_in():
    """`batches(first=...)`: the first batch is smaller (the workers start on it while the
    rest is read), later ones full; every doc and reject comes out once, in order."""
    from newsetl.records import RawDoc, Reject
    from newsetl.sources.dispatch import FIRST_BATCH_SHARE, batches, run_batches

    items = [RawDoc("s", f"d{i}", text="x") for i in range(10)]
    items.insert(3, Reject("s", "r0", "bad"))
    items.append(Reject("s", "r1", "bad"))
    got = [([d.input_ref for d in docs], [r.input_ref for r in rej]) for docs, rej in batches(iter(items), 4, first=2)]
    assert got == [(["d0", "d1"], []), (["d2", "d3", "d4", "d5"], ["r0"]), (["d6", "d7", "d8", "d9"], []),
                   ([], ["r1"])]
    assert [len(d) for d, _ in batches(iter(items), 4)] == [4, 4, 2]
    # a run's batches (the flow and bench_steps): the first a share of the others
    assert FIRST_BATCH_SHARE > 1
    assert [len(d) for d, _ in run_batches(iter(items), 4 * FIRST_BATCH_SHARE)] == [4, 6]


def test_a_batch_of_big_pages_ends_at_its_character_bound():
    """Web pages hold ~100 times the characters of a plain article: a batch also ends once
    its documents hold `chars` characters of HTML and text (settings.batch_chars), so the
    memory a batch takes follows what it holds, not only how many documents."""
    from newsetl.records import RawDoc, Reject
    from newsetl.sources.dispatch import FIRST_BATCH_SHARE, batches, doc_chars, run_batches

    pages = [RawDoc("s", f"p{i}", html="<p>" + "x" * 993 + "</p>") for i in range(6)]  # 1,000 characters
    texts = [RawDoc("s", f"t{i}", text="y" * 10) for i in range(6)]
    assert {doc_chars(d) for d in pages} == {1000} and {doc_chars(d) for d in texts} == {10}
    got = [[d.input_ref for d in docs] for docs, _ in batches(iter(pages + texts), 100, chars=2500)]
    assert got == [["p0", "p1", "p2"], ["p3", "p4", "p5"], ["t0", "t1", "t2", "t3", "t4", "t5"]]
    # the count bound still holds, and a reject counts for nothing
    got = batches(iter([Reject("s", "r", "bad")] + texts), 4, chars=2500)
    assert [([d.input_ref for d in docs], len(rej)) for docs, rej in got] == [
        (["t0", "t1", "t2", "t3"], 1), (["t4", "t5"], 0)]
    # a run's first batch: a share of both bounds
    sizes = [len(d) for d, _ in run_batches(iter(pages), 100, chars=FIRST_BATCH_SHARE * 1000)]
    assert sizes == [1, 4, 1]


def test_a_bare_surname_links_to_a_full_name_of_a_later_batch_and_batches_change_no_link(tmp_path, monkeypatch):
    """Cross-article links are made once every batch of the run is staged (issue 11): a
    bare "Blair" in the first batch joins the "Tony Blair" of the third, and a run of one
    article a batch gives every mention the entity a run of one batch gives it."""
    from newsetl.transforms.entities import entity_id_for

    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    texts = ["Mr Blair said on Monday that the talks in London would go on. Officials agreed.",
             "The weather in Leeds was cold again this week, forecasters said.",
             "Prime Minister Tony Blair met union leaders in London on Tuesday. The meeting was short.",
             "Mr Blair told reporters in London that he was confident of a deal."]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"url": f"https://example.test/p-{i}", "title": "", "text": t,
                                       "source": "example.test", "published_at": f"2026-03-0{i + 1}T10:00:00Z"}) + "\n"
                           for i, t in enumerate(texts)), encoding="utf-8")
    got = {}
    for size in ("1", "50"):
        monkeypatch.setenv("NEWSETL_BATCH_SIZE", size)
        wh = tmp_path / f"wh{size}"
        assert run_cli("run", str(src), "--warehouse", str(wh)) == 0
        got[size] = query(wh, "select a.url, m.start_char, m.text, m.entity_id from entity_mentions m "
                              "join articles a using (article_id) order by a.url, m.start_char")
    blair = {r[0][-1]: r[3] for r in got["1"] if r[2] == "Blair"}
    assert blair == {"0": entity_id_for("PERSON", "Tony Blair"), "3": entity_id_for("PERSON", "Tony Blair")}
    assert got["1"] == got["50"]
    assert query(tmp_path / "wh1", "select count(*) from runs")[0][0] == 1


def test_a_possessive_that_lost_its_apostrophe_is_read_only_in_text_without_any(tmp_path, monkeypatch):
    """Rule 1c through the flow: "Blairs" is Tony Blair's in an article without apostrophes;
    one apostrophe anywhere in the article, even in a paragraph that names nobody, keeps
    "Blairs" a name of its own (the pipeline gives resolve_mentions the article's flag)."""
    from newsetl.transforms.entities import entity_id_for

    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    body = ("Prime Minister Tony Blair met union leaders in London on Tuesday. "
            "Blairs plan for the railways was welcomed by the unions.\n\nThe meeting {} short.")
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"url": f"https://example.test/b-{i}", "title": "", "text": body.format(verb),
                                       "source": "example.test", "published_at": f"2026-03-0{i + 1}T10:00:00Z"}) + "\n"
                           for i, verb in enumerate(("was", "wasn't"))), encoding="utf-8")
    wh = tmp_path / "wh"
    assert run_cli("run", str(src), "--warehouse", str(wh)) == 0
    rows = dict(query(wh, "select a.url, m.entity_id from entity_mentions m join articles a using (article_id) "
                          "where m.text = 'Blairs'"))
    assert rows["https://example.test/b-0"] == entity_id_for("PERSON", "Tony Blair")
    assert rows["https://example.test/b-1"] != entity_id_for("PERSON", "Tony Blair")


def test_a_surname_the_warehouse_knows_alone_is_a_person_in_later_news(tmp_path, monkeypatch):
    """The NER misses "Slaughter" written alone (a surname that is also a noun, and no person
    of its training news). Once the warehouse has seen "Slaughter" stand for a "Louise
    Slaughter", later news of the same source and window gets the mention, linked to her;
    with NEWSETL_KNOWN_PEOPLE=false it does not."""
    import shutil

    from newsetl.transforms.entities import entity_id_for

    monkeypatch.setenv("NEWSETL_WORKERS", "1")

    def jsonl(name: str, day: int, text: str) -> str:
        path = tmp_path / f"{name}.jsonl"
        path.write_text(json.dumps({"url": f"https://example.test/{name}", "title": "", "text": text,
                                    "source": "example.test", "published_at": f"2026-03-{day:02d}T10:00:00Z"}) + "\n",
                        encoding="utf-8")
        return str(path)

    first = jsonl("first", 2, "Louise Slaughter met union leaders in Ohio on Tuesday. Later "
                              "Slaughter spoke to reporters in Columbus about the new steel tariffs.")
    later = jsonl("later", 9, "Slaughter said on Monday that the talks in Ohio would go on. Officials agreed "
                              "to meet again next week in Columbus.")
    assert run_cli("run", first, "--warehouse", str(tmp_path / "wh")) == 0
    shutil.copytree(tmp_path / "wh", tmp_path / "off")
    assert run_cli("run", later, "--warehouse", str(tmp_path / "wh")) == 0
    sql = ("select m.start_char, m.text, m.label, m.entity_id from entity_mentions m join articles a "
           "using (article_id) where a.url like '%/later' and m.text = 'Slaughter'")
    assert query(tmp_path / "wh", sql) == [(0, "Slaughter", "PERSON", entity_id_for("PERSON", "Louise Slaughter"))]
    monkeypatch.setenv("NEWSETL_KNOWN_PEOPLE", "false")
    assert run_cli("run", later, "--warehouse", str(tmp_path / "off")) == 0
    assert query(tmp_path / "off", sql) == []


def test_jsonl_reject_reasons_say_what_is_wrong_with_the_body(tmp_path):
    from newsetl.records import Reject
    from newsetl.sources.files import iter_jsonl

    p = tmp_path / "x.jsonl"
    p.write_text("\n".join(json.dumps(o) for o in [
        {"url": "https://a.invalid/1"},
        {"url": "https://a.invalid/2", "text": 42},
        {"url": "https://a.invalid/3", "text": "   ", "html": ["<p>x</p>"]},
        {"url": "https://a.invalid/4", "text": "Ada Quell opened the new bridge on Monday."},
    ]) + "\n")
    out = list(iter_jsonl(p, "t"))
    reasons = [o.reason for o in out if isinstance(o, Reject)]
    assert reasons == ["line has neither 'text' nor 'html'",
                       "line has no usable 'text' or 'html': 'text' is int, not a string",
                       "line has no usable 'text' or 'html': 'text' is blank; 'html' is list, not a string"]
    assert [o.url for o in out if not isinstance(o, Reject)] == ["https://a.invalid/4"]


def test_html_pages_extracted_on_the_workers_land_as_the_main_process_lands_them(tmp_path, monkeypatch):
    """With two workers, a batch's HTML pages are extracted on them, chunk by chunk (here
    one page a chunk), and the main process extracts none: every article, paragraph and
    reject is the one a run that extracts in its main process lands."""
    from newsetl import process

    src = tmp_path / "pages"
    src.mkdir()
    for page in [*sorted((FIXTURES / "html").glob("*.html")), FIXTURES / "web" / "page_utf8.html", E2E / "broken.html"]:
        shutil.copy(page, src / page.name)
    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    assert run_cli("run", str(src), "--warehouse", str(tmp_path / "main")) == 0

    def extracted_here(html, url):
        raise AssertionError("the main process extracted a page")

    monkeypatch.setattr(process, "extract_page", extracted_here)  # the spawned workers import their own
    monkeypatch.setenv("NEWSETL_WORKERS", "2")
    monkeypatch.setenv("NEWSETL_EXTRACT_CHUNK_CHARS", "1")
    assert run_cli("run", str(src), "--warehouse", str(tmp_path / "workers")) == 0
    sqls = ["select article_id, input_ref, title, canonical_url, published_at, language, authors, content_hash"
            " from articles order by article_id",
            "select article_id, paragraph_index, text, kind, kind_reason from paragraphs order by article_id, paragraph_index",
            "select input_ref, reason from rejects order by input_ref"]
    for sql in sqls:
        assert query(tmp_path / "workers", sql) == query(tmp_path / "main", sql)
    assert len(query(tmp_path / "main", sqls[0])) == 4
    assert query(tmp_path / "main", sqls[2]) == [(str(src / "broken.html"), "no article text found in the HTML")]


def test_a_rerun_of_html_pages_extracts_only_the_pages_that_changed(tmp_path, monkeypatch):
    """A page this pipeline version extracted before, into an article still landed as that
    extraction gave it, is not extracted again (`process.drop_unchanged_pages`): a re-run
    of a folder of pages extracts only the edited page, then its old version read again
    (the article is landed as the edited one now), and every page under --force."""
    from newsetl import process

    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    src = tmp_path / "pages"
    src.mkdir()
    for page in sorted((FIXTURES / "html").glob("*.html")):
        shutil.copy(page, src / page.name)
    wh = tmp_path / "wh"
    assert run_cli("run", str(src), "--warehouse", str(wh)) == 0
    first = query(wh, "select article_id, content_hash, text from articles order by article_id")
    assert len(first) == 3
    real, calls = process.extract_page, []

    def counted(html, url):
        calls.append(html)
        return real(html, url)

    monkeypatch.setattr(process, "extract_page", counted)

    def rerun(*flags: str) -> tuple[int, int]:
        calls.clear()
        assert run_cli("run", str(src), "--warehouse", str(wh), *flags) == 0
        (unchanged,) = query(wh, "select articles_unchanged from runs order by started_at desc limit 1")[0]
        return len(calls), unchanged

    assert rerun() == (0, 3)
    assert query(wh, "select article_id, content_hash, text from articles order by article_id") == first
    page = src / "article_full.html"
    original = page.read_text(encoding="utf-8")
    page.write_text(original.replace("almost a decade", "more than a decade"), encoding="utf-8")
    assert rerun() == (1, 2)
    assert "more than a decade" in query(wh, "select string_agg(text, ' ') from articles")[0][0]
    page.write_text(original, encoding="utf-8")
    assert rerun() == (1, 2)
    assert query(wh, "select article_id, content_hash, text from articles order by article_id") == first
    assert rerun("--force") == (3, 0)
