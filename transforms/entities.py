"""Canonical entities: resolve NER mentions to stable entity ids (issues #3 and #11).

Four steps, all pure (no I/O, no logging):

* `name_key` folds spelling variants ("Kim Jong-un", "Kim Jong Un", "KIM JONG UN") to
  one key; `entity_id_for` turns a (label, canonical name) into a stable id.
* `resolve_mentions` works article by article (the logic is sequential: a short form
  goes to the full name mentioned before it) and adds `entity_id` and `entity_name`.
* `link_to_known` links bare surnames in articles that never give the full name to the
  one known full-name person of that surname, ORG acronyms to the one known ORG they
  spell (variant long forms of one organisation that share its acronym, "Office of" /
  "Office for National Statistics", to the most named: rule 6c), an ORG written as a
  known organisation's name to it, and a team written alone
  ("Mariners") to the one known team of a place ("Seattle Mariners"; the caller picks
  the candidates).
* `build_entities` aggregates landed mentions into one row per entity with native
  Polars expressions; one label per entity by vote over its mentions.

Entity ids (issue #11): one name, one entity, whatever label NER gave each mention.
    "E" + first 16 hex digits of sha1(namespace "|" key), where
    * COUNTRY|<ISO 3166 alpha-2> for a country named any way (see `country_code`):
      "US", "U.S.", "USA", "United States", "United States of America" and "America"
      are one entity; reference data is pycountry's ISO 3166-1 table (names, official
      and common names) plus the everyday English forms ISO does not list (`_NEWS_COUNTRY`);
    * DEMONYM|<ISO alpha-2> for a demonym ("American", "Americans"): its own NORP
      entity, not merged into the country. It carries its country by the same-key
      scheme: `demonym_country(name)` gives the ISO code and `country_entity_id(code)`
      the country's id (pycountry has no demonyms, so they are a table here);
    * NAME|<name key> for every other name. A key folds a plural ending on its last
      word when the name has two or more words ("Liberal Democrats" -> "liberal
      democrat") or is one word for a group of people (`_GROUP_PLURALS`: "Tories" ->
      "tory", "Conservatives" -> "conservative"); not other one-word names, since a
      name and its plural can be two entities ("Time" and "Times"). The fold does not
      look at the label, so NER's choice between NORP, ORG, GPE, ... for "Liberal
      Democrats", "Six Nations" or "Commons" does not split the entity. Names not
      tagged PERSON drop trailing legal-form words and the "and" before them
      ("Microsoft Corp." -> "microsoft", "Smith and Co Inc" -> "smith").
    The label is not part of the id, so "Bush" tagged PERSON in one article and ORG in
    another is one entity whose `label` is the majority label of its mentions (each
    mention keeps its own label). Different people are still kept apart by their full
    names (the id of a full name is its key); a label only decides the id for the
    country/demonym tables, which never take a PERSON-labelled mention ("Jordan").

Resolution rules inside one article (mentions in paragraph/character order):

0. A capitalised sentence-initial function word glued to a name ("Once Ford", "When
   Obama") is trimmed off the span: the mention's `text` and `start_char` change.
   PERSON spans are always trimmed; others only when the rest is named elsewhere in
   the article ("Under Armour" stays whole unless "Armour" is mentioned alone).
   Participles used as prepositions count ("Excluding Brazil", "Including ...").
0b. A name glued to an adjective-forming participle ("Houston-based", "Oslo-born",
   "U.S.-led", "Acme-owned") is trimmed to the name: `text` and `end_char` change, and
   a NORP tag becomes GPE (NORP when the rest is a demonym: "British-born"). People's
   spans are never trimmed at the end.
0c. A span glued across a spaced dash or an unclosed bracket ("Alastair Campbell - we",
   "UK - and", "Kefu (Aus", "Ryan) Giggs") keeps one side, the name (`_split_cuts`):
   `text`, `start_char` and `end_char` change. Titles are left whole.
0d. A stock ticker after a company's legal form ("Pennzoil Co PZL", "Cetus Corp CTUS":
   wire copy) is trimmed off: `text` and `end_char` change.
0e. In an article whose text has no apostrophe at all, a span NER glued across a
   possessive that lost its apostrophe ("Japans Honda", "Oxfams Barbara Stocking", "Acme
   Corps Acme World Airways"; see rule 1c) keeps the name after it: `text` and
   `start_char` change (`_possessive_cuts`).
1. Surface forms are cleaned: whitespace collapsed, wrapping punctuation and possessive
   endings ('s, ’s, trailing ' or ’) removed, a leading lowercase "the" dropped, and for
   PERSON a leading honorific ("Mr.", "President", ...) dropped.
1b. A one-word PERSON span written right after a royal title ("Prince", "Princess",
   "King", "Queen", "Pope") is named with it, as a span that holds the title is: "Prince
   Andrew", not "Andrew" (needs the sentence: `s_text`, `s_start`). The span is unchanged.
1c. In an article whose text has no apostrophe at all (text that lost them, as an
   ASCII fold drops a curly one: "Texacos stock rose"), a name that is another person's,
   organisation's or place's name of the article, or a country, with an "s" added
   ("Texacos" after "Texaco Inc", "Randols" after "William Randol", "BBCs", "Chinas") is
   that name's possessive: named and labelled as that name. Not after "the" ("the
   Oscars"), not a group of people, a demonym or an industry word (`_lost_possessives`).
   The span is unchanged.
2. PERSON names of two or more tokens are "full names"; the ones with the same
   `name_key` form one entity.
3. A PERSON mention whose tokens are a subset of a full name's tokens ("Trump",
   "Kim", "Jong Un") is a short form of it. A bare word goes first to the full names
   that have it as their surname ("Thomas" -> "Clarence Thomas", not "Thomas Jones");
   only when none does, to a full name that has it elsewhere ("Tony"). Among several
   fits, the one mentioned most recently before it wins; when none was mentioned
   before (a headline that uses the surname first), the first one mentioned after it.
3b. A full name written with a first initial ("G Easterby", "R. de Marigny") is a form
   of the article's one other full name of that surname whose first name starts with
   that letter ("Guy Easterby"); with two such names ("Gordon Brown", "Graham Brown") or
   none it is a person of its own (`link_to_known` does the same across articles).
4. Label conflicts: a mention tagged ORG/GPE/LOC/NORP/FAC/PRODUCT/WORK_OF_ART/EVENT
   whose tokens are a subset of a PERSON name in the same article ("Kim" tagged ORG)
   becomes that PERSON (its `label` column is rewritten; the NER label is kept in
   `ner_label`).
5. Spans that are not one person's full name: "Trump-Kim" (two people named elsewhere
   in the article) gets a null entity_id; "Putin Wants" (a headline verb glued to a
   known surname: the second word is a common headline verb, `_HEADLINE_VERBS`) is a
   form of "Vladimir Putin". Two full names that share a word are never merged
   ("Scott Adams" and "Tom Scott" stay two people).
6. Acronyms: an all-caps ORG mention ("UN", "NATO") links to the one ORG in the
   article whose initials spell it ("United Nations"; initials of capitalised words
   only, so "e-University" spells no "EU"), a GPE/LOC one to the one place; when its
   own kind has no candidate, the other kind ("NCCI" tagged GPE -> an ORG). An acronym
   tagged NORP ("IMF") links only to an ORG and becomes ORG. With several candidates,
   or for a country's own abbreviation ("US", "UK": the country table), it stays its
   own entity. A US state written as wire copy abbreviates it ("Columbia, S.C.",
   "Calif."; `us_state`, the AP list with ISO 3166-2 names) is that state, in any
   article.
6b. Defined abbreviations: an all-caps mention written in parentheses right after a
   name ("W.R. Grace (GRA)", "Ashland Oil Inc (ASH)", "Securities and Exchange
   Commission (SEC)") is that name wherever the article uses it, when its letters occur
   in the name in order, the first one starting a word (Schwartz & Hearst 2003: tickers
   and abbreviations that are not plain initials). The name is an organisation then,
   even if NER tagged it PERSON or NORP. Needs the sentence (`s_text`, `s_start`).
7. Company short forms: a bare company name ("Kinross") and the one ORG of the article
   that is that name followed only by industry words and a legal form ("Kinross Gold
   Corp", "Acme Oil and Gas Inc", "Harbour Bank of Canada"; `_ORG_DESCRIPTORS`) are one
   entity, with the short form's name and id; so are a party and its name ("Labour
   Party", "Labour"), and a company's name without its legal form ("Noranda" of "Noranda
   Inc"). The short form may be tagged NORP or PERSON (not when it is part
   of a person's name in the article, nor a person a party is named after). Not joined: a
   name-like word after the head ("Apple Insider", "Sony Pictures"), a head that itself
   ends in an industry word ("Deutsche Bank" / "Deutsche Bank Securities"), a short form
   with its own legal form ("News Corp"), a country or demonym as the head ("British"),
   two ORGs with one head.
7b. A name and its qualified form: a one-word ORG that is the last word of the one longer
   ORG of the article ending in it ("United" after "Manchester United", "Commission"
   after "European Commission", "Milan" after "AC Milan") is that ORG, with the long
   form's name and id (the bare word is ambiguous across articles: "United" is also
   Dundee United and United Airlines). Not joined: a phrase ("Queen of the Sky"), a
   variant ("New Labour", "Shadow Treasury"), a part of another organisation ("BBC
   Liverpool"), a hyphenated pair ("Derby-Fulham"), two longer ORGs ending in the word.
7c. Clipped names: an ORG or NORP mention whose words are the first letters of the words
   of the one longer ORG or NORP name of the article it fits ("Lib Dems" / "Liberal
   Democrats", "Fed" / "Federal Reserve", "West Brom" / "West Bromwich Albion"; `clips`)
   is that name, with the long form's name and id; each mention keeps its label. A
   one-word clip must be tagged ORG and have at most five letters ("Brits" is a group of
   people, "Congress" no clip of "Congressional Budget Office"); a legal form ("CNA Inc")
   and a name written with its article ("The Sun") clip nothing.
7d. The head of a name: a one-word ORG that is the first word of the one ORG of the
   article named "<head> of <name>" ("the Bank" after "Bank of England", "Hearts" after
   "Hearts of Oak") is that ORG, with its name and id; not when another ORG of the article
   ends in the word ("Deutsche Bank") or also starts with it ("House of Commons" and
   "House of Lords").
8. Country qualifiers: an ORG written with a leading country or its possessive ("U.S.
   Treasury", "Japan's Finance Ministry") and the ORG of the same article written
   without it ("Treasury") are one entity, with the short form's name and id. Never
   guessed across articles ("US Government" and "UK Government" are two; `link_to_known`
   follows only the forms an article joined), and not for company names that start with
   a country ("Canada Gold Corp", "US Steel").
A clip written alone in another article is linked to the entity some article wrote it
next to (its aliases) by `link_to_known`.
Rules 7 and 8 keep the short form's id because it is what other articles write alone:
"Kinross" in an article that never spells it out is the same entity. An article that
writes only the long form is linked across articles by `link_to_known` when the corpus
names that entity by its short form.

The entity id comes from the canonical full name's key, so an article that says
"Kim Jong Un" and another that says "Kim Jong-un" (and then "Kim") give one id. A
one-letter middle initial is not part of a person's id ("Donald J. Trump" and "Donald
Trump" are one entity); two initials are ("George H. W. Bush" is not "George W. Bush").
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from typing import NamedTuple

import polars as pl

__all__ = [
    "name_key",
    "clean_name",
    "label_group",
    "entity_id_for",
    "country_code",
    "demonym_country",
    "country_entity_id",
    "demonym_entity_id",
    "trim_span",
    "resolve_mentions",
    "build_entities",
    "entity_counts",
    "sum_entity_counts",
    "entities_from_counts",
    "ENTITY_COUNT_SCHEMA",
    "APOSTROPHE_PATTERN",
    "link_to_known",
]

# GPE and LOC are confused by every small NER model ("North Korea" is either), so they
# share an id space; every other OntoNotes label is its own group.
_LABEL_GROUPS = {"GPE": "PLACE", "LOC": "PLACE"}

# Labels that a bare surname is commonly mis-tagged with by en_core_web_sm.
_RELABEL_FROM = {"ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "WORK_OF_ART", "EVENT", "MISC"}

# A span that starts with a personal honorific and a capitalised name is a person whatever
# NER called it (BBC: "Mr Cable" ORG, "Ms Druyun" NORP, "Lord Archer" GPE; "President
# Trump" NORP on web pages): one or two name words after "Mr", "Mrs", "Ms", "Miss", "Mx",
# "President", "Senator", "Sen", "Rep", "Gov" or "Gen", one after "Sir", "Dame", "Lord"
# or "Lady" ("Lord Howe Island" is a place), never an office ("Lord Chancellor", "Lord
# Chief Justice") and never "Dr" ("Dr Pepper", "Dr Martens" are brands).
_HONORIFIC_RE = re.compile(
    r"^(?:(?:Mr|Mrs|Ms|Miss|Mx|President|Senator|Sen|Rep|Gov|Gen)\.?\s+{w}(?:\s+{w})?"
    r"|(?:Sir|Dame|Lord|Lady)\s+(?!(?:Chancellor|Chief|Justice|Mayor|Provost|Advocate|President|Speaker|"
    r"Lieutenant|Chamberlain|Protector|Privy|High)\b){w})$".format(w=r"[A-Z][A-Za-z'’-]*[a-z]")
)

# Labels that stand for the model's doubt about what a name is: the shipped NER's NORP (its
# training gave CoNLL MISC names it could not type that label) and MISC (models with CoNLL /
# WikiNER labels). The label rules read them alike.
DOUBT_LABELS = ("NORP", "MISC")

# Titles of works keep their label ("Miss Saigon", the musical).
_HONORIFIC_RELABEL = {"ORG", *DOUBT_LABELS, "GPE", "LOC"}

# Generational suffixes: "Donald Trump Jr." is not a longer form of "Donald Trump".
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}

_APOSTROPHES = "'’‘`´ʼ"
_HYPHENS = "-‐‑‒–—―"
_WORD_PART = rf"[^\s{re.escape(_HYPHENS)}]+"  # a word, or each part of a hyphenated one ("Kim Jong-un": 3)
_POSSESSIVE_RE = re.compile(r"(?:['’ʼ][sS]|(?<=[sSzZ])['’ʼ])$")
# A possessive inside a name, before a capitalised word: "Arsenal's Edu", "Ladbrokes' Warren
# Lush". The "'" alone only after an "s" (a plural's possessive): "Dunkin' Donuts", "Lil'
# Kim" and "O'Malley Group" have none. A space before the apostrophe: CoNLL's tokens
# ("Dravec 's Party"). Used by entities rule 7e and ner._possessive_glue.
INNER_POSSESSIVE_RE = re.compile(r"(?:\s?['’]s\b|(?<=[sS])\s?['’])(?=\s+[A-Z0-9])")
# Currency signs are wrapping too: NER glues them to the name before an amount ("Labour £"),
# but not one glued to a capital: "A$", "US$" (CoNLL-2003 tags them MISC) name a currency.
_WRAP_RE = re.compile(r"^[\s\"“”'‘’«»()\[\]{},;:.!?]+|(?:[\s\"“”'‘’«»()\[\]{},;:!?]|(?<![A-Z])[£$€¥])+$")
_SPACE_RE = re.compile(r"\s+")
# Honorifics that NER sometimes includes in a PERSON span ("President Joe Biden").
# One title and the space after it; the pattern below is a run of them at a name's start.
_ONE_TITLE = (
    r"(?:(?:mr|mrs|ms|miss|dr|prof|sir|dame|lord|lady|president|president-elect|"
    r"vice\s+president|prime\s+minister|chancellor|sen|senator|rep|representative|congressman|"
    r"congresswoman|gov|governor|gen|"
    r"general|col|colonel|capt|captain|king|queen|prince|princess|pope|"
    r"supreme\s+leader|leader|minister|secretary|judge|justice|mayor)\.?\s+)"
)
_TITLE_PATTERN = "^" + _ONE_TITLE + "+"
_TITLE_RE = re.compile(_TITLE_PATTERN, re.IGNORECASE)
# A monarch, royal or pope named by one word after the title is named by a given name
# ("Prince Charles", "Queen Rania", "Pope Francis"): the title stays in the name, so the
# word is no surname to link elsewhere ("Ray Charles").
_ROYAL_TITLES = frozenset("king queen prince princess pope".split())
# Words skipped when forming an organisation's initials ("Bank of England" -> BOE/BE).
_INITIALS_STOP = {"of", "the", "and", "for", "in", "on", "at", "to", "&", "de", "du", "la"}


@functools.lru_cache(maxsize=1 << 16)  # pure, called per mention: syndicated copies repeat names
def name_key(name: str) -> str:
    """Spelling-variant key for a name: equal keys mean "the same name".

    Casefolded, diacritics stripped, a final possessive "'s" dropped, a free-standing "&"
    read as "and", a "$" glued to a letter read as "dollar" ("US$" -> "us dollar": a
    currency, not the country), apostrophes and dots removed, hyphens and any other
    punctuation turned into spaces, runs of single letters joined ("J. R. R." -> "jrr",
    "U.S." -> "us" == "US"), a leading "the" dropped, whitespace collapsed.
    Idempotent: name_key(name_key(x)) == name_key(x).
    """
    s = unicodedata.normalize("NFKD", name or "")
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold()
    # Dots and apostrophes join ("U.S." -> "us", "O'Brien" -> "obrien"); every other
    # non-alphanumeric character separates tokens.
    s = re.sub(r"['’ʼ]s$", "", s.strip())  # possessive: "Trump’s" keys like "Trump"
    s = re.sub(r"(?<=\s)&(?=\s)", "and", s)  # "Marks & Spencer" == "Marks and Spencer" (not "AT&T")
    s = re.sub(r"(?<=[a-z])\$", " dollar ", s)  # "US$" is the US dollar, not the US
    s = re.sub(r"[.'’‘`´ʼ]", "", s)
    s = re.sub(r"[\W_]+", " ", s)
    tokens = s.split()
    merged: list[str] = []
    run: list[str] = []
    for tok in tokens:
        if len(tok) == 1 and tok.isalpha():
            run.append(tok)
            continue
        if run:
            merged.append("".join(run))
            run = []
        merged.append(tok)
    if run:
        merged.append("".join(run))
    while len(merged) > 1 and merged[0] == "the":
        merged = merged[1:]
    return " ".join(merged)


def label_group(label: str | None) -> str:
    """GPE and LOC as one "PLACE" group, every other label itself. No longer part of the
    entity id (see the module docstring); kept for callers that group labels."""
    label = (label or "").upper()
    return _LABEL_GROUPS.get(label, label)


# --- countries and demonyms -------------------------------------------------------------
# Everyday English names of countries that ISO 3166-1 (pycountry) does not list, and the
# abbreviations news writes for them. ISO alpha-2/alpha-3 codes in general are not used:
# "LA", "IN", "IT", "AND", "CAN" are ordinary words or other places far more often.
_NEWS_COUNTRY = {
    "US": "US", "U.S.": "US", "USA": "US", "U.S.A.": "US", "America": "US",
    "UK": "GB", "U.K.": "GB", "Britain": "GB", "Great Britain": "GB",
    "Russia": "RU", "Turkey": "TR", "Czech Republic": "CZ", "Ivory Coast": "CI",
    "Vatican": "VA", "Vatican City": "VA", "Burma": "MM", "Macedonia": "MK", "Swaziland": "SZ",
    "Palestine": "PS", "East Timor": "TL", "Cape Verde": "CV", "Brunei": "BN", "Holland": "NL",
    "UAE": "AE", "U.A.E.": "AE", "DRC": "CD", "DR Congo": "CD", "Micronesia": "FM",
    "Gambia": "GM", "The Gambia": "GM", "Bahamas": "BS", "The Bahamas": "BS",
}
# Written all-caps only ("US" the country, "Us" the magazine).
_ABBREVIATIONS = {"us", "usa", "uk", "uae", "drc"}

# Demonyms (singular; pycountry has none): the people of a country, a NORP entity of its
# own that carries the country's ISO code. Ambiguous ones ("Korean", "Congolese") are left
# out; so are nations that are not ISO countries ("English", "Scottish", "Welsh").
_DEMONYMS = {
    "American": "US", "British": "GB", "Briton": "GB", "Chinese": "CN", "Russian": "RU",
    "French": "FR", "German": "DE", "Japanese": "JP", "Indian": "IN", "Pakistani": "PK",
    "Afghan": "AF", "Iranian": "IR", "Iraqi": "IQ", "Syrian": "SY", "Israeli": "IL",
    "Palestinian": "PS", "Saudi": "SA", "Egyptian": "EG", "Turkish": "TR", "Turk": "TR",
    "Greek": "GR", "Italian": "IT", "Spanish": "ES", "Spaniard": "ES", "Portuguese": "PT",
    "Dutch": "NL", "Belgian": "BE", "Swiss": "CH", "Austrian": "AT", "Polish": "PL",
    "Ukrainian": "UA", "Canadian": "CA", "Mexican": "MX", "Brazilian": "BR",
    "Argentine": "AR", "Argentinian": "AR", "Australian": "AU", "Irish": "IE",
    "Swedish": "SE", "Swede": "SE", "Norwegian": "NO", "Danish": "DK", "Dane": "DK",
    "Finnish": "FI", "Finn": "FI", "South Korean": "KR", "North Korean": "KP",
    "Vietnamese": "VN", "Thai": "TH", "Indonesian": "ID", "Filipino": "PH", "Malaysian": "MY",
    "Nigerian": "NG", "Kenyan": "KE", "South African": "ZA", "Ethiopian": "ET",
    "Sudanese": "SD", "Libyan": "LY", "Lebanese": "LB", "Jordanian": "JO", "Yemeni": "YE",
    "Cuban": "CU", "Venezuelan": "VE", "Colombian": "CO", "Chilean": "CL", "Peruvian": "PE",
    "Czech": "CZ", "Hungarian": "HU", "Romanian": "RO", "Bulgarian": "BG", "Serbian": "RS",
    "Serb": "RS", "Croatian": "HR", "Croat": "HR", "Bosnian": "BA", "Albanian": "AL",
    "Georgian": "GE", "Armenian": "AM", "Azerbaijani": "AZ", "Belarusian": "BY",
    "Qatari": "QA", "Emirati": "AE", "Kuwaiti": "KW", "Omani": "OM", "Bahraini": "BH",
    "Taiwanese": "TW", "New Zealander": "NZ", "Zimbabwean": "ZW", "Somali": "SO",
    "Algerian": "DZ", "Moroccan": "MA", "Tunisian": "TN", "Ghanaian": "GH",
    "Ugandan": "UG", "Rwandan": "RW", "Haitian": "HT", "Jamaican": "JM", "Icelandic": "IS",
    "Estonian": "EE", "Latvian": "LV", "Lithuanian": "LT", "Slovak": "SK", "Slovenian": "SI",
    "Kazakh": "KZ", "Uzbek": "UZ", "Mongolian": "MN", "Nepalese": "NP", "Sri Lankan": "LK",
    "Bangladeshi": "BD", "Burmese": "MM", "Cambodian": "KH", "Singaporean": "SG",
    "Cypriot": "CY", "Poles": "PL",  # "Pole" alone is too often a pole
    "Frenchman": "FR", "Frenchmen": "FR", "Frenchwoman": "FR", "Frenchwomen": "FR",
    "Dutchman": "NL", "Dutchmen": "NL", "Dutchwoman": "NL", "Dutchwomen": "NL",
    "Irishman": "IE", "Irishmen": "IE", "Irishwoman": "IE", "Irishwomen": "IE",
}
# Demonyms whose plural is the same word ("the Chinese", "the Swiss").
_SAME_PLURAL = ("ese", "ish", "ch", "ss")
_NOT_PERSON = "PERSON"


# US states as US wire copy abbreviates them after a city ("Columbia, S.C.", "Austin,
# Texas"; the AP stylebook's list). Each is a dotted form, so no ordinary word or acronym
# matches ("Mass." is, "Mass" is not). The full names are ISO 3166-2 subdivision names
# (pycountry; checked in the tests). Left out: "N.Y." and "Wash.", whose full names are
# more often the cities of New York and Washington.
_US_STATE_AP = {
    "Ala.": "US-AL", "Ariz.": "US-AZ", "Ark.": "US-AR", "Calif.": "US-CA", "Colo.": "US-CO",
    "Conn.": "US-CT", "Del.": "US-DE", "Fla.": "US-FL", "Ga.": "US-GA", "Ill.": "US-IL",
    "Ind.": "US-IN", "Kan.": "US-KS", "Ky.": "US-KY", "La.": "US-LA", "Md.": "US-MD",
    "Mass.": "US-MA", "Mich.": "US-MI", "Minn.": "US-MN", "Miss.": "US-MS", "Mo.": "US-MO",
    "Mont.": "US-MT", "Neb.": "US-NE", "Nev.": "US-NV", "N.H.": "US-NH", "N.J.": "US-NJ",
    "N.M.": "US-NM", "N.C.": "US-NC", "N.D.": "US-ND", "Okla.": "US-OK", "Ore.": "US-OR",
    "Pa.": "US-PA", "R.I.": "US-RI", "S.C.": "US-SC", "S.D.": "US-SD", "Tenn.": "US-TN",
    "Vt.": "US-VT", "Va.": "US-VA", "W.Va.": "US-WV", "Wis.": "US-WI", "Wyo.": "US-WY",
}


@functools.cache
def _us_state_names() -> dict[str, str]:
    import pycountry  # reference data only (ISO 3166-2 subdivision names)

    return {form: pycountry.subdivisions.get(code=code).name for form, code in _US_STATE_AP.items()}


@functools.cache
def _us_state_keys() -> frozenset[str]:
    import pycountry  # reference data only (ISO 3166-2 subdivision names)

    return frozenset(name_key(s.name) for s in pycountry.subdivisions.get(country_code="US"))


def state_or_country(text: str) -> bool:
    """`text` names a US state (in full or as AP abbreviates it) or a country: what news
    writes after a town's name ("Hartford, Conn.", "Dover, Delaware", "Lyon, France")."""
    return bool(us_state(text, "GPE") or name_key(text) in _us_state_keys() or country_code(text, "GPE"))


