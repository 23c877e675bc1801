"""Air-quality standards in one place: WHO 2021 guidelines, the European Air Quality Index, the US EPA AQI.

Every function takes concentrations in the store's unit, **µg/m³** (data_sources.ingest.types.METRICS), and says which
averaging period the table assumes; converting gases to ppb/ppm for the EPA tables happens here, at 25 °C and
1 atm (molar volume 24.45 L/mol), the convention both the EPA and the EEA use.

Tables:

* WHO global air quality guidelines, 2021 (ISBN 978-92-4-003422-8), Table 0.1 "Recommended AQG levels":
  PM2.5 annual 5, 24-hour 15; PM10 annual 15, 24-hour 45; NO2 annual 10, 24-hour 25; O3 peak season 60,
  8-hour 100; SO2 24-hour 40 (µg/m³); CO 24-hour 4 mg/m³.
* European Air Quality Index (EEA), the revised banding published by the EEA in 2024 to follow the WHO 2021
  guidelines (the EEA's "European Air Quality Index" page, bands valid from the 2024 revision; the 2017 bands
  with PM2.5 "good" up to 10 µg/m³ are superseded). Six bands, Good to Extremely poor; NO2, O3 and SO2 on
  hourly concentrations, PM2.5 and PM10 on 24-hour running means, all µg/m³.
* US EPA Air Quality Index, Technical Assistance Document for the Reporting of Daily Air Quality (EPA-454/B-24-
  002, May 2024), Table 6, including the PM2.5 breakpoints of the February 2024 NAAQS revision
  (0-9.0 good, 9.1-35.4, 35.5-55.4, 55.5-125.4, 125.5-225.4, 225.5+) and the single 301-500 band for PM.
  Averaging: PM2.5 and PM10 24-hour; O3 8-hour (ppm); NO2 and SO2 1-hour (ppb); CO 8-hour (ppm).
"""

from __future__ import annotations

import bisect
import math

MOLAR_VOLUME = 24.45  # L/mol at 25 °C, 1 atm
MOLAR_MASS = {"no2": 46.0055, "o3": 47.9982, "so2": 64.066, "co": 28.010}  # g/mol


def ugm3_to_ppb(metric: str, ugm3: float) -> float:
    return ugm3 * MOLAR_VOLUME / MOLAR_MASS[metric]


def ppb_to_ugm3(metric: str, ppb: float) -> float:
    return ppb * MOLAR_MASS[metric] / MOLAR_VOLUME


# --- WHO 2021 -------------------------------------------------------------------------------------------

WHO_2021 = {  # (metric, averaging period) -> µg/m³
    ("pm25", "annual"): 5.0,
    ("pm25", "24h"): 15.0,
    ("pm10", "annual"): 15.0,
    ("pm10", "24h"): 45.0,
    ("no2", "annual"): 10.0,
    ("no2", "24h"): 25.0,
    ("o3", "peak_season"): 60.0,
    ("o3", "8h"): 100.0,
    ("so2", "24h"): 40.0,
    ("co", "24h"): 4000.0,
}


def who_guideline(metric: str, period: str) -> float | None:
    """The WHO 2021 guideline level in µg/m³ for ``metric`` averaged over ``period`` ("annual", "24h", "8h",
    "peak_season"), or None when the WHO sets none for that pair."""
    return WHO_2021.get((metric, period))


# --- European Air Quality Index (EEA, 2024 revision) -------------------------------------------------------

EAQI_BANDS = ("good", "fair", "moderate", "poor", "very_poor", "extremely_poor")
# Upper bound (inclusive) of each band but the last, µg/m³.
EAQI_UPPER = {
    "pm25": (5, 15, 50, 90, 140),  # 24-hour running mean
    "pm10": (15, 45, 120, 195, 270),  # 24-hour running mean
    "no2": (10, 25, 60, 100, 150),  # hourly
    "o3": (60, 100, 120, 160, 180),  # hourly
    "so2": (20, 40, 125, 190, 275),  # hourly
}
EAQI_PERIOD = {"pm25": "24h", "pm10": "24h", "no2": "1h", "o3": "1h", "so2": "1h"}


def eaqi_band(metric: str, value: float) -> str | None:
    """The EEA European Air Quality Index band ("good" ... "extremely_poor") of a concentration in µg/m³ over the
    period in ``EAQI_PERIOD``; None for a metric the index does not cover or a missing value."""
    if metric not in EAQI_UPPER or value is None or not math.isfinite(value):
        return None
    return EAQI_BANDS[bisect.bisect_left(EAQI_UPPER[metric], max(value, 0.0))]


