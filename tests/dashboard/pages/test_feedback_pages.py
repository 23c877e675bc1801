"""The feedback panel over HTTP: the form's callback refuses what validation refuses, feeds parse as Atom,
the heatmap keeps small cells back, and public pages never carry private data."""

import json
import xml.etree.ElementTree as ET

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select, update

from dashboard.app import create_app
from data_sources.comments.records import CommentInput, CommentRejected, submit_comment, validate
from data_sources.config import FeedbackConfig
from data_sources.store.models import Comment
from tests.support import clear_of_a_minute_edge, dash_update, render_page
from tests.dashboard.pages.test_home import _find, _text

ATOM_NS = "{http://www.w3.org/2005/Atom}"


def send(
    client,
    lat=48.5,
    lon=9.0,
    category="traffic",
    text="Cars run the red light here every morning.",
    email="",
    website="",
    key="abcdefghijkl",
    lang="en",
):
    """What the report page's Send posts (assets/feedback.js ``send``); the answer, with its HTTP status."""
    body = {
        "pin": {"lat": lat, "lon": lon},
        "category": category,
        "text": text,
        "email": email,
        "website": website,
        "client_key": key,
        "lang": lang,
    }
    r = client.post("/report/send", json=body)
    assert r.status_code in (200, 422, 429), r.data[:300]
    out = r.get_json()
    assert out["ok"] is (r.status_code == 200)
    return {**out, "status": r.status_code}


def said(out) -> str:
    """Everything the page shows of an answer."""
    return " ".join([*out.get("lines", []), out.get("message", ""), (out.get("track") or {}).get("label", "")])


def count(engine):
    with engine.connect() as c:
        return c.scalar(select(func.count()).select_from(Comment))


@pytest.fixture
def open_app(demo_city, settings, demo_engine):
    """The demo app with rate limits out of the way (for many submissions in one test)."""
    city = demo_city.model_copy(update={"feedback": FeedbackConfig(comment_rate="10000/minute")})
    return create_app(city=city, settings=settings, engine=demo_engine)


def test_report_page_has_the_form_and_a_pickable_map(client):
    page = render_page(client, "/report", "?feature=3")
    ids = {c["props"].get("id") for c in _find(page, lambda c: "id" in c["props"])}
    assert {
        "report-map-open",
        "report-map-slot",
        "report-category",
        "report-text",
        "report-email",
        "report-send",
        "report-locate",
        "report-district",
        "report-feature",
        "report-website",
    } <= ids
    assert _find(page, lambda c: c["props"].get("id") == "report-feature")[0]["props"]["value"] == 3
    assert "report-map" not in ids  # the map (and its bundle) comes only when asked for
    pin = _find(page, lambda c: c["props"].get("id") == "report-pin")[0]["props"]["data"]
    assert pin["feature_id"] == 3
    cats = _find(page, lambda c: c["props"].get("id") == "report-category")[0]["props"]["options"]
    assert [o["value"] for o in cats] == [
        "air",
        "traffic",
        "cycling",
        "walking",
        "noise",
        "street",
        "green_space",
        "other",
    ]


def test_send_commits_and_gives_a_tracking_link(client, demo_engine):
    before = count(demo_engine)
    out = send(client, text="Cars run the red light here. Mail me: jo@example.org", email="jo@example.org")
    assert f"saved as number {out['id']}" in said(out) and "We removed an email address" in said(out)
    assert out["public"]["href"] == f"/comments/{out['id']}?lang=en" and count(demo_engine) == before + 1
    assert out["client_key"] != "abcdefghijkl"  # the next comment gets a key of its own
    token = out["track"]["href"].split("/track/")[1].split("?")[0]
    page = render_page(client, f"/track/{token}")
    assert "Cars run the red light here" in _text(page) and "jo@example.org" not in json.dumps(page)
    # The same submission again (a retry) adds nothing and answers with the same number.
    again = send(client, text="Cars run the red light here. Mail me: jo@example.org")
    assert count(demo_engine) == before + 1 and again["id"] == out["id"] and again["track"] is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.one_of(st.text(max_size=2100), st.just("A perfectly ordinary comment.")),
    lat=st.one_of(st.floats(allow_nan=True), st.just(48.5), st.none(), st.text(max_size=5)),
    lon=st.one_of(st.floats(allow_nan=True), st.just(9.0)),
    category=st.one_of(st.sampled_from(["air", "noise", "aliens", ""]), st.none(), st.integers()),
)
def test_the_callback_refuses_what_validation_refuses(open_app, demo_city, demo_engine, text, lat, lon, category):
    client = open_app.server.test_client()
    try:
        validate(
            CommentInput(lat=lat, lon=lon, category=category if isinstance(category, str) else "", text=text), demo_city
        )
        expected = None
    except CommentRejected as e:
        expected = e
    before = count(demo_engine)
    import secrets

    out = send(client, lat=lat, lon=lon, category=category, text=text, key=secrets.token_hex(8))
    if expected is None:
        assert count(demo_engine) == before + 1 and "Thank you" in said(out)
    else:
        assert out["status"] == 422 and out["field"] == expected.field and str(expected) in out["message"]
        assert count(demo_engine) == before and "client_key" not in out  # the page keeps the draft and its key


