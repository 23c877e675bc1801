"""`citydash import open311`: real Open311 payloads (Bloomington JSON, San Francisco XML) and our own small ones
in the same formats, through submit_comment, idempotently."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from data_sources.ingest.types import SourceError
from data_sources.config import CityConfig
from data_sources.store.models import Comment
from data_sources.exchange.open311_import import (
    _slug,
    category_for,
    client_key,
    fetch,
    import_open311,
    parse,
    parse_datetime,
)
from tests.support import realdata

OWN_JSON = json.dumps(
    [
        {
            "service_request_id": "A-1",
            "status": "open",
            "service_code": "pot",
            "service_name": "Potholes",
            "description": "Deep pothole in the cycle lane by the school",
            "requested_datetime": "2025-03-01T08:00:00+01:00",
            "lat": 52.09,
            "long": 5.12,
        },
        {
            "service_request_id": "A-2",
            "status": "closed",
            "service_code": "lamp",
            "service_name": "Street lights",
            "description": "Lamp post flickering all night long",
            "requested_datetime": "2025-03-02T09:30:00Z",
            "lat": "52.08",
            "long": "5.11",
        },
        {
            "service_request_id": "A-3",
            "status": "open",
            "service_code": "pot",
            "service_name": "Potholes",
            "description": "No location given here",
            "requested_datetime": "2025-03-02T10:00:00Z",
            "lat": None,
            "long": None,
        },
        {
            "service_request_id": "A-4",
            "status": "open",
            "service_code": "pot",
            "service_name": "Potholes",
            "description": "Zero zero is unknown upstream",
            "requested_datetime": "2025-03-02T10:00:00Z",
            "lat": 0,
            "long": 0,
        },
    ]
)
OWN_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_requests xmlns:m="http://example.org/m"><request><service_request_id>77</service_request_id><status>Closed</status>
<service_name>Graffiti_Removal</service_name><service_code>010</service_code><description>Tag &amp; paint on the bridge wall</description>
<requested_datetime>2012-05-22 23:57:23.97</requested_datetime>
<updated_datetime xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>
<lat>52.1</lat><long>5.1</long></request></service_requests>"""


def city(categories: list[str], tz: str = "UTC") -> CityConfig:
    """A city with no bounds (real payloads are elsewhere than the demo city)."""
    return CityConfig.model_validate(
        {"city": {"name": "Test", "slug": "test", "centre": [0, 0], "timezone": tz, "comment_categories": categories}}
    )


def comments(engine) -> list:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(select(Comment).order_by(Comment.id)).all()


def test_parse_own_json_skips_unusable_locations():
    p = parse(OWN_JSON)
    assert [r.id for r in p.requests] == ["A-1", "A-2"] and p.skipped == 2
    assert p.requests[0].requested == datetime(2025, 3, 1, 7, 0)  # offset honoured, stored as naive UTC
    assert (p.requests[1].lat, p.requests[1].lon) == (52.08, 5.11)  # numbers given as strings


def test_parse_own_xml_with_non_iso_time_in_the_city_zone():
    (r,) = parse(OWN_XML, tz="America/Los_Angeles").requests
    assert r.id == "77" and r.status == "closed" and r.description == "Tag & paint on the bridge wall"
    assert r.requested == datetime(2012, 5, 23, 6, 57, 23, 970000)  # PDT is UTC-7


def test_errors_payload_and_garbage_are_reported():
    with pytest.raises(SourceError, match="api_key"):
        parse(
            '<?xml version="1.0"?><errors><error><code>403</code><description>bad api_key</description></error></errors>'
        )
    with pytest.raises(SourceError):
        parse("this is not a payload")
    with pytest.raises(SourceError):
        parse("<service_requests><request>")


def test_parse_datetime_forms():
    assert parse_datetime("2012-05-23T15:55:28-04:00") == datetime(2012, 5, 23, 19, 55, 28)
    assert parse_datetime("2026-01-01T00:00:00Z") == datetime(2026, 1, 1)
    assert parse_datetime("2012-05-22 23:57:23.97", "Europe/Amsterdam") == datetime(2012, 5, 22, 21, 57, 23, 970000)
    assert parse_datetime("yesterday") is None and parse_datetime(None) is None


def test_category_mapping_order():
    (r,) = parse(OWN_XML).requests
    assert category_for(r, ["graffiti_removal", "other"]) == "graffiti_removal"  # service name as a slug
    assert category_for(r, ["010", "graffiti_removal"]) == "010"  # same code first
    assert category_for(r, ["street", "other"], {"010": "street"}) == "street"
    assert category_for(r, ["street", "other"]) == "other"
    assert category_for(r, ["street"]) is None


