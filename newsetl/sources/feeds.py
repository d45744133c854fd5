"""RSS 0.9x/1.0/2.0, Atom and JSON Feed -> FeedItem -> RawDoc.

XML goes through feedparser (it handles CDATA, namespaces, broken feeds and many date
formats); JSON Feed is simple enough to read by hand. Dates are parsed here first
(RFC 822, ISO 8601, then "YYYY/M/D h:m:s"), because feedparser reads the kc0011 date
``2020/1/10 14:33:00`` as 1 November 2020.

XML safety: feedparser parses with expat and never fetches external entities (it turns
``feature_external_ges`` off and strips the DOCTYPE), and expat >= 2.4 has its own
billion-laughs limit. We still refuse any document that *declares* entities in a DOCTYPE
before parsing, because no real feed needs them and feedparser falls back to a lenient
SGML parser when the strict one fails.
"""

from __future__ import annotations

import calendar
import email.utils
import html as html_lib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from newsetl.records import RawDoc, Reject
from newsetl.settings import Settings
from newsetl.sources.decode import decode_bytes
from newsetl.sources.files import as_utc
from newsetl.urls import canonicalize_url, is_http_url, url_host

FEED_MEDIA_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json",
     # the older x- names, still what many servers (and Python's mimetypes) send
     "application/x-rss+xml", "application/x-atom+xml"}
)

# An item whose full content (content:encoded, Atom <content>, JSON content_html/_text)
# has at least this many characters of text is an article by itself; below it we fetch
# the linked page. Calibrated on the eight sample feeds: teasers/summaries run 60-400
# chars of text (livemint, medscape, aktuality, NPR; DaringFireball link posts), while
# full bodies in 489.rss / DaringFireball are 1,100-8,800 chars. Teasers that are long
# (macworld: 560-980 chars) end in a "read this article in full" link: _TRUNCATED.
FULL_CONTENT_MIN_CHARS = 500
# Dates this far ahead of "now" are bogus (wrong year, wrong time zone by days): dropped.
# Closer than that they are clock skew or a mislabelled zone: clamped to "now".
_FUTURE_DROP = timedelta(days=1)
# Documents above this size are not feeds we want to parse in memory.
MAX_FEED_BYTES = 50_000_000

# End-of-text markers of a truncated teaser ("To read this article in full, please click
# here", "Continue reading...", "[…]", "Read more").
_TRUNCATED = re.compile(
    r"(read (this|the) (article|story|post) in full|continue reading|read (the )?(full|more|rest)\b"
    r"|click here|\[(…|\.\.\.)\]|(…|\.\.\.)\s*$)[^.!?]{0,60}[.!?»”\]]?\s*$",
    re.I,
)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_MARKUP = re.compile(r"</?[A-Za-z][^<>]*>")
_DOCTYPE_SYSTEM = re.compile(rb"<!DOCTYPE\s+[^\s>\[]+\s+(?:SYSTEM\s+[\"']([^\"']*)[\"']"
                             rb"|PUBLIC\s+[\"'][^\"']*[\"']\s+[\"']([^\"']*)[\"'])", re.I)
_TAG = re.compile(r"<[^>]+>")
_WS = re.compile(r"\s+")
_SLASH_DATE = re.compile(
    r"^\s*(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$"
)


@dataclass
class FeedItem:
    title: str | None = None
    link: str | None = None
    # The entry's own page on the feed's site when `link` points at another site (a link
    # blog's Atom entry: rel="alternate" is the story it links to, rel="related" its post)
    permalink: str | None = None
    id: str | None = None
    published_at: datetime | None = None  # timezone-aware UTC, never in the future
    updated_at: datetime | None = None
    summary: str | None = None  # as given (HTML or text)
    content: str | None = None  # full content if the feed carries it (HTML or text)
    content_is_html: bool = True
    summary_is_html: bool = True
    authors: list[str] = field(default_factory=list)
    language: str | None = None
    feed_title: str | None = None
    feed_link: str | None = None
    extra: dict = field(default_factory=dict)


# --- detection ------------------------------------------------------------------------


