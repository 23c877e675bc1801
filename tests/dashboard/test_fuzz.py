"""A property-based fuzz of the public surface, over HTTP against a live server, as an outsider would send it.

Every public route (from the server's URL map), every page URL (through the router callback and the first
paint), every public Dash callback (from ``/_dash-dependencies``), malformed Dash requests, ``/report/send``,
Open311 (GET and POST with a real API key) and the APIs get hostile values: huge and non-ASCII numbers ("²",
2^64, 400 digits), lone surrogates, NUL, years 1 and 9999, deep nesting, wrong types. Each answer must be
below 500; malformed requests must be refused with a 4xx; officials' callbacks must answer 401/403; and after
each run every stored comment must be valid (text within the limit as stored, valid coordinates, a known
category, a storable email).

Bounded for CI (CITYDASH_FUZZ_EXAMPLES examples per property, default 25: well under a minute here);
``python -m bench.fuzz --examples 500`` runs it longer and prints the counts.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from data_sources.comments.api_keys import create_api_key
from data_sources.comments.records import MAX_EMAIL, MAX_TEXT
from data_sources.config import CityConfig, Settings
from data_sources.store.models import Comment, Flag, Support
from data_sources.store.db import make_engine, migrate
from tests.support import free_port

EXAMPLES = int(os.environ.get("CITYDASH_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
# What every run counted, by family and status class; bench/fuzz.py prints it (CITYDASH_FUZZ_REPORT: a file).
COUNTS: Counter = Counter()

HOSTILE_STRINGS = [
    "²",
    "٣",
    "①",
    "\ud800",
    "a\udfffb",
    "\x00",
    "9" * 400,
    "1" + "0" * 20,
    "99999999999999999999",
    "1e999",
    "-1",
    "0",
    str(2**63),
    str(2**64),
    "-9223372036854775809",
    "NaN",
    "inf",
    "-inf",
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-12:00",
    "2026-02-30",
    "2026-11-16T25:00",
    " ",
    "",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "a@b.cc",
    "x" * 3000,
    "air",
    "street",
    "noise",
    "open",
    "closed",
    "json",
    "xml",
    "en",
    "pt",
    "6",
    "9",
    "15",
    "1,2,3",
    ",,,",
    "a" * 40,
]
HOSTILE_NUMBERS = [
    2**63,
    2**64,
    -(2**63) - 1,
    10**400,
    -(10**30),
    1e308,
    -0.0,
    0.5,
    48.5,
    9.0,
    1,
    0,
    -1,
    float("nan"),
    float("inf"),
]
KEYS = ["lat", "lon", "feature_id", "source", "name", "points", "customdata", "id", "type", "value", "x"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(HOSTILE_STRINGS),
    st.sampled_from(HOSTILE_NUMBERS),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=10,
)
query_values = st.one_of(
    st.sampled_from(HOSTILE_STRINGS), st.text(max_size=30), st.integers().map(str), st.floats().map(repr)
)
QUERY_KEYS = [
    "page",
    "page_size",
    "start_date",
    "end_date",
    "service_request_id",
    "status",
    "service_code",
    "res",
    "since",
    "category",
    "limit",
    "offset",
    "start",
    "end",
    "metric",
    "feature_id",
    "format",
    "layer",
    "lang",
    "jurisdiction_id",
    "feature",
    "api_key",
    "q",
    "district",
    "sort",
]
queries = st.dictionaries(st.sampled_from(QUERY_KEYS), query_values, max_size=5)
addresses = st.ip_addresses(v=4).map(str)


def deep(n: int, kind: str = "list") -> str:
    return ("[" * n + "]" * n) if kind == "list" else ('{"a":' * n + "1" + "}" * n)


# --- the live server ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_server(
    demo_store_file: Path, demo_city: CityConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The demo city served on loopback behind one trusted proxy hop (each request claims its own address, so
    the per-address limits do not stop the fuzz early), with rate limits raised and one Open311 API key."""
    from werkzeug.serving import make_server

    from dashboard.app import create_app

    tmp = tmp_path_factory.mktemp("fuzz")
    shutil.copy(demo_store_file, tmp / "demo.sqlite")
    engine = make_engine(f"sqlite:///{tmp / 'demo.sqlite'}")
    migrate(engine)
    fb = demo_city.feedback.model_copy(
        update={"comment_rate": "100000/minute", "support_rate": "100000/minute", "flag_rate": "100000/minute"}
    )
    city = demo_city.model_copy(update={"feedback": fb})
    conf = Settings.from_env(
        {"CITYDASH_DATA_DIR": str(tmp), "CITYDASH_SECRET_KEY": "fuzz-secret", "CITYDASH_PROXY_HOPS": "1"}
    )
    app = create_app(city=city, settings=conf, engine=engine)
    key = create_api_key(engine, "fuzzer")
    port = free_port()
    srv = make_server("127.0.0.1", port, app.server, threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    base = f"http://127.0.0.1:{port}"
    deps = requests.get(base + "/_dash-dependencies", timeout=30).json()
    rules = [
        r
        for r in app.server.url_map.iter_rules()
        if "GET" in (r.methods or ())
        and not r.rule.startswith(("/officials", "/_dash", "/assets", "/_reload"))
        and r.endpoint != "static"
    ]
    yield {
        "base": base,
        "engine": engine,
        "key": key,
        "deps": deps,
        "rules": rules,
        "city": city,
        "session": requests.Session(),
    }
    srv.shutdown()
    report = os.environ.get("CITYDASH_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps(dict(COUNTS), indent=1, sort_keys=True))
    assert_store_valid(engine, city)
    engine.dispose()


def hit(
    server: dict[str, Any], family: str, method: str, path: str, address: str = "192.0.2.9", **kw: Any
) -> requests.Response:
    """One request, counted; any 5xx fails the property with what was sent."""
    headers = {"X-Forwarded-For": address, **kw.pop("headers", {})}
    if "json" in kw:  # as a browser could send it: NaN, infinities and lone surrogates included
        kw["data"] = json.dumps(kw.pop("json"), allow_nan=True).encode("utf-8", "surrogatepass")
        headers["Content-Type"] = "application/json"
    r = server["session"].request(method, server["base"] + path, headers=headers, timeout=60, **kw)
    COUNTS["requests"] += 1
    COUNTS[f"{r.status_code // 100}xx"] += 1
    COUNTS[f"{family}:{r.status_code // 100}xx"] += 1
    assert r.status_code < 500, (method, path, kw, r.status_code, r.text[:500])
    assert "Traceback" not in r.text, (method, path, r.text[:500])
    return r


def assert_store_valid(engine: Engine, city: CityConfig) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Comment.id,
                Comment.text,
                Comment.original_text,
                Comment.lat,
                Comment.lon,
                Comment.category,
                Comment.email,
                Comment.feature_id,
            )
        ).all()
        votes = [
            *conn.execute(select(Support.address_hash)).scalars(),
            *conn.execute(select(Flag.address_hash)).scalars(),
        ]
    for r in rows:
        assert 10 <= len(r.text) <= MAX_TEXT and len(r.original_text or "") <= MAX_TEXT, r.id
        assert math.isfinite(r.lat) and math.isfinite(r.lon) and -90 <= r.lat <= 90 and -180 <= r.lon <= 180, r.id
        assert r.category in city.city.comment_categories, r.id
        assert r.email is None or (len(r.email) <= MAX_EMAIL and r.email.isprintable() and "@" in r.email), r.id
    assert all(v is None or re.fullmatch(r"[0-9a-f]{64}", v) for v in votes)  # keyed hashes, never an address


