"""The comment page's small map (``/comments/<id>/map.svg``) and "Me too" only on open comments (issue 17, item 5),
over HTTP against a live server, as an outsider would."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import h3
import pytest
import requests
from hypothesis import given, settings as hyp_settings, strategies as st
from sqlalchemy import Engine, select, update

from dashboard.ui.place_map import HEIGHT, WIDTH, Area, Projection, cell_ring, place_svg, view_box
from data_sources.comments.records import CommentInput, submit_comment
from data_sources.config import CityConfig
from data_sources.store.models import Comment

SVG = "{http://www.w3.org/2000/svg}"


def _comment(engine: Engine, city: CityConfig, lat: float = 48.5, lon: float = 9.0, status: str = "new") -> int:
    cid = submit_comment(
        engine, city, CommentInput(lat=lat, lon=lon, category="street", text="The kerb is broken at the corner.")
    ).id
    with engine.begin() as conn:
        conn.execute(update(Comment).where(Comment.id == cid).values(status=status, moderation="published"))
    return cid


def me_too(base: str, comment_id: int, browser: str = "b" * 24) -> str:
    """Press "Me too" as the page's Dash client does (whether or not the page shows the button)."""
    body = {
        "output": "comment-support-msg.children",
        "outputs": {"id": "comment-support-msg", "property": "children"},
        "inputs": [{"id": "comment-support", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "comment-id", "property": "data", "value": comment_id},
            {"id": "fb-browser", "property": "data", "value": browser},
            {"id": "comment-lang", "property": "data", "value": "en"},
            {"id": "comment-support-email", "property": "value", "value": ""},
        ],
        "changedPropIds": ["comment-support.n_clicks"],
    }
    r = requests.post(base + "/_dash-update-component", json=body, timeout=30)
    assert r.status_code == 200, r.text[:300]
    return r.json()["response"]["comment-support-msg"]["children"]["props"]["children"]


def supports(engine: Engine, cid: int) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(Comment.support_count).where(Comment.id == cid)) or 0)


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_me_too_on_a_resolved_or_closed_comment_is_refused_with_a_reason(live_server, demo_engine, demo_city, status):
    cid = _comment(demo_engine, demo_city, status=status)
    answer = me_too(live_server, cid)
    assert 'takes no more "me too"' in answer and "send a new comment" in answer
    assert supports(demo_engine, cid) == 0
    # The page offers no "Me too" on it, and says why.
    layout = requests.post(
        live_server + "/_dash-update-component",
        json={
            "output": "page.children",
            "outputs": {"id": "page", "property": "children"},
            "inputs": [
                {"id": "url", "property": "pathname", "value": f"/comments/{cid}"},
                {"id": "url", "property": "search", "value": ""},
            ],
            "changedPropIds": ["url.pathname"],
        },
        timeout=30,
    ).text
    assert '"comment-support"' not in layout and "comment-closed-note" in layout


def test_me_too_on_an_open_comment_counts_once(live_server, demo_engine, demo_city):
    cid = _comment(demo_engine, demo_city, status="in_progress")
    assert "counted (1 in all)" in me_too(live_server, cid)
    assert supports(demo_engine, cid) == 1


def test_the_map_is_the_public_cell_in_its_district(live_server, demo_engine, demo_city):
    cid = _comment(demo_engine, demo_city, lat=48.503, lon=9.004)
    r = requests.get(f"{live_server}/comments/{cid}/map.svg?lang=es", timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("image/svg+xml")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    root = ET.fromstring(r.content)
    assert root.tag == SVG + "svg" and "Mapa:" in root.get("aria-label", "")
    assert "<script" not in r.text and "href" not in r.text  # a picture, nothing that runs or loads
    paths = root.findall(SVG + "path")
    assert len(paths) >= 2  # districts and the cell
    # Distinct SVGs for two comments in different cells: the map does show where.
    other = _comment(demo_engine, demo_city, lat=48.53, lon=9.05)
    assert requests.get(f"{live_server}/comments/{other}/map.svg", timeout=30).content != r.content


def test_the_map_of_a_held_hidden_or_unknown_comment_is_404_alike(live_server, demo_engine, demo_city):
    held = _comment(demo_engine, demo_city)
    hidden = _comment(demo_engine, demo_city, lat=48.51)
    with demo_engine.begin() as conn:
        conn.execute(update(Comment).where(Comment.id == held).values(moderation="held"))
        conn.execute(update(Comment).where(Comment.id == hidden).values(moderation="hidden"))
    answers = [requests.get(f"{live_server}/comments/{i}/map.svg", timeout=30) for i in (held, hidden, 10**9)]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert answers[0].content == answers[1].content == answers[2].content
    assert requests.get(f"{live_server}/comments/{2**70}/map.svg", timeout=30).status_code == 404


def test_two_points_in_one_cell_give_the_same_map(demo_engine, demo_city, live_server):
    """Drawn from the cell alone: two exact points in one cell cannot be told apart by the map."""
    cell = h3.latlng_to_cell(48.5, 9.0, 9)
    lat, lon = h3.cell_to_latlng(cell)
    a = _comment(demo_engine, demo_city, lat=lat + 0.0002, lon=lon)
    b = _comment(demo_engine, demo_city, lat=lat - 0.0002, lon=lon + 0.0002)
    with demo_engine.connect() as conn:
        cells = conn.scalars(select(Comment.h3_r9).where(Comment.id.in_([a, b]))).all()
        district = conn.scalars(select(Comment.district_id).where(Comment.id.in_([a, b]))).all()
    assert len(set(cells)) == 1 and len(set(district)) == 1
    ma, mb = (requests.get(f"{live_server}/comments/{i}/map.svg", timeout=30).content for i in (a, b))
    assert ma == mb


@hyp_settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(-70, 70),
    lon=st.floats(-179, 179),
    district=st.booleans(),
)
def test_the_cell_is_always_inside_the_picture(lat: float, lon: float, district: bool) -> None:
    cell = h3.str_to_int(h3.latlng_to_cell(lat, lon, 9))
    areas = []
    if district:
        ring = [
            [lon - 0.01, lat - 0.005],
            [lon + 0.02, lat - 0.005],
            [lon + 0.02, lat + 0.01],
            [lon - 0.01, lat - 0.005],
        ]
        areas = [Area("Old Town", {"type": "Polygon", "coordinates": [ring]}, highlight=True)]
    proj = Projection(view_box(cell, areas[0] if areas else None))
    for x, y in (proj(*p) for p in cell_ring(cell)):
        assert 0 <= x <= WIDTH and 0 <= y <= HEIGHT
    svg = place_svg(cell, areas, "Map <of> & ‘quotes’")
    ET.fromstring(svg)  # well-formed, the title escaped
    assert "Map &lt;of&gt; &amp;" in svg
    assert not re.search(r"nan|inf", svg)
