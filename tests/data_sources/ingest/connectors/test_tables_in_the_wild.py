"""Tables as they come (issue 21, item 4): each real file of ../shared/realdata PROVENANCE sections 9-11 loads
through documented options (docs/connectors.md "Tables as they come"), or fails with a one-line reason.

Counter and station locations are not in these files; the tables below give approximate positions (a per-source
``locations``/``wide`` table is how a city supplies them)."""

from __future__ import annotations

import json
import tomllib

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from data_sources.ingest.types import SourceError
from data_sources.ingest.connectors import get_connector
from data_sources.config import CityConfig
from data_sources.ingest.connectors import _tables as tables
from data_sources.refresh import import_file, parse_checked
from tests.support import realdata

CSV = get_connector("csv")

FREMONT = {
    "time_field": "Date",
    "date_format": "%m/%d/%Y %I:%M:%S %p",
    "timezone": "America/Los_Angeles",
    "layer": "cycle_counter",
    "wide": {
        "metric": "cyclists",
        "columns": {
            "Fremont Bridge East Sidewalk": {
                "id": "fremont-east",
                "name": "Fremont Bridge, east sidewalk",
                "location": [47.6477, -122.3497],
            },
            "Fremont Bridge West Sidewalk": {
                "id": "fremont-west",
                "name": "Fremont Bridge, west sidewalk",
                "location": [47.6478, -122.3502],
            },
        },
    },
}
MONTREAL = {
    "encoding": "latin-1",
    "delimiter": ";",
    "time_field": "Date",
    "date_format": "%d/%m/%Y",
    "timezone": "America/Montreal",
    "layer": "cycle_counter",
    "wide": {
        "metric": "cyclists",
        "unit": "cyclists/day",
        "columns": {
            "Berri 1": {"id": "berri-1", "location": [45.5160, -73.5630]},
            "Brébeuf (données non disponibles)": {"id": "brebeuf", "location": [45.5275, -73.5785]},
            "Rachel1": {"id": "rachel-1", "location": [45.5240, -73.5810]},
        },
    },
}
VIENNA_BIKES = {
    "delimiter": ";",
    "time_field": "Datum",
    "date_format": "%Y%m%d",
    "timezone": "Europe/Vienna",
    "layer": "cycle_counter",
    "wide": {
        "metric": "cyclists",
        "unit": "cyclists/day",
        "columns": {
            "Neubaugürtel": {"id": "neubauguertel", "location": [48.2010, 16.3390]},  # the header has "Neubaugürtel "
            "Opernring": {"id": "opernring", "location": [48.2020, 16.3660]},
        },
    },
}
VIENNA_AIR = {
    "encoding": "cp1252",
    "skip_rows": 1,
    "skip_after_header": 2,
    "decimal": ",",
    "missing": ["NE", "---"],
    "id_field": "Unnamed: 0",
    "layer": "air_station",
    "date_format": "%d.%m.%Y, %H:%M",
    "timezone": "Europe/Vienna",
    "locations": {
        "STEF": [48.2087, 16.3735],
        "TAB": [48.2165, 16.3806],
        "AKA": [48.2185, 16.3497],
        "BELG": [48.1745, 16.3669],
    },
    "times": {"no2": "Zeit-NO2", "pm10": "Zeit-PM10", "o3": "Zeit-O3", "so2": "Zeit-SO2", "co": "Zeit-CO"},
    "values": {"no2": "NO2", "pm10": "PM10.1", "o3": "O3.1", "so2": "SO2", "co": "CO.1"},
    "scale": {"co": 1000},
}
VIENNA_TRAFFIC = {
    "delimiter": ";",
    "time_field": ["JAHR", "MONAT"],
    "date_format": "%Y %b",
    "date_locale": "de",
    "timezone": "Europe/Vienna",
    "id_field": ["ZNR", "RINAME"],
    "name_field": "ZNAME",
    "keep_rows": {"FZTYP": "Kfz"},
    "locations_field": "ZNR",
    "locations": {"1075": [48.2266, 16.4076], "1182": [48.1700, 16.4400]},
    "values": {"aadf": "DTVMS"},
    "sentinels": [-29],
    "layer": "traffic_counter",
}


