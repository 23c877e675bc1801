"""Open311 GeoReport v2 at /open311/v2/: every endpoint in JSON and XML, as the specification names and types the
fields; POST through submit_comment; the errors; and a client written from the specification reading us back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from data_sources.comments.api_keys import create_api_key, revoke_api_key
from data_sources.store.models import Comment
from tests.support import DEMO_END, clear_of_a_minute_edge

V2 = "/open311/v2"
# Demo comments span the 180 days before DEMO_END; this window (<= 90 days) holds many of them.
WINDOW = {
    "start_date": (DEMO_END - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "end_date": DEMO_END.strftime("%Y-%m-%dT%H:%M:%SZ"),
}
REQUEST_FIELDS = {
    "service_request_id": int,
    "status": str,
    "status_notes": (str, type(None)),
    "service_name": str,
    "service_code": str,
    "description": str,
    "agency_responsible": (str, type(None)),
    "service_notice": (str, type(None)),
    "requested_datetime": str,
    "updated_datetime": str,
    "expected_datetime": (str, type(None)),
    "address": (str, type(None)),
    "address_id": (str, type(None)),
    "zipcode": (str, type(None)),
    "lat": float,
    "long": float,
    "media_url": (str, type(None)),
}
SERVICE_FIELDS = {
    "service_code": str,
    "service_name": str,
    "description": str,
    "metadata": bool,
    "type": str,
    "keywords": str,
    "group": str,
}


def xml_of(resp) -> ET.Element:  # noqa: ANN001
    assert resp.headers["Content-Type"].startswith("text/xml")
    assert resp.data.startswith(b"<?xml")
    return ET.fromstring(resp.data)  # raises on anything not well formed


def w3c(value: str) -> datetime:
    dt = datetime.fromisoformat(value)
    assert dt.tzinfo is not None, f"{value} has no offset"
    return dt


@pytest.fixture
def api_key(demo_engine) -> str:
    return create_api_key(demo_engine, "fixmystreet-test")


def post(client, fmt: str = "json", **fields):  # noqa: ANN001
    return client.post(f"{V2}/requests.{fmt}", data=fields)


# --- discovery and services ------------------------------------------------------------------------------------


def test_discovery_points_at_this_server_in_both_formats(client):
    d = client.get(f"{V2}/discovery.json").get_json()
    ep = d["endpoints"][0]
    assert ep["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert ep["url"].endswith("/open311/v2") and set(ep["formats"]) == {"text/xml", "application/json"}
    root = xml_of(client.get(f"{V2}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]


def test_services_are_the_city_categories_with_the_specification_fields(client, demo_city):
    services = client.get(f"{V2}/services.json").get_json()
    assert [s["service_code"] for s in services] == list(demo_city.city.comment_categories)
    for s in services:
        assert set(s) == set(SERVICE_FIELDS)
        for k, t in SERVICE_FIELDS.items():
            assert isinstance(s[k], t), (k, s[k])
        assert s["type"] in ("realtime", "batch", "blackbox")
    root = xml_of(client.get(f"{V2}/services.xml"))
    assert root.tag == "services" and [e.tag for e in root] == ["service"] * len(services)
    assert [e.findtext("service_code") for e in root] == [s["service_code"] for s in services]
    assert {e.findtext("metadata") for e in root} <= {"true", "false"}


def test_service_definition_asks_which_station(client, demo_engine):
    d = client.get(f"{V2}/services/air.json").get_json()
    assert d["service_code"] == "air"
    (attr,) = d["attributes"]
    assert attr["code"] == "feature_id" and attr["datatype"] == "singlevaluelist" and attr["required"] is False
    assert attr["variable"] is True and attr["order"] == 1
    assert len(attr["values"]) == 40 and all(
        set(v) == {"key", "name"} for v in attr["values"]
    )  # the demo's air stations
    root = xml_of(client.get(f"{V2}/services/air.xml"))
    assert root.tag == "service_definition"
    assert len(root.findall("attributes/attribute/values/value")) == 40
    assert client.get(f"{V2}/services/noise.json").get_json() == {"service_code": "noise", "attributes": []}


# --- GET requests ----------------------------------------------------------------------------------------------


def test_requests_have_the_specification_fields_and_types_in_json_and_xml(client):
    rows = client.get(f"{V2}/requests.json", query_string={**WINDOW, "page_size": 50}).get_json()
    assert len(rows) == 50
    for r in rows:
        assert set(r) == set(REQUEST_FIELDS)
        for k, t in REQUEST_FIELDS.items():
            assert isinstance(r[k], t), (k, r[k])
        assert r["status"] in ("open", "closed")
        w3c(r["requested_datetime"]), w3c(r["updated_datetime"])
    times = [w3c(r["requested_datetime"]) for r in rows]
    assert times == sorted(times, reverse=True)  # newest first
    root = xml_of(client.get(f"{V2}/requests.xml", query_string={**WINDOW, "page_size": 50}))
    assert root.tag == "service_requests" and len(root) == 50
    first = root[0]
    assert first.tag == "request" and [c.tag for c in first] == list(REQUEST_FIELDS)
    assert int(first.findtext("service_request_id")) == rows[0]["service_request_id"]
    assert float(first.findtext("lat")) == rows[0]["lat"]


def test_public_location_is_the_cell_centre_never_the_exact_point(client, demo_engine):
    r = client.get(f"{V2}/requests.json", query_string={**WINDOW, "page_size": 1}).get_json()[0]
    with demo_engine.connect() as conn:
        c = conn.execute(select(Comment).where(Comment.id == r["service_request_id"])).one()
    assert (r["lat"], r["long"]) == (c.public_lat, c.public_lon)
    assert (r["lat"], r["long"]) != (c.lat, c.lon)


def test_status_filter_maps_internal_statuses(client, demo_engine):
    opened = client.get(f"{V2}/requests.json", query_string={**WINDOW, "status": "open"}).get_json()
    closed = client.get(f"{V2}/requests.json", query_string={**WINDOW, "status": "closed"}).get_json()
    both = client.get(f"{V2}/requests.json", query_string={**WINDOW, "status": "open,closed"}).get_json()
    assert opened and closed and len(opened) + len(closed) == len(both)
    with demo_engine.connect() as conn:
        st = dict(conn.execute(select(Comment.id, Comment.status)).all())
    assert {st[r["service_request_id"]] for r in opened} <= {"new", "acknowledged", "in_progress"}
    assert {st[r["service_request_id"]] for r in closed} <= {"resolved", "closed"}


def test_date_window_service_code_and_paging(client):
    rows = client.get(f"{V2}/requests.json", query_string={**WINDOW, "service_code": "air,noise"}).get_json()
    assert rows and {r["service_code"] for r in rows} == {"air", "noise"}
    start = datetime.fromisoformat(WINDOW["start_date"])
    assert all(w3c(r["requested_datetime"]) >= start for r in rows)
    p1 = client.get(f"{V2}/requests.json", query_string={**WINDOW, "page_size": 7}).get_json()
    p2 = client.get(f"{V2}/requests.json", query_string={**WINDOW, "page_size": 7, "page": 2}).get_json()
    big = client.get(f"{V2}/requests.json", query_string={**WINDOW, "page_size": 14}).get_json()
    assert p1 + p2 == big


def test_keyset_pages_follow_the_link_header(client):
    """Beyond ``page``: each full page names the next in a ``Link: rel="next"`` header with an opaque cursor, and
    following the links gives every request of the window once, as one big page does."""
    import re
    from urllib.parse import urlsplit

    big = client.get(f"{V2}/requests.json", query_string={**WINDOW, "page_size": 1000}).get_json()
    r = client.get(f"{V2}/requests.json", query_string={**WINDOW, "page_size": 9})
    seen = list(r.get_json())
    while "Link" in r.headers:
        url = re.match(r'<([^>]+)>; rel="next"', r.headers["Link"]).group(1)
        parts = urlsplit(url)
        r = client.get(f"{parts.path}?{parts.query}")
        assert r.status_code == 200
        seen += r.get_json()
    assert [x["service_request_id"] for x in seen] == [x["service_request_id"] for x in big]
    assert all("_created_at" not in x for x in seen)


def test_default_window_is_the_last_90_days_and_at_most_1000(client, demo_engine):
    # Move every comment into the last 90 days: the default answer stops at 1,000.
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with demo_engine.begin() as conn:
        conn.execute(update(Comment).values(created_at=now - timedelta(days=1)))
        conn.execute(update(Comment).where(Comment.id <= 10).values(created_at=now - timedelta(days=91)))
    rows = client.get(f"{V2}/requests.json").get_json()
    assert len(rows) == 1000
    ids = {r["service_request_id"] for r in client.get(f"{V2}/requests.json", query_string={"page": 2}).get_json()}
    assert not ids & set(range(1, 11))  # older than 90 days: outside the default window


def test_service_request_id_overrides_other_filters(client):
    rows = client.get(
        f"{V2}/requests.json",
        query_string={"service_request_id": "3,5", "status": "open", "start_date": "2001-01-01T00:00:00Z"},
    ).get_json()
    assert sorted(r["service_request_id"] for r in rows) == [3, 5]


def test_single_request_has_status_notes_and_the_notes_history(client, demo_engine):
    with demo_engine.connect() as conn:
        cid = conn.scalar(select(Comment.id).where(Comment.status == "resolved").limit(1))
    (r,) = client.get(f"{V2}/requests/{cid}.json").get_json()
    assert r["status"] == "closed" and r["status_notes"] == "This has been fixed. Thank you for telling us."
    assert [n["summary"] for n in r["notes"]] == ["Status: acknowledged", "Status: resolved"]
    assert all(set(n) == {"datetime", "type", "summary", "description"} for n in r["notes"])
    root = xml_of(client.get(f"{V2}/requests/{cid}.xml"))
    assert root.tag == "service_requests" and root.find("request/service_request_id").text == str(cid)
    assert [n.findtext("type") for n in root.findall("request/notes/note")] == ["status", "status"]


def test_jurisdiction_id_is_accepted(client, demo_city):
    assert client.get(f"{V2}/services.json", query_string={"jurisdiction_id": demo_city.city.slug}).status_code == 200
    r = client.get(f"{V2}/services.json", query_string={"jurisdiction_id": "elsewhere"})
    assert r.status_code == 404 and "jurisdiction_id" in r.get_json()[0]["description"]


# --- POST requests ---------------------------------------------------------------------------------------------


def test_post_then_get_round_trip_with_pii_redacted(client, api_key, demo_engine):
    r = post(
        client,
        api_key=api_key,
        service_code="noise",
        lat="48.5012",
        long="9.0011",
        description="Leaf blowers at 6am every day. Call me on +44 7700 900123",
        email="a@example.org",
    )
    assert r.status_code == 201
    (created,) = r.get_json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    (got,) = client.get(f"{V2}/requests/{created['service_request_id']}.json").get_json()
    assert got["status"] == "open" and got["service_code"] == "noise"
    assert "7700" not in got["description"] and "[phone removed]" in got["description"]
    assert (got["lat"], got["long"]) != (48.5012, 9.0011)
    with demo_engine.connect() as conn:
        c = conn.execute(select(Comment).where(Comment.id == created["service_request_id"])).one()
    assert c.origin == "open311:fixmystreet-test" and c.email == "a@example.org" and c.moderation == "published"


def test_post_in_xml_and_with_a_feature_attribute(client, api_key):
    definition = client.get(f"{V2}/services/air.json").get_json()
    station = definition["attributes"][0]["values"][0]["key"]
    r = post(
        client,
        "xml",
        api_key=api_key,
        service_code="air",
        lat="48.49",
        long="8.99",
        description="The air smells of burning plastic near the station.",
        **{"attribute[feature_id]": station},
    )
    assert r.status_code == 201
    root = xml_of(r)
    assert root.tag == "service_requests" and root.find("request/service_request_id").text.isdigit()


def test_held_text_gets_a_notice_and_stays_private(client, api_key):
    r = post(
        client,
        api_key=api_key,
        service_code="street",
        lat="48.5",
        long="9.0",
        description="Some idiot dumped a fridge on the pavement.",
    )
    assert r.status_code == 201
    (created,) = r.get_json()
    assert created["service_notice"]  # tells the integrator it waits for a moderator
    assert client.get(f"{V2}/requests/{created['service_request_id']}.json").status_code == 404


def test_citizen_text_is_escaped_in_xml(client, api_key):
    text = 'Sign says <b>closed</b> & "detour" ]]> here; it is wrong'
    (created,) = post(
        client, api_key=api_key, service_code="street", lat="48.5", long="9.0", description=text
    ).get_json()
    root = xml_of(client.get(f"{V2}/requests/{created['service_request_id']}.xml"))
    assert root.findtext("request/description") == text


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "fields, status, words",
    [
        (
            {"service_code": "noise", "lat": "48.5", "long": "9.0", "description": "Too loud at night here"},
            403,
            "api_key",
        ),
        (
            {
                "api_key": "wrong",
                "service_code": "noise",
                "lat": "48.5",
                "long": "9.0",
                "description": "Too loud at night",
            },
            403,
            "api_key",
        ),
        (
            {"service_code": "potholes", "lat": "48.5", "long": "9.0", "description": "A deep hole in the road"},
            400,
            "service_code",
        ),
        ({"service_code": "noise", "description": "Too loud at night here"}, 400, "lat"),
        (
            {"service_code": "noise", "lat": "10", "long": "10", "description": "Too loud at night here"},
            400,
            "location",
        ),
        ({"service_code": "noise", "lat": "48.5", "long": "9.0", "description": "short"}, 400, "text"),
        (
            {
                "service_code": "noise",
                "lat": "48.5",
                "long": "9.0",
                "description": "Too loud at night",
                "email": "nope",
            },
            400,
            "email",
        ),
    ],
)
def test_post_errors(client, api_key, fmt, fields, status, words):
    fields = {**fields}
    if "api_key" not in fields and status != 403:
        fields["api_key"] = api_key
    r = post(client, fmt, **fields)
    assert r.status_code == status
    if fmt == "json":
        (err,) = r.get_json()
        assert set(err) == {"code", "description"} and err["code"] == status and words in err["description"]
    else:
        root = xml_of(r)
        assert root.tag == "errors" and root.find("error/code").text == str(status)
        assert words in root.findtext("error/description")


def test_revoked_key_is_refused(client, api_key, demo_engine):
    revoke_api_key(demo_engine, "fixmystreet-test")
    r = post(
        client, api_key=api_key, service_code="noise", lat="48.5", long="9.0", description="Too loud at night here"
    )
    assert r.status_code == 403


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "url, status",
    [
        ("/requests.{fmt}?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", 400),  # over 90 days
        ("/requests.{fmt}?start_date=yesterday", 400),
        ("/requests.{fmt}?status=pending", 400),
        ("/requests.{fmt}?page=0", 400),
        ("/requests.{fmt}?page_size=5000", 400),
        ("/requests.{fmt}?cursor=forged", 400),
        ("/requests.{fmt}?cursor=WzEsIjIwMjYiLDFd", 400),  # well-formed base64 JSON, not a time
        ("/requests.{fmt}?cursor=WzEsIjIwMjYtMDEtMDFUMDA6MDA6MDAiLDFd&page=2", 400),  # both ways of paging
        ("/requests.{fmt}?end_date=2026-01-01T00:00:00Z&start_date=2026-02-01T00:00:00Z", 400),
        ("/requests/abc.{fmt}", 400),
        ("/requests/99999999.{fmt}", 404),
        ("/services/nothing.{fmt}", 404),
    ],
)
def test_get_errors(client, fmt, url, status):
    r = client.get(V2 + url.format(fmt=fmt))
    assert r.status_code == status
    if fmt == "json":
        assert r.get_json()[0]["code"] == status
    else:
        assert xml_of(r).find("error/code").text == str(status)


def test_unknown_format_answers_in_xml(client):
    r = client.get(f"{V2}/requests.csv")
    assert r.status_code == 404 and xml_of(r).tag == "errors"


def test_post_is_rate_limited_per_key(client, api_key):
    clear_of_a_minute_edge(30)
    codes = [
        post(
            client,
            api_key=api_key,
            service_code="noise",
            lat="48.5",
            long="9.0",
            description=f"Too loud at night, report {i}",
        ).status_code
        for i in range(62)
    ]
    assert codes[:60] == [201] * 60 and codes[60:] == [429, 429]


# --- clients written from the specification --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_reads_us(live_server, fmt):
    georeport = pytest.importorskip("georeport")
    client = georeport.GeoReport(f"{live_server}{V2}", output_format=fmt)
    services = client.get_service_list()
    assert [s["service_code"] for s in services][:3] == ["air", "traffic", "cycling"]
    definition = client.get_service_definition("air")
    assert definition["service_code"] == "air"
    reqs = client.get_service_requests(status="closed", **WINDOW)
    assert reqs and all(r["status"] == "closed" for r in reqs)
    one = client.get_service_request(str(reqs[0]["service_request_id"]))
    assert str(one["service_request_id"]) == str(reqs[0]["service_request_id"])
    assert one["description"] == reqs[0]["description"]


def test_our_import_reads_our_server_back(live_server, demo_city, engine):
    """A second citydash store takes this server's requests through `import open311 URL` (paging included)."""
    import requests

    from data_sources.exchange.open311_import import import_open311

    # Public points are cell centres: near the edge some fall just outside the demo's bounds, so take none.
    city = demo_city.model_copy(update={"city": demo_city.city.model_copy(update={"bounds": None})})
    url = f"{live_server}{V2}/requests.json?start_date={WINDOW['start_date']}&end_date={WINDOW['end_date']}"
    with requests.Session() as s:
        total = len(s.get(url).json())
        counts = import_open311(engine, city, url, session=s, page_size=100)
        again = import_open311(engine, city, url, session=s, page_size=100)
    assert total > 100  # so the import walked several pages
    assert counts["comments"] == total and counts["skipped"] == 0
    assert again["comments"] == 0
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(Comment.status, Comment.id)).all())
    assert set(statuses) <= {"new", "closed"} and "closed" in statuses


# --- open-ended input ----------------------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_stored_text_survives_xml(text):
    """What submit_comment stores (after clean_text) comes back from the XML unchanged: escaped, never markup."""
    from dashboard.http.open311 import to_xml
    from data_sources.comments.records import clean_text

    stored = clean_text(text)
    root = ET.fromstring(to_xml("service_requests", "request", [{"description": stored}]))
    assert (root.findtext("request/description") or "") == stored


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["service_request_id", "service_code", "start_date", "end_date", "status", "page", "page_size"]
        ),
        st.text(max_size=30),
    )
)
def test_any_query_is_answered_or_refused_with_400(args):
    from dashboard.http.open311 import Open311Error, parse_request_query

    try:
        q = parse_request_query(args, DEMO_END)
    except Open311Error as e:
        assert e.status == 400
        return
    assert 1 <= q.page_size <= 1000 and q.page >= 1
    if q.ids is None:
        assert q.start <= q.end and q.end - q.start <= timedelta(days=90)
