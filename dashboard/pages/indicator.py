"""The indicator page, registered three times (``AIR``, ``TRAFFIC``, ``CYCLING`` at /air, /traffic, /cycling): filters for pollutant or mode, district and dates;
a time series and a district comparison with guidelines, bands or the usual range drawn on them; a one-line
summary and a data table for each chart; downloads of what is shown. The URL holds the state
(dashboard/ui/indicators.py), kept current in the browser by assets/citydash.js (history.replaceState).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pandas as pd
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from dashboard.context import AppContext, Query
from dashboard.ui import figures, indicators
from data_sources.store import queries
from dashboard.server.cache import cached
from dashboard.ui.components import (
    BAND_WORDS,
    data_table,
    deferred,
    download_links,
    page_frame,
    sources_behind,
    stale_notice,
    table_details,
)
from dashboard.i18n import fmt_date, fmt_number, fmt_percent, plotly_separators, translator
from dashboard.ui.indicators import THEMES, State as ViewState


def _districts(ctx: AppContext) -> pd.DataFrame:
    return cached(ctx, "districts", lambda: queries.districts(ctx.engine).drop(columns=["geometry"]), timeout=3600,
                  depends="readings")


def current_state(ctx: AppContext, theme_key: str, query: dict) -> ViewState:
    theme = THEMES[theme_key]
    latest = cached(ctx, f"latest:{theme.metrics[0].key}", lambda: queries.latest_time(ctx.engine, theme.metrics[0].key),
                    depends="readings")
    return indicators.parse_state(theme, query, latest, set(_districts(ctx)["id"].astype(int)))


def theme_data(ctx: AppContext, theme_key: str, st: ViewState) -> dict:
    """Series (city, and the district when one is chosen), district values and the usual range, cached per view."""
    def compute() -> dict:
        theme = THEMES[theme_key]
        m = indicators.metric_of(theme, st.metric)
        obs = queries.observations_by_district(ctx.engine, m.key, st.since, st.until, layer=m.layer)
        freq = indicators.frequency(st)
        city = indicators.city_series(obs, m.agg, freq).assign(name="city")
        parts = [city]
        if st.district is not None:
            parts.insert(0, indicators.city_series(obs[obs["district_id"] == st.district], m.agg, freq).assign(name="district"))
        series = pd.concat(parts, ignore_index=True)
        dvals = indicators.district_values(obs, _districts(ctx))
        usual = None
        if theme_key != "air" and freq == "h":
            hist = queries.observations_by_district(ctx.engine, m.key, st.since - timedelta(days=28), st.until, layer=m.layer)
            if st.district is not None:
                hist = hist[hist["district_id"] == st.district]
            usual = indicators.usual_range(hist, series[series["name"] == series["name"].iloc[0]]["time"], m.agg)
        return {"series": series, "districts": dvals, "usual": usual, "metric": m}

    return cached(ctx, f"theme:{theme_key}:{st.query()}", compute, depends="readings")


def _names(ctx: AppContext, lang: str, st: ViewState) -> dict[str, str]:
    _ = translator(lang)
    names = {"city": _("Whole city")}
    if st.district is not None:
        d = _districts(ctx).set_index("id")["name"]
        names["district"] = str(d.get(st.district, ""))
    return names


def district_summary(ctx: AppContext, lang: str, st: ViewState) -> str:
    _ = translator(lang)
    return _("District: {d}", d=_names(ctx, lang, st).get("district") or _("Whole city"))


def summary(ctx: AppContext, lang: str, theme_key: str, st: ViewState, data: dict) -> str:
    _ = translator(lang)
    m = data["metric"]
    series = data["series"]
    focus = series[series["name"] == ("district" if st.district is not None else "city")]
    limit = indicators.guideline(m.key) if theme_key == "air" else None
    n = indicators.summary_numbers(focus, data["districts"], limit)
    if not n:
        return _("No readings for this choice of dates and district.")
    where = _names(ctx, lang, st).get("district") or _("the whole city")
    text = _("From {start} to {end}, {measure} in {where} averaged {mean} {unit} and peaked at {peak} {unit} on {when}.",
             start=fmt_date(st.start, lang), end=fmt_date(st.end, lang), measure=_(m.label), where=where,
             mean=fmt_number(n["mean"], lang, 1), peak=fmt_number(n["peak"], lang, 1), unit=_(m.unit),
             when=fmt_date(n["peak_time"], lang))
    if "top_district" in n:
        text += " " + _("The highest district was {d} ({v} {unit}).", d=n["top_district"], v=fmt_number(n["top_value"], lang, 1),
                        unit=_(m.unit))
    if "share_above" in n:
        text += " " + _("Above the WHO daily guideline of {g} {unit} for {s} of the time.", g=fmt_number(limit, lang),
                        unit=_(m.unit), s=fmt_percent(n["share_above"], lang))
    return text


def tables(ctx: AppContext, lang: str, st: ViewState, data: dict) -> list:
    _ = translator(lang)
    names = _names(ctx, lang, st)
    m = data["metric"]
    s = data["series"].assign(name=lambda d: d["name"].map(names))
    return [
        table_details(lang, data_table(s, [("time", _("Time")), ("name", _("Area")), ("value", f"{_(m.label)} ({_(m.unit)})")],
                                       lang, _("{measure} over time", measure=_(m.label)), ctx.city.city.timezone)),
        table_details(lang, data_table(data["districts"], [("name", _("District")), ("value", f"{_(m.label)} ({_(m.unit)})"),
                                                           ("features", _("Stations or counters"))],
                                       lang, _("{measure} by district", measure=_(m.label)))),
    ]


def charts(ctx: AppContext, lang: str, theme_key: str, st: ViewState, data: dict) -> list:
    _ = translator(lang)
    m = data["metric"]
    names = _names(ctx, lang, st)
    labels = {"usual": _("Usual range"), "guideline": _("WHO daily guideline"), **{b: _(w) for b, w in BAND_WORDS.items()}}
    sep = plotly_separators(lang)
    air = theme_key == "air"
    ts = figures.timeseries(data["series"].assign(name=lambda d: d["name"].map(names)), _(m.unit), labels,
                            metric=m.key if air else None, guideline=indicators.guideline(m.key) if air else None,
                            usual=data["usual"], separators=sep)
    bars = figures.district_bars(data["districts"], _(m.unit), guideline=indicators.guideline(m.key) if air else None,
                                 labels=labels, separators=sep)
    cfg = {"displayModeBar": False, "responsive": True}
    return [
        html.H2(_("{measure} over time", measure=_(m.label)), className="section-title"),
        dcc.Graph(figure=ts, id=f"{theme_key}-timeseries", config=cfg, className="chart"),
        html.H2(_("{measure} by district", measure=_(m.label)), className="section-title"),
        dcc.Graph(figure=bars, id=f"{theme_key}-districts", config=cfg, className="chart"),
    ]


def context_note(lang: str, theme_key: str) -> str:
    _ = translator(lang)
    if theme_key == "air":
        return _("Coloured bands: the European Air Quality Index, from good to extremely poor. Dashed line: the WHO 2021 "
                 "guideline for a daily average (it is meant for 24-hour means, so single hours may cross it).")
    return _("Grey ribbon: the usual range for the same hour and weekday over the previous four weeks.")


def layout(ctx: AppContext, lang: str, query: dict, theme_key: str) -> Any:
    _ = translator(lang)
    theme = THEMES[theme_key]
    st = current_state(ctx, theme_key, query)
    data = theme_data(ctx, theme_key, st)
    d = _districts(ctx).sort_values("name")
    t = theme_key
    metric_control = html.Fieldset([
        html.Legend(_("Pollutant") if t == "air" else _("What to show"), className="control-label"),
        dcc.RadioItems(id=f"{t}-metric", value=st.metric, options=[{"label": _(m.label), "value": m.key} for m in theme.metrics],
                       inputClassName="layer-input", labelClassName="layer-label", className="metric-switcher"),
    ], className="control-group") if len(theme.metrics) > 1 else dcc.Store(id=f"{t}-metric", data=st.metric)
    filters = html.Div([
        metric_control,
        html.Details([
            html.Summary(district_summary(ctx, lang, st), id=f"{t}-district-summary", className="control-label"),
            html.Fieldset([
                html.Legend(_("District"), className="visually-hidden"),
                dcc.RadioItems(id=f"{t}-district", value=st.district if st.district is not None else "",
                               options=[{"label": _("Whole city"), "value": ""},
                                        *[{"label": r.name, "value": int(r.id)} for r in d.itertuples()]],
                               inputClassName="layer-input", labelClassName="layer-label", className="district-switcher"),
            ], className="control-group"),
        ], className="district-details"),
        html.Div([html.Label(_("From"), htmlFor=f"{t}-from", className="control-label"),
                  dcc.Input(id=f"{t}-from", type="date", value=st.start.isoformat(), debounce=True, className="date-input")],
                 className="control-group"),
        html.Div([html.Label(_("To"), htmlFor=f"{t}-to", className="control-label"),
                  dcc.Input(id=f"{t}-to", type="date", value=st.end.isoformat(), debounce=True, className="date-input")],
                 className="control-group"),
    ], className="filters", role="group", **{"aria-label": _("Filters")})
    return page_frame(ctx, lang, [
        html.H1(_(theme.title), className="page-title"),
        html.P(_(theme.intro), className="intro"),
        *stale_notice(sources_behind(ctx, {t: sorted({m.layer for m in theme.metrics})})[t], lang, ctx.city.city.timezone),
        filters,
        html.P(summary(ctx, lang, t, st, data), id=f"{t}-summary", className="chart-summary", **{"aria-live": "polite"}),
        deferred(f"{t}-charts", _("The charts load when you scroll to them."), min_height=560),
        html.P(context_note(lang, t), className="kpi-sub"),
        html.Div(tables(ctx, lang, st, data), id=f"{t}-tables"),
        html.Div(download_links(lang, t, st.query()), id=f"{t}-downloads"),
        dcc.Store(id=f"{t}-lang", data=lang),
        dcc.Store(id=f"{t}-query-keys", data=["metric", "district", "from", "to"]),
        dcc.Store(id=f"{t}-query"),
    ], active=f"/{t}")


def register(app: Dash, ctx: AppContext, theme_key: str) -> None:
    t = theme_key
    metric_prop = "value" if len(THEMES[t].metrics) > 1 else "data"
    filters = [Input(f"{t}-metric", metric_prop), Input(f"{t}-district", "value"), Input(f"{t}-from", "value"),
               Input(f"{t}-to", "value")]

    def state_of(metric: Any, district: Any, start: Any, end: Any) -> ViewState:
        return current_state(ctx, t, {"metric": metric, "district": str(district) if district not in (None, "") else None,
                                      "from": start, "to": end})

    @app.callback(Output(f"{t}-summary", "children"), Output(f"{t}-tables", "children"), Output(f"{t}-downloads", "children"),
                  Output(f"{t}-district-summary", "children"), *filters, State(f"{t}-lang", "data"), prevent_initial_call=True)
    def update_text(metric: Any, district: Any, start: Any, end: Any, lang: str) -> Any:
        lang = lang or ctx.city.city.default_language
        st = state_of(metric, district, start, end)
        data = theme_data(ctx, t, st)
        return (summary(ctx, lang, t, st, data), tables(ctx, lang, st, data), download_links(lang, t, st.query()),
                district_summary(ctx, lang, st))

    @app.callback(Output(f"{t}-charts", "children"), Input(f"{t}-charts-ready", "data"), *filters,
                  State(f"{t}-lang", "data"), prevent_initial_call=True)
    def update_charts(ready: Any, metric: Any, district: Any, start: Any, end: Any, lang: str) -> Any:
        if not ready:
            return no_update
        lang = lang or ctx.city.city.default_language
        st = state_of(metric, district, start, end)
        return charts(ctx, lang, t, st, theme_data(ctx, t, st))

    app.clientside_callback(ClientsideFunction("citydash", "syncQuery"), Output(f"{t}-query", "data"), *filters,
                            State(f"{t}-query-keys", "data"), prevent_initial_call=True)


@dataclass
class IndicatorPage:
    """One theme's indicator page (a ``dashboard.context.Page``)."""

    theme_key: str
    PATH: str
    FIRST_PAINT: bool = True  # server-rendered first paint (dashboard/http/frontend.py)
    SHARED: bool = True  # the same for every visitor (dashboard/pages/__init__.py)
    DEPENDS: str = "readings"  # observations and sources: a stream of comments does not rebuild it

    def layout(self, ctx: AppContext, lang: str, query: Query, /, **params: Any) -> html.Div:
        return layout(ctx, lang, query, self.theme_key)

    def register(self, app: Dash, ctx: AppContext) -> None:
        register(app, ctx, self.theme_key)


AIR = IndicatorPage("air", "/air")
TRAFFIC = IndicatorPage("traffic", "/traffic")
CYCLING = IndicatorPage("cycling", "/cycling")
