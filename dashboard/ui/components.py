"""Shared pieces of the pages: the frame (header, language links, footer), KPI cards, and the chart block
(a chart that loads when it comes into view, with its one-line summary and its data table).

Citizens' text and upstream names are passed as plain strings to Dash components, which React renders as
text: nothing here builds HTML from strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from dash import dcc, html
from dash.development.base_component import Component

from dashboard.context import AppContext
from dashboard.i18n import LANGUAGE_NAMES, N_, fmt_datetime, fmt_day, fmt_number, fmt_percent, translator
from dashboard.server.cache import cached, request_source_status
from dashboard.ui.kpis import Kpi, parse_as_of
from data_sources.operations import SourceStatus
from data_sources.store import queries

# The main menu. "Tell the city" (/report) is not in it: it is the primary action, a button of its own in the
# header of every page (``page_frame``), visible on a phone's first screen.
NAV = [
    ("/", N_("Map")),
    ("/air", N_("Air")),
    ("/traffic", N_("Traffic")),
    ("/cycling", N_("Cycling")),
    ("/you-said-we-did", N_("You said, we did")),
    ("/ledger", N_("The city's record")),
    ("/about", N_("About the data")),
]


def page_frame(ctx: AppContext, lang: str, children: list, active: str = "/", footer: bool = True) -> html.Div:
    """The page in its frame: skip link, header, demo banner, ``children`` as the main content, and the footer
    (``footer=False``: without it, for a first paint that shows only the top of a page)."""
    _ = translator(lang)
    city = ctx.city.city
    langs = (
        [
            html.A(
                LANGUAGE_NAMES[code],
                href=f"?lang={code}",
                lang=code,
                hrefLang=code,
                className="lang" + (" lang-active" if code == lang else ""),
                **({"aria-current": "true"} if code == lang else {}),
            )
            for code in city.languages
        ]
        if len(city.languages) > 1
        else []
    )
    banner = (
        [
            html.P(
                _("Demo city: the figures on this page are generated, not real measurements."),
                className="demo-banner",
                role="note",
            )
        ]
        if city.demo
        else []
    )
    return html.Div(
        [
            html.A(_("Skip to content"), href="#main", className="skip-link"),
            html.Header(
                [
                    html.Div(
                        [
                            html.Span(city.name, className="city-name"),
                            html.Span(_("Open data and citizens' voices"), className="tagline"),
                        ],
                        className="brand",
                    ),
                    html.A(
                        _("Tell the city"),
                        href=f"/report?lang={lang}",
                        className="button primary cta",
                        **({"aria-current": "page"} if active == "/report" else {}),
                    ),
                    # On a phone the menu folds behind this button; assets/citydash.js toggles aria-expanded (no
                    # Dash callback, so it works on the server-rendered first paint too) and the CSS shows the
                    # menu that follows it. From 720 px the button is hidden and the menu always shown.
                    html.Button(
                        _("Menu"),
                        type="button",
                        className="menu-button",
                        **{"aria-expanded": "false", "aria-controls": "site-menu"},
                    ),
                    html.Div(
                        [
                            html.Nav(
                                [
                                    html.A(
                                        _(label),
                                        href=f"{href}?lang={lang}",
                                        **({"aria-current": "page"} if href == active else {}),
                                    )
                                    for href, label in NAV
                                ],
                                className="nav",
                                **{"aria-label": _("Main")},
                            ),
                            html.Div(langs, className="langs", **{"aria-label": _("Language")}, role="group"),
                        ],
                        id="site-menu",
                        className="site-menu",
                    ),
                ],
                className="site-header",
            ),
            *banner,
            html.Main(children, id="main", lang=lang),
            *([site_footer(lang)] if footer else []),
        ],
        lang=lang,
        className="frame",
    )


def site_footer(lang: str) -> html.Footer:
    _ = translator(lang)
    return html.Footer(
        html.P(
            [
                _("Data from the sources listed on each card. Comments are public; exact locations are not."),
                " ",
                html.A(_("About the data"), href=f"/about?lang={lang}"),
            ]
        ),
        className="site-footer",
    )


KPI_TITLES = {
    "air": N_("Air quality now"),
    "traffic": N_("Traffic now"),
    "cycling": N_("Cycling"),
    "participation": N_("Citizens' comments"),
}
# "now" and "today" are only for fresh data: a stale figure's card says what it is and the date of its reading.
KPI_TITLES_STALE = {"air": N_("Air quality"), "traffic": N_("Traffic")}
BAND_WORDS = {
    "good": N_("Good"),
    "fair": N_("Fair"),
    "moderate": N_("Moderate"),
    "poor": N_("Poor"),
    "very_poor": N_("Very poor"),
    "extremely_poor": N_("Extremely poor"),
    "busier": N_("Busier than usual"),
    "usual": N_("As usual"),
    "quieter": N_("Quieter than usual"),
}
CYCLE_TYPES = {
    "track": N_("separated track"),
    "lane": N_("painted lane"),
    "shared": N_("shared street"),
    "greenway": N_("greenway"),
    "cycle_street": N_("cycle street"),
    "path": N_("shared path"),
    "other": N_("other"),
}


def band_chip(band: str, _: Any, prefix: str | None = None) -> list:
    word = BAND_WORDS.get(band)
    if not word:
        return []
    text = f"{prefix}: {_(word)}" if prefix else _(word)
    return [html.Span([html.Span(className="swatch", **{"aria-hidden": "true"}), text], className=f"band band-{band}")]


def hours_text(hours: float | None, lang: str) -> str:
    _ = translator(lang)
    if hours is None:
        return "–"
    if hours < 48:
        return _("{n} h", n=fmt_number(hours, lang))
    return _("{n} days", n=fmt_number(hours / 24, lang, 1))


def kpi_meaning(k: Kpi, lang: str, tz: str = "UTC") -> str:
    _ = translator(lang)
    d = k.detail or {}
    if k.key == "air":
        if k.value is None:
            return _("No recent readings.")
        if k.stale:
            return _(
                "PM2.5 is fine dust that reaches deep into the lungs. The WHO advises a daily average below {g} µg/m³. "
                "At the latest reading, on {date}, the middle station read {v} µg/m³, and the European index, from "
                "good to extremely poor, rated the city's air as {band}.",
                g=fmt_number(d.get("guideline", 15), lang),
                date=fmt_day(k.as_of, lang, tz),
                v=fmt_number(k.value, lang),
                band=_(BAND_WORDS.get(k.band, "Good")).lower(),
            )
        return _(
            "PM2.5 is fine dust that reaches deep into the lungs. The WHO advises a daily average below {g} µg/m³; "
            "the middle station reads {v} µg/m³ now. The European index, from good to extremely poor, rates the "
            "city's air as {band} today.",
            g=fmt_number(d.get("guideline", 15), lang),
            v=fmt_number(k.value, lang),
            band=_(BAND_WORDS.get(k.band, "Good")).lower(),
        )
    if k.key == "traffic":
        if k.value is None or d.get("ratio") is None:
            return _("No recent counts.")
        pct = round((d["ratio"] - 1) * 100)
        if k.band == "usual":
            return _("About as busy as usual for this hour and weekday.")
        if pct > 0:
            return _("{p}% busier than usual for this hour and weekday.", p=pct)
        return _("{p}% quieter than usual for this hour and weekday.", p=-pct)
    if k.key == "cycling":
        if k.stale:
            return _(
                "How long the cycle network is, how many shared bikes and free docks there were at the latest "
                "reading, and how many people the counters saw cycling on the latest day counted, compared with "
                "the same weekday in recent weeks. Figures marked with a date are not current."
            )
        return _(
            "How long the cycle network is, how many shared bikes and free docks there are right now, and how "
            "many people the counters saw cycling today compared with the same weekday in recent weeks."
        )
    if k.key == "participation":
        return _(
            "How many comments citizens sent this month, how many of them the city has answered, and how long "
            "a first answer usually takes."
        )
    return ""


def kpi_value_text(k: Kpi, lang: str) -> str:
    _ = translator(lang)
    if k.value is None:
        return "–"
    if k.key == "air":
        return f"{fmt_number(k.value, lang, 1)} {k.unit}"
    if k.key == "traffic":
        return _("{n} vehicles/h", n=fmt_number(k.value, lang))
    if k.key == "cycling":
        return _("{n} km of cycle network", n=fmt_number(k.value, lang, 1))
    if k.key == "participation":
        return _("{n} this month", n=fmt_number(k.value, lang))
    return fmt_number(k.value, lang)


def _latest_reading(as_of: object, lang: str, tz: str) -> str:
    _ = translator(lang)
    return _("Latest reading: {date}", date=fmt_day(parse_as_of(as_of), lang, tz))


def _kpi_extra(k: Kpi, lang: str, tz: str = "UTC") -> list:
    _ = translator(lang)
    d = k.detail or {}
    out: list = []
    if k.key == "air":
        out += band_chip(k.band, _, _("European AQI"))
        if "share_above_who" in d:
            out.append(
                html.P(
                    _("{s} of stations above the WHO daily guideline", s=fmt_percent(d["share_above_who"], lang)),
                    className="kpi-sub",
                )
            )
    elif k.key == "traffic":
        out += band_chip(k.band, _)
        if d.get("usual"):
            out.append(
                html.P(
                    _("Usual for this hour and weekday: {u} vehicles/h", u=fmt_number(d["usual"], lang)),
                    className="kpi-sub",
                )
            )
    elif k.key == "cycling":
        if d.get("by_type"):
            out.append(
                html.Ul(
                    [
                        html.Li(_("{km} km {type}", km=fmt_number(v, lang, 1), type=_(CYCLE_TYPES.get(t, t))))
                        for t, v in d["by_type"].items()
                    ],
                    className="kpi-list",
                )
            )
        network = d.get("network") or {}
        if network.get("stale") and network.get("as_of"):
            out.append(
                html.P(
                    html.Strong(_("Cycle network: {latest}", latest=_latest_reading(network["as_of"], lang, tz))),
                    className="kpi-sub kpi-latest",
                )
            )
        share = d.get("bike_share") or {}
        if share and share.get("stale"):
            out.append(
                html.P(
                    [
                        html.Strong(_latest_reading(share.get("as_of"), lang, tz)),
                        " · ",
                        _(
                            "Bike share: {b} bikes and {d} free docks",
                            b=fmt_number(share["bikes"], lang),
                            d=fmt_number(share["docks"], lang),
                        ),
                    ],
                    className="kpi-sub kpi-latest",
                )
            )
        elif share:
            out.append(
                html.P(
                    _(
                        "Bike share now: {b} bikes and {d} free docks",
                        b=fmt_number(share["bikes"], lang),
                        d=fmt_number(share["docks"], lang),
                    ),
                    className="kpi-sub",
                )
            )
        today = d.get("counts_today") or {}
        if today.get("value") is not None:
            usual = today.get("usual")
            said = (
                _(
                    "Cycled past the counters on {date}: {n}",
                    date=fmt_day(parse_as_of(today.get("as_of")), lang, tz),
                    n=fmt_number(today["value"], lang),
                )
                if today.get("stale")
                else _("Cycled past the counters today: {n}", n=fmt_number(today["value"], lang))
            )
            lead = [html.Strong(_latest_reading(today.get("as_of"), lang, tz)), " · "] if today.get("stale") else []
            out.append(
                html.P(
                    [
                        *lead,
                        said,
                        *([" ", _("(usual: {u})", u=fmt_number(usual, lang))] if usual else []),
                        " ",
                        *band_chip(today.get("band", "none"), _),
                    ],
                    className="kpi-sub" + (" kpi-latest" if today.get("stale") else ""),
                )
            )
    elif k.key == "participation":
        if d.get("answered_share") is not None:
            out.append(html.P(_("{s} answered", s=fmt_percent(d["answered_share"], lang)), className="kpi-sub"))
        if d.get("median_hours_to_answer") is not None:
            out.append(
                html.P(
                    _("First answer usually within {t}", t=hours_text(d["median_hours_to_answer"], lang)),
                    className="kpi-sub",
                )
            )
    return out


def sources_behind(ctx: AppContext, layers_by_key: dict[str, list[str]]) -> dict[str, list[SourceStatus]]:
    """For each key (a KPI card, an indicator page), the sources of its layers that are failing or stale.

    The status is read at every build (once per request), not cached: a source goes stale with time alone, which
    changes no data version. Which sources feed which layer changes only with the data, so that is cached."""
    names = cached(
        ctx,
        "layer-source-names:" + repr(sorted(layers_by_key.items())),
        lambda: {k: queries.layer_source_names(ctx.engine, v) for k, v in layers_by_key.items()},
        depends="readings",
    )
    behind = [s for s in request_source_status(ctx) if s.behind]
    return {k: [s for s in behind if s.name in names.get(k, set())] for k in layers_by_key}


def stale_notice(behind: list[SourceStatus], lang: str, tz: str) -> list:
    """In words, for citizens: these figures are the last ones received, since when, and which source is not
    answering or has sent nothing new. No error text: that stays for officials."""
    if not behind:
        return []
    _ = translator(lang)
    since = [s.last_success_at for s in behind if s.last_success_at is not None]
    lead = (
        _("Not updated since {time}.", time=fmt_datetime(min(since), lang, tz))
        if since
        else _("These figures may be out of date.")
    )
    failing = [s.title for s in behind if s.failing]
    old = [s.title for s in behind if not s.failing]
    why = []
    if len(failing) == 1:
        why.append(_("The source ({source}) is not answering.", source=failing[0]))
    elif failing:
        why.append(_("The sources ({sources}) are not answering.", sources=", ".join(failing)))
    if len(old) == 1:
        why.append(_("The source ({source}) has sent no new data.", source=old[0]))
    elif old:
        why.append(_("The sources ({sources}) have sent no new data.", sources=", ".join(old)))
    return [
        html.P(
            [html.Strong(lead), " ", " ".join([*why, _("We show the last data we received.")])],
            className="stale-notice",
            role="note",
        )
    ]


def kpi_card(
    k: Kpi, lang: str, tz: str, source: str = "", link: str | None = None, behind: list[SourceStatus] | None = None
) -> html.Section:
    _ = translator(lang)
    title = KPI_TITLES_STALE.get(k.key) if k.stale and k.key in KPI_TITLES_STALE else KPI_TITLES.get(k.key, k.key)
    latest = (
        [html.P(html.Strong(_latest_reading(k.as_of, lang, tz)), className="kpi-latest")]
        if k.stale and k.as_of is not None and k.key in KPI_TITLES_STALE
        else []
    )
    return html.Section(
        [
            html.H2(_(title), className="kpi-title", id=f"kpi-{k.key}-title"),
            *latest,
            html.P(html.Span(kpi_value_text(k, lang), className="kpi-number"), className="kpi-value"),
            *stale_notice(behind or [], lang, tz),
            *_kpi_extra(k, lang, tz),
            html.Details(
                [html.Summary(_("What does this mean?")), html.P(kpi_meaning(k, lang, tz))], className="kpi-meaning"
            ),
            html.P(
                [
                    *([_("Source: {s}", s=source)] if source else []),
                    *([" · "] if source and k.updated else []),
                    *([_("Updated {t}", t=fmt_datetime(k.updated, lang, tz))] if k.updated else []),
                    *([" · ", html.A(_("More"), href=link)] if link else []),
                ],
                className="kpi-meta",
            ),
        ],
        className=f"kpi kpi-{k.key} kpi-band-{k.band}" + (" kpi-stale" if behind or k.stale else ""),
        id=f"kpi-{k.key}",
        **{"aria-labelledby": f"kpi-{k.key}-title"},
    )


def deferred(block_id: str, placeholder_text: str, min_height: int = 300, bundle: str = "map") -> html.Div:
    """A slot for charts or the map. assets/citydash.js loads the partial plotly.js bundle (``bundle``: "map",
    every trace type, or "charts", the indicator charts without the map) when the slot is wanted (half on screen,
    or near it once the visitor has moved) and then sets ``<block_id>-ready``; a callback on that store fills the
    slot. The page's text (summary, table, KPIs) never waits for plotly.js."""
    return html.Div(
        [
            dcc.Store(id=f"{block_id}-ready"),
            html.Div(
                html.P(placeholder_text, className="pending"),
                id=block_id,
                className="deferred-slot",
                style={"minHeight": f"{min_height}px"},
            ),
        ],
        **{"data-ready-store": f"{block_id}-ready", "data-plotly": bundle},
        className="deferred",
    )


