"""SOURCE arguments -> a stream of RawDoc | Reject, and batches of it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from newsetl.records import RawDoc, Reject
from newsetl.settings import Settings


def iter_sources(sources: Iterable[str], settings: Settings) -> Iterator[RawDoc | Reject]:
    urls: list[str] = []
    for src in sources:
        if "://" in src:
            urls.append(src)
        else:
            from newsetl.sources.files import iter_local

            yield from iter_local(src)
    if urls:
        from newsetl.sources.http import docs_from_urls

        yield from docs_from_urls(urls, settings)


def batches(items: Iterator[RawDoc | Reject], size: int) -> Iterator[tuple[list[RawDoc], list[Reject]]]:
    docs: list[RawDoc] = []
    rejects: list[Reject] = []
    for item in items:
        (rejects if isinstance(item, Reject) else docs).append(item)
        if len(docs) >= size:
            yield docs, rejects
            docs, rejects = [], []
    if docs or rejects:
        yield docs, rejects