def _head_text(data: bytes | str, n: int = 4096) -> str:
    if isinstance(data, str):
        return data[:n].lstrip("\ufeff")
    head = data[:n]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "ignore")
    return head.decode("utf-8", "ignore").lstrip("\ufeff")


_PROLOG = re.compile(r"^\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>\s*)*", re.S | re.I)
_ROOT = re.compile(r"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")


def is_feed(data: bytes | str) -> bool:
    """True when the content is an RSS, Atom, RSS 1.0 (RDF) or JSON Feed document
    (recognised by content; whitespace and a BOM before the root are allowed)."""
    head = _head_text(data)
    stripped = head.lstrip()
    if stripped.startswith("{"):
        return "jsonfeed.org/version" in stripped.replace("\\/", "/")
    m = _PROLOG.match(head)
    rest = head[m.end():] if m else head
    root = _ROOT.match(rest)
    if not root:
        return False
    name = root.group(2).lower()
    if name in ("rss", "feed"):
        return True
    if name == "rdf":
        return "purl.org/rss" in rest.lower() or "netscape.com/publish/formats/rss" in rest.lower()
    return False


# --- dates ----------------------------------------------------------------------------


def parse_date(raw: str | None, parsed=None, now: datetime | None = None) -> datetime | None:
    """A feed date as timezone-aware UTC, or None.

    Dates without a zone are taken as UTC (the feed gives no better evidence). Dates in
    the future are clamped to now when within _FUTURE_DROP, dropped beyond it."""
    if not isinstance(raw, str):
        raw = None  # feedparser can give a dict for a malformed date element (fuzzing found it)
    dt = _parse_date_str(raw) if raw else None
    if dt is None and parsed is not None:
        try:
            dt = datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
        except (TypeError, ValueError, OverflowError):
            dt = None
    if dt is None:
        return None
    dt = as_utc(dt)
    if dt is None:
        return None
    now = now or datetime.now(timezone.utc)
    if dt > now:
        return now if dt - now <= _FUTURE_DROP else None
    if dt.year < 1990:  # before the web: epoch-zero placeholders and similar
        return None
    return dt


def _parse_date_str(raw: str) -> datetime | None:
    s = _WS.sub(" ", raw.strip())
    if not s:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(s)
        if dt is not None:
            return dt
    except (TypeError, ValueError, IndexError):
        pass
    iso = s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    m = _SLASH_DATE.match(s)
    if m:
        y, mo, d, h, mi, sec = (int(x) if x else 0 for x in m.groups())
        try:
            return datetime(y, mo, d, h, mi, sec)
        except ValueError:
            return None
    return None


# --- parsing --------------------------------------------------------------------------


_INVISIBLE = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)


def _visible_text(value: str | None) -> str:
    """The text a reader sees: tags, scripts, styles and comments dropped (an embedded
    tweet's script is no article text)."""
    if not value:
        return ""
    return _WS.sub(" ", html_lib.unescape(_TAG.sub(" ", _INVISIBLE.sub(" ", value)))).strip()


def html_text_len(value: str | None) -> int:
    """Length of the visible text of an HTML fragment (tags dropped, whitespace folded)."""
    return len(_visible_text(value))


def parse_feed(data: bytes | str, base_url: str | None = None,
               content_type: str | None = None) -> list[FeedItem] | Reject:
    """Parse RSS/Atom/JSON Feed. Returns the items, or a Reject saying why not."""
    ref = base_url or "feed"
    if isinstance(data, str):
        raw = data.lstrip("\ufeff")
        # The str is already decoded: an encoding declaration would now be a lie.
        raw = re.sub(r"^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*[\"'][^\"']*[\"']", r"\1", raw)
        data = raw.encode("utf-8")
    if len(data) > MAX_FEED_BYTES:
        return Reject("feed", ref, f"feed larger than {MAX_FEED_BYTES} bytes")
    if not data.strip():
        return Reject("feed", ref, "empty feed document")
    head = _head_text(data).lstrip()
    if head.startswith("{"):
        return _parse_json_feed(data, ref, content_type)
    prolog = data[:200_000]
    if prolog.startswith((b"\xff\xfe", b"\xfe\xff")):
        prolog = prolog.decode("utf-16", "ignore").encode("utf-8")
    if _ENTITY_DECL.search(prolog.replace(b"\x00", b"")):
        return Reject("feed", ref, "XML entity declarations (DOCTYPE <!ENTITY>) refused for safety")
    dtd = _DOCTYPE_SYSTEM.search(prolog.replace(b"\x00", b""))
    if dtd and not re.match(rb"https?://", dtd.group(1) or dtd.group(2) or b"http://"):
        # RSS 0.91's DOCTYPE names an http URL; one that names a file here is an attack
        return Reject("feed", ref, "a DOCTYPE that points at a local file refused for safety")
    return _parse_xml_feed(data, base_url, ref, content_type)


