"""The site's public address (CITYDASH_PUBLIC_URL): the one source of absolute URLs, and the only Host served.

Without it, absolute URLs (Atom feeds, which caches keep and share; the API's ``next`` links; Open311 discovery;
the OpenAPI ``servers``) would be built from the request's Host header, which any client sets: a forged Host
could plant links to another site in a publicly cached feed. When ``public_url`` is set, every absolute URL is
built from it and a request naming any other Host gets 400, except ``/healthz`` asked on a loopback name
(127.0.0.1, localhost, [::1]), for local probes. When it is empty (development), URLs follow the request.

This extension runs first: its check is put at the head of Flask's ``before_request`` hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import flask

if TYPE_CHECKING:  # dashboard.app imports every extension, this one included: names for annotations only
    from dash import Dash

    from dashboard.context import AppContext

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")
HEALTH_PATH = "/healthz"
DEFAULT_PORTS = {"http": "80", "https": "443"}


def _ctx() -> AppContext:
    return flask.current_app.extensions["citydash"]


def public_root(ctx: AppContext | None = None) -> str:
    """The base of every absolute URL, without a trailing slash: CITYDASH_PUBLIC_URL, or the request's root."""
    ctx = ctx or _ctx()
    return ctx.settings.public_url or flask.request.url_root.rstrip("/")


def absolute(path: str, ctx: AppContext | None = None) -> str:
    """An absolute URL for an app path such as ``/comments/3`` (the path as the app sees it)."""
    return public_root(ctx) + path


def public_origin(public_url: str) -> str:
    """scheme://host[:port] of the public URL: what browsers send as Origin."""
    parts = urlsplit(public_url)
    return f"{parts.scheme}://{parts.netloc}"


def allowed_hosts(public_url: str) -> frozenset[str]:
    """The Host header values that name the public URL (with and without its scheme's default port)."""
    parts = urlsplit(public_url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = str(parts.port) if parts.port else DEFAULT_PORTS[parts.scheme]
    names = {f"{host}:{port}"}
    if port == DEFAULT_PORTS[parts.scheme]:
        names.add(host)
    return frozenset(names)


def host_allowed(host: str, path: str, allowed: frozenset[str]) -> bool:
    host = host.lower()
    if host in allowed:
        return True
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return path == HEALTH_PATH and name in LOOPBACK_NAMES


def init_app(app: Dash, ctx: AppContext) -> None:
    public = ctx.settings.public_url
    if not public:
        return
    allowed = allowed_hosts(public)
    server: flask.Flask = app.server

    def refuse_other_hosts() -> flask.Response | None:
        if host_allowed(flask.request.host, flask.request.path, allowed):
            return None
        return flask.Response(
            f"Unknown host: this site is {public}\n",
            status=400,
            mimetype="text/plain",
            headers={"Cache-Control": "no-store"},
        )

    server.before_request_funcs.setdefault(None, []).insert(0, refuse_other_hosts)
