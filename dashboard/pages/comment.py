"""A comment's public page: status history, the city's answers, supports, evidence; "me too" and "flag"."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard.context import AppContext
from dashboard.i18n import translator
from dashboard.ui.comments import FLAG_REASON_LABELS, comment_view, flag_action, support_action
from dashboard.ui.components import page_frame
from data_sources.comments.photo_records import photos_of
from data_sources.comments.records import FLAG_REASONS, public_comment, public_history

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


def actions(lang: str, comment_id: int) -> html.Div:
    _ = translator(lang)
    return html.Div(
        [
            html.Label(
                _("Email for updates on this comment (optional, never shown)"),
                htmlFor="comment-support-email",
                className="label",
            ),
            dcc.Input(id="comment-support-email", type="email", className="input", autoComplete="email", value=""),
            html.Button(_("Me too"), id="comment-support", className="button primary", type="button"),
            html.Div(id="comment-support-msg", role="status"),
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
    view = comment_view(ctx, lang, c, public_history(ctx.engine, comment_id), photos=photos)
    extra = [actions(lang, comment_id)] if c["moderation"] == "published" else []
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
