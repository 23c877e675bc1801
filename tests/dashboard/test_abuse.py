"""Abuse over HTTP against a live server, as an outsider would try it (issue 15, faults 3, 4 and 5).

* Flags and supports sent with made-up browser ids from one address neither hide a comment nor inflate its
  supports; flags from several addresses (given by the trusted proxy's X-Forwarded-For) still hide it, and an
  X-Forwarded-For that no trusted proxy set counts for nothing.
* Each malformed request that used to answer 500 now gets a 4xx with a short reason (tests/dashboard/
  test_fuzz.py looks for more of them at random).
* The stored text, after redaction, is within the limit.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, func, select

from data_sources.comments.records import MAX_TEXT, CommentInput, public_comment, submit_comment
from data_sources.config import CityConfig, Settings
from data_sources.store.models import Comment, Flag, Support
from data_sources.store.db import make_engine, migrate
from tests.support import free_port


def serve(demo_store_file: Path, city: CityConfig, tmp: Path, hops: int) -> Iterator[tuple[str, Engine]]:
    from werkzeug.serving import make_server

    from dashboard.app import create_app

    shutil.copy(demo_store_file, tmp / "demo.sqlite")
    engine = make_engine(f"sqlite:///{tmp / 'demo.sqlite'}")
    migrate(engine)
    conf = Settings.from_env(
        {"CITYDASH_DATA_DIR": str(tmp), "CITYDASH_SECRET_KEY": "abuse-secret", "CITYDASH_PROXY_HOPS": str(hops)}
    )
    app = create_app(city=city, settings=conf, engine=engine)
    srv = make_server("127.0.0.1", free_port(), app.server, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}", engine
    srv.shutdown()
    engine.dispose()


@pytest.fixture
def direct(demo_store_file: Path, demo_city: CityConfig, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """Served with no proxy in front (CITYDASH_PROXY_HOPS=0): X-Forwarded-For is anyone's to write."""
    yield from serve(demo_store_file, demo_city, tmp_path, 0)