def _load(path, params):
    return parse_checked(CSV, CSV.read_file(str(path), params), params)


def test_fremont_bridge_newest_first_us_times_and_the_missing_dst_hour():
    r = _load(realdata("bike_counters", "seattle_fremont_bridge_hourly_2019_newest_first_excerpt.csv"), FREMONT)
    assert sorted(r.features.external_id) == ["fremont-east", "fremont-west"]
    # 1,999 rows x 2 counters, less the row at 02:00 on 10 March 2019, a local time that does not exist
    assert r.skipped_by_reason == {"dst_gap": 1} and len(r.observations) == 2 * 1998
    east = r.observations[r.observations.external_id == "fremont-east"].set_index("time").value
    # "03/31/2019 11:00:00 PM" Pacific daylight time is 06:00 UTC on 1 April
    assert east.index.max() == pd.Timestamp("2019-04-01T06:00Z")
    assert east.index.min() == pd.Timestamp("2019-01-08T01:00Z")  # 01/07/2019 05:00:00 PM PST


def test_fremont_bridge_oldest_first_with_the_columns_reversed_maps_each_column_to_its_counter():
    newest = _load(realdata("bike_counters", "seattle_fremont_bridge_hourly_2019_newest_first_excerpt.csv"), FREMONT)
    oldest = _load(realdata("bike_counters", "seattle_fremont_bridge_hourly_2012_oldest_first_excerpt.csv"), FREMONT)
    assert oldest.skipped == 0 and len(oldest.observations) == 2 * 1999
    assert oldest.observations.time.min() == pd.Timestamp("2012-10-03T07:00Z")  # midnight PDT
    # the fall-back hour appears once and is read as summer time; the naive hour after it as winter time
    times = oldest.observations[oldest.observations.external_id == "fremont-west"].time
    assert times.is_unique and times.diff().dropna().eq(pd.Timedelta("1h")).sum() == len(times) - 2
    assert set(newest.features.name) == set(oldest.features.name)


def test_montreal_latin1_semicolons_day_first_and_ragged_rows():
    r = _load(realdata("bike_counters", "montreal_velo_comptage_2012_daily.csv"), MONTREAL)
    berri = r.observations[r.observations.external_id == "berri-1"].set_index("time").value
    assert len(berri) == 310 and berri[pd.Timestamp("2012-01-13T05:00Z")] > 0  # 13/01/2012, midnight EST
    assert berri.index.max() == pd.Timestamp("2012-11-05T05:00Z")
    assert r.skipped_by_reason == {"value": 310}  # the Brébeuf column is empty on every day
    assert "brebeuf" in set(r.features.external_id)


def test_montreal_without_the_encoding_option_fails_in_one_line_naming_it():
    params = {k: v for k, v in MONTREAL.items() if k != "encoding"}
    with pytest.raises(SourceError, match=r"not utf-8-sig .*set params.encoding") as e:
        _load(realdata("bike_counters", "montreal_velo_comptage_2012_daily.csv"), params)
    assert "\n" not in str(e.value)


def test_vienna_counters_compact_dates_and_header_names_with_trailing_spaces():
    r = _load(realdata("bike_counters", "wien_radverkehrszaehlungen_2025-01_daily_excerpt.csv"), VIENNA_BIKES)
    neubau = r.observations[r.observations.external_id == "neubauguertel"].set_index("time").value
    assert len(neubau) == 31 and neubau[pd.Timestamp("2024-12-31T23:00Z")] == 279  # 20250101, midnight CET
    assert r.skipped == 0


def test_vienna_air_network_decimal_commas_header_lines_markers_and_local_summer_time():
    r = _load(realdata("semicolon_decimal_comma", "wien_lumesakt_v2_2026-09-18T2130_MESZ.csv"), VIENNA_AIR)
    obs = r.observations.set_index(["external_id", "metric"])
    assert obs.loc[("STEF", "no2"), "value"] == pytest.approx(9.09)  # "9,09"
    assert obs.loc[("STEF", "no2"), "time"] == pd.Timestamp("2026-09-18T19:30Z")  # 21:30 MESZ
    assert set(r.features.external_id) == {"STEF", "TAB", "AKA", "BELG"}
    # 15 stations have no location in the table; the NE/--- cells of the others are counted, not read as 0
    assert r.skipped_by_reason["location"] == 15 and r.skipped_by_reason["missing_value"] > 0
    assert (r.observations.value != 0).all()


