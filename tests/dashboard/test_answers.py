"""Scripted answers for back offices: ``citydash answer`` and ``POST /api/v1/comments/<id>/updates`` with a key
scoped to a department, over real HTTP against a live server. Both go through ``workflow.change_status``, the
function the officials' queue uses: an audit entry naming the official or the integrator, and the answer in the
comment's public history (its page and Open311)."""

from __future__ import annotations

import json

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import Engine, select

from dashboard.cli import cli
from data_sources.comments import workflow
from data_sources.comments.api_keys import ApiKeyError, api_key_info, create_api_key
from data_sources.config import CityConfig
from data_sources.comments.records import CommentInput, public_history, submit_comment
from data_sources.store.models import AuditEntry, Comment
from data_sources.comments.routing import ensure_departments
from tests.dashboard.officials_helpers import login, make_officials
from tests.dashboard.pages.test_officials_pages import _call, _dep


@pytest.fixture
def spy(monkeypatch):
    """Records every call of workflow.change_status (and still runs it)."""
    calls = []
    real = workflow.change_status

    def recording(engine: Engine, actor: workflow.Actor, ids: list[int], *a: object, **kw: object) -> int:
        calls.append((actor, list(ids)))
        return real(engine, actor, ids, *a, **kw)

    monkeypatch.setattr(workflow, "change_status", recording)
    return calls


def new_comment(engine: Engine, city: CityConfig, category: str) -> int:
    return submit_comment(
        engine,
        city,
        CommentInput(lat=48.5, lon=9.0, category=category, text="The bin by the bus stop overflows every weekend."),
        hold_for_review=None,
    ).id


def state(engine: Engine, cid: int) -> tuple[str, list]:
    with engine.connect() as conn:
        status = conn.scalar(select(Comment.status).where(Comment.id == cid))
        audit = conn.execute(
            select(AuditEntry.__table__).where(AuditEntry.target_id == str(cid), AuditEntry.action == "change_status")
        ).all()
    return status, audit


def public_page_text(base: str, cid: int) -> str:
    body = {
        "output": "page.children",
        "outputs": {"id": "page", "property": "children"},
        "inputs": [
            {"id": "url", "property": "pathname", "value": f"/comments/{cid}"},
            {"id": "url", "property": "search", "value": ""},
        ],
        "changedPropIds": ["url.pathname"],
    }
    r = requests.post(f"{base}/_dash-update-component", json=body, timeout=30)
    assert r.status_code == 200
    return json.dumps(r.json(), ensure_ascii=False)


