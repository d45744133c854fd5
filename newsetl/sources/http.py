"""Polite HTTP fetcher for article pages and feeds.

What "polite" and "safe" mean here:

* robots.txt is read once per scheme+host and respected (``settings.respect_robots``);
  its Crawl-delay raises the per-host delay (capped, see _MAX_CRAWL_DELAY).
* at most ``settings.http_per_host_concurrency`` requests in flight per host, and
  request starts to one host are at least ``settings.http_per_host_delay`` seconds apart.
* retries with exponential backoff on timeouts, connection errors, 5xx, 408 and 429
  (429/408 are the two 4xx codes that mean "try again later"); never on other 4xx, and
  never on a body still trickling in at the wall-clock cap (``_TOTAL_TIMEOUT_FACTOR``).
  ``settings.http_retries`` is the total number of tries (3 -> "timeout after 3 tries").
* redirects are followed by hand, at most ``settings.http_max_redirects`` hops, and every
  hop goes through the same scheme/SSRF/robots checks as the first URL.
* bodies are streamed and abandoned as soon as they exceed ``settings.http_max_bytes``
  (counted after gzip decoding, so a compression bomb is cut off too); the content type
  is checked from the headers before the body is read.
* conditional GET: ETag / Last-Modified are remembered per URL in
  ``<state_dir>/http_cache.sqlite``; a 304 gives a FetchResult with ``not_modified=True``,
  which ``pages_from_urls`` skips (it is not a reject). Pages only: a feed is read whole
  every time (its validators are forgotten, ``Fetcher.forget``), since an unchanged feed
  still links to pages that changed or failed last time. ``conditional=False`` (a forced
  run) asks for everything whole.

Failures never raise: ``fetch`` returns a ``Reject`` with a human reason.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import socket
import sqlite3
import threading
import time
import urllib.robotparser
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from newsetl.records import RawDoc, Reject
from newsetl.settings import Settings
from newsetl.sources.decode import decode_bytes, looks_binary
from newsetl.sources.feeds import FEED_MEDIA_TYPES
from newsetl.urls import (
    address_refusal,
    canonicalize_url,
    is_http_url,
    resolve_host,
    ssrf_refusal,
    url_host,
)

log = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# A feed's own media types (feeds.FEED_MEDIA_TYPES), and the generic XML and JSON ones a feed
# (or an XHTML page) may also be served as.
FEED_TYPES = FEED_MEDIA_TYPES | frozenset({"application/xml", "text/xml", "application/json"})
TEXT_TYPES = frozenset({"text/plain"})
ALLOW_PRIVATE = "; NEWSETL_BLOCK_PRIVATE_ADDRESSES=false allows it"  # said with a refused address
DEFAULT_ACCEPT = HTML_TYPES | FEED_TYPES | TEXT_TYPES

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
RETRY_4XX = frozenset({408, 429})
# RFC 9309 asks crawlers to parse at least 500 KiB of robots.txt.
ROBOTS_MAX_BYTES = 512_000
# A site asking for Crawl-delay: 3600 would stall a batch; beyond this we just go slowly.
_MAX_CRAWL_DELAY = 30.0
# Retry-After beyond this is not worth waiting for inside one batch.
_MAX_RETRY_AFTER = 60.0
# Wall-clock cap for one response, as a multiple of settings.http_timeout: httpx's
# timeout is per read, so a server dripping a byte a second would never time out.
_TOTAL_TIMEOUT_FACTOR = 4
# Default first backoff (seconds); doubled after each failed try.
DEFAULT_BACKOFF = 1.0


@dataclass
class FetchResult:
    url: str  # as requested
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]
    content: bytes
    content_type: str  # media type only, lowercase ("" when the server sent none)
    fetched_at: datetime
    not_modified: bool = False
    redirects: list[str] = field(default_factory=list)  # intermediate URLs, in order
    _decoded: tuple[str, str] | None = field(default=None, repr=False)

    def _decode(self) -> tuple[str, str]:
        if self._decoded is None:
            self._decoded = decode_bytes(self.content, self.headers.get("content-type"))
        return self._decoded

    @property
    def text(self) -> str:
        return self._decode()[0]

    @property
    def encoding(self) -> str:
        return self._decode()[1]


class _Failure(Exception):
    def __init__(self, reason: str, retryable: bool = False, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


@dataclass
class _Response:
    url: str
    status: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes = b""


def _dns_failure(host: str, exc: BaseException) -> _Failure:
    """A failed name lookup: retried only when the resolver says to try again (EAI_AGAIN);
    a name that does not exist will not exist a second later."""
    again = isinstance(exc, socket.gaierror) and exc.errno == socket.EAI_AGAIN
    return _Failure(f"DNS lookup failed for {host}: {exc}", retryable=again)


def _gaierror_in(exc: BaseException) -> socket.gaierror | None:
    """The name-lookup error under an HTTP client's connect error, if that is what it was."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, socket.gaierror):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself and connects only to addresses the fetcher allows.

    Checking a URL before the request is not enough: the HTTP client would resolve the
    name again, and a DNS-rebinding server can answer with 10.0.0.1 the second time.
    Here the checked address is the one we connect to (TLS still uses the host name for
    SNI and certificate checks, httpcore takes it from the request, not from here)."""

    def __init__(self, refuse_ip):
        self._refuse_ip = refuse_ip

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = resolve_host(host, port)
        except (OSError, UnicodeError) as exc:
            raise _dns_failure(host, exc) from None
        for ip in addresses:
            reason = self._refuse_ip(ip)
            if reason:
                raise _Failure((reason if ip == host else f"{reason} ({host} resolves to it)") + ALLOW_PRIVATE)
        # IPv4 first: hosts with AAAA records but no IPv6 route are common.
        addresses.sort(key=lambda ip: ":" in ip)
        last: Exception | None = None
        for ip in addresses:
            try:
                return super().connect_tcp(ip, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last if last else httpcore.ConnectError(f"no address for {host}")


class _HostGate:
    """Per-host concurrency limit plus a minimum spacing between request starts."""

    def __init__(self, concurrency: int, delay: float):
        self._sem = threading.BoundedSemaphore(max(1, concurrency))
        self._lock = threading.Lock()
        self._next_start = 0.0
        self.delay = max(0.0, delay)

    @contextmanager
    def slot(self):
        self._sem.acquire()
        try:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start)
                self._next_start = start + self.delay
            if start > now:
                time.sleep(start - now)
            yield
        finally:
            self._sem.release()


class _ValidatorStore:
    """ETag / Last-Modified per URL, in a small SQLite file (safe across threads).

    The table is `http_validators_v2`: the first one also held feeds' validators, whose
    304 hid every item behind an unchanged feed (a page that had failed, or been edited,
    was never asked for again); it is dropped, so each page is fetched whole once."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[str | None, str | None]] = {}
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        with self._lock, self._db:
            self._db.execute(
                "create table if not exists http_validators_v2 ("
                " url text primary key, etag text, last_modified text, updated_at text)"
            )
            self._db.execute("drop table if exists http_validators")

    def get(self, url: str) -> tuple[str | None, str | None] | None:
        with self._lock:
            row = self._db.execute(
                "select etag, last_modified from http_validators_v2 where url = ?", (url,)
            ).fetchone()
        return (row[0], row[1]) if row else None

    def put(self, url: str, etag: str | None, last_modified: str | None) -> None:
        """Remember validators for `commit`: they are written only once the run that
        fetched the page has landed it, so a crashed run never turns into a 304 (and a
        skipped page) next time."""
        with self._lock:
            self._pending[url] = (etag, last_modified)

    def commit(self) -> int:
        with self._lock, self._db:
            pending, self._pending = self._pending, {}
            now = datetime.now(timezone.utc).isoformat()
            for url, (etag, last_modified) in pending.items():
                if etag or last_modified:
                    self._db.execute("insert or replace into http_validators_v2 values (?, ?, ?, ?)",
                                     (url, etag, last_modified, now))
                else:
                    self._db.execute("delete from http_validators_v2 where url = ?", (url,))
        return len(pending)

    def close(self) -> None:
        with self._lock:
            self._db.close()


