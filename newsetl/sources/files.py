"""Local inputs: files, folders and globs of .txt, .html/.htm, .jsonl (each optionally
.gz), feed files and WARC files. Everything streams: one file, one line at a time."""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from newsetl.records import RawDoc, Reject

TEXT_EXT = {".txt"}
HTML_EXT = {".html", ".htm"}
JSONL_EXT = {".jsonl", ".ndjson"}
FEED_EXT = {".rss", ".atom", ".xml", ".json"}
WARC_EXT = {".warc"}
KNOWN_EXT = TEXT_EXT | HTML_EXT | JSONL_EXT | FEED_EXT | WARC_EXT

# A file bigger than this is refused before it is read (a corpus goes in JSONL or WARC).
MAX_FILE_BYTES = 64 * 1024 * 1024


def suffix_of(path: Path) -> tuple[str, bool]:
    """('.html', True) for page.html.gz."""
    name = path.name.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    return (os.path.splitext(name)[1], gz)


def expand(source: str) -> tuple[str, list[Path]]:
    """A SOURCE argument -> (source name, files). Folders recurse; globs expand."""
    p = Path(source)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and suffix_of(f)[0] in KNOWN_EXT)
        return (p.resolve().name or str(p), files)
    if any(ch in source for ch in "*?["):
        files = sorted(f for f in _glob(source) if f.is_file())
        base = Path(source.split("*")[0]).parent if "*" in source else p.parent
        return (base.resolve().name or "files", files)
    return (p.resolve().parent.name or "files", [p])


def _glob(pattern: str) -> Iterator[Path]:
    """The paths a glob pattern matches, `**` for any depth, never through a symbolic link
    to a folder: glob.glob follows them, and two links back up a tree multiply the paths
    without end. Hidden names match only a pattern part that starts with a dot, as in
    glob.glob."""
    parts = Path(pattern).parts
    k = next(i for i, part in enumerate(parts) if any(ch in part for ch in "*?["))
    root, rest = Path(*parts[:k]) if k else Path("."), parts[k:]
    if rest[-1] == "**":  # glob.glob's "dir/**" lists files too; pathlib's, folders only
        rest += ("*",)
    dots = any(part.startswith(".") for part in rest)
    for path in root.glob(str(Path(*rest))):
        if dots or not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path if k else Path(os.path.relpath(path))


def read_bytes(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"file is {size} bytes, larger than the {MAX_FILE_BYTES}-byte limit")
    data = path.read_bytes()
    if suffix_of(path)[1]:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"not a valid gzip file ({exc})") from None
        if len(data) > MAX_FILE_BYTES * 4:
            raise ValueError("decompressed size is over the limit")
    return data


def decode_text(data: bytes, content_type: str | None = None) -> str:
    """Bytes -> str, or ValueError with a reason a person can act on."""
    from newsetl.sources.decode import decode_bytes, looks_binary

    if looks_binary(data):
        raise ValueError("binary file (control bytes), not text")
    text, _encoding = decode_bytes(data, content_type)
    if "\ufffd" in text and "\ufffd".encode() not in data:
        raise ValueError("undecodable bytes: no encoding fits this file")
    return text


