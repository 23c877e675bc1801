"""Operations: ``/healthz``, one JSON log line per request, and a clear 503 while the store is unreachable.

Store down: every request that needs it answers 503 "temporarily unavailable" with ``Retry-After`` (a page for
people, JSON for Dash callbacks and APIs), and requests recover by themselves once the store is back: SQLAlchemy
replaces dead connections (on PostgreSQL one idle for over a second is pinged first, ``store._ping_when_idle``;
one in steady use fails its request with 503 and the pool is replaced), and nothing needs a restart. When the
store is down at start-up, the app starts anyway (no gunicorn crash loop) and retries the start-up work
(migrations, demo city) at most every ``RETRY_SECONDS`` until it succeeds.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any

import flask
from dash import Dash
from pythonjsonlogger.json import JsonFormatter

from dashboard.context import AppContext
from dashboard.i18n import translator
from dashboard.server import log_redaction
from data_sources.operations import STORE_ERRORS, explain, ping, prepare_store, source_status
from data_sources.store.db import current_revision

if TYPE_CHECKING:  # dashboard.app imports this module at start-up
    from dashboard.context import AppContext

log = logging.getLogger("citydash")
access = logging.getLogger("citydash.request")
RETRY_SECONDS = 5
PING_EVERY = 1.0  # seconds: under load a worker asks the store "are you there?" at most this often
RETRY_AFTER = "30"  # seconds a client should wait: long enough for a database restart
DASH_INDEX = {"/", "/<path:path>"}  # the endpoints where Dash serves its page


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (gunicorn and test runners swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the ``citydash`` loggers, with secrets redacted from every logger the app writes
    through (``dashboard.server.log_redaction``); idempotent (called by every app in the process)."""
    if any(getattr(h, "citydash_json", False) for h in log.handlers):
        log_redaction.install()
        return
    # What our JSON lines never show, each record need not collect (the logging HOWTO's "Optimization"): the
    # caller's file and line (a walk up the stack), thread and process names. One line per request at 300/s.
    logging._srcfile = None  # noqa: SLF001
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    h = _StderrHandler()
    h.setFormatter(json_formatter())
    h.citydash_json = True  # type: ignore[attr-defined]
    log.addHandler(h)
    log.setLevel(level)
    log.propagate = False
    log_redaction.install()


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}", style="{", rename_fields={"asctime": "time", "levelname": "level"}
    )


def source_ages(ctx: AppContext) -> list[dict]:
    """Each source's last success, its age and whether it is stale (more than STALE_FACTOR refresh intervals)
    or failing; the error messages stay in the store (they may name internal hosts)."""
    return [
        {
            "name": s.name,
            "last_success_at": s.last_success_at.isoformat() + "Z" if s.last_success_at else None,
            "age_seconds": round(s.age_seconds) if s.age_seconds is not None else None,
            "stale": s.stale,
            "failing": s.failing,
        }
        for s in source_status(ctx.engine, ctx.city)
    ]


def mail_health(ctx: AppContext) -> dict:
    """Whether mail can go, and the outbox: without the settings the outbox fills and nothing fails."""
    from data_sources.comments.notifications import missing_settings, outbox_summary

    missing = missing_settings(ctx.settings)
    out = {"configured": not missing, **outbox_summary(ctx.engine)}
    if missing:
        out["missing"] = missing
        out["message"] = "mail is not configured: messages wait in the outbox"
    return out


def health(ctx: AppContext) -> tuple[dict, int]:
    body: dict = {"status": "ok", "city": ctx.city.city.slug}
    t0 = time.perf_counter()
    try:
        ping(ctx.engine)
        revision = current_revision(ctx.engine)
        sources = source_ages(ctx)
    except STORE_ERRORS as e:
        log.warning("healthz: store unreachable", extra={"error": explain(ctx.engine, e)})
        body.update(status="unavailable", store={"reachable": False})
        return body, 503
    head = ctx.schema_head
    body["store"] = {
        "reachable": True,
        "dialect": ctx.engine.dialect.name,
        "revision": revision,
        "expected_revision": head,
        "latency_ms": round((time.perf_counter() - t0) * 1000, 1),
    }
    body["sources"] = sources
    body["mail"] = mail_health(ctx)
    if revision != head or not ctx.store_ready:
        body["status"] = "unavailable"  # schema behind the code: this worker must not serve
        return body, 503
    if any(s["stale"] or s["failing"] for s in sources):
        body["status"] = "degraded"  # serving, with the last good data marked stale
    return body, 200


