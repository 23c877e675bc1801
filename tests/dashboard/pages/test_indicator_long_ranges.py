"""An indicator page over a long range reads the rollups (data_sources/store/rollups.py), not every reading, and
tells the citizen what its points are ("Monthly means: ..."); a short range still reads single readings."""

from datetime import timedelta

import pandas as pd
from sqlalchemy import delete, select

from dashboard.i18n import fmt_number
from data_sources.store.models import Feature, Observation
from tests.dashboard.pages.test_home import _find, _text
from tests.support import DEMO_END, render_page


def _summary(client, start, end):
    page = render_page(client, "/air", f"?metric=pm25&from={start.isoformat()}&to={end.isoformat()}")
    return _text(_find(page, lambda c: c["props"].get("id") == "air-summary")[0])


def _raw(engine):
    with engine.connect() as c:
        rows = c.execute(
            select(Observation.feature_id, Observation.time, Observation.value)
            .join(Feature, Feature.id == Observation.feature_id)
            .where(Observation.metric == "pm25", Feature.outside.is_(False))
        ).all()
    return pd.DataFrame(rows, columns=["feature_id", "time", "value"])


def test_a_long_range_reads_the_rollups_and_says_they_are_monthly_means(client, demo_engine):
    end = DEMO_END.date()
    start = end - timedelta(days=3 * 365)
    raw = _raw(demo_engine)
    month = raw["time"].dt.to_period("M")
    station_months = raw.groupby(["feature_id", month])["value"].mean()
    city = station_months.groupby(level=1).median()  # the city line: median across stations, per month
    expected = fmt_number(city.mean(), "en", 1)
    # The readings are gone (as if an old partition had been dropped); the rollups stay.
    with demo_engine.begin() as c:
        c.execute(delete(Observation).where(Observation.metric == "pm25"))
    long = _summary(client, start, end)
    assert f"averaged {expected} µg/m³" in long
    assert "Monthly means: each point is the mean of a month's readings" in long
    # a week is drawn from single readings: there are none left
    short = _summary(client, end - timedelta(days=6), end)
    assert short.startswith("No readings for this choice") and "means" not in short


def test_a_few_months_are_daily_means_and_a_week_says_nothing_about_means(client):
    end = DEMO_END.date()
    assert "Daily means: each point is the mean of a day's readings" in _summary(client, end - timedelta(days=90), end)
    week = _summary(client, end - timedelta(days=6), end)
    assert "averaged" in week and "means" not in week


def test_a_long_range_download_gives_each_station_the_mean_of_all_its_readings(client, demo_engine):
    """The per-station download over three years comes from monthly rollups, each weighed by its readings: the
    same mean, maximum and count as every raw reading gives."""
    raw = _raw(demo_engine)
    want = raw.groupby("feature_id")["value"].agg(["mean", "max", "count"])
    end = DEMO_END.date()
    q = f"?metric=pm25&from={(end - timedelta(days=3 * 365)).isoformat()}&to={end.isoformat()}"
    fc = client.get("/download/air.geojson" + q).get_json()
    got = {f["properties"]["id"]: f["properties"] for f in fc["features"]}
    assert got.keys() == set(want.index)
    for fid, w in want.iterrows():
        assert abs(got[fid]["mean"] - w["mean"]) <= 0.005 + 1e-9 and got[fid]["readings"] == w["count"]
        assert got[fid]["max"] == w["max"]


def test_ranges_far_in_the_future_or_past_answer_without_readings(client):
    """Any date the page accepts (1970-2999) reads the rollups without overflowing pandas' time range."""
    from datetime import date

    assert _summary(client, date(2990, 1, 1), date(2999, 12, 31)).startswith("No readings")
    assert _summary(client, date(1970, 1, 1), date(1975, 1, 1)).startswith("No readings")
    r = client.get(
        "/api/v1/observations", query_string={"start": "2500-01-01T00:00:00Z", "end": "2999-12-31T00:00:00Z"}
    )
    assert r.status_code == 200 and r.get_json()["resolution"] == "month" and r.get_json()["observations"] == []


def test_the_chart_of_a_long_range_says_monthly_means_and_draws_one_point_a_month(client):
    from tests.dashboard.pages.test_indicator_pages import _filters
    from tests.support import dash_update

    end = DEMO_END.date()
    r = dash_update(
        client,
        "air-charts.children",
        [
            {"id": "air-charts-ready", "property": "data", "value": 1},
            *_filters("air", "pm25", None, (end - timedelta(days=2 * 365)).isoformat(), end.isoformat()),
        ],
        state=[{"id": "air-lang", "property": "data", "value": "es"}],
    )
    charts = r.get_json()["response"]["air-charts"]["children"]
    note = _find(charts, lambda c: c["props"].get("id") == "air-resolution")
    assert _text(note[0]).startswith("Medias mensuales")
    ts = _find(charts, lambda c: c["type"] == "Graph")[0]["props"]["figure"]
    times = [t for tr in ts["data"] if tr.get("x") for t in tr["x"]]
    assert times and all(str(t)[8:10] == "01" for t in times)  # each point dated by its month's first day
