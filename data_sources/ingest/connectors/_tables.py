"""Tables as they come: the reading options every portal adapter shares (see docs/connectors.md "Tables as
they come"). Pure functions over pandas objects; the CSV kind also reads its text through ``read_csv_text``.

Options (``[sources.params]``):

* times: ``date_format`` (a strptime pattern or a list tried in order, e.g. ``"%m/%d/%Y %I:%M:%S %p"``),
  ``dayfirst = true`` (no pattern, day before month), ``date_locale = "de"`` (month and weekday names in that
  language, e.g. ``DEZ.``, ``Do,11.12.``, read as English ones for ``%b``/``%a``), ``time_field`` as a list of
  fields joined by a space (``["JAHR", "MONAT"]`` with ``date_format = "%Y %b"``), ``timezone`` for naive times
  with ``dst_gap = "skip"`` (default: a local time that does not exist, such as 02:00 on the spring-forward day,
  is skipped as ``dst_gap``) or ``"shift"`` (moved forward by the gap); a repeated local hour at the fall-back
  change is read as summer time the first time and winter time the second;
* values: ``decimal = ","``, ``missing = ["NE", "---"]`` (markers of no value), ``sentinels = [-29]`` (numbers
  that mean no value), ``scale = { co = 1000 }`` (multiply, e.g. mg/m³ to µg/m³);
* CSV text: ``encoding`` (``latin-1``, ``cp1252``; a byte-order mark is dropped), ``delimiter`` (``","``,
  ``";"``, ``"tab"``; default: guessed from the header line), ``skip_rows`` (lines before the header),
  ``skip_after_header`` (lines after it, such as units); ragged rows are read with the missing fields empty,
  and rows with more fields than the header are skipped as ``ragged``.

Every row left out is counted by reason: ``time`` (unreadable), ``dst_gap``, ``value`` (no number),
``missing_value`` (a marker or sentinel), ``location``, ``id``, ``ragged``.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from babel.core import UnknownLocaleError
from babel.dates import get_day_names, get_month_names

from data_sources.ingest.types import SourceError

EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EN_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DELIMITERS = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ","}


# --- reading CSV text ---------------------------------------------------------------------------------------


def decode(data: bytes | str, params: dict) -> str:
    """Bytes as text in ``params.encoding`` (default UTF-8), without a byte-order mark; a wrong encoding fails
    with one line naming the option."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    encoding = params.get("encoding", "utf-8-sig")
    try:
        return data.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError as e:
        raise SourceError(
            f"the file is not {encoding} (byte {e.start}: {data[e.start : e.start + 1]!r}); set params.encoding, "
            'e.g. "latin-1" or "cp1252"'
        ) from None
    except LookupError:
        raise SourceError(f"params.encoding: unknown encoding {encoding!r}") from None