# Abbreviations wire copy also writes without the dot ("Nashville, Tenn"); only those of
# four letters or more that are no English word ("Mass", "Miss", "Mont" are), and only
# for a mention tagged as a place.
_US_STATE_UNDOTTED = frozenset("Ariz Calif Colo Conn Mich Minn Okla Tenn".split())


def us_state(name: str, label: str | None = None) -> str | None:
    """The full name of the US state `name` abbreviates in AP style ("S.C." -> "South
    Carolina"; "S.C" too, a sentence's full stop having taken the last dot; "Tenn" when
    `label` is GPE or LOC), else None."""
    if not name:
        return None
    table = _us_state_names()
    if "." not in name:
        undotted = name in _US_STATE_UNDOTTED and (label or "").upper() in ("GPE", "LOC")
        return table.get(name + ".") if undotted else None
    return table.get(name) or (table.get(name + ".") if "." in name[:-1] else None)


def _strip_parts(name: str) -> list[str]:
    """ISO names as news writes them: "Iran, Islamic Republic of" -> "Iran" and
    "Islamic Republic of Iran"; "Holy See (Vatican City State)" -> both parts."""
    out = [name]
    m = re.fullmatch(r"(.+?)\s*\((.+)\)", name)
    if m:
        out = [m.group(1)] + ([m.group(2)] if m.group(2)[:1].isupper() and "part" not in m.group(2) else [])
    more = []
    for n in out:
        if ", " in n:
            base, rest = n.split(", ", 1)
            more.append(base)
            if rest.endswith(" of") or rest.endswith(" of the"):
                more.append(f"{rest} {base}")
    return out + more


@functools.cache
def _country_table() -> dict[str, str]:
    """name key -> ISO 3166-1 alpha-2, from pycountry plus `_NEWS_COUNTRY`.

    Exact ISO names win over forms derived by `_strip_parts`; a derived form that two
    countries share ("Korea", "Virgin Islands") maps to neither."""
    import pycountry  # reference data only (ISO 3166-1 with common and official names)

    exact: dict[str, str] = {}
    derived: dict[str, set[str]] = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            val = getattr(c, attr, None)
            if not val:
                continue
            exact.setdefault(name_key(val), c.alpha_2)
            for form in _strip_parts(val)[1:]:
                derived.setdefault(name_key(form), set()).add(c.alpha_2)
    table = {k: next(iter(v)) for k, v in derived.items() if len(v) == 1}
    table.update(exact)
    table.update({name_key(k): v for k, v in _NEWS_COUNTRY.items()})
    return table


@functools.cache
def _demonym_table() -> dict[str, str]:
    table = {}
    for name, code in _DEMONYMS.items():
        table[name_key(name)] = code
        if not name.endswith(_SAME_PLURAL):
            table[name_key(name + "s")] = code
    return table


# Groups of people that are no country's: nations without an ISO code, regions' and
# continents' peoples, religions, parties and their members, ethnic groups (reference words,
# as the demonyms above are). With the demonyms, the countries and `_PEOPLE_SHAPE_RE` they
# tell a NORP that names people from the shipped model's other NORP, CoNLL's MISC names it
# could not type ("PC", "GMT", "Six Nations", "Windows"): `names_people`.
_PEOPLE_WORDS = frozenset("""
    english englishman englishmen scots scotsman scotsmen welsh welshman welshmen cornish manx
    western westerner westerners eastern soviet soviets baltic nordic
    tory tories conservative conservatives labour democrat democrats democratic republican republicans
    liberal liberals lib dem dems whig whigs green greens nazi nazis communist communists socialist socialists unionist
    unionists nationalist nationalists loyalist loyalists
    muslim muslims moslem moslems jew jews jewish catholic catholics protestant protestants hindu hindus
    sikh sikhs christian christians islam islamic orthodox anglican anglicans mormon mormons sunni sunnis
    shia shias shiite shiites evangelical evangelicals baptist baptists amish coptic copt copts druze
    alawite alawites yazidi yazidis semitic
    hutu hutus tutsi tutsis kurd kurds kurdish pashtun pashtuns uighur uighurs uyghur uyghurs rohingya
    roma romany bedouin bedouins berber berbers maori maoris aborigine aborigines aboriginal inuit tamil
    tamils sinhalese tatar tatars chechen chechens basque basques catalan catalans cossack cossacks zulu
    zulus xhosa hispanic hispanics latino latinos latina latinas arab arabs persian persians slav slavs
    slavic celt celts celtic gypsy gypsies traveller travellers sephardic ashkenazi
""".split())
# The endings of a people's or a follower's word ("Californian", "Scandinavian",
# "Cantonese", "Cornish", "Islamist", "Blairite"); not "-man" ("Walkman"; "Frenchman" is a
# demonym above) and not "-ic" ("Titanic"; "Islamic" is a word above).
_PEOPLE_SHAPE_RE = re.compile(r"^(?=.{5})[A-Z][a-z]+(?:ians?|eans?|[^m]ans?|ese|ish|ists?|ites?)$")
_NAME_PARTS_RE = re.compile(r"[\s\-‐‑–—]+")


@functools.lru_cache(maxsize=1 << 14)  # pure; asked once per NORP name of each article
def names_people(name: str) -> bool:
    """Whether `name` reads as a NORP should: a people, a nation, a religious or political
    group or its members ("Welsh", "Tories", "Liberal Democrats", "Asians", "pro-Israeli",
    "Anglo-Dutch", "Scandinavian"). A country's name or demonym in any word counts, and so
    does a `_PEOPLE_WORDS` word; the last word may instead have a people's ending."""
    parts = [p for p in _NAME_PARTS_RE.split(name.strip()) if p]
    if not parts:
        return False
    if people_or_country(name) or any(p.lower() in _PEOPLE_WORDS or people_or_country(p) for p in parts):
        return True
    return bool(_PEOPLE_SHAPE_RE.match(parts[-1]))


# People's words that CoNLL-2003 train also writes inside a person's name ("Christian
# Slater", "Dawn French"): rule 5 of ner._harmonise leaves them to the model. Made by
# scripts/people_words_in_names.py.
_PEOPLE_WORDS_IN_NAMES = frozenset({"christian", "finn", "green", "islam"})


def people_word(word: str, names: bool = True) -> bool:
    """A one-word name that is a people's word: a demonym ("Irish", "Scots", "Welshman") or a
    `_PEOPLE_WORDS` word ("Tory", "Tories"), and (`names`) not one that train data also
    writes in a person's name (`_PEOPLE_WORDS_IN_NAMES`: "Christian", "Green")."""
    if not word[:1].isupper() or not word.isalpha():
        return False
    if names and word.lower() in _PEOPLE_WORDS_IN_NAMES:
        return False
    return word.lower() in _PEOPLE_WORDS or bool(demonym_country(word, "NORP"))


def people_or_country(name: str) -> bool:
    """A country's name, its plural or a demonym ("Swiss", "Americans", "Britains")."""
    return bool(demonym_country(name, "NORP") or _names_country(name_key(name)))


@functools.lru_cache(maxsize=1 << 16)  # pure, called per mention: syndicated copies repeat names
def country_code(name: str, label: str | None = None) -> str | None:
    """ISO 3166-1 alpha-2 code when `name` names a country ("U.S." -> "US"), else None.

    Never for a PERSON-labelled mention ("Jordan", "Chad"); abbreviations only when
    written in capitals ("US", not the "Us" of a magazine title); names must start
    with a capital letter."""
    if (label or "").upper() == _NOT_PERSON or not name or not name[:1].isupper():
        return None
    key = name_key(name)
    if key in _ABBREVIATIONS and not name.replace(".", "").isupper():
        return None
    return _country_table().get(key)


def demonym_country(name: str, label: str | None = None) -> str | None:
    """ISO alpha-2 code of the country of a demonym ("Americans" -> "US"), else None."""
    if (label or "").upper() == _NOT_PERSON or not name or not name[:1].isupper():
        return None
    return _demonym_table().get(name_key(name))


# Listed companies (rule 2b of ner._harmonise): the members of the major stock indices as
# pytickersymbols lists them (reference data, as pycountry is for countries), under the
# short forms news writes them in ("Amazon", "Airbus", "Lowe's", "Lockheed Martin").
# The large-cap benchmark of each market it covers (not the mid and small caps of MDAX,
# SDAX, TecDAX, CAC Mid 60, S&P 600: names too obscure to stand alone in news).
_COMPANY_INDICES = ("DOW JONES", "S&P 100", "S&P 500", "NASDAQ 100", "FTSE 100", "DAX", "CAC_40",
                    "EURO STOXX 50", "IBEX 35", "AEX", "BEL 20", "Switzerland 20", "OMX Stockholm 30",
                    "OMX Helsinki 25", "NIKKEI 225")
# Words after a company's name that news leaves out ("Boeing Company", "Orange SA"),
# besides the legal forms of _LEGAL_SUFFIXES.
_COMPANY_TAIL = frozenset("company companies group holding holdings se nv sa a/s".split())
# Short forms that do not stand for their company alone: in the train splits (CoNLL-2003
# train's gold entities, NewsMTSC train's sentences) they are a person's or a place's name
# at least once, written in lower case as a word at least as often as capitalised, or
# (several words) start with a given name. Made by scripts/company_names.py.
_COMPANY_FORMS_NOT_ALONE = frozenset({
    "arm", "arthur j gallagher", "arthur j gallagher and co", "ball", "block", "campbell",
    "charles river laboratories", "charles schwab", "charles schwab corporation", "cooper",
    "devon energy", "evolution", "fox", "henry schein", "investor", "j front retailing",
    "jack henry and associates", "john deere", "k line", "kimberly clark",
    "martin marietta materials", "match", "news", "next", "partners",
    "philip morris international", "phoenix", "pool", "progressive", "raymond james financial",
    "roche", "ross stores", "screen", "sharp", "shift", "simon property",
    "simon property group", "southern", "t mobile us", "t rowe price", "target", "visa",
    "waters", "williams",
})


def _company_forms(name: str) -> set[str]:
    """Short forms of a listed company's name: "The Boeing Company" -> "Boeing Company",
    "Boeing"; "Netflix, Inc." -> "Netflix"."""
    name = re.sub(r"\s*\(.*?\)\s*$", "", name).replace(",", " ")
    words = name.split()
    if len(words) > 1 and words[0].casefold() == "the":
        words = words[1:]
    return {" ".join(w) for w in [words, *legal_form_cuts(words, _COMPANY_TAIL | _LEGAL_SUFFIXES)]}


@functools.cache
def _company_candidates() -> dict[str, str]:
    """name key -> listed company name, for every short form that is no country, demonym
    or US state, and that two companies do not share."""
    from pytickersymbols.indices_data import INDICES  # reference data only (index members)

    seen: dict[str, set[str]] = defaultdict(set)
    for index in _COMPANY_INDICES:
        for company in INDICES.get(index, {}).get("companies", ()):
            for form in _company_forms(company["name"]):
                seen[name_key(form)].add(company["name"])
    return {key: next(iter(names)) for key, names in seen.items()
            if len(names) == 1 and len(key) > 1 and key not in _country_table()
            and key not in _demonym_table() and key not in _us_state_keys()}


@functools.cache
def _company_table() -> dict[str, str]:
    return {k: v for k, v in _company_candidates().items() if k not in _COMPANY_FORMS_NOT_ALONE}


def listed_company(name: str) -> str | None:
    """The listed company `name` stands for on its own ("Amazon" -> "Amazon", "McDonald's"
    -> "McDonald's"), else None. Only names written with a capital letter."""
    if not name or not name[:1].isupper():
        return None
    return _company_table().get(name_key(name))


def _hash_id(namespace: str, key: str) -> str:
    return "E" + hashlib.sha1(f"{namespace}|{key}".encode("utf-8")).hexdigest()[:16]