# --- properties --------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), query=queries, address=addresses)
def test_public_get_routes(
    fuzz_server: dict[str, Any], data: st.DataObject, query: dict[str, str], address: str
) -> None:
    rule = data.draw(st.sampled_from(fuzz_server["rules"]), label="rule")
    path = rule.rule
    for name in rule.arguments:
        raw = data.draw(st.one_of(st.sampled_from(HOSTILE_STRINGS), st.integers().map(str)), label=name)
        path = re.sub(
            rf"<(?:[^:<>]+:)?{name}>",
            requests.utils.quote(raw.encode("utf-8", "surrogatepass"), safe="") if raw else "x",
            path,
        )
    hit(
        fuzz_server,
        "routes",
        "GET",
        path,
        address,
        params={k: v.encode("utf-8", "surrogatepass") for k, v in query.items()},
    )


@FUZZ
@given(
    path=st.one_of(
        st.sampled_from(
            [
                "/",
                "/report",
                "/comments/1",
                "/comments/99999999999999999999",
                "/comments/²",
                "/comments/٣",
                "/track/x",
                "/track/" + "a" * 40,
                "/ledger",
                "/you-said-we-did",
                "/air",
                "/about",
                "/officials",
                "/nope",
            ]
        ),
        st.text(max_size=30).map(lambda s: "/" + s),
        st.integers().map(lambda n: f"/comments/{n}"),
    ),
    search=st.one_of(st.none(), queries.map(lambda q: "?" + "&".join(f"{k}={v}" for k, v in q.items()))),
    address=addresses,
)
def test_page_urls(fuzz_server: dict[str, Any], path: str, search: str | None, address: str) -> None:
    body = {
        "output": "page.children",
        "outputs": {"id": "page", "property": "children"},
        "inputs": [
            {"id": "url", "property": "pathname", "value": path},
            {"id": "url", "property": "search", "value": search},
        ],
        "changedPropIds": ["url.pathname"],
    }
    hit(fuzz_server, "pages", "POST", "/_dash-update-component", address, json=body)
    quoted = requests.utils.quote(path.encode("utf-8", "surrogatepass"), safe="/")
    hit(
        fuzz_server, "pages", "GET", quoted + (search or "").encode("utf-8", "surrogatepass").decode("latin-1"), address
    )


