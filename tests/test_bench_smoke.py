"""Smoke test of scripts/bench.py: every measurement runs on 20 BBC-like articles into
temporary warehouses and the report has its keys. No timing assertions (the machine is
shared; `make bench` is where the numbers come from)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import news_jsonl

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("newsetl_bench", ROOT / "scripts" / "bench.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _twenty_articles(tmp_path: Path) -> Path:
    return news_jsonl(tmp_path / "twenty.jsonl", 20)


def test_corpus_helpers(tmp_path):
    b = _bench()
    src = _twenty_articles(tmp_path)
    arts = b.load_articles(src)
    assert len(arts) == 20
    x4 = b.load_articles(b.write_corpus(arts, tmp_path / "x4.jsonl", copies=4))
    assert len(x4) == 80
    assert len({a["url"] for a in x4}) == 80 and len({a["title"] for a in x4}) == len({(a["title"], a["source"]) for a in x4})
    assert len({a["source"] for a in x4}) == 4
    synd = b.load_articles(b.write_corpus(arts, tmp_path / "s4.jsonl", copies=4, syndicated=True))
    assert len({a["url"] for a in synd}) == 80 and len({(a["title"], a["text"]) for a in synd}) == 20
    paras = b.body_paragraphs(arts)
    assert len(paras) >= 20 and all(p.strip() == p and p for p in paras)


def test_parse_summary():
    b = _bench()
    md = """# newsetl run `x`: completed

3 articles read: 2 new, 0 changed, 1 unchanged (skipped), 0 rejected; 4.5 s.

| table | landed this run | rows in warehouse |
| --- | ---: | ---: |
| articles | 2 | 3 |