def country_entity_id(code: str) -> str:
    """The entity id of the country with ISO alpha-2 `code`."""
    return _hash_id("COUNTRY", code.upper())


def demonym_entity_id(code: str) -> str:
    """The entity id of the demonym (NORP) of the country with ISO alpha-2 `code`."""
    return _hash_id("DEMONYM", code.upper())


@functools.cache
def _country_of_id() -> dict[str, str]:
    """entity id -> ISO alpha-2 for every id a country or its demonym can have."""
    codes = set(_country_table().values()) | set(_demonym_table().values())
    out = {country_entity_id(c): c for c in codes}
    out.update({demonym_entity_id(c): c for c in codes})
    return out


def country_ids() -> pl.DataFrame:
    """(entity_id, country_code) of every id a country or a demonym can have."""
    table = _country_of_id()
    return pl.DataFrame({"entity_id": list(table), "country_code": list(table.values())},
                        schema={"entity_id": pl.String, "country_code": pl.String})


def country_of_entity() -> pl.Expr:
    """`country_code` of the `entity_id` column: the ISO 3166-1 alpha-2 code of the country
    an entity is ("US" for "U.S.", "America", ...) or whose people it names ("US" for the
    NORP entity "American"), else null. Read off the id, which these entities take from
    the code."""
    return pl.col("entity_id").replace_strict(_country_of_id(), default=None, return_dtype=pl.String)


# Plural endings of words for groups of people ("Tories", "Republicans", "Democrats",
# "Conservatives", "Socialists", "Blairites", "Muslims"): a one-word name with one of these
# endings keys like its singular. Other one-word names keep their plural: a name and its
# plural can be two entities ("Time" and "Times", "William" and "Williams").
_GROUP_PLURALS = ("ies", "ans", "ats", "ives", "ists", "ites", "ims")


def _fold_plural(key: str) -> str:
    """Plural ending of the last word off ("tories" -> "tory", "democrats" -> "democrat")."""
    toks = key.split()
    if not toks:
        return key
    last = toks[-1]
    if len(last) > 4 and last.endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    return " ".join(toks[:-1] + [last])


# Legal-form words that end company names ("Microsoft Corp.", "Paxar Corp", "Niugini
# Mining Ltd"): a name with or without them is one organisation.
_LEGAL_SUFFIXES = frozenset(
    "corp corporation inc incorporated co cos ltd limited plc llc lp llp ag sa nv gmbh bhd spa ab bv oyj asa kk".split()
)


# A surface form that ends in a legal-form word after at least one other word ("Noranda
# Inc", "Southern Co", "Hoechst Celanese Corp.", "Volvo AB", "Siemens AG"; not a bare "Inc").
# Legal forms that are also names or words ("Ab", "Asa", "Spa") count only in capitals;
# whole headlines in capitals are not read (entities_from_counts).
_LEGAL_FORM_END = (r"\S\s+(?:Co|Cos|Corp|Corporation|Inc|Incorporated|Ltd|Limited|Plc|Llc|Bhd|Oyj|GmbH|"
                   + "|".join(sorted(w.upper() for w in _LEGAL_SUFFIXES if len(w) <= 4)) + r")\.?$")


def _person_key(name: str) -> str:
    """name_key without a one-letter middle initial ("George W. Bush" -> "george bush",
    "Donald J. Trump" -> "donald trump"); two initials stay ("George H. W. Bush" keys
    as "george hw bush"), and so does a leading or trailing one."""
    toks = name_key(name).split()
    if len(toks) >= 3:
        toks = [toks[0]] + [t for t in toks[1:-1] if len(t) > 1] + [toks[-1]]
    return " ".join(toks)


@functools.lru_cache(maxsize=1 << 16)  # pure, called per mention: syndicated copies repeat names
def _org_key(name: str) -> str:
    """name_key without trailing legal-form words (at least one word is kept), and without
    the "and" / "&" that joined them ("Smith and Co Inc" -> "smith")."""
    toks = name_key(name).split()
    while len(toks) > 1 and toks[-1] in _LEGAL_SUFFIXES:
        toks = toks[:-1]
        while len(toks) > 1 and toks[-1] in ("and", "&"):
            toks = toks[:-1]
    return " ".join(toks)


def variant_key(form: str) -> tuple[str | None, str]:
    """What the spelled-out variants of one organisation's name share: (the code of a
    leading country, or None; the rest without "the", function words, legal forms and
    plural endings). "US Food and Drug Administration" -> ("US", "food drug
    administration"), "The Food and Drug Administration" -> (None, the same); "Office of" /
    "Office for National Statistics" and "Trade Unions" / "Trades Union Congress" key alike."""
    toks = _org_key(form).split()
    country = None
    for j in (2, 1):
        if len(toks) > j and (code := _country_table().get(" ".join(toks[:j]))):
            country, toks = code, toks[j:]
            break
    return country, " ".join(_fold_plural(t) for t in toks if t not in _INITIALS_STOP)


def variants_of_one(keys_by_entity: dict[str, set[tuple[str | None, str]]]) -> bool:
    """Several entities' long forms (`variant_key`s, per entity) are variants of one
    organisation's name: one rest is common to all, and no two name different countries
    ("US" and none may meet: the bare form is the country's own body in its news)."""
    rests = [{rest for _, rest in keys} for keys in keys_by_entity.values()]
    common = set.intersection(*rests) if rests else set()
    countries = {c for keys in keys_by_entity.values() for c, rest in keys if c and rest in common}
    return len(rests) > 1 and bool(common) and len(countries) <= 1


# Generic words that follow a company's own name ("Acme Chemical Co", "Zeta Oil and Gas
# Inc", "Orbit Financial Services"): written in full once, the company is then named by the
# words before them ("Acme"). Industry nouns and "party" ("Labour Party" -> "Labour"), never
# a name-like word ("Insider", "Pictures"), so "Apple Insider" is not a longer form of "Apple".
_ORG_DESCRIPTORS = frozenset(
    """aerospace airline airlines airways association bancorp bancorporation bank banking
    brewing capital chemical chemicals communications computer computers construction
    electric electronics energy engineering enterprises exploration finance financial foods
    gas gold group holding holdings industries insurance international investment
    investments investors management manufacturing metals minerals mining mortgage motor
    motors networks oil partners party petroleum pharmaceutical pharmaceuticals products
    properties railroad railway realty resources savings securities service services
    shipping steel stores systems technologies technology telecom telecommunications
    trading trust utilities ventures""".split()
)


@functools.lru_cache(maxsize=1 << 16)  # pure; asked for every known alias of every batch
def _org_heads(name: str) -> frozenset[str]:
    """Keys of the short forms an organisation's full name is written as after its first
    mention: its leading words when every word after them is a `_ORG_DESCRIPTORS` word
    (joined by "and") once legal forms and a trailing "of <country>" are dropped:
    "Acme Chemical Co" -> {"acme"}, "Orbit Financial Services Inc" -> {"orbit",
    "orbit financial"}, "Northern Bank of Canada" -> {"northern"}. The head keeps a word
    that is not a descriptor, and is never a country or demonym ("British Petroleum" does
    not make "British" a short form)."""
    toks = _org_key(name).split()
    if "of" in toks[1:]:
        at = toks.index("of", 1)
        if _country_table().get(" ".join(toks[at + 1:])):
            toks = toks[:at]
    out: set[str] = set()
    for k in range(len(toks) - 1, 0, -1):
        rest = toks[k:]
        if rest[-1] == "and" or not all(t in _ORG_DESCRIPTORS or t == "and" for t in rest):
            break
        head = toks[:k]
        key = " ".join(head)
        if (rest[0] != "and" and head[-1] != "and" and head[-1] not in _ORG_DESCRIPTORS
                and key not in _country_table() and key not in _demonym_table()):
            out.add(key)
    return frozenset(out)


def _names_country(key: str) -> bool:
    """A name key that is a country's name or its possessive ("us", "japans")."""
    table = _country_table()
    return bool(table.get(key) or (key.endswith("s") and table.get(key[:-1])))


def _country_prefix(key: str) -> str | None:
    """The rest of an organisation's name key after a leading country name or its
    possessive ("us treasury" -> "treasury", "japans finance ministry" -> "finance
    ministry"), else None. Not for companies, whose names often start with a country: a
    name with a legal form ("canada gold corp") or a rest that is one industry word
    ("us steel"). The rest has two words or one of three letters or more."""
    toks = key.split()
    if not toks or toks[-1] in _LEGAL_SUFFIXES:
        return None
    for j in (3, 2, 1):
        if len(toks) <= j:
            continue
        if _names_country(" ".join(toks[:j])):
            rest = toks[j:]
            if len(rest) >= 2 or (len(rest[0]) >= 3 and rest[0] not in _ORG_DESCRIPTORS):
                return " ".join(rest)
    return None


@functools.lru_cache(maxsize=1 << 16)  # pure, called per mention: syndicated copies repeat names
def entity_id_for(label: str, name: str) -> str:
    """Deterministic entity id of a mention with (resolved) `label` and canonical `name`.

    See the module docstring: COUNTRY|code, DEMONYM|code or NAME|key (plural-folded
    for names of two or more words and one-word group plurals); the label itself is
    not hashed."""
    code = country_code(name, label)
    if code:
        return country_entity_id(code)
    code = demonym_country(name, label)
    if code:
        return demonym_entity_id(code)
    label = (label or "").upper()
    key = _person_key(name) if label == "PERSON" else _org_key(name)
    if " " in key or key.endswith(_GROUP_PLURALS):
        key = _fold_plural(key)
    return _hash_id("NAME", key)


# --- span trimming ------------------------------------------------------------------------
# Closed-class words (conjunctions, prepositions, adverbs, pronouns, auxiliaries) that a
# sentence or headline starts with and that NER glues to the name after them ("Once Ford",
# "When Obama", "But Trump"). Left out: words that are also first names ("Will", "May",
# "Hope", "Grant", "Bill", "Mark", "Said"), words that start names ("New York", "Today")
# and titles of works ("Dear Mama", "Any Questions", "No Country for Old Men"), all seen
# trimmed wrongly on BBC.
_GLUE_WORDS = frozenset(
    """once when while whilst after before since until unless if though although because
    but and or nor so yet then now still also even only just however meanwhile moreover
    instead perhaps maybe indeed thus hence therefore otherwise besides nevertheless
    like unlike despite under over with without within from into onto upon about above
    below between among against toward towards during through across behind beyond
    for at by in on of to as than via per
    this that these those there here where why how what which who whom whose whatever
    every each both either neither some many most several few all another other
    such not never always often sometimes already soon later
    did does do has have had is was were are be been would could should can must shall
    thanks thank please asked tell told let lets yes oh
    including excluding following according regarding concerning amid plus versus""".split()
)


def trim_span(text: str) -> int:
    """How many leading characters of a NER span are a glued sentence-initial word
    ("Once Ford" -> 5): a capitalised `_GLUE_WORDS` word followed by a capitalised word.
    0 when nothing is to be trimmed. The caller decides when to trim (rule 0)."""
    m = re.match(r"([A-Z][a-z]+)\s+", text or "")
    if not m or m.group(1).lower() not in _GLUE_WORDS:
        return 0
    rest = text[m.end():]
    if not rest[:1].isupper():
        return 0
    return m.end()


def clean_name(text: str | None, label: str | None = None) -> str:
    """Clean a mention's surface form: the form used for names and aliases."""
    s = _SPACE_RE.sub(" ", text or "").strip()
    s = _WRAP_RE.sub("", s)
    # Possessive first, then any punctuation it exposed ("Jones’," -> "Jones").
    for _ in range(2):
        s = _POSSESSIVE_RE.sub("", s).strip()
        s = _WRAP_RE.sub("", s)
    if s.startswith("the ") and len(s) > 4:
        s = s[4:]
    if (label or "").upper() == "PERSON":
        stripped = _TITLE_RE.sub("", s).strip()
        title = s[: len(s) - len(stripped)].split()
        if stripped and " " not in stripped and title and title[-1].rstrip(".").lower() in _ROYAL_TITLES:
            s = f"{title[-1]} {stripped}"
        elif stripped:
            s = stripped
    return s


def _tokens(key: str) -> tuple[str, ...]:
    return tuple(key.split())


def legal_form_cuts(words: list[str], tail: frozenset[str] | None = None) -> list[list[str]]:
    """The written words of a name without its trailing legal-form words (or the words of
    `tail`), one more off at a time ("GAF Corp Inc" -> [["GAF", "Corp"], ["GAF"]]); at
    least one word is kept. `_org_key` does the same on keys."""
    tail = _LEGAL_SUFFIXES if tail is None else tail
    out = []
    while len(words) > 1 and words[-1].casefold().rstrip(".") in tail:
        words = words[:-1]
        out.append(words)
    return out


def _initials(name: str) -> set[str]:
    """Initials of an organisation's name, with and without a trailing legal form
    ("General Motors Corp" -> {"GMC", "GM"})."""
    # Capitalised words only: "e-University" and "eBay UK" do not spell "EU".
    words = [w for w in re.split(r"[\s\-]+", name) if w and w.casefold() not in _INITIALS_STOP and w[0].isupper()]
    return {"".join(w[0] for w in ws).upper() for ws in [words, *legal_form_cuts(words)]}


def abbreviation_start(short: str, long: str) -> int:
    """Schwartz & Hearst's (2003) test that `short` abbreviates the end of `long`: its
    letters and digits occur in `long` in order, matched from the right, and its first
    one starts a word ("GRA" of "W.R. Grace", "PZL" of "Pennzoil Co", not "DD" of
    "DuPont"). Returns where in `long` the abbreviated words start (0 for all of it),
    -1 when `short` does not fit. Case-insensitive."""
    short, long = short.casefold(), long.casefold()
    if not short[:1].isalnum() or len(short) >= len(long):
        return -1
    s, li = len(short) - 1, len(long) - 1
    while s >= 0:
        c = short[s]
        if not c.isalnum():
            s -= 1
            continue
        while li >= 0 and (long[li] != c or (s == 0 and li > 0 and long[li - 1].isalnum())):
            li -= 1
        if li < 0:
            return -1
        li -= 1
        s -= 1
    return li + 1


_INITIALS_LEAD_RE = re.compile(r"(?:[^\W\d_]\.\s*)+")


def abbreviates(short: str, long: str) -> bool:
    """`short` abbreviates all of `long`, give or take a leading "The", initials ("GRA" of
    "W.R. Grace") or a country ("FCC" of "US Federal Communications Commission"), not a
    part of it ("GM" of "Fiat and General Motors", "CAS" of "North American Court of
    Arbitration for Sport")."""
    at = abbreviation_start(short, long)
    if at < 0:
        return False
    if _INITIALS_LEAD_RE.fullmatch(long[:at]):
        return True
    lead = name_key(long[:at])
    return not lead or lead == "the" or _names_country(lead)


# Clipped names (rule 7c): news shortens the words of a name it has spelled out ("Lib
# Dems" for "Liberal Democrats", "Fed" for "Federal Reserve", "West Brom" for "West
# Bromwich Albion", "Man City" for "Manchester City", "GW Pharma" for "GW
# Pharmaceuticals"). A clipped word keeps at least _CLIP_KEEP letters and drops at least
# _CLIP_DROP; a one-word clip keeps at most _CLIP_ONE_WORD_MAX (one or two syllables, as
# "Fed" and "Depor" do): a longer word is rather the root a longer word derives from
# ("Congress" / "Congressional Budget Office").
_CLIP_KEEP, _CLIP_DROP, _CLIP_ONE_WORD_MAX = 3, 3, 5


def clips(short: str, long: str, one_word: bool = True) -> bool:
    """`short` is a clipped form of `long` (cleaned names): `long` has two or more words,
    and word by word `short` writes each of `long`'s first words either whole (a plural
    ending aside) or clipped to its first letters, at least one of them clipped ("Lib
    Dems" / "Liberal Democrats", "West Brom" / "West Bromwich Albion"). Legal forms are
    left out first ("CNA Inc" is no clip of "CNA Income Shares Inc"). A one-word `short`
    ("Fed" / "Federal Reserve") counts only with `one_word` and at most
    `_CLIP_ONE_WORD_MAX` letters, and never a name written with its article ("The Sun"
    is not "The Sunday Telegraph"). Every word of both is capitalised and alphabetic;
    demonyms and countries are never clips ("Brits", "Euro"). A clip never stops at a
    capital inside the long word: that word is two words written as one ("MacBook",
    "YouTube", "PlayStation"), and its first part names something else ("Mac", "Play")."""
    sw, lw = _org_key(short).split(), _org_key(long).split()
    if len(lw) < 2 or not sw or len(sw) > len(lw) or not lw[0].startswith(sw[0][:_CLIP_KEEP]):
        return False
    if short.startswith(("The ", "the ")) or _is_acronym(short):
        return False
    if not all(w[:1].isupper() and w.isalpha() for w in (short + " " + long).split()):
        return False
    if len(sw) == 1 and (not one_word or len(sw[0]) > _CLIP_ONE_WORD_MAX):
        return False
    if demonym_country(short) or country_code(short, "ORG"):
        return False
    clipped = False
    for a, b in zip(sw, lw):
        a, b = _fold_plural(a), _fold_plural(b)
        if a == b:
            continue
        if len(a) < _CLIP_KEEP or len(b) - len(a) < _CLIP_DROP or not b.startswith(a):
            return False
        if any(w[len(a):len(a) + 1].isupper() and w[:len(a)].lower() == a for w in long.split()):
            return False  # "Mac" of "MacBook": the first part of a compound
        clipped = True
    return clipped


def _defined_in_parentheses(
    texts: list[str], starts: list[int], sentences: list[tuple], s_texts: list[str | None]
) -> list[int]:
    """For each mention, the index of the mention it is written in parentheses right
    after ("Ashland Oil Inc (ASH)": the index of "Ashland Oil Inc" for "ASH"), else -1.
    `sentences[i]` identifies mention i's sentence (a tuple ending in the sentence's
    start, which is None when unknown) and `s_texts[i]` is its text; `starts` and the
    sentence start count from the paragraph's start. Only spaces and the opening
    parenthesis may stand between the two, and a closing one must follow."""
    out = [-1] * len(texts)
    for i in range(1, len(texts)):
        sent = s_texts[i]
        if sent is None or sentences[i][-1] is None or sentences[i] != sentences[i - 1]:
            continue
        s0 = sentences[i][-1]
        text = texts[i] or ""
        a = starts[i - 1] + len(texts[i - 1] or "") - s0
        b = starts[i] - s0
        lead = len(text) - len(text.lstrip("( "))
        end = b + len(text.rstrip(" "))
        if not 0 <= a <= b <= end <= len(sent):
            continue
        between = (sent[a:b] + text[:lead]).replace(" ", "")
        closed = text.rstrip(" ").endswith(")") or sent[end:end + 1] == ")"
        if between == "(" and closed:
            out[i] = i - 1
    return out


# A royal title right before a span, at the end of the sentence text before it.
_ROYAL_BEFORE = r"(?:^|[^\w-])(Prince|Princess|King|Queen|Pope) $"


