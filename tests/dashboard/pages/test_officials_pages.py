"""The officials' pages as an official uses them: heatmap patches, queue answers, exports, the CLI, languages."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from dashboard.i18n import catalogue
from data_sources.store.models import AuditEntry, Comment, CommentEvent, Official
from tests.dashboard.officials_helpers import login, make_officials


@pytest.fixture
def official_client(app, demo_engine):
    make_officials(demo_engine)
    c = app.server.test_client()
    assert login(c, "official").status_code == 303
    return c


def _dep(client, output_part: str) -> dict:
    return next(d for d in client.get("/_dash-dependencies").get_json() if output_part in d["output"])


def _call(client, dep: dict, values: dict, changed: str):
    outs = [
        {"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1].split("@")[0]}
        for p in dep["output"].strip(".").split("...")
    ]
    body = {
        "output": dep["output"],
        "outputs": outs if dep["output"].startswith("..") else outs[0],
        "inputs": [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in dep["inputs"]],
        "state": [{**s, "value": values.get(f"{s['id']}.{s['property']}")} for s in dep.get("state", [])],
        "changedPropIds": [changed],
    }
    r = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
    assert r.status_code == 200, r.data[:500]
    return r.get_json()["response"]


def test_filter_change_sends_a_patch_not_the_figure(official_client):
    dep = _dep(official_client, "off-heat-res.data")
    resp = _call(
        official_client,
        dep,
        {"off-f-category.value": ["traffic"], "off-heat-res.data": 8, "off-lang.data": "en"},
        "off-f-category.value",
    )
    fig = resp["off-heat-map"]["figure"]
    assert fig["__dash_patch_update"] == "__dash_patch_update"
    paths = {tuple(op["location"]) for op in fig["operations"]}
    assert paths == {("data", 0, "locations"), ("data", 0, "z"), ("data", 0, "zmax")}  # no geojson: same resolution
    assert "traffic" in resp["off-export-csv"]["href"]
    # zooming in to a finer resolution also swaps the hexagon outlines (a URL, fetched once)
    resp = _call(
        official_client,
        dep,
        {"off-heat-map.relayoutData": {"map.zoom": 14}, "off-heat-res.data": 8},
        "off-heat-map.relayoutData",
    )
    ops = {tuple(op["location"]): op["params"]["value"] for op in resp["off-heat-map"]["figure"]["operations"]}
    assert ops[("data", 0, "geojson")].startswith("/officials/cells/9.geojson")
    assert resp["off-heat-res"]["data"] == 9


def test_queue_answer_through_the_callback(official_client, demo_engine):
    load = _dep(official_client, "off-q-table.data")
    rows = _call(official_client, load, {"off-q-sort.value": "oldest_open"}, "off-q-sort.value")["off-q-table"]["data"]
    ids = [rows[0]["id"], rows[1]["id"]]
    tmpl = _call(
        official_client,
        _dep(official_client, "off-q-answer.value"),
        {"off-q-status.value": "in_progress", "off-q-lang.data": "es"},
        "off-q-status.value",
    )
    assert tmpl["off-q-answer"]["value"].startswith("Estamos trabajando")
    act = _dep(official_client, "off-q-msg.children")
    resp = _call(
        official_client,
        act,
        {
            "off-q-apply.n_clicks": 1,
            "off-q-table.selected_row_ids": ids,
            "off-q-status.value": "in_progress",
            "off-q-answer.value": "A crew is booked.",
            "off-q-refresh.data": 0,
            "off-q-lang.data": "en",
        },
        "off-q-apply.n_clicks",
    )
    assert resp["off-q-msg"]["children"].startswith("Updated 2")
    with demo_engine.connect() as conn:
        assert set(conn.scalars(select(Comment.status).where(Comment.id.in_(ids))).all()) == {"in_progress"}
        assert (
            conn.scalars(select(CommentEvent.public_text).where(CommentEvent.comment_id == ids[0])).all()[-1]
            == "A crew is booked."
        )
        assert len(conn.execute(select(AuditEntry.id).where(AuditEntry.action == "change_status")).all()) == 2


def test_exports_follow_the_filter_and_are_audited(official_client, demo_engine):
    r = official_client.get("/officials/export.csv?category=noise&status=new")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    with demo_engine.connect() as conn:
        expected = conn.scalars(
            select(Comment.id).where(
                Comment.category == "noise", Comment.status == "new", Comment.moderation == "published"
            )
        ).all()
    assert sorted(int(x["id"]) for x in rows) == sorted(expected) and len(rows) > 0
    assert "email" not in rows[0]
    g = official_client.get("/officials/export.geojson?category=noise&status=new").get_json()
    assert len(g["features"]) == len(rows) and g["features"][0]["geometry"]["type"] == "Point"
    with demo_engine.connect() as conn:
        assert {a for a in conn.scalars(select(AuditEntry.action)).all()} >= {"export_csv", "export_geojson", "login"}


def test_csv_export_defuses_spreadsheet_formulas(official_client, demo_engine):
    from data_sources.comments.records import CommentInput, submit_comment
    from data_sources.config import load_city

    city = load_city(Path(__file__).resolve().parents[3] / "cities" / "demo.toml")
    submit_comment(
        demo_engine,
        city,
        CommentInput(lat=48.5, lon=9.0, category="other", text='=HYPERLINK("http://x") hello'),
        hold_for_review=None,
    )
    body = official_client.get("/officials/export.csv?category=other&text=hyperlink").get_data(as_text=True)
    assert "'=HYPERLINK" in body


def test_create_official_cli(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from dashboard.cli import cli
    from data_sources.store.db import open_store

    monkeypatch.setenv("CITYDASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CITYDASH_DATABASE_URL", raising=False)
    r = CliRunner().invoke(
        cli,
        ["create-official", "Ana@City.example", "--role", "admin", "--department", "Transport"],
        input="a long enough secret\n",
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["email"] == "ana@city.example"
    short = CliRunner().invoke(cli, ["create-official", "bo@city.example", "--role", "official"], input="short\n")
    assert short.exit_code == 2
    eng = open_store(f"sqlite:///{tmp_path / 'citydash.sqlite'}")
    with eng.connect() as conn:
        h = conn.scalar(select(Official.password_hash).where(Official.email == "ana@city.example"))
    assert h.startswith("$argon2")
    eng.dispose()


def test_pages_render_for_their_roles(app, demo_engine):
    from tests.support import render_page

    make_officials(demo_engine)
    mod = app.server.test_client()
    login(mod, "moderator")
    assert "off-mod-table" in json.dumps(render_page(mod, "/officials/moderation"))
    assert "off-heat-map" not in json.dumps(render_page(mod, "/officials"))
    adm = app.server.test_client()
    login(adm, "admin")
    for path, marker in (
        ("/officials", "off-heat-map"),
        ("/officials/queue", "off-q-table"),
        ("/officials/audit", "off-audit-table"),
    ):
        assert marker in json.dumps(render_page(adm, path))


def test_every_officials_message_is_translated():
    root = Path(__file__).resolve().parents[3]
    files = [root / "dashboard" / f for f in ("server/auth.py", "ui/officials.py", "ui/heatmap.py")] + sorted(
        (root / "dashboard" / "pages").glob("officials_*.py")
    )
    msgs = set()
    for f in files:
        msgs |= set(re.findall(r'_\("((?:[^"\\]|\\.)*)"', f.read_text()))
    from dashboard.ui.officials import STATUS_LABELS
    from dashboard.pages.officials_queue import REASON_LABELS, SORT_LABELS
    from data_sources.comments.workflow import DEFAULT_TEMPLATES

    for d in (STATUS_LABELS, SORT_LABELS, REASON_LABELS, DEFAULT_TEMPLATES):
        msgs |= set(d.values())
    assert len(msgs) > 60
    for lang in ("es", "nl", "pt"):
        cat = catalogue(lang)
        missing = sorted(m for m in msgs if m not in cat)
        assert not missing, (lang, missing)
        same = [
            m for m in msgs if cat[m] == m and m not in ("Spam", "Status", "Export CSV", "Export GeoJSON", "moderator")
        ]
        assert len(same) <= 3, (lang, same)
