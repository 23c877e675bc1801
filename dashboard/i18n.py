"""Languages: English message ids, JSON catalogues per language, Babel for numbers and dates.

A message missing from a catalogue falls back to English, so an untranslated string shows, never a key.
The language comes from ``?lang=`` first, then the browser's Accept-Language, limited to the city's list.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent

CATALOGUE_DIR = Path(__file__).resolve().parent / "translations"
LANGUAGE_NAMES = {"en": "English", "es": "Español", "nl": "Nederlands", "pt": "Português"}
BABEL_LOCALES = {"en": "en_GB", "es": "es_ES", "nl": "nl_NL", "pt": "pt_BR"}
# plotly.js's locale for each language (month and day names on chart axes): the files are served from
# assets/deferred/plotly-locale-<name>.js (copied from plotly.js by tools/build_plotly.sh); English is built in.
PLOTLY_LOCALES = {"es": "es", "nl": "nl", "pt": "pt-br"}


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """All catalogues of a language merged: ``translations/<lang>.json`` and ``translations/<area>.<lang>.json``
    (one file per area of the product, so that parts are translated independently)."""
    if lang == "en":
        return {}
    merged: dict[str, str] = {}
    for path in sorted(CATALOGUE_DIR.glob(f"*{lang}.json")):
        if path.name == f"{lang}.json" or path.name.endswith(f".{lang}.json"):
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def N_(msg: str) -> str:
    """Marks a message id defined away from where it is translated (tables of labels); returns it unchanged.
    The catalogue test finds ``N_("...")`` as well as ``_("...")``."""
    return msg


def translator(lang: str) -> Callable[..., str]:
    cat = catalogue(lang)

    def _(msg: str, **kw: object) -> str:
        text = cat.get(msg) or msg
        return text.format(**kw) if kw else text

    return _


def negotiate(offered: Iterable[str], query_lang: str | None, accept_language: str | None, default: str) -> str:
    offered = list(offered)
    if query_lang in offered:
        return query_lang  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        base = tag.split("-")[0]
        if base in offered:
            return base
    return default


def fmt_number(value: float | None, lang: str, digits: int = 0) -> str:
    if value is None:
        return "–"
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=fmt, locale=BABEL_LOCALES.get(lang, "en_GB"))


def plotly_separators(lang: str) -> str:
    """Plotly's ``layout.separators`` (decimal mark, then group mark) for ``lang``, from Babel."""
    from babel.numbers import get_decimal_symbol, get_group_symbol

    loc = BABEL_LOCALES.get(lang, "en_GB")
    return get_decimal_symbol(loc) + get_group_symbol(loc)


def fmt_percent(value: float | None, lang: str) -> str:
    return "–" if value is None else format_percent(value, locale=BABEL_LOCALES.get(lang, "en_GB"))


def fmt_datetime(value: datetime | None, lang: str, tz: str = "UTC") -> str:
    if value is None:
        return "–"
    from zoneinfo import ZoneInfo

    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return format_datetime(value, format="medium", tzinfo=ZoneInfo(tz), locale=BABEL_LOCALES.get(lang, "en_GB"))


def fmt_date(value: Any, lang: str) -> str:
    """A calendar date (or the date of a datetime), medium length, e.g. "16 Nov 2026" / "16 nov 2026"."""
    from babel.dates import format_date

    if value is None:
        return "–"
    return format_date(value, format="medium", locale=BABEL_LOCALES.get(lang, "en_GB"))


def language_name(lang: str) -> str:
    return LANGUAGE_NAMES.get(lang) or Locale.parse(lang).get_display_name(lang)


def fmt_day(value: datetime | None, lang: str, tz: str = "UTC") -> str:
    """The local calendar date of a stored (naive UTC) time, e.g. "14 Mar 2023" ("Latest reading: ...")."""
    from zoneinfo import ZoneInfo

    if value is None:
        return "–"
    local = (
        value.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz))
        if value.tzinfo is None
        else value.astimezone(ZoneInfo(tz))
    )
    return fmt_date(local.date(), lang)


def fmt_age(value: datetime | None, now: datetime, lang: str) -> str:
    """How long before ``now`` a stored (naive UTC) time was, in words, e.g. "3 years ago", "hace 3 años"."""
    from babel.dates import format_timedelta

    if value is None:
        return "–"
    return format_timedelta(value - now, add_direction=True, threshold=1.0, locale=BABEL_LOCALES.get(lang, "en_GB"))
