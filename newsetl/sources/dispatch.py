"""SOURCE arguments -> a stream of RawDoc | Reject, and batches of it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from newsetl.records import RawDoc, Reject
from newsetl.settings import Settings


def iter_sources(sources: Iterable[str], settings: Settings, fetcher=None) -> Iterator[RawDoc | Reject]:
    """Every SOURCE in order. `fetcher` (newsetl.sources.http.Fetcher) serves URLs and
    the pages that feed items point to; the caller commits its validators after landing."""
    from newsetl.sources.files import iter_local
    from newsetl.sources.http import docs_from_urls
    from newsetl.urls import is_http_url

    urls: list[str] = []
    for src in sources:
        if src.startswith("warehouse:"):  # newsetl backfill: articles read back from news.duckdb
            from newsetl.sources.rebuild import iter_rebuild

            yield from iter_rebuild(src, settings)
        elif is_http_url(src):
            urls.append(src)
        elif "://" in src or src.lower().startswith(("javascript:", "data:", "mailto:")):
            scheme = src.split(":", 1)[0]
            yield Reject(scheme, src, f"URL scheme '{scheme}' is not allowed: only http and https")
        else:
            yield from iter_local(src, settings, fetcher)
    if urls:
        yield from docs_from_urls(urls, settings, fetcher)


# A run's first batch holds 1 / FIRST_BATCH_SHARE of `batch_size` articles: the workers
# start on it sooner, while the main process reads and prepares the next.
FIRST_BATCH_SHARE = 4


def run_batches(items: Iterator[RawDoc | Reject], size: int,
                chars: int | None = None) -> Iterator[tuple[list[RawDoc], list[Reject]]]:
    """A run's batches (`newsetl run`, scripts/bench_steps.py): a small first one, then `size`
    documents, or fewer when they hold `chars` characters (the first: a share of both)."""
    return batches(items, size, first=max(1, size // FIRST_BATCH_SHARE), chars=chars,
                   first_chars=max(1, chars // FIRST_BATCH_SHARE) if chars else None)


def doc_chars(doc: RawDoc) -> int:
    """What a document holds in memory while its batch is read and prepared: its HTML and
    its text, in characters."""
    return len(doc.html or "") + len(doc.text or "")


def batches(items: Iterator[RawDoc | Reject], size: int, first: int | None = None,
            chars: int | None = None, first_chars: int | None = None) -> Iterator[tuple[list[RawDoc], list[Reject]]]:
    """Docs in batches of `size`, each with the rejects met while it filled; the first
    batch holds `first` docs when given (a small first batch reaches the workers sooner).
    With `chars`, a batch also ends once its docs hold that many characters (`doc_chars`;
    the first batch `first_chars`): a batch of web pages (~180 KB of HTML each) then holds
    fewer pages than a batch of plain texts (~2 KB each) holds articles."""
    docs: list[RawDoc] = []
    rejects: list[Reject] = []
    limit = first or size
    char_limit = (first_chars or chars) if chars else None
    held = 0
    for item in items:
        if isinstance(item, Reject):
            rejects.append(item)
            continue
        docs.append(item)
        if char_limit is not None:
            held += doc_chars(item)
        if len(docs) >= limit or (char_limit is not None and held >= char_limit):
            yield docs, rejects
            docs, rejects, held = [], [], 0
            limit, char_limit = size, chars
    if docs or rejects:
        yield docs, rejects
