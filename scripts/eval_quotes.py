"""Quotes and their speakers against a hand-annotated sample of BBC articles.

    .venv/bin/python scripts/eval_quotes.py --data ../shared/data --write

Gold: `data/eval/bbc_quotes_gold.jsonl`, one line per pair of double quote marks in 60
BBC articles (picked by a hash of their id among the distinct texts with quote marks; the
marks paired in order within each paragraph). Each pair was labelled by reading the whole
article, blind to this pipeline's output: `kind` "speech" (someone's words quoted,
partial quotes and continuations included), "other" (scare quotes, titles, nicknames) or
"bad_pairing"; for speech, `speaker`: the person (or the organisation, when only that is
named) in the fullest form the article writes, or null when the article does not name
who said it. The file holds offsets and names only, no BBC text (the corpus is for
research, not for republishing).

The script lands those articles with `newsetl run` into a temp warehouse and matches
each landed quote to the gold pair it overlaps (quotes are found back in the article by
their text). Scores, per half (halves by a hash of the article id: rules are to be
designed on the analysis half only, the held-out half only scored):

* quote recall: gold speech pairs that some landed quote overlaps;
* quote precision: landed quotes (scare quotes left out) that overlap a gold speech pair;
* speaker accuracy: of the gold speech pairs with a named speaker, the share whose
  landed quote names that speaker (the speaker's entity name or written form equals the
  gold name by `name_key`, or is a part of it: "Blair" for "Tony Blair", or the gold name
  is one of the speaker entity's aliases: "IMF" for "International Monetary Fund"); "wrong" names
  another speaker, "none" names nobody; attribution precision = right / (right + wrong);
* unnamed speakers: of the gold speech pairs whose speaker the article does not name,
  the share the pipeline leaves without a speaker.

Baselines on the same landed quotes and NER mentions (so they differ only in
attribution): "nearest name": the PERSON mention nearest to the quote in its paragraph
(outside the quote); "last name before": the last PERSON mention before the quote in
the article, outside quotes.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from _report import md_table, replace_section  # noqa: E402
from eval_entities import paragraph_offsets, run_cli  # noqa: E402

from newsetl.transforms.entities import name_key  # noqa: E402

GOLD = ROOT / "data" / "eval" / "bbc_quotes_gold.jsonl"
URL = "https://bbc.eval.invalid/{}"


def half_of(article_id: str) -> str:
    return "analysis" if int(hashlib.sha1(("quotes-half/" + article_id).encode()).hexdigest(), 16) % 2 == 0 else "held-out"


def load_gold(path: Path) -> dict[str, list[dict]]:
    gold: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            gold[row["id"]].append(row)
    return gold


def same_speaker(name: str | None, gold: str, aliases: tuple[str, ...] | list[str] = ()) -> bool:
    """The landed name is the gold speaker's: equal keys, or its words a part of the gold
    name's ("Blair" of "Tony Blair") or the other way ("Microsoft" of "Microsoft Corp"), or
    the gold name is one of the landed entity's `aliases` (the entity "IMF", that the
    article also wrote as "International Monetary Fund")."""
    if not name:
        return False
    a, b = set(name_key(name).split()), set(name_key(gold).split())
    if bool(a) and bool(b) and (a <= b or b <= a):
        return True
    return any(name_key(al) == name_key(gold) for al in aliases or ())


_MARKS = set('"“”„«»')


def locate(ptext: str, quote: str, cursor: int) -> tuple[int, int] | None:
    """Where a landed quote sits in its paragraph (offsets, at or after `cursor` if it can
    be). Quote marks are left out on both sides first: the `quote` column drops the marks
    that re-open a quote running over several sentences."""
    keep = [i for i, ch in enumerate(ptext) if ch not in _MARKS]
    bare = "".join(ptext[i] for i in keep)
    q = "".join(ch for ch in quote if ch not in _MARKS)
    if not q:
        return None
    at = bare.find(q, bisect.bisect_left(keep, cursor))
    if at < 0:
        at = bare.find(q)
    if at < 0:
        return None
    return keep[at], keep[at + len(q) - 1] + 1


def landed(warehouse: Path, articles: dict[str, dict]) -> dict[str, dict]:
    """article id -> {"quotes": [(start, end, speaker name or None, attribution, scare, entity aliases)],
    "persons": [(start, end)]}, offsets into the article's source text."""
    con = duckdb.connect(str(warehouse / "news.duckdb"), read_only=True)
    try:
        by_url = {u: a for a, u in con.execute("select article_id, url from articles").fetchall()}
        paras: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for aid, pidx, text in con.execute("select article_id, paragraph_index, text from paragraphs").fetchall():
            paras[aid].append((pidx, text))
        quotes: dict[str, list[tuple]] = defaultdict(list)
        cols = {r[0] for r in con.execute("describe quotes").fetchall()}
        name_col = "coalesce(speaker_name, speaker)" if "speaker_name" in cols else "speaker"
        scare_col = "scare_quote" if "scare_quote" in cols else "false"
        for row in con.execute(
                f"select q.article_id, q.paragraph_index, q.quote_index, q.quote, {name_col}, q.attribution, "
                f"{scare_col}, e.name, e.aliases from quotes q left join entities e on e.entity_id = q.speaker_entity_id "
                "order by 1, 2, 3").fetchall():
            quotes[row[0]].append(row[1:])
        persons: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for aid, pidx, s, e in con.execute("select article_id, paragraph_index, start_char, end_char "
                                           "from entity_mentions where label = 'PERSON'").fetchall():
            persons[aid].append((pidx, s, e))
    finally:
        con.close()
    out: dict[str, dict] = {}
    for doc_id, doc in articles.items():
        aid = by_url.get(URL.format(doc_id))
        rec = {"quotes": [], "persons": [], "found": aid is not None, "unplaced": 0}
        out[doc_id] = rec
        if aid is None:
            continue
        ptexts = dict(paras[aid])
        offs = paragraph_offsets(doc["text"], paras[aid])
        cursor: dict[int, int] = defaultdict(int)
        for pidx, _qi, quote, speaker, attribution, scare, ent_name, aliases in quotes[aid]:
            ptext, o = ptexts.get(pidx), offs.get(pidx)
            if ptext is None or o is None or not quote:
                continue
            span = locate(ptext, quote, cursor[pidx])
            if span is None:
                rec["unplaced"] += 1
                continue
            cursor[pidx] = span[1]
            rec["quotes"].append((o[span[0]], o[span[1]], ent_name or speaker, attribution, bool(scare),
                                  tuple(aliases or ())))
        for pidx, s, e in persons[aid]:
            o = offs.get(pidx)
            if o is not None and 0 <= s < e <= len(o) - 1:
                rec["persons"].append((o[s], o[e], doc["text"][o[s]:o[e]]))
    return out


