"""About the data: every source with its publisher, licence, last update and status; how the figures are made;
what can be downloaded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from dash import Dash, html

from dashboard.context import AppContext
from dashboard.i18n import N_, fmt_datetime, fmt_number, translator
from dashboard.server.cache import cached
from dashboard.ui.components import labelled_cell, page_frame, table_scroll
from dashboard.ui.indicators import INDICATORS
from data_sources.ingest.standards import EAQI_UPPER, who_guideline
from data_sources.store import queries
from data_sources.store.footprint import outside_counts

PATH = "/about"
FIRST_PAINT = True  # server-rendered first paint (dashboard/http/frontend.py)
SHARED = True  # the same for every visitor (dashboard/pages/__init__.py)
DEPENDS = "readings"  # observations and sources: a stream of comments does not rebuild it


def _when(value: object) -> datetime | None:
    """A time from a pandas row: None for None, NaN and NaT (a source that never succeeded)."""
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def source_status(row: Any, _: Any) -> tuple[str, str]:
    """(css class, words) for a source's state: working, failing since, or never loaded."""
    ok_at, err_at = _when(row.last_success_at), _when(row.last_error_at)
    if (
        isinstance(row.last_error, str)
        and row.last_error
        and (ok_at is None or (err_at is not None and err_at > ok_at))
    ):
        return "status-error", _("Last update failed: {e}", e=row.last_error)
    if ok_at is not None:
        return "status-ok", _("Working")
    return "status-none", _("Not loaded yet")


def unmapped_section(unmapped: pd.DataFrame | None, lang: str) -> list:
    """Values of a source's own type field that no mapping in the city's TOML names: counted as "other" in the
    figures, listed here (with citydash check) so that the data team can map them. Nothing when all are mapped."""
    if unmapped is None or not len(unmapped):
        return []
    _ = translator(lang)
    headers = (_("Source"), _("Attribute"), _("Value"), _("Features"))
    rows = [
        html.Tr([labelled_cell(str(v), h) for v, h in zip((r.title, r.attribute, r.value, r.n), headers)])
        for r in unmapped.head(50).itertuples()
    ]
    return [
        html.H2(_('Values counted as "other"'), className="section-title"),
        html.P(
            _(
                "These values of the sources' own fields are not mapped to a type yet, so the figures count them as "
                '"other".'
            )
        ),
        table_scroll(
            lang,
            html.Table(
                [html.Thead(html.Tr([html.Th(h, scope="col") for h in headers])), html.Tbody(rows)],
                className="data-table unmapped-table stack-table",
            ),
        ),
    ]


def layout(ctx: Any, lang: str, query: dict, **_params: Any) -> Any:
    _ = translator(lang)
    tz = ctx.city.city.timezone
    src = cached(ctx, "about:sources", lambda: queries.sources(ctx.engine), depends="readings")
    outside = cached(ctx, "about:outside", lambda: outside_counts(ctx.engine), depends="readings")
    headers = (
        _("Source"),
        _("Publisher"),
        _("Licence"),
        _("Attribution"),
        _("Last update"),
        _("Status"),
        _("Outside the city"),
    )
    rows = []
    for r in src.sort_values("title").itertuples():
        css, words = source_status(r, _)
        ok_at = _when(r.last_success_at)
        cells = [
            (r.publisher or "–", None),
            (r.licence or _("not stated"), None),
            (r.attribution or "–", None),
            (fmt_datetime(ok_at, lang, tz) if ok_at is not None else "–", None),
            (words, css),
            (fmt_number(outside.get(r.name, 0), lang), "outside-count"),
        ]
        rows.append(
            html.Tr(
                [
                    html.Th(html.A(r.title, href=r.url) if r.url else r.title, scope="row"),
                    *(labelled_cell(text, label, cls) for (text, cls), label in zip(cells, headers[1:])),
                ]
            )
        )
    table = html.Table(
        [
            html.Caption(_("Sources of the data on this site")),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in headers])),
            html.Tbody(rows),
        ],
        className="data-table sources-table stack-table",
    )
    footprint_words = {"bounds": _("outside the city's bounds"), "districts": _("outside all of the city's districts")}
    outside_note = (
        [
            html.P(
                _(
                    "{n} places from these sources lie {where}: they are kept and can be downloaded, but no "
                    "figure on this site counts them (column “Outside the city”).",
                    n=fmt_number(sum(outside.values()), lang),
                    where=footprint_words.get(ctx.city.city.clip, footprint_words["bounds"]),
                ),
                id="about-outside",
            )
        ]
        if outside
        else []
    )
    unmapped = cached(ctx, "about:unmapped", lambda: queries.unmapped_values(ctx.engine), depends="readings")
    g = {m: fmt_number(who_guideline(m, "24h"), lang) for m in ("pm25", "pm10", "no2")}
    downloads = [
        html.Li(html.A(_(label), href=href))
        for label, href in (
            (N_("Stations and counters with their latest reading (CSV)"), "/download/stations.csv"),
            (N_("Stations and counters with their latest reading (GeoJSON)"), "/download/stations.geojson"),
            (N_("Cycle network (GeoJSON)"), "/download/cycle-routes.geojson"),
        )
    ] + [
        html.Li(html.A(_("{theme}: last 7 days (CSV)", theme=_(INDICATORS[t].title)), href=f"/download/{t}.csv"))
        for t in INDICATORS
    ]
    return page_frame(
        ctx,
        lang,
        [
            html.H1(_("About the data"), className="page-title"),
            html.P(
                _(
                    "Everything on this site comes from open data published by the bodies below, and from comments citizens "
                    "send here. Each figure says where it comes from and when it was last updated."
                )
            ),
            table_scroll(lang, table, _("Sources of the data on this site")),
            *outside_note,
            *unmapped_section(unmapped, lang),
            html.H2(_("How the figures are made"), className="section-title"),
            html.Ul(
                [
                    html.Li(
                        _(
                            "Air: the middle (median) station's latest PM2.5 reading; the share of stations whose last 24 hours "
                            "averaged above the WHO 2021 guideline ({pm25} µg/m³ for PM2.5, {pm10} for PM10, {no2} for NO2); "
                            "and the European Air Quality Index band of the middle station.",
                            **g,
                        )
                    ),
                    html.Li(
                        _(
                            "European Air Quality Index (EEA): PM2.5 is good up to {a} µg/m³ as a 24-hour mean, fair up to {b}, "
                            "moderate up to {c}, poor up to {d}, very poor up to {e}, and extremely poor above.",
                            **dict(zip("abcde", (fmt_number(v, lang) for v in EAQI_UPPER["pm25"]))),
                        )
                    ),
                    html.Li(
                        _(
                            "Traffic and cycling: this hour's count against the usual, which is the median of the same hour "
                            "and weekday over the previous four weeks. Within 10% counts as usual."
                        )
                    ),
                    html.Li(
                        _(
                            "Comments: comments sent this month, the share the city has answered, and the median time to the "
                            "first answer. Comment locations are shown only as areas of about 170 m, never the exact spot."
                        )
                    ),
                ]
            ),
            html.H2(_("Download"), className="section-title"),
            html.P(
                _(
                    "Every chart page has CSV and GeoJSON downloads of what it shows. Each file names its sources, "
                    "their licence and the attribution they ask for."
                )
            ),
            html.Ul(downloads, className="download-list"),
        ],
        active="/about",
    )


def register(app: Dash, ctx: AppContext) -> None:
    """No callbacks: the page is plain HTML."""
