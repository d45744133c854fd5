"""WARC files (.warc, .warc.gz; Common Crawl, CC-NEWS) -> RawDoc per HTML page.

Only ``response`` records with HTTP status 200 and an HTML content type become
articles; requests, metadata, redirects, images, robots.txt and the like are skipped
silently (they are normal crawl traffic, not bad input), but a file with no HTML page at
all is a Reject that counts what it held instead. A record that cannot be read and a
truncated or corrupt file yield a Reject; reading stops there.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from newsetl.records import RawDoc, Reject
from newsetl.sources.decode import decode_bytes, looks_binary
from newsetl.urls import canonicalize_url, url_host

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Same default cap as HTTP pages (settings.http_max_bytes): a WARC record bigger than
# this is a video or a dump, not an article.
DEFAULT_MAX_RECORD_BYTES = 20_000_000


def _warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def records_from_warc(path: str | Path, source: str | None = None,
                      max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
                      ) -> Iterator[RawDoc | Reject]:
    """RawDoc per HTML 200 response record. ``source`` defaults to the page's host.

    ``input_ref`` is ``<path>:<byte offset of the record>`` so a record can be found
    again with ``warcio extract``."""
    from warcio.archiveiterator import ArchiveIterator

    path = Path(path)
    src_default = source or path.name
    # Accept ARC records only from files named like ARC files: warcio reads any text
    # as an "ARC record", so a junk file would otherwise pass as an empty crawl.
    arc_ok = ".arc" in path.name.lower()
    offset = end = 0
    seen = 0
    kept = 0  # response records that gave a RawDoc or a reject
    skipped: Counter[str] = Counter()  # the other records, by what they were
    try:
        stream = open(path, "rb")
    except OSError as exc:
        yield Reject(src_default, str(path), f"cannot open WARC file: {exc}")
        return

    def corrupt(at: int, why: str) -> Reject:
        # warcio's message can quote the raw bytes it read (a gzip stream that is no WARC)
        why = "".join(ch if ch.isprintable() else "?" for ch in why)
        why = why if len(why) <= 120 else why[:119] + "…"
        return Reject(src_default, f"{path}:{at}",
                      f"corrupt or truncated WARC at or after byte {at}; rest of file skipped ({why})")

    with stream:
        try:
            it = ArchiveIterator(stream)
            for record in it:
                seen += 1
                if record.format.startswith("arc") and not arc_ok:
                    yield corrupt(end, "not a WARC record")
                    return
                declared = record.rec_headers.get_header("Content-Length") or ""
                if record.format.startswith("warc") and (
                    not declared.strip().isdigit() or not record.rec_headers.get_header("WARC-Type")
                ):
                    yield corrupt(end, "incomplete record header")
                    return
                doc = None
                if record.rec_type == "response":
                    doc = _doc_from_record(record, path, source, src_default, max_record_bytes)
                    if isinstance(doc, str):
                        skipped[doc] += 1
                        doc = None
                    else:
                        kept += 1
                else:
                    skipped[f"{record.rec_type} record"] += 1
                # get_record_offset() reads the record to its end, so only after the body.
                offset = it.get_record_offset()
                if getattr(record.raw_stream, "limit", 0) > 0:
                    # warcio stops quietly at a short read; the record's Content-Length
                    # says more bytes were due.
                    yield corrupt(offset, f"record cut short, {record.raw_stream.limit} bytes missing")
                    return
                end = offset + it.get_record_length()
                if doc is not None:
                    doc.input_ref = f"{path}:{offset}"
                    yield doc
        except Exception as exc:  # bad header, bad gzip member, short read...
            yield corrupt(end, f"{type(exc).__name__}: {exc}")
            return
        # warcio also ends quietly inside a truncated gzip member: whatever follows the
        # last whole record must be only the blank lines that separate records.
        try:
            stream.seek(end)
            tail = stream.read(64 * 1024)
        except OSError as exc:
            yield corrupt(end, f"{type(exc).__name__}: {exc}")
            return
        if tail.strip(b"\r\n\t \x00"):
            yield corrupt(end, "unreadable data after the last complete record")
        elif not seen:  # an empty file must not vanish without a trace
            yield Reject(src_default, str(path), "empty WARC file (no records)")
        elif not kept:  # nor a crawl of images, or of errors
            top = skipped.most_common(4)
            what = ", ".join(f"{n} {k}" for k, n in top)
            rest = sum(skipped.values()) - sum(n for _, n in top)
            what += f", {rest} other" if rest else ""
            yield Reject(src_default, str(path), f"no HTML page with status 200 in {seen} records ({what})")


def _doc_from_record(record, path: Path, source: str | None, src_default: str,
                     max_record_bytes: int) -> RawDoc | Reject | str:
    """RawDoc for an HTML 200 response record, a Reject when too big, else what the record
    is instead ("response status 404", "response image/png")."""
    http = record.http_headers
    if http is None:
        return "response without HTTP headers"  # e.g. dns: records
    uri = record.rec_headers.get_header("WARC-Target-URI") or ""
    src = source or url_host(uri) or src_default
    try:
        status = int((http.get_statuscode() or "0").strip() or 0)
    except ValueError:
        status = 0
    ctype = http.get_header("Content-Type") or ""
    media = ctype.split(";", 1)[0].strip().lower()
    if status != 200:
        return f"response status {status}"
    if media not in HTML_TYPES:
        return f"response {media or 'without content type'}"
    body = record.content_stream().read(max_record_bytes + 1)
    if len(body) > max_record_bytes:
        return Reject(src, str(path), f"record body larger than {max_record_bytes} bytes")
    if looks_binary(body):
        return Reject(src, str(path), f"record body is binary (control bytes) served as {media}, not text")
    text, encoding = decode_bytes(body, ctype)
    return RawDoc(
        source=src,
        input_ref=str(path),  # replaced by path:offset once warcio knows the offset
        html=text,
        url=uri or None,
        canonical_url=canonicalize_url(uri) if uri else None,
        fetched_at=_warc_date(record.rec_headers.get_header("WARC-Date")),
        extra={
            "warc_record_id": record.rec_headers.get_header("WARC-Record-ID"),
            "http_status": status,
            "content_type": media,
            "encoding": encoding,
        },
    )