def _callback_body(dep: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    def item(x: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
        cid = x["id"]
        if cid.startswith("{"):  # a pattern-matching input: a list of concrete ids
            pattern = json.loads(cid)
            return [
                {
                    "id": {
                        k: (data.draw(values, label="pmid") if v == ["ALL"] or v == ["MATCH"] else v)
                        for k, v in pattern.items()
                    },
                    "property": x["property"],
                    "value": data.draw(values),
                }
                for _ in range(data.draw(st.integers(0, 2), label="n"))
            ]
        return {"id": cid, "property": x["property"], "value": data.draw(values, label=f"{cid}.{x['property']}")}

    outs = [o for o in dep["output"].strip(".").split("...") if o]
    outputs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1].split("@")[0]} for o in outs]
    inputs = [item(x) for x in dep["inputs"]]
    return {
        "output": dep["output"],
        "outputs": outputs if dep["output"].startswith("..") else outputs[0],
        "inputs": inputs,
        "state": [item(x) for x in dep["state"]],
        "changedPropIds": [f"{x['id']}.{x['property']}" for x in dep["inputs"]][: data.draw(st.integers(0, 2))],
    }


@FUZZ
@given(data=st.data(), address=addresses)
def test_public_callbacks(fuzz_server: dict[str, Any], data: st.DataObject, address: str) -> None:
    from dashboard.server.auth import required_role_for_request

    server_side = [d for d in fuzz_server["deps"] if not d.get("clientside_function")]
    dep = data.draw(st.sampled_from(server_side), label="callback")
    body = _callback_body(dep, data)
    r = hit(fuzz_server, "callbacks", "POST", "/_dash-update-component", address, json=body)
    if required_role_for_request(body) is not None:
        assert r.status_code in (401, 403), (dep["output"], r.status_code)


