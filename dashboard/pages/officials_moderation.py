"""Officials: the moderation queue (held and flagged comments): approve, hide with a reason, or redact; and the
comment's photos: hide one (with the reason) or show it again, or blur a region marked by dragging on it."""

from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, State, dash_table, dcc, html, no_update
from dash import ctx as dash_ctx

from dashboard.context import AppContext
from dashboard.i18n import fmt_datetime, translator
from dashboard.server.auth import current_official, require_role
from dashboard.ui.officials import frame, photo_cell
from data_sources.comments import photo_records as comment_photos
from data_sources.comments import workflow
from data_sources.store.paging import BadCursor
from data_sources.comments.photos import PhotoRejected

PATH = "/officials/moderation"
FIRST_PAINT = False
SHARED = False  # built for each visit (dashboard/pages/__init__.py)
DEPENDS = "all"
ROLE = "moderator"
PAGE = 200


def layout(ctx: AppContext, lang: str, query: dict, **_params: Any) -> Any:
    return frame(ctx, lang, ROLE, PATH, lambda: _content(lang))


def _content(lang: str) -> list:
    _ = translator(lang)
    cols = [
        ("id", "#"),
        ("created", _("Received")),
        ("moderation", _("State")),
        ("reason", _("Reason")),
        ("flags", _("Flags")),
        ("text", _("Published text")),
        ("original", _("As written")),
        ("photos", _("Photos")),
    ]
    return [
        html.H1(_("Moderation")),
        dash_table.DataTable(
            id="off-mod-table",
            columns=[{"id": k, "name": v, "presentation": "markdown" if k == "photos" else "input"} for k, v in cols],
            markdown_options={"html": False, "link_target": "_blank"},
            data=[],
            row_selectable="single",
            selected_row_ids=[],
            page_size=25,
            style_cell={"whiteSpace": "normal", "textAlign": "left", "maxWidth": "380px"},
        ),
        html.Div(
            [
                html.Button(_("First comments"), id="off-mod-first", className="button"),
                html.Button(_("Next comments"), id="off-mod-next", className="button"),
            ],
            className="off-actions",
        ),
        # Keyset paging, PAGE at a time: the cursor of the page shown and of the next one.
        dcc.Store(id="off-mod-page", data={"at": None, "next": None}),
        html.Label(
            [_("Reason (needed to hide)"), dcc.Input(id="off-mod-reason", maxLength=300, style={"width": "100%"})]
        ),
        html.Label([_("Redacted text (to redact)"), dcc.Textarea(id="off-mod-text", style={"width": "100%"})]),
        html.Div(
            [
                html.Button(_("Approve"), id="off-mod-approve", className="button"),
                html.Button(_("Hide"), id="off-mod-hide", className="button"),
                html.Button(_("Redact"), id="off-mod-redact", className="button"),
            ],
            className="off-actions",
        ),
        html.P(id="off-mod-msg", role="status", **{"aria-live": "polite"}),
        html.H2(_("Photos")),
        html.P(
            [
                _("Drag across a photo to mark a face or a number plate, then blur it."),
                " ",
                _("Hiding a photo needs the reason above."),
            ],
            className="muted",
        ),
        html.Div(id="off-mod-photos", className="off-photos"),
        html.P(id="off-mod-photo-msg", role="status", **{"aria-live": "polite"}),
        dcc.Store(id="off-mod-lang", data=lang),
        dcc.Store(id="off-mod-refresh", data=0),
        dcc.Store(id="off-mod-photo-box"),  # {"photo": id, "box": [left, top, right, bottom]} (assets/officials.js)
        dcc.Store(id="off-mod-photo-refresh", data=0),
    ]


