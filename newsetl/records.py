"""What sources hand to the pipeline: one `RawDoc` per article, or a `Reject`.

Every reader (files, JSONL, HTTP pages, feeds, WARC) yields these, so the flow does not
care where an article came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class RawDoc:
    source: str  # where it came from: folder/feed/site name or URL host
    input_ref: str  # path, path:line, URL or warc:offset (for rejects and lineage)
    text: str | None = None  # plain text, paragraphs separated by newlines
    html: str | None = None  # raw HTML (already decoded to str)
    url: str | None = None
    title: str | None = None
    published_at: datetime | None = None  # timezone-aware
    language: str | None = None
    authors: list[str] = field(default_factory=list)
    site_name: str | None = None
    canonical_url: str | None = None
    fetched_at: datetime | None = None
    extra: dict = field(default_factory=dict)  # unknown fields, kept in the raw layer
    # One file = one article (.txt, .html): a new version of the file supersedes the
    # article landed from the same path before, even when it has no URL.
    whole_file: bool = False


@dataclass
class Reject:
    source: str
    input_ref: str
    reason: str
