import pandas as pd
import pytest

from data_sources.ingest.types import SourceError
from data_sources.ingest.connectors import get_connector

dft = get_connector("dft_aadf")


def test_real_legacy_devon_export(realdata):
    r = dft.parse(dft.read_file(str(realdata("traffic/uk_dft_aadf_majorroads_devon_2000-2015.csv")), {}), {})
    assert len(r.features) == 240
    assert r.observations.metric.value_counts().to_dict() == {"aadf": 3682, "aadf_cycles": 3682}
    # first data row: 2000, count point 6023 on the M5, 53717 motor vehicles a day, no pedal cycles
    m5 = r.observations[
        (r.observations.external_id == "6023") & (r.observations.time == pd.Timestamp("2000-01-01T00:00Z"))
    ].set_index("metric")
    assert m5.loc["aadf", "value"] == 53717 and m5.loc["aadf", "unit"] == "vehicles/day"
    assert m5.loc["aadf_cycles", "value"] == 0
    # British National Grid 303700 E, 112172 N lies on the M5 near Exeter
    pt = r.features.set_index("external_id").geometry["6023"]
    assert pt.y == pytest.approx(50.90, abs=0.02) and pt.x == pytest.approx(-3.39, abs=0.03)
    assert r.meta.licence == "Open Government Licence v3.0"


def test_fixture_current_csv_names_count_points_by_their_road(fixture_path):
    r = dft.parse(dft.read_file(str(fixture_path("dft/aadf_glasgow_excerpt.csv")), {}), {})
    feats = r.features.set_index("external_id")
    assert feats.loc["10001", "name"] == "M8 J15 – J16"
    assert feats.loc["20002", "name"] == "Sauchiehall Street"
    assert feats.loc["10001"].properties["road_category"] == "TM"
    aadf = r.observations[r.observations.metric == "aadf"].set_index(["external_id", "time"]).value
    assert aadf[("10001", pd.Timestamp("2023-01-01T00:00Z"))] == 122630
    assert len(aadf) == 3


def test_fetch_follows_the_api_pages(fake_session, fixture_path):
    s = fake_session(
        [
            (r"page%5Bnumber%5D=1", {"file": fixture_path("dft/api_page1.json")}),
            (r"page%5Bnumber%5D=2", {"file": fixture_path("dft/api_page2.json")}),
        ]
    )
    r = dft.parse(dft.fetch(s, {"local_authority_id": 16}), {})
    assert len(s.transport.requests) == 2
    assert "filter%5Blocal_authority_id%5D=16" in s.transport.requests[0].url
    assert sorted(r.features.external_id) == ["10001", "20002"]
    cycles = r.observations[r.observations.metric == "aadf_cycles"].set_index("external_id").value
    assert cycles["20002"] == 812


def test_a_table_without_flows_is_a_schema_change():
    with pytest.raises(SourceError, match="all_motor_vehicles"):
        dft.parse("count_point_id,year,latitude,longitude,total\n1,2023,55.8,-4.2,100\n", {})