def data_table(
    frame: pd.DataFrame,
    columns: list[tuple[str, str]],
    lang: str,
    caption: str,
    tz: str = "UTC",
    digits: int = 1,
    max_rows: int = 400,
) -> html.Table:
    """An accessible table alternative to a chart: ``columns`` is (column, header) pairs."""

    def cell(v: Any) -> str:
        if isinstance(v, (pd.Timestamp, datetime)):
            return fmt_datetime(pd.Timestamp(v).to_pydatetime(), lang, tz)
        if isinstance(v, float):
            return fmt_number(v, lang, digits)
        return str(v)

    rows = frame.head(max_rows)
    return html.Table(
        [
            html.Caption(caption),
            html.Thead(html.Tr([html.Th(h, scope="col") for _c, h in columns])),
            html.Tbody([html.Tr([html.Td(cell(getattr(r, c))) for c, _h in columns]) for r in rows.itertuples()]),
        ],
        className="data-table",
    )


def table_details(lang: str, *tables: html.Table) -> html.Details:
    """One "Show the data as a table" disclosure for a block of charts: each table under it, named by its caption,
    in its own scroll box (a keyboard-focusable region, see ``table_scroll``)."""
    _ = translator(lang)
    return html.Details(
        [html.Summary(_("Show the data as a table")), *table_boxes(lang, *tables)],
        className="table-details",
    )


