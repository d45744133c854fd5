"""Rule-based sentence splitting with character offsets into the paragraph text.

Why not spaCy's parser/senter: NER already costs ~8k words/s/core; the splitter has to
be almost free beside it. One batched Python pass with a compiled regex finds the
candidate ends (terminator, then optional closing quotes/brackets, then whitespace) and
a few table look-ups decide each candidate; this runs at several 100k words/s.

A candidate end is NOT a boundary when:
- the next word starts with a lower-case letter ("approx. five", "Why?" he asked);
- the word before a period is an honorific/title abbreviation (Mr., Dr., St., Gen.);
- the word before a period is another known abbreviation (Inc., Jan., No., U.S., e.g.),
  a dotted acronym or a single-letter initial (J. K. Rowling), unless the next word is
  a typical sentence opener ("The", "He", "But", ...): "in the U.S. The talks ..." splits,
  "U.S. President Joe Biden" does not;
- the word before a period is a known abbreviation and a number follows ("No. 5", "Jan. 12");
  abbreviations that are also words (no, sun, min, est) need that number.
Decimals ("3.5") and in-word dots ("example.com") are never candidates because a
candidate needs whitespace after it.

Offsets are Python code-point indices, the same unit as Polars `str.slice` and spaCy
character offsets: `paragraph_text[start_char:end_char] == sentence_text`. Sentences are
separated by whitespace only, so together they cover every non-space character.
"""

from __future__ import annotations

import re

import polars as pl

# Opening punctuation to skip when looking at the first letter of the next sentence.
_OPENERS = "\"'“‘«([—–-¿¡*•"

# Abbreviations after which a capitalised word almost never starts a new sentence.
_TITLES = frozenset(
    """mr mrs ms mx dr prof rev hon sen rep gov gen lt col maj capt cpt sgt cmdr adm
    pres amb supt insp det fr sr sra srta st mt messrs mme mlle""".split()
)
# Abbreviations that also end sentences ("... Apple Inc. The company ..."): split only
# before a sentence opener.
_ABBREVIATIONS = frozenset(
    """inc ltd co corp plc llc bros dept univ assn approx etc vs cf al jr
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues thu thur thurs fri
    ave blvd rd hwy fwy mln bn""".split()
)
# Abbreviations that are also ordinary words ("said no.", "the sun."): they only hold a
# sentence together when a number follows ("No. 5", "Vol. 2", "p. 14").
_NUMBER_ABBREVIATIONS = frozenset(
    """no nos vol vols fig figs p pp ch sec art para op ed eds est min max ft tel ext ref
    sat sun wed""".split()
)
# Words that typically open a sentence; after an ambiguous abbreviation one of these
# means the abbreviation ended the sentence.
_OPENER_WORDS = frozenset(
    """the a an he she it they we i you his her its their our this that these those
    there here but and so yet however meanwhile in on at for if when while after before
    as since although though despite during with without what who why how where which
    one some many most all both each no not more other another such""".split()
)
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]?$")  # U.S / e.g / a.m (final dot stripped)


# Candidate end: terminator cluster (group 1), closing quotes/brackets (group 2), then the
# whitespace that follows (consumed: no candidate can start inside it) or end of text.
_CANDIDATE = re.compile(r"(\.{2,}|[.!?…‽]+)(['\"”’»)\]]*)(?:\s+|$)")


def _ambiguous_period(text: str, sent_start: int, period_pos: int, j: int, n: int) -> bool:
    """True when the period at `period_pos` does NOT end the sentence; `j` is the index
    of the first letter/digit of the next word (after opening punctuation)."""
    sp = text.rfind(" ", sent_start, period_pos)
    word = text[(sp + 1 if sp >= 0 else sent_start) : period_pos].lstrip(_OPENERS)
    key = word.lower()
    if key in _TITLES:
        return True
    if sp < 0 and word.isdigit() and len(word) <= 3:
        return True  # a list item's number ("1. Ditch the diet"), not a sentence
    if not (
        key in _ABBREVIATIONS
        or key in _NUMBER_ABBREVIATIONS
        or (len(word) == 1 and word.isupper())
        or ("." in word and _DOTTED.match(word) is not None)
    ):
        return False
    if text[j].isdigit():
        return True
    if key in _NUMBER_ABBREVIATIONS and not (len(word) == 1 and word.isupper()):
        return False  # "p." ends a sentence, "P." is an initial ("P. Simmons") as "K." is
    k = j
    while k < n and (text[k].isalpha() or text[k] in "'’"):
        k += 1
    nxt = text[j:k].lower()
    # "Who's", "It’s", "There's": compare the word without its clitic
    return nxt not in _OPENER_WORDS and nxt.split("'")[0].split("’")[0] not in _OPENER_WORDS