def delimiter(text: str, params: dict) -> str:
    given = params.get("delimiter")
    if given:
        return DELIMITERS.get(given, given)
    header = next((line for line in text.splitlines()[int(params.get("skip_rows", 0)) :] if line.strip()), "")
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv_text(text: str, params: dict, text_fields: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """A CSV text as a frame of the header's columns (names stripped of spaces), and rows skipped by reason."""
    sep = delimiter(text, params)
    skip = int(params.get("skip_rows", 0))
    after = int(params.get("skip_after_header", 0))
    skiprows = list(range(skip)) + list(range(skip + 1, skip + 1 + after))
    ragged: list[int] = []

    def bad_line(fields: list[str]) -> None:
        ragged.append(len(fields))
        return None

    options = dict(
        sep=sep,
        skiprows=skiprows,
        dtype={f: str for f in text_fields},
        decimal=params.get("decimal", "."),
        keep_default_na=True,
    )  # params.missing markers are counted by numbers(), not dropped here
    try:
        df = pd.read_csv(io.StringIO(text), **options)
    except pd.errors.EmptyDataError as e:
        raise SourceError(f"malformed CSV: {str(e).splitlines()[0]}") from None
    except pd.errors.ParserError as e:
        if "Expected" not in str(e):  # an unclosed quote and the like: not a table
            raise SourceError(f"malformed CSV: {str(e).splitlines()[0]}") from None
        # Rows with more fields than the header: read again, counting them (the python engine can).
        df = pd.read_csv(io.StringIO(text), engine="python", on_bad_lines=bad_line, **options)
    df.columns = [str(c).strip() for c in df.columns]
    if text_fields:  # the dtype above matches the raw header; strip what was read as text too
        for f in text_fields:
            if f in df.columns and df[f].dtype != object:
                df[f] = df[f].astype(str)
    return df, ({"ragged": len(ragged)} if ragged else {})


# --- times ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _name_table(locale: str) -> tuple[re.Pattern, dict[str, str]]:
    """A regex of the locale's month and weekday names (with or without a final dot) and their English
    abbreviations, which strptime's %b and %a read."""
    try:
        names: dict[str, str] = {}
        for width in ("abbreviated", "wide"):
            for context in ("format", "stand-alone"):
                for n, name in get_month_names(width, context, locale).items():
                    names[name.rstrip(".").lower()] = EN_MONTHS[n - 1]
        day_widths: tuple[Literal["abbreviated", "short", "wide"], ...] = ("abbreviated", "short", "wide")
        contexts: tuple[Literal["format", "stand-alone"], ...] = ("format", "stand-alone")
        for day_width in day_widths:
            for day_context in contexts:
                for n, name in get_day_names(day_width, day_context, locale).items():
                    names.setdefault(name.rstrip(".").lower(), EN_DAYS[n])
    except (UnknownLocaleError, ValueError):
        raise SourceError(f'params.date_locale: unknown language {locale!r} (e.g. "de", "fr", "es")') from None
    words = sorted(names, key=len, reverse=True)
    return re.compile(r"(?<![^\W\d_])(" + "|".join(map(re.escape, words)) + r")\.?(?![^\W\d_])", re.IGNORECASE), names


def english_names(raw: pd.Series, locale: str) -> pd.Series:
    """``DEZ.`` -> ``Dec``, ``Do,11.12.`` -> ``Thu,11.12.`` (for strptime's %b and %a)."""
    pattern, names = _name_table(locale)
    return raw.astype(str).str.replace(pattern, lambda m: names[m.group(1).lower()], regex=True)


def time_text(df: pd.DataFrame, fields: list[pd.Series]) -> pd.Series:
    if len(fields) == 1:
        return fields[0]
    out = fields[0].astype(str)
    for f in fields[1:]:
        out = out + " " + f.astype(str)
    return out.where(pd.concat(fields, axis=1).notna().all(axis=1))


def parse_times(raw: pd.Series, params: dict, what: str = "time") -> tuple[pd.Series, pd.Series]:
    """Times as UTC, and a per-row reason ("" when read, "time" or "dst_gap"). A whole column of unreadable
    times fails with one line naming the first value and the option to set."""
    tz = params.get("timezone", "UTC")
    fmt = params.get("date_format")
    reason = pd.Series("", index=raw.index, dtype=object)
    if pd.api.types.is_numeric_dtype(raw) and not fmt:  # epoch numbers (ArcGIS dates are milliseconds)
        unit = "ms" if raw.dropna().abs().max() > 1e11 else "s"
        t = pd.to_datetime(raw, unit=unit, utc=True, errors="coerce")
        reason[t.isna()] = "time"
        return t, reason
    stripped = raw.astype(str).str.strip()  # once: each string operation is a Python loop over a million rows
    present = raw.notna() & (stripped != "")
    text = stripped.str.lstrip("*")  # Vienna marks some peak days "*Di,09.12."
    if params.get("date_locale"):
        text = english_names(text, params["date_locale"])
    if fmt:
        patterns = [fmt] if isinstance(fmt, str) else list(fmt)
        t = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        for p in patterns:
            todo = t.isna()
            if not todo.any():
                break
            got = pd.to_datetime(text[todo], format=p, errors="coerce", utc=False)
            if getattr(got.dt, "tz", None) is not None:
                got = got.dt.tz_convert("UTC").dt.tz_localize(None)
                if tz != "UTC":  # the text carried its own offset: read it as UTC, not as local time
                    tz = "UTC"
            t[todo] = got
    elif params.get("dayfirst"):
        t = pd.to_datetime(text, dayfirst=True, errors="coerce", format="mixed")
    else:
        t = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=tz == "UTC")
    unread = t.isna() & present
    if present.any() and unread.all():
        first = str(raw[present].iloc[0])
        how = f"params.date_format {fmt!r}" if fmt else ("dayfirst" if params.get("dayfirst") else "ISO 8601")
        raise SourceError(
            f"{what}: {how} does not read {first!r} (nor any of the {int(raw[present].nunique())} times); set params.date_format "
            '(a strptime pattern such as "%d.%m.%Y, %H:%M"), dayfirst = true or date_locale'
        )
    reason[~present | unread] = "time"
    if getattr(t.dt, "tz", None) is None:
        t, gap = _localise(t, tz, params.get("dst_gap", "skip"))
        reason[gap] = "dst_gap"
    return t.dt.tz_convert("UTC"), reason


