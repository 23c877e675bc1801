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
SECRET_PARAMS = ("token", "api_key", "apikey", "api-key", "key", "access_token", "refresh_token", "session",
                 "sessionid", "session_id", "password", "passwd", "csrf_token", "secret", "signature", "sig", "code")
SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-csrftoken")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # /track/<token>: the token is the next path segment.
    (re.compile(rf"(/(?:{'|'.join(TOKEN_PATHS)})/)[^/?#\s\"'<>]+", re.IGNORECASE), r"\1" + REDACTED),
    # ?api_key=... &token=... (query strings and form bodies)
    (re.compile(rf"((?:^|[?&;\s\"'])(?:{'|'.join(map(re.escape, SECRET_PARAMS))})=)[^&;#\s\"']*", re.IGNORECASE),
     r"\1" + REDACTED),
    # Authorization: Bearer x / "Cookie": "a=b" / X-API-Key=...
    (re.compile(rf"\b({'|'.join(map(re.escape, SECRET_HEADERS))})([\"']?\s*[:=]\s*[\"']?)[^\"'\r\n]+", re.IGNORECASE),
     r"\1\2" + REDACTED),
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1 " + REDACTED),
    (re.compile(r"\b(citydash_session|session)=[^;\s\"']+", re.IGNORECASE), r"\1=" + REDACTED),
)
# Attributes every LogRecord has: not "extra" fields, left alone.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    for pattern, repl in _PATTERNS:
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
        for name, value in list(vars(record).items()):
            if name not in _STANDARD:
                setattr(record, name, _redact_value(value))
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
