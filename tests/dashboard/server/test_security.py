"""Security headers: a CSP that allows exactly the inline scripts Dash emits, no framing, HSTS only on HTTPS, no
debug; and a real Chromium renders the home page under that policy with no violation."""

import base64
import hashlib
import re

import pytest

from dashboard.app import create_app
from tests.support import clear_of_a_minute_edge


def _policy(resp) -> dict[str, list[str]]:
    out = {}
    for part in resp.headers["Content-Security-Policy"].split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_csp_allows_exactly_the_inline_scripts_of_the_page(client):
    r = client.get("/")
    csp = _policy(r)
    script = csp["script-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    html = re.sub(r"<!--.*?-->", "", r.get_data(as_text=True), flags=re.S)  # IE conditional comments never run
    inline = [
        body
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
        if "src=" not in attrs and "application/json" not in attrs
    ]
    assert inline, "Dash's bootstrap script is expected inline"
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP: HSTS would be ignored or harmful


def test_hsts_only_on_https(client):
    assert (
        "max-age=31536000"
        in client.get("/healthz", base_url="https://city.example").headers["Strict-Transport-Security"]
    )
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def test_every_kind_of_answer_carries_the_same_security_headers(client):
    from bench._serve import route_body

    answers = [
        client.get("/"),
        client.get("/healthz"),
        client.get("/no-such-page-at-all.txt"),
        client.post("/_dash-update-component", data=route_body("/air"), content_type="application/json"),
        client.get("/api/v1/sources"),
    ]
    first = answers[0].headers
    for r in answers:
        for name in (
            "Content-Security-Policy",
            "X-Frame-Options",
            "X-Content-Type-Options",
            "Referrer-Policy",
            "Permissions-Policy",
        ):
            assert r.headers.get(name) == first[name], (r.request.path, name)


def _limited_app(demo_city, settings, demo_engine, hops: int):
    from dashboard.server.limits import limiter

    app = create_app(city=demo_city, settings=settings.model_copy(update={"proxy_hops": hops}), engine=demo_engine)

    @app.server.route("/limited")
    @limiter(app.server.extensions["citydash"]).limit("1/minute")
    def limited():
        return "ok"

    return app.server.test_client()


def test_rate_limits_see_the_client_behind_a_trusted_proxy_only(demo_city, settings, demo_engine):
    def codes(c):
        return [c.get("/limited", headers={"X-Forwarded-For": ip}).status_code for ip in ("203.0.113.1", "203.0.113.2")]

    clear_of_a_minute_edge(10)
    # Behind nginx (one hop): two citizens have their own limits, not one shared by everyone.
    assert codes(_limited_app(demo_city, settings, demo_engine, 1)) == [200, 200]
    # Directly exposed: a client cannot dodge its limit by inventing X-Forwarded-For.
    assert codes(_limited_app(demo_city, settings, demo_engine, 0)) == [200, 429]


def test_no_debug_and_no_traceback_in_production(app):
    assert not app.server.debug and not app.server.config["PROPAGATE_EXCEPTIONS"]

    @app.server.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    r = app.server.test_client().get("/boom")
    assert r.status_code == 500 and b"secret internals" not in r.data and b"Traceback" not in r.data


def test_assets_hold_no_inline_event_handlers_or_scripts():
    from dashboard.app import ASSETS

    for path in ASSETS.rglob("*"):
        if path.suffix in (".html", ".css"):
            text = path.read_text()
            assert "<script" not in text and "javascript:" not in text, path


@pytest.fixture
def citizen_tab(browser):
    """A tab that enforces the CSP (no bypass) and records every violation Chromium reports."""
    from tests.support import new_tab

    tab = new_tab(browser, bypass_csp=False, viewport={"width": 1280, "height": 900})
    tab.violations = []
    tab.on("console", lambda m: tab.violations.append(m.text) if "Content Security Policy" in m.text else None)
    yield tab
    tab.context.close()


@pytest.mark.browser
def test_home_renders_under_the_csp_without_violation(live_server, citizen_tab):
    page = citizen_tab
    resp = page.goto(live_server + "/")
    assert "script-src" in resp.headers["content-security-policy"]
    page.wait_for_selector("#home-map .js-plotly-plot", timeout=30_000)
    page.wait_for_selector(".maplibregl-canvas", timeout=30_000)
    page.wait_for_timeout(1500)  # MapLibre starts its worker and draws after the canvas appears
    assert page.violations == [] and page.errors == []


@pytest.mark.browser
@pytest.mark.parametrize(
    "path, selector",
    [
        ("/report", "#report-send"),
        ("/air", "#main h1"),
        ("/ledger", "#main table"),
        ("/officials/login", "input[name=password]"),
    ],
)
def test_other_pages_run_under_the_csp_without_violation(live_server, citizen_tab, path, selector):
    page = citizen_tab
    page.goto(live_server + path)
    page.wait_for_selector(selector, timeout=30_000)
    page.wait_for_timeout(1000)
    assert page.violations == [] and page.errors == []
