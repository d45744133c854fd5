"""Rule 1c (transforms/entities.py `_lost_possessives`) on text that lost its apostrophes:
BBC articles run through `newsetl run` as they are and with every apostrophe deleted (what
an ASCII fold does to a curly one: "Blair's" -> "Blairs"), mention by mention:

    .venv/bin/python scripts/experiments/lost_apostrophes.py --data ../shared/data

Reports, over the possessive mentions of the original text ("Blair's", "Texaco's"), how
many of the stripped copies ("Blairs") are the same entity as the original; and every
mention ending in "s" that the original writes the same way (no apostrophe was lost:
"won two Oscars") but that became another entity ("Oscar"): wrong joins, to read. And
over the names written right after a possessive ("Honda" of "Japan's Honda"), how many
keep their span once NER reads "Japans Honda". Run it at
a commit without the rule for the number to compare (docs/benchmarks.md, eval:entities).
BBC is read from ../shared, never copied. About a minute (two CLI runs of 500 articles).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import eval_entities as EV  # noqa: E402

APOSTROPHES = "'’‘`´ʼ"
STRIP_RE = re.compile(f"[{APOSTROPHES}]")


def articles(data: Path, every: int, limit: int, offset: int = 1) -> list[dict]:
    """Every `every`-th BBC article from the `offset`-th (all five topics), at most `limit`."""
    out = []
    with open(data / "bbc-news" / "bbc-news.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % every == offset:
                out.append(json.loads(line))
    return out[:limit]


def land(docs: list[dict], strip: bool, work: Path) -> tuple[dict, list[tuple]]:
    """Run the CLI; (paragraph texts by (url, index), mentions as (url, paragraph, start,
    end, text, entity_id, entity_name))."""
    tag = "stripped" if strip else "original"
    jsonl = work / f"{tag}.jsonl"
    with open(jsonl, "w", encoding="utf-8") as fh:
        for d in docs:
            text, title = (STRIP_RE.sub("", d["text"]), STRIP_RE.sub("", d["title"])) if strip else (d["text"], d["title"])
            fh.write(json.dumps({"url": f"bbc://{d['id']}", "title": title, "text": text, "source": "bbc"}) + "\n")
    EV.run_cli(jsonl, work / tag)
    con = duckdb.connect(str(work / tag / "news.duckdb"), read_only=True)
    url = dict(con.execute("select article_id, url from articles").fetchall())
    paras = {(url[a], p): t for a, p, t in con.execute("select article_id, paragraph_index, text from paragraphs").fetchall()}
    ments = [(url[a], p, s, e, t, eid, n) for a, p, s, e, t, eid, n in con.execute(
        "select article_id, paragraph_index, start_char, end_char, text, entity_id, entity_name from entity_mentions").fetchall()]
    con.close()
    return paras, ments


def original_offsets(text: str) -> list[int]:
    """For each character of `text` with its apostrophes deleted, its index in `text` (and
    one past the end)."""
    out = [i for i, ch in enumerate(text) if ch not in APOSTROPHES]
    return out + [len(text)]


def compare(orig: tuple[dict, list], stripped: tuple[dict, list]) -> dict:
    """Counts over the original text's mentions (so both runs share one denominator):
    possessives ("Blair's": the span, or the span followed by "'s") and whether a mention
    of the stripped text over them is the same entity; names right after a possessive
    ("Honda" of "Japan's Honda") and whether the stripped text has that very span; and the
    stripped text's mentions ending in "s" that the original writes the same way but that
    became another entity."""
    o_paras, o_ments = orig
    _, s_ments = stripped
    # The stripped text's mentions in the original's coordinates.
    placed: dict = {}
    offsets: dict = {}  # one map per paragraph
    for u, p, s, e, text, eid, name in s_ments:
        o_text = o_paras.get((u, p))
        if o_text is None or e <= s:
            continue
        offs = offsets.get((u, p)) or offsets.setdefault((u, p), original_offsets(o_text))
        if e >= len(offs):
            continue
        placed.setdefault((u, p), []).append((offs[s], offs[e - 1] + 1, text, eid, name))
    possessives = same = after = kept = 0
    wrong: Counter = Counter()
    for u, p, s, e, text, eid, name in o_ments:
        o_text = o_paras.get((u, p), "")
        here = placed.get((u, p), [])
        if re.search(f"[{APOSTROPHES}]s$", text) or re.match(f"[{APOSTROPHES}]s\\b", o_text[e: e + 3]):
            possessives += 1
            same += any(ps < e and s < pe and peid == eid for ps, pe, _, peid, _ in here)
        if re.search(f"[{APOSTROPHES}]s? $", o_text[max(0, s - 3): s]):
            after += 1
            kept += any(ps == s and pe == e for ps, pe, *_ in here)
        if text.endswith("s"):
            for ps, pe, ptext, peid, pname in here:
                if ps == s and ptext == text and peid != eid:
                    wrong[(text, pname, name)] += 1  # no apostrophe here, yet another entity
    return {"possessives": possessives, "same_entity": same, "wrong_joins": sorted(wrong.items(), key=lambda kv: -kv[1]),
            "after_possessive": after, "same_span": kept}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--every", type=int, default=4)
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--offset", type=int, default=1,
                    help="which article of each `every` (1: the sample rules were read on; 3: another one)")
    args = ap.parse_args(argv)
    docs = articles(args.data, args.every, args.limit, args.offset)
    with tempfile.TemporaryDirectory(prefix="newsetl-apostrophes-") as tmp:
        work = Path(tmp)
        res = compare(land(docs, False, work), land(docs, True, work))
    print(f"{len(docs)} BBC articles; possessive mentions of the original text: {res['possessives']}; "
          f"the same entity once the apostrophes are gone: {res['same_entity']} "
          f"({res['same_entity'] / max(res['possessives'], 1):.3f})")
    print(f"names right after a possessive (\"Japan's Honda\"): {res['after_possessive']}; "
          f"the same span once the apostrophes are gone: {res['same_span']} "
          f"({res['same_span'] / max(res['after_possessive'], 1):.3f})")
    print("names ending in s, written so in the original too, that became another entity "
          "(mentions; name in the stripped text <- in the original):")
    for (text, name, was), n in res["wrong_joins"]:
        print(f"  {n:3d}  {text}: {name} <- {was}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