def _parse_xml_feed(data: bytes, base_url: str | None, ref: str, content_type: str | None
                    ) -> list[FeedItem] | Reject:
    import feedparser

    headers = {}
    if base_url:
        headers["content-location"] = base_url
    if content_type:
        headers["content-type"] = content_type
    # feedparser leading whitespace: macworld.rss starts with blank lines and no XML
    # declaration; strict expat refuses "<?xml" after whitespace but not plain elements,
    # and feedparser's lenient fallback copes either way.
    try:
        d = feedparser.parse(data, response_headers=headers, sanitize_html=False,
                             resolve_relative_uris=True)
    except Exception as exc:  # feedparser is lenient, but never let it end a batch
        return Reject("feed", ref, f"feed could not be parsed: {type(exc).__name__}: {exc}")
    broken = _xml_error(data)
    if not d.get("version") and not d.entries:
        why = d.get("bozo_exception")
        return Reject("feed", ref, "not an RSS/Atom/JSON feed" + (f" ({why})" if why else ""))
    if broken and not d.entries:
        return Reject("feed", ref, f"feed XML is broken ({broken}); no item could be read")
    feed = d.feed
    feed_title = _clean(feed.get("title"))
    feed_link = feed.get("link")
    language = feed.get("language")
    items: list[FeedItem] = []
    for e in d.entries:
        content, content_type_ = None, None
        best = 0
        for c in e.get("content") or []:
            n = len(c.get("value") or "")
            if n > best:
                best, content, content_type_ = n, c.get("value"), c.get("type")
        summary = e.get("summary")
        summary_type = (e.get("summary_detail") or {}).get("type")
        if content and summary and content.strip() == summary.strip():
            summary = None  # RSS <description> duplicated into content by feedparser
        authors = [a.get("name") for a in e.get("authors") or [] if a.get("name")]
        if not authors and e.get("author"):
            authors = [e.get("author")]
        authors = list(dict.fromkeys(a.strip() for a in authors if a and a.strip()))
        published_raw = e.get("published") or e.get("created")
        # dict.get: FeedParserDict maps a missing "updated" to "published" (with a warning).
        updated_raw = dict.get(e, "updated")
        published = parse_date(published_raw, e.get("published_parsed") or e.get("created_parsed"))
        updated = parse_date(updated_raw, dict.get(e, "updated_parsed"))
        extra = {}
        if published_raw:
            extra["published_raw"] = published_raw
        tags = [t.get("term") for t in e.get("tags") or [] if t.get("term")]
        if tags:
            extra["categories"] = tags
        title = e.get("title")
        if (e.get("title_detail") or {}).get("type") == "text/html" and title and _MARKUP.search(title):
            title = _MARKUP.sub("", title)  # "Bonds worth <span class=\"cur\">₹</span>90 crore"
        items.append(
            FeedItem(
                title=_clean(title),
                link=e.get("link"),
                permalink=_own_permalink(e, feed_link),
                id=e.get("id"),
                published_at=published or updated,
                updated_at=updated,
                summary=summary,
                content=content,
                content_is_html=(content_type_ or "text/html") != "text/plain",
                summary_is_html=(summary_type or "text/html") != "text/plain",
                authors=authors,
                language=(e.get("language") or language),
                feed_title=feed_title,
                feed_link=feed_link,
                extra=extra,
            )
        )
    if broken:  # the items before the break are read; the caller says the rest may be lost
        for it in items:
            it.extra["feed_xml_error"] = broken
    return items