# A "sentence" longer than this is cut at whitespace into pieces no longer than it. The
# longest sentence of the BBC corpus has 1,063 characters (41,739 sentences), of the
# extraction set's gold bodies 584; text with no sentence ends (a 20 MB file of words)
# gave one sentence of millions of words, and VADER's scoring is quadratic in a sentence's
# length (270 s of CPU for 0.5 MB; a 20 MB file ran out of memory at 24 GB).
MAX_SENTENCE_CHARS = 2000


def _capped(text: str, start: int, end: int, limit: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """(start, end) cut at the last whitespace before each `limit` characters (hard cut
    where a piece has none), each piece stripped of the whitespace at its ends."""
    out = []
    while end - start > limit:
        cut = text.rfind(" ", start + 1, start + limit + 1)
        cut = cut if cut > start else start + limit
        piece_end = len(text[start:cut].rstrip()) + start
        if piece_end > start:
            out.append((start, piece_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        out.append((start, end))
    return out


def sentence_spans(text: str, max_chars: int | None = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """(start, end) code-point spans of the sentences of one paragraph; never empty.
    None is longer than `max_chars` (None: no cap; the NER's reading of its spans keeps
    a name whole where the cap would cut it, and leaves such "sentences" alone).

    Hot loop: most candidates are decided by the next character (lower case: no split)
    or by the terminator ("!", "?", "...": split); only periods look at the word before.
    """
    spans = _sentence_spans(text)
    if max_chars is not None and any(e - s > max_chars for s, e in spans):
        spans = [piece for s, e in spans for piece in _capped(text, s, e, max_chars)]
    return spans


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = n - len(text.lstrip())
    if start >= n:
        return spans
    for m in _CANDIDATE.finditer(text, start):
        next_pos = m.end()
        if next_pos >= n:
            break  # the rest is the last sentence
        j = next_pos
        while text[j] in _OPENERS:
            j += 1
            if j >= n:
                break
        else:
            if text[j].islower():
                continue
            if m.group(1) == "." and _ambiguous_period(text, start, m.start(1), j, n):
                continue
        spans.append((start, m.end(2)))
        start = next_pos
    end = len(text.rstrip())
    if end > start:
        spans.append((start, end))
    return spans


_SENTENCE_SCHEMA = {
    "article_id": pl.String,
    "paragraph_index": pl.Int32,
    "sentence_index": pl.Int32,
    "start_char": pl.Int32,
    "end_char": pl.Int32,
    "text": pl.String,
}


def split_sentences(paragraphs: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """One row per sentence.

    in: article_id, paragraph_index, text. out: article_id, paragraph_index,
    sentence_index (i32, 0-based within the paragraph), start_char, end_char (i32,
    offsets into the paragraph text), text. Null or blank paragraphs give no rows.
    A LazyFrame is collected and the result handed back lazy (the splitter is one
    batched Python pass, not an expression).
    """
    if isinstance(paragraphs, pl.LazyFrame):
        return split_sentences(paragraphs.select("article_id", "paragraph_index", "text").collect()).lazy()

    texts = paragraphs.get_column("text").to_list()
    rows: list[int] = []
    sidx: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    out_text: list[str] = []
    for i, t in enumerate(texts):
        if not t:
            continue
        for k, (s, e) in enumerate(sentence_spans(t)):
            rows.append(i)
            sidx.append(k)
            starts.append(s)
            ends.append(e)
            out_text.append(t[s:e])
    if not rows:
        return pl.DataFrame(schema=_SENTENCE_SCHEMA)
    keys = paragraphs.select(
        pl.col("article_id").cast(pl.String), pl.col("paragraph_index").cast(pl.Int32)
    )[pl.Series(rows, dtype=pl.UInt32)]
    return keys.with_columns(
        pl.Series("sentence_index", sidx, dtype=pl.Int32),
        pl.Series("start_char", starts, dtype=pl.Int32),
        pl.Series("end_char", ends, dtype=pl.Int32),
        pl.Series("text", out_text, dtype=pl.String),
    )
