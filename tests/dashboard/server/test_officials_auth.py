"""The door: every officials' callback and route refuses without a session, with a citizen's session and with
a role that is too low, and gives no data when it refuses. Callbacks and routes are enumerated from the app
itself (/_dash-dependencies and the URL map), so a new one is covered without editing this test."""

from __future__ import annotations

import json

import pytest

from dashboard.server.auth import role_for_id
from data_sources.comments.workflow import ROLE_RANK
from tests.support import render_page
from tests.dashboard.officials_helpers import csrf_token, login, make_officials


@pytest.fixture
def officials(demo_engine):
    return make_officials(demo_engine)


def _outputs(output: str):
    if output.startswith(".."):
        parts = [p for p in output.strip(".").split("...") if p]
    else:
        parts = [output]
    outs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1].split("@")[0]} for p in parts]
    return outs if output.startswith("..") else outs[0]


def officials_callbacks(client) -> list[dict]:
    deps = client.get("/_dash-dependencies").get_json()
    out = []
    for d in deps:
        ids = [o["id"] for o in (_outputs(d["output"]) if d["output"].startswith("..") else [_outputs(d["output"])])]
        ids += [i["id"] for i in d["inputs"]] + [s["id"] for s in d.get("state", [])]
        roles = [role_for_id(i) for i in ids if role_for_id(i)]
        if roles:
            out.append({**d, "need": max(roles, key=ROLE_RANK.get)})
    return out


def _empty(item: dict) -> dict | list:
    """A value for an input or state as the renderer sends it: a wildcard (ALL) id matches a list of components,
    here none."""
    return [] if '["ALL"]' in str(item["id"]) else {**item, "value": None}


def call(client, dep: dict):
    body = {
        "output": dep["output"],
        "outputs": _outputs(dep["output"]),
        "inputs": [_empty(i) for i in dep["inputs"]],
        "state": [_empty(s) for s in dep.get("state", [])],
        "changedPropIds": [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"],
    }
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")


def assert_refused(r, status: int) -> None:
    assert r.status_code == status, r.data[:300]
    body = r.get_data(as_text=True)
    assert "response" not in body and len(body) < 100, body[:300]


def test_every_officials_callback_refuses_without_the_role(app, officials):
    anon = app.server.test_client()
    cbs = officials_callbacks(anon)
    # The four officials' pages register their callbacks; each must be found here.
    assert len(cbs) >= 9
    assert {c["need"] for c in cbs} == {"moderator", "official", "admin"}
    citizen = app.server.test_client()
    citizen.get("/")  # a browser with cookies but no login
    citizen.set_cookie("citydash_session", "forged-value")
    clients = {role: app.server.test_client() for role in ("moderator", "official", "admin")}
    for role, c in clients.items():
        assert login(c, role).status_code == 303
    for dep in cbs:
        assert_refused(call(anon, dep), 401)
        assert_refused(call(citizen, dep), 401)
        for role, c in clients.items():
            r = call(c, dep)
            if ROLE_RANK[role] < ROLE_RANK[dep["need"]]:
                assert_refused(r, 403)
            else:
                # With the right role the same request is served: the refusals above are not malformed requests.
                assert r.status_code in (200, 204), (dep["output"], role, r.data[:300])


def test_decorator_refuses_even_when_the_guard_is_bypassed(app, officials):
    """Defence in depth: each officials' callback function checks the role itself."""
    hits = 0
    for name, cb in app.callback_map.items():
        fn = cb.get("callback")
        if fn is None:  # a clientside callback: it runs in the browser and reads nothing from the server
            continue
        inner = getattr(fn, "__wrapped__", fn)
        if not any(role_for_id(p.rsplit(".", 1)[0]) for p in name.strip(".").split("...")):
            continue
        hits += 1
        assert getattr(inner, "required_role", None) in ROLE_RANK, f"{name} has no require_role"
        with app.server.test_request_context("/_dash-update-component", method="POST"):
            with pytest.raises(Exception) as e:
                inner(*([None] * 12))
            assert (
                getattr(e.value, "code", None) == 401
                or getattr(getattr(e.value, "response", None), "status_code", None) == 401
            )
    assert hits >= 9


def officials_routes(app) -> list:
    public = app.server.extensions["citydash"].public_officials_routes
    rules = [r for r in app.server.url_map.iter_rules() if r.rule.startswith("/officials") and r.rule not in public]
    return rules


def _url(rule) -> str:
    return rule.build({a: 8 for a in rule.arguments}, append_unknown=False)[1]


def test_every_officials_route_refuses_without_the_role(app, officials):
    rules = officials_routes(app)
    assert {"/officials/export.csv", "/officials/export.geojson", "/officials/media/<name>"} <= {r.rule for r in rules}
    anon = app.server.test_client()
    clients = {}
    for role in ("moderator", "official", "admin"):
        clients[role] = app.server.test_client()
        login(clients[role], role)
    for rule in rules:
        url = _url(rule)
        need = app.server.view_functions[rule.endpoint].required_role  # every officials' route declares its role
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert_refused(anon.open(url, method=method), 401)
            for role, c in clients.items():
                r = c.open(url, method=method)
                if ROLE_RANK[role] < ROLE_RANK[need]:
                    assert_refused(r, 403)
                else:  # let in: the route's own answer (a photo route answers 404 for a made-up name)
                    assert r.status_code not in (401, 403), (url, role)


def test_officials_pages_show_no_data_without_login(client, officials):
    for path in ("/officials", "/officials/queue", "/officials/moderation", "/officials/audit"):
        page = json.dumps(render_page(client, path))
        assert "off-login-link" in page
        assert "off-heat-map" not in page and "off-q-table" not in page and "off-audit-table" not in page


def test_login_needs_csrf_and_the_right_password(app, officials):
    c = app.server.test_client()
    r = c.post("/officials/login", data={"email": "official@city.example", "password": "correct horse battery"})
    assert r.status_code == 400  # no CSRF token
    assert login(c, "official", password="wrong password!").status_code == 401
    r = login(c, "official")
    assert r.status_code == 303 and r.headers["Location"].startswith("/officials")
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # logout is a POST with a CSRF token too
    assert c.post("/officials/logout").status_code == 400
    token = csrf_token(c)
    assert c.post("/officials/logout", data={"csrf_token": token}).status_code == 303
    assert c.get("/officials/export.csv").status_code == 401


def test_cookie_is_secure_over_https(app, officials):
    c = app.server.test_client()
    html = c.get("/officials/login", base_url="https://city.example").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = c.post(
        "/officials/login",
        base_url="https://city.example",
        headers={"Referer": "https://city.example/officials/login"},
        data={"email": "admin@city.example", "password": "correct horse battery", "csrf_token": token},
    )
    assert r.status_code == 303
    assert "Secure" in r.headers["Set-Cookie"]


def test_login_is_throttled(app, officials):
    c = app.server.test_client()
    codes = [login(c, "official", password=f"guess number {i}").status_code for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[-1] == 429
    # the right password is refused too while throttled: guessing cannot continue
    assert login(c, "official").status_code == 429


def test_cross_origin_callback_is_refused_even_with_a_session(app, officials):
    c = app.server.test_client()
    login(c, "admin")
    dep = officials_callbacks(c)[0]
    body = {
        "output": dep["output"],
        "outputs": _outputs(dep["output"]),
        "inputs": [{**i, "value": None} for i in dep["inputs"]],
        "state": [{**s, "value": None} for s in dep.get("state", [])],
        "changedPropIds": [],
    }
    r = c.post(
        "/_dash-update-component",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Origin": "https://evil.example"},
    )
    assert_refused(r, 403)
