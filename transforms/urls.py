"""The one URL canonicalisation of newsetl: what article ids, dedupe keys and the
`canonical_url` column are built from. Pure (no I/O, no DNS), so transforms and sources
share it; the SSRF guard and the other network-facing helpers live in newsetl/urls.py."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only say how a reader arrived, never which article it is. The
# union of the two lists this project kept before (the sources' and the HTML metadata's),
# from the documented click and campaign parameters of:
# - analytics: Google Analytics (utm_*, _ga, _gl), Matomo/Piwik (mtm_*, pk_*), Adobe
#   (s_cid), Webtrends (wt.mc_id, wt_mc), AT Internet (xtor, at_*), Alibaba (spm);
# - ad click ids: Google (gclid, gclsrc, dclid, gbraid, wbraid), Microsoft (msclkid),
#   Yandex (yclid), Twitter/X (twclid, __twitter_impression), TikTok (ttclid),
#   LinkedIn (li_fat_id), Facebook (fbclid, fb_action_ids, fb_action_types, fb_source),
#   Instagram (igshid), Google Ads via HubSpot (hsa_*);
# - e-mail tools: Mailchimp (mc_cid, mc_eid), HubSpot (_hsenc, _hsmi), Marketo (mkt_tok),
#   Vero (vero_id, vero_conv), Olytics (oly_enc_id, oly_anon_id);
# - the referral and campaign tags news sites add: ref, ref_src, ref_url, referrer,
#   cmpid, cmp, CMP, ocid, icid, ncid, smid, ito, sr_share.
TRACKING_PARAMS = frozenset(
    {
        "_ga", "_gl", "s_cid", "wt.mc_id", "wt_mc", "xtor", "spm",
        "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "__twitter_impression", "ttclid", "li_fat_id", "fbclid", "fb_action_ids",
        "fb_action_types", "fb_source", "igshid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "vero_id", "vero_conv",
        "oly_enc_id", "oly_anon_id",
        "ref", "ref_src", "ref_url", "referrer", "cmpid", "cmp", "ocid", "icid", "ncid",
        "smid", "ito", "sr_share",
    }
)
# Whole families: utm_source/utm_medium/..., AT Internet at_medium/at_campaign/...,
# Matomo pk_*/mtm_*, HubSpot-tagged Google Ads hsa_*.
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hsa_")

# Characters left unescaped when re-encoding query keys and values.
_QUERY_SAFE = "-._~!$'()*,;:@/?"


# A link that a feed tags with where it came from: Medium's "?source=rss----<hex>---4",
# "?from=rss", "?src=feed" (the name says "origin", the value says "a feed").
FEED_ORIGIN_PARAMS = frozenset({"source", "src", "from", "via", "origin"})
FEED_ORIGIN_VALUES = ("rss", "feed", "atom")


def is_tracking_param(name: str, value: str = "") -> bool:
    """True for a query parameter that only tracks the click (case-insensitive)."""
    n = name.lower()
    return (n in TRACKING_PARAMS or n.startswith(TRACKING_PREFIXES)
            or (n in FEED_ORIGIN_PARAMS and value.lower().startswith(FEED_ORIGIN_VALUES)))


def canonicalize_url(url: str | None, base: str | None = None) -> str | None:
    """Canonical form of an http(s) URL: lowercase scheme and host, no default port,
    no fragment, no tracking parameters, the remaining query parameters sorted and
    percent-encoded one way ("a+b" and "a%20b" both become "a%20b"), an empty path as "/".

    A relative `url` is first resolved against `base`. Anything that is not an http(s)
    URL with a host, or cannot be parsed, is returned stripped but otherwise unchanged
    (None stays None), so the function never raises and is idempotent."""
    if url is None:
        return None
    url = url.strip()
    try:
        if base:
            url = urljoin(base, url)
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
    # Whitespace and control characters percent-encoded: stripping them on a second call
    # ("/\x85" is whitespace to str.strip) would otherwise change the result.
    path = "".join(quote(c) if c.isspace() or ord(c) < 32 or ord(c) == 127 else c for c in parts.path) or "/"
    params = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if (k or v) and not is_tracking_param(k, v)  # a bare "=" names nothing (and would print as "")
    ]
    params.sort()
    query = "&".join(
        f"{quote(k, safe=_QUERY_SAFE)}={quote(v, safe=_QUERY_SAFE)}" if v != "" else quote(k, safe=_QUERY_SAFE)
        for k, v in params
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def is_http_url(url: str | None) -> bool:
    """True for an absolute http(s) URL with a host."""
    if not url or not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)
    except ValueError:
        return False