# IPv6 ranges that carry an IPv4 address inside them. A router or NAT64 gateway may
# deliver a packet for one of these to the IPv4 address it wraps, so the wrapped
# address must pass the same check (2002:a00:1:: is 10.0.0.1 over 6to4).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # RFC 3879: deprecated, never global


def _wrapped_ipv4(addr: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    if addr.sixtofour is not None:
        return "6to4", addr.sixtofour
    if addr.teredo is not None:
        return "Teredo", addr.teredo[1]  # (server, client): the client is where it goes
    if addr in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def private_address_refusal(ip: str) -> str | None:
    """newsetl.urls.address_refusal, plus the IPv6 forms that wrap an IPv4 address
    (6to4 2002::/16, Teredo 2001::/32, NAT64 64:ff9b::/96: refused when the wrapped
    address is refused) and site-local fec0::/10 (refused outright). Python's own
    is_private / is_global do not look inside these, and which of them they flag
    changes between Python versions."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return address_refusal(ip)
    if isinstance(addr, ipaddress.IPv6Address):
        if addr in _SITE_LOCAL:
            return f"site-local address {addr} refused"
        wrapped = _wrapped_ipv4(addr)
        if wrapped is not None:
            kind, v4 = wrapped
            inner = address_refusal(str(v4))
            if inner:
                return f"{kind} address {addr} wraps {v4}: {inner}"
    return address_refusal(ip)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _status_text(resp: _Response) -> str:
    phrase = resp.reason_phrase
    if not phrase:
        try:
            from http import HTTPStatus

            phrase = HTTPStatus(resp.status).phrase
        except ValueError:
            phrase = ""
    return f"HTTP {resp.status} {phrase}".strip()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class Fetcher:
    """Thread-safe polite fetcher. Use as a context manager or call ``close()``.

    ``backoff`` is the first retry delay in seconds (doubled each try); tests pass a tiny
    value. ``accept`` is the set of media types worth downloading (a response without a
    Content-Type is accepted and sniffed by the caller).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        state_dir: Path | str | None = None,
        *,
        backoff: float | None = None,
        max_workers: int = 8,
        accept: Iterable[str] = DEFAULT_ACCEPT,
        transport: httpx.BaseTransport | None = None,
        conditional: bool = True,
    ):
        self.settings = settings or Settings.from_env()
        self.conditional = conditional  # False: never send validators (a forced run)
        s = self.settings
        if backoff is None:  # a settings field, if the project adds one, else the default
            backoff = getattr(s, "http_backoff", DEFAULT_BACKOFF)
        self.backoff = max(0.0, float(backoff))
        self.accept = frozenset(accept)
        self.tries = max(1, int(s.http_retries))
        if transport is None and s.block_private_addresses:
            transport = httpx.HTTPTransport()
            # httpx has no public hook for the connect step; httpcore's pool does.
            pool = getattr(transport, "_pool", None)
            if pool is not None and hasattr(pool, "_network_backend"):
                pool._network_backend = _GuardedBackend(self._refuse_ip)
            else:  # pragma: no cover - only if httpx/httpcore internals change
                log.warning("httpx internals changed: SSRF check runs before connect only")
        self._client = httpx.Client(
            timeout=httpx.Timeout(s.http_timeout),
            follow_redirects=False,
            headers={
                "User-Agent": s.http_user_agent,
                "Accept": "text/html,application/xhtml+xml,application/rss+xml,"
                "application/atom+xml,application/feed+json,application/xml;q=0.9,*/*;q=0.5",
            },
            transport=transport,
        )
        self._store = _ValidatorStore(Path(state_dir or s.state_dir) / "http_cache.sqlite")
        self._lock = threading.Lock()
        self._gates: dict[str, _HostGate] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._max_workers = max(1, max_workers)
        self._pool: ThreadPoolExecutor | None = None
        # Counters for run summaries and tests.
        self.stats = {"requests": 0, "retries": 0, "not_modified": 0, "rejected": 0, "repeated_links": 0}
        self._item_pages: set[str] = set()  # canonical URLs of feed items' pages asked for in this run

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._client.close()
        self._store.close()

    def first_ask(self, url: str) -> bool:
        """False for a feed item's page this run asked for already (another feed, or the
        same feed twice, lists it): it is fetched and counted once."""
        key = canonicalize_url(url)
        with self._lock:
            if key in self._item_pages:
                self.stats["repeated_links"] += 1
                return False
            self._item_pages.add(key)
            return True

    def forget(self, url: str) -> None:
        """No validators for `url` after this run (a feed: read whole every time)."""
        self._store.put(url, None, None)

    def commit_validators(self) -> int:
        """Make this run's ETag/Last-Modified answers count for the next run (call after
        the fetched pages have landed)."""
        return self._store.commit()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- public API ------------------------------------------------------------------

    def fetch(self, url: str, *, conditional: bool = True) -> FetchResult | Reject:
        """GET one URL, following redirects. Never raises for a bad URL or response."""
        url = (url or "").strip()
        try:
            return self._fetch(url, conditional=conditional)
        except _Failure as f:
            self._count("rejected")
            return Reject(source=url_host(url) or "http", input_ref=url, reason=f.reason)
        except Exception as exc:  # a bug or an httpx corner case must not kill a batch
            log.exception("unexpected error fetching %s", url)
            self._count("rejected")
            return Reject(source=url_host(url) or "http", input_ref=url,
                          reason=f"unexpected error: {type(exc).__name__}: {exc}")

    def fetch_many(self, urls: Iterable[str], *, conditional: bool = True
                   ) -> Iterator[FetchResult | Reject]:
        """Fetch concurrently (bounded by per-host limits); results in input order.

        Only a window of URLs is in flight at once, so a huge URL list is not read
        into memory."""
        pool = self._executor()
        window: deque[Future] = deque()
        for url in urls:
            window.append(pool.submit(self.fetch, url, conditional=conditional))
            if len(window) >= self._max_workers * 2:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()

    # -- internals -------------------------------------------------------------------

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="newsetl-http")
            return self._pool

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    def _gate(self, url: str) -> _HostGate:
        key = urlsplit(url).netloc.lower()
        with self._lock:
            gate = self._gates.get(key)
            if gate is None:
                s = self.settings
                gate = self._gates[key] = _HostGate(s.http_per_host_concurrency, s.http_per_host_delay)
            return gate

    def _refuse_ip(self, ip: str) -> str | None:
        """SSRF rule for one resolved address (None: allowed)."""
        return private_address_refusal(ip) if self.settings.block_private_addresses else None

    def _check_address(self, url: str) -> str | None:
        """Reason to refuse this URL before connecting (scheme, SSRF), or None.
        The connect step checks the address it actually uses again (_GuardedBackend)."""
        reason = ssrf_refusal(url, block_private=False)
        if reason or not self.settings.block_private_addresses:
            return reason
        host = urlsplit(url).hostname or ""
        try:
            addresses = resolve_host(host, urlsplit(url).port)
        except (OSError, UnicodeError, ValueError) as exc:
            return f"DNS lookup failed for {host}: {exc}"
        for ip in addresses:
            reason = self._refuse_ip(ip)
            if reason:
                return (reason if ip == host else f"{reason} ({host} resolves to it)") + ALLOW_PRIVATE
        return None

    def _fetch(self, url: str, conditional: bool) -> FetchResult:
        if not is_http_url(url):
            raise _Failure(f"not an http(s) URL: {url[:200]!r}")
        s = self.settings
        conditional = conditional and self.conditional
        validators = self._store.get(url) if conditional else None
        current = url
        redirects: list[str] = []
        while True:
            refusal = self._check_address(current)
            if refusal:
                raise _Failure(refusal if current == url else f"redirect to {current}: {refusal}")
            if s.respect_robots and not self._robots_allow(current):
                down = getattr(self._robots.get(_origin(current)), "unavailable", None)
                raise _Failure(f"robots.txt of {_origin(current)} answered {down}: RFC 9309 reads that as "
                               f"\"disallow all\", so {current} is not fetched" if down
                               else f"robots.txt disallows {current}")
            headers = {}
            if validators:
                etag, last_modified = validators
                if etag:
                    headers["If-None-Match"] = etag
                if last_modified:
                    headers["If-Modified-Since"] = last_modified
            resp = self._get_with_retries(current, headers, s.http_max_bytes, check_type=True)
            if resp.status in REDIRECT_CODES:
                location = resp.headers.get("location")
                if not location:
                    raise _Failure(f"{_status_text(resp)} without a Location header")
                if len(redirects) >= s.http_max_redirects:
                    raise _Failure(f"more than {s.http_max_redirects} redirects")
                redirects.append(current)
                current = urljoin(current, location.strip())
                continue
            fetched_at = datetime.now(timezone.utc)
            if resp.status == 304 and validators:
                self._count("not_modified")
                return FetchResult(url=url, final_url=current, status=304,
                                   headers=dict(resp.headers), content=b"",
                                   content_type="", fetched_at=fetched_at,
                                   not_modified=True, redirects=redirects)
            if not 200 <= resp.status < 300:
                where = f"redirect to {current}: " if redirects else ""
                raise _Failure(where + _status_text(resp), status=resp.status)
            if conditional:
                self._store.put(url, resp.headers.get("etag"), resp.headers.get("last-modified"))
            return FetchResult(url=url, final_url=current, status=resp.status,
                               headers=dict(resp.headers), content=resp.content,
                               content_type=_media_type(resp.headers.get("content-type")),
                               fetched_at=fetched_at, redirects=redirects)

    def _get_with_retries(self, url: str, headers: dict, max_bytes: int, check_type: bool,
                          tries: int | None = None) -> _Response:
        tries = tries or self.tries
        for attempt in range(1, tries + 1):
            try:
                resp = self._get_once(url, headers, max_bytes, check_type)
            except _Failure as f:
                failure = f
            else:
                if resp.status >= 500 or resp.status in RETRY_4XX:
                    failure = _Failure(_status_text(resp), retryable=True, status=resp.status,
                                       retry_after=_retry_after(resp.headers.get("retry-after")))
                else:
                    return resp
            if not failure.retryable:
                raise failure
            if attempt == tries:
                suffix = f" after {tries} tries" if tries > 1 else ""
                raise _Failure(failure.reason + suffix, status=failure.status)
            delay = self.backoff * (2 ** (attempt - 1))
            if failure.retry_after is not None:
                delay = max(delay, min(failure.retry_after, _MAX_RETRY_AFTER))
            self._count("retries")
            log.debug("retrying %s in %.2fs (%s)", url, delay, failure.reason)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _get_once(self, url: str, headers: dict, max_bytes: int, check_type: bool) -> _Response:
        """One request. The body is read only for 2xx answers of an accepted type."""
        s = self.settings
        wall = s.http_timeout * _TOTAL_TIMEOUT_FACTOR
        deadline = time.monotonic() + wall
        with self._gate(url).slot():
            self._count("requests")
            try:
                with self._client.stream("GET", url, headers=headers) as r:
                    resp = _Response(url=url, status=r.status_code,
                                     reason_phrase=r.reason_phrase, headers=r.headers)
                    if not 200 <= r.status_code < 300:
                        return resp
                    ctype = _media_type(r.headers.get("content-type"))
                    if check_type and ctype and ctype not in self.accept:
                        raise _Failure(f"content-type {ctype} is not HTML or a feed")
                    length = r.headers.get("content-length")
                    if length and length.strip().isdigit() and int(length) > max_bytes:
                        raise _Failure(f"body larger than {max_bytes} bytes")
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in r.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise _Failure(f"body larger than {max_bytes} bytes")
                        if time.monotonic() > deadline:
                            # The server answers, only too slowly: another try would take as
                            # long again, so this one is not retried.
                            raise _Failure(f"too slow: body not complete after {wall:g} s")
                        chunks.append(chunk)
                    resp.content = b"".join(chunks)
                    return resp
            except httpx.TimeoutException:
                raise _Failure("timeout", retryable=True) from None
            except httpx.TooManyRedirects:  # pragma: no cover - redirects are manual
                raise _Failure("too many redirects") from None
            except (httpx.ConnectError, httpx.ReadError, httpx.WriteError,
                    httpx.RemoteProtocolError, httpx.NetworkError) as exc:
                dns = _gaierror_in(exc) if isinstance(exc, httpx.ConnectError) else None
                if dns is not None:
                    raise _dns_failure(urlsplit(url).hostname or url, dns) from None
                raise _Failure(f"connection failed ({type(exc).__name__}: {exc})",
                               retryable=True) from None
            except httpx.DecodingError as exc:
                raise _Failure(f"undecodable response body ({exc})") from None
            except httpx.InvalidURL as exc:
                raise _Failure(f"invalid URL ({exc})") from None

    # -- robots.txt ------------------------------------------------------------------

    def _robots_allow(self, url: str) -> bool:
        key = _origin(url)
        with self._lock:
            lock = self._robots_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._robots:
                self._robots[key] = self._load_robots(key)
        parser = self._robots[key]
        if parser is None:
            return True
        return parser.can_fetch(self.settings.http_user_agent, url)

    def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        """Parsed robots.txt, or None for "everything allowed".

        RFC 9309: 4xx means no rules; 5xx means "unreachable", treat as disallow all.
        A network failure lets the page fetch itself report the real error."""
        robots_url = origin + "/robots.txt"
        parser = urllib.robotparser.RobotFileParser(robots_url)
        current = robots_url
        try:
            for _ in range(5):  # RFC 9309: follow at least five redirects
                if self._check_address(current):
                    return None  # the page fetch will be refused with the real reason
                resp = self._get_with_retries(current, {}, ROBOTS_MAX_BYTES, check_type=False, tries=1)
                if resp.status in REDIRECT_CODES and resp.headers.get("location"):
                    current = urljoin(current, resp.headers["location"])
                    continue
                break
            else:
                return None
        except _Failure as f:
            if f.status is not None and f.status >= 500:
                parser.disallow_all = True
                parser.unavailable = f.reason  # said in the page's reject
                return parser
            log.debug("robots.txt for %s unavailable: %s", origin, f.reason)
            return None
        if 200 <= resp.status < 300:
            text, _ = decode_bytes(resp.content, resp.headers.get("content-type"))
            parser.parse(text.splitlines())
            delay = parser.crawl_delay(self.settings.http_user_agent)
            if delay:
                gate = self._gate(robots_url)
                gate.delay = max(gate.delay, min(float(delay), _MAX_CRAWL_DELAY))
            return parser
        if resp.status >= 500:
            parser.disallow_all = True
            parser.unavailable = _status_text(resp)
            return parser
        return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


