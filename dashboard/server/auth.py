"""The officials' door, the web side: sessions (Flask-Login), login and logout with CSRF (Flask-WTF),
login throttling (Flask-Limiter), cookie flags, and the server-side checks every officials' request passes.

Hiding pages protects nothing in Dash: any client can POST to /_dash-update-component. So there are two
independent checks, both on the server:

1. ``guard_dash_update`` (a ``before_request``) refuses any callback request that names a component whose id
   starts with ``off-`` (output, input or state) unless the session holds a role high enough for it;
   the level comes from the id: ``off-mod-*`` moderator, ``off-audit-*`` admin, any other ``off-*`` official.
2. ``require_role(level)`` wraps each officials' callback and Flask route and checks again.

Refusals are 401 (no session) or 403 (role too low) with no data.

Sessions end on the server: the cookie holds the account's session epoch from when it was opened, and every
request compares it with ``officials.session_epoch`` in the store (so every gunicorn worker agrees). Logout, a
password, role or department change and disabling the account add one to the epoch (``data_sources.comments.accounts``,
which also hashes passwords and reads the officials' records),
which ends every session of that official, copied cookies included. Idle and absolute timeouts
(``CITYDASH_SESSION_IDLE_MINUTES``, ``CITYDASH_SESSION_MAX_HOURS``) are checked against ``ctx.session_clock``.
Wrong passwords are throttled per account and address (``dashboard.server.login_throttle``).
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, MutableMapping

import flask
from dash import Dash
from flask.sessions import SecureCookieSessionInterface
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from markupsafe import escape

from dashboard.context import AppContext
from dashboard.i18n import translator
from dashboard.server.hosts import public_origin
from dashboard.server.limits import limiter
from dashboard.server.login_throttle import LoginThrottle
from data_sources.comments.accounts import active_official, check_login, end_sessions, record_login
from data_sources.comments.workflow import ROLE_RANK, Actor, log_action

OFF_PREFIX = "off-"
PREFIX_ROLES = (("off-mod-", "moderator"), ("off-audit-", "admin"), (OFF_PREFIX, "official"))
LOGIN_PATH = "/officials/login"
LOGOUT_PATH = "/officials/logout"
# What an officials' session carries besides Flask-Login's keys: the account's session epoch when it was opened,
# and when it was opened and last used (seconds since the epoch, from ``ctx.session_clock``).
EPOCH_KEY, LOGIN_AT_KEY, SEEN_AT_KEY = "_cd_epoch", "_cd_login_at", "_cd_seen_at"
LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", EPOCH_KEY, LOGIN_AT_KEY, SEEN_AT_KEY)
SEEN_EVERY = 60  # seconds: the last-use time in the cookie is renewed at most this often (idle timeout ±1 min)


class OfficialUser(UserMixin):  # type: ignore[misc]  # flask_login ships no types
    def __init__(self, id: int, email: str, role: str, department_id: int | None) -> None:  # noqa: A002
        self.id = id
        self.email = email
        self.role = role
        self.department_id = department_id

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.role, self.department_id)


def role_for_id(component_id: Any) -> str | None:
    """The role an officials' component needs; None for public components. Pattern-matching ids (dicts)
    are judged by their ``type``."""
    cid = component_id.get("type", "") if isinstance(component_id, dict) else str(component_id)
    for prefix, role in PREFIX_ROLES:
        if cid.startswith(prefix):
            return role
    return None


def current_official() -> OfficialUser | None:
    return current_user if getattr(current_user, "is_authenticated", False) else None


def has_role(role: str) -> bool:
    u = current_official()
    return u is not None and ROLE_RANK.get(u.role, 0) >= ROLE_RANK[role]


def refusal(status: int) -> Any:
    return flask.Response(
        '{"error": "%s"}' % ("login required" if status == 401 else "forbidden"),
        status=status,
        mimetype="application/json",
        headers={"Cache-Control": "no-store"},
    )


def require_role(role: str) -> Callable:
    """Decorator for officials' callbacks and routes: 401 without a session, 403 when the role is too low."""

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*a: Any, **kw: Any) -> Any:
            if current_official() is None:
                flask.abort(refusal(401))
            if not has_role(role):
                flask.abort(refusal(403))
            return fn(*a, **kw)

        wrapper.required_role = role  # type: ignore[attr-defined]
        return wrapper

    return deco