def table_boxes(lang: str, *tables: html.Table) -> list[html.Div]:
    """Each table in its own scroll box, named by its caption (what a "Show the data as a table" holds)."""
    return [table_scroll(lang, t, _caption(t)) for t in tables]


# A component's children that only the server-rendered first paint shows (dashboard/http/ssr.py): kept in the
# component's __dict__ under this name, which is no Dash prop, so it is never sent to the browser's Dash renderer.
FIRST_PAINT_CHILDREN = "citydash_first_paint_children"


def first_paint_only(node: Component, children: Any) -> Component:
    """``node`` showing ``children`` in the static first paint (and so in the copy a phone keeps offline) instead of
    its own, which Dash draws."""
    node.__dict__[FIRST_PAINT_CHILDREN] = children
    return node


def tables_on_open(lang: str, block_id: str, first_paint: list | None = None) -> html.Details:
    """A "Show the data as a table" disclosure whose tables Dash draws only when it is opened, so that a page's first
    layout carries none of their hundreds of cells for the renderer to build (issue 17). assets/citydash.js copies
    the disclosure's ``open`` (id ``<block_id>-details``, marked ``data-sync-open``) to Dash on every toggle; a
    callback on it (and on the page's filters) fills ``<block_id>`` with ``table_boxes``, in place of the words
    saying that the tables are loading. ``first_paint``: the tables as static HTML in the server-rendered first
    paint only (plain HTML, nothing to hydrate), so that they open at once before Dash has drawn the page and in
    the copy shown offline."""
    _ = translator(lang)
    body = html.Div(html.P(_("The tables are loading."), className="pending"), id=block_id)
    if first_paint is not None:
        first_paint_only(body, first_paint)
    return html.Details(
        [html.Summary(_("Show the data as a table")), body],
        id=f"{block_id}-details",
        className="table-details",
        **{"data-sync-open": ""},
    )


