"""KPI computations against hand-computed values."""

from datetime import datetime

import pandas as pd
import pytest
from shapely.geometry import LineString

from dashboard.ui.kpis import (
    air_now,
    bikes_now,
    counts_today,
    km_by_type,
    local_midnight,
    median_band,
    network_km,
    participation,
    station_eaqi,
    traffic_now,
    usual_band,
)

T = pd.Timestamp("2026-01-05 09:00")  # a Monday


def frame(rows):
    return pd.DataFrame(rows, columns=["feature_id", "time", "value"])


def test_air_now_median_of_latest_and_share_above_who():
    rows = []
    # station 1: 24 h mean 10, latest 12; station 2: mean 20, latest 30; station 3: mean 16, latest 6
    for fid, mean, latest in ((1, 10, 12), (2, 20, 30), (3, 16, 6)):
        for h in range(23):
            rows.append((fid, T - pd.Timedelta(hours=23 - h), (mean * 24 - latest) / 23))
        rows.append((fid, T, latest))
    k = air_now(frame(rows), T.to_pydatetime())
    assert k.value == 12
    assert k.detail["share_above_who"] == pytest.approx(2 / 3)
    # EAQI (2024) PM2.5 24-hour bands: 10 -> fair (5-15], 20 -> moderate (15-50], 16 -> moderate; the middle one
    assert k.band == "moderate"


def test_air_now_with_only_old_readings_is_empty():
    df = frame([(1, T - pd.Timedelta(hours=10), 50.0)])
    assert air_now(df, T.to_pydatetime()).value is None


def test_station_eaqi_is_the_worst_pollutant():
    pm25 = frame([(1, T - pd.Timedelta(hours=1), 4.0), (1, T, 6.0), (2, T, 3.0)])  # means 5 (good), 3 (good)
    no2 = frame([(1, T - pd.Timedelta(hours=1), 200.0), (1, T, 20.0), (2, T, 70.0)])  # latest 20 fair, 70 poor
    bands = station_eaqi({"pm25": pm25, "no2": no2}, T.to_pydatetime())
    assert bands.to_dict() == {1: "fair", 2: "poor"}


def test_median_band_takes_the_lower_middle():
    assert median_band(pd.Series(["good", "poor", "fair", "very_poor"])) == "fair"
    assert median_band(pd.Series(["good", "poor", "fair"])) == "fair"
    assert median_band(pd.Series([], dtype=object)) == "none"


def test_traffic_against_usual_for_this_hour_and_weekday():
    rows = [(1, T, 120), (2, T, 60)]
    for w, (a, b) in enumerate([(100, 50), (80, 40), (110, 70), (90, 60)], start=1):
        rows += [(1, T - pd.Timedelta(weeks=w), a), (2, T - pd.Timedelta(weeks=w), b)]
    k = traffic_now(frame(rows), T)
    # usual = median(100,80,110,90)=95 + median(50,40,70,60)=55 -> 150; now 180 -> +20 %
    assert k.value == 180 and k.detail["usual"] == 150 and k.detail["ratio"] == pytest.approx(1.2)
    assert k.band == "busier"


@pytest.mark.parametrize(
    "ratio,band", [(1.11, "busier"), (1.1, "usual"), (0.9, "usual"), (0.89, "quieter"), (None, "none")]
)
def test_usual_band_words(ratio, band):
    assert usual_band(ratio) == band


def test_counts_today_against_the_same_weekday():
    now = datetime(2026, 1, 5, 10, 0)  # 11:00 in Berlin (UTC+1): the local day started at 23:00 UTC the day before
    start = local_midnight(now, "Europe/Berlin")
    assert start == datetime(2026, 1, 4, 23, 0)
    rows = [
        (1, start, 10),
        (1, now, 30),
        (2, now, 20),  # today: 60
        (1, start - pd.Timedelta(hours=1), 999),
    ]  # yesterday evening: not today
    for w, v in enumerate([40, 50, 70, 90], start=1):  # same stretch on the previous Mondays, counter 1 only
        rows.append((1, now - pd.Timedelta(weeks=w), v))
    rows.append((3, now - pd.Timedelta(weeks=1), 500))  # a counter that did not report today is not compared
    k = counts_today(frame(rows), now, "Europe/Berlin")
    assert k.value == 60
    assert k.detail["usual"] == 60  # median(40, 50, 70, 90)
    assert k.band == "usual"


def test_bikes_now_sums_latest_per_station():
    bikes = frame([(1, T - pd.Timedelta(hours=1), 3), (1, T, 5), (2, T, 7), (3, T - pd.Timedelta(hours=5), 100)])
    docks = frame([(1, T, 10), (2, T, 1)])
    got = bikes_now(bikes, docks, T.to_pydatetime())
    assert (got["bikes"], got["docks"], got["stations"]) == (12, 11, 2)


def test_participation_this_month():
    now = datetime(2026, 3, 15, 12, 0)
    c = pd.DataFrame(
        {
            "created_at": pd.to_datetime(
                ["2026-03-01 00:30", "2026-03-02 10:00", "2026-03-10 08:00", "2026-03-14 00:00", "2026-02-28 22:00"]
            ),
            # answered after 2 h, 10 h, not yet, after 30 h (but in the future: not answered yet), and last month's
            "first_response_at": pd.to_datetime(
                ["2026-03-01 02:30", "2026-03-02 20:00", None, "2026-03-15 13:00", "2026-03-01 00:00"]
            ),
        }
    )
    k = participation(c, now, "UTC")
    assert k.value == 4
    assert k.detail["answered_share"] == 0.5
    assert k.detail["median_hours_to_answer"] == 6  # median(2, 10)
    assert k.updated == datetime(2026, 3, 14, 0, 0)  # the newest comment or answer up to now


def test_participation_month_starts_in_city_time():
    # 2026-02-28 23:30 UTC is already 1 March in Berlin
    c = pd.DataFrame({"created_at": pd.to_datetime(["2026-02-28 23:30"]), "first_response_at": pd.to_datetime([None])})
    assert participation(c, datetime(2026, 3, 2), "Europe/Berlin").value == 1
    assert participation(c, datetime(2026, 3, 2), "UTC").value == 0


def test_network_km_of_a_known_line():
    # one degree of latitude is ~111.2 km
    assert network_km([LineString([(0, 0), (0, 1)])]) == pytest.approx(110.6, abs=0.7)


def test_km_by_type_groups_and_sorts():
    g = [
        LineString([(0, 0), (0, 0.01)]).__geo_interface__,
        LineString([(0, 0), (0, 0.02)]).__geo_interface__,
        LineString([(1, 0), (1, 0.01)]).__geo_interface__,
    ]
    import json

    routes = pd.DataFrame(
        {"geometry": [json.dumps(x) for x in g], "properties": [{"cycle_type": "lane"}, {"cycle_type": "track"}, {}]}
    )
    got = km_by_type(routes)
    assert list(got) == ["track", "lane", "other"]
    assert got["track"] == pytest.approx(2 * got["lane"], rel=0.01)
