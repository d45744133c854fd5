"""HTML page -> main text blocks + metadata (GitHub issue #4, part 5).

    from newsetl.transforms.html_extract import extract_html, Extracted
    ex = extract_html(html, url=None)

Stages (one module each):
  1. parse        lxml via trafilatura's tolerant loader; fragments get wrapped.
  2. main content trafilatura in precision mode (structure kept as its XML body);
                  if that comes back short, its balanced mode; if still nothing,
                  a plain DOM walk over the page's text blocks (``html_dombaseline``).
  3. blocks       ``html_blocks``: body tree -> (text, tag) blocks, then a
                  block-level boilerplate filter (headline repeat, teasers, calls to
                  action, comment sections).
  4. metadata     trafilatura's metadata pass for title/authors/site name,
                  ``html_meta`` for a zone-aware date, canonical URL and language.

Never raises: garbage in -> ``Extracted`` with empty blocks out.
Quality gate: ``scripts/eval_extraction.py`` (F1 on a 121-page gold set).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from newsetl.transforms.html_blocks import (
    RawBlock,
    anchor_texts,
    body_to_blocks,
    clean_text,
    count_link_words,
    filter_blocks,
)
from newsetl.transforms.html_meta import (
    _meta_map,
    choose_language,
    declared_language,
    find_canonical,
    find_published,
    page_metadata,
)

__all__ = ["Extracted", "extract_html"]

# trafilatura logs every page it finds too short at ERROR/WARNING; in a batch pipeline
# that is noise, the empty result already says it.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)

# Precision mode sometimes drops most of an article (it prunes a wrapper it judges
# to be boilerplate). When it keeps fewer than this many words, the balanced mode gets
# a chance and the longer result wins (and below it, on tiny pages, the DOM walk).
# Calibrated on the extraction dev split (scripts/eval_extraction.py): thresholds
# 0/30/60/120/250 words gave F1 0.971/0.971/0.978/0.972/0.969.
MIN_PRECISION_WORDS = 60
# Balanced mode replaces precision output only if it brings at least this many
# times more words (it otherwise just adds boilerplate).
FALLBACK_GAIN = 2.0

# The DOM walk keeps everything outside nav/header/footer/aside: only trusted on pages
# this small, where there is little room for boilerplate.
DOM_BASELINE_MAX_WORDS = 400

# Pages above this size are cut before parsing: news articles are far below it, and
# extraction time grows linearly (about 5 s per MB on one core under load).
MAX_HTML_CHARS = 5_000_000

_WORD = re.compile(r"\w+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class Extracted:
    title: str | None = None
    blocks: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None


def extract_html(html: str | bytes | None, url: str | None = None) -> Extracted:
    """Main text and metadata of one HTML page. Never raises."""
    try:
        return _extract(html, url)
    except Exception:  # noqa: BLE001 - garbage in (incl. RecursionError) must not stop a batch
        return Extracted(canonical_url=_safe_clean_url(url))


def _safe_clean_url(url: str | None) -> str | None:
    try:
        from newsetl.transforms.html_meta import clean_url

        return clean_url(url)
    except Exception:  # noqa: BLE001
        return None


def _words(blocks: list[RawBlock]) -> int:
    return sum(len(_WORD.findall(b.text)) for b in blocks)


def _load(html: str | bytes | None):
    from trafilatura.utils import load_html
    from lxml import html as lxml_html

    if html is None:
        return None
    if isinstance(html, bytes):
        from trafilatura.utils import decode_file

        html = decode_file(html)
        if isinstance(html, bytes):
            html = html.decode("utf-8", errors="replace")
    html = _CONTROL.sub("", html[:MAX_HTML_CHARS])
    if "<" not in html or not html.strip():
        return None
    tree = load_html(html)
    if tree is None or tree.find(".//body") is None or len(tree) < 1:
        # A fragment ("<p>one</p><p>two</p>"): trafilatura's loader wants a document.
        try:
            tree = lxml_html.document_fromstring(f"<html><body><div>{html}</div></body></html>")
        except Exception:  # noqa: BLE001
            return None
    return tree


# Trafilatura's precision mode also prunes any <span> whose class is the token "link" (or
# "...bottom...", or whose style draws a border): meant for link lists and page-bottom
# chrome, it also cuts an in-text link out of its sentence ("has reported that [the port
# will fine the ferry company] for its role"), with no trace. Such a span with words of its
# unfinished sentence before it and words after it is unwrapped first, so its words stay
# in the sentence. At a paragraph's start or end, or after a full stop, it is left to the
# prune: there, in the 121 extraction pages, such spans are teasers, "Learn more" and
# credit lines (5 pages hold one or more; 2 spans, both on one page, sit mid-sentence).
_PRECISION_PRUNED = re.compile(r"(^|\s)link(\s|$)|(^|\s)bottom|bottom(\s|$)")
_SENTENCE_END = (".", "!", "?", ":", ";")


def _keep_words_of_sentences(tree) -> None:
    for span in tree.xpath("//p//span[@class or @id or @style]"):
        names = " ".join(filter(None, (span.get("class"), span.get("id"))))
        if not (_PRECISION_PRUNED.search(names) or "border" in (span.get("style") or "")):
            continue
        par = next((a for a in span.iterancestors() if a.tag == "p"), None)
        if par is None:
            continue
        full, own = par.text_content(), span.text_content()
        at = full.find(own)
        before, after = full[:at], full[at + len(own):]
        if at >= 0 and before.strip() and not before.rstrip().endswith(_SENTENCE_END) and _WORD.search(after):
            span.drop_tag()


def _trafilatura_body(tree, url: str | None, **mode) -> list[RawBlock]:
    from trafilatura import bare_extraction

    doc = bare_extraction(
        tree,
        url=url,
        # Comments go to a separate tree we ignore; False would also prune containers
        # whose class mentions "comment", which on some pages hold the article.
        include_comments=True,
        include_tables=True,
        include_links=False,  # True changes what trafilatura keeps (drops text around links)
        include_images=False,
        with_metadata=False,
        **mode,
    )
    return body_to_blocks(getattr(doc, "body", None)) if doc is not None else []


def _extract(html: str | bytes | None, url: str | None) -> Extracted:
    tree = _load(html)
    if tree is None:
        return Extracted(canonical_url=_safe_clean_url(url))

    page = _safe(page_metadata, {"title": None, "author": None, "sitename": None}, tree, url)
    meta = _safe(_meta_map, {}, tree)

    _safe(_keep_words_of_sentences, None, tree)
    blocks = _trafilatura_body(tree, url, favor_precision=True)
    if _words(blocks) < MIN_PRECISION_WORDS:
        alt = _trafilatura_body(tree, url)
        if _words(alt) >= max(1, FALLBACK_GAIN * _words(blocks)):
            blocks = alt
    if _words(blocks) < MIN_PRECISION_WORDS:
        # Tiny page or fragment: trafilatura's own fallback then returns the whole
        # body as one lump, menus included. A tag-based walk keeps structure.
        from newsetl.transforms.html_dombaseline import dom_blocks

        dom = dom_blocks(tree)
        if _words(blocks) <= _words(dom) <= DOM_BASELINE_MAX_WORDS:
            blocks = dom

    title = clean_text(page.get("title") or "") or None
    count_link_words(blocks, anchor_texts(tree))
    blocks = filter_blocks(blocks, title)
    pairs = [(b.text, b.tag) for b in blocks]
    text = "\n\n".join(t for t, _ in pairs)

    site_name = clean_text(page.get("sitename") or "") or None
    authors = _safe(byline_names, [], re.split(r"\s*;\s*", page.get("author") or ""), site_name)
    # Each metadata field fails alone: a bad date must not cost the body text.
    return Extracted(
        title=_safe(title_without_site, title, title, site_name),
        blocks=pairs,
        text=text,
        authors=authors,
        published_at=_safe(find_published, None, tree, meta, url),
        language=_safe(lambda: choose_language(declared_language(tree, meta), text), None),
        canonical_url=_safe(find_canonical, None, tree, meta, url),
        site_name=site_name,
    )


# A page's <title> often carries its site's name: "... – TechCrunch", "... | ZDNet",
# "LinkNaija | ...". In the 121 extraction pages 18 titles end with a separator and the
# name trafilatura gives as the site's (the site name is its own column).
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " · ", " • ", " :: ", ": ")
_NOT_WORD = re.compile(r"[\W_]+")


def _letters(text: str) -> str:
    """`text` without case, spaces or punctuation: "SpaceNews.com" -> "spacenewscom"."""
    return _NOT_WORD.sub("", text.casefold())


def title_without_site(title: str | None, site: str | None) -> str | None:
    """`title` without a leading or trailing site name set off by a separator, compared
    without case or punctuation ("TechCrunch", "SpaceNews.com"); the title as it is when
    nothing else would be left."""
    if not title or not site:
        return title
    key = _letters(site)
    if not key:
        return title
    for sep in _TITLE_SEPARATORS:
        at = title.rfind(sep)
        while at > 0:  # the site's own name may hold the separator ("Remember 80/90 - Memorabilia")
            rest = title[:at].rstrip()
            if _letters(title[at + len(sep):]) == key and _WORD.search(rest):
                return rest
            at = title.rfind(sep, 0, at)
        at = title.find(sep)
        while at > 0:
            rest = title[at + len(sep):].lstrip()
            if _letters(title[:at]) == key and _WORD.search(rest):
                return rest
            at = title.find(sep, at + 1)
    return title


# What bylines carry besides names, seen on many sites of the extraction pages: the date
# printed after the byline ("Malcolm Owen Monday" + "November", "Carrie Arnold November",
# "... wire services Published"), a lead-in ("Analysis by"), a job title ("Staff writer",
# "Ap Sports Writer", "CNN Editor-at-large", "Phil Helsel is a reporter"), a credential
# after the name ("MS", "RDN"), an account name ("Admin") and the site's own name beside
# its writer ("CNN Business" on CNN, "Cleveland com" on cleveland.com).
_BYLINE_LEAD = re.compile(r"(?i)^(?:(?:analysis|reporting|written|words|story|text|photos?)\s+by\b|by\b)\s*:?\s*")
_BYLINE_DATE_WORDS = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday published updated posted".split())
_BYLINE_ROLE = re.compile(
    r"(?i)(?:^|\s)(?:staff\s+|senior\s+|chief\s+|contributing\s+|sports\s+|political\s+|business\s+)?"
    r"(?:writer|editor|reporter|correspondent|columnist|contributor|editor-at-large)s?$")
_BYLINE_ROLE_CLAUSE = re.compile(r"(?i)\s+is\s+(?:a|an|the|our)\s+\S.*$")
_CREDENTIAL = re.compile(r"^(?:[A-Z]\.?){2,4}$|^Ph\.?\s?D\.?$")
_ACCOUNT = re.compile(r"(?i)^\w*admin(?:istrator)?$|^webmaster$")


def byline_names(names: list[str], site_name: str | None = None) -> list[str]:
    """The people of a page's author field (trafilatura's, split at ";"): without a
    lead-in, a date or "is a reporter" after the name, job titles and account names on
    their own, a credential after a name, or the site's own name beside a writer; each
    name once, in order. A name given alone stays even when it is the site's (a blog's
    author often is)."""
    out: list[str] = []
    for raw in names:
        name = _BYLINE_ROLE_CLAUSE.sub("", _BYLINE_LEAD.sub("", clean_text(raw or "")))
        words = name.split()
        dated = [w.casefold().strip(",.") in _BYLINE_DATE_WORDS or w[:1].isdigit() for w in words]
        if all(dated):  # "November" split off "Malcolm Owen Monday, November 18"
            continue
        cut = next((i for i in range(1, len(words)) if dated[i]), len(words))  # "April Ross" is a name
        name = " ".join(words[:cut]).strip(" ,.-|")
        if not _WORD.search(name) or _BYLINE_ROLE.search(name) or _ACCOUNT.match(name):
            continue
        if out and _CREDENTIAL.match(name):
            continue
        if name not in out:
            out.append(name)

    def key(n: str) -> str:  # "The Detroit News" and "Detroit News", "Cleveland com" and "cleveland"
        return _letters(re.sub(r"(?i)^the\s+", "", n)).removesuffix("com")

    site = key(site_name or "")
    if len(site) >= 3 and len(out) > 1:
        keys = [key(n) for n in out]
        writers = [n for n, k in zip(out, keys) if not (len(k) >= 3 and (k.startswith(site) or site.startswith(k)))]
        out = writers or out
    return out


def _safe(fn, default, *args):
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - see extract_html
        return default