def _schema_head() -> str | None:
    from alembic.script import ScriptDirectory

    from data_sources.store.db import alembic_config

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return heads[0] if len(heads) == 1 else ",".join(sorted(heads))


def _wants_json() -> bool:
    r = flask.request
    return (
        r.path.startswith("/_dash")
        or r.is_json
        or r.accept_mimetypes.best == "application/json"
        or r.path.endswith(".json")
        or r.path == "/healthz"
    )


UNAVAILABLE_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{{ retry }}"><title>{{ title }}</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><main class="unavailable" id="main"><h1>{{ title }}</h1><p>{{ body }}</p><p>{{ again }}</p></main></body></html>"""


def unavailable_response(ctx: AppContext) -> Any:
    lang = ctx.language(flask.request.args.to_dict(flat=False))
    _ = translator(lang)
    title = _("{city} is temporarily unavailable", city=ctx.city.city.name)
    body = _(
        "We cannot reach our database right now. Comments you sent and saw confirmed are safe; "
        "anything you send now is not saved."
    )
    again = _("This page tries again by itself in {n} seconds.", n=RETRY_AFTER)
    if _wants_json():
        resp = flask.jsonify(error="temporarily_unavailable", message=f"{title}. {body}")
    else:
        resp = flask.make_response(
            flask.render_template_string(
                UNAVAILABLE_PAGE, lang=lang, retry=RETRY_AFTER, title=title, body=body, again=again
            )
        )
    resp.status_code = 503
    resp.headers["Retry-After"] = RETRY_AFTER
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _retry_start(ctx: AppContext) -> bool:
    """Start-up work that failed because the store was down: retry it, at most every RETRY_SECONDS."""
    now = time.monotonic()
    if now < ctx.store_retry_at:
        return False
    ctx.store_retry_at = now + RETRY_SECONDS
    try:
        prepare_store(ctx.engine, ctx.city)
    except STORE_ERRORS as e:
        log.warning("store still unreachable", extra={"error": explain(ctx.engine, e)})
        return False
    log.info("store reachable again: start-up work done")
    ctx.store_ready = True
    return True


def init_app(app: Dash, ctx: AppContext) -> None:
    configure_logging()
    # Flask logs an unhandled exception as "Exception on <path> [GET]" through the app's own logger.
    log_redaction.install((*log_redaction.LOGGERS, app.server.logger.name))
    server = app.server
    ctx.schema_head = _schema_head()

    @server.before_request
    def _start_clock() -> Any:
        flask.g.citydash_t0 = time.perf_counter()
        if flask.request.endpoint in ("healthz",) or flask.request.path.startswith(
            ("/assets/", "/_dash-component-suites/")
        ):
            return None
        if not ctx.store_ready and not _retry_start(ctx):
            return unavailable_response(ctx)
        if flask.request.endpoint in DASH_INDEX:
            # Dash's page shell needs no store, but every page does: answer now, not with a blank page later.
            now = time.monotonic()
            if now - ctx.store_seen_at >= PING_EVERY:
                try:
                    ping(ctx.engine)
                except STORE_ERRORS:
                    ctx.store_seen_at = float("-inf")
                    return unavailable_response(ctx)
                ctx.store_seen_at = now
        return None

    @server.after_request
    def _log_request(resp: Any) -> Any:
        t0 = flask.g.get("citydash_t0")
        if t0 is not None:
            access.info(
                "request",
                extra={
                    "method": flask.request.method,
                    "path": flask.request.path,
                    "status": resp.status_code,
                    "duration_ms": round((time.perf_counter() - t0) * 1000, 1),
                    "bytes": resp.calculate_content_length(),
                },
            )
        return resp

    def _store_down(e: Any) -> Any:
        log.error("store error", extra={"error": explain(ctx.engine, e), "path": flask.request.path})
        return unavailable_response(ctx)

    for error in STORE_ERRORS:
        server.register_error_handler(error, _store_down)

    @server.route("/healthz")
    def healthz() -> Any:
        body, status = health(ctx)
        resp = flask.jsonify(body)
        resp.status_code = status
        resp.headers["Cache-Control"] = "no-store"
        return resp
