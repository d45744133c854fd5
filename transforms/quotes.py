"""Direct quotes and who said them (issue #3, part 3).

`extract_quotes(paragraphs, resolved_mentions)` is pure (no I/O, no logging). It works
article by article in plain Python because attribution is sequential (a pronoun goes
to the last person named before it; a quote with no attribution of its own continues
the previous speaker in the paragraph).

What counts as a quote: text between double quote marks, straight "..." or typographic
“...” (also „...“ and «...»), in body and heading paragraphs; boilerplate paragraphs
are skipped. A quote may span several sentences. An opening mark that is never closed
runs to the end of the paragraph (the news convention for quotes that go on in the
next paragraph); an opening mark right after a sentence end inside an open quote is the
same convention inside one block (`... hope. "Labour is ...," he said.`) and continues
the quote. Straight marks are paired by context (an opening mark follows a space, a
closing mark precedes one), so a missing closing mark spoils one quote, not the rest of
the paragraph. Marks may be mixed (“...," he said, "...” or "...”: a straight closing
mark ends a curly quote unless it closes a straight quote nested in it), and two
apostrophes or backticks typed for a double mark (''...,'' he said) count as one.
Single marks ‘...’ are used only when a paragraph has no double marks (British
headline style), because ’ is also the apostrophe. The `quote` column
holds the text inside the marks, trimmed, with a trailing comma dropped (the comma
belongs to the attribution: “We will win,” he said). A title set in quote marks is no
quote: a Title Case quote after a title noun ("the single “Black Water”") or in a list of
them ("“Listen To The Music,” “Takin’ It To The Streets,” ..."; `_is_title`).

Attribution, tried in this order for each quote:

* ``said_after``   the speech verb follows the quote: `"...," X said`, `"...," said X`.
  Not tried when the quote ends in a full stop (`"... months." A spokeswoman said`
  starts a new sentence with a new speaker). A name after the verb counts only when the
  verb opens the attribution or follows a comma (`"..." and promised to hail Labour's
  record` names nobody).
  A partial quote early in a long sentence takes the attribution that ends the
  sentence (`... need "deep reform" to grow again in the coming years, the Acme Fund has
  said.`) when no speech verb comes before the quote and none is near after it.
* ``said_before``  the speech verb precedes the quote in the same sentence:
  `X said: "..."`, `X told reporters "..."` (the name after "told" is the one spoken to,
  never the speaker: `X told the BBC: "..."`), and partial quotes such as
  `X described the treaty as a “breakthrough document.”` The speaker is the name right
  before the verb (an appositive of up to 15 words and auxiliaries allowed: "X, 78, has
  said"; an organisation's unnamed voice too: "a BBC spokesman said" is the BBC, and a
  name's statement or report: "Mr X's statement said" is X; but a person named right
  before the organisation speaks: "X, Acme Party health spokesman said" and "X of the
  Acme Institute said" are X); an abbreviation in brackets may follow the name ("the
  Acme Institute (AI) has said"); if there is none (`X ..., claiming that ... “...”`)
  the first person named in the sentence.
  A name after a verb (here and in ``said_after``) is the speaker only when the
  attribution ends with it: a possessive or a word that goes on with a clause makes it
  part of what was said (`said the Kelvo Institute scheme had “...”`, `described Norland
  as a “beacon”`), and so does a preposition before it (`said on radio station X`; not
  "by" or "from": `a claim by X that`). A job title may stand between the verb and a
  person (`said Tarwick Air president and chief executive Rolf Danby`), and a role word
  after an organisation (`said a Juventus official, who ...`). A verb of belief
  ("believes", "thinks") attributes too (`X believes the match was "up there"`), after
  any speech verb of the same sentence (`X has said it believes there is "no basis"` is
  X); after a quote only when it opens the attribution (`"...," thinks X`).
* ``according_to`` `according to X` in the same sentence.
* ``pronoun``      he/she (or "said he") in either position, resolved to the subject of
  the last sentence before it that names a person, in paragraph order: that sentence's
  first PERSON not written after a preposition ("Neville admitted he had not enjoyed the
  match, marred by a foul on Ljungberg. '...,' he said" is Neville, not Ljungberg),
  ignoring names that appear inside quotes (people quoted about are not speakers).
  A person the article titles as the other sex is passed over ("Ms Jowell's deputy,
  Richard Caborn, said ... '...,' he said" is Caborn; a title on a surname two people of
  the article share counts for neither). A spokesperson left unnamed in a sentence after
  the last person named is the one speaking: the pronoun is the organisation named with
  the role ("A UKIP spokesman said ... '...,' he added", "a spokeswoman for Oxfam"), or
  nobody. A sentence whose subject is itself a he/she or an epithet names no subject: the
  pronoun goes further back ("He praised X, who scored twice. '...,' he said" is not X;
  when the earlier pronoun is of the other sex, X stays a candidate). An epithet, which
  news writes for a person already named (an age, "the 23-year-old", or a nationality,
  "the Spaniard", "the Scot"), resolves as a he/she would ('"...," said the 23-year-old').
  A person named right before a quote is the subject of the quoted words, not the he/she
  after it (`Mr X "made the decisions," he told the court` is someone named before X).
  they/we/I stay unresolved. (On the hand-labelled BBC quotes of
  scripts/eval_quotes.py, first rather than last lifted speaker accuracy by 4 quotes in
  each half.)
* ``continuation`` a quote that opens its own sentence and has no attribution of its
  own takes the speaker of the sentence before it when that sentence's speech verb
  names one (`Mr Jollans said everyone could take part. "The internet's impact ..."`,
  or a paragraph ending `"...," said Hoddle.`); else it continues the speaker of the
  quote before it in the same paragraph (or of an unclosed quote at the end of the
  previous paragraph). The sentence before wins over an earlier quote's speaker only
  when it stands between the two quotes. A quote with a speech verb of its own that
  names nobody ('"We will appeal," lawyers told Reuters') takes no sentence's speaker.
  An embedded phrase never continues a speaker.
* ``none``         no speaker found.

People named by their role: a description that starts its sentence or comes right
before a speech verb ("The Tory leader countered ...", "the chancellor said") stands for
the one person of the article written with that role ("Tory leader Michael Howard",
"Gordon Brown, the chancellor,"; see `_described_people`), as a PERSON mention for all the
rules above; "the report said" likewise for the one organisation whose report the
article names ("the World Bank report", "a report by Oxfam"). These mentions are the
quote step's own; they are not landed.

The speaker is the name as written (possessive stripped) or, for a pronoun, the
resolved name; `speaker_entity_id` / `speaker_name` come from the resolved mention, or
from matching a name NER missed against the article's resolved names by `name_key`.

Scare quotes: a quote of 1-3 words with no speaker ("without “preliminary
conditions”") is kept and flagged `scare_quote = True`; a short quote with a speaker
(`X called it a “breakthrough document.”`) is a partial quote and not flagged.

Extra columns beyond the contract: speaker_name, scare_quote, start_char, end_char
(offsets of the quote text inside the paragraph; `quote` is that slice, minus the
re-opening marks of a multi-paragraph quote). The landed `quotes` table carries
scare_quote, start_char and end_char too (newsetl.schema).
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from newsetl.transforms.entities import CALENDAR_WORDS, clean_name, demonym_country, name_key, people_word
from newsetl.transforms.text import Spans

__all__ = ["extract_quotes", "QUOTE_SCHEMA", "scare_quote_expr"]

QUOTE_SCHEMA: dict[str, pl.DataType] = {
    "article_id": pl.String,
    "paragraph_index": pl.Int32,
    "quote_index": pl.Int32,
    "quote": pl.String,
    "speaker": pl.String,
    "speaker_entity_id": pl.String,
    "attribution": pl.String,
    "speaker_name": pl.String,
    "scare_quote": pl.Boolean,
    "start_char": pl.Int32,
    "end_char": pl.Int32,
}

# Opening mark -> closing marks. „ closes with “ (German) or ” (some English sites).
_CLOSERS = {"“": "”", "„": "“”", "‟": "”", "«": "»", '"': '"'}
_SCARE_MAX_WORDS = 3  # from the brief: 1-3 word quotes without a speaker are scare quotes
_TAIL_MAX_CHARS = 80  # attribution after a quote starts within a few words of it
_TAIL_APPOSITIVE_CHARS = 200  # ... or after a name and its job title (`_tail_verb`)
# NORP ("North Korean") is an adjective far more often than a speaker; a group written as
# a plural noun is not ("the Tories said", "Israelis say": `_can_speak`).
_SPEAKER_LABELS = ("PERSON", "ORG", "GPE")


def _can_speak(m: "_Mention") -> bool:
    """A mention that may name a speaker: a person, an organisation, a place (its
    government), or a people's or party's word in the plural ("Tories", "Republicans")."""
    return m.label in _SPEAKER_LABELS or (
        m.label == "NORP" and m.text.endswith("s") and not m.text.endswith("ss") and people_word(m.text))


# Verbs of belief: a partial quote after them is the believer's words ("X believes the
# match was \"up there\""), but they give way to a speech verb of the same sentence ("X has
# said it believes there is \"no basis\"" is X), and after a quote they attribute only when
# they open the attribution ('"...," thinks X'; not '"dramatic" as X believed').
_BELIEF_VERBS = frozenset("believes believed thinks feels".split())
_VERB_WORDS = (
    "say says said saying tell tells told telling add adds added adding state stated "
    "claim claims claimed claiming warn warns warned warning write writes wrote writing "
    "ask asks asked asking insist insists insisted insisting note noted noting argue argues "
    "argued arguing explain explains explained explaining describe describes described "
    "describing call called calling declare declares declared declaring announce announces "
    "announced reply replies replied respond responds responded admit admits admitted "
    "acknowledge acknowledges acknowledged suggest suggests suggested suggesting promise "
    "promised vow vows vowed tweet tweeted posted continue continued continues recall "
    "recalls recalled remark remarked commented concede concedes conceded confirm confirms "
    "confirmed deny denies denied dubbed labelled labeled praised criticised criticized "
    "boast boasts boasted joked predict predicts predicted stress stresses stressed "
    "emphasised emphasized cautioned pledge pledged demand demands demanded shouted "
    "complain complains complained reported accuse accuses accused urge urges urged "
    "testified quipped mused tells answered answer answers wondered laughed laughs"
)


def _alternation(words: set[str] | frozenset[str]) -> str:
    """A regex alternation of `words`, longest first."""
    return "|".join(sorted(words, key=len, reverse=True))


_SPEECH_VERBS = frozenset(_VERB_WORDS.split())
_VERB_RE = re.compile(r"\b(?:" + _alternation(_SPEECH_VERBS | _BELIEF_VERBS) + r")\b")
# Verbs whose next name is the one spoken to ("told the BBC", "told Reuters"), never the
# speaker: "said Trump" inverts, "told Trump" does not.
_ADDRESSEE_VERBS = frozenset("tell tells told telling".split())
# "told (the) " right before a name: that name is the one spoken to.
_TOLD_BEFORE_RE = re.compile(r"\b(?:" + "|".join(sorted(_ADDRESSEE_VERBS)) + r")\s+(?:the\s+)?$")
_AUX = (
    r"(?:has|have|had|was|is|also|later|then|again|once|previously|recently|earlier|"
    r"reportedly|publicly|repeatedly|would|will|had|simply|flatly|just|once\s+again)"
)
# Text allowed between a subject and its speech verb: auxiliaries, one appositive.
# An appositive is at most 7 words between commas (", 78,", ", the foreign minister,");
# longer comma pairs are clauses with a subject of their own, except right before the
# verb (_SUBJECT_GAP_RE), where a job title runs up to 15 words (", head of equities at
# the Acme Investment Fund in Dunmore, said": BBC-wide 19 quotes gained a speaker, about
# 16 of them right, against 7 words).
# Written so that no text can be matched two ways (no catastrophic backtracking).
def _appositive(max_words: int) -> str:
    return r"(?:,\s*[^,\s“”\"]+(?:\s+[^,\s“”\"]+){0,%d}\s*,\s*)" % (max_words - 1)


_APPOSITIVE = _appositive(7)
# An abbreviation in brackets may follow the name ("the Institute of Widget Makers (IWM)
# said"): news defines an organisation's abbreviation at its first mention.
_ABBREVIATION = r"(?:\s*\([A-Z][A-Za-z&.]{1,9}\))"
# A relative clause's "who" after the name is the name ("Jon Marel, who accused Ada Quist
# of ...", "Jon Marel, the minister, who has said").
_SUBJECT_GAP_RE = re.compile(r"^" + _ABBREVIATION + r"?\s*(?:" + _appositive(15) + r"(?:who\s+)?|\s*,\s*who\s+)?(?:"
                             + _AUX + r"\s+)*$")
# An organisation's unnamed voice between its name and the verb ("a BBC spokesman said",
# "an Apple spokeswoman told"): the organisation is the source.
_ROLE_WORDS = ("spokesman", "spokeswoman", "spokesperson", "official", "officials", "source", "sources",
               "representative", "representatives")
_ROLE_GAP_RE = re.compile(
    r"^\s+(?:" + "|".join(_ROLE_WORDS) + r")\s*" + _APPOSITIVE + r"?(?:"
    + _AUX + r"\s+)*$"
)
_ROLE_SOURCE_LABELS = ("ORG", "GPE")
# A document or voice that a name owns ("Mr X's statement said", "Acme's annual report
# says", "the party's spokesman said"): its owner is the source.
_DOCUMENT_GAP_RE = re.compile(
    r"^(['’]s)?\s+(?:[a-z][\w-]*\s+)?(?:statement|report|letter|website|message|spokes(?:man|woman|person))\s+"
    r"(?:" + _AUX + r"\s+)*$"  # not "X's spokeswoman, Eleanor Scott, said": she speaks
)
# Text allowed between a speech verb and the speaker after it ("said Russian President X").
_AFTER_VERB_GAP_RE = re.compile(r"^\s*,?\s*(?:(?!that\b)[\w’'.\-]+\s+){0,3}$")
# ... and before a person, a longer job title ("said Tarwick Air president and chief executive X",
# "said BA director of commercial planning, X"), with no word that starts a clause.
_CLAUSE_WORDS = ("that|to|would|will|had|has|have|was|were|is|are|be|been|could|should|may|might|can|not|"
                 "it|they|he|she|we|i|who|which|if|when|because|but")
_TITLE_GAP_RE = re.compile(r"^\s*,?\s*(?:(?!(?:" + _CLAUSE_WORDS + r")\b)[\w’'.\-]+,?\s+){0,6}$", re.IGNORECASE)
_PRONOUN_BEFORE_RE = re.compile(r"\b(he|she|they|we|i|He|She|They|We|I)\s+(?:" + _AUX + r"\s+)*$")
_PRONOUN_AFTER_RE = re.compile(r"^\s+(he|she|they|we|I)\b")
_ACCORDING_RE = re.compile(r"\b[Aa]ccording\s+to\s+")
_RESOLVABLE_PRONOUNS = {"he", "she"}
# A capitalised name NER missed, right before/after the verb.
_NAME = r"(?:[A-Z][\w’'.\-]*)(?:\s+[A-Z][\w’'.\-]*){0,3}"
_NAME_BEFORE_RE = re.compile(r"(" + _NAME + r")\s*" + _APPOSITIVE + r"?(?:" + _AUX + r"\s+)*$")
_NAME_AFTER_RE = re.compile(r"^\s*,?\s*(" + _NAME + r")")
_NAME_THEN_COMMA_RE = re.compile(r"\s*" + _NAME + r"(?=,)")
_NOT_NAMES = {
    "The", "A", "An", "This", "That", "These", "Those", "It", "He", "She", "They", "We", "I",
    "His", "Her", "Their", "Our", "But", "And", "Or", "So", "Yet", "In", "On", "At", "As",
    "When", "While", "If", "Then", "There", "Here", "Some", "Many", "Officials", "Analysts",
}
_ABBREV = {"mr", "mrs", "ms", "dr", "st", "gen", "sen", "rep", "gov", "jr", "sr", "prof", "lt",
           "col", "capt", "sgt", "no", "vs", "etc", "inc", "corp", "co", "ltd", "us", "uk", "un"}
_SPACE_RE = re.compile(r"\s+")
_SENT_END_RE = re.compile(r"[.!?]+[\"”’)]*\s+")
# The clause that ends a sentence as its attribution: ", the Acme Fund has said."
_FINAL_ATTRIBUTION_RE = re.compile(r",\s+[^,\"“”]{1,60}?\s+(?:" + _AUX + r"\s+)*(?:"
                                   + _alternation(_SPEECH_VERBS) + r")\s*[.!?]?[\"”’)]*\s*$")


@dataclass
class _Mention:
    paragraph_index: int
    start: int
    end: int
    text: str
    label: str
    entity_id: str | None
    entity_name: str | None
    in_quote: bool = False


@dataclass
class _Speaker:
    speaker: str | None
    entity_id: str | None
    name: str | None
    attribution: str


class _Span(NamedTuple):
    start: int  # first character inside the marks
    end: int  # the closing mark (or paragraph end / next opening mark when unclosed)
    closed: bool
    reopens: tuple[int, ...] = ()  # re-opening marks inside a multi-paragraph quote


_MARK_RE = re.compile("[" + "".join(sorted(set("".join(_CLOSERS) + "".join(_CLOSERS.values())))) + "]")
_STRAIGHT_OPEN_AFTER = "([{—–-/"
_STRAIGHT_CLOSE_BEFORE = ".,;:!?)]}—–-’'\"”"


def _straight_kind(text: str, i: int) -> str:
    """Is the straight quote at i an opening mark, a closing mark, or either?"""
    prev = text[i - 1] if i > 0 else " "
    nxt = text[i + 1] if i + 1 < len(text) else " "
    open_like = (prev.isspace() or prev in _STRAIGHT_OPEN_AFTER) and not nxt.isspace()
    close_like = not prev.isspace() and (nxt.isspace() or nxt in _STRAIGHT_CLOSE_BEFORE)
    if open_like and not close_like:
        return "open"
    if close_like and not open_like:
        return "close"
    return "either"


def _prev_nonspace(text: str, i: int) -> str:
    j = i - 1
    while j >= 0 and text[j].isspace():
        j -= 1
    return text[j] if j >= 0 else ""


# Two apostrophes (or backticks) typed for a double quote mark: ''Robbie has an
# agreement,'' he said (BBC sport copy, 5 articles) or “...,’’ Will Moy said (a wire style).
_DOUBLED_MARKS = ("''", "’’", "‘‘", "``")
_DOUBLED_MARK_RE = re.compile("|".join(_DOUBLED_MARKS))


def _doubled_marks(text: str) -> str:
    """`text` with each doubled mark read as one straight double mark and a space on its
    outer side (the same length, so offsets hold): an opening one before a letter."""
    if not any(m in text for m in _DOUBLED_MARKS):
        return text

    def one(m: re.Match) -> str:
        nxt = text[m.end()] if m.end() < len(text) else " "
        return ' "' if nxt.isalnum() else '" '

    return _DOUBLED_MARK_RE.sub(one, text)


def _quote_spans(text: str) -> list[_Span]:
    """Quoted spans of one paragraph.

    Straight marks are told apart by context ("open" after a space, "close" before one).
    An opening mark inside an open quote, right after a sentence end, is the
    multi-paragraph convention (`... hope. "Labour is ...`): the quote goes on and the
    mark is recorded in `reopens`. Anywhere else it means the earlier quote was never
    closed: that one ends there (closed=False) and a new one starts.
    """
    spans: list[_Span] = []
    cur: tuple[int, str, list[int]] | None = None
    for mark in _MARK_RE.finditer(text):  # only the marks, not every character
        i, ch = mark.start(), mark.group(0)
        if cur is None:
            if ch in _CLOSERS and (ch != '"' or _straight_kind(text, i) != "close"):
                cur = (i + 1, ch, [])
            continue
        start, opener, reopens = cur
        if opener == '"':
            if ch == "”" and "“" not in text[start:i]:  # "...” : marks mixed (6 of 121 pages)
                kind = "close"
            elif ch != '"':
                continue
            else:
                kind = _straight_kind(text, i)
        elif ch == '"':  # “...," he said: a straight mark closes a curly quote (marks mixed)
            # unless it closes a straight quote nested in it (“he said "yes" to it”)
            if opener != "“" or _straight_kind(text, i) == "open" or text.count('"', start, i) % 2:
                continue
            kind = "close"
        elif ch in _CLOSERS[opener]:
            kind = "close"
        elif ch == opener:
            kind = "open"
        else:
            continue
        if kind == "open":
            if _prev_nonspace(text, i) in (".", "!", "?", ":") and text[start:i].strip():
                reopens.append(i)
            else:
                spans.append(_Span(start, i, False, tuple(reopens)))
                cur = (i + 1, ch, [])
            continue
        spans.append(_Span(start, i, True, tuple(reopens)))
        cur = None
    if cur is not None:
        spans.append(_Span(cur[0], len(text), False, tuple(cur[2])))
    if not spans:
        spans = _single_quote_spans(text)
    return spans


_SINGLE_RE = re.compile(r"(?:^|(?<=[\s(\[—–\-:]))‘([^‘’]*?[^\s‘’])’(?=$|[\s,.;:!?)\]—–\-])")


def _single_quote_spans(text: str) -> list[_Span]:
    return [_Span(m.start(1), m.end(1), True) for m in _SINGLE_RE.finditer(text)]


# The word (with its dots) just before a full stop. Searched in a short window that ends at
# the dot, never on a copy of the paragraph up to it: that copy made long paragraphs
# quadratic (a 1 MB paragraph did not finish in minutes).
_WORD_BEFORE_RE = re.compile(r"([\w.]+)$")
_WORD_BEFORE_WINDOW = 64


def _is_boundary(text: str, m: re.Match) -> bool:
    """A sentence end, unless the word before the dot is an abbreviation or an initial (a
    letter: "on Nov. 8." ends a sentence)."""
    if text[m.start()] != ".":
        return True
    before = _WORD_BEFORE_RE.search(text, max(0, m.start() - _WORD_BEFORE_WINDOW), m.start())
    if not before:
        return True
    word = before.group(1).replace(".", "").casefold()
    return not ((len(word) == 1 and word.isalpha()) or word in _ABBREV)


def _clause_after(text: str, start: int, stop: int) -> int:
    """Where the sentence that continues at `start` ends (at most `stop`)."""
    for m in _SENT_END_RE.finditer(text, start, stop):
        if _is_boundary(text, m):
            return m.start()
    return stop


def _clause_before(text: str, start: int, stop: int) -> int:
    """Where the sentence that reaches `stop` began (at least `start`)."""
    begin = start
    for m in _SENT_END_RE.finditer(text, start, stop):
        if _is_boundary(text, m):
            begin = m.end()
    return begin


# Words before a name that make it the object of a preposition, not a sentence's subject
# ("Having worked with Mr X, Mr Y ...", "after Mr X had spoken, Mr Y ..."), and titles
# skipped on the way back to them.
_PREPOSITIONS = frozenset(
    """about above after against alongside among at before behind beside besides between beyond by
    during for from in including into like near of off on onto over past than through to toward
    towards under unlike until upon versus via vs with within without""".split()
)
_TITLES = frozenset("mr mrs ms miss dr lord lady sir dame prof".split())
_WORDS_RE = re.compile(r"[\w’'.\-]+")


def _after_preposition(text: str, start: int) -> bool:
    words = _WORDS_RE.findall(text, max(0, start - 40), start)
    while words and words[-1].casefold().rstrip(".") in _TITLES:
        words.pop()
    return bool(words) and words[-1].casefold() in _PREPOSITIONS


# Titles that tell a person's sex ("Mr Ebbers", "Ms Jowell"), written in the span or
# right before it.
_FOR_THE_RE = re.compile(r"\s+for\s+(?:the\s+)?")
_ROLE_NOUN_RE = re.compile(r"\b(?:" + "|".join(w for w in _ROLE_WORDS if w.startswith("spokes")) + r")\b",
                           re.IGNORECASE)
_MALE_TITLES = frozenset("mr mister sir lord king prince".split())
_FEMALE_TITLES = frozenset("mrs ms miss lady dame baroness queen princess".split())


@functools.lru_cache(maxsize=1 << 14)  # pure; names repeat within and across articles
def _person_name_key(form: str) -> str:
    return name_key(clean_name(form, "PERSON"))


def _title_gender(text: str, m: _Mention) -> str | None:
    words = _WORDS_RE.findall(m.text)
    first = words[0].casefold().rstrip(".") if words else ""
    if first not in _MALE_TITLES and first not in _FEMALE_TITLES:
        before = _WORDS_RE.findall(text, max(0, m.start - 12), m.start)
        first = before[-1].casefold().rstrip(".") if before and text[m.start - 1 : m.start].isspace() else ""
    return "m" if first in _MALE_TITLES else "f" if first in _FEMALE_TITLES else None


class _Article:
    def __init__(self, mentions: list[_Mention], texts: dict[int, str] | None = None) -> None:
        self.mentions = mentions
        self.texts = texts or {}
        self.by_par: dict[int, list[_Mention]] = {}
        for m in mentions:
            self.by_par.setdefault(m.paragraph_index, []).append(m)
        self._persons: list[_Mention] = []
        self._person_pos: list[tuple[int, int]] = []
        # name_key -> (entity_id, entity_name), and token -> set of those, for names NER missed.
        self.by_key: dict[str, tuple[str | None, str | None]] = {}
        self.by_token: dict[str, set[tuple[str | None, str | None]]] = {}
        # name_key of a name of two or more words -> its entity, whatever NER labelled it: a
        # speaker's whole name written as the article named something (a minister's
        # name tagged NORP, "Liberal Democrats") is that.
        self.by_whole_key: dict[str, tuple[str | None, str | None]] = {}
        # entity (id, else name key) -> "m" / "f" from the titles the article gives it.
        self.gender: dict[str, str] = {}

    def _person_ref(self, m: _Mention) -> str:
        return m.entity_id or _person_name_key(m.text)

    def finish(self) -> None:
        self._persons = [m for m in self.mentions if m.label == "PERSON" and not m.in_quote]
        self._persons.sort(key=lambda m: (m.paragraph_index, m.start))
        self._person_pos = [(m.paragraph_index, m.start) for m in self._persons]
        people = [m for m in self.mentions if m.label == "PERSON"]
        keys = {form: _person_name_key(form) for m in people for form in (m.text, m.entity_name or "")}
        for m in people:
            if not m.entity_id:
                continue
            ref = (m.entity_id, m.entity_name)
            for form in (m.text, m.entity_name or ""):
                key = keys[form]
                if key:
                    self.by_key.setdefault(key, ref)
                    for tok in key.split():
                        self.by_token.setdefault(tok, set()).add(ref)
        whole: dict[str, set[tuple[str, str | None]]] = {}
        for m in self.mentions:
            form = clean_name(m.text, "PERSON") if m.entity_id and m.label != "PERSON" else None
            key = name_key(form) if form else ""
            if " " in key:
                whole.setdefault(key, set()).add((m.entity_id, m.entity_name))
        self.by_whole_key = {k: next(iter(refs)) for k, refs in whole.items() if len(refs) == 1}
        # Sex from titles. A title on a surname that two people of the article share ("Mr
        # Jackson" next to Michael and Katherine Jackson) tells nothing about either.
        titled = [(m, g) for m in people if (g := _title_gender(self.texts.get(m.paragraph_index, ""), m))]
        if not titled:
            return
        owners: dict[str, set[str]] = {}
        for m in people:
            for tok in keys[m.entity_name or m.text].split():
                owners.setdefault(tok, set()).add(self._person_ref(m))
        seen: dict[str, set[str]] = {}
        for m, g in titled:
            if not any(len(owners.get(t, ())) > 1 for t in keys[m.text].split()):
                seen.setdefault(self._person_ref(m), set()).add(g)
        self.gender = {ref: next(iter(gs)) for ref, gs in seen.items() if len(gs) == 1}

    def person_referred_to(self, paragraph_index: int, pos: int, pronoun: str = "", depth: int = 0) -> _Mention | None:
        """The person a "he"/"she" at `pos` refers to: the last sentence before it that names
        a person (outside quotes), and of that sentence's persons up to `pos` the first that
        is not the object of a preposition, its subject as a rule ("Neville admitted he had
        not enjoyed the match, marred by a foul on Freddie Ljungberg. '...,' he said" is
        Neville; "Having worked with Mr Cantalupo, Mr Bell ..." is Bell); the last one if
        all are. A person the article titles as the other sex ("Ms Jowell" for a "he",
        "Mr Caborn" for a "she") is passed over."""
        other = {"he": "f", "she": "m"}.get(pronoun.casefold())
        fits = lambda m: other is None or self.gender.get(self._person_ref(m)) != other  # noqa: E731
        i = bisect.bisect_left(self._person_pos, (paragraph_index, pos))
        while i > 0 and not fits(self._persons[i - 1]):
            i -= 1
        if i == 0:
            return None
        last = self._persons[i - 1]
        text = self.texts.get(last.paragraph_index, "")
        voice = self._unnamed_voice_between(last, paragraph_index, pos)
        if voice is not None:
            return self._voice_source(*voice)
        begin = _clause_before(text, 0, last.start)
        lead = _LEAD_RE.match(text, begin, last.start)
        if lead and depth < 3:
            # "He conceded the win, with goals from X." or "The Spaniard thought he was
            # talking to X.": the sentence's subject was named before it, X is no subject.
            # Not after a subject of the other sex ('She praised X. "...," he said').
            said = (lead.group(1) or "").casefold()
            same = not said or not pronoun or said == pronoun.casefold()
            if same and (said or _is_epithet(lead.group(2))):
                return self.person_referred_to(last.paragraph_index, begin, pronoun or said, depth + 1)
        j = bisect.bisect_left(self._person_pos, (last.paragraph_index, begin))
        return next((m for m in self._persons[j:i] if fits(m) and not _after_preposition(text, m.start)), last)

    def _unnamed_voice_between(self, last: _Mention, paragraph_index: int, pos: int) -> tuple[int, re.Match] | None:
        """The last spokesperson with no name in a sentence after the one naming `last`,
        before the pronoun at `pos` ('A ministry spokeswoman said Mr Smith would stay on.
        "...," she said'): the pronoun is that voice, not a person named before it."""
        text = self.texts.get(last.paragraph_index, "")
        lo = _clause_after(text, last.end, len(text))
        found = None
        for par in range(last.paragraph_index, paragraph_index + 1):
            t = self.texts.get(par)
            if t is None:
                continue
            a = lo if par == last.paragraph_index else 0
            b = pos if par == paragraph_index else len(t)
            for m in _ROLE_NOUN_RE.finditer(t, a, max(a, b)):
                found = (par, m)
        return found

    def _voice_source(self, par: int, role: re.Match) -> _Mention | None:
        """The organisation a spokesperson speaks for, named next to the role noun ("a UKIP
        spokesman", "a spokeswoman for the Home Office"), or None."""
        text = self.texts.get(par, "")
        for m in self.by_par.get(par, []):
            if m.label in _ROLE_SOURCE_LABELS and (
                    (m.end <= role.start() and not text[m.end : role.start()].strip())
                    or (m.start >= role.end() and _FOR_THE_RE.fullmatch(text, role.end(), m.start))):
                return m
        return None

    def lookup(self, name: str) -> tuple[str | None, str | None]:
        key = name_key(clean_name(name, "PERSON"))
        if key in self.by_key:
            return self.by_key[key]
        if key in self.by_whole_key:
            return self.by_whole_key[key]
        toks = key.split()
        if len(toks) == 1:
            refs = self.by_token.get(toks[0], set())
            if len(refs) == 1:
                return next(iter(refs))
        return None, None


def _from_mention(m: _Mention, attribution: str) -> _Speaker:
    return _Speaker(clean_name(m.text, m.label) or m.text, m.entity_id, m.entity_name or m.text, attribution)


def _from_pronoun(art: _Article, pronoun: str, par: int, pos: int) -> _Speaker:
    """A he/she, or an epithet (`pronoun` "": "the 25-year-old"), resolved; they/we/I not."""
    if pronoun.casefold() in _RESOLVABLE_PRONOUNS or not pronoun:
        m = art.person_referred_to(par, pos, pronoun)
        if m is not None:
            name = m.entity_name or clean_name(m.text, m.label)
            return _Speaker(name, m.entity_id, name, "pronoun")
    return _Speaker(None, None, None, "pronoun")


# Words of time that a speech verb is often next to ("reported Wednesday that", "on Sunday
# said"): never a speaker alone. Month names that are also given names (April, May, June,
# August, March) are left out.
_TIME_WORDS = (CALENDAR_WORDS - {"april", "may", "june", "august", "march"}) | {
    "today", "yesterday", "tonight", "tomorrow"}


def _from_name(art: _Article, name: str, attribution: str) -> _Speaker | None:
    name = clean_name(name, "PERSON")
    if not name or name.split()[0] in _NOT_NAMES or name.casefold() in _TIME_WORDS:
        return None
    eid, ename = art.lookup(name)
    return _Speaker(name, eid, ename, attribution)


# What may follow a speaker named after its verb ("said Mr X on Tuesday", "said X, who",
# "said X.", "said a Juventus official"): anything else makes the name the subject or
# object of the reported clause ("said the Kelvo Institute scheme had ...", "described
# Norland as a ...", "promised to hail Brenmoor's record").
_AFTER_NAME_WORDS = _PREPOSITIONS | {"who", "whose", "that", "adding", "today", "yesterday", "tonight", "last",
                                     "this", "earlier", "later", "afterwards", "again", "also", "too", "then", "now"}
_NEXT_WORD_RE = re.compile(r"\s*([\w’'-]+)")


def _name_ends_phrase(text: str, end: int, hi: int, role: bool = True) -> bool:
    """The name ending at `end` is not followed (before `hi`) by a possessive or by a word
    that goes on with a clause around it; a role word ("said a Juventus official, who")
    may come between, not a clause's subject ("said US officials had agreed") nor the
    person it introduces ("said Apacs spokeswoman Jemma Smith" is Jemma Smith)."""
    if text[end:end + 2] in ("'s", "’s"):
        return False
    m = _NEXT_WORD_RE.match(text, end, hi)
    word = m.group(1) if m else ""
    if m is None or word in _AFTER_NAME_WORDS or word.endswith("ly") or _VERB_RE.fullmatch(word):
        return True  # a speech verb next: the name is its subject ("state prosecutor X told")
    if not word[:1].islower():
        return role
    return role and word in _ROLE_WORDS and _name_ends_phrase(text, m.end(), hi, role=False)


# Between a person and the organisation named right before a speech verb: the person
# speaks for it ("X, Acme Party health spokesman said", "X of the Acme Institute said",
# "X, from the Acme Association, told").
_PERSON_OF_ORG_RE = re.compile(r"(?:,\s*|\s+(?=of|from|at))(?:(?:of|from|at)\s+(?:the\s+)?)?$")


def _voice_gap(text: str, m: _Mention, vs: int) -> bool:
    """Between mention `m` and the speech verb at `vs` stands a voice or document of its
    own: an organisation's unnamed spokesperson ("a BBC spokesman said"), or a name's
    statement, report or spokesperson ("Mr X's statement said", "the Acme report says")."""
    gap = text[m.end : vs]
    if m.label in _ROLE_SOURCE_LABELS and _ROLE_GAP_RE.match(gap):
        return True
    doc = _DOCUMENT_GAP_RE.match(gap)
    return doc is not None and (doc.group(1) is not None or m.text.endswith(("'s", "’s"))
                                or m.label in _ROLE_SOURCE_LABELS)


# An epithet: "the" and a word that news writes for a person it has already named, never
# to bring in a new one: an age ("the 25-year-old") or a nationality ("the Spaniard",
# "the Scot"; not an adjective that names a people, "the French"), with at most two words
# before it ("the Leeds-born 30-year-old"). It speaks as "he"/"she" would.
_EPITHET_BEFORE_RE = re.compile(r"\b[Tt]he\s+((?:[\w’'-]+\s+){0,2}?[\w’'-]+)\s*" + _APPOSITIVE + r"?(?:"
                                + _AUX + r"\s+)*$")
_EPITHET_AFTER_RE = re.compile(r"\s*,?\s*[Tt]he\s+")
# A sentence whose subject is a he/she or an epithet, after an opening connective.
_LEAD_RE = re.compile(r"\s*(?:(?:But|And|However|Yet|Now|Then|Still|Meanwhile),?\s+)?"
                      r"(?:(He|She)|The\s+([\w’'-]+)(?=[\s,]))\b")
_HE_SHE_RE = re.compile(r"\b([Hh]e|[Ss]he)\b")
_AGE_RE = re.compile(r"\d+-year-old")
# Nationality nouns that are no demonym of a country ("Frenchman", "Irishman" are, in
# entities._DEMONYMS, and `_is_epithet` reads that table too).
_NATIONALITY_NOUNS = frozenset("scot scotsman scotswoman welshman welshwoman englishman englishwoman kiwi aussie".split())


def _is_epithet(word: str) -> bool:
    if _AGE_RE.fullmatch(word):
        return True
    if not word[:1].isupper() or word.endswith(("sh", "ch", "ese", "ss")):
        return False
    return word.casefold() in _NATIONALITY_NOUNS or demonym_country(word) is not None


def _epithet_after(text: str, ve: int, hi: int) -> int | None:
    """Where an epithet right after a speech verb starts ('"...," said the 25-year-old'),
    when the attribution ends with it; else None."""
    m = _EPITHET_AFTER_RE.match(text, ve, hi)
    if m is None:
        return None
    pos = m.end()
    for _ in range(3):
        w = _NEXT_WORD_RE.match(text, pos, hi)
        if w is None:
            return None
        if _is_epithet(w.group(1)) and _name_ends_phrase(text, w.end(1), hi):
            return m.end()
        pos = w.end()
    return None


def _starts_with_preposition(text: str, lo: int, hi: int) -> bool:
    """text[lo:hi] opens with a preposition: a name after it is its object ("said on
    television station Canal Plus", "confirmed to BBC Sport"), not the speaker; "by" and
    "from" name the source ("a claim by X that", "described by X as")."""
    m = _NEXT_WORD_RE.match(text, lo, hi)
    return m is not None and m.group(1).casefold() in _PREPOSITIONS and m.group(1).casefold() not in ("by", "from")


def _speaker_around_verb(
    art: _Article, text: str, par: int, mentions: list[_Mention], lo: int, hi: int, verb: re.Match, attribution: str,
    inverted: bool = True,
) -> _Speaker | None:
    """Speaker for the speech verb `verb`, looking at text[lo:hi] only. With `inverted`
    False, only a speaker before the verb counts (the verb does not open the attribution,
    so a name after it is part of another clause)."""
    vs, ve = verb.start(), verb.end()
    cands = [m for m in mentions if not m.in_quote and _can_speak(m) and lo <= m.start]
    # 1. A name right before the verb.
    before = [m for m in cands if m.end <= vs and (
        _SUBJECT_GAP_RE.match(text[m.end : vs]) or _voice_gap(text, m, vs))]
    if before:
        best = max(before, key=lambda m: m.end)
        if best.label != "PERSON" or _voice_gap(text, best, vs):
            # "Ivo Penrose, Kestrel Party health spokesman said", "Ada Vinn, Marlow Hotel
            # Association said", "Ola Brisk of the Fenwick Institute said": the person named
            # right before the organisation speaks.
            link = _PERSON_OF_ORG_RE.search(text, max(lo, best.start - 16), best.start)
            if link:
                at = link.start()
                best = next((m for m in cands if m.label == "PERSON" and m.end == at), best)
        return _from_mention(best, attribution)
    pm = _PRONOUN_BEFORE_RE.search(text[lo:vs])
    if pm:
        return _from_pronoun(art, pm.group(1), par, lo + pm.start(1))
    ep = _EPITHET_BEFORE_RE.search(text, lo, vs)
    if ep and _is_epithet(ep.group(1).split()[-1]):
        return _from_pronoun(art, "", par, ep.start())
    # 2. A name right after the verb ("said Trump"); after "told", the one spoken to.
    addressee = verb.group(0) in _ADDRESSEE_VERBS or not inverted
    after = [m for m in cands if not addressee and m.start >= ve and m.end <= hi
             and (_AFTER_VERB_GAP_RE.match(text[ve : m.start])
                  or (m.label == "PERSON" and _TITLE_GAP_RE.match(text[ve : m.start])))
             and not _starts_with_preposition(text, ve, m.start) and _name_ends_phrase(text, m.end, hi)]
    if after:
        best = min(after, key=lambda m: (m.label != "PERSON", m.start))
        return _from_mention(best, attribution)
    pa = None if not inverted else _PRONOUN_AFTER_RE.match(text[ve:hi])
    if pa:
        return _from_pronoun(art, pa.group(1), par, ve + pa.start(1))
    ea = None if addressee else _epithet_after(text, ve, hi)
    if ea is not None:
        return _from_pronoun(art, "", par, ea)
    # 3. A capitalised name NER missed.
    nb = _NAME_BEFORE_RE.search(text[lo:vs])
    if nb:
        sp = _from_name(art, nb.group(1), attribution)
        if sp:
            return sp
    na = None if addressee else _NAME_AFTER_RE.match(text[ve:hi])
    if na and _name_ends_phrase(text, ve + na.end(1), hi):
        sp = _from_name(art, na.group(1), attribution)
        if sp:
            return sp
    return None


def _tail_window(text: str, spans: list[_Span], k: int) -> tuple[int, int] | None:
    """The rest of quote k's sentence after its closing mark, where an attribution after
    the quote stands (at most _TAIL_MAX_CHARS). None when the quote is unclosed or ends in a
    full stop, also one inside a nested quote's closing mark: it ends its sentence then
    ('... eight months." A spokeswoman said ...' is someone else speaking)."""
    q_start, q_end, closed, _ = spans[k]
    if not closed or text[q_start:q_end].rstrip().rstrip("'’").endswith("."):
        return None
    t_lo = q_end + 1
    return t_lo, min(_clause_after(text, t_lo, _next_quote_start(text, spans, k)), t_lo + _TAIL_MAX_CHARS)


def _next_quote_start(text: str, spans: list[_Span], k: int) -> int:
    """Where the quote after quote k opens (its mark), else the paragraph's end."""
    return spans[k + 1].start - 1 if k + 1 < len(spans) else len(text)


def _tail_verb(text: str, spans: list[_Span], k: int) -> tuple[tuple[int, int] | None, re.Match | None, bool]:
    """The window after quote k (`_tail_window`), its speech verb, and whether the verb
    opens the attribution or follows a comma ('"...," said X', '"..." once he had realised,
    said Mr X': a name after it may speak; '"..." and promised to hail Labour's record'
    names no speaker). A belief verb that does not open it is none ('"dramatic" as X
    believed')."""
    tail = _tail_window(text, spans, k)
    verb = _VERB_RE.search(text, *tail) if tail else None
    q_start = spans[k].start
    if verb is None and tail is not None and tail[1] == tail[0] + _TAIL_MAX_CHARS:
        # '"...," Jo Doe, second deputy of planning and lunar cargo at the agency's science
        # office, said': a name, then a job title longer than the window, then the verb; the
        # window runs on through that appositive (`_SUBJECT_GAP_RE`).
        named = _NAME_THEN_COMMA_RE.match(text, tail[0])
        if named:
            end = min(_clause_after(text, tail[0], _next_quote_start(text, spans, k)), tail[0] + _TAIL_APPOSITIVE_CHARS)
            later = _VERB_RE.search(text, named.end(), end)
            if later and _SUBJECT_GAP_RE.match(text[named.end():later.start()]):
                tail, verb = (tail[0], end), later
    if (verb is None and tail is not None and tail[1] == tail[0] + _TAIL_MAX_CHARS
            and not _VERB_RE.search(text, _clause_before(text, 0, q_start), q_start)):
        # A partial quote early in a long sentence that ends with its attribution ('... need
        # "deep reform" to grow again, the Acme Fund has said.'): the window is that clause;
        # not when a speech verb comes before the quote ('X said it was "..." ..., Y
        # reported' is X's, by said_before).
        end = _clause_after(text, tail[0], _next_quote_start(text, spans, k))
        final = _FINAL_ATTRIBUTION_RE.search(text, tail[0], end)
        if final:
            tail = (final.start(), end)
            verb = _VERB_RE.search(text, *tail)
    if verb is None:
        return tail, None, False
    pre = text[tail[0] : verb.start()]
    inverted = not pre.strip(" ,;:—–-") or pre.rstrip().endswith(",")
    if verb.group(0) in _BELIEF_VERBS and not inverted:
        return tail, None, False
    return tail, verb, inverted


def _attribute(
    art: _Article, text: str, par: int, spans: list[_Span], k: int
) -> _Speaker | None:
    q_start, q_end, closed, _ = spans[k]
    mentions = art.by_par.get(par, [])
    prev_end = spans[k - 1][1] + 1 if k > 0 else 0
    next_start = spans[k + 1][0] - 1 if k + 1 < len(spans) else len(text)

    # After the quote, in the rest of its sentence.
    pronoun_only = None
    tail, verb, inverted = _tail_verb(text, spans, k)
    if verb:
        sp = _speaker_around_verb(art, text, par, mentions, *tail, verb, "said_after", inverted)
        if sp and sp.attribution == "pronoun" and sp.speaker is not None:
            # 'Mr X "made the decisions," he told the court': X is the subject of the quoted
            # words, so the "he" is someone named before.
            subj = next((m for m in mentions if m.label == "PERSON" and not m.in_quote and m.end <= q_start - 1
                         and not text[m.end : q_start - 1].strip()), None)
            if subj is not None and subj.entity_id == sp.entity_id:
                pm = _HE_SHE_RE.search(text, *tail)
                sp = _from_pronoun(art, pm.group(1) if pm else "", par, subj.start)
        if sp:
            if sp.attribution == "said_after" or sp.speaker is not None:
                return sp
            pronoun_only = sp

    # Before the quote, in the same sentence.
    h_hi = q_start - 1
    h_lo = _clause_before(text, prev_end, h_hi)
    verbs = list(_VERB_RE.finditer(text, h_lo, h_hi))
    if verbs:
        verb = next((v for v in reversed(verbs) if v.group(0) not in _BELIEF_VERBS), verbs[-1])
        # "X refused ..., saying Britain would ...“...”": a participle after a comma takes
        # the sentence's subject, so skip the name-next-to-verb rules.
        participle = verb.group(0).endswith("ing") and _prev_nonspace(text, verb.start()) == ","
        sp = None if participle else _speaker_around_verb(
            art, text, par, mentions, h_lo, h_hi, verb, "said_before"
        )
        if sp is None:
            # "X has expressed ..., claiming that ... “...”": the sentence's first person
            # (also when no name stands next to the verb).
            first = [
                m for m in mentions
                if not m.in_quote and m.label == "PERSON" and h_lo <= m.start and m.end <= verb.start()
            ]
            if not first and participle:  # "The Kremlin hit back, saying “...”"
                first = [
                    m for m in mentions
                    if not m.in_quote and _can_speak(m) and h_lo <= m.start and m.end <= verb.start()
                ]
            if first:
                sp = _from_mention(min(first, key=lambda m: m.start), "said_before")
        if sp:
            return sp
    # Headline style "Trump: “...”" (not "... told the BBC: “...”").
    colon = [m for m in mentions if not m.in_quote and _can_speak(m) and h_lo <= m.start
             and re.fullmatch(r"\s*:\s*", text[m.end : h_hi]) and not _TOLD_BEFORE_RE.search(text, h_lo, m.start)]
    if colon:
        return _from_mention(colon[-1], "said_before")

    # "according to X" in the sentence before or after.
    for lo, hi in ((h_lo, h_hi), (q_end + 1, _clause_after(text, q_end + 1, next_start) if closed else q_end)):
        acc = _ACCORDING_RE.search(text, lo, hi) if lo < hi else None
        if acc:
            after = [m for m in mentions if not m.in_quote and _can_speak(m)
                     and acc.end() <= m.start < acc.end() + 50]
            if after:
                return _from_mention(min(after, key=lambda m: m.start), "according_to")
            na = _NAME_AFTER_RE.match(text[acc.end() : hi])
            if na:
                sp = _from_name(art, na.group(1), "according_to")
                if sp:
                    return sp
    return pronoun_only


def _verb_after(text: str, spans: list[_Span], k: int) -> bool:
    """The rest of quote k's sentence has a speech verb ('"We will appeal," lawyers told
    Reuters'): the quote has an attribution, even one that names nobody."""
    return _tail_verb(text, spans, k)[1] is not None


def _speaker_of_sentence_before(
    art: _Article, text: str, par: int, spans: list[_Span], qs: int, before: tuple[int, str, list[_Span]] | None
) -> _Speaker | None:
    """The speaker of the sentence before a quote that has no attribution of its own: the
    sentence names who spoke (`Mr Jollans said everyone could take part. "The internet's
    impact ..."`, or `"...," Oxfam's Barbara Stocking said.` ending the paragraph before).
    `qs` is the quote's opening mark; `before` the previous paragraph (index, text, quote
    spans), used when the quote opens its paragraph."""
    end = len(text[:qs].rstrip())
    if end == 0:
        if before is None:
            return None
        par, text, spans = before
        end = len(text.rstrip())
    lo = _clause_before(text, 0, end)
    inside = [(sp.start - 1, sp.end) for sp in spans]
    mentions = art.by_par.get(par, [])
    for verb in _VERB_RE.finditer(text, lo, end):
        if any(a <= verb.start() <= b for a, b in inside):
            continue
        sp = _speaker_around_verb(art, text, par, mentions, lo, end, verb, "continuation")
        if sp is None:
            first = [m for m in mentions if not m.in_quote and m.label == "PERSON" and lo <= m.start
                     and m.end <= verb.start() and not _after_preposition(text, m.start)]
            sp = _from_mention(first[0], "continuation") if first else None
        if sp is not None and sp.speaker is not None:
            return _Speaker(sp.speaker, sp.entity_id, sp.name, "continuation")
        return None
    return None


def _mark_quoted_mentions(art: _Article, spans_by_par: dict[int, list[_Span]]) -> None:
    for par, spans in spans_by_par.items():
        for m in art.by_par.get(par, []):
            m.in_quote = any(sp.start <= m.start and m.end <= sp.end for sp in spans)


# People named by their role ("the Tory leader", "the chancellor") after the article gave
# the role next to the name ("Tory leader Michael Howard", "Gordon Brown, the chancellor,").
_ROLE_STOP = _PREPOSITIONS | _TITLES | {
    "the", "a", "an", "and", "or", "but", "his", "her", "its", "their", "our", "this", "that", "as", "who",
    "said", "says", "told", "added", "when", "while", "if", "then", "also", "both"}
# Words that make another role of the one after them ("Deputy Prime Minister" is not "the
# prime minister"): never left out of a description.
_ROLE_CHANGERS = frozenset({"deputy", "shadow", "vice", "assistant", "former", "ex", "junior", "acting", "under"})
_GENERIC_MODIFIERS = frozenset({"new", "current", "outgoing", "veteran", "embattled"})
_ROLE_WORD_RE = re.compile(r"[A-Za-z][\w-]*")
_DOCUMENTS = r"(report|study|survey|statement|paper|review)"
_DOC_AFTER_RE = re.compile(r"(?:['’]s)?\s+(?:(?:annual|latest|new|own|draft|final)\s+)?" + _DOCUMENTS + r"\b")
_DOC_BEFORE_RE = re.compile(r"\b" + _DOCUMENTS + r"\s+(?:(?:published|issued|released)\s+)?(?:by|from)\s+(?:the\s+)?$")
_PREV_WORD_RE = re.compile(r"([A-Za-z][\w-]*)\s+$")
_DESCRIPTION_RE = re.compile(r"\b[Tt]he((?:\s+[A-Za-z][\w-]*){1,4})")


# How far back `_role_words_before` looks for the start of the sentence of a role word.
CLAUSE_LOOKBACK = 2000


def _role_words_before(text: str, start: int, names: Spans = Spans(())) -> list[str]:
    """The words right before a name that give its role ("Tory leader" in "Tory leader
    Michael Howard"), nearest last, as written; only spaces between them. The role itself
    (the last word) is no part of another name ("Environmental Audit Committee Peter
    Ainsworth" gives none); `names` are the paragraph's other mentions."""
    words: list[str] = []
    pos = start
    while len(words) < 4:
        m = _PREV_WORD_RE.search(text, max(0, pos - 40), pos)
        if not m:
            break
        w = m.group(1)
        at = m.start(1)
        if w.casefold() in _ROLE_STOP or _VERB_RE.fullmatch(w.casefold()):
            break
        if not words and names.overlap(at, at + 1):
            return []
        words.insert(0, w)
        pos = at
    # A sentence's first word is capitalised whatever it is.
    # (the sentence's start looked for within CLAUSE_LOOKBACK characters, not from the
    # paragraph's start for every name, which made a paragraph of megabytes quadratic; a
    # longer stretch with no sentence end holds words, so the answer is the same)
    if words and not text[_clause_before(text, max(0, pos - CLAUSE_LOOKBACK), pos) : pos].strip():
        words[0] = words[0].casefold()
    return words


def _role_words_after(text: str, end: int) -> list[str]:
    """An appositive after a name: "Gordon Brown, the chancellor," -> ["chancellor"]."""
    m = re.match(r",\s+(?:the\s+)?([^,.;:“”\"()]{2,60}?)\s*[,.;]", text[end:end + 70])
    if not m:
        return []
    words = _ROLE_WORD_RE.findall(m.group(1))
    if not words or len(words) > 6 or any(w.casefold() in ("who", "which", "said", "says") for w in words):
        return []
    # "the chairman of the committee": the role is the noun before its complement.
    cut = next((i for i, w in enumerate(words) if w.casefold() in _PREPOSITIONS), len(words))
    words = words[:cut]
    return [w[:-2] if w.endswith(("'s", "’s")) else w for w in words]


def _described_people(texts: dict[int, str], mentions: list[_Mention],
                      by_par: dict[int, list[_Mention]]) -> list[_Mention]:
    """Mentions for role descriptions that name one person of the article ("The Tory
    leader countered ... He declared: ..." is Michael Howard when the article wrote "Tory
    leader Michael Howard"): a description is "the" + words whose last (the role) is the
    last word the article wrote right before that person's name or first in an appositive
    after it ("Gordon Brown, the chancellor,"), and whose other words were written there
    too; words that only name an organisation or place ("Chelsea chief executive") may be
    left out, a word that makes another role ("shadow chancellor") may not. Only a
    description that starts its sentence or comes right before a speech verb counts.
    "The report" (or study, statement, ...) likewise names the one organisation whose
    report the article names ("the World Bank report", "a report by Oxfam"). The new
    mentions take the label, id and name of the person or organisation."""
    found: list[tuple[int, str, int, list[re.Match]]] = []  # (paragraph, text, "the", words after it)
    heard: set[str] = set()
    for par, text in texts.items():
        for d in _DESCRIPTION_RE.finditer(text):
            ws = list(_ROLE_WORD_RE.finditer(text, d.start(1), d.end(1)))
            found.append((par, text, d.start(), ws))
            heard.update(w.group(0).casefold() for w in ws)
    if not found:
        return []
    roles: dict[str, list[tuple[frozenset[str], frozenset[str], _Mention]]] = {}
    others: dict[int, Spans] = {}  # a paragraph's names that are no person
    for m in mentions:
        if m.label == "ORG" and m.entity_id and not m.in_quote:
            # An organisation's document: "the Oxfam report", "Oxfam's report", "a report by
            # Oxfam" make "The report said" Oxfam's voice.
            text = texts.get(m.paragraph_index, "")
            doc = _DOC_AFTER_RE.match(text, m.end) or _DOC_BEFORE_RE.search(text, max(0, m.start - 40), m.start)
            if doc and doc.group(1).casefold() in heard:
                roles.setdefault(doc.group(1).casefold(), []).append((frozenset([doc.group(1).casefold()]),
                                                                     frozenset(), m))
            continue
        if m.label != "PERSON" or not m.entity_id or m.in_quote:
            continue
        text = texts.get(m.paragraph_index, "")
        prev = _PREV_WORD_RE.search(text, max(0, m.start - 30), m.start)
        before = []
        if prev and prev.group(1).casefold() in heard:
            if m.paragraph_index not in others:  # once a paragraph: a dump of megabytes names thousands
                others[m.paragraph_index] = Spans((o.start, o.end) for o in by_par.get(m.paragraph_index, ())
                                                   if o.label != "PERSON")
            before = _role_words_before(text, m.start, others[m.paragraph_index])
        after = _role_words_after(text, m.end) if text[m.end : m.end + 1] == "," else []
        for words in (before, after):
            if words and len(words[-1]) >= 3 and words[-1].isalpha() and words[-1].casefold() in heard:
                names = frozenset(w.casefold() for w in words[:-1]
                                  if w[:1].isupper() and w.casefold() not in _ROLE_CHANGERS)
                roles.setdefault(words[-1].casefold(), []).append(
                    (frozenset(w.casefold() for w in words), names, m))
    if not roles:
        return []
    # The people a role could name, by the words written with it: a dump of megabytes gives a
    # role thousands of mentions but few distinct word sets, and repeats its descriptions.
    held_by: dict[str, dict[tuple[frozenset[str], frozenset[str]], dict[str, tuple[int, _Mention]]]] = {}
    for head, entries in roles.items():
        for pos, (held, names, m) in enumerate(entries):
            held_by.setdefault(head, {}).setdefault((held, names), {})[m.entity_id] = (pos, m)
    named: dict[tuple[str, frozenset[str]], _Mention | None] = {}

    def one_person(head: str, mods: frozenset[str]) -> _Mention | None:
        """The one person (or organisation) the role names, its last mention; None for none or
        more than one."""
        if (head, mods) not in named:
            best: tuple[int, _Mention] | None = None
            for (held, names), by_id in held_by.get(head, {}).items():
                if not (mods <= held and held - mods - {head} <= names):
                    continue
                for eid, (pos, m) in by_id.items():
                    if best is not None and best[1].entity_id != eid:
                        named[(head, mods)] = None
                        return None
                    if best is None or pos > best[0]:
                        best = (pos, m)
            named[(head, mods)] = best[1] if best else None
        return named[(head, mods)]

    taken = {(m.paragraph_index, m.start) for m in mentions}
    out = []
    for par, text, start, ws in found:
        words = [w.group(0).casefold() for w in ws]
        if not ws or not any(w in roles for w in words):
            continue
        if (par, start) in taken:
            continue
        starts = not text[_clause_before(text, max(0, start - 300), start) : start].strip()
        for k in range(len(words), 0, -1):
            head, mods = words[k - 1], frozenset(words[: k - 1]) - _GENERIC_MODIFIERS
            if not starts and not (k < len(words) and _VERB_RE.fullmatch(words[k])):
                continue
            ref = one_person(head, mods)
            if ref is not None:
                out.append(_Mention(par, start, ws[k - 1].end(), ref.entity_name or ref.text, ref.label,
                                    ref.entity_id, ref.entity_name))
                break
    return out


def _article_quotes(article_id: str, pars: list[tuple[int, str]], mentions: list[_Mention], out: dict) -> None:
    given = dict(pars)  # the quote is cut from the text as written
    pars = [(p, _doubled_marks(t)) for p, t in pars]
    texts = dict(pars)
    spans_by_par = {p: _quote_spans(t) for p, t in pars}
    art = _Article(mentions, texts)
    _mark_quoted_mentions(art, spans_by_par)
    described = _described_people(texts, mentions, art.by_par)
    if described:
        art = _Article(sorted(mentions + described, key=lambda m: (m.paragraph_index, m.start)), texts)
        _mark_quoted_mentions(art, spans_by_par)
    art.finish()
    carried: _Speaker | None = None  # speaker of an unclosed quote at the end of the previous paragraph
    before: tuple[int, str, list[_Span]] | None = None  # the previous paragraph
    for par, text in pars:
        spans = spans_by_par[par]
        prev: _Speaker | None = None
        qi = 0
        for k, span in enumerate(spans):
            s, e = span.start, span.end
            raw = text[s:e]
            body = raw.rstrip().rstrip(",").rstrip()
            q_start = s + len(raw) - len(raw.lstrip())
            q_end = s + len(body)
            # a re-opening mark typed as two characters ('' or ’’) goes whole
            skip = set(span.reopens) | {j - 1 for j in span.reopens if given[par][j - 1:j + 1] in _DOUBLED_MARKS}
            quote = "".join(ch for j, ch in enumerate(given[par][q_start:q_end], q_start) if j not in skip)
            quote = _SPACE_RE.sub(" ", quote).strip() if span.reopens else quote
            if q_end <= q_start or not any(ch.isalnum() for ch in quote) or _is_title(text, spans, k, quote):
                continue
            sp = _attribute(art, text, par, spans, k)
            if sp is None or sp.speaker is None:
                # Only a quote that opens its own sentence continues an earlier speaker
                # ('"...," X said. "More."'); an embedded phrase without attribution does not.
                prev_end = spans[k - 1].end + 1 if k > 0 else 0
                opens_sentence = not text[_clause_before(text, prev_end, s - 1) : s - 1].strip()
                inherit = prev if prev is not None else (carried if k == 0 and s <= 1 else None)
                # A sentence of its own between the last quote and this one, whose speech verb
                # names a speaker, speaks for this quote ('"...," said X. Y said the goal was
                # ... "Why ..."' is Y), before any earlier speaker of the paragraph.
                told = None
                if opens_sentence and not _verb_after(text, spans, k) and (
                    inherit is None or inherit.speaker is None
                    or (k > 0 and _clause_before(text, 0, len(text[: s - 1].rstrip())) >= prev_end)
                ):
                    told = _speaker_of_sentence_before(art, text, par, spans, s - 1, before)
                if told is not None:
                    sp = told
                elif opens_sentence and inherit is not None and inherit.speaker is not None:
                    sp = _Speaker(inherit.speaker, inherit.entity_id, inherit.name, "continuation")
            if sp is None:
                sp = _Speaker(None, None, None, "none")
            if sp.speaker is not None:
                prev = sp
            out["article_id"].append(article_id)
            out["paragraph_index"].append(par)
            out["quote_index"].append(qi)
            out["quote"].append(quote)
            out["speaker"].append(sp.speaker)
            out["speaker_entity_id"].append(sp.entity_id)
            out["attribution"].append(sp.attribution)
            out["speaker_name"].append(sp.name)
            out["start_char"].append(q_start)
            out["end_char"].append(q_end)
            qi += 1
        carried = prev if spans and not spans[-1].closed else None
        before = (par, text, spans)


_TITLE_WORD_RE = re.compile(r"[\w’'\-]+")
_SENTENCE_INSIDE_RE = re.compile(r"[.!?]\s")
_TITLE_SMALL = frozenset("a an the and or but of in on at to for by with from as is it my me you your".split())
_TITLE_NOUN_RE = re.compile(
    r"\b(?:songs?|singles?|hits?|tracks?|albums?|films?|movies?|books?|novels?|shows?|series|episodes?|"
    r"programmes?|programs?|plays?|musicals?|titled|entitled)\W*$", re.IGNORECASE)
_LIST_GAP_RE = re.compile(r"^\W{0,3}\s*(?:,|and|or|&|, and|, or)\s*\W{0,3}$")


def _title_case(quote: str) -> bool:
    """Two to ten words, every word but small ones capitalised ("Takin’ It To The
    Streets", "Listen To The Music"), no sentence inside."""
    words = _TITLE_WORD_RE.findall(quote)
    if not 2 <= len(words) <= 10 or _SENTENCE_INSIDE_RE.search(quote):
        return False
    big = [w for w in words if w.lower() not in _TITLE_SMALL]
    return len(big) >= 2 and all(w[:1].isupper() or w[:1].isdigit() for w in big) and not quote.isupper()


def _is_title(text: str, spans: list[_Span], k: int, quote: str) -> bool:
    """A quoted title, not speech: a Title Case quote after a title noun ("the single “Black
    Water”", "a film titled “Quiet Fields”") or one of a list of such quotes ("including
    “Listen To The Music,” “Takin’ It To The Streets,” ..."). News sets titles of songs,
    films and shows in quote marks; their words are nobody's. Not after "called" or
    "so-called": a partial quote ('called it “Fake News”') or a scare quote ('so-called
    “John Doe” defendants'), kept as such."""
    if not _title_case(quote):
        return False
    s = spans[k].start
    if _TITLE_NOUN_RE.search(text[max(0, s - 40): s - 1]):
        return True
    for j in (k - 1, k + 1):
        if 0 <= j < len(spans):
            first, second = (spans[j], spans[k]) if j < k else (spans[k], spans[j])
            gap = text[first.end + 1: second.start - 1] if second.start - 1 > first.end else ""
            listed = (text[first.start: first.end].rstrip().endswith(",") and not gap.strip("\"”“„«» ")
                      ) or _LIST_GAP_RE.match(gap)
            other = text[spans[j].start: spans[j].end].rstrip().rstrip(",")
            if listed and _title_case(other):
                return True
    return False


def scare_quote_expr() -> pl.Expr:
    """A quote of 1 to _SCARE_MAX_WORDS words with no speaker is a scare quote (or a title,
    a nickname): the `scare_quote` column, computed again wherever a speaker is cleared."""
    return (pl.col("speaker").is_null() & (pl.col("quote").str.count_matches(r"\S+") <= _SCARE_MAX_WORDS)).alias(
        "scare_quote")


def extract_quotes(paragraphs: pl.DataFrame, resolved_mentions: pl.DataFrame) -> pl.DataFrame:
    """Quotes with speakers for one batch of articles.

    paragraphs: article_id, paragraph_index, text, kind (boilerplate rows are skipped).
    resolved_mentions: output of newsetl.transforms.entities.resolve_mentions (article_id,
    paragraph_index, start_char, end_char, text, label, entity_id, entity_name); raw NER
    mentions without entity_id/entity_name also work (speaker ids are then null).
    """
    out: dict[str, list] = {c: [] for c in QUOTE_SCHEMA if c != "scare_quote"}
    pars_df = paragraphs
    if "kind" in pars_df.columns:
        pars_df = pars_df.filter(pl.col("kind").is_null() | (pl.col("kind") != "boilerplate"))
    pars_df = pars_df.filter(pl.col("text").is_not_null()).sort("article_id", "paragraph_index")
    if pars_df.height == 0:
        return _quote_frame(out)

    ments: dict[str, list[_Mention]] = {}
    if resolved_mentions is not None and resolved_mentions.height:
        cols = resolved_mentions.columns
        m_df = resolved_mentions.select(
            "article_id", "paragraph_index", "start_char", "end_char", "text", "label",
            (pl.col("entity_id") if "entity_id" in cols else pl.lit(None, pl.String)).alias("entity_id"),
            (pl.col("entity_name") if "entity_name" in cols else pl.lit(None, pl.String)).alias("entity_name"),
        ).sort("article_id", "paragraph_index", "start_char")
        for a, p, s, e, t, lab, eid, ename in m_df.iter_rows():
            if p is None or s is None or e is None:
                continue
            ments.setdefault(a, []).append(_Mention(p, s, e, t or "", (lab or "").upper(), eid, ename))

    art_ids = pars_df.get_column("article_id").to_list()
    idxs = pars_df.get_column("paragraph_index").to_list()
    texts = pars_df.get_column("text").to_list()
    start, n = 0, len(art_ids)
    while start < n:
        end = start
        while end < n and art_ids[end] == art_ids[start]:
            end += 1
        _article_quotes(art_ids[start], list(zip(idxs[start:end], texts[start:end])), ments.get(art_ids[start], []), out)
        start = end
    return _quote_frame(out)


def _quote_frame(out: dict[str, list]) -> pl.DataFrame:
    schema = {c: t for c, t in QUOTE_SCHEMA.items() if c != "scare_quote"}
    return pl.DataFrame(out, schema=schema).with_columns(scare_quote_expr()).select(list(QUOTE_SCHEMA))
