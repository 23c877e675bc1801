"""The work queue and the heatmap as an official uses them, through the real callbacks with a logged-in session:
search, filters, sort and pages (checked against the store), readable labels in the official's language, places
instead of cell ids, dates instead of week numbers; and the same callbacks refused without a login."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from data_sources.comments import workflow
from data_sources.store.models import OPEN_STATUSES, Comment, Department, District, Official
from data_sources.store.db import utcnow
from tests.support import render_page
from tests.dashboard.officials_helpers import login, make_officials
from tests.dashboard.pages.test_officials_pages import _call, _dep

H3_ID = re.compile(r"\b8[0-9a-f]{14}\b")
SLUGS = ("green_space", "in_progress", "acknowledged", "resolved")


@pytest.fixture
def official_client(app, demo_engine):
    make_officials(demo_engine)
    c = app.server.test_client()
    assert login(c, "official").status_code == 303
    return c


def all_comments(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Comment.id,
                Comment.created_at,
                Comment.text,
                Comment.status,
                Comment.category,
                Comment.district_id,
                Comment.department_id,
                Comment.support_count,
                Comment.first_response_at,
            ).where(Comment.moderation == "published")
        ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "created_at",
            "text",
            "status",
            "category",
            "district_id",
            "department_id",
            "support_count",
            "first_response_at",
        ],
    )


def load(client: FlaskClient, lang: str = "en", page: int | None = None, **filters: object) -> dict:
    """The queue's load callback with these filter values (``text``, ``status``, ...)."""
    names = {
        "text": "off-q-f-text.value",
        "status": "off-q-f-status.value",
        "category": "off-q-f-category.value",
        "district": "off-q-f-district.value",
        "dept": "off-q-dept.value",
        "min_age": "off-q-f-min-age.value",
        "max_age": "off-q-f-max-age.value",
        "supports": "off-q-f-supports.value",
        "overdue": "off-q-f-overdue.value",
        "sort": "off-q-sort.value",
    }
    values = {names[k]: v for k, v in filters.items()}
    values["off-q-lang.data"] = lang
    changed = "off-q-sort.value"
    if page is not None:
        values["off-q-table.page_current"] = page
        changed = "off-q-table.page_current"
    resp = _call(client, _dep(client, "off-q-table.data"), values, changed)
    return {
        "rows": resp["off-q-table"]["data"],
        "pages": resp["off-q-table"]["page_count"],
        "page": resp["off-q-table"]["page_current"],
        "summary": resp["off-q-summary"]["children"],
    }


def total(out: dict) -> int:
    return int(re.fullmatch(r"Matching comments: ([\d,]+)", out["summary"]).group(1).replace(",", ""))


def test_search_filters_and_sort_match_the_store(official_client, demo_engine):
    df = all_comments(demo_engine)
    now = utcnow()
    # Search in the text, case-insensitively.
    out = load(official_client, text="ASTHMA")
    want = df[df["text"].str.lower().str.contains("asthma")]
    assert total(out) == len(want) > 0 and all("asthma" in r["text"].lower() for r in out["rows"])
    # Status and category together.
    out = load(official_client, status=["in_progress"], category=["air"])
    want = df[(df["status"] == "in_progress") & (df["category"] == "air")]
    assert total(out) == len(want) > 0
    assert {(r["status"], r["category"]) for r in out["rows"]} == {("In progress", "Air")}
    # A district: every row is placed in it (by name, with a link to the map).
    with demo_engine.connect() as conn:
        old_town = conn.scalar(select(District.id).where(District.name == "Old Town"))
    out = load(official_client, district=[old_town])
    assert total(out) == int((df["district_id"] == old_town).sum()) > 0
    assert all(r["place"].startswith("[Old Town](/officials?lang=en&at=") for r in out["rows"])
    # Age (whole days since arrival) and supports.
    out = load(official_client, min_age=30, max_age=60, supports=3)
    age = now - df["created_at"]
    want = df[(age >= timedelta(days=30)) & (age <= timedelta(days=60)) & (df["support_count"] >= 3)]
    assert total(out) == len(want) > 0
    assert all(30 <= int(r["age"]) <= 60 and r["support_count"] >= 3 for r in out["rows"])
    # Overdue: open, never answered, older than the city's overdue_days (14 by default).
    out = load(official_client, overdue=["overdue"])
    want = df[df["status"].isin(OPEN_STATUSES) & df["first_response_at"].isna() & (age > timedelta(days=14))]
    assert total(out) == len(want) > 0
    # Sort: most supported first.
    out = load(official_client, sort="most_supported")
    sup = [r["support_count"] for r in out["rows"]]
    assert sup == sorted(sup, reverse=True) and sup[0] == df["support_count"].max()