# --- source entry point ---------------------------------------------------------------


def docs_from_result(res: FetchResult, settings: Settings, fetcher: Fetcher | None = None
                     ) -> Iterator[RawDoc | Reject]:
    """RawDoc(s) for one successful fetch: a page, a plain-text body, or a feed's items."""
    from newsetl.sources.feeds import is_feed, items_from_feed

    source = url_host(res.final_url) or "http"
    # by content too: servers send feeds as text/html or text/plain (an HTML page's root is
    # never <rss>, <feed> or <rdf:RDF>)
    if res.content_type in FEED_MEDIA_TYPES or is_feed(res.content):
        if fetcher is not None:
            fetcher.forget(res.url)
        yield from items_from_feed(res.url, res.content, settings, fetcher=fetcher,
                                   base_url=res.final_url, content_type=res.headers.get("content-type"))
        return
    as_html = res.content_type in FEED_TYPES and b"<html" in res.content[:2048].lower()  # XHTML sent as XML
    if res.content_type and res.content_type not in HTML_TYPES | TEXT_TYPES and not as_html:
        if res.content_type in FEED_TYPES:
            yield Reject(source, res.url, f"served as {res.content_type}, but the body is no RSS, Atom or JSON feed")
        else:
            yield Reject(source, res.url, f"content-type {res.content_type} is not HTML or a feed")
        return
    if looks_binary(res.content):
        yield Reject(source, res.url, f"binary content (control bytes) served as {res.content_type or 'a page'}, "
                                      "not text")
        return
    extra = {"http_status": res.status, "content_type": res.content_type, "encoding": res.encoding}
    if res.redirects:
        extra["redirects"] = res.redirects
    is_text = res.content_type in TEXT_TYPES
    yield RawDoc(
        source=source,
        input_ref=res.url,
        html=None if is_text else res.text,
        text=res.text if is_text else None,
        url=res.final_url,
        canonical_url=canonicalize_url(res.final_url),
        fetched_at=res.fetched_at,
        extra=extra,
    )


def pages_from_urls(urls: Iterable[str], settings: Settings | None = None,
                    fetcher: Fetcher | None = None) -> Iterator[RawDoc | Reject]:
    """RawDoc per page URL (a feed URL yields its items). Duplicate URLs (same canonical
    form) are fetched once; pages unchanged since the last run (HTTP 304) are skipped."""
    settings = settings or Settings.from_env()
    own = fetcher is None
    fetcher = fetcher or Fetcher(settings)
    seen: set[str] = set()

    def unique() -> Iterator[str]:
        for url in urls:
            url = (url or "").strip()
            key = canonicalize_url(url)
            if key in seen:
                continue
            seen.add(key)
            yield url

    try:
        for res in fetcher.fetch_many(unique()):
            if isinstance(res, Reject):
                yield res
            elif res.not_modified:
                log.info("unchanged since last run: %s", res.url)
            else:
                yield from docs_from_result(res, settings, fetcher)
    finally:
        if own:
            fetcher.close()


# The name newsetl/sources/dispatch.py imports: same thing (pages and feed URLs).
docs_from_urls = pages_from_urls