def labelled_cell(children: Any, label: str, className: str | None = None) -> html.Td:
    """A table cell that carries its column's name (``data-label``), which a ``stack-table``'s cards show beside
    the value on a phone (assets/style.css)."""
    attrs: dict[str, Any] = {"data-label": label}
    if className:
        attrs["className"] = className
    return html.Td(children, **attrs)


def _caption(table: html.Table) -> str | None:
    """The text of a table's caption (its first child), to name its scroll region."""
    first = table.children[0] if isinstance(table.children, list) and table.children else None
    return first.children if isinstance(first, html.Caption) and isinstance(first.children, str) else None


def table_scroll(lang: str, table: html.Table, label: str | None = None) -> html.Div:
    """A wide table's box: it scrolls sideways when the table is wider than the screen, with a visible cue (the
    shadows at the edges and the words under it, shown only while something is out of view: assets/style.css and
    assets/citydash.js), and it takes the keyboard's focus so that it can be scrolled without a mouse."""
    _ = translator(lang)
    return html.Div(
        [
            html.Div(
                table,
                className="table-scroll",
                tabIndex="0",
                role="region",
                **{"aria-label": label or _("Table")},
            ),
            html.P(_("Scroll sideways to see every column."), className="scroll-cue", **{"aria-hidden": "true"}),
        ],
        className="table-box",
    )


def download_links(lang: str, dataset: str, query: str = "") -> html.P:
    _ = translator(lang)
    sep = "&" if query else "?"
    q = query or ""
    return html.P(
        [
            _("Download:"),
            " ",
            html.A(_("CSV"), href=f"/download/{dataset}.csv{q}", download=""),
            " · ",
            html.A(_("GeoJSON"), href=f"/download/{dataset}.geojson{q}", download=""),
            " · ",
            html.A(_("About the data"), href=f"/about{q}{sep}lang={lang}" if q else f"/about?lang={lang}"),
        ],
        className="downloads",
    )
