"""Which people's words are also people's names (train data only).

    .venv/bin/python scripts/people_words_in_names.py --data ../shared/data

Rule 5 of `transforms.ner._harmonise` relabels NORP a one-word name the model called a
person or a work when it is a people's word: a demonym ("Irish", "Scots", "Welshman") or a
word of `transforms.entities._PEOPLE_WORDS` ("Tory", "Tories"). Some of those words are
also given names or surnames ("Christian Slater", "Dawn French", "German Gref"), and a
person may then be written by that word alone. This script lists the words that CoNLL-2003
*train* writes inside a gold PER entity; the printed set is
`transforms.entities._PEOPLE_WORDS_IN_NAMES`, which rule 5 leaves alone.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from company_names import conll_sentences, report  # noqa: E402
from newsetl.transforms.entities import people_word  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    seen = Counter()
    for sent in conll_sentences(args.data / "ner-conll2003" / "train.iob2.txt"):
        for word, tag in sent:
            if tag.endswith("-PER") and people_word(word, names=False):
                seen[word.lower()] += 1
    report({word: f"in {n} gold PER tokens" for word, n in sorted(seen.items())}, "words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