@FUZZ
@given(data=st.data(), address=addresses)
def test_malformed_dash_requests_are_refused(fuzz_server: dict[str, Any], data: st.DataObject, address: str) -> None:
    deps = fuzz_server["deps"]
    dep = data.draw(st.sampled_from(deps), label="callback")
    good = _callback_body(dep, data) if not dep.get("clientside_function") else {"output": dep["output"]}
    kind = data.draw(
        st.sampled_from(
            [
                "deep-list",
                "deep-dict",
                "no-outputs",
                "clientside",
                "junk",
                "drop",
                "retype",
                "unknown-output",
                "not-json",
            ]
        ),
        label="kind",
    )
    if kind == "deep-list" or kind == "deep-dict":
        raw = deep(data.draw(st.integers(1000, 200_000)), "list" if kind == "deep-list" else "dict")
    elif kind == "no-outputs":
        raw = json.dumps({k: v for k, v in good.items() if k != "outputs"})
    elif kind == "clientside":
        cs = [d for d in deps if d.get("clientside_function")]
        raw = json.dumps(_callback_body(data.draw(st.sampled_from(cs)), data))
    elif kind == "junk":
        raw = json.dumps(data.draw(values), allow_nan=True)
    elif kind == "drop":
        field = data.draw(st.sampled_from(["output", "inputs", "state", "changedPropIds"]))
        raw = json.dumps({k: v for k, v in good.items() if k != field} | ({} if field == "output" else {"inputs": []}))
    elif kind == "retype":
        field = data.draw(st.sampled_from(["output", "outputs", "inputs", "state", "changedPropIds"]))
        raw = json.dumps({**good, field: data.draw(values)})
    elif kind == "unknown-output":
        raw = json.dumps({**good, "output": data.draw(st.text(max_size=20))})
    else:
        raw = data.draw(st.sampled_from(["", "{", "null", "[1,2", '"x"', '{"output": NaN}']))
    r = hit(
        fuzz_server,
        "dash-malformed",
        "POST",
        "/_dash-update-component",
        address,
        data=raw.encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
    )
    if kind in ("deep-list", "deep-dict", "no-outputs", "clientside", "unknown-output", "not-json"):
        assert 400 <= r.status_code < 500, (kind, r.status_code, r.text[:300])


