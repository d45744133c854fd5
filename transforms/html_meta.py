"""Page metadata: publication date (timezone-aware), canonical URL, language.

Title, authors and site name come from trafilatura's metadata pass (meta tags,
JSON-LD, bylines); this module adds what it does not give in the shape we need:
a full timestamp with its zone, a canonical URL without tracking parameters, and an
ISO 639-1 language code.
"""
from __future__ import annotations

import json
import re
import warnings
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from lxml import etree

from newsetl.transforms.urls import canonicalize_url, is_http_url

# Where a page states when it was first published, most specific first.
_DATE_META_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "datepublished",
    "published_time",
    "publishdate",
    "publish-date",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.created",
    "dc.date",
    "date",
    "article.published",
    "cxenseparse:recs:publishtime",
)
# Anything before this is a parsing accident, not a news article.
MIN_YEAR = 1900

# "Tue, 19 Nov 2019 10:00:00 GMT" (feeds, HTTP headers, some meta tags).
_RFC2822 = re.compile(r"^\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}")
# Zone abbreviations common in English-language bylines; ambiguous ones (IST, CST in
# China) are left out on purpose and then read as UTC.
_H = 3600
_TZ_ABBREVIATIONS = {
    "UTC": 0, "GMT": 0, "Z": 0, "BST": _H, "CET": _H, "CEST": 2 * _H, "EET": 2 * _H, "EEST": 3 * _H,
    "EST": -5 * _H, "EDT": -4 * _H, "CDT": -5 * _H, "MST": -7 * _H, "MDT": -6 * _H,
    "PST": -8 * _H, "PDT": -7 * _H, "AEST": 10 * _H, "AEDT": 11 * _H, "JST": 9 * _H,
}
_YEAR = re.compile(r"(?<!\d)(1[89]|2\d)\d{2}(?!\d)")
_LANG_RE = re.compile(r"^([a-zA-Z]{2,3})(?:[-_].*)?$")


# --------------------------------------------------------------------------- dates
def parse_datetime(value: str | None) -> datetime | None:
    """Parse an ISO 8601 / RFC 2822 timestamp; naive -> UTC. None if unparseable."""
    if not value:
        return None
    value = value.strip()
    if not value or len(value) > 64:
        return None
    dt: datetime | None = None
    iso = value.replace("Z", "+00:00").replace("z", "+00:00")
    # "2019-11-19 10:00:00 +0000" and "+05:30" variants are ISO enough for 3.11.
    iso = re.sub(r"\s+([+-]\d{2}:?\d{2})$", r"\1", iso)
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        dt = None
    if dt is None and _RFC2822.match(value):
        try:
            dt = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            dt = None
    if dt is None:
        if not _YEAR.search(value):  # dateutil would complete "2" or "May 5" with today's year
            return None
        try:
            from dateutil import parser as du  # installed with trafilatura/htmldate

            with warnings.catch_warnings():  # unknown zone names: read as UTC below
                warnings.simplefilter("ignore")
                dt = du.parse(value, fuzzy=False, tzinfos=_TZ_ABBREVIATIONS)
        except Exception:  # noqa: BLE001 - dateutil raises a zoo of types on junk
            return None
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def _plausible(dt: datetime | None, now: datetime) -> datetime | None:
    if dt is None or dt.year < MIN_YEAR or dt > now:
        return None
    return dt


def _jsonld_objects(tree: etree._Element):
    for script in tree.iterfind(".//script"):
        if "ld+json" not in (script.get("type") or "").lower() or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack:
            obj = stack.pop()
            if isinstance(obj, list):
                stack.extend(reversed(obj))
            elif isinstance(obj, dict):
                yield obj
                graph = obj.get("@graph")
                if isinstance(graph, list):
                    stack.extend(reversed(graph))


def _meta_map(tree: etree._Element) -> dict[str, str]:
    """First value of every <meta name|property|itemprop|http-equiv> (lower-cased key)."""
    out: dict[str, str] = {}
    for meta in tree.iterfind(".//meta"):
        content = meta.get("content")
        if content is None:
            content = meta.get("datetime")
        if content is None:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = meta.get(attr)
            if key:
                out.setdefault(key.strip().lower(), content.strip())
    return out


def find_published(tree: etree._Element, meta: dict[str, str], url: str | None = None,
                   now: datetime | None = None) -> datetime | None:
    """Publication time with its zone. Future or implausible candidates are skipped."""
    now = now or datetime.now(timezone.utc)
    for key in _DATE_META_KEYS:
        dt = _plausible(parse_datetime(meta.get(key)), now)
        if dt:
            return dt
    for obj in _jsonld_objects(tree):
        value = obj.get("datePublished") or obj.get("dateCreated")
        if isinstance(value, str):
            dt = _plausible(parse_datetime(value), now)
            if dt:
                return dt
    for el in tree.iterfind(".//*[@itemprop]"):
        if (el.get("itemprop") or "").lower() == "datepublished":
            dt = _plausible(parse_datetime(el.get("datetime") or el.get("content") or el.text), now)
            if dt:
                return dt
    for el in tree.iterfind(".//time[@datetime]"):
        dt = _plausible(parse_datetime(el.get("datetime")), now)
        if dt:
            return dt
    fallback_day = htmldate_day(tree, url)
    if fallback_day:  # htmldate's day, no time of day known -> midnight UTC
        try:
            d = date.fromisoformat(fallback_day[:10])
            return _plausible(datetime(d.year, d.month, d.day, tzinfo=timezone.utc), now)
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------- URLs
def clean_url(url: str | None, base: str | None = None) -> str | None:
    """The canonical form (transforms.urls.canonicalize_url) of `url` resolved against
    `base`; None when there is no URL or it is not http(s)."""
    if not url:
        return None
    found = canonicalize_url(url, base)
    return found if is_http_url(found) else None


