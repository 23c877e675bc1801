"""The shared HTTP layer: one-line SourceErrors for every fault, retries with Retry-After, conditional caching.

Connector-level faults use the fake transport; the retry and cache tests need urllib3 and requests-cache to see
real HTTP, so they talk to a tiny server on 127.0.0.1 that the test starts and stops (never the network).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import urllib3

from data_sources.ingest.types import SourceError
from data_sources.ingest.http import MAX_RETRY_AFTER, USER_AGENT, get_json, make_session, retry_policy


def test_timeout_is_one_line_naming_the_url(fake_session):
    s = fake_session([(r".*", requests.ReadTimeout("read timed out"))])
    with pytest.raises(SourceError, match=r"^https://api\.example\.org/x: timed out after 60 s$"):
        get_json(s, "https://api.example.org/x")


def test_connection_error(fake_session):
    s = fake_session([(r".*", requests.ConnectionError("Name or service not known"))])
    with pytest.raises(SourceError, match="cannot reach.*does not resolve"):
        get_json(s, "https://api.example.org/x")


def test_http_500(fake_session):
    s = fake_session([(r".*", {"status": 500, "text": "oops"})])
    with pytest.raises(SourceError, match=r"HTTP 500 Internal Server Error$"):
        get_json(s, "https://api.example.org/x")


def test_429_says_when_to_retry(fake_session):
    s = fake_session([(r".*", {"status": 429, "headers": {"Retry-After": "30"}})])
    with pytest.raises(
        SourceError, match=r"HTTP 429 Too Many Requests \(rate limited; upstream asks to retry after 30 s\)"
    ):
        get_json(s, "https://api.example.org/x")


def test_malformed_json(fake_session):
    s = fake_session([(r".*", {"text": "<html>Service Unavailable</html>"})])
    with pytest.raises(SourceError, match=r"malformed JSON in the response \(starts '<html>Service"):
        get_json(s, "https://api.example.org/x")


def test_session_identifies_itself():
    s = make_session()
    assert s.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("citydash/") and "(+http" in USER_AGENT


def test_retry_policy_covers_429_and_5xx_and_caps_retry_after():
    policy = retry_policy()
    assert {429, 500, 502, 503, 504} <= set(policy.status_forcelist)
    assert policy.respect_retry_after_header
    slow = urllib3.HTTPResponse(status=429, headers={"Retry-After": "3600"})
    assert policy.get_retry_after(slow) == MAX_RETRY_AFTER


class _Scripted(BaseHTTPRequestHandler):
    script: list = []  # (status, headers, body) served in turn; the last one repeats
    seen: list = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append((time.monotonic(), dict(self.headers)))
        answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        status, headers, body = answer(self.headers) if callable(answer) else answer
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def loopback():
    def start(script):
        handler = type("Handler", (_Scripted,), {"script": list(script), "seen": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/data.json", handler

    servers = []
    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def test_429_with_retry_after_is_retried_after_the_wait(loopback):
    url, handler = loopback(
        [(429, {"Retry-After": "1"}, b""), (200, {"Content-Type": "application/json"}, b'{"ok": 1}')]
    )
    t0 = time.monotonic()
    assert get_json(make_session(backoff=0), url, timeout=(2, 5)) == {"ok": 1}
    assert len(handler.seen) == 2
    assert handler.seen[1][0] - handler.seen[0][0] >= 0.9
    assert time.monotonic() - t0 < 5


def test_persistent_503_gives_up_with_the_status(loopback):
    url, handler = loopback([(503, {}, b"busy")])
    with pytest.raises(SourceError, match="HTTP 503"):
        get_json(make_session(retries=2, backoff=0), url, timeout=(2, 5))
    assert len(handler.seen) == 3  # the first try and two retries


def test_cache_revalidates_with_etag(loopback, tmp_path):
    def answer(headers):
        if headers.get("If-None-Match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"ETag": '"v1"', "Content-Type": "application/json"}, b'{"stations": 3}'

    url, handler = loopback([answer])
    session = make_session(cache_dir=tmp_path / "data")
    assert get_json(session, url, timeout=(2, 5)) == {"stations": 3}
    assert get_json(session, url, timeout=(2, 5)) == {"stations": 3}  # served from the cache after a 304
    assert handler.seen[1][1].get("If-None-Match") == '"v1"'
    assert (tmp_path / "data" / "http_cache.sqlite").exists()


def test_csv_text_without_a_charset_is_read_as_utf8_without_bom(fake_session):
    from data_sources.ingest.http import get_text

    body = "\ufeffid,unit\n1,µg/m³\n".encode()
    s = fake_session([(r".*", {"body": body, "headers": {"Content-Type": "text/csv"}})])
    assert get_text(s, "https://data.example.org/x.csv") == "id,unit\n1,µg/m³\n"