def _xml_error(data: bytes) -> str | None:
    """Why a feed's XML ends before its root element closes (a cut-off download, a
    truncated file), or None. Whatever else feedparser copes with (a stray declaration,
    a wrong encoding label) is no loss of items: the root's end tag is the check."""
    root = _ROOT.match(_PROLOG.sub("", _head_text(data), count=1))
    if not root:
        return None
    name = re.escape(root.group(0)[1:]).encode()
    tail = re.sub(rb"(\s|<!--.*?-->)+$", b"", data[-4096:].replace(b"\x00", b""), flags=re.S)
    if re.search(rb"</" + name + rb"\s*>$", tail):
        return None
    return f"it ends before its closing </{root.group(0)[1:]}> tag: a cut-off download or file?"


def _own_permalink(entry, feed_link: str | None) -> str | None:
    """Another link of the entry, on the feed's own site, when its main link leaves the site
    (only the entry's own links say so: a guid on the site may name another copy)."""
    site = _site(feed_link)
    if not site or _site(entry.get("link")) in ("", site):
        return None
    for link in entry.get("links") or []:
        href = link.get("href")
        if link.get("rel") in ("related", "alternate", "bookmark") and is_http_url(href) and _site(href) == site:
            return href
    return None


def _site(url: str | None) -> str:
    host = url_host(url) if url else ""
    return host[4:] if host.startswith("www.") else host


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = _WS.sub(" ", html_lib.unescape(value)).strip()
    return value or None


def _parse_json_feed(data: bytes, ref: str, content_type: str | None) -> list[FeedItem] | Reject:
    text, _ = decode_bytes(data, content_type)
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return Reject("feed", ref, f"invalid JSON: {exc}")
    except RecursionError:
        return Reject("feed", ref, "invalid JSON: nested too deep to read")
    if not isinstance(doc, dict) or "jsonfeed.org/version" not in str(doc.get("version", "")):
        return Reject("feed", ref, "JSON document is not a JSON Feed (no jsonfeed.org version)")
    raw_items = doc.get("items")
    if not isinstance(raw_items, list):
        return Reject("feed", ref, "JSON Feed has no items list")
    feed_title = _clean(doc.get("title")) if isinstance(doc.get("title"), str) else None
    feed_link = doc.get("home_page_url")
    language = _str_or_none(doc.get("language"))
    feed_authors = _json_authors(doc)
    items = []
    for it in raw_items:
        if not isinstance(it, dict):  # kept in place, so later items keep their #itemN, and rejected
            items.append(FeedItem(feed_title=feed_title))
            continue
        html_content = it.get("content_html") if isinstance(it.get("content_html"), str) else None
        text_content = it.get("content_text") if isinstance(it.get("content_text"), str) else None
        summary = it.get("summary") if isinstance(it.get("summary"), str) else None
        published_raw = it.get("date_published") if isinstance(it.get("date_published"), str) else None
        updated_raw = it.get("date_modified") if isinstance(it.get("date_modified"), str) else None
        updated = parse_date(updated_raw)
        link = it.get("url") or it.get("external_url")
        extra = {"published_raw": published_raw} if published_raw else {}
        if isinstance(it.get("tags"), list):
            extra["categories"] = [str(t) for t in it["tags"]]
        if isinstance(it.get("image"), str):
            extra["image"] = it["image"]
        items.append(
            FeedItem(
                title=_clean(it.get("title")) if isinstance(it.get("title"), str) else None,
                link=link if isinstance(link, str) else None,
                id=str(it["id"]) if it.get("id") is not None else None,
                published_at=parse_date(published_raw) or updated,
                updated_at=updated,
                summary=summary,
                content=html_content or text_content,
                content_is_html=html_content is not None,
                summary_is_html=False,
                authors=_json_authors(it) or feed_authors,
                language=_str_or_none(it.get("language")) or language,
                feed_title=feed_title,
                feed_link=feed_link if isinstance(feed_link, str) else None,
                extra=extra,
            )
        )
    return items