def _localise(naive: pd.Series, tz: str, gap: str) -> tuple[pd.Series, pd.Series]:
    """Naive local times as aware ones. A repeated hour (fall back) is summer time at its first occurrence in
    time order of the file and winter time at the second; a missing hour (spring forward) is skipped or shifted."""
    if tz == "UTC":
        return naive.dt.tz_localize("UTC"), pd.Series(False, index=naive.index)
    if gap not in ("skip", "shift"):
        raise SourceError(f"params.dst_gap must be 'skip' or 'shift', not {gap!r}")
    valid = naive.dropna()
    ascending = len(valid) < 2 or valid.iloc[0] <= valid.iloc[-1]
    seen = naive.duplicated(keep="first" if ascending else "last")
    is_dst = (~seen).to_numpy()
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SourceError(f"params.timezone: unknown time zone {tz!r} (an IANA name such as Europe/Vienna)") from None
    aware = naive.dt.tz_localize(tz, ambiguous=is_dst, nonexistent="NaT")
    missing = aware.isna() & naive.notna()
    if gap == "shift" and missing.any():
        aware[missing] = naive[missing].dt.tz_localize(tz, nonexistent="shift_forward")
        missing = pd.Series(False, index=naive.index)
    return aware, missing


# --- values --------------------------------------------------------------------------------------------------


def numbers(raw: pd.Series, params: dict, metric: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Values as floats, and a per-row reason ("" when read, "missing_value" for a marker or sentinel, "value"
    for anything else that is not a number)."""
    markers = {str(m).strip() for m in params.get("missing") or []}
    reason = pd.Series("", index=raw.index, dtype=object)
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype(float)
    else:
        text = raw.astype(str).str.strip()
        marked = text.isin(markers)
        reason[marked] = "missing_value"
        if params.get("decimal") == ",":
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        values = pd.to_numeric(text.where(~marked), errors="coerce")
    sentinels = [float(s) for s in params.get("sentinels") or []]
    if sentinels:
        hit = values.isin(sentinels)
        reason[hit] = "missing_value"
        values = values.where(~hit)
    reason[(reason == "") & ~np.isfinite(values.to_numpy(float))] = "value"
    values = values.where(reason == "")  # "inf" and the like are no reading either
    scale = (params.get("scale") or {}).get(metric) if metric else None
    if scale is not None:
        values = values * float(scale)
    return values, reason


def count(reasons: pd.Series) -> dict[str, int]:
    """{"time": 31, ...} of a per-row reason series ("" means kept)."""
    return {k: int(v) for k, v in Counter(reasons[reasons != ""]).items()}


def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        if v:
            out[k] = out.get(k, 0) + int(v)
    return out


# --- wide tables ---------------------------------------------------------------------------------------------


def melt_wide(df: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, dict]:
    """A wide table (one column per counter or station) as a long one, by ``params.wide``::

        wide = { metric = "cyclists", columns = { "Fremont Bridge East Sidewalk" = { id = "fremont-east",
                 name = "Fremont Bridge, east sidewalk", location = [47.6477, -122.3497] }, ... } }

    Columns the table does not name are not loaded. Returns the long frame (columns __id, __name, __lat,
    __lon, __value plus the table's other columns) and the params to map it with."""
    wide = params["wide"]
    if not isinstance(wide, dict) or not isinstance(wide.get("columns"), dict) or not wide.get("metric"):
        raise SourceError('params.wide needs metric and a columns table { "column" = { id, name, location } }')
    columns = {str(k).strip(): v for k, v in wide["columns"].items()}
    absent = [c for c in columns if c not in df.columns]
    if len(absent) == len(columns):
        raise SourceError(
            f"upstream schema changed: none of params.wide.columns is a column (columns: {', '.join(map(str, df.columns[:15]))})"
        )
    present = [c for c in columns if c in df.columns]
    keep = [c for c in df.columns if c not in present]
    long = df.assign(__row=df.index).melt(
        id_vars=[*keep, "__row"], value_vars=present, var_name="__column", value_name="__value"
    )
    spec = {c: (columns[c] if isinstance(columns[c], dict) else {"id": str(columns[c])}) for c in present}
    long["__id"] = long["__column"].map(lambda c: str(spec[c].get("id") or c))
    long["__name"] = long["__column"].map(lambda c: str(spec[c].get("name") or c))
    loc = {c: spec[c].get("location") or [None, None] for c in present}
    long["__lat"] = long["__column"].map(lambda c: loc[c][0])
    long["__lon"] = long["__column"].map(lambda c: loc[c][1])
    mapped = {
        **params,
        "id_field": "__id",
        "name_field": "__name",
        "lat_field": "__lat",
        "lon_field": "__lon",
        "values": {wide["metric"]: "__value"},
    }
    if wide.get("unit"):
        mapped["units"] = {**(params.get("units") or {}), wide["metric"]: wide["unit"]}
    for k in ("wide", "geometry_field", "location", "locations", "value_field"):
        mapped.pop(k, None)
    mapped["properties"] = params.get("properties", [])
    return long, mapped