def _is_root(url: str) -> bool:
    return urlsplit(url).path in ("", "/")


def find_canonical(tree: etree._Element, meta: dict[str, str], page_url: str | None) -> str | None:
    """rel=canonical, else og:url, else the page URL; all cleaned.

    A canonical pointing at the site root while the page itself is deeper is a
    template bug (it would merge every article of the site into one URL): skipped.
    """
    page = clean_url(page_url)
    candidates = [
        link.get("href")
        for link in tree.iterfind(".//link[@rel]")
        if "canonical" in (link.get("rel") or "").lower().split()
    ]
    candidates.append(meta.get("og:url"))
    for raw in candidates:
        found = clean_url(raw, page_url)
        if found and not (_is_root(found) and page and not _is_root(page)):
            return found
    return page


# --------------------------------------------------------------------------- language
def _iso639_1(code: str | None) -> str | None:
    if not code:
        return None
    m = _LANG_RE.match(code.strip())
    if not m:
        return None
    code = m.group(1).lower()
    return code if len(code) == 2 else None


def declared_language(tree: etree._Element, meta: dict[str, str]) -> str | None:
    root = tree.getroottree().getroot() if hasattr(tree, "getroottree") else tree
    for value in (
        root.get("lang"),
        root.get("{http://www.w3.org/XML/1998/namespace}lang"),
        meta.get("content-language"),
        meta.get("language"),
        meta.get("dc.language"),
        meta.get("og:locale"),
    ):
        code = _iso639_1(value)
        if code:
            return code
    for obj in _jsonld_objects(tree):
        value = obj.get("inLanguage")
        if isinstance(value, str) and _iso639_1(value):
            return _iso639_1(value)
    return None


# Below this many characters of body text a statistical guess is noise.
LANGID_MIN_CHARS = 200
# Above this normalised probability the detector overrules a declared language
# (templates often ship lang="en" on pages in other languages).
LANGID_OVERRULE_PROB = 0.99
# Words that are no name (see `_unnamed_words`) enough to ask the detector about them alone.
LANGID_MIN_WORDS = 5

_identifier = None


def _unnamed_words(text: str) -> str:
    """The words of `text` that are no name: not capitalised and with a letter in them.
    A name keeps the language it comes from, not the article's: an English results table
    of Polish, Dutch or Brazilian clubs and players read as a whole was taken for Polish,
    Dutch or Portuguese (13 of the 1,162 CoNLL-2003 train and dev documents, whose 428
    names then got no NER). A script without case keeps every word."""
    return " ".join(w for w in text.split() if not w[:1].isupper() and any(c.isalpha() for c in w))


def detect_language(text: str) -> tuple[str | None, float]:
    """py3langid guess on the body text, (None, 0) when unavailable or too short. The
    guess reads the words that are no name when there are `LANGID_MIN_WORDS` of them,
    else the whole text."""
    global _identifier
    if len(text) < LANGID_MIN_CHARS:
        return None, 0.0
    try:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        words = _unnamed_words(text[:3000])
        lang, prob = _identifier.classify(words if len(words.split()) >= LANGID_MIN_WORDS else text[:3000])
        return _iso639_1(lang), float(prob)
    except Exception:  # optional dependency; a broken model must not break extraction
        return None, 0.0


def choose_language(declared: str | None, text: str) -> str | None:
    guess, prob = detect_language(text)
    if declared and guess and guess != declared and prob >= LANGID_OVERRULE_PROB:
        return guess
    return declared or guess


# --------------------------------------------------------------------------- title, authors, site
def page_metadata(tree: etree._Element, url: str | None) -> dict:
    """Title, author string ("A; B"), site name, and htmldate's day only if needed.

    Uses trafilatura's metadata helpers but skips what we do not store (categories,
    tags, licence) and runs htmldate only when the page states no date we can read
    (it is the slowest part of trafilatura's metadata pass).
    """
    try:
        from trafilatura.metadata import (
            examine_meta,
            extract_author,
            extract_meta_json,
            extract_sitename,
            extract_title,
        )
    except ImportError:  # internal helpers moved: fall back to the public pass
        from trafilatura.metadata import extract_metadata

        doc = extract_metadata(tree, url, {"extensive_search": False, "original_date": True})
        return {"title": doc.title, "author": doc.author, "sitename": doc.sitename, "date": doc.date}

    doc = examine_meta(tree)
    if doc.author and " " not in doc.author:  # single tokens are usually handles or site names
        doc.author = None
    try:
        doc = extract_meta_json(tree, doc)
    except Exception:  # noqa: BLE001 - malformed JSON-LD
        pass
    if not doc.title:
        doc.title = extract_title(tree)
    if not doc.author:
        doc.author = extract_author(tree)
    if not doc.sitename:
        doc.sitename = extract_sitename(tree)
    if doc.sitename:
        doc.sitename = doc.sitename.lstrip("@")
    return {"title": doc.title, "author": doc.author, "sitename": doc.sitename, "date": None}


def htmldate_day(tree: etree._Element, url: str | None) -> str | None:
    """htmldate's best guess of the publication day (YYYY-MM-DD), never in the future."""
    try:
        from htmldate import find_date

        return find_date(tree, url=url, extensive_search=False, original_date=True)
    except Exception:  # noqa: BLE001
        return None
