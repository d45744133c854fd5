"""Who may talk to `newsetl serve`: an ASGI middleware in front of every route.

* Host check (DNS rebinding): a page on evil.example whose name is re-pointed at
  127.0.0.1 makes the browser send `Host: evil.example`; only requests whose Host is the
  bound address are answered (127.0.0.1, localhost or the --host given, with or without
  the bound port), anything else gets 403 and a message saying why.
* Token: when one is set (always when bound to a non-loopback address) every request
  must carry it: `Authorization: Bearer T`, or `?token=T` once (the answer then sets an
  HttpOnly, SameSite=Strict cookie that carries it from then on; a browser is redirected
  to the same page without the token in its address).
* Only GET and HEAD: the page is read-only (405 otherwise).
* Every answer carries a strict Content-Security-Policy (no third-party or inline
  script), nosniff and no-store.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import socket
from urllib.parse import parse_qsl, urlencode

COOKIE = "newsetl_token"
_HOSTNAME = re.compile(r"[a-z0-9._-]+")  # a Host header carries IDNs as punycode
_IPV6 = re.compile(r"[0-9a-f:.]+")
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
WILDCARD = ("0.0.0.0", "::", "")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
]


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_host_names(bind_host: str) -> set[str]:
    """Host names (lower case, IPv6 without brackets) a request may address us by."""
    bind = bind_host.strip("[]").lower()
    names = {*LOOPBACK_NAMES, bind}
    if bind in WILDCARD:
        # Bound to every interface: the machine's own names and addresses are "us".
        for name in {socket.gethostname(), socket.getfqdn()}:
            names.add(name.lower())
            try:
                names.update(info[4][0] for info in socket.getaddrinfo(name, None))
            except OSError:
                pass
    names.discard("")
    return names


def split_host(value: str) -> tuple[str, int | None] | None:
    """'host', 'host:port', '[v6]' or '[v6]:port' -> (host, port); None if malformed."""
    value = value.strip().lower()
    if not value:
        return None
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep:
            return None
        port = rest[1:] if rest.startswith(":") else (None if not rest else "x")
    elif value.count(":") == 1:
        host, port = value.split(":")
    elif ":" in value:  # a bare IPv6 address is not a valid Host header
        return None
    else:
        host, port = value, None
    bracketed = value.startswith("[")
    if not (_IPV6.fullmatch(host) if bracketed else _HOSTNAME.fullmatch(host)):
        return None
    if port is None:
        return host, None
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        return None
    return host, int(port)


class Guard:
    def __init__(self, app, bind_host: str, port: int | None, token: str | None):
        self.app = app
        self.bind_host = bind_host
        self.names = allowed_host_names(bind_host)
        self.port = port
        self.token = token

    def _host_refusal(self, host_header: str) -> str | None:
        parsed = split_host(host_header)
        allowed = ", ".join(sorted(self.names))
        if parsed is None:
            return (f"refused: missing or malformed Host header {host_header!r}; this server answers "
                    f"only requests addressed to {allowed}")
        host, port = parsed
        if host not in self.names:
            return (f"refused: Host {host_header!r} is not this server's address (it answers only "
                    f"{allowed}); a page served under another name cannot read the warehouse "
                    "(DNS rebinding protection)")
        if port is not None and self.port and port != self.port:
            return f"refused: Host {host_header!r} names port {port}, this server listens on {self.port}"
        return None

    def _supplied_token(self, headers: dict, query: str) -> tuple[str | None, bool]:
        """(token, came_from_query)."""
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        for k, v in parse_qsl(query, keep_blank_values=True):
            if k == "token":
                return v, True
        for part in headers.get("cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == COOKIE:
                return v, False
        return None, False

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._host_refusal(headers.get("host", ""))
        if refusal:
            return await _deny(send, 403, refusal)
        if scope["method"] not in ("GET", "HEAD"):
            return await _deny(send, 405, f"{scope['method']} is not allowed: this page is read-only")
        set_cookie = None
        if self.token is not None:
            given, from_query = self._supplied_token(headers, scope.get("query_string", b"").decode("latin-1"))
            if given is None:
                return await _deny(send, 401, "refused: this server needs its token (printed by `newsetl "
                                   "serve` at start): send `Authorization: Bearer <token>` or open the "
                                   "page once with ?token=<token>")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return await _deny(send, 401, "refused: wrong token")
            if from_query:
                set_cookie = (f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict").encode()
                if "text/html" in headers.get("accept", ""):
                    # a browser opening the printed link: keep the token out of the address
                    # bar and history by sending it back to the same page without it
                    rest = urlencode([(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                                                   keep_blank_values=True) if k != "token"])
                    path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
                    path = "/" + path.lstrip("/")  # "//host" would send the browser elsewhere
                    location = path + ("?" + rest if rest else "")
                    await send({"type": "http.response.start", "status": 303,
                                "headers": [(b"location", location.encode("latin-1")), (b"set-cookie", set_cookie),
                                            (b"content-length", b"0"), *SECURITY_HEADERS]})
                    await send({"type": "http.response.body", "body": b""})
                    return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                h = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(SECURITY_HEADERS)]
                h += SECURITY_HEADERS
                if set_cookie:
                    h.append((b"set-cookie", set_cookie))
                message = {**message, "headers": h}
            await send(message)

        return await self.app(scope, receive, send_with_headers)


async def _deny(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})