# "the" right before a span: "the Oscars" is a name in the plural, not "Oscar's" (rule 1c;
# transforms.ner reads it too).
THE_BEFORE = r"(?:^|[^\w-])([Tt]he) $"


def _before_span(ordered: pl.DataFrame, pattern: str) -> list[str]:
    """For each mention (row), group 1 of `pattern` matched against its sentence's text
    up to the span, else ""."""
    at = pl.col("start_char").cast(pl.Int64) - pl.col("s_start").cast(pl.Int64)
    before = pl.col("s_text").str.slice(0, at)
    found = (pl.when((at > 0) & (at <= pl.col("s_text").str.len_chars()))
             .then(before.str.extract(pattern, 1)))
    return ordered.select(found.fill_null("")).to_series().to_list()


def _royal_titles_before(ordered: pl.DataFrame) -> list[str]:
    """For each mention (row), the royal title written right before its span in its
    sentence ("Prince" for the span "Andrew" of "Prince Andrew"), else "". The NER,
    fine-tuned on CoNLL-2003 whose gold leaves titles out, mostly tags the name without it."""
    return _before_span(ordered, _ROYAL_BEFORE)


APOSTROPHE_PATTERN = f"[{_APOSTROPHES}]"
# Months and weekdays: capitalised words that name no one.
CALENDAR_WORDS = frozenset("january february march april may june july august september october november "
                           "december monday tuesday wednesday thursday friday saturday sunday".split())


def _articles_without_apostrophes(ordered: pl.DataFrame) -> list[bool]:
    """For each mention (row), whether its article's text has no apostrophe: text whose
    apostrophes were lost on the way ("Texacos stock rose", "doesnt": an ASCII fold that
    drops a curly one; rule 1c). The article's own flag `article_apostrophes` when the
    caller gives it (the pipeline: any paragraph), else no sentence that holds a mention."""
    if "article_apostrophes" in ordered.columns:
        has = pl.col("article_apostrophes").fill_null(True)
    else:
        has = pl.col("s_text").str.contains(APOSTROPHE_PATTERN).fill_null(False).any().over("article_id")
    return ordered.select(~has).to_series().to_list()


# The last word of a name that is another name of the article with an "s" glued on (rule 1c),
# and the labels of the names a possessive is read from.
_LOST_POSSESSIVE_RE = re.compile(r"^(?:[A-Z][A-Za-z]*[a-z]|[A-Z]{2,})s$")
_POSSESSOR_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC"})


def _possessor_stems(labels: list[str], clean: list[str]) -> dict[str, str]:
    """Rule 1c: the names of an article that a possessive can be of, by key, with the label
    of their first mention: a person's, an organisation's or a place's whole name, a word
    of a person's full name ("randol" of "William Randol") and a company's short form
    (`_org_key`, `_org_heads`: "texaco" of "Texaco Inc"). Never a key ending in "s":
    nobody writes "Joness" for "Jones'"."""
    stems: dict[str, str] = {}
    for c, lab in zip(clean, labels):
        toks = c.split() if c else []
        if lab not in _POSSESSOR_LABELS or not toks:
            continue
        forms = [c]
        if lab == "PERSON" and len(toks) > 1:
            forms += toks
        elif lab == "ORG":
            forms += [_org_key(c), *_org_heads(c)]
        for form in forms:
            key = name_key(form)
            if key and not key.endswith("s"):
                stems.setdefault(key, lab)
    return stems


def _possessive_of(form: str, stems: dict[str, str], countries: bool = True) -> tuple[str, str] | None:
    """(the name, its label) when `form` is a name of the article (`stems`) or, with
    `countries`, a country with an "s" added and its apostrophe lost ("Texacos", "BBCs",
    "Chinas"), else None.
    Never a group of people ("Democrats": `_GROUP_PLURALS`; a country's is one: "Japans"),
    a demonym, an industry or legal-form word ("Services")."""
    last = form.split()[-1] if form else ""
    if not _LOST_POSSESSIVE_RE.match(last) or len(form) < 4:
        return None
    key, stem = name_key(form), form[:-1]
    skey = name_key(stem)
    country = countries and not _is_acronym(stem) and country_code(stem, "GPE")
    if ((key.endswith(_GROUP_PLURALS) and not country) or key.endswith(("ss", "us", "is")) or demonym_country(form)
            or demonym_country(stem) or skey in _ORG_DESCRIPTORS or skey in _LEGAL_SUFFIXES
            or skey in _INITIALS_STOP):
        return None
    for k in (skey, _org_key(stem)):  # "Pan Am Corps": "Pan Am Corp's" of a "Pan Am"
        if k in stems:
            return stem, stems[k]
    if country:
        return stem, "GPE"  # a country need not be written alone ("Chinas trade surplus")
    return None


def _lost_possessives(labels: list[str], clean: list[str], after_the: list[bool]) -> dict[int, tuple[str, str]]:
    """Rule 1c, for an article without apostrophes: a name that is another name of the
    article (`_possessor_stems`) or a country with an "s" added is that name's possessive
    with its apostrophe lost ("Texacos" after "Texaco Inc", "Pennzoils" after "Pennzoil",
    "Randols" and "Ilsa Marrows" after "Ilsa Marrow", "BBCs" after "BBC", "Chinas").
    Returns mention index -> (the name without the "s", the label of the first mention
    that has that name; GPE for a country).

    Not joined (besides `_possessive_of`'s exceptions): a name written after "the"
    (`after_the[i]`: "the Oscars", "the Osbournes" are plurals; no possessive of a name
    takes "the"); a word of a longer name of the article ("Williams" next to "Rowan
    Williams" and "Prince William"); a word inside a longer name that is not a person's,
    nor an adjective ("Olympics" next to "Olympic Games" or an "Olympic" tagged EVENT,
    "Aids" next to "Band Aid": plurals that text without apostrophes writes too)."""
    stems = _possessor_stems(labels, clean)
    in_longer: set[str] = set()  # the words of the article's names of two or more words
    for c in clean:
        toks = c.split() if c else []
        # ... not counting one that is itself a possessive ("Ilsa Marrows" for "Marrows").
        if len(toks) > 1 and not (_LOST_POSSESSIVE_RE.match(toks[-1]) and name_key(c[:-1]) in stems):
            in_longer.update(name_key(t) for t in toks)
    out: dict[int, tuple[str, str]] = {}
    for i, c in enumerate(clean):
        if not c or after_the[i] or (" " not in c.strip() and name_key(c) in in_longer):
            continue
        hit = _possessive_of(c, stems)
        if hit is not None:
            out[i] = hit
    return out


def _calendar_possessive(front: str) -> bool:
    """A weekday or a month with an "s" added, one word ("Saturdays" of "Saturdays Six
    Nations", "Januarys" of "Januarys Carling Cup"): "Saturday's" with its apostrophe lost;
    no name starts with one."""
    key = name_key(front)
    return " " not in key and key.endswith("s") and key[:-1] in CALENDAR_WORDS


def _possessive_cuts(labels: list[str], surfaces: list[str], after_the: list[bool]) -> list[int]:
    """Rule 0e, for an article without apostrophes: characters to cut off the front of a
    span that NER glued across a possessive whose apostrophe was lost ("Japans Honda",
    "Oxfams Barbara Stocking", "News Corps News International": `_possessive_of` the
    front words, read against the article's names; a weekday's or a month's, "Saturdays Six
    Nations": `_calendar_possessive`). The name after it is kept: the span
    names what the possessive qualifies. Not after "the"; the rest must start with a
    capital and hold a word that is no industry word or legal form ("Reuters Holdings
    Plc" next to "Reuter" is a name, not Reuter's holdings). A person's span is cut at a
    country the article does not name only before two words or more ("Britains Greg
    Rusedski"; "Frances Carter" is a woman's name)."""
    stems = _possessor_stems(labels, [clean_name(s, lab) for s, lab in zip(surfaces, labels)])
    out = []
    for s, lab, before_the in zip(surfaces, labels, after_the):
        cut = 0
        if s and not before_the:
            for m in re.finditer(r"\S+(?=\s+[A-Z])", s):
                front, rest = s[: m.end()].strip(), _org_key(s[m.end():])
                # A person's span: a country only before a whole name ("Britains Greg
                # Rusedski"), not before one word ("Frances Carter" is a woman's name).
                whole = len(s[m.end():].split()) >= 2
                if ((_possessive_of(front, stems, countries=lab != "PERSON" or whole) is not None
                     or _calendar_possessive(front))
                        and not all(w in _ORG_DESCRIPTORS for w in rest.split())):
                    cut = len(s) - len(s[m.end():].lstrip())
                    break
        out.append(cut)
    return out


def _is_acronym(name: str) -> bool:
    bare = name.replace(".", "")
    return 2 <= len(bare) <= 6 and bare.isalpha() and bare.isupper()


# Labels an acronym is linked from (rule 6): NER tags some organisations' acronyms NORP
# ("IMF"); those link only to an ORG and become ORG.
_ACRONYM_LABELS = ("ORG", "GPE", "LOC", *DOUBT_LABELS)


# Third-person verbs that headlines glue to a surname ("Putin Wants ...", "Johnson Vows
# ..."): the most common headline verbs of news wire and BBC headings. A closed list, so
# that a surname ending in "s" ("Scott Adams", "Thomas Jones") is never taken for one.
_HEADLINE_VERBS = frozenset(
    """wants says warns vows calls urges faces seeks slams backs meets plans hits insists
    claims denies admits rejects defends tells gets makes takes gives wins loses leads
    signs visits blasts attacks accuses blames praises quits resigns returns agrees
    announces confirms reveals unveils launches pledges promises threatens sues joins
    leaves heads eyes targets tops beats fears hopes expects sees sets stands
    steps speaks talks thanks welcomes criticises criticizes questions dismisses""".split()
)


class _Cluster:
    """One PERSON full name (all spellings with the same key) inside one article."""

    __slots__ = ("key", "tokens", "forms", "first", "last")

    def __init__(self, key: str, first: int) -> None:
        self.key = key
        self.tokens = set(_tokens(key))
        self.forms: list[str] = []
        self.first = first
        self.last = first

    def surname(self) -> str:
        toks = [t for t in self.key.split() if t not in _SUFFIXES]
        return toks[-1] if toks else ""

    def name(self) -> str:
        # Longest surface form not in all caps (headlines); ties go to the first written.
        return max(self.forms, key=lambda f: (not f.isupper(), len(f)))


def _drop_false_full_names(
    clusters: dict[str, _Cluster], person_keys: set[str]
) -> tuple[dict[str, _Cluster], set[str]]:
    """Remove two kinds of NER PERSON spans that are not one person's full name.

    * "Trump-Kim" (summits): a hyphenated span, no spaces, whose capitalised parts are
      names of two different people in the article. It names no single entity: its
      key is returned in the second set and such mentions get a null entity_id.
    * "Putin Wants" (a headline): two tokens, the first the surname of another full
      name, the second a common headline verb (`_HEADLINE_VERBS`) found in no other
      name. A surname-like second word ("Scott Adams" next to "Tom Scott") is a person. Becomes
      a form of that other full name (returned as key -> cluster).
    """
    alias_of: dict[str, _Cluster] = {}
    compounds: set[str] = set()
    for key, cl in list(clusters.items()):
        others = [c for c in clusters.values() if c.key != key]
        compound = False
        for form in cl.forms:
            parts = [p for p in re.split(r"[\-‐‑–—]", form) if p]
            if " " in form or len(parts) < 2 or not all(p[0].isupper() for p in parts):
                continue
            owners = set()
            for part in parts:
                pk = name_key(part)
                owner = next((c.key for c in others if pk in c.tokens), None)
                if owner is None and pk in person_keys:
                    owner = pk
                owners.add(owner)
            if None not in owners and len(owners) >= 2:
                compound = True
        if compound:
            compounds.add(key)
            del clusters[key]
            continue
        toks = key.split()
        if len(toks) == 2 and toks[1] in _HEADLINE_VERBS:
            heads = [c for c in others if c.key.split()[-1] == toks[0] and toks[1] not in c.tokens]
            if len(heads) == 1 and not any(toks[1] in c.tokens for c in others):
                alias_of[key] = heads[0]
                del clusters[key]
    return alias_of, compounds


def initial_form(key: str) -> tuple[str, str] | None:
    """(initial, surname) of a name key written with a first initial ("g easterby" of "G
    Easterby", "r de marigny" of "R. de Marigny": sports line-ups and results tables),
    else None. Two or more initials ("J.R.R. Tolkien") are left alone."""
    toks = key.split()
    if len(toks) >= 2 and len(toks[0]) == 1 and toks[0].isalpha() and all(len(t) > 1 for t in toks[1:]):
        return toks[0], " ".join(toks[1:])
    return None


def _initial_forms(clusters: dict[str, _Cluster]) -> dict[str, _Cluster]:
    """Rule 3b: a full name written with a first initial ("G Easterby") is a form of the
    one other full name of the article with that surname and a first name of that initial
    ("Guy Easterby"); with two ("Gordon Brown", "Graham Brown" for "G Brown") or none it
    stays its own person. Removed from `clusters`, returned as key -> cluster."""
    out: dict[str, _Cluster] = {}
    forms = {key: form for key in clusters if (form := initial_form(key)) is not None}
    if not forms:
        return out
    full = [(c, c.key.split()) for c in clusters.values() if c.key not in forms]
    for key, (initial, surname) in forms.items():
        n = len(surname.split())
        fits = [c for c, toks in full
                if len(toks) > n and " ".join(toks[-n:]) == surname and toks[0].startswith(initial)]
        if len(fits) == 1:
            out[key] = fits[0]
    for key in out:
        del clusters[key]
    return out


# Labels whose spans are titles, where a leading "When" or "Under" is part of the name.
_NO_TRIM = {"WORK_OF_ART", "EVENT", "LAW", "LANGUAGE"}


def _the_before_country(label: str, surface: str) -> bool:
    """A sentence's "The" glued to a country's name, belonging to the noun after it ("The
    Ireland captain", "The USA team"); "The Netherlands", "The Gambia" keep theirs."""
    rest = surface[4:]
    return (surface.startswith("The ") and not rest.endswith("s") and surface not in _NEWS_COUNTRY
            and country_code(rest, label) is not None)


def _trims(labels: list[str], surfaces: list[str]) -> list[int]:
    """Rule 0: characters to cut off the front of each span ("Once Ford" -> 5); a "The"
    before a country's name (`_the_before_country`)."""
    cut = [0 if lab in _NO_TRIM else trim_span(s or "") for lab, s in zip(labels, surfaces)]
    the = [lab not in _NO_TRIM and _the_before_country(lab, s or "") for lab, s in zip(labels, surfaces)]
    if any(the):
        cut = [4 if t else c for c, t in zip(cut, the)]
    if not any(cut):
        return cut
    # Words named on their own (untrimmed spans) and full PERSON names' words.
    named: set[str] = set()
    for lab, s, c in zip(labels, surfaces, cut):
        if not c:
            key = name_key(clean_name(s, lab))
            named.add(key)
            if lab == "PERSON":
                named.update(key.split())
    for i, (lab, s, c) in enumerate(zip(labels, surfaces, cut)):
        if c and lab != "PERSON" and not the[i] and name_key(clean_name(s[c:], lab)) not in named:
            cut[i] = 0
    return cut


# A place or company glued to an adjective-forming participle ("Houston-based",
# "Oslo-born", "Paris-listed"): NER tags the compound NORP or GPE, but it names the part
# before the hyphen.
_PARTICIPLE_RE = re.compile(
    r"(?<=[\w.])[-‐‑](?:based|born|bred|led|backed|owned|listed|headquartered|controlled|"
    r"funded|run|registered|made|bound)$"
)
# Other compound adjectives: any participle ("Oscar-winning", "English-speaking", "Trump-
# imposed", "Vioxx-related") or "-wide", "-style", "-era", "-only", "-language" ("EU-wide",
# "Blair-era"). What is left names a thing of any kind, not a place (see `_end_trims`).
_COMPOUND_ADJ_RE = re.compile(r"(?<=[\w.])[-‐‑](?:[a-z]{3,}(?:ed|ing)|wide|style|era|only|language)$")


# A stock ticker after a company's legal form, as wire copy writes it ("Pennzoil Co PZL",
# "Cetus Corp CTUS", "Reuters Holdings Plc RTRS.L"; Reuters wrote "<PZL>"): not part of
# the name (rule 0d).
_TICKER_END_RE = re.compile(_LEGAL_FORM_END[: -len("$")] + r"(\s+([A-Z]{2,5})(?:\.[A-Z]{1,2})?)$")


def _end_trims(labels: list[str], surfaces: list[str]) -> list[int]:
    """Rule 0b: characters to cut off the end of each span ("Houston-based" -> 6); rule
    0d: a ticker after a legal form ("Pennzoil Co PZL" -> 4), whatever the label."""
    out = []
    for lab, s in zip(labels, surfaces):
        s = s or ""
        m = (_PARTICIPLE_RE.search(s) or _COMPOUND_ADJ_RE.search(s)) if lab not in _NO_TRIM and lab != "PERSON" else None
        if m and s[:1].isupper():
            out.append(len(s) - m.start())
            continue
        t = _TICKER_END_RE.search(s) if lab not in _NO_TRIM else None
        out.append(len(t.group(1)) if t and t.group(2).lower() not in _LEGAL_SUFFIXES else 0)
    return out


# A dash between spaces ("Alastair Campbell - we", "UK - and the"): NER glues the words
# around one, but a name is written with an unspaced hyphen ("Kilroy-Silk").
_SPACED_DASH_RE = re.compile(r"\s+[-‐‑–—]+\s+")


def _starts_name(part: str) -> bool:
    """Starts like a name: a capital, a digit, or a brand's lowercase letter and capital
    ("iTunes", "eBay")."""
    return part[:1].isupper() or part[:1].isdigit() or (part[:1].islower() and part[1:2].isupper())


def _split_cuts(labels: list[str], surfaces: list[str]) -> tuple[list[int], list[int]]:
    """Rule 0c: characters to cut off the front and the end of spans that two names, or a
    name and the words after it, were glued into across a spaced dash or an unclosed
    bracket. A span keeps its part before the first spaced dash when that part starts like
    a name (`_starts_name`: "Alastair Campbell - we" -> "Alastair Campbell", "EADS -
    Airbus" -> "EADS", "iTunes - Windows" -> "iTunes"), else its part after the last one
    when that does ("same - Steven" -> "Steven"); its part before an unclosed "(" ("Kefu
    (Aus" -> "Kefu"), or after an unopened ")" ("Ryan) Giggs" -> "Giggs"), when that
    part starts like a name. Titles (`_NO_TRIM` labels) are left whole."""
    front, end = [0] * len(surfaces), [0] * len(surfaces)
    for i, (lab, s) in enumerate(zip(labels, surfaces)):
        if lab in _NO_TRIM or not s:
            continue
        dashes = list(_SPACED_DASH_RE.finditer(s))
        if dashes:
            head, tail = s[: dashes[0].start()], s[dashes[-1].end():]
            if _starts_name(head):
                end[i] = len(s) - dashes[0].start()
            elif _starts_name(tail):
                front[i] = dashes[-1].end()
            continue
        if s.count("(") > s.count(")") and s.find("(") > 0:
            at = s.find("(")
            head = s[:at].rstrip()
            if _starts_name(head):
                end[i] = len(s) - len(head)
        elif s.count(")") > s.count("(") and 0 < s.rfind(")") < len(s) - 1:
            at = s.rfind(")") + 1
            tail = s[at:].lstrip()
            if _starts_name(tail):
                front[i] = len(s) - len(tail)
    return front, end