def test_pages_are_served_from_the_store(official_client, demo_engine):
    first = load(official_client, sort="oldest")
    n = total(first)
    assert first["pages"] == -(-n // 25) and len(first["rows"]) == 25
    second = load(official_client, sort="oldest", page=1)
    assert second["page"] == 1 and len(second["rows"]) == 25
    assert not {r["id"] for r in first["rows"]} & {r["id"] for r in second["rows"]}
    df = all_comments(demo_engine).sort_values(["created_at", "id"])
    assert [r["id"] for r in first["rows"] + second["rows"]] == df["id"].head(50).tolist()
    # A filter change starts again at the first page.
    assert load(official_client, sort="newest")["page"] == 0


def test_unassigned_comments_are_a_department_choice(official_client, demo_engine):
    from dashboard.pages.officials_queue import department_options

    with demo_engine.connect() as conn:  # the logged-in official (creating the accounts again would end its session)
        official_id = conn.scalar(select(Official.id).where(Official.email == "official@city.example"))
    official = workflow.Actor(official_id, "official")
    ids = workflow.queue(demo_engine, "newest", limit=3)["id"].tolist()
    workflow.assign(demo_engine, official, ids, None)
    out = load(official_client, dept=[workflow.UNASSIGNED])
    assert {r["id"] for r in out["rows"]} == set(ids) and {r["department"] for r in out["rows"]} == {"Unassigned"}
    with demo_engine.connect() as conn:
        env = conn.scalar(select(Department.id).where(Department.name == "Environment"))
    both = load(official_client, dept=[env, workflow.UNASSIGNED])
    assert total(both) == total(load(official_client, dept=[env])) + 3
    # The page offers the choice, first.
    page = json.dumps(render_page(official_client, "/officials/queue"))
    assert '"label": "Unassigned", "value": 0' in page
    assert department_options(official_client.application.extensions["citydash"], lambda s: s)[0]["value"] == 0


def test_labels_are_readable_in_the_officials_language(official_client):
    out = load(official_client, lang="es", category=["green_space"], status=["in_progress", "new"])
    assert out["rows"] and out["summary"].startswith("Comentarios que coinciden: ")
    text = json.dumps([{k: v for k, v in r.items() if k != "text"} for r in out["rows"]], ensure_ascii=False)
    assert {r["category"] for r in out["rows"]} == {"Zonas verdes"}
    assert {r["status"] for r in out["rows"]} <= {"En curso", "Nuevo"}
    assert not any(s in text for s in SLUGS) and not H3_ID.search(text)
    assert all(
        re.match(r"\[[^\]]+\]\(/officials\?lang=es&at=-?\d+\.\d+,-?\d+\.\d+\)$", r["place"]) for r in out["rows"]
    )
    page = json.dumps(render_page(official_client, "/officials/queue", "?lang=es"), ensure_ascii=False)
    assert "Zonas verdes" in page and '"label": "green_space"' not in page


def test_heatmap_shows_dates_and_places(official_client, demo_engine):
    page = render_page(official_client, "/officials")
    blob = json.dumps(page)
    assert '"allow_direct_input": false' in blob  # no boxes with raw week numbers beside the slider
    assert re.search(r'"children": "From \d{1,2} \w{3} \d{4} to \d{1,2} \w{3} \d{4}"', blob)
    label = _call(
        official_client,
        _dep(official_client, "off-f-weeks-label.children"),
        {"off-f-weeks.value": [2967, 2968], "off-lang.data": "nl"},
        "off-f-weeks.value",
    )
    # Week 2968 (Monday-based weeks since 1970-01-05) starts on Monday 16 Nov 2026: the two weeks run from
    # Monday 9 to Sunday 22 November.
    assert label["off-f-weeks-label"]["children"] == "Van 9 nov 2026 tot 22 nov 2026"
    resp = _call(
        official_client,
        _dep(official_client, "off-hotspots.children"),
        {"off-heat-res.data": 8, "off-scatter-indicator.value": "air_station", "off-lang.data": "en"},
        "off-heat-res.data",
    )
    tables = json.dumps([resp["off-hotspots"], resp["off-emerging"]])
    assert not H3_ID.search(tables) and not H3_ID.search(json.dumps(resp["off-scatter"]))
    with demo_engine.connect() as conn:
        names = set(conn.scalars(select(District.name)).all())
    links = re.findall(
        r'"children": "([^"]+)", "className": "off-place", "href": "(/officials\?lang=en&at=[^"]+)"', tables
    )
    assert links and {n for n, _ in links} <= names | {"Outside the districts"}
    # A place link opens the map centred there.
    at = links[0][1].split("at=")[1]
    fig = next(
        c
        for c in _walk(render_page(official_client, "/officials", f"?at={at}"))
        if c.get("props", {}).get("id") == "off-heat-map"
    )["props"]["figure"]
    assert [round(fig["layout"]["map"]["center"][k], 4) for k in ("lat", "lon")] == [
        round(float(x), 4) for x in at.split(",")
    ]


def _walk(node: object) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for v in node.get("props", {}).values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


@pytest.mark.parametrize("output", ["off-q-table.data", "off-f-weeks-label.children", "off-hotspots.children"])
def test_the_same_callbacks_refuse_without_a_login(app, demo_engine, output):
    make_officials(demo_engine)
    anon = app.server.test_client()
    dep = _dep(anon, output)
    outs = [
        {"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1].split("@")[0]}
        for p in dep["output"].strip(".").split("...")
    ]
    body = {
        "output": dep["output"],
        "outputs": outs if dep["output"].startswith("..") else outs[0],
        "inputs": [{**i, "value": None} for i in dep["inputs"]],
        "state": [{**s, "value": "en"} for s in dep.get("state", [])],
        "changedPropIds": [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"],
    }
    r = anon.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
    assert r.status_code == 401 and "response" not in r.get_data(as_text=True)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    text=st.sampled_from(["", "the", "bike", "%", "_", "PARK", "é"]),
    statuses=st.lists(
        st.sampled_from(["new", "acknowledged", "in_progress", "resolved", "closed"]), unique=True, max_size=2
    ),
    categories=st.lists(st.sampled_from(["air", "traffic", "noise", "green_space", "street"]), unique=True, max_size=2),
    min_age=st.one_of(st.none(), st.integers(0, 200)),
    max_age=st.one_of(st.none(), st.integers(0, 200)),
    supports=st.one_of(st.none(), st.integers(0, 5)),
    overdue=st.booleans(),
    sort=st.sampled_from(workflow.QUEUE_SORTS),
    unassigned=st.booleans(),
)
def test_queue_sql_agrees_with_a_plain_filter(
    queue_store, text, statuses, categories, min_age, max_age, supports, overdue, sort, unassigned
):
    engine, df = queue_store
    now = utcnow()
    f = workflow.QueueFilter(
        text=text,
        statuses=tuple(statuses),
        categories=tuple(categories),
        min_age_days=min_age,
        max_age_days=max_age,
        min_supports=supports,
        overdue=overdue,
        sort=sort,
        departments=(workflow.UNASSIGNED,) if unassigned else (),
    )
    got, n = workflow.queue_page(engine, f, 14, now, 0, 200)
    age = now - df["created_at"]
    keep = df["text"].str.lower().str.contains(text.lower(), regex=False)
    if statuses:
        keep &= df["status"].isin(statuses)
    if categories:
        keep &= df["category"].isin(categories)
    if min_age is not None:
        keep &= age >= timedelta(days=min_age)
    if max_age is not None:
        keep &= age <= timedelta(days=max_age)
    if supports is not None:
        keep &= df["support_count"] >= supports
    if overdue or sort == "overdue":
        keep &= df["status"].isin(OPEN_STATUSES) & df["first_response_at"].isna() & (age > timedelta(days=14))
    if sort == "oldest_open":
        keep &= df["status"].isin(OPEN_STATUSES)
    if unassigned:
        keep &= df["department_id"].isna()
    assert n == int(keep.sum())
    assert set(got["id"]) <= set(df[keep]["id"]) and len(got) == min(n, 200)


@pytest.fixture(scope="module")
def queue_store(tmp_path_factory, demo_store_file):
    """The demo store (read-only here) with some comments unassigned, and all its comments as a frame."""
    import shutil

    from data_sources.store.db import make_engine, migrate

    path = tmp_path_factory.mktemp("queue") / "q.sqlite"
    shutil.copy(demo_store_file, path)
    eng = make_engine(f"sqlite:///{path}")
    migrate(eng)
    with eng.begin() as conn:
        conn.execute(Comment.__table__.update().where(Comment.id % 7 == 0).values(department_id=None))
    yield eng, all_comments(eng)
    eng.dispose()


def test_queue_page_on_both_stores(any_url, demo_city):
    from data_sources.comments.records import CommentInput, submit_comment
    from data_sources.store.db import open_store

    eng = open_store(any_url)
    try:
        texts = [
            "Broken 50% of the lamps on this street",
            "Broken_bench in the park by the pond",
            "Loud music from the bar every night",
            "Bins overflow at the corner every weekend",
        ]
        ids = [
            submit_comment(eng, demo_city, CommentInput(lat=48.5, lon=9.0, category=c, text=t), hold_for_review=None).id
            for c, t in zip(["street", "green_space", "noise", "other"], texts)
        ]

        def page(**kw: object) -> tuple[pd.DataFrame, int]:
            return workflow.queue_page(eng, workflow.QueueFilter(**kw), page_size=2)

        df, n = page(text="50%")  # matched literally: % is not a wildcard
        assert n == 1 and df["id"].tolist() == [ids[0]]
        assert page(text="broken_")[1] == 1 and page(text="BROKEN")[1] == 2
        df, n = page(categories=("noise", "other"), sort="oldest")
        assert (
            n == 2
            and df["id"].tolist() == ids[2:]
            and set(df["department"]) == {"Environment", "Streets and public space"}
        )
        df, n = page(sort="newest")
        assert n == 4 and len(df) == 2 and df["id"].tolist() == ids[::-1][:2]
        assert (
            workflow.queue_page(eng, workflow.QueueFilter(sort="newest"), page=1, page_size=2)[0]["id"].tolist()
            == ids[1::-1]
        )
        assert page(departments=(workflow.UNASSIGNED,))[1] == 0
    finally:
        eng.dispose()
