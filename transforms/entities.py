"""Canonical entities: resolve NER mentions to stable entity ids (issue #3, part 2).

Three steps, all pure (no I/O, no logging):

* `name_key` folds spelling variants ("Kim Jong-un", "Kim Jong Un", "KIM JONG UN") to
  one key; `entity_id_for` hashes label group + key into a stable id, so the same
  name gets the same id in every run and every article.
* `resolve_mentions` works article by article (the logic is sequential: a short form
  goes to the full name mentioned before it) and adds `entity_id` and `entity_name`.
* `build_entities` aggregates the landed mentions into one row per entity with native
  Polars expressions. `link_to_known` optionally links bare surnames in articles that
  never give the full name to a single known full-name entity.

Resolution rules inside one article (mentions in paragraph/character order):

1. Surface forms are cleaned: whitespace collapsed, wrapping punctuation and possessive
   endings ('s, ’s, trailing ' or ’) removed, a leading lowercase "the" dropped, and for
   PERSON a leading honorific ("Mr.", "President", ...) dropped.
2. PERSON names of two or more tokens are "full names"; the ones with the same
   `name_key` form one entity.
3. A PERSON mention whose tokens are a subset of a full name's tokens ("Trump",
   "Kim", "Jong Un") is a short form of it. When several full names fit, the one
   mentioned most recently before it wins; when none was mentioned before (a headline
   that uses the surname first), the first one mentioned after it.
4. Label conflicts: a mention tagged ORG/GPE/LOC/NORP/FAC/PRODUCT/WORK_OF_ART/EVENT
   whose tokens are a subset of a PERSON name in the same article ("Kim" tagged ORG)
   becomes that PERSON (its `label` column is rewritten; the NER label is kept in
   `ner_label`).
5. Spans that are not one person's full name: "Trump-Kim" (two people named elsewhere
   in the article) gets a null entity_id; "Putin Wants" (headline verb glued to a
   known surname) is a form of "Vladimir Putin".
6. ORG acronyms: an all-caps ORG mention ("UN", "NATO") links to the one ORG in the
   article whose initials spell it ("United Nations"); with zero or several candidates
   it stays its own entity.

The entity id comes from the canonical full name's key, so an article that says
"Kim Jong Un" and another that says "Kim Jong-un" (and then "Kim") give one id.
Known gap: a full name with an extra middle initial ("Donald J. Trump") has a different
key from "Donald Trump"; inside one article the shorter form links to the longer one,
but an article that only ever says "Donald J. Trump" yields a second entity.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import polars as pl

__all__ = [
    "name_key",
    "clean_name",
    "label_group",
    "entity_id_for",
    "resolve_mentions",
    "build_entities",
    "link_to_known",
]

# GPE and LOC are confused by every small NER model ("North Korea" is either), so they
# share an id space; every other OntoNotes label is its own group.
_LABEL_GROUPS = {"GPE": "PLACE", "LOC": "PLACE"}

# Labels that a bare surname is commonly mis-tagged with by en_core_web_sm.
_RELABEL_FROM = {"ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "WORK_OF_ART", "EVENT"}

# Generational suffixes: "Donald Trump Jr." is not a longer form of "Donald Trump".
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}

_APOSTROPHES = "'’‘`´ʼ"
_HYPHENS = "-‐‑‒–—―"
_POSSESSIVE_RE = re.compile(r"(?:['’ʼ][sS]|(?<=[sSzZ])['’ʼ])$")
_WRAP_RE = re.compile(r"^[\s\"“”'‘’«»()\[\]{},;:.!?]+|[\s\"“”'‘’«»()\[\]{},;:!?]+$")
_SPACE_RE = re.compile(r"\s+")
# Honorifics that NER sometimes includes in a PERSON span ("President Joe Biden").
_TITLE_PATTERN = (
    r"^(?:(?:mr|mrs|ms|miss|dr|prof|sir|dame|lord|lady|president|president-elect|"
    r"vice\s+president|prime\s+minister|chancellor|sen|senator|rep|gov|governor|gen|"
    r"general|col|colonel|capt|captain|king|queen|prince|princess|pope|"
    r"supreme\s+leader|leader|minister|secretary|judge|justice|mayor)\.?\s+)+"
)
_TITLE_RE = re.compile(_TITLE_PATTERN, re.IGNORECASE)
# Words skipped when forming an organisation's initials ("Bank of England" -> BOE/BE).
_INITIALS_STOP = {"of", "the", "and", "for", "in", "on", "at", "to", "&", "de", "du", "la"}


def name_key(name: str) -> str:
    """Spelling-variant key for a name: equal keys mean "the same name".

    Casefolded, diacritics stripped, a final possessive "'s" dropped, apostrophes and dots removed, hyphens and any other
    punctuation turned into spaces, runs of single letters joined ("J. R. R." -> "jrr",
    "U.S." -> "us" == "US"), a leading "the" dropped, whitespace collapsed.
    Idempotent: name_key(name_key(x)) == name_key(x).
    """
    s = unicodedata.normalize("NFKD", name or "")
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold()
    # Dots and apostrophes join ("U.S." -> "us", "O'Brien" -> "obrien"); every other
    # non-alphanumeric character separates tokens.
    s = re.sub(r"['’ʼ]s$", "", s.strip())  # possessive: "Trump’s" keys like "Trump"
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
    label = (label or "").upper()
    return _LABEL_GROUPS.get(label, label)


def entity_id_for(label: str, name: str) -> str:
    """Deterministic entity id: "E" + 16 hex digits of sha1(label group | name key)."""
    digest = hashlib.sha1(f"{label_group(label)}|{name_key(name)}".encode("utf-8"))
    return "E" + digest.hexdigest()[:16]


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
        if stripped:
            s = stripped
    return s


def _tokens(key: str) -> tuple[str, ...]:
    return tuple(key.split())


def _initials(name: str) -> str:
    words = [w for w in re.split(r"[\s\-]+", name) if w]
    return "".join(w[0] for w in words if w.casefold() not in _INITIALS_STOP and w[0].isalpha()).upper()


def _is_acronym(name: str) -> bool:
    bare = name.replace(".", "")
    return 2 <= len(bare) <= 6 and bare.isalpha() and bare.isupper()


class _Cluster:
    """One PERSON full name (all spellings with the same key) inside one article."""

    __slots__ = ("key", "tokens", "forms", "first", "last")

    def __init__(self, key: str, first: int) -> None:
        self.key = key
        self.tokens = set(_tokens(key))
        self.forms: list[str] = []
        self.first = first
        self.last = first

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
      name, the second a verb-like word ending in "s" found in no other name. Becomes
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
        if len(toks) == 2 and toks[1].endswith("s") and len(toks[1]) > 2:
            heads = [c for c in others if c.key.split()[-1] == toks[0] and toks[1] not in c.tokens]
            if len(heads) == 1 and not any(toks[1] in c.tokens for c in others):
                alias_of[key] = heads[0]
                del clusters[key]
    return alias_of, compounds


def _resolve_article(labels: list[str], surfaces: list[str]) -> tuple[list[str], list[str | None], list[str]]:
    """Resolve one article's mentions (given in reading order).

    Returns (resolved labels, entity ids, entity names), aligned with the input. The id
    is None only for a span naming two people at once ("Trump-Kim").
    """
    n = len(labels)
    labels = [(lab or "").upper() for lab in labels]
    clean = [clean_name(s, lab) for s, lab in zip(surfaces, labels)]
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
    single_person_keys = {keys[i] for i in range(n) if labels[i] == "PERSON"}

    # Label conflicts: a bare surname tagged ORG/GPE/... that is part of a PERSON name.
    out_labels = list(labels)
    for i in range(n):
        # All-caps short forms are acronyms ("UN" is not the "Un" of "Kim Jong Un").
        if labels[i] in _RELABEL_FROM and keys[i] and not _is_acronym(clean[i]):
            toks = set(_tokens(keys[i]))
            part_of_person = any(toks <= c.tokens for c in clusters.values())
            if (toks and part_of_person and len(toks) < 3) or keys[i] in single_person_keys:
                out_labels[i] = "PERSON"

    # ORG acronyms -> the single ORG in the article with matching initials.
    acronym_target: dict[str, str] = {}
    org_names = {clean[i] for i in range(n) if out_labels[i] == "ORG" and not _is_acronym(clean[i])}
    for i in range(n):
        if out_labels[i] == "ORG" and _is_acronym(clean[i]):
            acro = clean[i].replace(".", "").upper()
            fits = sorted({name for name in org_names if _initials(name) == acro})
            if len(fits) == 1:
                acronym_target[clean[i]] = fits[0]

    cluster_list = sorted(clusters.values(), key=lambda c: c.first)
    assigned: list[_Cluster | None] = [None] * n
    for i in range(n):
        if out_labels[i] != "PERSON" or not keys[i]:
            continue
        cl = clusters.get(keys[i]) or alias_of.get(keys[i])
        if cl is None:
            toks = set(_tokens(keys[i]))
            fits = [c for c in cluster_list if toks and toks <= c.tokens]
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

    ids: list[str] = []
    names: list[str] = []
    cluster_names = {c.key: c.name() for c in cluster_list}
    for i in range(n):
        cl = assigned[i]
        if cl is not None:
            name = cluster_names[cl.key]
        elif out_labels[i] == "ORG" and clean[i] in acronym_target:
            name = acronym_target[clean[i]]
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
    return out_labels, ids, names


def resolve_mentions(mentions: pl.DataFrame) -> pl.DataFrame:
    """Add `entity_id` and `entity_name` to NER mentions (one batch, any number of articles).

    Needs columns article_id, paragraph_index, start_char, text, label. Returns the same
    rows in the same order with `label` resolved (see module docstring), the NER's own
    label in `ner_label`, and the two new columns. entity_id is null only for a span
    that names two people at once ("Trump-Kim summits").
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

    out_labels: list[str] = []
    out_ids: list[str | None] = []
    out_names: list[str] = []
    start = 0
    n = len(art)
    while start < n:
        end = start
        while end < n and art[end] == art[start]:
            end += 1
        lab, ids, names = _resolve_article(labels_in[start:end], texts[start:end])
        out_labels += lab
        out_ids += ids
        out_names += names
        start = end

    resolved = ordered.with_columns(
        pl.col("label").alias("ner_label"),
        pl.Series("label", out_labels, dtype=pl.String),
        pl.Series("entity_id", out_ids, dtype=pl.String),
        pl.Series("entity_name", out_names, dtype=pl.String),
    )
    return resolved.sort("_row").drop("_row")