def test_client_key_is_stable_and_valid_for_any_upstream_id():
    assert client_key("h.example", "123") == client_key("h.example", "123") != client_key("other", "123")
    odd = client_key("h.example", "id with spaces/and#more" * 5)
    assert odd.startswith("o311:") and len(odd) <= 100 and " " not in odd


def test_import_keeps_status_and_time_and_adds_nothing_twice(any_engine, tmp_path):
    engine = any_engine
    f = tmp_path / "requests.json"
    f.write_text(OWN_JSON)
    c = city(["potholes", "street_lights", "other"])
    counts = import_open311(engine, c, str(f), origin="oldsystem")
    assert counts == {
        "source": "open311:oldsystem",
        "kind": "open311",
        "features": 0,
        "observations": 0,
        "comments": 2,
        "skipped": 2,
        "skipped_by_reason": {"location": 2},
    }
    rows = comments(engine)
    assert [(r.category, r.status, r.closed_reason, r.origin) for r in rows] == [
        ("potholes", "new", None, "open311:oldsystem"),
        ("street_lights", "closed", "closed_upstream", "open311:oldsystem"),
    ]
    assert rows[1].created_at == datetime(2025, 3, 2, 9, 30)
    assert import_open311(engine, c, str(f), origin="oldsystem")["comments"] == 0
    assert len(comments(engine)) == 2


def test_import_redacts_and_holds_like_any_comment(engine, tmp_path):
    payload = [
        {
            "service_request_id": 1,
            "status": "open",
            "service_code": "x",
            "service_name": "Other",
            "description": "Call me on +31 6 1234 5678 about this idiot parking",
            "lat": 1,
            "long": 1,
        }
    ]
    f = tmp_path / "r.json"
    f.write_text(json.dumps(payload))
    import_open311(engine, city(["other"]), str(f))
    (row,) = comments(engine)
    assert "[phone removed]" in row.text and row.moderation == "held"


class FakeSession:
    """A server that pages (page/page_size) or ignores paging, recording the URLs asked for."""

    def __init__(self, records: list[dict], pages: bool = True):
        self.records, self.pages, self.urls = records, pages, []

    def get(self, url, timeout=None):  # noqa: ANN001
        from urllib.parse import parse_qs, urlsplit

        self.urls.append(url)
        q = parse_qs(urlsplit(url).query)
        page, size = int(q["page"][0]), int(q["page_size"][0])
        body = self.records[(page - 1) * size : page * size] if self.pages else self.records

        class R:
            status_code = 200
            content = json.dumps(body).encode()

        return R()


def test_fetch_follows_pages_and_stops_when_the_server_ignores_them():
    records = [{"service_request_id": i, "lat": 1, "long": 1} for i in range(25)]
    s = FakeSession(records)
    pages = fetch(s, "https://x.example/open311/v2?status=open", page_size=10)
    assert len(pages) == 3 and sum(len(json.loads(p)) for p in pages) == 25
    assert s.urls[0].startswith("https://x.example/open311/v2/requests.json?status=open&page=1")
    s = FakeSession(records[:10], pages=False)
    assert len(fetch(s, "https://x.example/open311/v2/requests.json", page_size=10)) == 1 and len(s.urls) == 2


def test_fetch_reports_http_errors():
    class Down:
        def get(self, url, timeout=None):  # noqa: ANN001
            return type("R", (), {"status_code": 503, "content": b""})()

    with pytest.raises(SourceError, match="503"):
        fetch(Down(), "https://x.example/open311/v2/")


# --- real payloads -----------------------------------------------------------------------------------------------


def _city_from_services(path, tz: str) -> CityConfig:  # noqa: ANN001
    raw = path.read_bytes()
    if raw.lstrip().startswith(b"<"):
        import xml.etree.ElementTree as ET

        names = [s.findtext("service_name") for s in ET.fromstring(raw)]
    else:
        names = [s["service_name"] for s in json.loads(raw)]
    return city(sorted({_slug(n) for n in names}) + ["other"], tz)


