"""Sentiment toward people through the real CLI, as a user (or the issue's harness) meets it.

    .venv/bin/python scripts/eval_sentiment_pipeline.py --data ../shared/data/sentiment-newsmtsc [--write]

`scripts/eval_sentiment.py` scores the target model on the gold target spans. Here each
NewsMTSC dev sentence becomes one JSONL article, `newsetl run` lands it, and each gold
target takes the `sentiment_label` of the landed entity mention that overlaps it (mention
offsets are mapped back to the sentence through the paragraphs, as eval_entities does). A
target with no overlapping mention has no label in the tables: the rows count it wrong
("all targets") and also leave it out ("targets with a mention"). The split of the missing
targets says where the difference to the model's own score comes from: NewsMTSC targets
include pronouns and noun phrases ("he", "his", "the president"), which the pipeline does
not land as entity mentions, and names the NER missed.

Each split runs twice: into an empty warehouse, and into one where the train sentences
landed first (news that came before, as in a warehouse in use: the NER then also tags the
surnames the warehouse has seen stand alone for a known person, settings.known_people).

Dev is the final check: nothing is tuned on these numbers. The shipped target model is
trained on train + dev (scripts/eval_sentiment.py), so its rows here are in-sample; the final
check is the same run with the recipe trained on train alone, recorded once by
`NEWSETL_TARGET_SENTIMENT_MODEL=<train-only model> ... --dev-check` in
docs/sentiment_dev_check.json (the CLI runs inherit the variable) and shown beside them.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import duckdb  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from _report import replace_section  # noqa: E402
from eval_entities import best_overlap, run_cli, source_spans  # noqa: E402
from eval_sentiment import DEV_CHECK, LABEL_IX, MODEL, in_sample_splits  # noqa: E402
from train_ner import is_name  # noqa: E402  a target that is a name
from train_sentiment import POLARITY, macro_f1  # noqa: E402

from newsetl.transforms import sentiment as S  # noqa: E402

SECTION = "eval:sentiment-pipeline"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "sentiment-newsmtsc"
SPLITS = ("dev-rw", "dev-mt")
def load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(rows: list[dict], split: str, path: Path) -> Path:
    """One article per sentence, all of one source (undated: one time window)."""
    with open(path, "w", encoding="utf-8") as fh:
        for i, r in enumerate(rows):
            fh.write(json.dumps({"url": f"https://newsmtsc.invalid/{split}/{i}", "title": "",
                                 "text": r["sentence_normalized"], "source": "newsmtsc"}) + "\n")
    return path


def landed_labels(rows: list[dict], split: str, tmp: Path, history: Path | None = None,
                  tag: str = "") -> tuple[list[str | None], float]:
    """The landed sentiment_label of each gold target (None: no mention overlaps it). With
    `history`, into a copy of that warehouse: news that landed before."""
    jsonl = write_jsonl(rows, split, tmp / f"{split}.jsonl")
    wh = tmp / f"wh-{split}{tag}"
    if history is not None:
        shutil.copytree(history, wh)
    seconds = run_cli(jsonl, wh)
    con = duckdb.connect(str(wh / "news.duckdb"), read_only=True)
    try:
        art = dict(con.execute("select url, article_id from articles").fetchall())
        paras: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for aid, pidx, text in con.execute("select article_id, paragraph_index, text from paragraphs").fetchall():
            paras[aid].append((pidx, text))
        ments: dict[str, list[tuple[int, int, int, str]]] = defaultdict(list)
        for aid, pidx, s, e, lab in con.execute(
                "select article_id, paragraph_index, start_char, end_char, sentiment_label from entity_mentions "
                "where sentiment_label is not null order by article_id, paragraph_index, start_char").fetchall():
            ments[aid].append((pidx, s, e, lab))
    finally:
        con.close()
    out: list[str | None] = []
    for i, r in enumerate(rows):
        aid = art.get(f"https://newsmtsc.invalid/{split}/{i}")
        spans = source_spans(r["sentence_normalized"], paras.get(aid, []), ments.get(aid, []))[0] if aid else []
        out.extend(best_overlap(spans, int(t["from"]), int(t["to"])) for t in r["targets"])
    return out, seconds


def evaluate(rows: list[dict], landed: list[str | None]) -> dict:
    targets = [t for r in rows for t in r["targets"]]
    y = np.array([POLARITY[float(t["polarity"])] for t in targets])
    sents = [r["sentence_normalized"] for r in rows for _ in r["targets"]]
    direct = S.target_scores(sents, [(int(t["from"]), int(t["to"])) for t in targets], MODEL)
    d = np.array([LABEL_IX[lab] for _, lab in direct])
    found = np.array([lab is not None for lab in landed])
    p = np.array([LABEL_IX[lab] if lab is not None else -1 for lab in landed])
    names = np.array([is_name(t["mention"]) for t in targets])
    missed = Counter(t["mention"] for t, ok, nm in zip(targets, found, names) if nm and not ok)
    return {
        "n": len(targets), "found": int(found.sum()),
        "missed_names": int((names & ~found).sum()), "missed_other": int((~names & ~found).sum()),
        "direct": macro_f1(y, d)[0], "all": macro_f1(y, p)[0],
        "found_pipeline": macro_f1(y[found], p[found])[0], "found_direct": macro_f1(y[found], d[found])[0],
        "agree": float(np.mean(p[found] == d[found])), "top_missed": missed.most_common(4),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--dev-check", action="store_true",
                    help="the model in use is trained on train alone: record the table in "
                         f"{DEV_CHECK.relative_to(ROOT)} as the final check")
    args = ap.parse_args(argv)
    seen = in_sample_splits(MODEL.meta)
    if args.dev_check and seen:
        ap.error(f"--dev-check needs a target model trained on train alone; this one saw {sorted(seen)}")
    results, seconds = {}, 0.0
    with tempfile.TemporaryDirectory(prefix="newsetl-sentiment-pipeline-") as tmp:
        tmp = Path(tmp)
        dev = {split: load(args.data / f"{split}.jsonl") for split in SPLITS}
        for split, rows in dev.items():
            landed, s = landed_labels(rows, split, tmp)
            seconds += s
            results[(split, "empty")] = evaluate(rows, landed)
        # The same dev news after the train news landed: the warehouse knows its people.
        history_seconds = run_cli(write_jsonl(load(args.data / "train.jsonl"), "train", tmp / "train.jsonl"),
                                  tmp / "wh-train")
        for split, rows in dev.items():
            landed, s = landed_labels(rows, split, tmp, history=tmp / "wh-train", tag="-after-train")
            seconds += s
            results[(split, "train landed first")] = evaluate(rows, landed)
    table = ["| split | warehouse before | targets | with a mention | missed: pronoun or noun phrase | missed: name | "
             "model on the gold spans | pipeline, all targets | pipeline, targets with a mention | "
             "model, the same targets | same label as the model |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (split, before), r in results.items():
        table.append(f"| {split} | {before} | {r['n']} | {r['found']} ({r['found'] / r['n']:.0%}) | {r['missed_other']} | "
                     f"{r['missed_names']} | {r['direct']:.3f} | {r['all']:.3f} | {r['found_pipeline']:.3f} | "
                     f"{r['found_direct']:.3f} | {r['agree']:.0%} |")
    missed = "; ".join(f"{split} ({before}): " + ", ".join(f'"{m}" {n}' for m, n in r["top_missed"])
                       for (split, before), r in results.items())
    if args.dev_check:
        rec = json.loads(DEV_CHECK.read_text(encoding="utf-8")) if DEV_CHECK.exists() else {}
        rec["cli"] = {"command": "NEWSETL_TARGET_SENTIMENT_MODEL=<train-only model> .venv/bin/python "
                                 "scripts/eval_sentiment_pipeline.py --dev-check", "rows": table[2:]}
        DEV_CHECK.write_text(json.dumps(rec, indent=1) + "\n", encoding="utf-8")
        print("\n".join(table))
        print(f"recorded in {DEV_CHECK}")
        return 0
    check = (json.loads(DEV_CHECK.read_text(encoding="utf-8")).get("cli") if DEV_CHECK.exists() else None) if seen else None
    text = "\n".join([
        "## Sentiment toward people through the CLI (NewsMTSC dev, `newsetl run`)",
        "",
        f"Command: `.venv/bin/python scripts/eval_sentiment_pipeline.py --data {args.data.name} --write` "
        f"(each dev sentence one article, one source, undated; the dev runs took {seconds:.0f} s, landing "
        f"train first {history_seconds:.0f} s). Macro F1. A target takes the "
        "`sentiment_label` of the landed entity mention that overlaps it; with none, it has no label "
        "(wrong in \"all targets\"). Warehouse before: *empty*, or *train landed first*: the 7,752 "
        "train sentences were landed by `newsetl run` before the dev run, as earlier news of the same "
        "source, so the NER also tags the surnames the warehouse has seen stand alone for a known "
        "person (`NEWSETL_KNOWN_PEOPLE`, on by default; \"Trump\" once \"Donald J. Trump ... Trump\" "
        "has landed).",
        "",
        *table,
        "",
        *([f"The shipped target model was trained on train + {' + '.join(sorted(seen))} (eval:sentiment), "
           "so the model's columns above are in-sample. Final check: the same runs with the recipe "
           "trained on train alone (`NEWSETL_TARGET_SENTIMENT_MODEL=<train-only model> ... --dev-check`, "
           "recorded before the shipped model was trained on dev):", "", *table[:2], *check["rows"], ""]
          if check else []),
        f"Names most often missed: {missed}.",
        "",
        "Where the distance to the model's own score goes: targets that are pronouns or noun phrases "
        "(\"he\", \"his\", \"the president\"), which NewsMTSC labels and the pipeline does not land "
        "as entity mentions (no coreference), and names the NER did not find (above). \"Trump\" does "
        "not occur in the 1996 Reuters news of CoNLL-2003; since the NER also learns from the name "
        "targets of NewsMTSC train (eval:ner), a bare \"Trump\" is found without the warehouse's "
        "help: the final-check runs into an empty warehouse missed 5 and 5 names, against 19 and 18 "
        "with the NER trained on CoNLL alone (all targets 0.631 and 0.611 then). On the "
        "targets that have a mention, compare the landed labels with the model's on the same targets: "
        "the pipeline scores the mention's span, not the gold span. The rules that say where a known "
        "surname stands as a name (`transforms.ner._surnames`: not a sentence's first word before a "
        "noun, \"High oil prices\"; not after \"the\", \"a\" or \"of\"; not in \"X of the Y\") come "
        "from reading what they added on BBC (one half landed on the other) and on NewsMTSC train "
        "(one half landed on the other: 266 mentions added, 237 of them \"Trump\", the wrong ones "
        "\"O'Reilly\", since excluded). Dev is the final check here: nothing was tuned on these numbers.",
    ])
    print(text)
    if args.write:
        replace_section(SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