def _ids_in(body: dict) -> list:
    ids = []
    outs = body.get("outputs")
    for o in outs if isinstance(outs, list) else [outs]:
        for item in o if isinstance(o, list) else [o]:
            if isinstance(item, dict):
                ids.append(item.get("id"))
    # "output" is the flat form ("a.b" or "..a.b...c.d.."): any officials' id in it counts.
    ids.extend(p for p in str(body.get("output", "")).replace("...", " ").strip(".").split() if p)
    for group in ("inputs", "state"):
        for item in body.get(group) or []:
            for x in item if isinstance(item, list) else [item]:
                if isinstance(x, dict):
                    ids.append(x.get("id"))
    return ids


def required_role_for_request(body: dict) -> str | None:
    need = None
    for cid in _ids_in(body):
        if isinstance(cid, str) and cid.startswith("{"):  # a pattern-matching id in the flat "output" form
            try:
                cid = json.loads(cid.rsplit(".", 1)[0])
            except ValueError:
                return "admin"  # unreadable: demand the most
        r = role_for_id(cid)
        if r and (need is None or ROLE_RANK[r] > ROLE_RANK[need]):
            need = r
    return need


def _same_origin() -> bool:
    origin = flask.request.headers.get("Origin")
    if not origin:
        return True  # non-browser clients; the session cookie is SameSite=Lax and the body must be JSON
    public = flask.current_app.extensions["citydash"].settings.public_url
    return origin.rstrip("/") == (public_origin(public) if public else flask.request.host_url.rstrip("/"))


def session_alive(session: MutableMapping, epoch: int, now: float, idle_s: float, max_s: float) -> bool:
    """Whether an officials' session may still be used: opened in the account's current epoch (no logout,
    password, role or department change or disabling since), used within ``idle_s`` and opened within ``max_s``."""
    login_at, seen_at = session.get(LOGIN_AT_KEY), session.get(SEEN_AT_KEY)
    if (
        session.get(EPOCH_KEY) != epoch
        or not isinstance(login_at, (int, float))
        or not isinstance(seen_at, (int, float))
    ):
        return False
    return now - login_at <= max_s and now - seen_at <= idle_s


def _forget_login(session: MutableMapping) -> None:
    for key in LOGIN_KEYS:
        session.pop(key, None)


class _SessionInterface(SecureCookieSessionInterface):
    """Secure cookies whenever the request came over HTTPS (behind a proxy, apply ProxyFix so Flask knows)."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or (
            flask.has_request_context() and flask.request.is_secure
        )


LOGIN_FORM = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/assets/style.css"><link rel="stylesheet" href="/assets/officials.css"></head>
<body><main id="main" class="login-page"><h1>{title}</h1>{error}
<form method="post" action="{action}" class="login-form">
<input type="hidden" name="csrf_token" value="{csrf}">
<label for="email">{email_label}</label><input id="email" name="email" type="email" autocomplete="username" required>
<label for="password">{password_label}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-submit" class="button">{submit}</button></form>
<p><a href="/?lang={lang}">{back}</a></p></main></body></html>"""


def _login_page(lang: str, error: str = "", status: int = 200) -> flask.Response:
    _ = translator(lang)
    html = LOGIN_FORM.format(
        lang=escape(lang),
        title=escape(_("Officials: log in")),
        action=escape(f"{LOGIN_PATH}?lang={lang}"),
        csrf=escape(generate_csrf()),
        email_label=escape(_("Email")),
        password_label=escape(_("Password")),
        submit=escape(_("Log in")),
        back=escape(_("Back to the map")),
        error=f'<p class="form-error" role="alert">{escape(error)}</p>' if error else "",
    )
    return flask.Response(html, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})


def _too_many_attempts(lang: str, wait: int) -> flask.Response:
    _ = translator(lang)
    resp = _login_page(lang, _("Too many failed attempts. Try again in {n} seconds.", n=wait), 429)
    resp.headers["Retry-After"] = str(wait)
    return resp