def baseline_speakers(doc: dict, rec: dict, gold_pairs: list[dict]) -> dict[str, dict[int, str | None]]:
    """Speaker per gold pair (by its start) for the two baselines, on the landed quote spans."""
    text = doc["text"]
    quote_spans = [(g["start"], g["end"]) for g in gold_pairs]
    inside = lambda s, e: any(a <= s and e <= b for a, b in quote_spans)  # noqa: E731
    persons = sorted(p for p in rec["persons"] if not inside(p[0], p[1]))
    nearest: dict[int, str | None] = {}
    last_before: dict[int, str | None] = {}
    for g in gold_pairs:
        p_start = text.rfind("\n\n", 0, g["start"]) + 1
        p_end = text.find("\n\n", g["end"])
        p_end = len(text) if p_end < 0 else p_end
        same_para = [p for p in persons if p_start <= p[0] and p[1] <= p_end]
        dist = lambda p: min(abs(p[0] - g["end"]), abs(g["start"] - p[1]))  # noqa: E731
        nearest[g["start"]] = min(same_para, key=dist)[2] if same_para else None
        before = [p for p in persons if p[1] <= g["start"]]
        last_before[g["start"]] = before[-1][2] if before else None
    return {"nearest name": nearest, "last name before": last_before}


def score(gold: dict[str, list[dict]], articles: dict[str, dict], land: dict[str, dict]) -> dict:
    systems = ["newsetl", "nearest name", "last name before"]
    res: dict[str, dict] = {}
    for half in ("analysis", "held-out", "all"):
        c = defaultdict(int)
        for doc_id, pairs in gold.items():
            if half != "all" and half_of(doc_id) != half:
                continue
            rec = land[doc_id]
            c["articles"] += 1
            c["not_landed"] += not rec["found"]
            c["unplaced"] += rec["unplaced"]
            speech = [g for g in pairs if g["kind"] == "speech"]
            quotes = rec["quotes"]
            base = baseline_speakers(articles[doc_id], rec, pairs)
            for q in quotes:
                if q[4]:
                    continue
                c["landed"] += 1
                c["landed_on_speech"] += any(q[0] < g["end"] and g["start"] < q[1] for g in speech)
            for g in speech:
                c["speech"] += 1
                hit = [q for q in quotes if q[0] < g["end"] and g["start"] < q[1]]
                c["found"] += bool(hit)
                named = g.get("speaker")
                ours = next((q for q in hit if q[2]), None)
                spk = {"newsetl": ours[2] if ours else None}
                aliases = {"newsetl": ours[5] if ours and len(ours) > 5 else ()}
                for name, by_k in base.items():
                    spk[name] = by_k.get(g["start"]) if hit else None
                if named:
                    c["named"] += 1
                    for s in systems:
                        if spk[s] is None:
                            c[f"{s}:none"] += 1
                        elif same_speaker(spk[s], named, aliases.get(s, ())):
                            c[f"{s}:right"] += 1
                        else:
                            c[f"{s}:wrong"] += 1
                else:
                    c["unnamed"] += 1
                    for s in systems:
                        c[f"{s}:abstain"] += spk[s] is None
        res[half] = dict(c)
    return res