def _resolve_article(
    labels: list[str], surfaces: list[str], defined_by: list[int] | None = None,
    titles: list[str] | None = None, after_the: list[bool] | None = None,
) -> tuple[list[str], list[str | None], list[str], list[int], list[int]]:
    """Resolve one article's mentions (given in reading order). `defined_by[i]` is the
    mention that mention i is written in parentheses after, or -1 (rule 6b); `titles[i]`
    the royal title written right before it, or "" (rule 1b); `after_the[i]` whether
    "the" is written right before it, given only for an article whose text has no
    apostrophes (rule 1c).

    Returns (resolved labels, entity ids, entity names, characters trimmed off the front
    of each span), aligned with the input. The id is None only for a span naming two
    people at once ("Trump-Kim").
    """
    n = len(labels)
    labels = [(lab or "").upper() for lab in labels]
    split_front, split_end = _split_cuts(labels, surfaces)
    surfaces = [(s or "")[f: len(s or "") - e] if f or e else s for s, f, e in zip(surfaces, split_front, split_end)]
    cut = _trims(labels, surfaces)
    surfaces = [(s or "")[c:] if c else s for s, c in zip(surfaces, cut)]
    if after_the is not None:
        front = _possessive_cuts(labels, surfaces, after_the)
        if any(front):
            surfaces = [s[f:] if f else s for s, f in zip(surfaces, front)]
            cut = [c + f for c, f in zip(cut, front)]
    cut_end = _end_trims(labels, surfaces)
    if any(cut_end):
        place = [bool(c and _PARTICIPLE_RE.search(s or "")) for s, c in zip(surfaces, cut_end)]
        surfaces = [s[: len(s) - c] if c else s for s, c in zip(surfaces, cut_end)]
        # "Houston-based" was a NORP or MISC: what is left is a place (or a company, kept
        # ORG), or a demonym ("British-born"), NORP. After another compound adjective
        # ("Oscar-winning", "Vioxx-related") it takes the label the article gives that
        # name elsewhere, else keeps its own ("English-speaking"); rule 1 below makes a
        # surname of the article's person a PERSON ("Blair-era").
        elsewhere = {name_key(clean_name(s, lab)): lab for s, lab, c in zip(surfaces, labels, cut_end)
                     if not c and lab not in DOUBT_LABELS}
        labels = [lab if not c or lab not in DOUBT_LABELS
                  else "NORP" if demonym_country(s)
                  else "GPE" if p else elsewhere.get(name_key(clean_name(s, "ORG")), lab)
                  for lab, c, s, p in zip(labels, cut_end, surfaces, place)]
    # Not a name that ends as an organisation's does ("Miss Universe Inc", "Miss Venezuela
    # Organisation": the pageant's company, not a woman named Venezuela).
    labels = ["PERSON" if (lab in _HONORIFIC_RELABEL and _HONORIFIC_RE.match((s or "").strip())
                           and not _ORG_NAME_END_RE.search((s or "").strip())) else lab
              for lab, s in zip(labels, surfaces)]
    clean = [clean_name(s, lab) for s, lab in zip(surfaces, labels)]
    if titles:
        # Rule 1b: a one-word person right after a royal title is named with it ("Prince
        # Andrew"), as a span that holds the title is (clean_name).
        clean = [f"{t} {c}" if t and lab == "PERSON" and c and " " not in c else c
                 for c, t, lab in zip(clean, titles, labels)]
    if after_the is not None:
        # Rule 1c: "Texacos" is "Texaco's" with its apostrophe lost, and takes the label the
        # article gives "Texaco".
        for i, (stem, lab) in _lost_possessives(labels, clean, after_the).items():
            clean[i], labels[i] = stem, lab
    keys = [name_key(c) for c in clean]

    # Full PERSON names, one cluster per key.
    clusters: dict[str, _Cluster] = {}
    for i in range(n):
        if labels[i] == "PERSON" and len(_tokens(keys[i])) >= 2:
            cl = clusters.get(keys[i])
            if cl is None:
                cl = clusters[keys[i]] = _Cluster(keys[i], i)
            cl.forms.append(clean[i])
    # A full name that is a strict token subset of another one ("Jong Un" of
    # "Kim Jong Un") is a short form, unless the longer one adds a suffix ("Jr.").
    for key in list(clusters):
        toks = clusters[key].tokens
        for other in clusters.values():
            if other.key != key and toks < other.tokens and not (other.tokens - toks) & _SUFFIXES:
                del clusters[key]
                break
    alias_of, compounds = _drop_false_full_names(clusters, {k for k, lab in zip(keys, labels) if lab == "PERSON"})
    alias_of.update(_initial_forms(clusters))
    single_person_keys = {keys[i] for i in range(n) if labels[i] == "PERSON"}

    # Label conflicts: a bare surname tagged ORG/GPE/... that is part of a PERSON name, and
    # a name the article tags PERSON elsewhere, when PERSON is at least as frequent a label
    # for it: a dateline in capitals that NER called a person ("SAO PAULO 1996-08-22", kept
    # apart by `transforms.ner`'s label consistency) leaves the place "Sao Paulo" alone.
    key_votes: dict[str, Counter] = defaultdict(Counter)
    for k, lab in zip(keys, labels):
        key_votes[k][lab] += 1
    out_labels = list(labels)
    for i in range(n):
        # All-caps short forms are acronyms ("UN" is not the "Un" of "Kim Jong Un").
        if labels[i] in _RELABEL_FROM and keys[i] and not _is_acronym(clean[i]):
            toks = set(_tokens(keys[i]))
            votes = key_votes[keys[i]]
            person_too = 2 * votes["PERSON"] >= sum(votes.values())
            part_of_person = any(toks < c.tokens or (person_too and toks == c.tokens) for c in clusters.values())
            if part_of_person and country_code(clean[i], labels[i]):
                # A country is a person's surname ("Michael Jordan" ... "Jordan"), never a
                # first word of one: a span such as "Venezuela Organisation" taken for a
                # person leaves the country alone.
                part_of_person = any(toks <= c.tokens and c.surname() in toks for c in clusters.values())
            if (toks and part_of_person and len(toks) < 3) or (keys[i] in single_person_keys and person_too):
                out_labels[i] = "PERSON"

    # Acronyms -> the single name in the article with matching initials: ORG acronyms to
    # an ORG ("UN" -> "United Nations"), place acronyms to a place ("N.C." -> "North
    # Carolina"), then either to the other kind when their own kind has none. A country's
    # own abbreviation ("US", "UK") is left to the country table.
    acronym_target: dict[str, str] = {}
    # Rule 6b first: an abbreviation defined in the text beats initials guessed.
    for i, j in enumerate(defined_by or ()):
        if (j >= 0 and _is_acronym(clean[i]) and out_labels[i] in _ACRONYM_LABELS
                and not country_code(clean[i], "GPE") and clean[i] not in acronym_target
                and out_labels[j] in ("ORG", "PERSON", *DOUBT_LABELS) and not _is_acronym(clean[j])
                and keys[j] not in compounds and abbreviates(clean[i].replace(".", ""), clean[j])):
            acronym_target[clean[i]] = clean[j]
            for k in range(n):
                if clean[k] == clean[i] or (keys[k] == keys[j] and out_labels[k] in ("PERSON", *DOUBT_LABELS)):
                    out_labels[k] = "ORG"
    org_names = {clean[i] for i in range(n) if out_labels[i] == "ORG" and not _is_acronym(clean[i])}
    place_names = {clean[i] for i in range(n) if out_labels[i] in ("GPE", "LOC") and not _is_acronym(clean[i])}
    defined = set(acronym_target)
    for i in range(n):
        if clean[i] in defined:
            continue
        state = us_state(clean[i], out_labels[i]) if out_labels[i] in ("ORG", "GPE", "LOC") else None
        if state:
            acronym_target[clean[i]] = state
            out_labels[i] = "GPE"
            continue
        if not _is_acronym(clean[i]) or country_code(clean[i], "GPE"):
            continue
        acro = clean[i].replace(".", "").upper()
        if out_labels[i] in _ACRONYM_LABELS:
            pools = ((org_names, place_names) if out_labels[i] == "ORG"
                     else (org_names,) if out_labels[i] in DOUBT_LABELS
                     else (place_names, org_names))
        elif len(acro) >= 3:
            # Tagged another label (on BBC: PERSON, "AEFA"; PRODUCT, "IRB"): an ORG of the
            # article spelled out with those initials ("American Express Financial
            # Advisors") names it; two letters are rather a person's initials ("JK").
            pools = (org_names,)
        else:
            continue
        for pool in pools:
            fits = sorted({name for name in pool if acro in _initials(name)})
            if fits:
                if len(fits) == 1:
                    acronym_target[clean[i]] = fits[0]
                    if out_labels[i] not in ("ORG", "GPE", "LOC"):
                        out_labels[i] = "ORG"  # "IMF" tagged NORP, spelled out as an ORG
                break

    cluster_list = sorted(clusters.values(), key=lambda c: c.first)
    assigned: list[_Cluster | None] = [None] * n
    for i in range(n):
        if out_labels[i] != "PERSON" or not keys[i]:
            continue
        cl = clusters.get(keys[i]) or alias_of.get(keys[i])
        if cl is None:
            toks = set(_tokens(keys[i]))
            fits = [c for c in cluster_list if toks and toks <= c.tokens]
            if len(toks) == 1:
                # A bare word is a surname first: "Thomas" next to "Clarence Thomas" and
                # "Thomas Jones" is Clarence Thomas; a first name only when no full name
                # has it as surname ("Tony" -> "Tony Blair").
                surname = [c for c in fits if c.surname() in toks]
                fits = surname or fits
            if fits:
                before = [c for c in fits if c.first < i]
                if before:
                    cl = max(before, key=lambda c: c.last)
                else:
                    cl = min(fits, key=lambda c: c.first)
        if cl is not None:
            assigned[i] = cl
            if i > cl.last:
                cl.last = i

    org_target, short_of = _org_short_forms(out_labels, clean, keys, assigned, compounds)
    clip_target = _clipped_forms(out_labels, clean, org_target)
    ids: list[str] = []
    names: list[str] = []
    cluster_names = {c.key: c.name() for c in cluster_list}
    for i in range(n):
        cl = assigned[i]
        if i in org_target:
            name = org_target[i]
            out_labels[i] = "ORG"
        elif i in clip_target:
            name = clip_target[i]
        elif cl is not None:
            name = cluster_names[cl.key]
        elif out_labels[i] in ("ORG", "GPE", "LOC") and clean[i] in acronym_target:
            name = acronym_target[clean[i]]
            name = short_of.get(_org_key(name), name)
        else:
            name = clean[i]
        if not name_key(name):
            # Nothing left after cleaning (a stray "'s"): keep the raw text as the name.
            name = (surfaces[i] or "").strip()
        names.append(name)
        if out_labels[i] == "PERSON" and keys[i] in compounds:
            ids.append(None)
        else:
            ids.append(entity_id_for(out_labels[i], name))
    return (out_labels, ids, names, [a + b for a, b in zip(split_front, cut)],
            [a + b for a, b in zip(split_end, cut_end)])


def _clipped_forms(labels: list[str], clean: list[str], skip: dict[int, str]) -> dict[int, str]:
    """Rule 7c: an ORG or NORP mention that clips the one longer ORG or NORP name of the
    article it fits (`clips`: "Lib Dems" and "Liberal Democrats") takes that name, so both
    have its id. A one-word clip must be tagged ORG ("Fed"; a NORP word such as "Brits" is
    a group of people). Mentions rules 7 and 8 joined (`skip`) stay as they are.
    Returns mention index -> name."""
    cand = [i for i in range(len(labels)) if labels[i] in ("ORG", *DOUBT_LABELS) and clean[i] and i not in skip]
    longs: dict[str, dict[str, str]] = {}  # first letter -> folded key -> first name written
    for i in cand:
        key = _org_key(clean[i])
        if " " in key:
            longs.setdefault(clean[i][:1], {}).setdefault(_fold_plural(key), clean[i])
    out: dict[int, str] = {}
    for i in cand:
        same_start = longs.get(clean[i][:1], {})
        fits = {k for k, name in same_start.items() if clips(clean[i], name, one_word=labels[i] == "ORG")}
        if len(fits) == 1:
            out[i] = same_start[fits.pop()]
    return out


# Words before an organisation's last word that make that word part of a phrase, not a
# name qualified by the words before it ("Queen of the Sky" is no "Sky"; rule 7b).
_PHRASE_WORDS = frozenset({"of", "the", "and", "&", "for", "on", "in", "at", "de", "la", "le", "von", "van"})
# One word before a name that makes a variant of it, not its full name ("New Labour",
# "Old Labour", "Shadow Treasury" are not the "Labour" or "Treasury" of the article).
_VARIANT_WORDS = frozenset({"new", "old", "shadow", "former", "young", "ex"})

# Labels NER gives a company's bare name ("Acme" tagged NORP or PERSON by a small model).
_ORG_SHORT_LABELS = {"ORG", *DOUBT_LABELS, "PERSON"}


def _org_short_forms(
    labels: list[str], clean: list[str], keys: list[str], assigned: list, compounds: set[str]
) -> tuple[dict[int, str], dict[str, str]]:
    """Rules 7 and 8: the organisations of one article written in a long and a short form.

    7. A company's leading words ("Acme" next to "Acme Chemical Co", see `_org_heads`)
       and that one ORG of the article with that head are one entity, an acronym too
       ("WMC" next to "WMC Resources"). A NORP- or
       PERSON-tagged short form too (small models tag a bare company name so), unless it
       is part of a person's name in the article (then it is that person) or, NORP-tagged,
       the article also writes it in the plural: a group of people ("Muslim voters",
       "Muslims") is not the organisation named after it ("Muslim Association of
       Britain"). With two ORGs of that head ("Acme Oil", "Acme Mining") nothing is joined.
    7e. (7b, 7c and 7d are below.) Whatever words follow them, the leading words of one
       ORG of the article written after it ("Real" after "Real Madrid"), with conditions
       (`_org_leads`); that mention takes the long form's name and id.
    8. An ORG written with a leading country or its possessive ("U.S. Treasury",
       "Japan's Finance Ministry") and the ORG of the article written without it
       ("Treasury") are one entity.
    Both take the short form's name and id: the form that other articles write alone
    ("Acme", "Treasury"), so the entity is the same in articles that never spell it out.
    Returns (mention index -> name, long form's org key -> short name).
    """
    n = len(labels)
    is_org = [labels[i] == "ORG" and bool(keys[i]) and not _is_acronym(clean[i]) for i in range(n)]
    okeys = [_org_key(clean[i]) if is_org[i] else "" for i in range(n)]
    long_by_head: dict[str, set[str]] = {}
    for i in range(n):
        if is_org[i]:
            for head in _org_heads(clean[i]):
                long_by_head.setdefault(head, set()).add(okeys[i])
            if okeys[i] != keys[i]:
                # The name without its legal form ("Noranda" of "Noranda Inc"): an ORG-tagged
                # one has that id already, a PERSON- or NORP-tagged one is joined here.
                long_by_head.setdefault(okeys[i], set()).add(okeys[i])
    short_of: dict[str, str] = {}  # long org key -> short name
    shorts: list[int] = []
    person_tokens = [c.tokens for c in assigned if c is not None]
    # Words the article writes as a NORP plural ("Muslims": the singular "muslim").
    group_plurals = {_fold_plural(keys[j]) for j in range(n)
                     if labels[j] == "NORP" and keys[j] and " " not in keys[j] and _fold_plural(keys[j]) != keys[j]}

    def short_form(i: int, acronym: bool = False) -> bool:
        """Whether mention i can be an organisation's short form (rules 7 and 7e); an
        acronym only with `acronym` (rule 7: "WMC" of "WMC Resources")."""
        if labels[i] not in _ORG_SHORT_LABELS or not keys[i] or (_is_acronym(clean[i]) and not acronym):
            return False
        if labels[i] == "NORP" and keys[i] in group_plurals:
            return False
        if _org_key(clean[i]) != keys[i]:
            return False  # a name with its legal form ("Acme Corp") is a full name itself
        if labels[i] == "PERSON":
            cl = assigned[i]
            # A person's name or a word of one; only a two-word "person" that is the
            # whole head ("Readers Digest") can be the company.
            if keys[i] in compounds or (cl is not None and cl.key != keys[i]):
                return False
            if cl is None and any(set(keys[i].split()) <= toks for toks in person_tokens):
                return False
        return True

    if long_by_head:
        for i in range(n):
            if not short_form(i, acronym=True):
                continue
            fits = long_by_head.get(keys[i], set())
            if labels[i] == "PERSON" and any(f.endswith(" party") for f in fits):
                continue  # a party named after a person is not the person ("the Kilroy-Silk Party")
            if len(fits) == 1:
                shorts.append(i)
                short_of.setdefault(next(iter(fits)), clean[i])
    out: dict[int, str] = {}
    for i in shorts:
        out[i] = short_of[next(iter(long_by_head[keys[i]]))]
    for i in range(n):
        if is_org[i] and i not in out and okeys[i] in short_of:
            out[i] = short_of[okeys[i]]
    org_keys = {okeys[i]: i for i in range(n) if is_org[i]}
    for i in range(n):
        if not is_org[i] or i in out:
            continue
        rest = _country_prefix(name_key(clean[i]))
        if rest is not None and rest in org_keys:
            j = org_keys[rest]
            out[i] = out.get(j, clean[j])
            short_of.setdefault(okeys[i], out[i])
    # Rule 7b: a one-word ORG that ends the one longer ORG of the article ending in it.
    by_last: dict[str, set[int]] = {}
    # An organisation before the name makes a part of that organisation ("BBC Liverpool",
    # the BBC's station, is not the Liverpool of the article): one the article names
    # alone, or an acronym of three letters or more (two-letter club prefixes such as
    # "AC Milan" and "FC Barcelona" are the club's full name).
    org_names = {keys[i] for i in range(n) if labels[i] == "ORG" and keys[i]}
    for j in range(n):
        words = clean[j].split()
        if not is_org[j] or len(words) < 2 or not name_key(words[-1]):
            continue
        qualifier = words[:-1]
        qkey = name_key(" ".join(qualifier))
        if (all(w[:1].isupper() or w[:1].isdigit() for w in qualifier)
                and not any(name_key(w) in _PHRASE_WORDS for w in qualifier)
                and qualifier[0] not in ("A", "An")
                and not (len(qualifier) == 1 and len(qualifier[0]) >= 3 and _is_acronym(qualifier[0]))
                and qkey not in _VARIANT_WORDS and qkey not in org_names):
            by_last.setdefault(name_key(words[-1]), set()).add(j)
    for i in range(n):
        if (not is_org[i] or i in out or " " in okeys[i] or len(okeys[i]) < 3
                or okeys[i] in _ORG_DESCRIPTORS):
            continue  # two letters are no name ("Re" of "Swiss Re", whose "Swiss" NER split off)
        fits = {okeys[j] for j in by_last.get(okeys[i], ())}
        if len(fits) == 1:
            j = min(by_last[okeys[i]])
            out[i] = out.get(j, clean[j])
    # Rule 7d: a one-word ORG that is the head of the one ORG of the article named "<head> of
    # <name>" ("the Bank" after "Bank of England", "the Academy" after "Academy of Motion
    # Picture Arts and Sciences"), when no longer ORG of the article ends in it ("Deutsche
    # Bank" makes "Bank" ambiguous) and no other one starts with it ("House of Commons" and
    # "House of Lords").
    by_head: dict[str, set[int]] = {}
    for j in range(n):
        words = clean[j].split()
        if is_org[j] and len(words) >= 3 and words[1] == "of" and words[0][:1].isupper() and words[2][:1].isupper():
            by_head.setdefault(name_key(words[0]), set()).add(j)
    for i in range(n):
        if not is_org[i] or i in out or " " in okeys[i] or okeys[i] in by_last:
            continue
        fits = {okeys[j] for j in by_head.get(okeys[i], ())}
        if len(fits) == 1:
            j = min(by_head[okeys[i]])
            out[i] = out.get(j, clean[j])
    # Rule 7e: a name's leading words written after the name ("Real" after "Real Madrid",
    # "Pan Am" after "Pan Am World Airways"), whatever words follow them, when one ORG of
    # the article starts with them (see `_org_leads`). News writes the full name first and
    # a short form after it; a short form written first is a name of its own ("Google"
    # before "Google News", "Microsoft" before "Microsoft Office"). Takes the long form's
    # name and id, as rules 7b and 7d do: "Real" is Real Madrid in one article and Real
    # Sociedad in another.
    leads = _org_leads(labels, clean, keys, is_org, okeys)
    first_of: dict[str, int] = {}
    for i in range(n):
        first_of.setdefault(keys[i], i)
    names = {okeys[j] for j in range(n) if is_org[j] and okeys[j] != keys[j]}
    forms: dict[int, set[str]] = defaultdict(set)  # a person cluster's keys in the article
    for j in range(n):
        if assigned[j] is not None:
            forms[id(assigned[j])].add(keys[j])
    for i in range(n):
        if (i in out or labels[i] not in ("ORG", "PERSON") or keys[i] not in leads or keys[i] in names
                or not short_form(i)):
            continue  # an ORG of the article written so is that ORG ("Avco" of "Avco Corp")
        if assigned[i] is not None and forms[id(assigned[i])] - {keys[i]}:
            continue  # a person the article writes another way ("Steve Redgrave" ... "Redgrave")
        hit = leads[keys[i]]
        # A PERSON-tagged short form only before two words or more: one word after a
        # "person" is mostly the surname of a person tagged ORG ("Phillips Idowu").
        if hit is not None and hit[0] < first_of[keys[i]] and (labels[i] == "ORG" or hit[1] >= 2):
            out[i] = out.get(hit[0], clean[hit[0]])
    return out, short_of


