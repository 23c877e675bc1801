"""The feedback panel: say where (use my location, a district, or a pin placed exactly where the map is tapped),
choose a category, write, and send. No account; an email for updates is optional and never shown.

The map is not part of the first view: its bundle (plotly.js with MapLibre, about 1 MB) loads only when the citizen
asks for the map (``open_map``). A tap on the map puts the pin at that very point; commenting on a station, counter
or route is a separate, explicit choice (the list of what is near the pin, or the search box). Offline, Send keeps
the comment on the phone and sends it, with the same ``client_key``, when the network is back (assets/feedback.js).

Every callback here is public HTTP, so each one validates again on the server: the form's limits are a courtesy,
``data_sources.comments.records.submit_comment`` is the rule. A rejection returns a message and leaves the draft alone.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

import flask
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import ALL, ClientsideFunction, Dash, Input, Output, Patch, State, callback_context, dcc, html, no_update

from dashboard.i18n import translator
from dashboard.server.limits import allow
from dashboard.ui import figures, inputs
from dashboard.ui.comments import category_label, evidence_text, support_action
from dashboard.ui.components import page_frame
from data_sources.comments.evidence import nearest_reading
from data_sources.comments.records import (
    MAX_TEXT,
    MIN_TEXT,
    CommentInput,
    CommentRejected,
    as_id,
    find_duplicates,
    submit_comment,
    validate,
)
from data_sources.config import CityConfig
from data_sources.store import queries
from data_sources.store.db import utcnow

if TYPE_CHECKING:  # dashboard.app imports the pages: a type-only import avoids the cycle
    from sqlalchemy import Engine

    from dashboard.context import AppContext

PATH = "/report"
FIRST_PAINT = True  # the heading and the intro only (``first_paint``): no form control before Dash draws it
SHARED = False  # built for each visit (dashboard/pages/__init__.py)
DEPENDS = "all"
UPLOAD_PATH = "/report/photos"  # a photo, uploaded as soon as it is chosen (dashboard.http.media)
SEND_PATH = "/report/send"  # the form's JSON endpoint (``send_answer``)
POINT_LAYERS = ("air_station", "traffic_counter", "cycle_counter", "bike_station")
PIN_TRACE = 1  # data[0]: the features (shown, not snapped to), data[1]: the pin
NEAR_RADIUS_M = 300  # "near your pin": what a citizen may mean when the pin is this close
NEAR_MAX = 5
FEATURE_CHOICES = 20  # names offered at once in the search box
PIN_SOURCES = ["map", "gps", "feature", "district"]  # as assets/feedback.js and choose_place set them
EARTH_RADIUS_M = 6_371_008.8


def report_map(
    city: CityConfig, features: pd.DataFrame, districts_geojson: dict, pin: dict | None, labels: dict
) -> go.Figure:
    pts = features[features["layer"].isin(POINT_LAYERS)] if len(features) else features
    fig = go.Figure()
    fig.add_trace(
        go.Scattermap(
            lat=pts["lat"] if len(pts) else [],
            lon=pts["lon"] if len(pts) else [],
            mode="markers",
            marker={
                "size": 11,
                "color": [figures.LAYER_COLOURS.get(x, "#555555") for x in pts["layer"]] if len(pts) else [],
            },
            customdata=pts["id"].tolist() if len(pts) else [],
            hovertext=pts["name"].tolist() if len(pts) else [],
            hovertemplate="%{hovertext}<extra></extra>",
            name=labels["features"],
        )
    )
    fig.add_trace(
        go.Scattermap(
            lat=[pin["lat"]] if pin else [],
            lon=[pin["lon"]] if pin else [],
            mode="markers",
            marker={"size": 20, "color": "#D55E00"},
            hoverinfo="skip",
            name=labels["pin"],
        )
    )
    lay = figures.base_layout(city)
    lay["map"]["layers"] = lay["map"]["layers"] + figures.district_layers(districts_geojson)
    lay["showlegend"] = False
    if pin:
        lay["map"]["center"] = {"lat": pin["lat"], "lon": pin["lon"]}
        lay["map"]["zoom"] = max(city.city.zoom, 14)
    fig.update_layout(**lay)
    return fig


def _feature_pin(engine: Engine, feature_id: object) -> dict | None:
    fid = as_id(feature_id)
    if fid is None:
        return None
    f = queries.features(engine)
    row = f[f["id"] == fid]
    if not len(row):
        return None
    r = row.iloc[0]
    return {"lat": float(r["lat"]), "lon": float(r["lon"]), "feature_id": fid, "source": "feature", "name": r["name"]}


def near_features(
    features: pd.DataFrame, lat: float, lon: float, radius_m: float = NEAR_RADIUS_M, most: int = NEAR_MAX
) -> list[dict]:
    """The features within ``radius_m`` of the pin, nearest first (at most ``most``): ``{"id", "name", "layer",
    "distance_m"}``. Offered as an explicit choice; the pin itself never moves to one of them."""
    if not len(features):
        return []
    f = features.dropna(subset=["lat", "lon"])
    lat1, lon1 = np.radians(lat), np.radians(lon)
    lat2, lon2 = np.radians(f["lat"].astype(float)), np.radians(f["lon"].astype(float))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    dist = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))
    near = f.assign(distance_m=dist)[dist <= radius_m].sort_values(["distance_m", "id"]).head(most)
    return [
        {"id": int(r.id), "name": str(r.name), "layer": str(r.layer), "distance_m": float(r.distance_m)}
        for r in near.itertuples()
    ]


def feature_choices(features: pd.DataFrame, search: object, value: object, most: int = FEATURE_CHOICES) -> list[dict]:
    """The search box's options: features whose name contains ``search`` (any case), by name, at most ``most``;
    the chosen feature (``value``) always among them so that its name stays shown. No search: only that one."""
    if not len(features):
        return []
    chosen = as_id(value)
    text = search.strip().casefold() if isinstance(search, str) else ""
    pairs = sorted((str(n), int(i)) for i, n in zip(features["id"], features["name"]))
    first = [(n, i) for n, i in pairs if i == chosen]
    hits = [(n, i) for n, i in pairs if text and i != chosen and text in n.casefold()][:most]
    return [{"label": n, "value": i} for n, i in first + hits]


def intro(lang: str) -> list:
    """The heading and the intro: the top of the page, and its largest text (the intro's paint is the LCP)."""
    _ = translator(lang)
    return [
        html.H1(_("Tell the city")),
        html.P(
            _("No account needed. Your comment is public; your exact location and your email are not."),
            className="lead",
        ),
    ]


def first_paint(ctx: AppContext, lang: str, query: dict, **_params: Any) -> Any:
    """What the HTML page shows before Dash has drawn (dashboard/http/frontend.py): the frame, the heading and the
    intro, as ``layout`` draws them, so that the largest text is painted at once and does not move when Dash's page
    takes its place. No form control and no footer: a control shown before Dash draws it would do nothing when
    tapped (a citizen tapping "Place a pin on the map" early got nothing), and the footer would jump down."""
    return page_frame(ctx, lang, intro(lang), active=PATH, footer=False)


def layout(ctx: AppContext, lang: str, query: dict, **_params: Any) -> Any:
    _ = translator(lang)
    city = ctx.city
    feats = queries.features(ctx.engine)
    dists = queries.districts(ctx.engine)
    pin = _feature_pin(ctx.engine, (query.get("feature") or [None])[0])
    cats = list(city.city.comment_categories)
    msgs = {
        "count": _("{n} characters (between {min} and {max})", n="{n}", min=MIN_TEXT, max=MAX_TEXT),
        "finding": _("Finding your location…"),
        "found": _("Pin placed at your location."),
        "denied": _("Your location is not available; tap the map instead."),
        "unsupported": _("This browser cannot share its location; tap the map instead."),
        "not_sent": _("Your comment could not be sent."),
        "send_path": SEND_PATH,
        "photo_wait": _("Wait until your photos have uploaded."),
        "waiting": _(
            "Waiting to send: there is no network. Your comment is kept on this phone and will be sent"
            " as soon as the network is back."
        ),
        "map_loading": _("Loading the map…"),
    }
    return page_frame(
        ctx,
        lang,
        [
            *intro(lang),
            html.Div(
                [
                    html.Section(
                        [
                            html.H2(_("1. Where?"), className="section-title"),
                            html.P(
                                _("Use your location or choose a district; or open the map and tap the spot."),
                                className="hint",
                                id="report-map-hint",
                            ),
                            html.Div(
                                [
                                    html.Button(
                                        _("Use my location"),
                                        id="report-locate",
                                        className="button secondary",
                                        type="button",
                                    ),
                                    html.Span(id="report-locate-status", role="status", className="muted"),
                                ],
                                className="row",
                            ),
                            html.Label(_("A whole district"), htmlFor="report-district", className="label"),
                            # The box keeps the dropdown's height (.select: 44 px) while Dash loads the dropdown's
                            # code: without it what follows moved down 34 px a moment after Dash drew (CLS).
                            html.Div(
                                dcc.Dropdown(
                                    id="report-district",
                                    placeholder=_("Choose a district"),
                                    options=[{"label": n, "value": int(i)} for i, n in zip(dists["id"], dists["name"])]
                                    if len(dists)
                                    else [],
                                ),
                                className="select",
                            ),
                            # The map and its bundle load only when asked for (assets/feedback.js ``openMap``).
                            html.Button(
                                _("Place a pin on the map"),
                                id="report-map-open",
                                className="button secondary",
                                type="button",
                            ),
                            html.Div(id="report-map-slot"),
                            html.Label(_("A station, counter or route"), htmlFor="report-feature", className="label"),
                            html.Div(
                                dcc.Dropdown(
                                    id="report-feature",
                                    value=pin["feature_id"] if pin else None,
                                    placeholder=_("Search by name"),
                                    # Options come as the citizen types (``feature_options``): a list of every
                                    # station drawn up front cost 2 s of main thread on a phone.
                                    options=feature_choices(feats, None, pin["feature_id"] if pin else None),
                                ),
                                className="select",
                            ),
                            # Drawn here rather than by ``show_place`` at load: one round trip fewer before the
                            # page is ready (the same text ``show_place`` gives for this pin and no category).
                            html.Div(
                                _place_text(ctx, lang, pin, None),
                                id="report-place",
                                className="place",
                                **{"aria-live": "polite"},
                            ),
                        ],
                        className="report-where",
                    ),
                    html.Section(
                        [
                            html.H2(_("2. What about?"), className="section-title", id="report-category-title"),
                            # A fieldset named by the heading: the radios say everything (assets/citydash.js drops
                            # the listbox roles Dash puts around them inside a fieldset).
                            html.Fieldset(
                                dcc.RadioItems(
                                    id="report-category",
                                    options=[{"label": category_label(c, _), "value": c} for c in cats],
                                    className="categories",
                                    inputClassName="category-input",
                                    labelClassName="category-label",
                                ),
                                className="control-group",
                                **{"aria-labelledby": "report-category-title"},
                            ),
                            html.H2(_("3. Your comment"), className="section-title"),
                            html.Label(_("What is happening here?"), htmlFor="report-text", className="label"),
                            dcc.Textarea(
                                id="report-text",
                                maxLength=MAX_TEXT,
                                className="report-text",
                                value="",
                                placeholder=_("Describe what you see, when, and what would help."),
                            ),
                            html.P(
                                _("{n} characters (between {min} and {max})", n=0, min=MIN_TEXT, max=MAX_TEXT),
                                id="report-count",
                                className="muted",
                                **{"aria-live": "polite"},
                            ),
                            html.Label(
                                _("Email for updates (optional, never shown)"),
                                htmlFor="report-email",
                                className="label",
                            ),
                            dcc.Input(
                                id="report-email", type="email", className="input", autoComplete="email", value=""
                            ),
                            *photo_picker(ctx, lang),
                            html.Div(
                                [
                                    html.Label("Website", htmlFor="report-website"),
                                    dcc.Input(id="report-website", type="text", autoComplete="off", value=""),
                                ],
                                className="hp",
                                hidden=True,  # not in the tab order nor read out (aria-hidden kept it focusable)
                            ),
                            html.Div(id="report-duplicates", className="duplicates", **{"aria-live": "polite"}),
                            html.Div(id="report-dup-msg", role="status"),
                            html.Button(_("Send"), id="report-send", className="button primary", type="button"),
                            html.Div(
                                id="report-result",
                                className="result",
                                role="alert",
                                **{"data-msgs": json.dumps(msgs)},  # for drafts sent when the network is back
                            ),
                        ],
                        className="report-what",
                    ),
                ],
                className="report-grid",
            ),
            # No ``data=None``: dcc.Store sets a null ``data`` to undefined as it mounts, which is a change, and
            # ``show_place`` would be called (a round trip and a redraw) before the citizen has done anything.
            dcc.Store(id="report-pin", **({"data": pin} if pin else {})),
            dcc.Store(id="report-click"),
            dcc.Store(id="report-map-ready"),
            dcc.Store(id="report-client-key", data=secrets.token_urlsafe(16)),
            dcc.Store(id="report-lang", data=lang),
            dcc.Store(id="report-msgs", data=msgs),
            dcc.Store(id="fb-browser", storage_type="local"),
        ],
        active=PATH,
    )


def map_box(ctx: AppContext, lang: str, pin: dict | None) -> html.Div:
    """The map, built when the citizen asks for it: the city's stations and counters are shown for orientation
    only; a tap anywhere (on a marker too) puts the pin at that point (assets/feedback.js)."""
    _ = translator(lang)
    fig = report_map(
        ctx.city,
        queries.features(ctx.engine),
        queries.districts_geojson(ctx.engine),
        pin,
        {"features": _("Stations and counters"), "pin": _("Your pin")},
    )
    # The box sets the height: a responsive Graph takes 100% of its parent.
    return html.Div(
        dcc.Graph(
            id="report-map",
            figure=fig,
            style={"height": "100%"},
            config={"displayModeBar": False, "scrollZoom": True, "responsive": True},
        ),
        className="report-map",
    )


def photo_picker(ctx: Any, lang: str) -> list:
    """Up to ``max_photos`` photos from the camera or the gallery; each uploads as soon as it is chosen
    (assets/feedback.js), so that Send carries only their ids. Nothing here when the city takes no photos."""
    _ = translator(lang)
    most = ctx.city.feedback.max_photos
    if most == 0:
        return []
    msgs = {
        "photo_uploading": _("Uploading…"),
        "photo_ready": _("Attached"),
        "photo_failed": _("This photo could not be attached."),
        "photo_remove": _("Remove"),
        "photo_queued": _("Kept on this phone: it will be sent with your comment."),
        "photo_too_many": _("Attach at most {n} photos.", n=most),
    }
    return [
        html.H3(_("Photos (optional, up to {n})", n=most), className="label"),
        html.P(
            _("Location data in photos is removed. Moderators may blur faces and number plates."),
            className="hint",
            id="report-photo-hint",
        ),
        # The button opens the phone's camera or gallery through a file input that the script makes on each press
        # (assets/feedback.js): Dash has no plain file input, and dcc.Upload would read every photo into memory.
        html.Button(
            _("Add a photo"),
            id="report-photo-add",
            type="button",
            className="button secondary",
            **{"aria-describedby": "report-photo-hint"},
        ),
        html.Ul(
            id="report-photos",
            className="photo-list",
            **{
                "aria-live": "polite",
                "data-max": str(most),
                "data-path": UPLOAD_PATH,
                "data-lang": lang,
                "data-msgs": json.dumps(msgs),
            },
        ),
    ]


def map_pin(value: object) -> dict | None:
    """A pin from the browser ({"lat", "lon", "source"}) with finite coordinates on the globe; None otherwise."""
    if not isinstance(value, dict):
        return None
    lat, lon = inputs.number(value.get("lat"), -90, 90), inputs.number(value.get("lon"), -180, 180)
    if lat is None or lon is None:
        return None
    return {"lat": lat, "lon": lon, "source": inputs.choice(value.get("source"), PIN_SOURCES, "map")}


def _place_text(ctx: Any, lang: str, pin: dict | None, category: str | None) -> list:
    _ = translator(lang)
    if not pin:
        return [html.P(_("No place chosen yet."), className="muted")]
    out = [html.P(_("Pin placed. Only an approximate location (about 150 m) is shown publicly."))]
    if pin.get("name"):
        out.append(html.P(_("About: {name}", name=pin["name"]), id="report-about"))
    if pin.get("source") != "feature":
        out.extend(_near_choices(ctx, lang, float(pin["lat"]), float(pin["lon"])))
    if category:
        try:
            ev = nearest_reading(
                ctx.engine, float(pin["lat"]), float(pin["lon"]), category, utcnow(), pin.get("feature_id")
            )
        except (TypeError, ValueError):
            ev = None
        text = evidence_text(ev, lang, ctx.city.city.timezone)
        if text:
            out.append(html.P([html.Strong(_("Measured nearby: ")), text], className="evidence", id="report-evidence"))
    return out


def _near_choices(ctx: Any, lang: str, lat: float, lon: float) -> list:
    """What is near the pin, each with its own "comment on this" button: the only way a pin becomes a comment
    on a station, counter or route (the pin stays where it was put until one is pressed)."""
    _ = translator(lang)
    near = near_features(queries.features(ctx.engine), lat, lon)
    if not near:
        return []
    return [
        html.P(_("Is it about one of these? Comment on it:"), className="hint"),
        html.Ul(
            [
                html.Li(
                    html.Button(
                        _("Comment on {name} ({m} m away)", name=f["name"], m=int(round(f["distance_m"], -1))),
                        id={"type": "report-near", "id": f["id"]},
                        className="button secondary",
                        type="button",
                    )
                )
                for f in near
            ],
            className="near-list",
            id="report-near",
        ),
    ]


def _duplicates(ctx: AppContext, lang: str, pin: dict | None, category: str | None) -> list:
    """The 'is it one of these?' list for a pin and a category: found from public cells only
    (``find_duplicates``), and counted per client under the city's ``duplicate_rate``."""
    _ = translator(lang)
    if not pin or not category:
        return []
    try:
        lat, lon = float(pin["lat"]), float(pin["lon"])
    except (TypeError, ValueError, KeyError):
        return []
    if not allow(ctx, ctx.city.feedback.duplicate_rate, "duplicates"):
        return [
            html.P(
                _("Similar comments are not shown for a while: too many places were tried in a short time."),
                className="muted",
                id="report-dup-limit",
            )
        ]
    dups = find_duplicates(ctx.engine, lat, lon, category, ctx.city.feedback.duplicate_radius_m)
    if not dups:
        return []
    return [
        html.H3(_("Is it one of these? Support it instead of writing the same again."), className="dup-title"),
        html.Ul(
            [
                html.Li(
                    [
                        html.Span(d["text"], className="dup-text"),
                        " ",
                        html.A(_("Details"), href=f"/comments/{d['id']}?lang={lang}", target="_blank"),
                        " ",
                        html.Span(_("{n} supports", n=d["support_count"]), className="muted"),
                        " ",
                        html.Button(
                            _("Me too"),
                            id={"type": "report-support", "id": int(d["id"])},
                            className="button secondary",
                            type="button",
                        ),
                    ],
                    className="dup-item",
                )
                for d in dups
            ],
            className="dup-list",
        ),
    ]


def register(app: Dash, ctx: AppContext) -> None:
    app.clientside_callback(
        ClientsideFunction("citydash_feedback", "count"),
        Output("report-count", "children"),
        Input("report-text", "value"),
        State("report-msgs", "data"),
        prevent_initial_call=True,  # the layout already says "0 characters"
    )
    app.clientside_callback(
        ClientsideFunction("citydash_feedback", "locate"),
        Output("report-locate-status", "children"),
        Input("report-locate", "n_clicks"),
        State("report-msgs", "data"),
        prevent_initial_call=True,
    )

    # "Place a pin on the map": the script loads the map bundle, then sets report-map-ready; only then is the
    # map built (so the first view of /report carries no plotly.js).
    app.clientside_callback(
        ClientsideFunction("citydash_feedback", "openMap"),
        Output("report-map-hint", "children"),
        Input("report-map-open", "n_clicks"),
        State("report-msgs", "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("report-map-slot", "children"),
        Output("report-map-open", "hidden"),
        Output("report-map-hint", "children", allow_duplicate=True),
        Input("report-map-ready", "data"),
        State("report-pin", "data"),
        State("report-lang", "data"),
        prevent_initial_call=True,
    )
    def open_map(ready: Any, pin: Any, lang: Any) -> Any:
        if not ready:
            return no_update, no_update, no_update
        lang = inputs.language(lang, ctx.city.city.languages, ctx.city.city.default_language)
        _ = translator(lang)
        return map_box(ctx, lang, map_pin(pin)), True, _("Tap the map where it is: the pin goes exactly there.")

    @app.callback(
        Output("report-map", "figure"),
        Input("report-pin", "data"),
        prevent_initial_call=True,
    )
    def move_pin(pin: Any) -> Any:
        checked = map_pin(pin)
        patch = Patch()
        patch["data"][PIN_TRACE]["lat"] = [checked["lat"]] if checked else []
        patch["data"][PIN_TRACE]["lon"] = [checked["lon"]] if checked else []
        return patch

    @app.callback(
        Output("report-feature", "options"),
        Input("report-feature", "search_value"),
        State("report-feature", "value"),
        prevent_initial_call=True,
    )
    def feature_options(search: Any, value: Any) -> Any:
        if not isinstance(search, str) or not search.strip():
            return no_update  # keep what is offered (and the chosen one's name)
        return feature_choices(queries.features(ctx.engine), inputs.text(search, 100), value)

    @app.callback(
        Output("report-pin", "data"),
        Output("report-feature", "value"),
        Output("report-district", "value"),
        Input("report-click", "data"),
        Input({"type": "report-near", "id": ALL}, "n_clicks"),
        Input("report-feature", "value"),
        Input("report-district", "value"),
        prevent_initial_call=True,
    )
    def choose_place(click: Any, near_clicks: Any, feature_id: Any, district_id: Any) -> Any:
        trig = callback_context.triggered_id
        if trig == "report-click" and isinstance(click, dict):
            pin = map_pin(click)  # exactly where the map was tapped (or where the phone is), never snapped
            return (pin, None, None) if pin else (no_update, no_update, no_update)
        if isinstance(trig, dict) and trig.get("type") == "report-near":
            if not isinstance(near_clicks, list) or not any(near_clicks):
                return no_update, no_update, no_update  # the list was just drawn: nothing was pressed
            pin = _feature_pin(ctx.engine, trig.get("id"))
            return (pin, pin["feature_id"], None) if pin else (no_update, no_update, no_update)
        if trig == "report-feature" and feature_id is not None:
            pin = _feature_pin(ctx.engine, feature_id)
            return (pin, no_update, None) if pin else (no_update, no_update, no_update)
        if trig == "report-district" and as_id(district_id) is not None:
            d = queries.districts(ctx.engine)
            row = d[d["id"] == as_id(district_id)] if len(d) else d
            if len(row):
                r = row.iloc[0]
                return (
                    {"lat": float(r["lat"]), "lon": float(r["lon"]), "source": "district", "name": r["name"]},
                    None,
                    no_update,
                )
        return no_update, no_update, no_update

    @app.callback(
        Output("report-place", "children"),
        Output("report-duplicates", "children"),
        Input("report-pin", "data"),
        Input("report-category", "value"),
        State("report-lang", "data"),
        prevent_initial_call=True,
    )
    def show_place(pin: Any, category: Any, lang: Any) -> Any:
        lang = inputs.language(lang, ctx.city.city.languages, ctx.city.city.default_language)
        cat = inputs.choice(category, list(ctx.city.city.comment_categories), None)
        checked = map_pin(pin)
        if checked is not None and isinstance(pin, dict):  # a feature's pin keeps its id and name
            checked.update(feature_id=as_id(pin.get("feature_id")), name=inputs.text(pin.get("name"), 200))
            if checked["feature_id"] is not None:
                checked["source"] = "feature"
        return _place_text(ctx, lang, checked, cat), _duplicates(ctx, lang, checked, cat)

    # Send: the page's script (``send`` in assets/feedback.js) posts the form to SEND_PATH and draws the answer as
    # text. A plain JSON route rather than a Dash callback: Dash's dispatch and the confirmation's components were
    # a third of a comment's instructions in process (bench/comment_cost.py) and 15 % of a worker's CPU under load.
    app.clientside_callback(
        ClientsideFunction("citydash_feedback", "send"),
        Output("report-result", "children"),
        Output("report-client-key", "data"),
        Output("report-text", "value"),
        Output("report-email", "value"),
        Input("report-send", "n_clicks"),
        State("report-pin", "data"),
        State("report-category", "value"),
        State("report-text", "value"),
        State("report-email", "value"),
        State("report-website", "value"),
        State("report-client-key", "data"),
        State("report-lang", "data"),
        State("report-msgs", "data"),
        prevent_initial_call=True,
    )

    def send_view() -> Any:
        body = flask.request.get_json(silent=True)  # None: not JSON, or nested deeper than JSON may be here
        answer, status = send_answer(ctx, body) if body is not None else refused_request(ctx)
        resp = flask.jsonify(answer)
        resp.status_code = status
        resp.headers["Cache-Control"] = "no-store"
        return resp

    app.server.add_url_rule(SEND_PATH, "report_send", send_view, methods=["POST"])

    @app.callback(
        Output("report-dup-msg", "children"),
        Input({"type": "report-support", "id": ALL}, "n_clicks"),
        State("fb-browser", "data"),
        State("report-lang", "data"),
        prevent_initial_call=True,
    )
    def support(clicks: Any, browser: Any, lang: str) -> Any:
        trig = callback_context.triggered_id
        if not isinstance(trig, dict) or not isinstance(clicks, list) or not any(clicks):
            return no_update
        lang = inputs.language(lang, ctx.city.city.languages, ctx.city.city.default_language)
        return support_action(ctx, lang, trig.get("id"), browser)


def refused_request(ctx: AppContext) -> tuple[dict, int]:
    """The answer to a body that is not JSON at all: 400, and the page keeps the draft."""
    _ = translator(ctx.city.city.default_language)
    return {"ok": False, "field": "request", "message": _("Your comment could not be sent.")}, 400


def send_answer(ctx: Any, body: Any) -> tuple[dict, int]:
    """The answer to a press of Send, as data that the page draws as text: ``{"ok": true, "lines": [...],
    "public": {...}, "track": {...} or null, "client_key": the key for the next comment}``, or ``{"ok": false,
    "field": ..., "message": ...}`` with 422 (or 429 over the rate limit), and then nothing is stored and the page
    keeps the draft and its key. ``body`` is the posted JSON; anything may be in it."""
    body = body if isinstance(body, dict) else {}
    langs = ctx.city.city.languages
    lang = body.get("lang") if body.get("lang") in langs else ctx.city.city.default_language
    _ = translator(lang)

    def refused(message: str, field: str = "", status: int = 422) -> tuple[dict, int]:
        return {"ok": False, "field": field, "message": message}, status

    if body.get("website"):  # the honeypot: people never see this field
        return refused(_("Your comment could not be sent."))
    pin = body.get("pin") if isinstance(body.get("pin"), dict) else {}
    text, email, key, category = (body.get(k) for k in ("text", "email", "client_key", "category"))
    try:
        fid = pin.get("feature_id")
        if fid is not None and as_id(fid) is None:
            raise CommentRejected("feature", "That map feature no longer exists; choose a place instead.")
        inp = CommentInput(
            lat=pin.get("lat"),
            lon=pin.get("lon"),
            category=category if isinstance(category, str) else "",
            text=text if isinstance(text, str) else "",
            email=email if isinstance(email, str) else None,
            feature_id=as_id(fid),
            language=lang,
            client_key=key if isinstance(key, str) else None,
            photo_ids=body.get("photos") or (),
        )
        validate(inp, ctx.city)  # a mistake is not counted against the rate limit
        if not allow(ctx, ctx.city.feedback.comment_rate, "comment"):
            return refused(
                _(
                    "You have sent several comments in a short time. Wait a few minutes and send again; your text is kept."
                ),
                status=429,
            )
        result = submit_comment(ctx.engine, ctx.city, inp)
    except CommentRejected as e:
        return refused(_(e.message, **e.params), e.field)
    lines = [_("Thank you. Your comment is saved as number {n}.", n=result.id)]
    if result.moderation != "published":
        lines.append(_("A moderator will check it before it is published."))
    if result.redacted:
        lines.append(_("We removed an email address or phone number from the public text."))
    track = None
    if result.tracking_token:
        track = {
            "label": _("Your private tracking link (keep it; it is shown only once): "),
            "text": f"/track/{result.tracking_token}",
            "href": f"/track/{result.tracking_token}?lang={lang}",
        }
    return {
        "ok": True,
        "id": result.id,
        "lines": lines,
        "client_key": secrets.token_urlsafe(16),
        "public": {"text": _("See your comment"), "href": f"/comments/{result.id}?lang={lang}"},
        "track": track,
    }, 200