def test_vienna_air_network_without_the_header_options_fails_in_one_line():
    params = {k: v for k, v in VIENNA_AIR.items() if k not in ("skip_rows", "skip_after_header")}
    with pytest.raises(SourceError) as e:
        _load(realdata("semicolon_decimal_comma", "wien_lumesakt_v2_2026-09-18T2130_MESZ.csv"), params)
    assert "\n" not in str(e.value) and "is not a field" in str(e.value)


def test_vienna_traffic_counters_month_names_and_the_minus_29_sentinel():
    r = _load(realdata("dayfirst_dates", "wien_kfz_dauerzaehlstellen_2025-12_monthly_excerpt.csv"), VIENNA_TRAFFIC)
    obs = r.observations.set_index("external_id")
    assert obs.loc["1075/Gesamt", "value"] == 60244  # DTVMS, average daily traffic over all days
    assert set(obs.time) == {pd.Timestamp("2025-11-30T23:00Z")}  # "2025 DEZ." = 1 Dec 2025, midnight CET
    assert r.skipped_by_reason["missing_value"] == 3  # station 1182: -29 in both directions and in total
    assert "1182/Gesamt" not in obs.index
    feature = r.features.set_index("external_id").loc["1075/Leopoldstadt"]
    assert feature["properties"]["RINAME"] == "Leopoldstadt" and feature["properties"]["TVMAXT"] == "Do,11.12."


def test_a_date_format_that_reads_nothing_names_the_first_value_and_the_option():
    params = {**VIENNA_BIKES, "date_format": "%d/%m/%Y"}
    with pytest.raises(
        SourceError, match=r"params.date_format '%d/%m/%Y' does not read '20250101' \(nor any of the 31 times\)"
    ):
        _load(realdata("bike_counters", "wien_radverkehrszaehlungen_2025-01_daily_excerpt.csv"), params)


def test_an_import_that_loads_nothing_exits_non_zero_with_the_reasons(tmp_path, monkeypatch):
    from dashboard.cli import cli

    path = realdata("bike_counters", "wien_radverkehrszaehlungen_2025-01_daily_excerpt.csv")
    toml = tmp_path / "vienna.toml"
    toml.write_text(
        '[city]\nname = "Wien"\nslug = "wien"\ncentre = [48.2, 16.37]\n\n'
        '[[sources]]\nname = "counters"\nkind = "csv"\nlayer = "cycle_counter"\n'
        '[sources.params]\ndelimiter = ";"\ntime_field = "Datum"\ndate_format = "%Y%m%d"\ntimezone = "Europe/Vienna"\n'
        '[sources.params.wide]\nmetric = "cyclists"\n'
        '[sources.params.wide.columns]\n"Opernring" = { id = "opernring" }\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CITYDASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CITYDASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    out = CliRunner().invoke(cli, ["--city", str(toml), "import", "csv", str(path), "--source", "counters"])
    assert out.exit_code != 0
    assert "nothing loaded: read 31 rows, skipped 31 (location 31)" in out.output


def test_skipped_rows_are_counted_by_reason_in_the_import_summary(engine, tmp_path):
    csv = tmp_path / "counts.csv"
    csv.write_text(
        "id;lat;lon;t;n\na;48,2;16,3;01.02.2024 08:00;5\na;48,2;16,3;kein Datum;6\nb;;;01.02.2024 08:00;7\n"
        "a;48,2;16,3;01.02.2024 09:00;NE\n",
        encoding="latin-1",
    )
    city = CityConfig.model_validate(
        tomllib.loads(
            '[city]\nname = "T"\nslug = "t"\ncentre = [48.2, 16.3]\n[[sources]]\nname = "counts"\nkind = "csv"\n'
            '[sources.params]\nencoding = "latin-1"\ndecimal = ","\nmissing = ["NE"]\nid_field = "id"\nlat_field = "lat"\n'
            'lon_field = "lon"\ntime_field = "t"\ndate_format = "%d.%m.%Y %H:%M"\ntimezone = "Europe/Vienna"\nvalues = { cyclists = "n" }\n'
        )
    )
    out = import_file(engine, "csv", str(csv), source=city.source("counts"))
    assert out["observations"] == 1
    assert out["skipped_by_reason"] == {"time": 1, "location": 1, "missing_value": 1}
    assert json.dumps(out)  # the CLI prints it as one JSON line


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.text(max_size=12), st.sampled_from(["NE", "---", "-29", "1,5", "12"])), min_size=1, max_size=20
    )
)
def test_numbers_never_raise_and_give_a_reason_for_every_value_left_out(cells):
    values, reasons = tables.numbers(
        pd.Series(cells, dtype=object), {"decimal": ",", "missing": ["NE", "---"], "sentinels": [-29]}
    )
    assert len(values) == len(cells)
    assert ((reasons == "") == values.notna()).all()
    assert all(r in ("", "value", "missing_value") for r in reasons)