# Words after an organisation's name that make a part of it, a place or an event named
# after it, not the organisation ("Senate Budget Committee", "Celtic Park", "Butler
# Inquiry"), and parliamentary post-nominals that NER glues to a party ("Labour MP"):
# rule 7e joins no short form to such a name.
_PART_WORDS = frozenset("""committee committees subcommittee board panel inquiry award awards prize
    park stadium arena trophy cup mp mps mep meps msp msps mla mlas""".split())
# What ends a name after its own words: legal forms and what joins them ("Smith and Co Inc").
_LEGAL_TAIL = _LEGAL_SUFFIXES | {"and", ""}
# Function words that a title capitalises ("Meet The Parents", "Pirates Of The Caribbean").
_TITLE_FUNCTION_WORDS = frozenset("the of and for in on at to a an vs more".split())


def _org_leads(labels: list[str], clean: list[str], keys: list[str], is_org: list[bool],
               okeys: list[str]) -> dict[str, tuple[int, int] | None]:
    """Rule 7e's long forms: the key of each run of leading words of an ORG of the article
    -> (the mention that first writes that ORG, how many words follow them) ("real" ->
    "Real Madrid", 1), or None when two ORGs of the article start with those words ("Fiat
    Auto", "Fiat Powertrain"). Only where every word after them is capitalised, a number
    or "&" ("Channel 4", "Marsh & McLennan"; not "Arsenal for the Premiership", "Meet The
    Parents"), the name has no possessive ("Arsenal's Edu"), does not end in a
    `_PART_WORDS` word, and its last word is no name the article writes alone, other than a
    place ("Guillermo Coria" tagged ORG, "Coria"; "Sony PlayStation", "PlayStation"); never a
    country, a demonym ("British Airways") or `_ORG_DESCRIPTORS` words alone ("Energy
    Trading Inc")."""
    alone = {keys[j] for j in range(len(keys))
             if labels[j] not in ("GPE", "LOC", "NORP") and keys[j] and " " not in keys[j]}
    out: dict[str, tuple[int, int] | None] = {}
    owner: dict[str, str] = {}
    for j in range(len(keys)):
        if not is_org[j] or _POSSESSIVE_RE.search(clean[j]) or INNER_POSSESSIVE_RE.search(clean[j]):
            continue
        words = clean[j].split()
        while len(words) > 1 and name_key(words[-1]) in _LEGAL_TAIL:
            words = words[:-1]  # "Harcourt Brace Jovanovich Inc": the name's own words
        if len(words) < 2 or name_key(words[-1]) in alone or name_key(words[-1]) in _PART_WORDS:
            continue
        for k in range(1, len(words)):
            tail = words[k:]
            if words[k - 1] == "&" or not all(
                    w == "&" or ((w[:1].isupper() or w[:1].isdigit()) and w.lower() not in _TITLE_FUNCTION_WORDS)
                    for w in tail):
                continue
            lead = name_key(" ".join(words[:k]))
            if (not lead or lead == okeys[j] or _names_country(lead) or lead in _demonym_table()
                    or all(t in _ORG_DESCRIPTORS for t in lead.split())):
                continue  # descriptors alone are no name ("Energy" of "Energy Trading Inc")
            if lead not in out:
                out[lead], owner[lead] = (j, len(tail)), okeys[j]
            elif owner[lead] != okeys[j]:
                out[lead] = None
    return out


def resolve_mentions(mentions: pl.DataFrame) -> pl.DataFrame:
    """Add `entity_id` and `entity_name` to NER mentions (one batch, any number of articles).

    Needs columns article_id, paragraph_index, start_char, text, label. Returns the same
    rows in the same order with `label` resolved (see module docstring), the NER's own
    label in `ner_label`, and the two new columns. entity_id is null only for a span
    that names two people at once ("Trump-Kim summits"). A span with a glued
    sentence-initial word ("Once Ford", rule 0) comes back trimmed: its `text` and
    `start_char` (and nothing else) change; one with a glued participle ("Houston-based",
    rule 0b) likewise its `text` and `end_char` (when the frame has `end_char`).
    Optional columns: `s_text`, `s_start` (each mention's sentence: rules 1b, 1c, 6b) and
    `article_apostrophes` (whether the article's text has an apostrophe: rule 1c; without
    it, the article's sentences that hold mentions decide).
    """
    extra = {"entity_id": pl.String, "entity_name": pl.String}
    if mentions.height == 0:
        return mentions.with_columns(
            pl.col("label").alias("ner_label"),
            *[pl.lit(None, dtype=t).alias(c) for c, t in extra.items()],
        )
    ordered = mentions.with_row_index("_row").sort(["article_id", "paragraph_index", "start_char", "_row"])
    art = ordered.get_column("article_id").to_list()
    labels_in = ordered.get_column("label").to_list()
    texts = ordered.get_column("text").to_list()
    if {"s_text", "s_start"} <= set(ordered.columns):
        defined = _defined_in_parentheses(
            texts, ordered.get_column("start_char").to_list(),
            list(zip(art, ordered.get_column("paragraph_index").to_list(),
                     ordered.get_column("s_start").to_list())),
            ordered.get_column("s_text").to_list())
    else:
        defined = [-1] * len(texts)
    titles = _royal_titles_before(ordered) if {"s_text", "s_start"} <= set(ordered.columns) else None
    if titles is not None:
        bare = _articles_without_apostrophes(ordered)
        after_the = [bool(t) for t in _before_span(ordered, THE_BEFORE)] if any(bare) else [False] * len(texts)
    else:
        bare, after_the = [False] * len(texts), []

    out_labels: list[str] = []
    out_ids: list[str | None] = []
    out_names: list[str] = []
    out_cut: list[int] = []
    out_cut_end: list[int] = []
    start = 0
    n = len(art)
    while start < n:
        end = start
        while end < n and art[end] == art[start]:
            end += 1
        lab, ids, names, cut, cut_end = _resolve_article(
            labels_in[start:end], texts[start:end], [j - start if j >= 0 else -1 for j in defined[start:end]],
            titles[start:end] if titles is not None else None, after_the[start:end] if bare[start] else None)
        out_labels += lab
        out_ids += ids
        out_names += names
        out_cut += cut
        out_cut_end += cut_end
        start = end

    start_dtype = ordered.schema["start_char"]
    resolved = ordered.with_columns(
        pl.col("label").alias("ner_label"),
        pl.Series("label", out_labels, dtype=pl.String),
        pl.Series("entity_id", out_ids, dtype=pl.String),
        pl.Series("entity_name", out_names, dtype=pl.String),
        pl.Series("_cut", out_cut, dtype=pl.Int64),
        pl.Series("_cut_end", out_cut_end, dtype=pl.Int64),
    ).with_columns(
        pl.col("text").str.slice(pl.col("_cut"), pl.col("text").str.len_chars() - pl.col("_cut") - pl.col("_cut_end")),
        (pl.col("start_char").cast(pl.Int64) + pl.col("_cut")).cast(start_dtype),
    )
    if "end_char" in resolved.columns:
        resolved = resolved.with_columns(
            (pl.col("end_char").cast(pl.Int64) - pl.col("_cut_end")).cast(ordered.schema["end_char"]))
    return resolved.sort("_row").drop("_row", "_cut", "_cut_end")


def _clean_surface_expr(col: str = "text", label: str = "label") -> pl.Expr:
    """Native-Polars version of clean_name (aliases and names in build_entities)."""
    wrap_head = r"^[\s\"“”'‘’«»()\[\]{},;:.!?]+"
    wrap_tail = r"[\s\"“”'‘’«»()\[\]{},;:!?]+$"
    # A currency sign ends the name unless glued to a capital ("US$" names a currency; no
    # look-behind in Polars' regex, so the character before it is matched and put back).
    currency_tail = r"(^|[^A-Z])[£$€¥]+$"

    def unwrap_tail(e: pl.Expr) -> pl.Expr:
        for _ in range(2):
            e = e.str.replace(wrap_tail, "").str.replace(currency_tail, "${1}")
        return e

    s = unwrap_tail(
        pl.col(col)
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .str.replace(wrap_head, "")
    )
    for _ in range(2):  # a possessive ("Jones’s", "Charlesʼ"), then what it exposed, as clean_name does
        s = unwrap_tail(s.str.replace(r"(?:['’ʼ][sS]|([sSzZ])['’ʼ])$", "${1}").str.strip_chars())
    s = s.str.replace(r"^the (.)", "${1}")
    untitled = s.str.replace(r"(?i)" + _TITLE_PATTERN, "")
    s = pl.when((pl.col(label) == "PERSON") & (untitled.str.len_chars() > 0)).then(untitled).otherwise(s)
    return pl.when(s.str.len_chars() > 0).then(s)


ENTITY_COUNT_SCHEMA = {
    "entity_id": pl.String, "text": pl.String, "label": pl.String, "entity_name": pl.String,
    "mentions": pl.Int64, "articles": pl.Int64, "first_pos": pl.Int64,
}


# An entity only ever written as one word, voted PERSON, whose most frequent other label has
# at least PERSON_DOUBT_MENTIONS mentions and PERSON_DOUBT_SHARE of all its mentions, takes
# that label (entities_from_counts). Counted on the BBC corpus: of the 360 PERSON-voted
# entities with a full-name form and 10+ mentions, 95% never carry another label, and the only
# ones that carry one twice and on 10%+ of their mentions are not people (Brit Awards, Ask
# Jeeves, Air Deccan); the nearest person is Arjen Robben, 2 of 22. Of the 1,296 one-word
# PERSON entities the rule takes 18, none of them a person: Chelsea, Gartner, Opera,
# Newsnight, Disney, Westlife, Devon, ... (12 then get the right label, 6 a wrong non-person
# one such as NORP for Grammy). Mononyms (Bono, Madonna, Elvis) and bare surnames carry no
# other label there. Yukos (2 ORG of 171) stays PERSON: a share that small is the NER's noise
# on people, and both conditions keep a large entity's label from following a few errors in
# years of news.
PERSON_DOUBT_MENTIONS = 2
PERSON_DOUBT_SHARE = 0.1

# Brand spelling: a lowercase letter then a capital inside one word, the whole name with no
# hyphen ("WeWork", "iPhone", "GlaxoSmithKline", "MoD"). Companies, products and works are
# written so; a person's or a place's name only after a surname prefix ("McIlroy",
# "MacDonald", "DeKalb", "LaSalle"), and the name of a people or party never. An entity only
# ever written as one word, that is written so in at least half of its mentions and voted
# PERSON, GPE or LOC without such a prefix, or an entity voted NORP with such a word in at
# least half of its mentions, takes its most frequent other label that is none of those
# four, else ORG (entities_from_counts). On the BBC corpus the rule takes 24 entities, none of them a
# person, place or people: "EastEnders", "GlaxoSmithKline" and "MoD" voted PERSON, "GameBoy"
# and "MacWorld" NORP, "SonyEricsson" and "PepsiCo" GPE, ..., and a few glued typos
# ("atLabour"); "McIlroy" and "McManus" stay people. On the 121 web pages of
# ../shared/data/extraction it takes 17 ("WeWork" voted PERSON on 36 mentions, "SpaceX" and
# "iPhone" GPE, "MacBook" NORP, ...). ELEVANT has none. The word rule for names voted NORP
# takes 4 more BBC entities ("Nintendo GameBoy", "TiVo DVR", ...) and 7 on the web pages
# ("MacBook Pro", 72 mentions).
# A word so spelled, anywhere in the name: for a one-word entity the name itself; for a name
# voted NORP any of its words ("MacBook Pro", "Nintendo GameBoy": a people's name has none; a
# person's full name often has one: "Paul McCartney").
_INTERCAP = r"(?:^|\s)[A-Za-z]*[a-z][A-Z][A-Za-z0-9.]*(?:\s|$)"
_NAME_PREFIX = r"^(?:Mc|Mac|Fitz|De|Di|Da|Du|La|Le|Van|Von)[A-Z]"
# A one-word name written in capitals ("ODPM", "IAAF", "WPP", "HD"; on the web pages "KLOOK")
# and voted PERSON is an acronym or a brand: news writes a person's name in capitals only in
# an all-caps headline, which the NER post-processing leaves out of label votes. BBC: 39
# entities (118 mentions), none a person but "JK" and "JFK".
_ALL_CAPS_WORD = r"^[A-Z][A-Z0-9&.'’-]*[A-Z0-9]\.?$"
_NOT_BRAND_LABELS = ("PERSON", *DOUBT_LABELS, "GPE", "LOC")

# Event names: a name of two or more words whose last word is an event's head noun ("Brit
# Awards", "Champions League" is not one: "League" also ends organisations' names; "London
# Marathon", "Australian Open", "Davis Cup", "Super Bowl", "Athens Olympics"). The NER
# (CoNLL's MISC mapped to OntoNotes) calls many of them NORP, and some PERSON or ORG. An
# entity so written in at least half of its mentions and voted NORP, PERSON or ORG is an
# EVENT (entities_from_counts). Not "Day" ("Chris Day"), "Games" ("Argonaut Games", a
# company), "Show" or "Series" (programmes, products). On the BBC corpus the rule takes 72
# entities, every one an event or award ("Grand Slam" and "Academy Awards" NORP, "Brit
# Awards" and "Grammy Awards" PERSON, "Athens Olympics" ORG, ...); 8 on the extraction
# pages, 3 on ELEVANT ("Pro Bowl", "Rio Olympics", "Irish Spring Festival"). GPE and LOC
# votes are left alone: "Hollywood Bowl" is a venue. A prize or a medal is an event's
# award, labelled as "Brit Awards" is ("Booker Prize", "Pulitzer Prize" and "Hans Christian
# Andersen Award" were PERSON on BBC and NewsMTSC).
_EVENT_HEAD = (r"\S\s+(?:Awards?|Prizes?|Medals?|Championships?|Olympics|Marathon|Open|Cup|Bowl|Festival|Prix|Trophy"
               r"|Slam)$")
_EVENT_FROM_LABELS = (*DOUBT_LABELS, "PERSON", "ORG")

# Organisation names: a name of two or more words whose last word is an organisation's head
# noun ("Hellenic Olympic Committee", "World Anti-Doping Agency", "Fabian Society", "Police
# Federation", "Washington University") voted NORP, PERSON, GPE or LOC is an ORG
# (entities_from_counts), when at least half of its mentions are written so. Not "Union",
# "Bank", "Office" or "Department", which also end places' names ("Soviet Union", "West
# Bank", "Oval Office", a country's departments), nor "Group" or "Service". On the BBC
# corpus the rule takes 33 entities, every one an organisation, a competition or a party
# ("Champions League" NORP, "The Hansard Society" PERSON, "Football Federation" GPE, ...);
# 5 on the extraction pages ("Arab League", "Palestinian Authority"), 9 on ELEVANT ("George
# Mason University" PERSON, "Port Authority" GPE).
_ORG_HEAD = (r"\S\s+(?:League|Association|Federation|Council|Committee|Commission|Institute|Agency|Authority|"
             r"Company|Corporation|Club|Society|Foundation|Party|University|College|Ministry|Trust|"
             r"Organisation|Organization|Films|Productions|Studios|Records|Airlines|Airways|Police|Orchestra|"
             r"Hospital|School|Times|Herald|Tribune|Gazette|Journal)$")