def _str_or_none(value) -> str | None:
    """A JSON Feed field the spec says is a string, or None when it is anything else."""
    return value if isinstance(value, str) else None


def _json_authors(obj: dict) -> list[str]:
    out = []
    authors = obj.get("authors")
    if not isinstance(authors, list):
        authors = [obj.get("author")] if isinstance(obj.get("author"), dict) else []
    for a in authors:
        if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"].strip():
            out.append(a["name"].strip())
    return out


# --- source entry points --------------------------------------------------------------


def _full_body(item: FeedItem) -> tuple[str, bool] | None:
    """(body, is_html) when the feed itself carries the whole article, else None.

    Full content (content:encoded, Atom <content>, JSON content_html/_text) counts when
    it has FULL_CONTENT_MIN_CHARS of text and is not shorter than the summary. Many RSS
    2.0 feeds put the whole article in <description> (feedparser calls it summary), so
    a summary of that length counts too."""
    def text_len(body: str | None, is_html: bool) -> int:
        n = html_text_len(body) if is_html else len((body or "").strip())
        if n and _TRUNCATED.search(_visible_text(body)[-200:] if is_html else body.strip()[-200:]):
            return 0  # a teaser, however long
        return n

    summary_len = text_len(item.summary, item.summary_is_html)
    if item.content:
        n = text_len(item.content, item.content_is_html)
        if n >= FULL_CONTENT_MIN_CHARS and n >= summary_len:
            return item.content, item.content_is_html
    if item.summary and summary_len >= FULL_CONTENT_MIN_CHARS:
        return item.summary, item.summary_is_html
    return None


def _feed_source(source_ref: str, items: list[FeedItem]) -> str:
    if is_http_url(source_ref):
        return url_host(source_ref)
    for it in items:
        if it.feed_link and url_host(it.feed_link):
            return url_host(it.feed_link)
    return Path(str(source_ref)).stem or "feed"


def items_from_feed(source_ref: str, data: bytes | str, settings: Settings | None = None,
                    fetcher=None, *, source: str | None = None, base_url: str | None = None,
                    content_type: str | None = None) -> Iterator[RawDoc | Reject]:
    """One RawDoc per feed item.

    * item with full content (>= FULL_CONTENT_MIN_CHARS of text): RawDoc from the feed;
    * otherwise, with a ``fetcher`` (newsetl.sources.http.Fetcher): the linked page is
      fetched and becomes the RawDoc, with the feed's title/date/authors as fallbacks;
      pages unchanged since the last run (304) are skipped;
    * otherwise (offline, no fetcher): the summary, marked ``extra["content_from"] =
      "summary"`` so later stages can tell a teaser from an article.
    """
    base_url = base_url or (source_ref if is_http_url(source_ref) else None)
    items = parse_feed(data, base_url=base_url, content_type=content_type)
    if isinstance(items, Reject):
        yield Reject(source or _feed_source(source_ref, []), str(source_ref), items.reason)
        return
    src = source or _feed_source(source_ref, items)
    if not items:  # a feed with no items (or cut before the first) must not vanish silently
        yield Reject(src, str(source_ref), "feed has no items")
        return
    broken = next((it.extra["feed_xml_error"] for it in items if "feed_xml_error" in it.extra), None)
    if broken:  # what was read lands; the feed itself is a reject that says the rest may be lost
        n = f"{len(items)} item{'s' if len(items) != 1 else ''}"
        yield Reject(src, str(source_ref), f"feed XML is broken ({broken}); the {n} before the break "
                                           "were read, any after it are lost")
    to_fetch: list[tuple[str, FeedItem]] = []
    for i, item in enumerate(items):
        ref = _item_ref(source_ref, item, i)
        full = _full_body(item)
        if full is not None:
            doc = _doc(src, ref, item, full[0], full[1], "feed_content")
            if item.permalink:  # a link blog's post is its own page, not the story it links to
                doc.extra["links_to"] = doc.url
                doc.url, doc.canonical_url = item.permalink, canonicalize_url(item.permalink)
            yield doc
        elif fetcher is not None and is_http_url(item.link):
            if getattr(fetcher, "first_ask", lambda url: True)(item.link):
                to_fetch.append((ref, item))
        elif item.content or item.summary:
            body = item.content or item.summary
            is_html = item.content_is_html if item.content else item.summary_is_html
            yield _doc(src, ref, item, body, is_html, "summary")
        else:
            yield Reject(src, ref, "feed item has no content, no summary and no fetchable link")
    if not to_fetch:
        return
    results = fetcher.fetch_many(item.link for _, item in to_fetch)
    for (ref, item), res in zip(to_fetch, results):
        if isinstance(res, Reject):
            own = _own_text(item)
            if own is not None:  # the page failed, but the feed carried the item's text: that lands
                doc = _doc(src, ref, item, own[0], own[1], "feed_content")
                doc.extra["page_error"] = f"{item.link}: {res.reason}"
                yield doc
            else:
                yield Reject(src, ref, f"{item.link}: {res.reason}")
            continue
        if res.not_modified:
            continue
        ctype = res.content_type
        if ctype and ctype not in ("text/html", "application/xhtml+xml", "text/plain"):
            yield Reject(src, ref, f"{item.link}: content-type {ctype} is not an HTML page")
            continue
        doc = _doc(src, ref, item, res.text, ctype != "text/plain", "page")
        doc.url = res.final_url
        doc.canonical_url = canonicalize_url(res.final_url)
        doc.fetched_at = res.fetched_at
        doc.extra.update(http_status=res.status, encoding=res.encoding)
        if res.redirects:
            doc.extra["redirects"] = res.redirects
        yield doc


