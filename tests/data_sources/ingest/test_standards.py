import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_sources.ingest.standards import (
    EAQI_BANDS,
    EAQI_UPPER,
    US_AQI_TABLE,
    eaqi,
    eaqi_band,
    ppb_to_ugm3,
    us_aqi,
    us_aqi_category,
    who_guideline,
)

conc = st.floats(min_value=0, max_value=5000, allow_nan=False)


@given(metric=st.sampled_from(sorted(US_AQI_TABLE)), a=conc, b=conc)
def test_us_aqi_never_falls_as_concentration_rises(metric, a, b):
    lo, hi = sorted((a, b))
    assert 0 <= us_aqi(metric, lo) <= us_aqi(metric, hi) <= 500


@given(metric=st.sampled_from(sorted(EAQI_UPPER)), a=conc, b=conc)
def test_eaqi_band_never_improves_as_concentration_rises(metric, a, b):
    lo, hi = sorted((a, b))
    assert EAQI_BANDS.index(eaqi_band(metric, lo)) <= EAQI_BANDS.index(eaqi_band(metric, hi))


# The 2024 PM2.5 breakpoints, µg/m³ (24 h): each row's top and the next row's bottom.
PM25_EDGES = [
    (0.0, 0),
    (9.0, 50),
    (9.1, 51),
    (35.4, 100),
    (35.5, 101),
    (55.4, 150),
    (55.5, 151),
    (125.4, 200),
    (125.5, 201),
    (225.4, 300),
    (225.5, 301),
    (325.4, 500),
    (900, 500),
]


@pytest.mark.parametrize(("c", "aqi"), PM25_EDGES)
def test_us_aqi_pm25_2024_breakpoints(c, aqi):
    assert us_aqi("pm25", c) == aqi


def test_us_aqi_truncates_before_looking_up():
    assert us_aqi("pm25", 9.05) == 50  # truncated to 9.0: still "good"
    assert us_aqi("pm10", 54.9) == 50 and us_aqi("pm10", 55) == 51


@pytest.mark.parametrize(("metric", "row"), [(m, row) for m, (_, _, rows) in US_AQI_TABLE.items() for row in rows])
def test_us_aqi_every_row_edge_from_the_table(metric, row):
    c_lo, c_hi, i_lo, i_hi = row
    # the table's units are ppb/ppm for gases; us_aqi takes µg/m³
    to_ugm3 = {
        "no2": lambda v: ppb_to_ugm3("no2", v),
        "so2": lambda v: ppb_to_ugm3("so2", v),
        "o3": lambda v: ppb_to_ugm3("o3", v * 1000),
        "co": lambda v: ppb_to_ugm3("co", v * 1000),
    }.get(metric, lambda v: v)
    assert us_aqi(metric, to_ugm3(c_lo)) == i_lo
    assert us_aqi(metric, to_ugm3(c_hi)) == i_hi


def test_us_aqi_categories():
    assert us_aqi_category(us_aqi("pm25", 9.0)) == "good"
    assert us_aqi_category(us_aqi("pm25", 40)) == "unhealthy_for_sensitive_groups"
    assert us_aqi_category(us_aqi("pm25", 300)) == "hazardous"
    assert us_aqi("pm25", float("nan")) is None and us_aqi("noise", 3) is None


@pytest.mark.parametrize(
    ("metric", "value", "band"),
    [
        ("pm25", 5, "good"),
        ("pm25", 5.1, "fair"),
        ("pm25", 15, "fair"),
        ("pm25", 15.1, "moderate"),
        ("pm25", 141, "extremely_poor"),
        ("pm10", 45, "fair"),
        ("pm10", 46, "moderate"),
        ("no2", 10, "good"),
        ("no2", 151, "extremely_poor"),
        ("o3", 100, "fair"),
        ("o3", 100.5, "moderate"),
        ("so2", 275, "very_poor"),
        ("so2", 276, "extremely_poor"),
    ],
)
def test_eaqi_band_edges(metric, value, band):
    assert eaqi_band(metric, value) == band


def test_eaqi_of_a_station_is_its_worst_pollutant():
    assert eaqi({"pm25": 4, "no2": 70, "temperature": 30}) == "poor"
    assert eaqi({"temperature": 30}) is None


def test_who_2021_guidelines():
    assert who_guideline("pm25", "24h") == 15 and who_guideline("pm25", "annual") == 5
    assert who_guideline("pm10", "24h") == 45 and who_guideline("pm10", "annual") == 15
    assert who_guideline("no2", "24h") == 25 and who_guideline("no2", "annual") == 10
    assert who_guideline("o3", "8h") == 100
    assert who_guideline("o3", "annual") is None


def test_ppm_to_microgram_conversion_at_25c():
    assert ppb_to_ugm3("no2", 1) == pytest.approx(1.88, abs=0.01)
    assert ppb_to_ugm3("o3", 1) == pytest.approx(1.96, abs=0.01)