_ORG_FROM_LABELS = (*DOUBT_LABELS, "PERSON", "GPE", "LOC")
# Head nouns of buildings and venues ("Sage Centre", "Kennedy Center", "Moscone Center",
# "Blossom Music Center": voted GPE or NORP on BBC and the extraction pages): a facility.
# Not "Hall" or "Tower", which are surnames too, nor a research centre ("Foreign Policy
# Centre", "Centre for ..."), an organisation.
_FAC_HEAD = r"\S\s+(?:Centre|Center|Stadium|Arena|Airport|Amphitheatre|Amphitheater|Theatre|Theater)$"
_RESEARCH_CENTRE = r"\b(?:Policy|Research|Studies)\s+(?:Centre|Center)$"
_FAC_FROM_LABELS = (*DOUBT_LABELS, "PERSON", "GPE", "LOC")
_ORG_NAME_END_RE = re.compile(f"(?:{_ORG_HEAD})|(?:{_LEGAL_FORM_END})")
# A name that ends in any head noun above ("Orange Prize"): its last word says what it is
# (ner._company_products leaves such names to the head rules).
HEAD_NOUN_END_RE = re.compile(f"{_ORG_NAME_END_RE.pattern}|(?:{_FAC_HEAD})|(?:{_EVENT_HEAD})")


