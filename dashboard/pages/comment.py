"""A comment's public page: status history, the city's answers, supports, evidence; "me too" and "flag"."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard.context import AppContext
from dashboard.i18n import translator
from dashboard.ui.comments import FLAG_REASON_LABELS, comment_view, flag_action, support_action
from dashboard.ui.components import page_frame
from data_sources.comments.photo_records import answer_photos_of, photos_of
from dashboard.ui.place_map import HEIGHT, WIDTH, map_title
from data_sources.comments.records import CLOSED_SUPPORT, FLAG_REASONS, public_comment, public_history
from data_sources.store.models import OPEN_STATUSES

PATH = "/comments/<int:comment_id>"
FIRST_PAINT = True  # server-rendered first paint (dashboard/http/frontend.py)
SHARED = False  # built for each visit (dashboard/pages/__init__.py)
DEPENDS = "all"


def not_available(ctx: AppContext, lang: str) -> Any:
    _ = translator(lang)
    return page_frame(
        ctx,
        lang,
        [
            html.H1(_("Comment not found")),
            html.P(_("There is no comment at this address, or it has been removed.")),
            html.A(_("Back to the map"), href=f"/?lang={lang}"),
        ],
    )


def support_box(lang: str, status: str) -> list:
    """ "Me too" (with an optional email for updates) on an open comment; on a resolved or closed one, why there
    is none and what to do instead (the server refuses a "me too" on it as well: records.add_support)."""
    _ = translator(lang)
    if status not in OPEN_STATUSES:
        return [
            html.P(
                [
                    _(CLOSED_SUPPORT),
                    " ",
                    html.A(_("Tell the city"), href=f"/report?lang={lang}"),
                ],
                className="muted",
                id="comment-closed-note",
            )
        ]
    return [
        html.Label(
            _("Email for updates on this comment (optional, never shown)"),
            htmlFor="comment-support-email",
            className="label",
        ),
        dcc.Input(id="comment-support-email", type="email", className="input", autoComplete="email", value=""),
        html.Button(_("Me too"), id="comment-support", className="button primary", type="button"),
        html.Div(id="comment-support-msg", role="status"),
    ]


def place_map(lang: str, c: dict) -> list:
    """The small map of the comment's public area (an SVG image from dashboard/http/comment_map.py)."""
    if c.get("h3_r9") is None:
        return []
    _ = translator(lang)
    return [
        html.Figure(
            [
                html.Img(
                    src=f"/comments/{c['id']}/map.svg?lang={lang}",
                    alt=map_title(lang, c.get("district")),
                    width=WIDTH,
                    height=HEIGHT,
                    className="place-map",
                ),
                html.Figcaption(_("Shaded: the area of about 170 m; the exact spot is not shown."), className="muted"),
            ],
            className="place-map-figure",
            id="comment-map",
        )
    ]


def actions(lang: str, comment_id: int, status: str = "new") -> html.Div:
    _ = translator(lang)
    return html.Div(
        [
            *support_box(lang, status),
            html.Details(
                [
                    html.Summary(_("Report this comment to the moderators")),
                    dcc.RadioItems(
                        id="comment-flag-reason",
                        value="abusive",
                        options=[{"label": _(FLAG_REASON_LABELS[r]), "value": r} for r in FLAG_REASONS],
                        inputClassName="category-input",
                        labelClassName="category-label",
                    ),
                    html.Button(_("Report"), id="comment-flag", className="button secondary", type="button"),
                    html.Div(id="comment-flag-msg", role="status"),
                ],
                className="flag-box",
            ),
            dcc.Store(id="comment-id", data=comment_id),
            dcc.Store(id="comment-lang", data=lang),
            dcc.Store(id="fb-browser", storage_type="local"),
        ],
        className="comment-actions",
    )


def layout(ctx: AppContext, lang: str, query: dict, comment_id: int = 0, **_params: Any) -> Any:
    c = public_comment(ctx.engine, comment_id)
    if c is None or c["moderation"] == "held":
        return not_available(ctx, lang)  # held comments are not public yet: only the author's link shows them
    photos = photos_of(ctx.engine, [comment_id]).get(comment_id, [])
    answer_photos = answer_photos_of(ctx.engine, [comment_id])
    view = comment_view(
        ctx, lang, c, public_history(ctx.engine, comment_id), photos=photos, answer_photos=answer_photos
    )
    published = c["moderation"] == "published"
    extra = [*place_map(lang, c), actions(lang, comment_id, c["status"])] if published else []
    return page_frame(ctx, lang, [view, *extra], active="")


def register(app: Dash, ctx: AppContext) -> None:
    def _lang(lang: str | None) -> Any:
        return lang if lang in ctx.city.city.languages else ctx.city.city.default_language

    @app.callback(
        Output("comment-support-msg", "children"),
        Input("comment-support", "n_clicks"),
        State("comment-id", "data"),
        State("fb-browser", "data"),
        State("comment-lang", "data"),
        State("comment-support-email", "value"),
        prevent_initial_call=True,
    )
    def support(
        n: int | None, comment_id: int | None, browser: str | None, lang: str | None, email: str | None
    ) -> html.P | object:
        return support_action(ctx, _lang(lang), comment_id, browser, email) if n else no_update

    @app.callback(
        Output("comment-flag-msg", "children"),
        Input("comment-flag", "n_clicks"),
        State("comment-id", "data"),
        State("fb-browser", "data"),
        State("comment-flag-reason", "value"),
        State("comment-lang", "data"),
        prevent_initial_call=True,
    )
    def flag(n: Any, comment_id: Any, browser: Any, reason: Any, lang: str) -> Any:
        return flag_action(ctx, _lang(lang), comment_id, browser, reason) if n else no_update
