"""Shared pieces of the pages: the frame (header, language links, footer) and KPI cards.

Citizens' text and upstream names are passed as plain strings to Dash components, which React renders as
text: nothing here builds HTML from strings.
"""
from __future__ import annotations

from dash import html

from dashboard.i18n import LANGUAGE_NAMES, fmt_datetime, fmt_number, fmt_percent, translator
from dashboard.kpis import Kpi

NAV = [("/", "Map"), ("/report", "Tell the city"), ("/you-said-we-did", "You said, we did"), ("/ledger", "The city's record")]


def page_frame(ctx, lang: str, children: list, active: str = "/") -> html.Div:  # noqa: ANN001
    _ = translator(lang)
    city = ctx.city.city
    langs = [
        html.A(LANGUAGE_NAMES[code], href=f"?lang={code}", lang=code, hrefLang=code,
               className="lang" + (" lang-active" if code == lang else ""),
               **({"aria-current": "true"} if code == lang else {}))
        for code in city.languages
    ] if len(city.languages) > 1 else []
    banner = [html.P(_("Demo city: the figures on this page are generated, not real measurements."),
                     className="demo-banner", role="note")] if city.demo else []
    return html.Div([
        html.A(_("Skip to content"), href="#main", className="skip-link"),
        html.Header([
            html.Div([html.Span(city.name, className="city-name"), html.Span(_("Open data and citizens' voices"), className="tagline")],
                     className="brand"),
            html.Nav([html.A(_(label), href=f"{href}?lang={lang}", **({"aria-current": "page"} if href == active else {}))
                      for href, label in NAV], className="nav", **{"aria-label": _("Main")}),
            html.Div(langs, className="langs", **{"aria-label": _("Language")}, role="group"),
        ], className="site-header"),
        *banner,
        html.Main(children, id="main", lang=lang),
        html.Footer(html.P(_("Data from the sources listed on each card. Comments are public; exact locations are not.")),
                    className="site-footer"),
    ], lang=lang, className="frame")


KPI_TITLES = {
    "air": "Air quality now",
    "traffic": "Traffic now",
    "cycling": "Cycle network",
    "comments": "Open comments",
}
BAND_WORDS = {"good": "Good", "fair": "Moderate", "poor": "Poor", "none": ""}


def kpi_meaning(k: Kpi, _) -> str:  # noqa: ANN001
    d = k.detail or {}
    if k.key == "air":
        if k.value is None:
            return _("No recent readings.")
        return _("PM2.5 is fine dust that reaches deep into the lungs. The WHO advises a daily average below {g} µg/m³; "
                 "the middle station now reads {v} µg/m³.", g=f"{d.get('guideline', 15):g}", v=f"{k.value:.0f}")
    if k.key == "traffic":
        if k.value is None or d.get("ratio") is None:
            return _("No recent counts.")
        pct = round((d["ratio"] - 1) * 100)
        if abs(pct) < 5:
            return _("About as busy as usual for this hour and weekday.")
        if pct > 0:
            return _("{p}% busier than usual for this hour and weekday.", p=pct)
        return _("{p}% quieter than usual for this hour and weekday.", p=-pct)
    if k.key == "cycling":
        return _("Length of cycle lanes, tracks and greenways in the city's open data.")
    if k.key == "comments":
        return _("Problems citizens reported that the city has not yet resolved.")
    return ""


def kpi_value_text(k: Kpi, lang: str) -> str:
    if k.value is None:
        return "–"
    if k.key == "air":
        return f"{fmt_number(k.value, lang, 1)} {k.unit}"
    if k.key == "traffic":
        return f"{fmt_number(k.value, lang)} {k.unit}"
    if k.key == "cycling":
        return f"{fmt_number(k.value, lang, 1)} km"
    return fmt_number(k.value, lang)


def kpi_card(k: Kpi, lang: str, tz: str, source: str = "") -> html.Section:
    _ = translator(lang)
    d = k.detail or {}
    extra = []
    if k.key == "air" and "share_above_who" in d:
        extra.append(html.P(_("{s} of stations above the WHO daily guideline", s=fmt_percent(d["share_above_who"], lang)),
                            className="kpi-sub"))
    if k.key == "traffic" and d.get("usual"):
        extra.append(html.P(_("Usual: {u} vehicles/h", u=fmt_number(d["usual"], lang)), className="kpi-sub"))
    band = BAND_WORDS.get(k.band, "")
    return html.Section([
        html.H2(_(KPI_TITLES.get(k.key, k.key)), className="kpi-title", id=f"kpi-{k.key}-title"),
        html.P([html.Span(kpi_value_text(k, lang), className="kpi-number"),
                *([html.Span(_(band), className=f"band band-{k.band}")] if band else [])], className="kpi-value"),
        *extra,
        html.Details([html.Summary(_("What does this mean?")), html.P(kpi_meaning(k, _))], className="kpi-meaning"),
        html.P([*([_("Source: {s}", s=source), " · "] if source else []),
                _("Updated {t}", t=fmt_datetime(k.updated, lang, tz)) if k.updated else ""], className="kpi-meta"),
    ], className=f"kpi kpi-{k.key} kpi-band-{k.band}", id=f"kpi-{k.key}", **{"aria-labelledby": f"kpi-{k.key}-title"})
