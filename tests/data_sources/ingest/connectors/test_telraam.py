import json

import pandas as pd
import pytest

from data_sources.ingest.types import SourceError
from data_sources.ingest.connectors import get_connector

telraam = get_connector("telraam")


def test_fixture_hourly_counts_per_segment(fixture_path):
    r = telraam.parse(json.loads(fixture_path("telraam/bundle.json").read_text()), {})
    assert list(r.features.external_id) == ["9000004411"] and r.features.iloc[0].layer == "traffic_segment"
    assert r.features.iloc[0].geometry.geom_type == "MultiLineString"
    obs = r.observations.set_index(["metric", "time"]).value
    assert obs[("vehicles", pd.Timestamp("2024-01-15T07:00Z"))] == pytest.approx(243.6)  # car 230.8 + heavy 12.8
    assert obs[("cyclists", pd.Timestamp("2024-01-15T08:00Z"))] == pytest.approx(188.6)
    assert pd.Timestamp("2024-01-15T17:00Z") not in set(r.observations.time)  # uptime 0.12
    assert r.skipped == 1 and len(r.observations) == 6


def test_fetch_posts_hourly_report_requests_in_90_day_windows(fake_session, fixture_path, monkeypatch):
    monkeypatch.setenv("TELRAAM_API_KEY", "abc")
    bundle = json.loads(fixture_path("telraam/bundle.json").read_text())
    s = fake_session(
        [
            (r"/v1/segments/id/9000004411$", {"json": bundle["segments"]["9000004411"]}),
            (r"/v1/reports/traffic$", {"json": bundle["reports"]["9000004411"][0]}),
        ]
    )
    payload = telraam.fetch(s, {"segments": [9000004411]}, since=pd.Timestamp.now().floor("h") - pd.Timedelta(days=100))
    posts = [q for q in s.transport.requests if q.method == "POST"]
    assert len(posts) == 2  # 100 days = two windows
    body = json.loads(posts[0].body)
    assert body["level"] == "segments" and body["format"] == "per-hour" and body["id"] == "9000004411"
    assert all(q.headers["X-Api-Key"] == "abc" for q in s.transport.requests)
    assert len(payload["reports"]["9000004411"]) == 2


def test_fetch_without_a_key(monkeypatch):
    monkeypatch.delenv("TELRAAM_API_KEY", raising=False)
    with pytest.raises(SourceError, match="TELRAAM_API_KEY"):
        telraam.fetch(None, {"segments": [1]})


def test_report_without_counts_is_a_schema_change():
    with pytest.raises(SourceError, match="schema changed.*car"):
        telraam.parse(
            {"reports": {"1": [{"report": [{"date": "2024-01-15T07:00:00.000Z", "uptime": 1, "cars": 3}]}]}}, {}
        )