def test_back_office_endpoint(live_server, demo_engine, demo_city, spy):
    ensure_departments(demo_engine, demo_city.routing)
    env_key = create_api_key(demo_engine, "env-backoffice", department="Environment")
    transport_key = create_api_key(demo_engine, "transport-backoffice", department="Transport")
    open311_key = create_api_key(demo_engine, "open311-app")  # not scoped: Open311 posting only
    cid = new_comment(demo_engine, demo_city, "air")  # routed to Environment on arrival
    url = f"{live_server}/api/v1/comments/{cid}/updates"
    good = {"status": "resolved", "text": "We cleaned the bin and doubled the weekend rounds."}

    def post(key: str | None, body: object, raw: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if raw is not None:
            return requests.post(url, data=raw, headers={**headers, "Content-Type": "application/json"}, timeout=30)
        return requests.post(url, json=body, headers=headers, timeout=30)

    r = post(None, good)
    assert (
        r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer") and "API key" in r.json()["error"]
    )
    assert post(env_key + "x", good).status_code == 401
    r = post(transport_key, good)
    assert r.status_code == 403 and "department" in r.json()["error"]
    r = post(open311_key, good)
    assert r.status_code == 403 and "not scoped" in r.json()["error"]
    for body, raw, why in [
        (None, "{not json", "JSON object"),
        ([good], None, "JSON object"),
        ({"status": "done", "text": "x"}, None, "status must be"),
        ({"status": "resolved"}, None, "text"),
        ({"status": "resolved", "text": "   "}, None, "text"),
        ({"status": "closed", "text": "Not ours."}, None, "closed_reason is required"),
        ({**good, "closed_reason": "bored"}, None, "closed_reason must be"),
        ({**good, "priority": 1}, None, "Unknown field: priority"),
        ({**good, "text": "x" * 2001}, None, "too long"),
    ]:
        r = post(env_key, body, raw)
        assert r.status_code == 400, (body, r.text)
        assert why in r.json()["error"] and len(r.json()["error"]) < 120
    assert (
        requests.post(
            f"{live_server}/api/v1/comments/999999999/updates",
            json=good,
            headers={"Authorization": f"Bearer {env_key}"},
            timeout=30,
        ).status_code
        == 404
    )
    assert state(demo_engine, cid) == ("new", [])  # every refusal above changed nothing
    assert spy[0][0].integrator == "transport-backoffice"  # the other department's key is refused by the workflow

    r = post(env_key, good)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["comment_id"] == cid and out["status"] == "resolved"
    assert out["history"][-1]["text"] == good["text"] and out["history"][-1]["from_status"] == "new"
    status, audit = state(demo_engine, cid)
    assert status == "resolved" and len(audit) == 1
    assert audit[0].integrator == "env-backoffice" and audit[0].official_id is None
    assert audit[0].before["status"] == "new" and audit[0].after["public_text"] == good["text"]
    # The same function as the officials' queue, with the integrator as the actor.
    assert [(a.integrator, a.only_department, ids) for a, ids in spy][-1] == (
        "env-backoffice",
        api_key_info(demo_engine, env_key).department_id,
        [cid],
    )
    # Public history: the comment's page and Open311 show the answer.
    assert good["text"] in public_page_text(live_server, cid)
    o311 = requests.get(f"{live_server}/open311/v2/requests/{cid}.json", timeout=30).json()[0]
    assert o311["status_notes"] == good["text"] and o311["status"] == "closed"
    # The audit log page names the integrator.
    assert "integrator env-backoffice" in workflow.audit_entries(demo_engine)["official"].tolist()


def test_a_key_can_be_scoped_only_to_an_existing_department(demo_engine):
    with pytest.raises(ApiKeyError, match="no department named 'Parks'"):
        create_api_key(demo_engine, "parks-app", department="Parks")
    assert api_key_info(demo_engine, create_api_key(demo_engine, "plain")).department_id is None


def test_citydash_answer(live_server, demo_engine, demo_city, spy, monkeypatch):
    monkeypatch.setenv("CITYDASH_DATABASE_URL", str(demo_engine.url))
    make_officials(demo_engine)
    cid = new_comment(demo_engine, demo_city, "noise")
    run = CliRunner().invoke
    r = run(
        cli,
        ["answer", str(cid), "--status", "in_progress", "--text", "A crew is booked.", "--as", "nobody@city.example"],
    )
    assert r.exit_code == 2 and "No active official with the email nobody@city.example" in r.output
    r = run(
        cli,
        ["answer", str(cid), "--status", "in_progress", "--text", "Quiet, please.", "--as", "moderator@city.example"],
    )
    assert r.exit_code == 2 and "may not answer" in r.output
    r = run(cli, ["answer", str(cid), "--status", "closed", "--text", "Not ours.", "--as", "official@city.example"])
    assert r.exit_code == 2 and "Closing needs a reason" in r.output
    r = run(cli, ["answer", "999999999", "--status", "resolved", "--text", "Done.", "--as", "official@city.example"])
    assert r.exit_code == 2 and "No such comment: 999999999" in r.output
    assert state(demo_engine, cid) == ("new", [])

    r = run(
        cli,
        [
            "answer",
            str(cid),
            "--status",
            "in_progress",
            "--text",
            "A crew is booked for Monday.",
            "--as",
            "Official@City.example",
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["status"] == "in_progress" and out["history"][-1]["text"] == "A crew is booked for Monday."
    status, audit = state(demo_engine, cid)
    with demo_engine.connect() as conn:
        from data_sources.store.models import Official

        official_id = conn.scalar(select(Official.id).where(Official.email == "official@city.example"))
    assert status == "in_progress" and len(audit) == 1 and audit[0].official_id == official_id
    assert audit[0].integrator is None
    assert spy[-1][0].id == official_id and spy[-1][1] == [cid]
    assert [h["public_text"] for h in public_history(demo_engine, cid)] == ["A crew is booked for Monday."]
    assert "A crew is booked for Monday." in public_page_text(live_server, cid)


def test_the_queue_uses_the_same_function(app, demo_engine, spy):
    make_officials(demo_engine)
    c = app.server.test_client()
    login(c, "official")
    ids = workflow.queue(demo_engine, "oldest_open", limit=1)["id"].tolist()
    resp = _call(
        c,
        _dep(c, "off-q-msg.children"),
        {
            "off-q-apply.n_clicks": 1,
            "off-q-table.selected_row_ids": ids,
            "off-q-status.value": "acknowledged",
            "off-q-answer.value": "Seen.",
            "off-q-refresh.data": 0,
            "off-q-lang.data": "en",
        },
        "off-q-apply.n_clicks",
    )
    assert resp["off-q-msg"]["children"].startswith("Updated 1")
    assert len(spy) == 1 and spy[0][1] == ids and spy[0][0].integrator is None


def test_an_id_that_is_no_comment_gets_the_apis_404(client, demo_engine) -> None:  # noqa: ANN001
    """Negative, oversized or non-numeric ids are no comment: the API's JSON 404 (not a page route's 405)."""
    key = create_api_key(demo_engine, "env-backoffice", department="Environment")
    for cid in ("-243", "99999999999999999999999", "abc", "²"):
        r = client.post(
            f"/api/v1/comments/{cid}/updates",
            json={"status": "resolved", "text": "Done."},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 404 and "No comment" in r.get_json()["error"], (cid, r.status_code)