def _clean_surface_expr(col: str = "text", label: str = "label") -> pl.Expr:
    """Native-Polars version of clean_name (aliases and names in build_entities)."""
    wrap_head = r"^[\s\"“”'‘’«»()\[\]{},;:.!?]+"
    wrap_tail = r"[\s\"“”'‘’«»()\[\]{},;:!?]+$"
    s = (
        pl.col(col)
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .str.replace(wrap_head, "")
        .str.replace(wrap_tail, "")
        .str.replace(r"['’ʼ][sS]$", "")
        .str.replace(wrap_tail, "")
        .str.replace(r"^the (.)", "${1}")
    )
    untitled = s.str.replace(r"(?i)" + _TITLE_PATTERN, "")
    s = pl.when((pl.col(label) == "PERSON") & (untitled.str.len_chars() > 0)).then(untitled).otherwise(s)
    return pl.when(s.str.len_chars() > 0).then(s)


def build_entities(resolved_mentions_all: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """One row per entity_id from all landed mentions (every article, every run).

    Input: the warehouse `entity_mentions` table as it is landed (columns entity_id,
    article_id, text, label; paragraph_index and start_char used for tie-breaks when
    present, and entity_name used as a tie-break when present), or the fresh output of
    resolve_mentions; a DataFrame or a LazyFrame. Every canonical name is itself a
    cleaned surface form, so names are chosen from the cleaned surface forms.

    name: among the cleaned surface forms, prefer not-all-caps, then the longest, then
    the most frequent, then the one most often chosen as entity_name (if that column is
    there), then the one seen earliest in its article (if positions are there), then
    alphabetical.
    label: the most frequent (resolved) label, ties -> alphabetical.
    aliases: sorted distinct cleaned surface forms (possessives and PERSON titles
    stripped), short forms included.
    """
    lf = resolved_mentions_all.lazy().filter(pl.col("entity_id").is_not_null())
    cols = lf.collect_schema().names()
    pos = (
        pl.col("paragraph_index").cast(pl.Int64) * 1_000_000 + pl.col("start_char").cast(pl.Int64)
        if {"paragraph_index", "start_char"} <= set(cols)
        else pl.lit(0, dtype=pl.Int64)
    )
    lf = lf.with_columns(_alias=_clean_surface_expr("text", "label"), _pos=pos)

    names = (
        lf.filter(pl.col("_alias").is_not_null())
        .group_by("entity_id", "_alias")
        .agg(pl.len().alias("_n"), pl.col("_pos").min())
    )
    if "entity_name" in cols:
        # How often each form was the per-article canonical name: breaks "Kim Jong-un" /
        # "Kim Jong Un" ties when the landed table has no positions.
        canon = lf.group_by("entity_id", pl.col("entity_name").alias("_alias")).agg(pl.len().alias("_nn"))
        names = names.join(canon, on=["entity_id", "_alias"], how="left")
    else:
        names = names.with_columns(pl.lit(None, dtype=pl.UInt32).alias("_nn"))
    names = (
        names.with_columns(pl.col("_nn").fill_null(0))
        .group_by("entity_id")
        .agg(
            pl.col("_alias")
            .sort_by(
                [
                    pl.col("_alias") == pl.col("_alias").str.to_uppercase(),  # "KIM JONG UN" last
                    pl.col("_alias").str.len_chars(),
                    pl.col("_n"),
                    pl.col("_nn"),
                    pl.col("_pos"),
                    pl.col("_alias"),
                ],
                descending=[False, True, True, True, False, False],
            )
            .first()
            .alias("name")
        )
    )
    labels = (
        lf.group_by("entity_id", "label")
        .agg(pl.len().alias("_n"))
        .group_by("entity_id")
        .agg(pl.col("label").sort_by([pl.col("_n"), pl.col("label")], descending=[True, False]).first())
    )
    stats = lf.group_by("entity_id").agg(
        pl.col("_alias").drop_nulls().unique().sort().alias("aliases"),
        pl.col("article_id").n_unique().cast(pl.Int64).alias("article_count"),
        pl.len().cast(pl.Int64).alias("mention_count"),
        pl.col("text").drop_nulls().first().alias("_raw"),
    )
    out = (
        stats.join(labels, on="entity_id", how="left")
        .join(names, on="entity_id", how="left")
        # A mention that is all punctuation has no cleaned form: fall back to its raw text.
        .with_columns(pl.coalesce("name", "_raw").alias("name"))
        .select("entity_id", "name", "label", "aliases", "article_count", "mention_count")
        .sort("entity_id")
    )
    return out.collect()


def link_to_known(mentions: pl.DataFrame, known_entities: pl.DataFrame) -> pl.DataFrame:
    """Link bare PERSON names to a known full-name entity from earlier batches.

    For resolved mentions (output of resolve_mentions) whose label is PERSON and whose
    entity_name is a single token (the article never gave a full name), if exactly one
    PERSON entity in `known_entities` (output of build_entities: entity_id, name,
    label) has that token in its multi-token name key, the mention takes that entity's
    id and name. Zero or several candidates leave the mention as it was. Conservative
    by design: "Kim" stays unlinked once both Kim Jong-un and Kim Yo-jong are known.
    Adds a boolean column `linked_to_known`.
    """
    if mentions.height == 0 or known_entities.height == 0:
        return mentions.with_columns(pl.lit(False).alias("linked_to_known"))
    known = known_entities.filter(pl.col("label") == "PERSON").select("entity_id", "name")
    known_keys = [name_key(x) for x in known.get_column("name").to_list()]
    known = known.with_columns(pl.Series("_key", known_keys, dtype=pl.String)).filter(
        pl.col("_key").str.contains(" ")
    )
    by_token = (
        known.with_columns(pl.col("_key").str.split(" ").alias("_token"))
        .explode("_token")
        .unique(["entity_id", "_token"])
        .group_by("_token")
        .agg(pl.col("entity_id").first().alias("_known_id"), pl.col("name").first().alias("_known_name"), pl.len().alias("_k"))
        .filter(pl.col("_k") == 1)
        .drop("_k")
    )
    names = mentions.get_column("entity_name").unique().drop_nulls().to_list()
    token_of = pl.DataFrame(
        {"entity_name": names, "_token": [name_key(x) for x in names]},
        schema={"entity_name": pl.String, "_token": pl.String},
    )
    out = (
        mentions.with_row_index("_row")
        .join(token_of, on="entity_name", how="left")
        .join(by_token, on="_token", how="left")
        .with_columns(
            (
                (pl.col("label") == "PERSON")
                & pl.col("_known_id").is_not_null()
                & ~pl.col("_token").str.contains(" ")
                & (pl.col("entity_id") != pl.col("_known_id"))
            ).alias("linked_to_known")
        )
        .with_columns(
            pl.when(pl.col("linked_to_known")).then(pl.col("_known_id")).otherwise(pl.col("entity_id")).alias("entity_id"),
            pl.when(pl.col("linked_to_known")).then(pl.col("_known_name")).otherwise(pl.col("entity_name")).alias("entity_name"),
        )
        .sort("_row")
        .drop("_row", "_token", "_known_id", "_known_name")
    )
    return out