def test_rejections_are_in_the_citizens_language(client, demo_engine):
    before = count(demo_engine)
    out = send(client, text="corto", lang="es")
    assert "Escribe al menos 10 caracteres." in out["message"]
    out = send(client, lat=10.0, lon=10.0, lang="nl")
    assert "Demoville" in out["message"] and "buiten" in out["message"]
    assert count(demo_engine) == before


def test_honeypot_stores_nothing(client, demo_engine):
    before = count(demo_engine)
    out = send(client, website="http://spam.example")
    assert "could not be sent" in out["message"] and count(demo_engine) == before


def test_rate_limit_keeps_the_draft(client, demo_engine):
    clear_of_a_minute_edge(15)
    for i in range(5):  # demo policy: 5 per minute
        assert "Thank you" in said(send(client, key=f"rate-key-{i:04d}"))
    out = send(client, key="rate-key-9999")
    assert out["status"] == 429 and "Wait a few minutes" in out["message"] and "client_key" not in out


def test_duplicates_are_offered_and_me_too_counts_once(client, demo_engine, demo_city):
    first = submit_comment(
        demo_engine,
        demo_city,
        CommentInput(lat=48.5, lon=9.0, category="noise", text="Motorbikes racing here after midnight."),
    )
    with demo_engine.begin() as conn:  # the best supported of the many noise comments there: listed first
        conn.execute(update(Comment).where(Comment.id == first.id).values(support_count=1000))
    r = dash_update(
        client,
        "..report-place.children...report-duplicates.children..",
        [
            {"id": "report-pin", "property": "data", "value": {"lat": 48.5003, "lon": 9.0}},
            {"id": "report-category", "property": "value", "value": "noise"},
        ],
        state=[{"id": "report-lang", "property": "data", "value": "en"}],
    )
    dups = r.get_json()["response"]["report-duplicates"]["children"]
    buttons = _find(dups, lambda c: isinstance(c["props"].get("id"), dict))
    assert {"type": "report-support", "id": first.id} in [b["props"]["id"] for b in buttons]

    def me_too(browser, address="192.0.2.1"):
        client.environ_base["REMOTE_ADDR"] = address
        body = {
            "output": "report-dup-msg.children",
            "outputs": {"id": "report-dup-msg", "property": "children"},
            "inputs": [[{"id": {"type": "report-support", "id": first.id}, "property": "n_clicks", "value": 1}]],
            "state": [
                {"id": "fb-browser", "property": "data", "value": browser},
                {"id": "report-lang", "property": "data", "value": "en"},
            ],
            "changedPropIds": [
                json.dumps({"id": first.id, "type": "report-support"}, separators=(",", ":")) + ".n_clicks"
            ],
        }
        resp = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
        return _text(resp.get_json()["response"]["report-dup-msg"]["children"])

    assert "counted (1001 in all)" in me_too("x" * 32)
    assert "already counts a support" in me_too("x" * 32, "192.0.2.2")  # the same browser elsewhere
    assert "already counts a support" in me_too("y" * 32)  # another browser id from the same address
    assert "counted (1002 in all)" in me_too("y" * 32, "192.0.2.2")


def test_flags_from_three_addresses_hide_a_comment(client, demo_engine, demo_city):
    cid = submit_comment(
        demo_engine,
        demo_city,
        CommentInput(lat=48.5, lon=9.0, category="other", text="Some comment that people dislike."),
    ).id
    for i, b in enumerate(["p" * 32, "q" * 32, "r" * 32]):
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{i + 1}"  # three browsers at three addresses
        r = dash_update(
            client,
            "comment-flag-msg.children",
            [{"id": "comment-flag", "property": "n_clicks", "value": 1}],
            state=[
                {"id": "comment-id", "property": "data", "value": cid},
                {"id": "fb-browser", "property": "data", "value": b},
                {"id": "comment-flag-reason", "property": "value", "value": "spam"},
                {"id": "comment-lang", "property": "data", "value": "en"},
            ],
        )
        msg = _text(r.get_json()["response"]["comment-flag-msg"]["children"])
    assert "hidden until a moderator" in msg
    page = render_page(client, f"/comments/{cid}")
    assert "Some comment that people dislike" not in _text(page) and "hidden while moderators" in _text(page)
    assert client.get(f"/feeds/comments/{cid}.atom").status_code == 404


def test_public_pages_carry_no_private_data(client, demo_engine, demo_city):
    r = submit_comment(
        demo_engine,
        demo_city,
        CommentInput(
            lat=48.51234,
            lon=9.01234,
            category="street",
            email="secret@example.org",
            text="Broken slab, call 0612345678 for details",
        ),
    )
    for path in (f"/comments/{r.id}", f"/track/{r.tracking_token}"):
        blob = json.dumps(render_page(client, path))
        assert "secret@example.org" not in blob and "0612345678" not in blob and "48.51234" not in blob
        assert "[phone removed]" in blob
    feed = client.get("/feeds/categories/street.atom").data.decode()
    assert "secret@example.org" not in feed and "0612345678" not in feed