| step | seconds |
| --- | ---: |
| read | 0.10 |
| enrich (wait) | 2.00 |
"""
    s = b.parse_summary(md)
    assert s["new"] == 2 and s["unchanged"] == 1 and s["seconds"] == 4.5
    assert s["timings"] == {"read": 0.1, "enrich (wait)": 2.0}
    assert s["landed"]["articles"] == {"run": "2", "total": "3"}


@pytest.mark.parametrize("seen,repeats,forced", [(2225, 98, 0), (1, 0, 0), (2225, 98, 2127)])
def test_parse_summary_reads_what_a_run_prints(seen, repeats, forced):
    """The summary line as RunSummary writes it, repeats within a run (BBC has 98), a
    single article, and a forced re-run (its unchanged articles re-enriched, not "changed")
    included, so the bench parses its own runs."""
    from newsetl.runstate import RunSummary
    from newsetl.settings import Settings

    new = 0 if forced else seen - repeats
    r = RunSummary(run_id="x", status="completed", articles_seen=seen, articles_new=new,
                   articles_changed=forced, articles_reprocessed=forced, duplicates_in_batch=repeats, seconds=12.5)
    md = r.markdown(Settings())
    assert (f"{repeats} repeated within this run" in md) == bool(repeats)
    assert (f"0 changed, {forced} unchanged but re-enriched (forced)" in md) == bool(forced)
    assert f"\n{seen} {'article' if seen == 1 else 'articles'} read: " in md
    s = _bench().parse_summary(md)
    assert (s["articles"], s["new"], s["changed"], s["reprocessed"], s["repeated"], s["rejected"], s["seconds"]) == (
        seen, new, 0, forced, repeats, 0, 12.5)


def test_summary_says_how_to_fetch_from_a_private_address():
    """A loopback or private address is refused by default; the run says which setting lets
    it through, once, and only when such a reject happened."""
    from newsetl.records import Reject
    from newsetl.runstate import RunSummary, count_rejects
    from newsetl.settings import Settings

    r = RunSummary(run_id="x")
    count_rejects(r, [Reject("h", "http://x/a", "HTTP 404 Not Found")])
    assert "NEWSETL_BLOCK_PRIVATE_ADDRESSES" not in r.markdown(Settings())
    count_rejects(r, [Reject("h", "http://127.0.0.1:8731/a", "loopback address 127.0.0.1 refused"),
                      Reject("h", "http://x/b", "redirect to http://10.0.0.1/: private address 10.0.0.1 refused")])
    md = r.markdown(Settings())
    assert md.count("NEWSETL_BLOCK_PRIVATE_ADDRESSES=false") == 1 and "2 of the rejects are addresses" in md


def test_bench_end_to_end_report(tmp_path, prefect_server):
    from prefect.settings import PREFECT_API_URL

    b = _bench()
    src = _twenty_articles(tmp_path)
    report = b.run_bench(src, tmp_path / "work", limit=20, workers=2, copies=2, naive_limit=10, repeats=2,
                         log=lambda *_: None, env_extra={"PREFECT_API_URL": PREFECT_API_URL.value()},
                         warmup=False, html_src=ROOT / "tests" / "fixtures" / "html", html_copies=2)
    runs = report["runs"]
    assert set(runs) == {"e2e_1x", "rerun", "floor", "floor_1w", "e2e_1w", "e2e_2x", "syndicated_2x", "naive",
                         "e2e_html"}
    # the web pages: every copy is read (its own page key) and their articles land
    n_pages = len(list((ROOT / "tests" / "fixtures" / "html").glob("*.html")))
    assert report["html"]["pages"] == 2 * n_pages
    html = runs["e2e_html"]["summary"]
    assert html["new"] >= 1 and html["new"] + html["unchanged"] + html.get("changed", 0) <= 2 * n_pages
    for name, r in runs.items():
        assert r["rc"] == 0, (name, r.get("stderr"))
        assert r["wall"] > 0 and r["peak_rss_tree"] > 0 and r["peak_rss_largest"] > 0
    assert runs["e2e_1x"]["summary"]["new"] >= 1 and "enrich (wait)" in runs["e2e_1x"]["summary"]["timings"]
    assert runs["rerun"]["summary"]["new"] == 0 and runs["rerun"]["summary"]["unchanged"] >= 1
    assert runs["e2e_2x"]["summary"]["new"] > runs["e2e_1x"]["summary"]["new"]  # copies are new articles
    assert runs["floor"]["child"]["paragraphs"] > 0 and runs["floor"]["child"]["pipes"] == ["ner"]
    assert runs["floor_1w"]["child"]["paragraphs"] == runs["floor"]["child"]["paragraphs"]
    assert runs["naive"]["child"]["articles"] == 10 and "parser" in runs["naive"]["child"]["pipes"]
    checks = {r["check"] for r in report["ratios"]}
    assert any(c.startswith("end-to-end / floor") for c in checks)
    assert any(c.startswith("naive / end-to-end") for c in checks)
    assert any(c.startswith("re-run unchanged") for c in checks)
    assert any(c.startswith("speed-up") for c in checks)
    assert any(c.startswith("peak RSS 2x / 1x") for c in checks)
    assert any(c.startswith("2 syndicated copies") for c in checks)
    assert any(c.startswith("bare NER floor, 2 processes over 1") for c in checks)
    assert "peak RSS, web pages (process tree)" in checks
    assert runs["syndicated_2x"]["summary"]["new"] == 2 * runs["e2e_1x"]["summary"]["new"]
    for name in ("e2e_1x", "floor", "floor_1w", "e2e_1w", "syndicated_2x"):  # the ratio rows ran twice
        assert len(runs[name]["samples"]) == 2 and runs[name]["wall"] == min(s["wall"] for s in runs[name]["samples"])
    assert len(runs["rerun"]["samples"]) == 1
    md = b.render_markdown(report)
    assert md.startswith(b.START) and md.endswith(b.END) and "| step |" in md

    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n<!-- eval:x:start -->\nkeep me\n<!-- eval:x:end -->\n", encoding="utf-8")
    b.write_section(doc, md)
    b.write_section(doc, md)  # replaced, not appended twice
    text = doc.read_text(encoding="utf-8")
    assert "keep me" in text and text.count(b.START) == 1 and text.count(b.END) == 1


def test_a_repeated_row_keeps_its_fastest_run_and_every_sample():
    b = _bench()
    runs: dict = {}
    b.keep_fastest(runs, "e2e_1x", {"wall": 60.0, "cpu": 100.0, "loadavg": 1.5, "tag": "first"})
    b.keep_fastest(runs, "e2e_1x", {"wall": 55.0, "cpu": 98.0, "loadavg": 1.2, "tag": "second"})
    b.keep_fastest(runs, "e2e_1x", {"wall": 70.0, "cpu": 110.0, "loadavg": 2.5, "tag": "third"})
    assert runs["e2e_1x"]["tag"] == "second" and runs["e2e_1x"]["wall"] == 55.0
    assert [s["wall"] for s in runs["e2e_1x"]["samples"]] == [60.0, 55.0, 70.0]
    b.keep_fastest(runs, "e2e_1x", {"wall": 3.0, "cpu": 1.0, "rc": 1, "tag": "crashed"})
    assert runs["e2e_1x"]["tag"] == "second" and len(runs["e2e_1x"]["samples"]) == 4


def test_bench_steps_times_every_step_enrich_calls_and_puts_the_functions_back(tmp_path):
    spec = importlib.util.spec_from_file_location("newsetl_bench_steps", ROOT / "scripts" / "bench_steps.py")
    steps = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(steps)
    from newsetl import process
    from newsetl.transforms import ner

    before = (ner.recognize_articles, process._target_scores_memo)
    rep = steps.measure(_twenty_articles(tmp_path), shards=2, rounds=1, workdir=tmp_path)
    assert (ner.recognize_articles, process._target_scores_memo) == before  # no wrapper left behind
    run = rep["best"]
    # every wrapped function ran: a step renamed or no longer called by enrich shows up here
    assert set(run["calls"]) == {row for _m, _f, row in steps.STEPS}
    assert rep["articles"] == 20 and rep["paragraphs"] >= 20 and run["entities"] > 0
    assert 0 < run["steps"][steps.STEPS[1][2]] <= run["steps"][steps.STEPS[0][2]] <= run["enrich"]
    assert rep["startup_cpu"] > 0
    md = steps.render(rep, tmp_path / "c.jsonl", "2026-01-01T00:00:00+00:00", "cmd")
    assert "**enrich, all steps**" in md and "of the model's own time" in md


def test_eval_throughput_reports_every_step(tmp_path, capsys):
    """`make eval`'s last step: it had failed at its report line (a name gone in a rename)
    since long before anyone read its section."""
    spec = importlib.util.spec_from_file_location("newsetl_eval_throughput", ROOT / "scripts" / "eval_throughput.py")
    ev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ev)
    (tmp_path / "bbc-news").mkdir()
    news_jsonl(tmp_path / "bbc-news" / "bbc-news.jsonl", 8)
    rc = ev.main(["--data", str(tmp_path), "--articles", "8"])
    assert rc in (0, 1)  # 1: under the words/s floor on a loaded machine; the report is what is checked
    out = capsys.readouterr().out
    assert "first 8 BBC articles" in out and "model `" in out
    for step in ("NER model alone", "prepare (paragraphs", "enrich (NER", "prepare + enrich"):
        assert f"| {step}" in out
    assert "Enrichment overhead beside NER alone" in out