def eaqi(values: dict[str, float]) -> str | None:
    """The overall index of a station: its worst pollutant's band."""
    bands = [b for m, v in values.items() if (b := eaqi_band(m, v)) is not None]
    return max(bands, key=EAQI_BANDS.index) if bands else None


# --- US EPA AQI (2024) ---------------------------------------------------------------------------------------

AQI_CATEGORIES = (
    (50, "good"),
    (100, "moderate"),
    (150, "unhealthy_for_sensitive_groups"),
    (200, "unhealthy"),
    (300, "very_unhealthy"),
    (500, "hazardous"),
)
# metric -> (EPA unit, decimals the EPA truncates to, [(C_lo, C_hi, I_lo, I_hi), ...])
US_AQI_TABLE = {
    "pm25": (
        "µg/m³ 24h",
        1,
        [
            (0.0, 9.0, 0, 50),
            (9.1, 35.4, 51, 100),
            (35.5, 55.4, 101, 150),
            (55.5, 125.4, 151, 200),
            (125.5, 225.4, 201, 300),
            (225.5, 325.4, 301, 500),
        ],
    ),
    "pm10": (
        "µg/m³ 24h",
        0,
        [
            (0, 54, 0, 50),
            (55, 154, 51, 100),
            (155, 254, 101, 150),
            (255, 354, 151, 200),
            (355, 424, 201, 300),
            (425, 604, 301, 500),
        ],
    ),
    "o3": (
        "ppm 8h",
        3,
        [
            (0.000, 0.054, 0, 50),
            (0.055, 0.070, 51, 100),
            (0.071, 0.085, 101, 150),
            (0.086, 0.105, 151, 200),
            (0.106, 0.200, 201, 300),
        ],
    ),
    "no2": (
        "ppb 1h",
        0,
        [
            (0, 53, 0, 50),
            (54, 100, 51, 100),
            (101, 360, 101, 150),
            (361, 649, 151, 200),
            (650, 1249, 201, 300),
            (1250, 2049, 301, 500),
        ],
    ),
    "so2": (
        "ppb 1h",
        0,
        [
            (0, 35, 0, 50),
            (36, 75, 51, 100),
            (76, 185, 101, 150),
            (186, 304, 151, 200),
            (305, 604, 201, 300),
            (605, 1004, 301, 500),
        ],
    ),
    "co": (
        "ppm 8h",
        1,
        [
            (0.0, 4.4, 0, 50),
            (4.5, 9.4, 51, 100),
            (9.5, 12.4, 101, 150),
            (12.5, 15.4, 151, 200),
            (15.5, 30.4, 201, 300),
            (30.5, 50.4, 301, 500),
        ],
    ),
}


def _half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _epa_units(metric: str, ugm3: float) -> float:
    if metric in ("no2", "so2"):
        return ugm3_to_ppb(metric, ugm3)
    if metric in ("o3", "co"):
        return ugm3_to_ppb(metric, ugm3) / 1000.0  # ppm
    return ugm3


def us_aqi(metric: str, conc: float) -> int | None:
    """US EPA AQI (0-500) of a concentration in µg/m³ averaged over the period in ``US_AQI_TABLE``.

    As the EPA prescribes: convert to the table's unit, truncate to its decimals, interpolate linearly inside the
    breakpoint row, round to the nearest integer. Above the table the index stays at 500 ("beyond the AQI").
    O3 above 0.200 ppm (8-hour) is outside the 8-hour table, so it is reported as 301+ from the top row's slope.
    """
    if metric not in US_AQI_TABLE or conc is None or not math.isfinite(conc):
        return None
    _, decimals, rows = US_AQI_TABLE[metric]
    c = max(_epa_units(metric, conc), 0.0)
    step = 10.0**-decimals
    # The tiny epsilon keeps 9.0 from becoming 8.9 through float noise (9.0 / 0.1 = 89.999...).
    c = math.floor(c / step + 1e-9) * step
    for c_lo, c_hi, i_lo, i_hi in rows:
        if c <= c_hi + 1e-12:
            c = max(c, c_lo)
            return min(500, _half_up((i_hi - i_lo) / (c_hi - c_lo) * (c - c_lo) + i_lo))
    c_lo, c_hi, i_lo, i_hi = rows[-1]
    return min(500, max(i_hi, _half_up((i_hi - i_lo) / (c_hi - c_lo) * (c - c_lo) + i_lo)))


def us_aqi_category(aqi: int | None) -> str | None:
    if aqi is None:
        return None
    return next(name for top, name in AQI_CATEGORIES if aqi <= top)