DOCS = {  # the blocks of docs/connectors.md "Tables as they come" -> the real file each was written for
    "fremont-bridge": ("bike_counters", "seattle_fremont_bridge_hourly_2019_newest_first_excerpt.csv"),
    "velo-comptage": ("bike_counters", "montreal_velo_comptage_2012_daily.csv"),
    "wien-luft": ("semicolon_decimal_comma", "wien_lumesakt_v2_2026-09-18T2130_MESZ.csv"),
    "wien-kfz": ("dayfirst_dates", "wien_kfz_dauerzaehlstellen_2025-12_monthly_excerpt.csv"),
}


def test_the_documented_blocks_load_the_real_files():
    from pathlib import Path

    from data_sources.refresh import connector_params

    text = (Path(__file__).resolve().parents[4] / "docs" / "connectors.md").read_text(encoding="utf-8")
    block = text.split("## Tables as they come", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    city = CityConfig.model_validate({"city": {"name": "D", "slug": "d", "centre": [0, 0]}, **tomllib.loads(block)})
    assert {s.name for s in city.sources} == set(DOCS)
    for source in city.sources:
        params = {k: v for k, v in connector_params(source).items() if k not in ("file", "url")}
        if source.name == "wien-kfz":
            params["encoding"] = "utf-8"  # the excerpt was saved as UTF-8; the portal's file is cp1252
        r = _load(realdata(*DOCS[source.name]), params)
        assert len(r.features) and len(r.observations), source.name


@pytest.mark.parametrize("kind", ["socrata", "ckan", "opendatasoft"])
def test_json_portals_take_the_same_value_and_date_options(kind):
    records = [
        {"id": "a", "lat": "48,2", "lon": "16,3", "t": "13/01/2024 08:00", "n": "12,5"},
        {"id": "a", "lat": "48,2", "lon": "16,3", "t": "14/01/2024 08:00", "n": "NE"},
        {"id": "a", "lat": "48,2", "lon": "16,3", "t": "Mo 15.01.", "n": "3"},
    ]
    payload = {"socrata": records, "ckan": {"result": {"records": records}}, "opendatasoft": {"results": records}}[kind]
    params = {
        "id_field": "id",
        "lat_field": "lat",
        "lon_field": "lon",
        "time_field": "t",
        "dayfirst": True,
        "decimal": ",",
        "missing": ["NE"],
        "timezone": "Europe/Vienna",
        "values": {"cyclists": "n"},
    }
    r = get_connector(kind).parse(payload, params)
    assert r.observations.to_dict("records") == [
        {
            "external_id": "a",
            "time": pd.Timestamp("2024-01-13T07:00Z"),
            "metric": "cyclists",
            "value": 12.5,
            "unit": "cyclists/h",
        }
    ]
    assert r.skipped_by_reason == {"missing_value": 1, "time": 1}
    assert (r.features.geometry.y.round(3) == 48.2).all()
