"""CITYDASH_PUBLIC_URL (issue 15, fault 9): with it set, every absolute URL in feeds (publicly cached), API
``next`` links, the API index, OpenAPI and Open311 discovery is built from it, whatever Host a client sends, and
a request naming another Host is refused with 400, except /healthz asked on a loopback name. Over HTTP against a
live server, with forged Host and X-Forwarded-Host headers."""

from __future__ import annotations

import json
import re

import pytest
import requests

from dashboard.app import create_app
from dashboard.server.hosts import allowed_hosts, host_allowed
from data_sources.config import ConfigError, Settings
from tests.dashboard.live_helpers import dash_outputs, http_login, serving
from tests.dashboard.officials_helpers import make_officials

PUBLIC = "https://city.example"
GOOD = {"Host": "city.example"}


@pytest.fixture
def base(demo_city, tmp_path, demo_engine):
    settings = Settings.from_env(
        {
            "CITYDASH_DATA_DIR": str(tmp_path),
            "CITYDASH_SECRET_KEY": "k",
            "CITYDASH_PUBLIC_URL": PUBLIC + "/",
            "CITYDASH_PROXY_HOPS": "1",
        }
    )
    with serving(create_app(city=demo_city, settings=settings, engine=demo_engine)) as url:
        yield url


# Namespaces and generator credits, not links to this site.
NOT_OURS = {
    "http://www.w3.org/2005/Atom",
    "http://wiki.open311.org/GeoReport_v2",
    "https://lkiesow.github.io/python-feedgen",
}


def urls_in(text: str) -> set[str]:
    return set(re.findall(r"https?://[^\s\"'<>]+", text)) - NOT_OURS


PUBLIC_PATHS = [
    "/feeds/categories/street.atom",
    "/feeds/districts/1.atom",
    "/api/v1/",
    "/api/openapi.json",
    "/api/v1/features/bike_station?limit=5",
    "/open311/v2/discovery.json",
    "/open311/v2/discovery.xml",
]


def test_absolute_urls_come_from_the_public_url(base):
    seen = 0
    for path in PUBLIC_PATHS:
        r = requests.get(base + path, headers=GOOD, timeout=60)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
        found = urls_in(r.text) | urls_in(r.headers.get("Link", ""))
        assert found, path  # each of these answers holds absolute URLs
        foreign = [u for u in found if u != PUBLIC and not u.startswith(PUBLIC + "/")]
        assert not foreign, (path, foreign)
        seen += len(found)
    nxt = requests.get(f"{base}/api/v1/features/bike_station?limit=5", headers=GOOD, timeout=60).json()["next"]
    assert nxt.startswith(f"{PUBLIC}/api/v1/features/bike_station?") and "offset=5" in nxt
    assert (
        requests.get(f"{base}/open311/v2/discovery.json", headers=GOOD, timeout=60).json()["endpoints"][0]["url"]
        == f"{PUBLIC}/open311/v2"
    )
    assert seen > 20


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example"},
        {"Host": "city.example.evil.example"},
        {"Host": "city.example:8443"},
        {"X-Forwarded-Host": "evil.example", **GOOD},
        {},
    ],
)
def test_a_foreign_host_is_refused(base, headers):
    for path in ["/feeds/categories/street.atom", "/api/v1/", "/open311/v2/discovery.json", "/", "/officials/login"]:
        r = requests.get(base + path, headers=headers, timeout=60)
        assert r.status_code == 400 and "Unknown host" in r.text and "evil" not in r.text, (path, headers)


def test_healthz_answers_local_probes_only(base):
    port = base.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", "localhost", f"localhost:{port}", "[::1]:8050"):
        r = requests.get(f"{base}/healthz", headers={"Host": host}, timeout=60)
        assert r.status_code in (200, 503) and "status" in r.json(), host
    assert requests.get(f"{base}/healthz", headers={"Host": "evil.example"}, timeout=60).status_code == 400
    # Loopback names reach /healthz only.
    assert requests.get(f"{base}/api/v1/", headers={"Host": f"127.0.0.1:{port}"}, timeout=60).status_code == 400


def test_without_it_urls_follow_the_request_for_development(live_server):
    d = requests.get(f"{live_server}/open311/v2/discovery.json", timeout=60).json()
    assert d["endpoints"][0]["url"] == f"{live_server}/open311/v2"


def test_the_setting_is_checked():
    assert Settings.from_env({"CITYDASH_PUBLIC_URL": "https://city.example/"}).public_url == "https://city.example"
    for bad in (
        "city.example",
        "ftp://city.example",
        "https://",
        "https://city.example/?a=1",
        "https://u:p@city.example",
    ):
        with pytest.raises(ConfigError, match="CITYDASH_PUBLIC_URL"):
            Settings.from_env({"CITYDASH_PUBLIC_URL": bad})
    assert allowed_hosts("https://city.example") == {"city.example", "city.example:443"}
    assert allowed_hosts("http://[::1]:8050") == {"[::1]:8050"}
    assert not host_allowed("localhost", "/healthz/x", allowed_hosts("https://city.example"))


def test_officials_callbacks_check_the_origin_against_the_public_url(base, demo_engine):
    make_officials(demo_engine)
    s, r = http_login(base, "admin@city.example", headers=GOOD)
    assert r.status_code == 303
    deps = requests.get(f"{base}/_dash-dependencies", headers=GOOD, timeout=60).json()
    dep = next(d for d in deps if d["output"].lstrip(".").startswith("off-q-"))
    body = {
        "output": dep["output"],
        "outputs": dash_outputs(dep["output"]),
        "inputs": [{**i, "value": None} for i in dep["inputs"]],
        "state": [{**x, "value": None} for x in dep.get("state", [])],
        "changedPropIds": [],
    }

    def post(origin: str) -> int:
        return s.post(
            f"{base}/_dash-update-component",
            data=json.dumps(body),
            timeout=60,
            headers={**GOOD, "Content-Type": "application/json", "Origin": origin},
        ).status_code

    assert post(PUBLIC) in (200, 204)
    assert post(base) == 403 and post("https://evil.example") == 403