def test_bloomington_json(engine):
    payload = realdata("open311", "bloomington_in_requests_2012-05-23.json")
    c = _city_from_services(
        realdata("open311", "bloomington_in_services_2012-05-23.json"), "America/Indiana/Indianapolis"
    )
    counts = import_open311(engine, c, str(payload))
    # 21 requests: 2 with null lat/long and 6 with 0,0 are skipped; the other 13 are stored.
    assert (counts["comments"], counts["skipped"]) == (13, 8)
    rows = comments(engine)
    assert sum(r.status == "closed" for r in rows) == 3
    first = next(r for r in rows if r.client_key.endswith("4fbd3beeb1fe2c9f5c000001"))
    assert (first.category, first.text, first.created_at) == (
        "graffiti",
        "Graffiti on mailboxes",
        datetime(2012, 5, 23, 19, 35, 8),
    )
    assert import_open311(engine, c, str(payload))["comments"] == 0


def test_san_francisco_xml(engine):
    payload = realdata("open311", "san_francisco_requests_2012-05-22.xml")
    c = _city_from_services(realdata("open311", "san_francisco_services_2012-05.xml"), "America/Los_Angeles")
    counts = import_open311(engine, c, str(payload))
    # 56 requests, 9 at "0.0, 0.0" skipped; the rest have no description, so the service name is the text and
    # names under 10 characters ("Graffiti") fail validation like any too-short comment.
    parsed = parse(payload.read_bytes())
    short = sum(len(r.service_name) < 10 for r in parsed.requests)
    assert parsed.skipped == 9 and len(parsed.requests) == 47
    assert counts["comments"] == 47 - short and counts["skipped"] == 9 + short
    assert counts["skipped_by_reason"] == {"location": 9, **({"text": short} if short else {})}
    with engine.connect() as conn:
        dumping = conn.execute(select(Comment).where(Comment.client_key.like("%:1129792"))).one()
    assert dumping.category == "illegal_dumping" and dumping.created_at == datetime(2012, 5, 23, 5, 43, 22, 440000)
    assert sum(1 for r in comments(engine) if r.status == "closed") == sum(
        1 for r in parsed.requests if r.status == "closed" and len(r.service_name) >= 10
    )


def test_cli_import_prints_one_json_line(tmp_path, monkeypatch):
    from dashboard.cli import cli

    toml = tmp_path / "c.toml"
    toml.write_text(
        '[city]\nname = "T"\nslug = "t"\ncentre = [52.1, 5.1]\ncomment_categories = ["potholes", "other"]\n'
    )
    f = tmp_path / "old.json"
    f.write_text(OWN_JSON)
    env = {"CITYDASH_DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite'}", "CITYDASH_DATA_DIR": str(tmp_path)}
    r = CliRunner().invoke(cli, ["--city", str(toml), "import", "open311", str(f), "--map", "lamp=other"], env=env)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert (out["kind"], out["comments"], out["skipped"], out["source"]) == ("open311", 2, 2, "open311:old")
    r = CliRunner().invoke(cli, ["--city", str(toml), "import", "open311", str(tmp_path / "missing.json")], env=env)
    assert r.exit_code == 2 and "missing.json" in r.output


def test_count_matches_store(engine, tmp_path):
    f = tmp_path / "r.xml"
    f.write_text(OWN_XML)
    counts = import_open311(engine, city(["graffiti_removal"]), str(f))
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Comment)) == counts["comments"] == 1


def test_only_imports_set_a_status_and_closed_needs_a_reason(engine):
    from data_sources.comments.records import CommentInput, CommentRejected, submit_comment

    c = city(["other"])
    base = dict(lat=1.0, lon=1.0, category="other", text="A long enough comment")
    with pytest.raises(CommentRejected):
        submit_comment(engine, c, CommentInput(**base, status="closed"))
    with pytest.raises(CommentRejected):
        submit_comment(engine, c, CommentInput(**base, status="done"))
    with pytest.raises(CommentRejected):
        submit_comment(engine, c, CommentInput(**base, closed_reason="duplicate"))
    res = submit_comment(engine, c, CommentInput(**base))
    with engine.connect() as conn:
        assert conn.scalar(select(Comment.status).where(Comment.id == res.id)) == "new"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "service_request_id",
                    "status",
                    "service_code",
                    "service_name",
                    "description",
                    "requested_datetime",
                    "lat",
                    "long",
                ]
            ),
            _values,
        )
    )
)
def test_parse_takes_any_records_and_keeps_only_usable_ones(records):
    p = parse(json.dumps(records))
    assert parse(json.dumps([{"service_request_id": " ", "lat": 1, "long": 1}])).skipped == 1
    assert len(p.requests) + p.skipped == len(records)
    for r in p.requests:
        assert -90 <= r.lat <= 90 and -180 <= r.lon <= 180 and r.id
