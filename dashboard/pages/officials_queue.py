"""Officials: the work queue. Sort (newest, oldest still open, most supported, overdue), pick one or many
comments, change the status with a public answer (templates per status) or assign a department."""
from __future__ import annotations

from typing import Any

from dash import Input, Output, State, dash_table, dcc, html

from dashboard.server.auth import current_official, require_role
from dashboard.i18n import fmt_datetime, translator
from dashboard.ui.officials import STATUS_LABELS, frame
from data_sources.comments import workflow
from data_sources.store.models import COMMENT_STATUSES
from dash import Dash
from dashboard.context import AppContext

PATH = "/officials/queue"
FIRST_PAINT = False
SHARED = False  # built for each visit (dashboard/pages/__init__.py)
DEPENDS = "all"
ROLE = "official"
SORT_LABELS = {"newest": "Newest", "oldest_open": "Oldest still open", "most_supported": "Most supported",
               "overdue": "Overdue"}
REASON_LABELS = {"duplicate": "Duplicate", "not_city": "Not the city's responsibility", "no_action": "No action possible",
                 "spam": "Spam", "other": "Other"}


def layout(ctx: AppContext, lang: str, query: dict, **_params: Any) -> Any:
    return frame(ctx, lang, ROLE, PATH, lambda: _content(ctx, lang))


def _content(ctx: AppContext, lang: str) -> list:
    _ = translator(lang)
    depts = [{"label": n, "value": i} for i, n in workflow.departments(ctx.engine)]
    cols = [("id", "#"), ("created", _("Received")), ("category", _("Category")), ("status", _("Status")),
            ("department", _("Department")), ("support_count", _("Supports")), ("text", _("Comment"))]
    return [
        html.H1(_("Work queue")),
        html.Div([
            dcc.RadioItems(id="off-q-sort", value="newest", inline=True, className="layer-switcher",
                           options=[{"label": _(v), "value": k} for k, v in SORT_LABELS.items()]),
            dcc.Dropdown(id="off-q-dept", options=depts, placeholder=_("All departments"), clearable=True),
        ], className="off-filters"),
        dash_table.DataTable(id="off-q-table", columns=[{"id": k, "name": v} for k, v in cols], data=[],
                             row_selectable="multi", selected_row_ids=[], page_size=25, sort_action="none",
                             style_cell={"whiteSpace": "normal", "textAlign": "left", "maxWidth": "420px"}),
        html.Section([
            html.H2(_("Answer and change status")),
            html.Label([_("New status"), dcc.Dropdown(id="off-q-status", clearable=False, options=[
                {"label": _(STATUS_LABELS[s]), "value": s} for s in COMMENT_STATUSES if s != "new"])]),
            html.Label([_("Reason for closing"), dcc.Dropdown(id="off-q-reason", options=[
                {"label": _(v), "value": k} for k, v in REASON_LABELS.items()])]),
            html.Label([_("Public answer (the citizen sees it)"),
                        dcc.Textarea(id="off-q-answer", maxLength=workflow.MAX_ANSWER, style={"width": "100%", "minHeight": "90px"})]),
            html.Button(_("Apply to selected"), id="off-q-apply", className="button"),
            html.H2(_("Assign")),
            dcc.Dropdown(id="off-q-assign-dept", options=depts, placeholder=_("Department")),
            html.Button(_("Assign selected"), id="off-q-assign", className="button"),
            html.P(id="off-q-msg", role="status", **{"aria-live": "polite"}),
        ], className="off-actions"),
        dcc.Store(id="off-q-lang", data=lang),
        dcc.Store(id="off-q-refresh", data=0),
    ]


def queue_rows(ctx: AppContext, sort: str, dept: int | None, lang: str) -> list[dict]:
    _ = translator(lang)
    names = dict(workflow.departments(ctx.engine))
    df = workflow.queue(ctx.engine, sort if sort in workflow.QUEUE_SORTS else "newest", department_id=dept,
                        overdue_days=ctx.city.officials.overdue_days)
    return [{"id": int(r.id), "created": fmt_datetime(r.created_at, lang, ctx.city.city.timezone), "category": r.category,
             "status": _(STATUS_LABELS.get(r.status, r.status)), "department": names.get(r.department_id, "–"),
             "support_count": int(r.support_count), "text": r.text} for r in df.itertuples()]


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(Output("off-q-table", "data"), Output("off-q-table", "selected_row_ids"),
                  Input("off-q-sort", "value"), Input("off-q-dept", "value"), Input("off-q-refresh", "data"),
                  State("off-q-lang", "data"))
    @require_role(ROLE)
    def load(sort: Any, dept: Any, _refresh: Any, lang: str) -> Any:
        return queue_rows(ctx, sort, dept, lang or "en"), []

    @app.callback(Output("off-q-answer", "value"), Input("off-q-status", "value"), State("off-q-lang", "data"),
                  prevent_initial_call=True)
    @require_role(ROLE)
    def template(status: Any, lang: str) -> Any:
        return translator(lang or "en")(workflow.answer_templates(ctx.city).get(status, ""))

    @app.callback(Output("off-q-msg", "children"), Output("off-q-refresh", "data"),
                  Input("off-q-apply", "n_clicks"), Input("off-q-assign", "n_clicks"),
                  State("off-q-table", "selected_row_ids"), State("off-q-status", "value"), State("off-q-reason", "value"),
                  State("off-q-answer", "value"), State("off-q-assign-dept", "value"), State("off-q-refresh", "data"),
                  State("off-q-lang", "data"), prevent_initial_call=True)
    @require_role(ROLE)
    def act(_apply: Any, _assign: Any, ids: Any, status: Any, reason: Any, answer: Any, dept: Any, refresh: Any, lang: str) -> Any:
        from dash import ctx as dash_ctx

        _ = translator(lang or "en")
        actor = current_official().actor
        try:
            if dash_ctx.triggered_id == "off-q-assign":
                n = workflow.assign(ctx.engine, actor, ids or [], dept)
                return _("Assigned {n} comments.", n=n), (refresh or 0) + 1
            n = workflow.change_status(ctx.engine, actor, ids or [], status, answer or "", closed_reason=reason)
        except workflow.WorkflowError as e:
            return _(str(e)), refresh
        return _("Updated {n} comments; the answer is public.", n=n), (refresh or 0) + 1