def as_utc(dt: datetime) -> datetime | None:
    """An aware UTC datetime (a naive one is taken as UTC), or None when it has no UTC
    form: "0001-01-01T00:00:00+05:00" is before the first one, "9999-12-31T23:00-05:00"
    after the last."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        return dt.astimezone(timezone.utc)
    except OverflowError:
        return None


def parse_datetime(value) -> datetime | None:
    """ISO 8601 (or epoch seconds) -> aware UTC datetime; future dates -> None."""
    if value in (None, "") or isinstance(value, bool):  # true is no date, not 1970-01-01 00:00:01
        return None
    try:
        if isinstance(value, (int, float)):
            dt = datetime.fromtimestamp(float(value), tz=timezone.utc)
        else:
            s = str(value).strip().replace("Z", "+00:00")
            dt = datetime.fromisoformat(s)
    except (ValueError, OverflowError, OSError):
        try:
            from email.utils import parsedate_to_datetime

            dt = parsedate_to_datetime(str(value))
        except (TypeError, ValueError, IndexError):
            return None
    dt = as_utc(dt)
    if dt is None or dt > datetime.now(timezone.utc):
        return None  # a date in the future is wrong metadata, not a fact
    return dt


def iter_file(path: Path, source: str, settings=None, fetcher=None) -> Iterator[RawDoc | Reject]:
    ext, _gz = suffix_of(path)
    ref = str(path)
    if ext in WARC_EXT:
        from newsetl.sources.warc import records_from_warc

        yield from records_from_warc(path, source=source)
        return
    try:
        if ext in JSONL_EXT:
            yield from iter_jsonl(path, source)
            return
        data = read_bytes(path)
        if not data.strip():
            yield Reject(source, ref, "empty file")
            return
        if ext in FEED_EXT:
            from newsetl.sources.feeds import is_feed, items_from_feed

            if b"<!ENTITY" in data[:65536]:
                yield Reject(source, ref, "feed declares XML entities: refused (entity-expansion and XXE attacks)")
            elif is_feed(data):
                yield from items_from_feed(ref, data, settings, fetcher)
            else:
                yield Reject(source, ref, f"{ext} file is not an RSS, Atom or JSON feed")
            return
        text = decode_text(data)
        if not text.strip():
            yield Reject(source, ref, "file has no text")
        elif ext in HTML_EXT:
            yield RawDoc(source=source, input_ref=ref, html=text, whole_file=True)
        elif ext in TEXT_EXT:
            yield RawDoc(source=source, input_ref=ref, text=text, whole_file=True)
        else:
            yield Reject(source, ref, f"unsupported file type {ext or '(none)'}")
    except (OSError, ValueError) as exc:
        yield Reject(source, ref, str(exc))


JSONL_FIELDS = {"url", "title", "published_at", "source", "text", "html", "language", "authors"}


def _no_body_reason(text: object, html: object) -> str:
    """Why a JSONL object has no usable 'text' or 'html': missing, not a string, or blank."""
    given = [(k, v) for k, v in (("text", text), ("html", html)) if v is not None]
    if not given:
        return "line has neither 'text' nor 'html'"
    why = [f"'{k}' is {type(v).__name__}, not a string" if not isinstance(v, str) else f"'{k}' is blank"
           for k, v in given]
    return "line has no usable 'text' or 'html': " + "; ".join(why)


def iter_jsonl(path: Path, source: str) -> Iterator[RawDoc | Reject]:
    opener = gzip.open if suffix_of(path)[1] else open
    try:
        fh = opener(path, "rb")
        lines = enumerate(fh, start=1)
        any_line = False
        while True:
            try:
                lineno, raw = next(lines)
            except StopIteration:
                break
            except (OSError, EOFError, zlib.error) as exc:
                yield Reject(source, f"{path}", f"file ends early or is corrupt ({exc})")
                any_line = True  # said why: not an empty file
                break
            ref = f"{path}:{lineno}"
            if not raw.strip():
                continue
            any_line = True
            try:
                obj = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                yield Reject(source, ref, f"line is not JSON ({exc.__class__.__name__}: {str(exc)[:80]})")
                continue
            except RecursionError:
                yield Reject(source, ref, "line is JSON nested too deep to read")
                continue
            if not isinstance(obj, dict):
                yield Reject(source, ref, "line is JSON but not an object")
                continue
            text, html = obj.get("text"), obj.get("html")
            if not (isinstance(text, str) and text.strip()) and not (isinstance(html, str) and html.strip()):
                yield Reject(source, ref, _no_body_reason(text, html))
                continue
            authors = obj.get("authors") or []
            # url, title and source are strings (a number becomes one); a list or an object
            # there is kept with the unknown fields, not written as its Python repr.
            fields = {k: str(v) if isinstance(v, (str, int, float)) and not isinstance(v, bool) else None
                      for k, v in ((k, obj.get(k)) for k in ("url", "title", "source"))}
            misfits = {f"{k}_given": obj[k] for k, v in fields.items() if v is None and obj.get(k) not in (None, "")}
            yield RawDoc(
                source=fields["source"] or source,
                input_ref=ref,
                text=text if isinstance(text, str) and text.strip() else None,
                html=html if not (isinstance(text, str) and text.strip()) else None,
                url=fields["url"] or None,
                title=fields["title"] or None,
                published_at=parse_datetime(obj.get("published_at")),
                language=obj.get("language") if isinstance(obj.get("language"), str) else None,
                authors=[str(a) for a in authors] if isinstance(authors, list) else [str(authors)],
                extra={**{k: v for k, v in obj.items() if k not in JSONL_FIELDS}, **misfits},
            )
        fh.close()
        if not any_line:  # an empty or blank file must not vanish without a trace
            yield Reject(source, str(path), "empty file")
    except OSError as exc:
        yield Reject(source, str(path), f"cannot read file ({exc})")


def iter_local(source: str, settings=None, fetcher=None) -> Iterator[RawDoc | Reject]:
    name, files = expand(source)
    if not files:
        yield Reject(name, source, "no such file, or no supported files in that folder/glob")
        return
    for f in files:
        yield from iter_file(f, name, settings, fetcher)


def estimate_articles(sources) -> int | None:
    """How many articles the local SOURCEs hold (JSONL lines, one per other file), for a
    progress bar's time-left estimate; None when a source cannot be counted cheaply
    (URLs, feeds, WARC)."""
    total = 0
    for src in sources:
        if "://" in src or src.startswith("warehouse:"):
            return None
        _name, files = expand(src)
        for f in files:
            ext, gz = suffix_of(f)
            if ext in FEED_EXT or ext in WARC_EXT:
                return None
            if ext in JSONL_EXT:
                opener = gzip.open if gz else open
                try:
                    with opener(f, "rb") as fh:
                        total += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
                except (OSError, EOFError, zlib.error):
                    return None
            else:
                total += 1
    return total
