"""URL helpers for the sources: host of a URL and the SSRF address guard. The canonical
form (dedupe keys, stable ids) is newsetl.transforms.urls.canonicalize_url."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

# The canonical form lives with the pure transforms (one implementation for sources,
# article ids and HTML metadata); re-exported here for the sources that import it.
from newsetl.transforms.urls import canonicalize_url, is_http_url  # noqa: F401

_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_host(url: str) -> str:
    """Lowercase host of a URL ("" when there is none)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def has_host(url: str) -> bool:
    """Whether a URL names its server (a file: URL names a path on this machine)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.netloc) or parts.scheme == "file"


# --- SSRF guard -----------------------------------------------------------------------


def address_refusal(ip: str) -> str | None:
    """Why an IP address must not be fetched from (None when it is a public address)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return f"unparseable address {ip!r} refused"
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    # Most specific first: Python counts 0.0.0.0, 169.254/16 and 240/4 as "private" too.
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(addr, f"is_{kind}"):
            return f"{kind.replace('_', '-')} address {addr} refused"
    if not addr.is_global:  # e.g. 100.64.0.0/10 carrier-grade NAT
        return f"non-public address {addr} refused"
    return None


def resolve_host(host: str, port: int | None = None) -> list[str]:
    """All addresses a host name resolves to (raises OSError on DNS failure)."""
    infos = socket.getaddrinfo(host, port or 80, proto=socket.IPPROTO_TCP)
    return sorted({info[4][0] for info in infos})


def ssrf_refusal(url: str, block_private: bool = True) -> str | None:
    """Why this URL must not be fetched, or None.

    Only http and https are allowed. With ``block_private`` the host is resolved and
    refused when *any* of its addresses is private, loopback, link-local, multicast,
    reserved or otherwise non-global. Known gap: the HTTP client resolves the name again
    when it connects, so a DNS-rebinding server could answer differently the second time.
    """
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        return f"invalid URL ({exc})"
    if scheme not in _DEFAULT_PORTS:
        return f"scheme {scheme or '(none)'!r} refused: only http and https are fetched"
    if not host:
        return "URL has no host"
    if not block_private:
        return None
    try:
        addresses = resolve_host(host, port)
    except (OSError, UnicodeError) as exc:
        return f"DNS lookup failed for {host}: {exc}"
    if not addresses:
        return f"DNS lookup for {host} returned no address"
    for ip in addresses:
        reason = address_refusal(ip)
        if reason:
            return reason if ip == host else f"{reason} ({host} resolves to it)"
    return None