def init_app(app: Dash, ctx: AppContext) -> None:
    server: flask.Flask = app.server
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="citydash_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # CSRF is checked on our form routes only (csrf.protect() below): Dash's JSON callback endpoint and
        # other parts' APIs are not HTML forms.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=3600,
    )
    server.session_interface = _SessionInterface()
    csrf = CSRFProtect(server)
    lm = LoginManager()
    lm.session_protection = "strong"
    lm.init_app(server)
    ctx.login_manager = lm
    ctx.csrf = csrf
    # Tests move time with a settable clock; everything about session age reads it.
    idle_s, max_s = ctx.settings.session_idle_minutes * 60, ctx.settings.session_max_hours * 3600

    @lm.user_loader
    def load(user_id: str) -> OfficialUser | None:
        """Every request with a session: the account must be active and the session alive (its epoch current,
        not idle too long, not too old), checked against the store, so that it holds in every worker."""
        try:
            oid = int(user_id)
        except ValueError:
            return None
        row = active_official(ctx.engine, oid)
        now = ctx.session_clock()
        if row is None or not session_alive(flask.session, row.session_epoch, now, idle_s, max_s):
            _forget_login(flask.session)
            return None
        if now - flask.session[SEEN_AT_KEY] >= SEEN_EVERY:
            flask.session[SEEN_AT_KEY] = now
        return OfficialUser(row.id, row.email, row.role, row.department_id)

    @lm.unauthorized_handler
    def unauthorized() -> Any:
        return refusal(401)

    dash_update = app.config.requests_pathname_prefix + "_dash-update-component"

    @server.before_request
    def guard_dash_update() -> Any:
        if flask.request.path != dash_update:
            return None
        body = flask.request.get_json(silent=True, cache=True)
        if not isinstance(body, dict):
            return None  # Dash refuses it itself
        need = required_role_for_request(body)
        if need is None:
            return None
        if current_official() is None:
            return refusal(401)
        if not has_role(need) or not _same_origin():
            return refusal(403)
        return None

    @server.after_request
    def no_store_for_officials(resp: flask.Response) -> flask.Response:
        if flask.request.path.startswith("/officials") or (flask.request.path == dash_update and current_official()):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @server.errorhandler(CSRFError)
    def csrf_failed(e: Any) -> Any:
        return _login_page(
            ctx.language(flask.request.args.to_dict(flat=False)),
            translator(ctx.language())("The form expired. Please try again."),
            400,
        )

    lim = limiter(ctx)
    throttle = LoginThrottle(lim.storage, ctx.limit_prefix)
    ctx.login_throttle = throttle

    # Per address across all accounts (Flask-Limiter); per account and address with backoff (LoginThrottle).
    @lim.limit("10/minute;60/hour", methods=["POST"], scope="login-ip")
    def login() -> Any:
        lang = ctx.language(flask.request.args.to_dict(flat=False))
        _ = translator(lang)
        if flask.request.method == "GET":
            return _login_page(lang)
        csrf.protect()
        email = (flask.request.form.get("email") or "").strip().lower()[:320]
        password = flask.request.form.get("password") or ""
        address = get_remote_address()
        wait = throttle.wait(email, address)
        if wait:
            return _too_many_attempts(lang, wait)
        row = check_login(ctx.engine, email, password)
        if row is None:
            throttle.failed(email, address)
            return _login_page(lang, _("Wrong email or password."), 401)
        throttle.succeeded(email, address)
        user = OfficialUser(row.id, row.email, row.role, row.department_id)
        flask.session.clear()  # a fresh session: no fixation
        login_user(user)
        now = ctx.session_clock()
        flask.session.update({EPOCH_KEY: row.session_epoch, LOGIN_AT_KEY: now, SEEN_AT_KEY: now})
        record_login(ctx.engine, row.id)
        log_action(ctx.engine, user.actor, "login", "official", str(row.id))
        return flask.redirect(f"/officials?lang={lang}", code=303)

    def logout() -> Any:
        csrf.protect()
        lang = ctx.language(flask.request.args.to_dict(flat=False))
        u = current_official()
        if u is not None:
            end_sessions(ctx.engine, u.id)  # every session of this official, including copies of this cookie
            log_action(ctx.engine, u.actor, "logout", "official", str(u.id))
        logout_user()
        flask.session.clear()
        return flask.redirect(f"{LOGIN_PATH}?lang={lang}", code=303)

    server.add_url_rule(LOGIN_PATH, "officials_login", login, methods=["GET", "POST"])
    server.add_url_rule(LOGOUT_PATH, "officials_logout", logout, methods=["POST"])
    # Open to everyone by design (the door itself); every other /officials route must be wrapped in require_role.
    ctx.public_officials_routes = {LOGIN_PATH, LOGOUT_PATH}
