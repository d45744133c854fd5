"""`newsetl serve`: the analysts' web pages (Starlette + Jinja2 templates, served by uvicorn).

newsetl.web.app holds the routes, templates/ and static/ the HTML, CSS and the ~300
lines of vanilla JS that draw the SVG charts (no CDN, no third-party asset),
newsetl.web.security the Host/token guard, newsetl.web.server the uvicorn glue.

Binds 127.0.0.1 by default; a non-loopback bind always needs a token.
"""

from newsetl.web.app import make_app
from newsetl.web.server import Server, make_server, serve_command

__all__ = ["Server", "make_app", "make_server", "serve_command"]