def test_held_comment_only_through_the_tracking_link(client, demo_engine, demo_city):
    r = submit_comment(
        demo_engine, demo_city, CommentInput(lat=48.5, lon=9.0, category="street", text="You idiot, fix the light")
    )
    assert "Comment not found" in _text(render_page(client, f"/comments/{r.id}"))
    private = _text(render_page(client, f"/track/{r.tracking_token}"))
    assert "fix the light" in private and "waiting for a moderator" in private
    assert "Comment not found" in _text(render_page(client, "/track/not-a-real-token-at-all"))


def _atom_ok(body: bytes):
    root = ET.fromstring(body)
    assert root.tag == f"{ATOM_NS}feed"
    for tag in ("id", "title", "updated"):
        assert root.find(f"{ATOM_NS}{tag}") is not None
    for entry in root.findall(f"{ATOM_NS}entry"):
        for tag in ("id", "title", "updated"):
            assert entry.find(f"{ATOM_NS}{tag}") is not None
    parsed = feedparser.parse(body)
    assert not parsed.bozo and parsed.version == "atom10"
    return parsed


def test_feeds_are_valid_atom(client, demo_engine, demo_city):
    payload = "<script>alert(1)</script> & the bins overflow"
    cid = submit_comment(demo_engine, demo_city, CommentInput(lat=48.5, lon=9.0, category="street", text=payload)).id
    p = _atom_ok(client.get(f"/feeds/comments/{cid}.atom").data)
    assert p.entries[0].content[0].value == payload and p.entries[0].content[0].type == "text/plain"
    answered = client.get("/feeds/comments/5.atom")
    assert len(_atom_ok(answered.data).entries) >= 1
    district = _atom_ok(client.get("/feeds/districts/1.atom").data)
    assert 0 < len(district.entries) <= 50
    cat = _atom_ok(client.get("/feeds/categories/air.atom?lang=es").data)
    assert cat.feed.title.startswith("Comentarios") and all("/comments/" in e.link for e in cat.entries)
    assert client.get("/feeds/districts/999.atom").status_code == 404
    assert client.get("/feeds/categories/aliens.atom").status_code == 404


def test_feeds_page_by_keyset_with_rel_next(client, demo_engine):
    """A full feed links to the next, older page (RFC 5005 ``rel="next"``); following the links gives every
    published comment of the category once; a forged cursor is a 400."""
    from urllib.parse import urlsplit

    with demo_engine.connect() as conn:
        want = conn.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.category == "air", Comment.moderation == "published")
        )
    seen, url = [], "/feeds/categories/air.atom"
    for _ in range(100):
        parsed = _atom_ok(client.get(url).data)
        seen += [e.id for e in parsed.entries]
        nxt = [link.href for link in parsed.feed.links if link.rel == "next"]
        if not nxt:
            break
        parts = urlsplit(nxt[0])
        url = f"{parts.path}?{parts.query}"
    assert len(seen) == len(set(seen)) == want > 50
    for bad in ("x", "WzEsIjIwMjYiLDFd"):
        r = client.get(f"/feeds/categories/air.atom?cursor={bad}")
        assert r.status_code == 400 and b"cursor" in r.data


def test_heatmap_suppresses_small_cells(client, demo_engine, demo_city):
    r = client.get("/api/v1/comments/heatmap?res=9")
    data = r.get_json()
    assert r.status_code == 200 and data["min_count"] == 3 and data["cells"]
    assert all(c["count"] >= 3 for c in data["cells"])
    with demo_engine.connect() as c:
        all_cells = dict(c.execute(select(Comment.h3_r9, func.count()).group_by(Comment.h3_r9)).all())
    import h3

    shown = {h3.str_to_int(c["h3"]) for c in data["cells"]}
    assert shown == {k for k, n in all_cells.items() if n >= 3}
    assert sum(c["count"] for c in client.get("/api/v1/comments/heatmap?res=6&category=air").get_json()["cells"]) <= 400
    assert client.get("/api/v1/comments/heatmap?res=6&since=2030-01-01").get_json()["cells"] == []
    for bad in ("res=12", "res=x", "category=aliens", "since=yesterday"):
        resp = client.get(f"/api/v1/comments/heatmap?{bad}")
        assert resp.status_code == 400 and resp.get_json()["error"]


def test_ledger_and_you_said_we_did_pages(client):
    led = _text(render_page(client, "/ledger"))
    for word in ("Environment", "Transport", "Median time to first answer", "Overdue", "Of 2,000 comments"):
        assert word in led
    said = render_page(client, "/you-said-we-did", "?category=street")
    items = _find(said, lambda c: "comment-item" in str(c["props"].get("className", "")))
    assert 0 < len(items) <= 50
    assert all("Resolved" in _text(i) and "We did:" in _text(i) for i in items)


def test_feeds_and_heatmap_are_rate_limited(client):
    clear_of_a_minute_edge(30)
    codes = [client.get("/api/v1/comments/heatmap?res=6").status_code for _ in range(121)]
    assert codes[:120] == [200] * 120 and codes[120] == 429
