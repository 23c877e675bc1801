"""Officials: the moderation queue (held and flagged comments): approve, hide with a reason, or redact."""
from __future__ import annotations

from typing import Any

from dash import Input, Output, State, dash_table, dcc, html

from dashboard.server.auth import current_official, require_role
from dashboard.i18n import fmt_datetime, translator
from dashboard.ui.officials import frame
from data_sources.comments import workflow
from dash import Dash
from dashboard.context import AppContext

PATH = "/officials/moderation"
FIRST_PAINT = False
SHARED = False  # built for each visit (dashboard/pages/__init__.py)
DEPENDS = "all"
ROLE = "moderator"


def layout(ctx: AppContext, lang: str, query: dict, **_params: Any) -> Any:
    return frame(ctx, lang, ROLE, PATH, lambda: _content(lang))


def _content(lang: str) -> list:
    _ = translator(lang)
    cols = [("id", "#"), ("created", _("Received")), ("moderation", _("State")), ("reason", _("Reason")),
            ("flags", _("Flags")), ("text", _("Published text")), ("original", _("As written"))]
    return [
        html.H1(_("Moderation")),
        dash_table.DataTable(id="off-mod-table", columns=[{"id": k, "name": v} for k, v in cols], data=[],
                             row_selectable="single", selected_row_ids=[], page_size=25,
                             style_cell={"whiteSpace": "normal", "textAlign": "left", "maxWidth": "380px"}),
        html.Label([_("Reason (needed to hide)"), dcc.Input(id="off-mod-reason", maxLength=300, style={"width": "100%"})]),
        html.Label([_("Redacted text (to redact)"), dcc.Textarea(id="off-mod-text", style={"width": "100%"})]),
        html.Div([html.Button(_("Approve"), id="off-mod-approve", className="button"),
                  html.Button(_("Hide"), id="off-mod-hide", className="button"),
                  html.Button(_("Redact"), id="off-mod-redact", className="button")], className="off-actions"),
        html.P(id="off-mod-msg", role="status", **{"aria-live": "polite"}),
        dcc.Store(id="off-mod-lang", data=lang),
        dcc.Store(id="off-mod-refresh", data=0),
    ]


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(Output("off-mod-table", "data"), Output("off-mod-table", "selected_row_ids"),
                  Input("off-mod-refresh", "data"), State("off-mod-lang", "data"))
    @require_role(ROLE)
    def load(_refresh: Any, lang: str) -> Any:
        df = workflow.moderation_queue(ctx.engine)
        return [{"id": int(r.id), "created": fmt_datetime(r.created_at, lang or "en", ctx.city.city.timezone),
                 "moderation": r.moderation, "reason": r.moderation_reason or "", "flags": int(r.flag_count),
                 "text": r.text, "original": r.original_text or ""} for r in df.itertuples()], []

    @app.callback(Output("off-mod-text", "value"), Input("off-mod-table", "selected_row_ids"),
                  State("off-mod-table", "data"), prevent_initial_call=True)
    @require_role(ROLE)
    def pick(ids: Any, rows: Any) -> Any:
        chosen = [r for r in rows or [] if ids and r.get("id") == ids[0]]
        return chosen[0]["text"] if chosen else ""

    @app.callback(Output("off-mod-msg", "children"), Output("off-mod-refresh", "data"),
                  Input("off-mod-approve", "n_clicks"), Input("off-mod-hide", "n_clicks"), Input("off-mod-redact", "n_clicks"),
                  State("off-mod-table", "selected_row_ids"), State("off-mod-reason", "value"), State("off-mod-text", "value"),
                  State("off-mod-refresh", "data"), State("off-mod-lang", "data"), prevent_initial_call=True)
    @require_role(ROLE)
    def act(_a: Any, _h: Any, _r: Any, ids: Any, reason: Any, text: Any, refresh: Any, lang: str) -> Any:
        from dash import ctx as dash_ctx

        _ = translator(lang or "en")
        if not ids:
            return _("Choose a comment."), refresh
        action = {"off-mod-approve": "approve", "off-mod-hide": "hide", "off-mod-redact": "redact"}[dash_ctx.triggered_id]
        try:
            workflow.moderate(ctx.engine, current_official().actor, int(ids[0]), action, reason or "", text)
        except workflow.WorkflowError as e:
            return _(str(e)), refresh
        return _("Done."), (refresh or 0) + 1