@pytest.fixture
def proxied(demo_store_file: Path, demo_city: CityConfig, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """Served behind one trusted proxy (CITYDASH_PROXY_HOPS=1): its X-Forwarded-For gives the client."""
    yield from serve(demo_store_file, demo_city, tmp_path, 1)


def _comment(engine: Engine, city: CityConfig) -> int:
    return submit_comment(
        engine,
        city,
        CommentInput(lat=48.5, lon=9.0, category="street", text="A comment someone would like to silence."),
    ).id


def vote(base: str, kind: str, comment_id: int, browser: str, forwarded_for: str | None = None) -> str:
    """Press "Report" (kind "flag") or "Me too" (kind "support") on /comments/<id>, as the page's Dash client does."""
    state = [
        {"id": "comment-id", "property": "data", "value": comment_id},
        {"id": "fb-browser", "property": "data", "value": browser},
    ]
    if kind == "flag":
        state.append({"id": "comment-flag-reason", "property": "value", "value": "abusive"})
    state.append({"id": "comment-lang", "property": "data", "value": "en"})
    if kind == "support":
        state.append({"id": "comment-support-email", "property": "value", "value": ""})
    body = {
        "output": f"comment-{kind}-msg.children",
        "outputs": {"id": f"comment-{kind}-msg", "property": "children"},
        "inputs": [{"id": f"comment-{kind}", "property": "n_clicks", "value": 1}],
        "state": state,
        "changedPropIds": [f"comment-{kind}.n_clicks"],
    }
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    r = requests.post(base + "/_dash-update-component", json=body, headers=headers, timeout=30)
    assert r.status_code == 200, r.text[:300]
    return r.json()["response"][f"comment-{kind}-msg"]["children"]["props"]["children"]


def test_made_up_browser_ids_from_one_address_neither_hide_nor_inflate(
    direct: tuple[str, Engine], demo_city: CityConfig
):
    base, engine = direct
    cid = _comment(engine, demo_city)
    answers = [vote(base, "flag", cid, f"made-up-browser-{i:04d}") for i in range(6)]
    assert "moderators will look at it" in answers[0]
    assert all("already flagged from your browser or your network" in a for a in answers[1:])
    assert public_comment(engine, cid)["moderation"] == "published"
    assert requests.get(f"{base}/feeds/comments/{cid}.atom", timeout=30).status_code == 200  # still public
    # X-Forwarded-For without a trusted proxy is the client's own writing: it changes nothing.
    for i in range(3):
        vote(base, "flag", cid, f"made-up-browser-x{i:04d}", forwarded_for=f"203.0.113.{i + 1}")
    assert public_comment(engine, cid)["moderation"] == "published"

    supports = [vote(base, "support", cid, f"made-up-browser-{i:04d}") for i in range(29)]
    assert "counted (1 in all)" in supports[0] and all("already counts a support" in a for a in supports[1:])
    with engine.connect() as conn:
        assert conn.scalar(select(Comment.support_count).where(Comment.id == cid)) == 1
        assert conn.scalar(select(func.count()).select_from(Support).where(Support.comment_id == cid)) == 1


def test_flags_from_several_addresses_behind_the_trusted_proxy_still_hide(
    proxied: tuple[str, Engine], demo_city: CityConfig
):
    base, engine = proxied
    cid = _comment(engine, demo_city)
    threshold = demo_city.feedback.flag_threshold
    # Many browsers at one address count once...
    for i in range(5):
        vote(base, "flag", cid, f"one-address-browser-{i:04d}", forwarded_for="198.51.100.1")
    assert public_comment(engine, cid)["moderation"] == "published"
    # ... and different addresses (as the proxy reports them) each count: the threshold-th one hides it.
    answers = [
        vote(base, "flag", cid, f"another-browser-{i:04d}", forwarded_for=f"198.51.100.{i + 2}")
        for i in range(threshold - 1)
    ]
    assert "hidden until a moderator" in answers[-1]
    assert public_comment(engine, cid)["moderation"] == "hidden"
    with engine.connect() as conn:  # for the moderation queue, as before
        reason = conn.scalar(select(Comment.moderation_reason).where(Comment.id == cid))
        hashes = conn.scalars(select(Flag.address_hash).where(Flag.comment_id == cid)).all()
    assert reason == f"hidden after flags from {threshold} addresses"
    assert len(set(hashes)) == threshold and not any("198.51.100" in h for h in hashes)  # keyed hashes only
    # Supports from different addresses add up; the same address twice does not.
    assert "counted (1 in all)" in vote(base, "support", _comment(engine, demo_city), "b" * 20, "198.51.100.9")


def test_the_rate_limit_per_address_holds_whatever_the_browser_id(direct: tuple[str, Engine], demo_city: CityConfig):
    base, engine = direct
    limit = int(demo_city.feedback.flag_rate.split("/")[0])
    ids = [_comment(engine, demo_city) for _ in range(limit + 1)]
    answers = [vote(base, "flag", cid, f"browser-number-{i:04d}") for i, cid in enumerate(ids)]
    assert "Too many clicks" in answers[-1] and not any("Too many" in a for a in answers[:-1])


# --- fault 4: each cause found by the review (and the fuzz) answers 4xx, never 500 -----------------------------

DEEP = "[" * 100_000 + "]" * 100_000


def _send(base: str, body: object) -> requests.Response:
    return requests.post(
        base + "/report/send",
        data=json.dumps(body).encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def _dash(base: str, body: object) -> requests.Response:
    raw = body if isinstance(body, str) else json.dumps(body)
    return requests.post(
        base + "/_dash-update-component",
        data=raw.encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def _pin(**kw: object) -> dict:
    return {
        "pin": {"lat": 48.5, "lon": 9.0, **kw},
        "category": "street",
        "text": "The street light is out again.",
        "lang": "en",
        "client_key": "known-cause-0001",
    }


def test_malformed_requests_get_a_short_4xx(direct: tuple[str, Engine], demo_city: CityConfig):
    base, engine = direct
    before = _count(engine)
    cases = {
        "deep JSON to /report/send": (_send_raw(base, DEEP), 400),
        "feature_id ²": (_send(base, _pin(feature_id="²")), 422),
        "feature_id 2^64": (_send(base, _pin(feature_id=2**64)), 422),
        "email with a lone surrogate": (_send(base, {**_pin(), "email": "a\ud800@example.org"}), 422),
        "email with a NUL": (_send(base, {**_pin(), "email": "a\x00@example.org"}), 422),
        "400-digit latitude": (_send(base, _pin(lat=10**400)), 422),
        "400-digit latitude as text": (_send(base, _pin(lat="9" * 400)), 422),
        "Open311 page 10^20": (
            requests.get(base + "/open311/v2/requests.json?page=99999999999999999999", timeout=30),
            400,
        ),
        "Open311 year 1": (
            requests.get(base + "/open311/v2/requests.json?start_date=0001-01-01T00:00:00%2B14:00", timeout=30),
            400,
        ),
        "Open311 year 9999": (
            requests.get(base + "/open311/v2/requests.json?end_date=9999-12-31T23:59:59-12:00", timeout=30),
            400,
        ),
        "Open311 request id 2^64": (requests.get(base + f"/open311/v2/requests/{2**64}.json", timeout=30), 400),
        "API observations year 9999": (requests.get(base + "/api/v1/observations?start=9999-12-31", timeout=30), 400),
        "API feature_id ²": (requests.get(base + "/api/v1/observations?feature_id=²", timeout=30), 400),
        "API feature_id 2^64": (requests.get(base + f"/api/v1/observations?feature_id={2**64}", timeout=30), 400),
        "heatmap res ²": (requests.get(base + "/api/v1/comments/heatmap?res=²", timeout=30), 400),
        "heatmap since year 1": (
            requests.get(base + "/api/v1/comments/heatmap?since=0001-01-01T00:00:00%2B01:00", timeout=30),
            400,
        ),
        "comment feed 2^63": (requests.get(base + f"/feeds/comments/{2**63}.atom", timeout=30), 404),
        "district feed 2^64": (requests.get(base + f"/feeds/districts/{2**64}.atom", timeout=30), 404),
        "deep JSON to Dash": (_dash(base, DEEP), 400),
        "deep object to Dash": (_dash(base, '{"a":' * 50_000 + "1" + "}" * 50_000), 400),
        "Dash request without outputs": (
            _dash(
                base,
                {
                    "output": "page.children",
                    "inputs": [
                        {"id": "url", "property": "pathname", "value": "/"},
                        {"id": "url", "property": "search", "value": ""},
                    ],
                },
            ),
            400,
        ),
        "Dash request for a clientside callback": (
            _dash(
                base,
                {
                    "output": "report-count.children",
                    "outputs": {"id": "report-count", "property": "children"},
                    "inputs": [{"id": "report-text", "property": "value", "value": "x"}],
                    "state": [{"id": "report-msgs", "property": "data", "value": {}}],
                },
            ),
            400,
        ),
        "Dash inputs not matching the callback": (
            _dash(
                base,
                {
                    "output": "page.children",
                    "outputs": {"id": "page", "property": "children"},
                    "inputs": [{"id": "url", "property": "pathname", "value": "/"}],
                },
            ),
            400,
        ),
        "Dash inputs of the wrong type": (
            _dash(base, {"output": "page.children", "outputs": {"id": "page", "property": "children"}, "inputs": 5}),
            400,
        ),
    }
    for name, (r, status) in cases.items():
        assert r.status_code == status, (name, r.status_code, r.text[:300])
        assert len(r.text) < 2000 and "Traceback" not in r.text, name
    assert _count(engine) == before  # nothing stored


def _send_raw(base: str, raw: str) -> requests.Response:
    return requests.post(base + "/report/send", data=raw, headers={"Content-Type": "application/json"}, timeout=30)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Comment))


def _callback(base: str, output: str, inputs: list[dict], state: list[dict] | None = None) -> requests.Response:
    outs = [o for o in output.strip(".").split("...") if o]
    outputs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in outs]
    return _dash(
        base,
        {
            "output": output,
            "outputs": outputs if output.startswith("..") else outputs[0],
            "inputs": inputs,
            "state": state or [],
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
        },
    )


