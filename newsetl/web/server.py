"""`newsetl serve`: the app on uvicorn, on a socket we bind ourselves.

Binding first (before uvicorn starts) gives a clean one-line error for a busy port, the
real port when 0 is asked for (tests), and the port the Host check expects.
"""

from __future__ import annotations

import secrets
import socket
import sys
import threading

import uvicorn

from newsetl.settings import Settings
from newsetl.web.app import make_app
from newsetl.web.security import is_loopback


def _bind(host: str, port: int) -> socket.socket:
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # lets a restarted server reuse a port in TIME_WAIT; a port someone listens on stays busy
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class Server:
    """uvicorn serving the app on an already bound socket; usable from a thread (tests)."""

    def __init__(self, settings: Settings, host: str, port: int, token: str | None, quiet: bool):
        self.sock = _bind(host, port)
        self.host = host
        self.token = token
        self.server_address = self.sock.getsockname()[:2]
        self.app = make_app(settings, host=host, port=self.server_address[1], token=token)
        config = uvicorn.Config(self.app, lifespan="off", log_level="warning" if quiet else "info",
                                access_log=not quiet, timeout_graceful_shutdown=5, server_header=False)
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        self.server.run(sockets=[self.sock])

    def start(self) -> "Server":
        """Serve from a daemon thread; returns once the server accepts connections."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True, name="newsetl-serve")
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("newsetl serve: the server thread stopped during start-up")
            threading.Event().wait(0.01)
        return self

    def shutdown(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def server_close(self) -> None:
        self.sock.close()

    @property
    def url(self) -> str:
        h, p = self.server_address
        h = f"[{h}]" if ":" in h else h
        return f"http://{h}:{p}"


def make_server(settings: Settings | None = None, host: str = "127.0.0.1", port: int = 8000,
                quiet: bool = False, token: str | None = None) -> Server:
    return Server(settings or Settings.from_env(), host, port, token, quiet)


def token_for(host: str, token: str | None) -> tuple[str | None, bool]:
    """(token, generated): a non-loopback bind always gets one (another machine can
    reach that address, and the page has no other authentication)."""
    if token is None and not is_loopback(host):
        return secrets.token_urlsafe(24), True
    return token, False


def serve_command(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None,
                  token: str | None = None) -> int:
    settings = settings or Settings.from_env()
    token, generated = token_for(host, token)
    try:
        server = make_server(settings, host, port, token=token)
    except OSError as e:
        print(f"newsetl serve: cannot listen on {host}:{port}: {e.strerror or e}", file=sys.stderr)
        return 1
    if not settings.db_path.exists():
        print(f"newsetl serve: no database yet at {settings.db_path} (run `newsetl run` first)", file=sys.stderr)
    h, p = server.server_address[:2]
    shown = host if host not in ("0.0.0.0", "::") else socket.gethostname()
    print(f"newsetl serve: http://{shown}:{p}/  (warehouse {settings.warehouse}; listening on {h}:{p}; "
          "Ctrl-C stops)", flush=True)
    if token is not None:
        how = "generated" if generated else "given"
        print(f"newsetl serve: token ({how}): {token}  — open http://{shown}:{p}/?token={token} once, "
              "or send `Authorization: Bearer <token>`", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
