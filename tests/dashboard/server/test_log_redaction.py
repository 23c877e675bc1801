"""No secret in any log line (issue 15, fault 8). The logs are captured as the server writes them (stderr and
every logging record) while an outsider opens a tracking link, an integrator posts with an API key (in the query
string and in the form), and an official logs in and uses the session; none of the secrets appears, while the
request lines themselves do (so the capture is real)."""

from __future__ import annotations

import logging
import runpy

import requests

from dashboard.server import log_redaction
from dashboard.server.log_redaction import redact
from data_sources.comments.api_keys import create_api_key
from data_sources.comments.records import CommentInput, submit_comment
from tests.support import ROOT
from tests.dashboard.live_helpers import http_login, serving
from tests.dashboard.officials_helpers import PASSWORD, make_officials


def test_no_tracking_token_api_key_password_or_session_in_the_logs(app, demo_engine, demo_city, capfd, caplog):
    caplog.set_level(logging.INFO)
    make_officials(demo_engine)
    mine = submit_comment(
        demo_engine,
        demo_city,
        CommentInput(lat=48.52, lon=9.05, category="noise", text="Loud works every night on this corner."),
    )
    key = create_api_key(demo_engine, "logs-test")
    with serving(app) as base:
        assert requests.get(f"{base}/track/{mine.tracking_token}?lang=en", timeout=60).status_code == 200
        r = requests.post(
            f"{base}/open311/v2/requests.json?api_key={key}",
            timeout=60,
            data={
                "api_key": key,
                "service_code": "noise",
                "lat": "48.5012",
                "long": "9.0011",
                "description": "Leaf blowers at six in the morning.",
            },
        )
        assert r.status_code == 201, r.text
        s, r = http_login(base, "official@city.example")
        assert r.status_code == 303
        session_id = s.cookies["citydash_session"]
        assert (
            s.get(f"{base}/officials/export.csv", timeout=60, headers={"Authorization": f"Bearer {key}"}).status_code
            == 200
        )
        # What Flask writes for an unhandled exception, through the app's own logger.
        app.server.logger.error("Exception on /track/%s [GET]", mine.tracking_token)
        logging.getLogger("citydash").info(
            "debugging a client",
            extra={"headers": {"Cookie": f"citydash_session={session_id}"}, "url": f"/track/{mine.tracking_token}"},
        )
    out, err = capfd.readouterr()
    logged = out + err + caplog.text + "\n".join(str(vars(r)) for r in caplog.records)
    assert "/track/[redacted]" in logged and "/open311/v2/requests.json" in logged and "/officials/login" in logged
    for secret in (mine.tracking_token, key, session_id, PASSWORD):
        assert secret not in logged
    assert log_redaction.FILTER in logging.getLogger("werkzeug").filters  # installed by the app's start-up


def test_gunicorn_access_log_lines_are_redacted_when_turned_on(capsys):
    """deploy/gunicorn.conf.py puts the filter on gunicorn's loggers in every worker; gunicorn's access log
    formats its atoms (request line, query string, headers) as a dict of %-arguments."""
    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))

    class Worker:
        pass

    conf["post_worker_init"](Worker())
    access = logging.getLogger("gunicorn.access")
    handler = logging.StreamHandler()
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        access.info(
            '%(h)s "%(r)s" %(s)s "%({authorization}i)s"',
            {
                "h": "127.0.0.1",
                "r": "GET /track/SECRETtoken123?lang=en HTTP/1.1",
                "s": "200",
                "{authorization}i": "Bearer SECRETkey456",
            },
        )
    finally:
        access.removeHandler(handler)
    err = capsys.readouterr().err
    assert "/track/[redacted]" in err and "SECRET" not in err


def test_redact_keeps_ordinary_text():
    assert (
        redact('"GET /comments/12?lang=en&keyword=bus HTTP/1.1" 200')
        == '"GET /comments/12?lang=en&keyword=bus HTTP/1.1" 200'
    )
    assert redact("GET /api/v1/observations?key=abc&limit=1") == "GET /api/v1/observations?key=[redacted]&limit=1"
    assert redact("Cookie: citydash_session=abc.def; x=1") == "Cookie: [redacted]"
    assert redact("/unsubscribe/tok123 /confirm/tok456") == "/unsubscribe/[redacted] /confirm/[redacted]"