def test_hostile_values_in_public_callbacks_are_ignored(direct: tuple[str, Engine]):
    base, _engine = direct
    for path in ("/comments/99999999999999999999", "/comments/²", 5, ["/"], None):
        r = _callback(
            base,
            "page.children",
            [
                {"id": "url", "property": "pathname", "value": path},
                {"id": "url", "property": "search", "value": {"lang": "en"}},
            ],
        )
        assert r.status_code == 200 and "Page not found" in r.text, (path, r.text[:300])  # the frame, with its message
    assert requests.get(base + "/comments/99999999999999999999", timeout=30).status_code == 200  # Dash's shell
    cases = [
        (
            "home-res.data",
            [{"id": "home-map", "property": "relayoutData", "value": {"map.zoom": "x" * 400}}],
            [{"id": "home-res", "property": "data", "value": 7}],
        ),
        (
            "..home-map.figure...home-legend.children..",
            [
                {"id": "home-layers", "property": "value", "value": ["air_station", 5, None, {"a": 1}]},
                {"id": "home-choropleth", "property": "value", "value": ["x"]},
                {"id": "home-res", "property": "data", "value": "²"},
            ],
            [{"id": "home-lang", "property": "data", "value": ["en"]}],
        ),
        (
            "home-feature.data",
            [{"id": "home-map", "property": "clickData", "value": {"points": [{"customdata": [2**64]}]}}],
            [],
        ),
        (
            "..report-place.children...report-duplicates.children..",
            [
                {"id": "report-pin", "property": "data", "value": {"lat": 10**400, "lon": "9"}},
                {"id": "report-category", "property": "value", "value": {"x": 1}},
            ],
            [{"id": "report-lang", "property": "data", "value": None}],
        ),
        (
            "..air-summary.children...air-downloads.children...air-district-summary.children..",
            [
                {"id": "air-metric", "property": "value", "value": ["pm25"]},
                {"id": "air-district", "property": "value", "value": "²"},
                {"id": "air-from", "property": "value", "value": "0001-01-01"},
                {"id": "air-to", "property": "value", "value": 9999},
            ],
            [{"id": "air-lang", "property": "data", "value": 1}],
        ),
        (
            "air-tables.children",
            [
                {"id": "air-tables-details", "property": "open", "value": True},
                {"id": "air-metric", "property": "value", "value": {"x": 1}},
                {"id": "air-district", "property": "value", "value": -(2**70)},
                {"id": "air-from", "property": "value", "value": "2999-12-31"},
                {"id": "air-to", "property": "value", "value": ["2026-11-01"]},
            ],
            [{"id": "air-lang", "property": "data", "value": "<b>"}],
        ),
        (
            "comment-support-msg.children",
            [{"id": "comment-support", "property": "n_clicks", "value": 1}],
            [
                {"id": "comment-id", "property": "data", "value": 2**64},
                {"id": "fb-browser", "property": "data", "value": "b" * 20},
                {"id": "comment-lang", "property": "data", "value": "en"},
                {"id": "comment-support-email", "property": "value", "value": ["not", "an", "email"]},
            ],
        ),
    ]
    for output, inputs, state in cases:
        r = _callback(base, output, inputs, state)
        assert r.status_code in (200, 204), (output, r.status_code, r.text[:300])


# --- fault 5: the stored text is within the limit, after redaction -------------------------------------------


def test_stored_text_is_within_the_limit_after_redaction(direct: tuple[str, Engine]):
    base, engine = direct
    text = ("write to a@b.cc " * 200)[:1994]  # 1,994 characters; redacted it would be about 4,500
    r = _send(base, {**_pin(), "text": text, "client_key": "redaction-key-0001"})
    assert r.status_code == 422 and r.json()["field"] == "text"
    assert "at most 2000" in r.json()["message"].replace(",", "")
    ok = ("Call me at a@b.cc about the broken light. " * 40)[:1500]  # stored: about 1,820
    r = _send(base, {**_pin(), "text": ok, "client_key": "redaction-key-0002"})
    assert r.status_code == 200, r.text
    with engine.connect() as conn:
        stored = conn.execute(select(Comment.text, Comment.original_text).where(Comment.id == r.json()["id"])).one()
        longest = conn.scalar(select(func.max(func.length(Comment.text))))
    assert "[email removed]" in stored.text and len(stored.text) <= MAX_TEXT and len(stored.original_text) <= MAX_TEXT
    assert longest <= MAX_TEXT
