"""Security headers and a Content Security Policy, the same on every response.

Scripts: only files served by this app plus Dash's own inline bootstrap script, allowed by its exact hash
(``app.csp_hashes()``); no 'unsafe-inline', no 'unsafe-eval' for scripts. Our client-side code lives in
``assets/*.js`` files. Styles need 'unsafe-inline': Plotly.js and MapLibre set element ``style`` attributes and
inject ``<style>`` elements at run time (no hash can cover those); an injected style cannot run code.
MapLibre runs its tile worker from a ``blob:`` URL. HSTS is sent only on HTTPS requests (behind a reverse
proxy, set CITYDASH_PROXY_HOPS so that the proxy's X-Forwarded-Proto counts).

The header values are built once at start-up: nothing in them varies per request (no nonces: the inline
scripts are allowed by hash), except HSTS, which depends on the scheme. flask-talisman, used before, rebuilt the
whole policy string on every response: 0.43 M of the 7.5 M instructions that a comment's request took in
process (counted with callgrind).

This extension must stay last in ``EXTENSIONS``: it hashes the inline scripts defined before it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import flask
from dash import Dash
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.context import AppContext


def content_security_policy(app: Dash, ctx: AppContext) -> dict[str, list[str] | str]:
    basemap = ctx.city.basemap
    tiles = []
    if basemap.style == "tiles":
        parts = urlsplit(basemap.tiles_url.replace("{s}", "a"))
        tiles = [f"{parts.scheme}://{parts.netloc}".replace("//a.", "//*.")]
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'", *app.csp_hashes()],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *tiles],
        "connect-src": ["'self'", *tiles],
        "worker-src": ["'self'", "blob:"],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


HSTS = "max-age=31536000; includeSubDomains"  # a year; sent on HTTPS requests only


def security_headers(app: Dash, ctx: AppContext) -> dict[str, str]:
    return {
        "Content-Security-Policy": "; ".join(
            f"{k} {' '.join(v)}" for k, v in content_security_policy(app, ctx).items()
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
    }


def init_app(app: Dash, ctx: AppContext) -> None:
    server = app.server
    hops = ctx.settings.proxy_hops
    if hops:
        # Behind nginx: the client's address (rate limits) and scheme (HSTS) come from the proxy's headers.
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    # Secure cookies would break plain-HTTP loopback; behind HTTPS the session cookie is marked Secure
    # (dashboard.server.auth) and the proxy marks the others (deploy/nginx.conf: proxy_cookie_flags).
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    headers = list(security_headers(app, ctx).items())

    @server.after_request
    def _security_headers(resp: flask.Response) -> flask.Response:
        for name, value in headers:
            if name == "Content-Security-Policy" and name in resp.headers:
                continue  # a response with a stricter policy of its own (photos: dashboard.http.media) keeps it
            resp.headers[name] = value
        if flask.request.is_secure:  # the proxy's X-Forwarded-Proto counts once ProxyFix trusts it
            resp.headers["Strict-Transport-Security"] = HSTS
        return resp