def photo_cards(photos: list[dict], lang: str) -> list:
    """Each photo of a comment as a moderator sees it (any state), with its actions."""
    _ = translator(lang)
    if not photos:
        return [html.P(_("This comment has no photos."), className="muted")]
    cards = []
    for p in photos:
        state = _("Hidden: {reason}", reason=p["hidden_reason"] or "") if p["state"] == "hidden" else _("Public")
        toggle = (
            ("off-mod-photo-show", _("Show again"))
            if p["state"] == "hidden"
            else ("off-mod-photo-hide", _("Hide photo"))
        )
        cards.append(
            html.Figure(
                [
                    html.Div(
                        html.Img(src=f"/officials/media/{p['id']}.jpg", alt=_("Photo"), draggable="false"),
                        className="off-photo-frame",
                        **{"data-photo": p["id"]},
                    ),
                    html.Figcaption(
                        [
                            html.Span(state + (" · " + _("blurred") if p["blurred"] else "")),
                            " ",
                            html.Button(
                                toggle[1], id={"type": toggle[0], "id": p["id"]}, className="button", type="button"
                            ),
                            " ",
                            html.Button(
                                _("Blur the marked region"),
                                id={"type": "off-mod-photo-blur", "id": p["id"]},
                                className="button",
                                type="button",
                            ),
                        ]
                    ),
                ],
                className="off-photo",
            )
        )
    return cards


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("off-mod-table", "data"),
        Output("off-mod-table", "selected_row_ids"),
        Output("off-mod-page", "data"),
        Output("off-mod-next", "disabled"),
        Input("off-mod-refresh", "data"),
        Input("off-mod-next", "n_clicks"),
        Input("off-mod-first", "n_clicks"),
        State("off-mod-lang", "data"),
        State("off-mod-page", "data"),
    )
    @require_role(ROLE)
    def load(_refresh: Any, _next: Any, _first: Any, lang: str, at: Any) -> Any:
        at = at if isinstance(at, dict) else {}
        cursor = {"off-mod-next": at.get("next"), "off-mod-first": None}.get(str(dash_ctx.triggered_id), at.get("at"))
        try:
            df, nxt = workflow.moderation_page(ctx.engine, cursor if isinstance(cursor, str) else None, PAGE)
        except BadCursor:  # a tampered store: back to the first page
            cursor = None
            df, nxt = workflow.moderation_page(ctx.engine, None, PAGE)
        _ = translator(lang or "en")
        photos = comment_photos.photos_of(ctx.engine, [int(i) for i in df["id"]], public=False) if len(df) else {}
        rows = [
            {
                "id": int(r.id),
                "created": fmt_datetime(r.created_at, lang or "en", ctx.city.city.timezone),
                "moderation": r.moderation,
                "reason": r.moderation_reason or "",
                "flags": int(r.flag_count),
                "text": r.text,
                "original": r.original_text or "",
                "photos": photo_cell(photos.get(int(r.id), []), _),
            }
            for r in df.itertuples()
        ]
        return rows, [], {"at": cursor, "next": nxt}, nxt is None

    @app.callback(
        Output("off-mod-text", "value"),
        Input("off-mod-table", "selected_row_ids"),
        State("off-mod-table", "data"),
        prevent_initial_call=True,
    )
    @require_role(ROLE)
    def pick(ids: Any, rows: Any) -> Any:
        chosen = [r for r in rows or [] if ids and r.get("id") == ids[0]]
        return chosen[0]["text"] if chosen else ""

    @app.callback(
        Output("off-mod-photos", "children"),
        Input("off-mod-table", "selected_row_ids"),
        Input("off-mod-photo-refresh", "data"),
        State("off-mod-lang", "data"),
        prevent_initial_call=True,
    )
    @require_role(ROLE)
    def photos(ids: Any, _refresh: Any, lang: Any) -> Any:
        if not ids:
            return []
        cid = int(ids[0])
        return photo_cards(comment_photos.photos_of(ctx.engine, [cid], public=False).get(cid, []), lang or "en")

    @app.callback(
        Output("off-mod-photo-msg", "children"),
        Output("off-mod-photo-refresh", "data"),
        Input({"type": "off-mod-photo-hide", "id": ALL}, "n_clicks"),
        Input({"type": "off-mod-photo-show", "id": ALL}, "n_clicks"),
        Input({"type": "off-mod-photo-blur", "id": ALL}, "n_clicks"),
        State("off-mod-reason", "value"),
        State("off-mod-photo-box", "data"),
        State("off-mod-photo-refresh", "data"),
        State("off-mod-lang", "data"),
        prevent_initial_call=True,
    )
    @require_role(ROLE)
    def photo_action(hide: Any, show: Any, blur: Any, reason: Any, box: Any, refresh: Any, lang: Any) -> Any:
        from dash import ctx as dash_ctx

        trig = dash_ctx.triggered_id
        if not isinstance(trig, dict) or not any(n for n in (*(hide or []), *(show or []), *(blur or [])) if n):
            return no_update, no_update
        _ = translator(lang or "en")
        photo_id, action, actor = str(trig.get("id", "")), trig.get("type"), current_official().actor
        try:
            if action == "off-mod-photo-hide":
                comment_photos.hide_photo(ctx.engine, actor, photo_id, reason or "")
            elif action == "off-mod-photo-show":
                comment_photos.show_photo(ctx.engine, actor, photo_id)
            else:
                marked = box.get("box") if isinstance(box, dict) and box.get("photo") == photo_id else None
                if not (
                    isinstance(marked, list) and len(marked) == 4 and all(isinstance(v, (int, float)) for v in marked)
                ):
                    return _("Drag across the photo to mark the region to blur."), no_update
                comment_photos.blur_photo(ctx.engine, ctx.media, actor, photo_id, tuple(marked))
        except (comment_photos.PhotoError, PhotoRejected) as e:
            return _(str(e)), no_update
        return _("Done."), (refresh or 0) + 1

    @app.callback(
        Output("off-mod-msg", "children"),
        Output("off-mod-refresh", "data"),
        Input("off-mod-approve", "n_clicks"),
        Input("off-mod-hide", "n_clicks"),
        Input("off-mod-redact", "n_clicks"),
        State("off-mod-table", "selected_row_ids"),
        State("off-mod-reason", "value"),
        State("off-mod-text", "value"),
        State("off-mod-refresh", "data"),
        State("off-mod-lang", "data"),
        prevent_initial_call=True,
    )
    @require_role(ROLE)
    def act(_a: Any, _h: Any, _r: Any, ids: Any, reason: Any, text: Any, refresh: Any, lang: str) -> Any:
        from dash import ctx as dash_ctx

        _ = translator(lang or "en")
        if not ids:
            return _("Choose a comment."), refresh
        action = {"off-mod-approve": "approve", "off-mod-hide": "hide", "off-mod-redact": "redact"}[
            dash_ctx.triggered_id
        ]
        try:
            workflow.moderate(ctx.engine, current_official().actor, int(ids[0]), action, reason or "", text)
        except workflow.WorkflowError as e:
            return _(str(e)), refresh
        return _("Done."), (refresh or 0) + 1
