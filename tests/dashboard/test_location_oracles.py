"""Exact locations stay private (issue 15, fault 1), attacked over HTTP against a live server as an outsider would.

The method: two "twin" comments, identical in everything public (category, text, time, supports), written at two
different exact points inside the same public H3 cell, chosen so that the old code told them apart (different
districts, different evidence distances, different duplicate-finder edges). An outsider then probes every public
output about them. If every answer is the same for the twins (up to their ids), no probe can learn anything finer
than the public cell: whatever an attacker concludes about one twin's exact point, it concludes about the other's.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import h3
import numpy as np
import pytest
import requests
import shapely
from dash import Dash
from hypothesis import HealthCheck, given, settings as hyp_settings, strategies as st
from sqlalchemy import Engine, select, update
from werkzeug.serving import make_server

from data_sources.store import queries
from dashboard.app import create_app
from data_sources.comments.records import CommentInput, submit_comment
from data_sources.config import CityConfig, Settings
from data_sources.comments.evidence import MAX_DISTANCE_M, shown_distance
from data_sources.store.models import OPEN_STATUSES, Comment, District
from data_sources.store.db import district_locator
from tests.support import _outputs, free_port

M = 1 / 111_320  # degrees of latitude per metre
CATEGORY = "air"  # a category with evidence (the nearest air station's PM2.5)
TEXT = "The air smells of exhaust every morning at this corner."


@contextlib.contextmanager
def serve(app: Dash) -> Iterator[str]:
    """The app on a real WSGI server on loopback (as tests/conftest.py ``live_server``), for a given app."""
    srv = make_server("127.0.0.1", free_port(), app.server, threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()


def dash_post(base: str, output: str, inputs: list[dict], state: list[dict] | None = None) -> requests.Response:
    """What the browser posts to /_dash-update-component, sent by an outsider's script."""
    body = {
        "output": output,
        "outputs": _outputs(output),
        "inputs": inputs,
        "state": state or [],
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
    }
    return requests.post(
        base + "/_dash-update-component",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def duplicates_for(base: str, lat: float, lon: float, category: str = CATEGORY) -> tuple[list[int], str]:
    """The ids the duplicate finder lists for a pin (in order), and the text of its answer."""
    r = dash_post(
        base,
        "..report-place.children...report-duplicates.children..",
        [
            {"id": "report-pin", "property": "data", "value": {"lat": lat, "lon": lon}},
            {"id": "report-category", "property": "value", "value": category},
        ],
        [{"id": "report-lang", "property": "data", "value": "en"}],
    )
    assert r.status_code == 200, r.text[:300]
    blob = json.dumps(r.json()["response"]["report-duplicates"]["children"])
    found = re.findall(r'"id": (\d+), "type": "report-support"|"type": "report-support", "id": (\d+)', blob)
    return [int(x or y) for x, y in found], blob


def page_json(base: str, path: str) -> str:
    r = dash_post(
        base,
        "page.children",
        [
            {"id": "url", "property": "pathname", "value": path},
            {"id": "url", "property": "search", "value": "?lang=en"},
        ],
    )
    assert r.status_code == 200, r.text[:300]
    return json.dumps(r.json()["response"]["page"]["children"], sort_keys=True)


def same_up_to_ids(a: str, b: str, ida: int, idb: int) -> bool:
    def norm(text: str, cid: int) -> str:
        return re.sub(rf"(?<!\d){cid}(?!\d)", "<ID>", text)

    return norm(a, ida) == norm(b, idb)


# --- the twins ------------------------------------------------------------------------------------------------


@dataclass
class Twins:
    a: int
    b: int
    pa: tuple[float, float]
    pb: tuple[float, float]
    cell: str


def _nearest_station_m(stations: np.ndarray, lat: float, lon: float) -> float:
    return min(h3.great_circle_distance((lat, lon), (s[0], s[1]), unit="m") for s in stations)


def make_twins(engine: Engine, city: CityConfig) -> Twins:
    """Two comments in one public cell that the old code would have told apart: the cell is crossed by a district
    boundary and the twins lie on either side, and their distances to the nearest air station round differently."""
    locate = district_locator(engine)
    stations = queries.features(engine, "air_station")[["lat", "lon"]].to_numpy(float)
    at = queries.latest_time(engine, "pm25")
    assert len(stations) and at is not None
    with engine.connect() as conn:
        outlines = [shapely.from_geojson(g) for g in conn.scalars(select(District.geometry))]
        open_air = {
            int(c)
            for c in conn.scalars(
                select(Comment.h3_r9).where(
                    Comment.category == CATEGORY, Comment.moderation == "published", Comment.status.in_(OPEN_STATUSES)
                )
            )
        }
    tried: set[str] = set()
    for outline in outlines:
        edge = outline.boundary
        for f in np.linspace(0, 1, 400):
            p = edge.interpolate(f, normalized=True)
            cell = h3.latlng_to_cell(p.y, p.x, 9)
            if cell in tried:
                continue
            tried.add(cell)
            # No other open air comment within reach, so the twins are all a probe near them can list.
            if any(h3.str_to_int(c) in open_air for c in h3.grid_disk(cell, 4)):
                continue
            pts = np.array(
                [
                    p
                    for p in (h3.cell_to_latlng(c) for c in h3.cell_to_children(cell, 12))
                    if h3.latlng_to_cell(p[0], p[1], 9) == cell
                ]
            )  # H3 children may stick out of the parent
            dist = locate(pts[:, 0], pts[:, 1])
            near = np.array([_nearest_station_m(stations, la, lo) for la, lo in pts])
            if len(set(dist.tolist()) - {0}) < 2 or near.max() > MAX_DISTANCE_M - 400:
                continue
            best = None
            for i in range(0, len(pts), 7):
                for j in range(len(pts)):
                    if (
                        dist[i]
                        and dist[j]
                        and dist[i] != dist[j]
                        and shown_distance(near[i]) != shown_distance(near[j])
                    ):
                        gap = h3.great_circle_distance(tuple(pts[i]), tuple(pts[j]), unit="m")
                        if best is None or gap > best[0]:
                            best = (gap, i, j)
            if best is None:
                continue
            pa, pb = tuple(map(float, pts[best[1]])), tuple(map(float, pts[best[2]]))
            ids = [
                submit_comment(
                    engine, city, CommentInput(lat=p[0], lon=p[1], category=CATEGORY, text=TEXT, created_at=at)
                ).id
                for p in (pa, pb)
            ]
            with engine.begin() as conn:  # one time for both: their "updated" second must not tell them apart either
                conn.execute(update(Comment).where(Comment.id.in_(ids)).values(updated_at=at))
            return Twins(ids[0], ids[1], pa, pb, cell)
    pytest.fail("the demo city has no public cell crossed by a district boundary near an air station")


@pytest.fixture
def oracle_app(demo_city: CityConfig, settings: Settings, demo_engine: Engine) -> Dash:
    # A generous lookup limit so that the attack is answered in full (the limit itself is attacked below).
    city = demo_city.model_copy(
        update={"feedback": demo_city.feedback.model_copy(update={"duplicate_rate": "100000/minute"})}
    )
    return create_app(city=city, settings=settings, engine=demo_engine)


@pytest.fixture
def twins(oracle_app: Dash, demo_engine: Engine, demo_city: CityConfig) -> Twins:
    return make_twins(demo_engine, demo_city)


@pytest.fixture
def base(oracle_app: Dash) -> Iterator[str]:
    with serve(oracle_app) as url:
        yield url


def test_the_twins_would_have_been_told_apart_by_their_exact_points(twins: Twins, demo_engine: Engine) -> None:
    """The test has teeth: by their exact points the twins differ in district and in evidence distance, and each
    lies within the 100-m duplicate radius of itself but not of the other's far side."""
    by_exact_point = district_locator(demo_engine)(
        np.array([twins.pa[0], twins.pb[0]]), np.array([twins.pa[1], twins.pb[1]])
    )
    assert by_exact_point[0] != by_exact_point[1] and by_exact_point.all()
    stations = queries.features(demo_engine, "air_station")[["lat", "lon"]].to_numpy(float)
    assert shown_distance(_nearest_station_m(stations, *twins.pa)) != shown_distance(
        _nearest_station_m(stations, *twins.pb)
    )
    assert h3.latlng_to_cell(*twins.pa, 9) == h3.latlng_to_cell(*twins.pb, 9) == twins.cell


def test_every_public_view_of_the_twins_is_the_same(base: str, twins: Twins, demo_engine: Engine) -> None:
    """Comment page (district, evidence distance, its map), Open311, the comment's feed, its district's feed."""
    a, b = twins.a, twins.b
    pa, pb = page_json(base, f"/comments/{a}"), page_json(base, f"/comments/{b}")
    assert "Measured nearby" in pa and "District:" in pa  # evidence and district are shown...
    assert same_up_to_ids(pa, pb, a, b)  # ...and are the same for both
    ra = requests.get(f"{base}/open311/v2/requests/{a}.json", timeout=30)
    rb = requests.get(f"{base}/open311/v2/requests/{b}.json", timeout=30)
    assert ra.status_code == rb.status_code == 200
    assert same_up_to_ids(ra.text, rb.text, a, b)
    assert (ra.json()[0]["lat"], ra.json()[0]["long"]) == pytest.approx(h3.cell_to_latlng(twins.cell))
    fa, fb = (requests.get(f"{base}/feeds/comments/{i}.atom", timeout=30).text for i in (a, b))
    assert same_up_to_ids(fa, fb, a, b)
    ma, mb = (requests.get(f"{base}/comments/{i}/map.svg", timeout=30) for i in (a, b))
    assert ma.status_code == mb.status_code == 200 and ma.content == mb.content  # the page's map: the cell only
    with demo_engine.connect() as conn:
        districts = conn.execute(select(Comment.district_id).where(Comment.id.in_([a, b]))).scalars().all()
        all_ids = conn.scalars(select(District.id)).all()
    assert districts[0] == districts[1] and districts[0] is not None
    for d in all_ids:
        feed = requests.get(f"{base}/feeds/districts/{d}.atom", timeout=30).text
        assert (f"/comments/{a}<" in feed) == (f"/comments/{b}<" in feed)


def _bisect_edge(base: str, cid: int, inside: tuple[float, float], bearing: float, steps: int = 22) -> float:
    """The issue's attack: walk out from a point where ``cid`` is listed along ``bearing`` and bisect where it stops
    being listed; the distance (m) of that edge from ``inside``."""
    dy, dx = np.cos(np.radians(bearing)), np.sin(np.radians(bearing))
    coslat = np.cos(np.radians(inside[0]))

    def listed(metres: float) -> bool:
        lat, lon = inside[0] + dy * metres * M, inside[1] + dx * metres * M / coslat
        return cid in duplicates_for(base, lat, lon)[0]

    lo, hi = 0.0, 2500.0
    assert listed(lo) and not listed(hi)
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if listed(mid) else (lo, mid)
    return lo


def test_bisecting_the_duplicate_finder_finds_the_same_edges_for_both_twins(base: str, twins: Twins) -> None:
    """From the middle of the public cell, the edge where each twin stops being listed is found to a millimetre
    along three bearings: it is the same edge for both, so the attack locates neither twin finer than the cell."""
    centre = h3.cell_to_latlng(twins.cell)
    for bearing in (0.0, 120.0, 240.0):
        ea, eb = _bisect_edge(base, twins.a, centre, bearing), _bisect_edge(base, twins.b, centre, bearing)
        assert ea == eb
        # The edge lies beyond the public cell (whole neighbouring cells are searched), not 100 m from a twin.
        assert ea > 150


@hyp_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(north=st.floats(-900, 900), east=st.floats(-900, 900))
def test_any_pin_lists_both_twins_or_neither(base: str, twins: Twins, north: float, east: float) -> None:
    """Wherever the pin, the twins are listed together, side by side (the order never depends on a distance
    to an exact point), and the answer is the one for the centre of the pin's own cell."""
    lat0, lon0 = h3.cell_to_latlng(twins.cell)
    lat, lon = lat0 + north * M, lon0 + east * M / np.cos(np.radians(lat0))
    ids, blob = duplicates_for(base, lat, lon)
    assert (twins.a in ids) == (twins.b in ids)
    if twins.a in ids:
        assert abs(ids.index(twins.a) - ids.index(twins.b)) == 1
    centre_ids, centre_blob = duplicates_for(base, *h3.cell_to_latlng(h3.latlng_to_cell(lat, lon, 9)))
    assert (ids, blob) == (centre_ids, centre_blob)


def test_the_duplicate_lookup_is_rate_limited_per_client(
    demo_city: CityConfig, settings: Settings, demo_engine: Engine
) -> None:
    """The city's default ``duplicate_rate`` (30 a minute): the 31st lookup from one address is refused with a
    message, while the pin still moves; a request without a category looks nothing up and is not counted."""
    assert demo_city.feedback.duplicate_rate.startswith("30/minute")
    with serve(create_app(city=demo_city, settings=settings, engine=demo_engine)) as url:
        for i in range(30):
            ids, blob = duplicates_for(url, 48.5 + i * 2 * M, 9.0, "noise")
            assert "too many places were tried" not in blob, i
        assert ids  # answered: the demo city has open noise comments there
        r = dash_post(
            url,
            "..report-place.children...report-duplicates.children..",
            [
                {"id": "report-pin", "property": "data", "value": {"lat": 48.5, "lon": 9.0}},
                {"id": "report-category", "property": "value", "value": None},
            ],
            [{"id": "report-lang", "property": "data", "value": "en"}],
        )
        assert r.status_code == 200 and r.json()["response"]["report-duplicates"]["children"] == []
        ids, blob = duplicates_for(url, 48.5, 9.001, "noise")
        assert ids == [] and "too many places were tried" in blob
        r = dash_post(
            url,
            "..report-place.children...report-duplicates.children..",
            [
                {"id": "report-pin", "property": "data", "value": {"lat": 48.501, "lon": 9.0}},
                {"id": "report-category", "property": "value", "value": "noise"},
            ],
            [{"id": "report-lang", "property": "data", "value": "en"}],
        )
        assert r.status_code == 200 and "Pin placed" in json.dumps(r.json()["response"]["report-place"])
        r = dash_post(
            url, "report-map.figure", [{"id": "report-pin", "property": "data", "value": {"lat": 48.501, "lon": 9.0}}]
        )
        assert r.status_code == 200 and "48.501" in json.dumps(r.json()["response"]["report-map"])  # the pin moves


def test_a_comment_on_the_old_rows_gets_its_district_and_distance_from_its_cell(
    demo_engine: Engine, demo_city: CityConfig
) -> None:
    """Rows written before the fix (district and evidence from the exact point) are rewritten by migration 0701."""
    from alembic import command

    from data_sources.store.db import alembic_config, migrate

    twins = make_twins(demo_engine, demo_city)
    locate = district_locator(demo_engine)
    stations = queries.features(demo_engine, "air_station")[["lat", "lon"]].to_numpy(float)
    with demo_engine.begin() as conn:  # as the old code stored them
        for cid, p in ((twins.a, twins.pa), (twins.b, twins.pb)):
            ev = conn.scalar(select(Comment.evidence).where(Comment.id == cid))
            conn.execute(
                update(Comment)
                .where(Comment.id == cid)
                .values(
                    district_id=int(locate(np.array([p[0]]), np.array([p[1]]))[0]),
                    evidence={**ev, "distance_m": shown_distance(_nearest_station_m(stations, *p))},
                )
            )
    with demo_engine.begin() as conn:  # back to 0601 (later migrations undone), then up again: 0701 runs over them
        command.downgrade(alembic_config(conn), "0601")
    migrate(demo_engine)
    with demo_engine.connect() as conn:
        rows = conn.execute(
            select(Comment.district_id, Comment.evidence).where(Comment.id.in_([twins.a, twins.b]))
        ).all()
    assert rows[0] == rows[1] and rows[0][0] is not None
    if rows[0][1] is not None:  # kept only when its station is the nearest to the public point, at that distance
        assert rows[0][1]["distance_m"] == shown_distance(
            h3.great_circle_distance(h3.cell_to_latlng(twins.cell), _station_of(demo_engine, rows[0][1]), unit="m")
        )


def _station_of(engine: Engine, evidence: dict) -> tuple[float, float]:
    f = queries.feature(engine, int(evidence["feature_id"]))
    return float(f["lat"]), float(f["lon"])