def spoilt(valid: dict[str, st.SearchStrategy], hostile: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """A valid body with up to two fields hostile (or dropped): most requests get past the first check, so the
    deeper paths (redaction, the store) see hostile values too, and some are stored."""

    @st.composite
    def build(draw: st.DrawFn) -> dict:
        body = {k: draw(v) for k, v in valid.items()}
        for key in draw(st.lists(st.sampled_from(sorted(hostile)), max_size=2, unique=True)):
            if draw(st.booleans()):
                body[key] = draw(hostile[key])
            else:
                body.pop(key, None)
        return body

    return build()


texts = st.one_of(
    st.text(min_size=10, max_size=1000).filter(lambda t: len(t.strip()) >= 10),
    st.builds(
        lambda n, s: (s * n)[:2000],
        st.integers(2, 400),
        st.sampled_from(["a@b.cc ", "me@x.io", "+44 7700 900123 ", "Ａ＠ｂ．ｃｃ ", "ﷺ"]),
    ),
)
comment_bodies = spoilt(
    {
        "pin": st.fixed_dictionaries({"lat": st.floats(48.45, 48.55), "lon": st.floats(8.95, 9.05)}),
        "category": st.sampled_from(["air", "street", "noise", "other"]),
        "text": texts,
        "email": st.sampled_from(["", "a@b.cc", "someone@example.org"]),
        "client_key": st.text(alphabet="abcdef0123456789", min_size=16, max_size=40),
        "lang": st.sampled_from(["en", "pt"]),
    },
    {
        "pin": st.one_of(
            values, st.fixed_dictionaries({"lat": values, "lon": values}, optional={"feature_id": values})
        ),
        "category": values,
        "text": st.one_of(values, st.text(min_size=1990, max_size=2100)),
        "email": st.one_of(
            st.sampled_from(["a\ud800@b.cc", "x\x00@y.zz", "<a>@b.cc", "a@" + "b" * 400 + ".cc"]), values
        ),
        "client_key": values,
        "lang": values,
        "website": values,
    },
)


@FUZZ
@given(body=st.one_of(comment_bodies, values), address=addresses)
def test_report_send(fuzz_server: dict[str, Any], body: Any, address: str) -> None:
    r = hit(
        fuzz_server,
        "report-send",
        "POST",
        "/report/send",
        address,
        data=json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
    )
    assert r.headers["Content-Type"].startswith("application/json")
    if r.status_code == 200:
        assert_store_valid(fuzz_server["engine"], fuzz_server["city"])


def test_report_send_refuses_deep_nesting_and_junk(fuzz_server: dict[str, Any]) -> None:
    for raw in (deep(100_000), deep(50_000, "dict"), "{", '"x"', "[" * 10):
        r = hit(
            fuzz_server, "report-send", "POST", "/report/send", data=raw, headers={"Content-Type": "application/json"}
        )
        assert 400 <= r.status_code < 500 and r.json()["ok"] is False


@FUZZ
@given(
    fmt=st.sampled_from(["json", "xml", "csv", "²"]),
    query=queries,
    address=addresses,
    endpoint=st.sampled_from(
        [
            "requests",
            "requests/1",
            "requests/99999999999999999999",
            "requests/²",
            "services",
            "services/air",
            "services/²",
            "discovery",
        ]
    ),
)
def test_open311_get(fuzz_server: dict[str, Any], fmt: str, query: dict[str, str], address: str, endpoint: str) -> None:
    hit(
        fuzz_server,
        "open311",
        "GET",
        f"/open311/v2/{requests.utils.quote(endpoint)}.{requests.utils.quote(fmt)}",
        address,
        params={k: v.encode("utf-8", "surrogatepass") for k, v in query.items()},
    )


open311_forms = spoilt(
    {
        "service_code": st.sampled_from(["air", "street", "noise"]),
        "lat": st.floats(48.45, 48.55).map(repr),
        "long": st.floats(8.95, 9.05).map(repr),
        "description": texts,
        "email": st.sampled_from(["", "a@b.cc"]),
    },
    {
        "service_code": query_values,
        "lat": query_values,
        "long": query_values,
        "description": st.one_of(query_values, st.text(min_size=1990, max_size=2100)),
        "email": st.one_of(st.sampled_from(["a\ud800@b.cc", "x\x00@y.zz"]), query_values),
        "attribute[feature_id]": query_values,
        "jurisdiction_id": query_values,
    },
)


@FUZZ
@given(form=open311_forms, fmt=st.sampled_from(["json", "xml"]), address=addresses, with_key=st.booleans())
def test_open311_post(
    fuzz_server: dict[str, Any], form: dict[str, str], fmt: str, address: str, with_key: bool
) -> None:
    if with_key:
        form = {**form, "api_key": fuzz_server["key"]}
    r = hit(
        fuzz_server,
        "open311",
        "POST",
        f"/open311/v2/requests.{fmt}",
        address,
        data={k: v.encode("utf-8", "surrogatepass") for k, v in form.items()},
    )
    if r.status_code == 201:
        assert_store_valid(fuzz_server["engine"], fuzz_server["city"])


API_KEYS = {
    "/api/v1/features/air_station": ["limit", "offset"],
    "/api/v1/features/²": ["limit", "offset"],
    "/api/v1/observations": ["format", "limit", "offset", "metric", "feature_id", "start", "end", "layer"],
    "/api/v1/comments/heatmap": ["res", "category", "since"],
    "/feeds/comments/1.atom": ["lang"],
    "/feeds/comments/9223372036854775808.atom": ["lang"],
    "/feeds/districts/18446744073709551616.atom": ["lang"],
    "/feeds/categories/air.atom": ["lang"],
    "/api/v1/": ["lang"],
    "/api/v1/sources": [],
    "/api/v1/layers": [],
    "/api/v1/kpis": [],
    "/api/openapi.json": [],
}


@FUZZ
@given(data=st.data(), path=st.sampled_from(sorted(API_KEYS)), address=addresses)
def test_apis_and_feeds(fuzz_server: dict[str, Any], data: st.DataObject, path: str, address: str) -> None:
    keys = API_KEYS[path] or ["x"]
    query = data.draw(st.dictionaries(st.sampled_from(keys), query_values, max_size=len(keys)), label="query")
    r = hit(
        fuzz_server,
        "apis",
        "GET",
        path,
        address,
        params={k: v.encode("utf-8", "surrogatepass") for k, v in query.items()},
    )
    if r.status_code >= 400 and path.startswith("/api/v1/"):
        assert r.headers["Content-Type"].startswith("application/json") and "error" in r.json()
