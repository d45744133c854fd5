"""URL helpers: canonical form (for dedupe and stable ids) and the SSRF address guard."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only say how a reader arrived, never which article it is.
# Sources: Google Analytics (utm_*, _ga, _gl), ad click ids (gclid, dclid, msclkid, fbclid,
# yclid, twclid, ttclid, li_fat_id), Mailchimp (mc_cid, mc_eid), HubSpot (_hsenc, _hsmi),
# Marketo (mkt_tok), Instagram (igshid), and the referral/campaign tags news sites add
# (ref, ref_src, cmpid, ocid, icid, smid, CMP, at_*, sr_share, __twitter_impression).
_TRACKING_EXACT = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "ttclid",
        "li_fat_id", "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok",
        "ref", "ref_src", "ref_url", "referrer", "cmpid", "cmp", "ocid", "icid", "smid",
        "sr_share", "_ga", "_gl", "__twitter_impression", "s_cid", "wt.mc_id",
        "spm", "xtor",
    }
)
_TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hsa_")

# Characters left unescaped when re-encoding query keys and values.
_QUERY_SAFE = "-._~!$'()*,;:@/?"


def is_tracking_param(name: str) -> bool:
    n = name.lower()
    return n in _TRACKING_EXACT or n.startswith(_TRACKING_PREFIXES)


def is_http_url(url: str | None) -> bool:
    """True for an absolute http(s) URL with a host."""
    if not url or not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)
    except ValueError:
        return False


def canonicalize_url(url: str) -> str:
    """Canonical form of an http(s) URL: lowercase scheme and host, no default port,
    no fragment, no tracking parameters, remaining query parameters sorted, empty path
    as "/". Anything unparseable is returned stripped but otherwise unchanged."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname  # already lowercased; None for relative URLs
        port = parts.port
    except ValueError:
        return url
    if scheme not in _DEFAULT_PORTS or not host:
        return url
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = parts.path or "/"
    params = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k)
    ]
    params.sort()
    query = "&".join(
        f"{quote(k, safe=_QUERY_SAFE)}={quote(v, safe=_QUERY_SAFE)}" if v != "" else quote(k, safe=_QUERY_SAFE)
        for k, v in params
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def url_host(url: str) -> str:
    """Lowercase host of a URL ("" when there is none)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


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
