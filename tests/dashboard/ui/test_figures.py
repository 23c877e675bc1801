"""The home map's comment marker stays apart from the air-quality bands, for every reader (issue 17: comments
were drawn in the orange of "Poor")."""

from __future__ import annotations

import pandas as pd
import pytest
from coloraide import Color

from dashboard.ui import figures
from data_sources.config import CityConfig

# The offline map's background: the "white-bg" style, under the districts' 4 % blue fill.
MAP_BACKGROUND = Color.mix(Color("white"), Color("rgb(0 114 178)"), 0.04, space="srgb")
VISIONS = (None, "protan", "deutan", "tritan")  # normal, and the three colour-vision deficiencies (Brettel/Viénot)


def _map(city: CityConfig) -> list:
    bands = [*figures.BAND_COLOURS]
    air = pd.DataFrame(
        {
            "id": range(len(bands)),
            "lat": 48.5,
            "lon": 9.0,
            "name": [f"Station {b}" for b in bands],
            "value": 10.0,
            "band": bands,
        }
    )
    comments = pd.DataFrame({"cell": [1, 2], "n": [3, 40], "lat": [48.5, 48.51], "lon": [9.0, 9.01]})
    fig = figures.city_map(city, {"air_station": air, "comments": comments}, {"features": []})
    return [t for t in fig.data if t.meta["layer"] == "comments"]


def _seen(colour: str, opacity: float = 1.0) -> Color:
    """A marker's colour as it shows over the map background."""
    return Color.mix(MAP_BACKGROUND, Color(colour), opacity, space="srgb")


def test_the_comment_marker_is_no_air_quality_band_colour(demo_city: CityConfig) -> None:
    disc = _map(demo_city)[0]
    assert disc.name == "Citizens' comments"
    assert disc.marker.color.lower() not in {c.lower() for c in figures.BAND_COLOURS.values()}


@pytest.mark.parametrize("vision", VISIONS)
def test_the_comment_marker_stays_apart_from_every_band_for_colour_blind_readers(
    demo_city: CityConfig, vision: str | None
) -> None:
    disc = _map(demo_city)[0]
    comment = _seen(disc.marker.color, disc.marker.opacity)
    for band, colour in figures.BAND_COLOURS.items():
        a, b = comment.clone(), _seen(colour)
        if vision:
            a, b = a.filter(vision), b.filter(vision)
        # ΔE2000 of 10 and more reads as a different colour at a glance; orange on "Poor" orange was 3.
        assert a.delta_e(b, method="2000") >= 10, (band, vision)


def test_the_comment_marker_has_enough_contrast_on_the_offline_map(demo_city: CityConfig) -> None:
    disc = _map(demo_city)[0]
    # WCAG 2.1 SC 1.4.11: 3:1 for graphical objects that carry meaning.
    assert _seen(disc.marker.color, disc.marker.opacity).contrast(MAP_BACKGROUND, method="wcag21") >= 3


def test_the_comment_marker_has_a_shape_cue_that_needs_no_colour(demo_city: CityConfig) -> None:
    disc, centre = _map(demo_city)
    assert centre.meta.get("centre") and centre.hoverinfo == "skip" and centre.showlegend is False
    assert list(centre.lon) == list(disc.lon) and list(centre.lat) == list(disc.lat)
    assert all(c < d / 2 for c, d in zip(centre.marker.size, disc.marker.size))  # a dot inside the disc
    assert _seen(centre.marker.color).contrast(_seen(disc.marker.color, disc.marker.opacity)) >= 3
