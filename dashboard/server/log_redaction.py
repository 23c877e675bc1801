"""No secret in any log line: tracking tokens, confirm/unsubscribe tokens, API keys, session ids and credentials
are replaced by ``[redacted]`` before a record reaches any handler.

A logging filter on every logger and handler the app writes through: the ``citydash`` JSON handler (request
lines carry the path), werkzeug's request log (development server), gunicorn's access and error logs
(deploy/gunicorn.conf.py installs it; its access log is off by default, and redacted when turned on) and the
root logger's handlers. It rewrites the formatted message and every string field added with ``extra=``.

What counts as a secret: a path segment after ``/track/``, ``/confirm/``, ``/unsubscribe/``, ``/verify/`` or
``/reset/``; query or form values named ``token``, ``api_key``, ``key``, ``session``, ``password``,
``csrf_token`` and the like; ``Authorization``, ``Cookie`` and ``X-API-Key`` header values; ``Bearer`` tokens;
and our session cookie's value.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
TOKEN_PATHS = ("track", "confirm", "unsubscribe", "verify", "reset")
SECRET_PARAMS = (
    "token",
    "api_key",
    "apikey",
    "api-key",
    "key",
    "access_token",
    "refresh_token",
    "session",
    "sessionid",
    "session_id",
    "password",
    "passwd",
    "csrf_token",
    "secret",
    "signature",
    "sig",
    "code",
)
SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-csrftoken")

# (hints, pattern, replacement): a pattern runs only when one of its hints (lower case) is in the line, so an
# ordinary line costs a few substring checks instead of five case-insensitive regex scans (about 100 us).
_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    # /track/<token>: the token is the next path segment.
    (
        tuple(f"/{p}/" for p in TOKEN_PATHS),
        re.compile(rf"(/(?:{'|'.join(TOKEN_PATHS)})/)[^/?#\s\"'<>]+", re.IGNORECASE),
        r"\1" + REDACTED,
    ),
    # ?api_key=... &token=... (query strings and form bodies)
    (
        tuple(f"{p}=" for p in SECRET_PARAMS),
        re.compile(rf"((?:^|[?&;\s\"'])(?:{'|'.join(map(re.escape, SECRET_PARAMS))})=)[^&;#\s\"']*", re.IGNORECASE),
        r"\1" + REDACTED,
    ),
    # Authorization: Bearer x / "Cookie": "a=b" / X-API-Key=...
    (
        SECRET_HEADERS,
        re.compile(
            rf"\b({'|'.join(map(re.escape, SECRET_HEADERS))})([\"']?\s*[:=]\s*[\"']?)[^\"'\r\n]+", re.IGNORECASE
        ),
        r"\1\2" + REDACTED,
    ),
    (("bearer", "basic"), re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1 " + REDACTED),
    (("session=",), re.compile(r"\b(citydash_session|session)=[^;\s\"']+", re.IGNORECASE), r"\1=" + REDACTED),
)
# Attributes every LogRecord has: not "extra" fields, left alone.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


# One scan for any hint at all: most lines (a page, a callback, an API read) have none and stop here.
_ANY_HINT = re.compile("|".join(re.escape(h) for hints, _, _ in _PATTERNS for h in hints))


def redact(text: str) -> str:
    low = text.lower()
    if _ANY_HINT.search(low) is None:
        return text
    for hints, pattern, repl in _PATTERNS:
        if any(h in low for h in hints):
            text = pattern.sub(repl, text)
    return text


def _redact_value(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v) for v in value)
    return value


class RedactSecrets(logging.Filter):
    """Rewrites the record in place (so every later handler sees the redacted text) and never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken format: leave it to the handler to report
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        fields = vars(record)
        for name, value in list(fields.items()):
            if isinstance(value, (str, dict, list, tuple)) and name not in _STANDARD:
                fields[name] = _redact_value(value)
        return True


FILTER = RedactSecrets()
LOGGERS = ("citydash", "citydash.request", "werkzeug", "gunicorn.access", "gunicorn.error", "flask.app", "dash")


def install(logger_names: tuple[str, ...] = LOGGERS) -> None:
    """Put the filter on these loggers (records created there) and on their handlers and the root's handlers
    (records propagated from children). Idempotent."""
    loggers = [logging.getLogger(n) for n in logger_names] + [logging.getLogger()]
    for lg in loggers:
        targets: list[logging.Filterer] = [lg, *lg.handlers]
        for t in targets:
            if FILTER not in t.filters:
                t.addFilter(FILTER)