def render(res: dict, secs: float, n_gold: int) -> str:
    rows = []
    for half in ("analysis", "held-out", "all"):
        c = res[half]
        for s in ("newsetl", "nearest name", "last name before"):
            named = c.get("named", 0)
            right, wrong, none = (c.get(f"{s}:{k}", 0) for k in ("right", "wrong", "none"))
            label = f"**{half}**" if half == "all" and s == "newsetl" else half
            rows.append([
                label, s, c.get("articles", 0), c.get("speech", 0),
                f"{c.get('found', 0) / max(c.get('speech', 0), 1):.3f}" if s == "newsetl" else "same quotes",
                f"{c.get('landed_on_speech', 0) / max(c.get('landed', 0), 1):.3f}" if s == "newsetl" else "",
                named, f"{right / max(named, 1):.3f}", f"{right / max(right + wrong, 1):.3f}",
                right, wrong, none,
                f"{c.get(f'{s}:abstain', 0)}/{c.get('unnamed', 0)}",
            ])
    table = md_table(["half", "system", "articles", "gold speech quotes", "quote recall", "quote precision",
                      "with a named speaker", "speaker accuracy", "attribution precision", "right", "wrong",
                      "none", "unnamed speaker left unnamed"], rows)
    return "\n".join([
        "## Quotes and speakers (hand-annotated BBC sample)",
        "",
        "`.venv/bin/python scripts/eval_quotes.py --data ../shared/data --write` (runs `newsetl run` on the "
        f"sampled articles into a temp warehouse; {secs:.0f} s for that run). Gold: `data/eval/bbc_quotes_gold.jsonl`, "
        f"{n_gold} pairs of quote marks in 60 BBC articles, labelled by reading each article blind to the "
        "pipeline's output (see the script's docstring for the rules and the metrics). Baselines use the "
        "same landed quotes and NER mentions and differ only in who they name.",
        "",
        table,
        "",
        f"Articles not landed: {res['all'].get('not_landed', 0)}; landed quotes not found back in their "
        f"article's text: {res['all'].get('unplaced', 0)}.",
        "",
        # Measured with this script and gold at the commit named.
        "Commit b86ad3f (before the `quotes` table landed its scare_quote flag, so quote precision "
        "counted scare quotes as landed quotes): quote precision analysis 0.944, held-out 0.958, all "
        "0.950; the speaker figures the same as now. "
        "Commit cd89fa3 (before an appositive of up to 15 words, not 7, could stand between a "
        "speaker and the verb): the same as now. "
        "Commit bfb31b3 (before a partial quote early in a long sentence took the attribution "
        "that ends it, '..., the Acme Fund has said.'): speaker accuracy analysis 0.834 (attribution "
        "precision 0.963), held-out 0.858 (0.928), all 0.845 (0.947). "
        "Commit 668c03d (before an abbreviation in brackets could stand between a name and its "
        "speech verb, 'the Acme Institute (AI) has said', and a person named before 'of' or 'from' "
        "an organisation or place spoke for it, 'X of the Acme Institute said'): speaker accuracy "
        "analysis 0.834 (attribution precision 0.963), held-out 0.850 (0.927), all 0.841 (0.947). "
        "Commit 5b38132 (before a person named right before a quote stopped being the he/she after "
        "it, 'Mr X \"made the decisions,\" he told the court'): speaker accuracy analysis 0.828 "
        "(attribution precision 0.956), held-out 0.850 (0.927), all 0.838 (0.943). "
        "Commit 62b6a91 (before a verb of belief attributed a partial quote, 'X believes the match "
        "was \"up there\"'): speaker accuracy analysis 0.815 (attribution precision 0.948), held-out "
        "0.850 (0.927), all 0.830 (0.939). "
        "Commit 02ed486 (before an epithet, \"said the 23-year-old\" or \"the Spaniard said\", "
        "resolved as a he/she would, and before a sentence led by a he/she or an epithet named no "
        "subject for a later pronoun): speaker accuracy analysis 0.790 (attribution precision 0.925), "
        "held-out 0.825 (0.900), all 0.805 (0.914). "
        "Commit 9810b68 (before a name's statement or report spoke for it, a person named right "
        "before an organisation spoke for it, and \"the report said\" stood for the one organisation "
        "whose report the article names): speaker accuracy analysis 0.783 (attribution precision "
        "0.925), held-out 0.825 (0.900), all 0.801 (0.914). "
        "Commit 7885e00 (before a role description that starts its sentence or comes right before a "
        "speech verb stood for the one person the article gave that role, \"the Tory leader\" for \"Tory "
        "leader Michael Howard\"): speaker accuracy analysis 0.777 (attribution precision 0.917), held-out "
        "0.825 (0.900), all 0.798 (0.909). "
        "Commit df1fbd8 (before a he/she passed over a person titled as the other sex and went to an "
        "unnamed spokesperson of a later sentence, or the organisation named with the role): speaker "
        "accuracy analysis 0.764 (attribution precision 0.896), held-out 0.825 (0.900), all 0.791 (0.898). "
        "Commit 2885358 (before a name after a speech verb had to end the attribution, a job title "
        "could stand before a person named after the verb, and a sentence naming a speaker between two "
        "quotes went before the earlier quote's speaker): speaker accuracy analysis 0.726 (attribution "
        "precision 0.857), held-out 0.817 (0.883), all 0.765 (0.869). Those are with this script's "
        "matching, which since then also takes the gold name when it is one of the speaker entity's "
        "aliases (\"IMF\" for \"International Monetary Fund\"); with the matching of the lines below "
        "they were analysis 0.707 (0.835), held-out 0.808 (0.874), all 0.751 (0.852). "
        "Commit 1392223 (before a quote opening its paragraph with no attribution took the speaker "
        "of the sentence before it when that sentence's speech verb names one): speaker accuracy "
        "analysis 0.694 (attribution precision 0.832), held-out 0.808 (0.874), all 0.744 (0.851). "
        "Commit 10d1035 (before a he/she went to the subject of the last sentence naming a person, "
        "the first person of that sentence not after a preposition, instead of the last person named): "
        "speaker accuracy analysis 0.669 (attribution precision 0.814), held-out 0.775 (0.838), all 0.715 "
        "(0.825); quote recall and precision the same.",
        "",
        "About the gold: one annotator per article. The pairing of marks goes wrong where BBC text "
        "re-opens a quote after a sentence end without closing it (paragraph breaks inside quotes "
        "were lost in this corpus): such pairs are labelled `bad_pairing` and left out, and the quotes "
        "they hid were added from the annotators' notes with their offsets. Doubtful cases the "
        "annotators flagged (partial quotes in reported speech, quotes from reports credited to the "
        "organisation) are kept as labelled.",
    ])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--gold", type=Path, default=GOLD)
    ap.add_argument("--write", action="store_true", help="write the section into docs/benchmarks.md")
    args = ap.parse_args()
    gold = load_gold(args.gold)
    src = args.data / "bbc-news" / "bbc-news.jsonl"
    articles = {}
    for line in src.open(encoding="utf-8"):
        doc = json.loads(line)
        if doc["id"] in gold:
            articles[doc["id"]] = doc
    missing = set(gold) - set(articles)
    if missing:
        raise SystemExit(f"gold articles not in {src}: {sorted(missing)[:5]}")
    for doc_id, pairs in gold.items():
        for g in pairs:
            t = articles[doc_id]["text"]
            if not (0 <= g["start"] < g["end"] <= len(t)) or t[g["start"]] != '"':
                raise SystemExit(f"gold pair {doc_id} #{g['k']} does not start at a quote mark")
    with tempfile.TemporaryDirectory(prefix="eval_quotes_") as tmp:
        jl = Path(tmp) / "in.jsonl"
        with jl.open("w", encoding="utf-8") as f:
            for doc_id in sorted(articles):
                d = articles[doc_id]
                f.write(json.dumps({"url": URL.format(doc_id), "title": d["title"], "text": d["text"],
                                    "source": "bbc-news"}) + "\n")
        secs = run_cli(jl, Path(tmp) / "wh")
        land = landed(Path(tmp) / "wh", articles)
    res = score(gold, articles, land)
    text = render(res, secs, sum(len(v) for v in gold.values()))
    print(text)
    if args.write:
        replace_section("eval:quotes", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
