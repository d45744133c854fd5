"""Which short names of listed companies can stand for a company on their own (train data only).

    .venv/bin/python scripts/company_names.py --data ../shared/data

`transforms.entities.listed_company` reads the members of the major stock indices from
pytickersymbols (reference data, like pycountry for countries) and their short forms
("Amazon", "Airbus", "Lowe's"). Some short forms are also everyday words ("Target",
"Next"), surnames ("Fox", "Campbell") or places ("Phoenix"): a NER label of PERSON or
GPE for those is often right. (Places the train splits do not show, "Dover" or
"Hartford", are left to the per-article guards of `ner._listed_companies`.) This script
counts, on the *train* splits only (CoNLL-2003 train with its gold entities, NewsMTSC
train sentences), how each one-word short form is written:

* as a gold PER entity (a person's name) or a gold LOC entity standing alone as a place
  (not after "the", not before a lowercase word: "Amazon travel" is a modifier);
* in lower case ("shell", "target") against capitalised inside a sentence;
* for a form of two or more words, whether its first word begins gold people's names of
  two or more words ("Charles Schwab", "John Deere").

A form is left out when a person or place reading was seen at least once, when it is
written in lower case at least as often as capitalised (and at least twice), or when a
form of several words starts with a given name seen at least twice (or is a gold PER
itself). The printed set is `transforms.entities._COMPANY_FORMS_NOT_ALONE`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from newsetl.transforms.entities import _company_candidates, name_key  # noqa: E402


def conll_sentences(path: Path):
    toks: list[tuple[str, str]] = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("-DOCSTART"):
            if toks:
                yield toks
            toks = []
            continue
        parts = line.split()
        toks.append((parts[0], parts[-1]))
    if toks:
        yield toks


def count(data: Path) -> tuple[dict[str, Counter], Counter, Counter, Counter]:
    readings: dict[str, Counter] = defaultdict(Counter)  # key -> gold reading counts
    lower, upper = Counter(), Counter()
    given = Counter()  # first words of people's names of two or more words
    for sent in conll_sentences(data / "ner-conll2003" / "train.iob2.txt"):
        words = [w for w, _ in sent]
        i = 0
        while i < len(sent):
            w, tag = sent[i]
            if tag.startswith("B-") or (tag.startswith("I-") and (i == 0 or sent[i - 1][1][2:] != tag[2:])):
                j = i + 1
                while j < len(sent) and sent[j][1] == "I-" + tag[2:]:
                    j += 1
                key, lab = name_key(" ".join(words[i:j])), tag[2:]
                if lab == "PER" and len(key.split()) > 1:
                    given[key.split()[0]] += 1
                if lab == "LOC":
                    before = words[i - 1].lower() if i else ""
                    after = words[j] if j < len(words) else ""
                    lab = "LOC" if before != "the" and not after[:1].islower() else "LOC-modifier"
                readings[key][lab] += 1
                i = j
            else:
                i += 1
        for k, w in enumerate(words):
            (lower if w.islower() else upper if k and w[:1].isupper() else Counter())[w.lower()] += 1
    with open(data / "sentiment-newsmtsc" / "train.jsonl", encoding="utf-8") as fh:
        for line in fh:
            words = re.findall(r"[A-Za-z][\w'’&-]*", json.loads(line)["sentence_normalized"])
            for k, w in enumerate(words):
                (lower if w.islower() else upper if k and w[:1].isupper() else Counter())[w.lower()] += 1
    return readings, lower, upper, given


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    readings, lower, upper, given = count(args.data)
    out = {}
    for key in sorted(_company_candidates()):
        r = readings.get(key, Counter())
        if " " in key:  # "Walt Disney", "Charles Schwab": a person's name as well
            first = key.split()[0]
            if given[first] >= 2 or r["PER"]:
                out[key] = f"first word {first!r} begins {given[first]} people's names; gold PER {r['PER']}"
            continue
        other = max(r["PER"], r["LOC"])
        why = []
        if other:
            why.append(f"gold PER {r['PER']} / LOC {r['LOC']} against ORG {r['ORG']}")
        if lower[key] >= 2 and lower[key] >= upper[key]:
            why.append(f"lower case {lower[key]} against capitalised {upper[key]}")
        if why:
            out[key] = "; ".join(why)
    report(out, "forms")
    return 0


def report(out: dict[str, str], noun: str) -> None:
    """Print each kept string with its reason, then the set to paste into the code."""
    for key, why in out.items():
        print(f"{key:16} {why}")
    print(f"\n{len(out)} {noun}:")
    print(" ".join(sorted(out)))


if __name__ == "__main__":
    sys.exit(main())
