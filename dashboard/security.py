"""Security headers and a Content Security Policy (flask-talisman).

Scripts: only files served by this app plus Dash's own inline bootstrap script, allowed by its exact hash
(``app.csp_hashes()``); no 'unsafe-inline', no 'unsafe-eval' for scripts. Our client-side code lives in
``assets/*.js`` files. Styles need 'unsafe-inline': Plotly.js and MapLibre set element ``style`` attributes and
inject ``<style>`` elements at run time (no hash can cover those); an injected style cannot run code.
MapLibre runs its tile worker from a ``blob:`` URL. HSTS is sent only on HTTPS requests (behind a reverse
proxy, set CITYDASH_PROXY_HOPS so that the proxy's X-Forwarded-Proto counts).

This extension must stay last in ``EXTENSIONS``: it hashes the inline scripts defined before it.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix


def content_security_policy(app, ctx) -> dict[str, list[str] | str]:  # noqa: ANN001
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


def init_app(app, ctx) -> None:  # noqa: ANN001
    server = app.server
    hops = ctx.settings.proxy_hops
    if hops:
        # Behind nginx: the client's address (rate limits) and scheme (HSTS) come from the proxy's headers.
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    Talisman(
        server,
        content_security_policy=content_security_policy(app, ctx),
        force_https=False,  # the reverse proxy redirects; the app also serves plain HTTP on loopback
        strict_transport_security=True,  # Talisman sends it on HTTPS requests only
        strict_transport_security_max_age=31536000,
        # Secure cookies would break plain-HTTP loopback; behind HTTPS the proxy marks them Secure
        # (deploy/nginx.conf: proxy_cookie_flags).
        session_cookie_secure=False,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy={"geolocation": "(self)", "camera": "()", "microphone": "()"},
    )