def _item_ref(source_ref: str, item: FeedItem, i: int) -> str:
    """`<feed>#<guid>`: an item's guid stays its own when the feed gains items (a position
    does not); `#item<N>` when it has none."""
    key = item.id.strip() if isinstance(item.id, str) and item.id.strip() else f"item{i}"
    return f"{source_ref}#{key}"


def _own_text(item: FeedItem) -> tuple[str, bool] | None:
    """The item's full-content field (content:encoded, Atom <content>, JSON content_*)
    when it holds text that is not a teaser: what lands when its page cannot be fetched.
    A summary never does (it is a teaser of the page by definition)."""
    if not item.content:
        return None
    text = _visible_text(item.content) if item.content_is_html else item.content.strip()
    if len(re.findall(r"\w", text)) < 20 or _TRUNCATED.search(text[-200:]):
        return None
    return item.content, item.content_is_html


def _doc(source: str, ref: str, item: FeedItem, body: str, is_html: bool, content_from: str) -> RawDoc:
    extra = dict(item.extra)
    extra["content_from"] = content_from
    if item.id:
        extra["guid"] = item.id
    if item.feed_title:
        extra["feed_title"] = item.feed_title
    if item.updated_at:
        extra["updated_at"] = item.updated_at.isoformat()
    if is_html and not _MARKUP.search(body):  # plain text in an HTML field: its lines are its paragraphs
        body, is_html = html_lib.unescape(body), False
    return RawDoc(
        source=source,
        input_ref=ref,
        html=body if is_html else None,
        text=None if is_html else body,
        url=item.link,
        title=item.title,
        published_at=item.published_at,
        language=item.language,
        authors=list(item.authors),
        site_name=item.feed_title,
        canonical_url=canonicalize_url(item.link) if is_http_url(item.link) else None,
        extra=extra,
    )


def items_from_feed_file(path: str | Path, settings: Settings | None = None, fetcher=None,
                         source: str | None = None) -> Iterator[RawDoc | Reject]:
    """items_from_feed for a feed saved on disk (never raises for an unreadable file)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        yield Reject(source or Path(str(path)).stem, str(path), f"cannot read feed file: {exc}")
        return
    yield from items_from_feed(str(path), data, settings, fetcher, source=source)