def entity_counts(mentions: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """What `entities` is computed from, as additive counts (the warehouse keeps them, so a
    run updates an entity from its counts, not from all of its mentions).

    One row per (entity_id, text, label, entity_name) with `mentions` (how many) and
    `first_pos` (the earliest paragraph_index * 1e6 + start_char, null when the input has no
    positions), plus one row per entity_id with text, label and entity_name null and
    `articles` = the number of articles naming it. Counts of two inputs add up (an article
    lands whole, so a removed article's own counts are subtracted exactly); `first_pos` is a
    minimum, so the warehouse stores counts without positions.
    """
    lf = mentions.lazy().filter(pl.col("entity_id").is_not_null())
    cols = lf.collect_schema().names()
    pos = (
        pl.col("paragraph_index").cast(pl.Int64) * 1_000_000 + pl.col("start_char").cast(pl.Int64)
        if {"paragraph_index", "start_char"} <= set(cols)
        else pl.lit(None, dtype=pl.Int64)
    )
    name = pl.col("entity_name") if "entity_name" in cols else pl.lit(None, dtype=pl.String)
    lf = lf.with_columns(pl.col("text", "label").cast(pl.String), entity_name=name.cast(pl.String), _pos=pos)
    forms = lf.group_by("entity_id", "text", "label", "entity_name").agg(
        pl.len().cast(pl.Int64).alias("mentions"), pl.lit(0, dtype=pl.Int64).alias("articles"),
        pl.col("_pos").min().alias("first_pos"))
    arts = lf.group_by("entity_id").agg(
        pl.lit(None, dtype=pl.String).alias("text"), pl.lit(None, dtype=pl.String).alias("label"),
        pl.lit(None, dtype=pl.String).alias("entity_name"), pl.lit(0, dtype=pl.Int64).alias("mentions"),
        pl.col("article_id").n_unique().cast(pl.Int64).alias("articles"),
        pl.lit(None, dtype=pl.Int64).alias("first_pos"))
    return pl.concat([forms, arts]).select(list(ENTITY_COUNT_SCHEMA)).cast(ENTITY_COUNT_SCHEMA).collect()


def sum_entity_counts(counts: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Counts of several inputs (negative ones: removed articles) added up; rows that come
    to zero are dropped."""
    return (counts.lazy().group_by("entity_id", "text", "label", "entity_name")
            .agg(pl.col("mentions").sum(), pl.col("articles").sum(), pl.col("first_pos").min())
            .filter((pl.col("mentions") != 0) | (pl.col("articles") != 0))
            .select(list(ENTITY_COUNT_SCHEMA)).cast(ENTITY_COUNT_SCHEMA).collect())


def build_entities(resolved_mentions_all: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """One row per entity_id from all landed mentions (every article, every run):
    `entities_from_counts(entity_counts(mentions))`.

    Input: the warehouse `entity_mentions` table as it is landed (columns entity_id,
    article_id, text, label; paragraph_index and start_char used for tie-breaks when
    present, and entity_name used as a tie-break when present), or the fresh output of
    resolve_mentions; a DataFrame or a LazyFrame.
    """
    return entities_from_counts(entity_counts(resolved_mentions_all))


def entities_from_counts(counts: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """One row per entity_id from its `entity_counts` rows (of one input or summed).

    Every canonical name is itself a cleaned surface form, so names are chosen from the
    cleaned surface forms. name: among them, prefer not-all-caps (acronyms of up to six
    letters excepted: "US" beats a rare "Us" by frequency); then, for an entity whose
    voted label is PERSON, a form not led by "The", then the one with the most words (each
    part of a hyphenated word counts; a first initial half a word: "Guy Easterby", then the
    "G Easterby" of line-ups, then "Easterby"), then the most frequent, then the longest,
    and for any other entity a form that its articles did not name by a fuller form ending in it
    ("Manchester United", not "United": rule 7b), then the most frequent, then the
    longest; then the one most often chosen as
    entity_name, then the one seen earliest in its article (when positions were counted),
    then alphabetical.
    label: the most frequent (resolved) label, ties -> alphabetical (the corpus-level
    vote: ids do not depend on labels, so one entity gathers every label NER gave it).
    Seven exceptions. An entity written with a legal form ("Noranda Inc", _LEGAL_FORM_END)
    is ORG. One written as a brand ("WeWork", "iPhone"; for NORP a word so written
    anywhere: "MacBook Pro"; _INTERCAP) is no person, place or people: it takes its most
    frequent other label, else ORG; one word written in capitals ("IAAF"; _ALL_CAPS_WORD)
    is no person: it takes its most frequent label but PERSON, else ORG. A name ending in an event's head noun ("Brit Awards",
    "London Marathon": _EVENT_HEAD) voted NORP, PERSON or ORG is an EVENT, and one ending in
    an organisation's head noun ("Fabian Society", "Miramax Films", "Sunday Times": _ORG_HEAD)
    voted NORP, PERSON, GPE or LOC is an ORG, and one ending in a building's or venue's
    ("Kennedy Center", "Sage Centre": _FAC_HEAD) so voted is a FAC. PERSON loses to the
    most frequent other label when that label has at least PERSON_DOUBT_MENTIONS mentions
    and PERSON_DOUBT_SHARE of them all, and the entity is only ever written as one word.
    News introduces a person by full name or title ("Gordon Brown", "Lord Falconer"), so a
    one-word PERSON that the NER also calls something else is a club, company or programme
    ("Chelsea", "Gartner", "Newsnight"); see PERSON_DOUBT_MENTIONS.
    Every output value of an id depends only on that id's counts, so calling this on the
    counts of just the ids a run touched gives the same rows as on the corpus.
    aliases: sorted distinct cleaned surface forms (possessives and PERSON titles
    stripped), short forms included.
    country_code: ISO 3166-1 alpha-2 of a country or of a demonym's country
    (`country_of_entity`), so "US" and "American" share "US" and stay two entities.
    """
    c = sum_entity_counts(counts).lazy()
    forms = c.filter(pl.col("mentions") > 0).with_columns(_alias=_clean_surface_expr("text", "label"))
    names = (
        forms.filter(pl.col("_alias").is_not_null())
        .group_by("entity_id", "_alias")
        .agg(pl.col("mentions").sum().alias("_n"), pl.col("first_pos").min().alias("_pos"))
    )
    # How often each form was the per-article canonical name: breaks "Kim Jong-un" /
    # "Kim Jong Un" ties when the landed table has no positions.
    canon = (forms.filter(pl.col("entity_name").is_not_null())
             .group_by("entity_id", pl.col("entity_name").alias("_alias")).agg(pl.col("mentions").sum().alias("_nn")))
    names = names.join(canon, on=["entity_id", "_alias"], how="left")
    # A form that its articles named by a fuller form ending in it ("United", named
    # "Manchester United" in its article by rule 7b) names the entity only when nothing
    # else does.
    suffixes = (
        forms.filter(pl.col("_alias").is_not_null() & pl.col("entity_name").is_not_null()
                     & (pl.col("entity_name") != pl.col("_alias"))
                     & pl.col("entity_name").str.ends_with(pl.lit(" ") + pl.col("_alias")))
        .select("entity_id", "_alias").unique().with_columns(pl.lit(True).alias("_suffix"))
    )
    names = names.join(suffixes, on=["entity_id", "_alias"], how="left")
    by_label = forms.group_by("entity_id", "label").agg(pl.col("mentions").sum().alias("_n"))
    first_label = pl.col("label").sort_by([pl.col("_n"), pl.col("label")], descending=[True, False]).first()
    other = (by_label.filter(pl.col("label") != "PERSON").group_by("entity_id")
             .agg(first_label.alias("_other"), pl.col("_n").max().alias("_other_n")))
    def in_most_mentions(pattern: str, name: str, unless: str | None = None) -> pl.Expr:
        """At least half of the entity's mentions are written in a form matching `pattern`
        (and not `unless`)."""
        hit = pl.col("_alias").str.contains(pattern).fill_null(False)
        if unless is not None:
            hit = hit & ~pl.col("_alias").str.contains(unless).fill_null(False)
        return (2 * (hit * pl.col("mentions")).sum() >= pl.col("mentions").sum()).alias(name)

    shape = forms.group_by("entity_id").agg(pl.col("text").str.contains(r"\s").not_().all().alias("_one_word"),
                                            pl.col("mentions").sum().alias("_all"),
                                            in_most_mentions(_INTERCAP, "_intercap"),
                                            in_most_mentions(_EVENT_HEAD, "_event"),
                                            in_most_mentions(_ORG_HEAD, "_org_head"),
                                            in_most_mentions(_FAC_HEAD, "_fac_head", _RESEARCH_CENTRE),
                                            in_most_mentions(_ALL_CAPS_WORD, "_caps"),
                                            pl.col("_alias").str.contains(_NAME_PREFIX).any().alias("_prefixed"))
    brand_other = (by_label.filter(~pl.col("label").is_in(_NOT_BRAND_LABELS)).group_by("entity_id")
                   .agg(first_label.alias("_brand_other")))
    # A name written with a legal form ("Noranda Inc", "Southern Co") is a company, whatever
    # the NER called its bare mentions.
    legal = forms.group_by("entity_id").agg(
        (pl.col("_alias").str.contains(_LEGAL_FORM_END) & (pl.col("_alias") != pl.col("_alias").str.to_uppercase()))
        .any().fill_null(False).alias("_legal"))
    doubted = ((pl.col("label") == "PERSON") & pl.col("_one_word") & (pl.col("_other_n") >= PERSON_DOUBT_MENTIONS)
               & (pl.col("_other_n") >= PERSON_DOUBT_SHARE * pl.col("_all")))
    brand = pl.col("_intercap") & (pl.col("label").is_in(DOUBT_LABELS) | (
        pl.col("_one_word") & pl.col("label").is_in(("PERSON", "GPE", "LOC")) & ~pl.col("_prefixed")))
    caps = pl.col("_caps") & pl.col("_one_word") & (pl.col("label") == "PERSON")
    labels = (
        by_label.group_by("entity_id").agg(first_label)
        .join(shape, on="entity_id", how="left")
        .join(other, on="entity_id", how="left")
        .join(legal, on="entity_id", how="left")
        .join(brand_other, on="entity_id", how="left")
        .select("entity_id", pl.when(pl.col("_legal")).then(pl.lit("ORG"))
                .when(brand).then(pl.col("_brand_other").fill_null("ORG"))
                .when(caps).then(pl.col("_other").fill_null("ORG"))
                .when(pl.col("_event") & pl.col("label").is_in(_EVENT_FROM_LABELS)).then(pl.lit("EVENT"))
                .when(pl.col("_org_head") & pl.col("label").is_in(_ORG_FROM_LABELS)).then(pl.lit("ORG"))
                .when(pl.col("_fac_head") & pl.col("label").is_in(_FAC_FROM_LABELS)).then(pl.lit("FAC"))
                .when(doubted).then(pl.col("_other")).otherwise(pl.col("label")).alias("label"))
    )
    person = pl.col("label") == "PERSON"
    length = pl.col("_alias").str.len_chars().cast(pl.Int64)
    words = pl.col("_alias").str.count_matches(_WORD_PART).cast(pl.Int64)
    # A form `initial_form` reads as a first initial: one letter, then a word of two or more
    # ("G Easterby", "R. de Marigny"; not "A. B. Smith", whose initials run on).
    initial = pl.col("_alias").str.contains(r"^\p{Lu}\.?\s+[^\s.]{2,}")
    names = (
        names.with_columns(pl.col("_nn").fill_null(0), pl.col("_pos").fill_null(0), pl.col("_suffix").fill_null(False))
        .join(labels, on="entity_id", how="left")
        .group_by("entity_id")
        .agg(
            pl.col("_alias")
            .sort_by(
                [
                    # "KIM JONG UN" (a headline) last, but not an acronym: "US" and "Us"
                    # (a magazine) are ranked by how often each is written.
                    (pl.col("_alias") == pl.col("_alias").str.to_uppercase())
                    & ~pl.col("_alias").str.replace_all(".", "", literal=True).str.contains(r"^\w{1,6}$"),
                    # People: the full name ("Tony Blair", not "Blair"): the most words, then
                    # the form written most often ("Wayne Rooney", not a once-written "Wayne
                    # Rooneys" that shares its key), then the longest. Other entities: the
                    # form written most often ("Russia", not a rare "Russian Federation")
                    # and not named by a fuller form ("Manchester United", not "United").
                    person.not_() & pl.col("_suffix"),
                    # ... but no form led by "The" for a person: "The Trump" is "The Trump
                    # campaign" cut short, not a fuller name than "Trump".
                    person & pl.col("_alias").str.starts_with("The "),
                    # A first initial is half a word: "Guy Easterby" over the "G Easterby"
                    # of a line-up, which is still fuller than "Easterby".
                    pl.when(person).then(words.cast(pl.Float64) - 0.5 * initial.cast(pl.Float64))
                    .otherwise(pl.col("_n").cast(pl.Float64)),
                    pl.when(person).then(pl.col("_n")).otherwise(length),
                    pl.when(person).then(length).otherwise(0),
                    pl.col("_nn"),
                    pl.col("_pos"),
                    pl.col("_alias"),
                ],
                descending=[False, False, False, True, True, True, True, False, False],
            )
            .first()
            .alias("name")
        )
    )
    stats = c.group_by("entity_id").agg(
        pl.col("articles").sum().alias("article_count"),
        pl.col("mentions").sum().alias("mention_count"),
        pl.col("text").filter(pl.col("mentions") > 0).drop_nulls().min().alias("_raw"),
    ).filter(pl.col("mention_count") > 0)
    aliases = forms.group_by("entity_id").agg(pl.col("_alias").drop_nulls().unique().sort().alias("aliases"))
    out = (
        stats.join(aliases, on="entity_id", how="left")
        .join(labels, on="entity_id", how="left")
        .join(names, on="entity_id", how="left")
        # A mention that is all punctuation has no cleaned form: fall back to its raw text.
        .with_columns(pl.coalesce("name", "_raw").alias("name"))
        .select("entity_id", "name", "label", "aliases", pl.col("article_count").cast(pl.Int64),
                pl.col("mention_count").cast(pl.Int64), country_of_entity().alias("country_code"))
        .sort("entity_id")
    )
    return out.collect()


# An acronym two known entities were called by goes to the one with this many times the
# mentions of the others together ("EU": 240 mentions as the European Union, 8 as a typo).
ACRONYM_DOMINANCE = 5


def _is_team_word(word: str) -> bool:
    """One capitalised plural word that can name a team ("Mariners", "Tigers"): no acronym,
    no demonym ("Americans"), no generic noun ("Airlines", "Times")."""
    return (" " not in word and len(word) >= 4 and word[:1].isupper() and word.endswith("s")
            and not _is_acronym(word) and not demonym_country(word)
            and name_key(word) not in _ORG_DESCRIPTORS and name_key(word) not in ("times", "news"))


def known_surnames(known: pl.DataFrame) -> list[str]:
    """Surnames of known people that the warehouse has seen written alone for them ("Trump":
    one of the aliases of a known "Donald Trump"), as their names write them: what the NER
    may tag as a person where it found nothing (ner._surnames). Whichever person of that
    surname is meant (linking decides that: link_to_known), the word names a person. A full
    name alone is no such evidence: NER's junk people ("Colin High") would make "High oil
    prices" a person. `known`: entity_id, name, label, aliases (known_entities)."""
    if known.height == 0 or "aliases" not in known.columns:
        return []
    out = set()
    for name, label, aliases in known.select("name", "label", "aliases").iter_rows():
        if (label or "").upper() != "PERSON" or not name or not aliases:
            continue
        words = name.split()
        while len(words) > 2 and name_key(words[-1]) in _SUFFIXES:
            words = words[:-1]
        if len(words) < 2 or name_key(words[0]) in _ROYAL_TITLES:
            continue
        surname = _POSSESSIVE_RE.sub("", words[-1])
        if surname in aliases:
            out.add(surname)
    return sorted(out)


def _surname_under_other_label(
    name: str, eid: str, unique: dict[str, tuple[str, str]], first_names: dict[str, int],
    count: dict[str, int], person_aliases: dict[str, set[str]],
) -> tuple[str, str] | None:
    """The one known person a one-word name that NER did not call a person stands for
    ("Trump" tagged ORG in an article that never gives the full name), or None. Only when
    the candidates write that word alone for the person (an alias), the person is named
    `ACRONYM_DOMINANCE` times as often as the word's own entity ("London" the city is no
    "Michael London", "Rock" no "Chris Rock") and no known people have it as a first name."""
    key = name_key(name)
    hit = unique.get(key)
    if (hit is None or key in first_names or key not in person_aliases.get(hit[0], ())
            or (count.get(hit[0]) or 0) < ACRONYM_DOMINANCE * max(count.get(eid) or 0, 1)):
        return None
    return hit


class KnownIndex(NamedTuple):
    """`link_to_known`'s lookups over one set of known entities (`known_index`)."""
    unique: dict[str, tuple[str, str]]  # surname -> the one known person of it
    first_names: dict[str, int]
    person_aliases: dict[str, set[str]]
    unique_acro: dict[str, tuple[str, str]]
    by_short: dict[str, set[tuple[str, str]]]
    by_head: dict[str, set[tuple[str, str, tuple[str, ...]]]]
    by_clip: dict[str, set[tuple[str, str]]]
    by_team: dict[str, set[tuple[str, str]]]
    count: dict[str, int]
    with_aliases: bool
    by_initial: dict[tuple[str, str], set[tuple[str, str]]]  # (initial, surname) -> known people
    variant_of: dict[str, tuple[str, str]]  # entity -> the organisation its long form is a variant of


def known_index(known: pl.DataFrame) -> KnownIndex:
    """The lookups `link_to_known` reads from `known` (see there): built once for a set of
    candidates that several batches link against."""
    by_surname: dict[str, set[tuple[str, str]]] = {}
    # The same by the first name's initial too ("g", "easterby"), for names written with one.
    by_initial: dict[tuple[str, str], set[tuple[str, str]]] = {}
    # Mentions of the known people whose first name each word is ("charles": Charles
    # Kennedy's and Charles Clarke's): a word that is also a first name is no surname to
    # guess unless the one person of that surname is named far more often.
    first_names: dict[str, int] = defaultdict(int)
    has_counts = "mention_count" in known.columns
    with_aliases = "aliases" in known.columns
    for eid, name, label, *n in known.select("entity_id", "name", "label",
                                             *(["mention_count"] if has_counts else [])).iter_rows():
        if (label or "").upper() != "PERSON" or not name:
            continue
        toks = [t for t in name_key(name).split()]
        while len(toks) > 2 and toks[-1] in _SUFFIXES:
            toks = toks[:-1]
        if len(toks) < 2 or toks[0] in _ROYAL_TITLES:
            continue
        first_names[toks[0]] += (n[0] or 0) if has_counts else 1
        # "Andrew Lloyd Webber": surname "webber" and "lloyd webber".
        for k in range(1, len(toks)):
            by_surname.setdefault(" ".join(toks[-k:]), set()).add((eid, name))
            if len(toks[0]) > 1 and not with_aliases:
                by_initial.setdefault((toks[0][0], " ".join(toks[-k:])), set()).add((eid, name))
    unique = {s: next(iter(c)) for s, c in by_surname.items() if len({e for e, _ in c}) == 1}
    # The words each known person was written as alone ("trump" for Donald Trump).
    person_aliases: dict[str, set[str]] = {}
    if with_aliases:
        for eid, name, label, aliases in known.select("entity_id", "name", "label", "aliases").iter_rows():
            if (label or "").upper() == "PERSON" and aliases:
                person_aliases.setdefault(eid, set()).update(name_key(a) for a in aliases if a and " " not in a.strip())
                # With aliases, a person is found by a first initial only when some article
                # wrote them so next to their full name (rule 3b made it an alias): "R Kelly"
                # the singer is no known "Ruth Kelly" that no article called "R Kelly".
                if name and initial_form(name_key(name)) is None:
                    for a in aliases:
                        if a and (form := initial_form(name_key(a))) is not None:
                            by_initial.setdefault(form, set()).add((eid, name))
    by_initials: dict[str, set[tuple[str, str]]] = {}
    variants: dict[str, dict[str, set[tuple[str | None, str]]]] = {}  # acronym -> entity -> long forms' keys
    rows = known.select("entity_id", "name", "label", *(["aliases"] if with_aliases else [])).iter_rows()
    for eid, name, label, *rest in rows:
        if (label or "").upper() != "ORG" or not name:
            continue
        if not with_aliases:
            forms, acronyms = [name], None
        else:
            # Evidence that the acronym names this entity: it is one of the entity's written
            # forms, next to a spelled-out form it abbreviates (the entity "European Union",
            # often *called* "EU", is found by its alias "European Union").
            forms = [a for a in (rest[0] or []) if a]
            acronyms = {a.replace(".", "").upper() for a in forms if _is_acronym(a)}
        for form in forms:
            if len(name_key(form).split()) >= 2 and not _is_acronym(form):
                spelled = {a for a in _initials(form) if len(a) >= 2 and (acronyms is None or a in acronyms)}
                # An acronym of the entity's own forms that is no plain initials, written
                # next to this form by some article (rule 6b: "UK Independence Party (UKIP)").
                spelled |= {a for a in acronyms or () if abbreviates(a, form)}
                for acro in sorted(spelled):  # a fixed order, whatever the set hashes
                    by_initials.setdefault(acro, set()).add((eid, name))
                    variants.setdefault(acro, {}).setdefault(eid, set()).add(variant_key(form))
    unique_acro = {a: next(iter(c)) for a, c in by_initials.items() if len({e for e, _ in c}) == 1}
    variant_of: dict[str, tuple[str, str]] = {}
    count = dict(known.select("entity_id", "mention_count").iter_rows()) if "mention_count" in known.columns else {}
    if with_aliases and "mention_count" in known.columns:
        # Several entities called by the acronym: the one the corpus names far more often
        # (the European Union against a one-article typo "Europe Union") is meant. So is
        # the most named when their long forms are variants of one name (`variants_of_one`:
        # "Office for" / "Office of National Statistics", "US Federal Communications
        # Commission" / "Federal Communications Commission", each written next to its
        # acronym by some article): the others are that organisation too (rule 6c).
        for acro, cands in by_initials.items():
            ranked = sorted({e for e, _ in cands}, key=lambda e: (-(count.get(e) or 0), e))
            if acro not in unique_acro and len(ranked) > 1:
                top, rest = count.get(ranked[0]) or 0, sum(count.get(e) or 0 for e in ranked[1:])
                one = variants_of_one(variants.get(acro, {}))
                if top >= ACRONYM_DOMINANCE * max(rest, 1) or one:
                    unique_acro[acro] = next(c for c in cands if c[0] == ranked[0])
                if one:
                    for e in ranked[1:]:
                        variant_of.setdefault(e, unique_acro[acro])
    # Organisations known by a short form: an entity whose name (its most written form) is
    # not the name its id comes from ("Acme", id of "Acme Chemical Co": articles wrote
    # both, rule 7). The short form written alone elsewhere is that entity.
    by_short: dict[str, set[tuple[str, str]]] = {}
    for eid, name, label in known.select("entity_id", "name", "label").iter_rows():
        if (label or "").upper() == "ORG" and name and not _is_acronym(name) and entity_id_for("ORG", name) != eid:
            by_short.setdefault(_org_key(name), set()).add((eid, name))
    # ... and by the long forms some article joined to them (the entity's aliases: "Acme"
    # with alias "Acme Chemical Co"): the same long form, or a shorter or longer version of
    # it ("Acme Chemical"), written alone elsewhere is that entity. Another long form of the
    # same head is not: "United Bank" is not "United" of "United Airlines".
    by_head: dict[str, set[tuple[str, str, tuple[str, ...]]]] = {}
    if with_aliases:
        for eid, name, label, aliases in known.select("entity_id", "name", "label", "aliases").iter_rows():
            if (label or "").upper() != "ORG" or not name or _is_acronym(name) or not aliases:
                continue
            forms = [a for a in aliases if a and not _is_acronym(a)]
            if len(forms) < 2:
                continue  # one written form: no evidence of a short and a long form
            short_keys = {_org_key(a) for a in forms}
            for alias in forms:
                heads = _org_heads(alias) & short_keys
                if heads or _country_prefix(name_key(alias)) in short_keys:
                    by_short.setdefault(_org_key(alias), set()).add((eid, name))
                for head in heads:
                    by_head.setdefault(head, set()).add((eid, name, tuple(_org_key(alias).split())))

    # Clipped names (rule 7c) that some article wrote next to the name they clip, so both
    # are the entity's aliases: written alone elsewhere, the clip is that entity ("Lib
    # Dems" in an article that never spells out "Liberal Democrats").
    by_clip: dict[str, set[tuple[str, str]]] = {}
    if with_aliases:
        for eid, name, label, aliases in known.select("entity_id", "name", "label", "aliases").iter_rows():
            if (label or "").upper() not in ("ORG", *DOUBT_LABELS) or not name or not aliases or len(aliases) < 2:
                continue
            forms = [a for a in aliases if a]
            for a in forms:
                if any(b[:1] == a[:1] and clips(a, b) for b in forms):
                    by_clip.setdefault(_fold_plural(_org_key(a)), set()).add((eid, name))

    # Teams named after their place (rule 7b across articles): "<place> <plural>" known as
    # an ORG ("Seattle Mariners", the place a known GPE or LOC) and the plural written alone
    # elsewhere ("the Mariners"). Not a country: a national side or body ("USA Eagles", "UK
    # Athletics") is no more the bare word than "US Treasury" is "Treasury" (rule 8).
    places = {name_key(n) for n, lab in known.select("name", "label").iter_rows()
              if n and (lab or "").upper() in ("GPE", "LOC")}
    by_team: dict[str, set[tuple[str, str]]] = {}
    for eid, name, label, *rest in known.select("entity_id", "name", "label",
                                                *(["aliases"] if with_aliases else [])).iter_rows():
        if (label or "").upper() != "ORG" or not name:
            continue
        for form in {name, *((rest[0] or []) if rest else [])}:
            words = (form or "").split()
            if len(words) < 2 or _is_acronym(form) or not _is_team_word(words[-1]):
                continue
            qualifier = " ".join(words[:-1])
            if name_key(qualifier) in places and not country_code(qualifier, "GPE"):
                by_team.setdefault(name_key(words[-1]), set()).add((eid, name))

    return KnownIndex(unique, first_names, person_aliases, unique_acro, by_short, by_head, by_clip,
                      by_team, count, with_aliases, by_initial, variant_of)


def link_to_known(mentions: pl.DataFrame, known: pl.DataFrame,
                  index: KnownIndex | None = None) -> pl.DataFrame:
    """Link bare surnames (and ORG acronyms) to the one known entity they can name.

    `mentions`: output of resolve_mentions (needs entity_id, entity_name, label).
    `known`: the candidate entities, at least columns entity_id, name, label: the
    caller's choice of "people known in the same source and time window" (for example
    build_entities over that source's mentions of the last N days, plus the full names
    resolved in the current batch). Only rows with label PERSON whose name has two or
    more words count; a name's surname is its last word (a generational suffix such as
    "Jr." skipped) or, for a hyphenated or multi-word surname, its last words.

    A mention is linked when its label is PERSON and its entity_name is one written word
    (the article never gave a full name: "Blair", "Lloyd-Webber") and exactly one known
    entity has that surname: it takes that entity's id and name. With zero or several
    known people of that surname ("Blair" when both Tony and Cherie Blair are known) it
    is left as it was; a first name ("Tony") never links, nor does a surname that known
    people have as their first name ("Charles": Ray Charles, and Charles Kennedy) unless
    the one person of that surname is named `ACRONYM_DOMINANCE` times as often as they
    are (without a `mention_count` column: never). With a `mention_count` column,
    neither does a word that the candidates name alone more than `ACRONYM_DOMINANCE`
    times as often as that person ("Oscar", the award, and an NER span "Strong Oscar").

    A name written with a first initial ("G Easterby", "R. de Marigny": sports line-ups,
    results tables) links the same way to the one known person of that surname whose first
    name starts with that letter ("Guy Easterby"); with two ("Gordon Brown", "Graham Brown"
    for "G Brown") or none it is left alone. With `aliases`, only a person that some article
    wrote in that form next to the full name (rule 3b) is a candidate: the singer "R Kelly"
    is no known "Ruth Kelly".

    ORG acronyms the same way: a mention labelled ORG (or NORP) whose entity_name is an
    acronym ("EU": the article never spelled it out) links to the one known ORG (label
    ORG) with a form of two or more words whose initials spell it ("European Union"; a
    trailing legal form may be left out: "GM" -> "General Motors Corp"); with several
    ("AP": Associated Press and Arsenal Press) it is left alone. When `known` has the
    entities table's `aliases` column, the acronym must also be one of the candidate's
    own forms (some article called it so): the European Union, named "EU" after its most
    written form, is found by its alias "European Union", and a known "Edinburgh
    University" that no article called "EU" is no candidate. Without `aliases`, the
    spelled-out name alone decides. With a `mention_count` column too, an acronym that
    several known entities were called by goes to the one with `ACRONYM_DOMINANCE` times
    the mentions of the others together.

    Organisations known by another form: an ORG mention whose entity_name is the name of
    exactly one known ORG entity whose id is not that name's own id (the corpus names
    the entity "Acme Chemical Co", but its id is that of "Acme": rules 7 and 8 joined
    the two forms in some article) takes that entity's id and name. With `aliases`, so
    does a mention written as one of a known organisation's long forms ("Acme Chemical
    Co", an alias of "Acme"; "US Federal Reserve", an alias of "Federal Reserve" that rule
    8 joined, while "US Treasury" is no alias of a "Treasury" some article called "UK
    Treasury") or as a shorter or longer version of one ("Moodys Investors" for
    "Moodys", whose alias "Moodys Investors Service Inc" shows "Moodys" is a short form;
    never another company of the same first word: "United Bank" is not the "United" of
    "United Airlines"). It needs evidence from an article that wrote both forms; a bare word is never
    guessed to be the head of a longer company name across articles ("Union" / "Union
    Investment").

    Clipped names (rule 7c, `clips`): an ORG or NORP mention written as a clip of another
    alias of one known ORG or NORP entity ("Lib Dems", both aliases of "Liberal Democrats"
    because an article wrote them together) takes that entity's id and name and keeps its
    label; a one-word clip only when tagged ORG ("Fed"). Two known entities clipped the
    same way: left alone.

    An acronym is also found by an alias that it abbreviates without being its initials
    (Schwartz & Hearst, `abbreviates`: "UKIP" of "UK Independence Party", both aliases of
    the entity because an article defined one by the other); and an acronym NER called a
    place ("UKIP" tagged GPE; never a country's own code) links with aliases only. A
    linked acronym's mention becomes ORG, as in an article that spells it out.

    Variants of one organisation's long form (rule 6c, with aliases and mention counts):
    when the entities called by one acronym all spell it out the same way up to "the",
    function words, plural endings and a leading country (`variant_key`: "Office of" and
    "Office for National Statistics", "US Federal Communications Commission" and "Federal
    Communications Commission"; never two different countries), they are one organisation:
    the acronym alone links to the most named of them, and so do the others' mentions.

    A surname under another label: a one-word mention NER tagged ORG, GPE, NORP, ... (not
    a country, demonym or acronym: "Trump" tagged ORG all through an article that never
    gives the full name) whose word is the surname of the one known person and one of that
    person's aliases, when that person is named `ACRONYM_DOMINANCE` times as often as the
    word's own entity ("London" the city is no "Michael London"), takes that person's id
    and name and becomes PERSON. Not when known people have the word as a first name.

    Teams named after their place: an ORG mention written as one capitalised plural word
    ("Mariners"; no demonym, no generic noun such as "Airlines") takes the id and name of
    the one known ORG written "<place> <that word>" ("Seattle Mariners"), the place a known
    GPE or LOC and no country; with two such teams ("Rangers") or a word the candidates
    write alone `ACRONYM_DOMINANCE` times as often as that team, it is left alone.

    Adds a boolean column `linked_to_known`; rows and their order are kept. `index`:
    `known_index(known)`, when the caller already built it.
    """
    if mentions.height == 0 or known.height == 0:
        return mentions.with_columns(pl.lit(False).alias("linked_to_known"))
    (unique, first_names, person_aliases, unique_acro, by_short, by_head, by_clip, by_team, count, with_aliases,
     by_initial, variant_of) = index if index is not None else known_index(known)
    # Decided once per distinct (id, name, label), then joined back to the mentions.
    keys = mentions.select("entity_id", "entity_name", "label").unique(maintain_order=True)
    ids = keys.get_column("entity_id").to_list()
    names = keys.get_column("entity_name").to_list()
    labels = keys.get_column("label").to_list()
    out_ids, out_names, out_labels, linked = [], [], [], []

    def alone_far_more(eid: str, hit_id: str) -> bool:
        """The word is written alone far more often than the candidate is named: it names
        something else ("Oscar" next to an NER span "Strong Oscar")."""
        return (count.get(eid) or 0) > ACRONYM_DOMINANCE * (count.get(hit_id) or 0)
    for eid, name, label in zip(ids, names, labels):
        hit, acronym = None, False
        if eid in variant_of:
            hit = variant_of[eid]  # each mention keeps its own label, as the vote wants
        elif (label or "").upper() == "PERSON" and name and not re.search(r"\s", name.strip()):
            key = name_key(name)
            hit = unique.get(key)
            if hit is not None and (alone_far_more(eid, hit[0]) or (
                    key in first_names and (count.get(hit[0]) or 1) < ACRONYM_DOMINANCE * first_names[key])):
                hit = None
        elif (label or "").upper() == "PERSON" and name and (form := initial_form(name_key(name))) is not None:
            fits = {c for c in by_initial.get(form, ()) if c[0] != eid}
            hit = next(iter(fits)) if len({e for e, _ in fits}) == 1 else None
        elif (label or "").upper() in ("ORG", *DOUBT_LABELS) and name and _is_acronym(name):
            hit, acronym = unique_acro.get(name.replace(".", "").upper()), True
        elif (with_aliases and (label or "").upper() in ("GPE", "LOC") and name and _is_acronym(name)
              and not country_code(name, "GPE")):
            # NER calls some organisations' acronyms places ("UKIP"): linked only to an
            # organisation that some article called so (its aliases).
            hit, acronym = unique_acro.get(name.replace(".", "").upper()), True
        elif (label or "").upper() == "ORG" and name and eid == entity_id_for("ORG", name):
            fits = {c for c in by_short.get(_org_key(name), ()) if c[0] != eid}
            if not fits:
                toks = tuple(_org_key(name).split())
                fits = {(e, n) for h in _org_heads(name) for e, n, long in by_head.get(h, ())
                        if e != eid and (long[:len(toks)] == toks or toks[:len(long)] == long)}
            hit = next(iter(fits)) if len({e for e, _ in fits}) == 1 else None
        lab = (label or "").upper()
        if (hit is None and by_team and lab == "ORG" and name and _is_team_word(name.strip())
                and eid == entity_id_for("ORG", name)):
            fits = {c for c in by_team.get(name_key(name), ()) if c[0] != eid}
            hit = next(iter(fits)) if len({e for e, _ in fits}) == 1 else None
            if hit is not None and alone_far_more(eid, hit[0]):
                hit = None
        if (hit is None and by_clip and lab in ("ORG", *DOUBT_LABELS) and name and eid == entity_id_for(lab, name)
                and (lab == "ORG" or " " in name.strip())):
            fits = {c for c in by_clip.get(_fold_plural(_org_key(name)), ()) if c[0] != eid}
            hit = next(iter(fits)) if len({e for e, _ in fits}) == 1 else None
        person = False
        if (hit is None and lab in _RELABEL_FROM and name and not re.search(r"\s", name.strip())
                and not _is_acronym(name) and not country_code(name, lab) and not demonym_country(name, lab)):
            hit = _surname_under_other_label(name, eid, unique, first_names, count, person_aliases)
            person = hit is not None
        if hit is not None and hit[0] != eid:
            out_ids.append(hit[0])
            out_names.append(hit[1])
            # An acronym linked to an organisation is one, as in an article that spells it
            # out (rule 6: "IMF" tagged NORP becomes ORG); a surname linked to a person is one.
            out_labels.append("ORG" if acronym else "PERSON" if person else label)
            linked.append(True)
        else:
            out_ids.append(eid)
            out_names.append(name)
            out_labels.append(label)
            linked.append(False)
    decided = keys.with_columns(
        pl.Series("_id", out_ids, dtype=pl.String),
        pl.Series("_name", out_names, dtype=pl.String),
        pl.Series("_label", out_labels, dtype=pl.String),
        pl.Series("linked_to_known", linked, dtype=pl.Boolean),
    )
    cols = mentions.columns
    return (
        mentions.join(decided, on=["entity_id", "entity_name", "label"], how="left", nulls_equal=True,
                      maintain_order="left")
        .with_columns(pl.col("_id").alias("entity_id"), pl.col("_name").alias("entity_name"),
                      pl.col("_label").alias("label"))
        .select(cols + ["linked_to_known"])
    )
