"""Officials (admins): the audit log of every official action: who, when, what, before and after."""

from __future__ import annotations

import json
from typing import Any

from dash import Dash, Input, Output, State, dash_table, dcc, html

from dashboard.context import AppContext
from dashboard.i18n import fmt_datetime, translator
from dashboard.server.auth import require_role
from dashboard.ui.officials import frame
from data_sources.comments import workflow

PATH = "/officials/audit"
FIRST_PAINT = False
SHARED = False  # built for each visit (dashboard/pages/__init__.py)
DEPENDS = "all"
ROLE = "admin"


def layout(ctx: AppContext, lang: str, query: dict, **_params: Any) -> Any:
    return frame(ctx, lang, ROLE, PATH, lambda: _content(lang))


def _content(lang: str) -> list:
    _ = translator(lang)
    cols = [
        ("at", _("When")),
        ("official", _("Who")),
        ("action", _("What")),
        ("target", _("Target")),
        ("before", _("Before")),
        ("after", _("After")),
    ]
    return [
        html.H1(_("Audit log")),
        dcc.Input(id="off-audit-search", type="search", placeholder=_("Filter by action or official"), debounce=True),
        dash_table.DataTable(
            id="off-audit-table",
            columns=[{"id": k, "name": v} for k, v in cols],
            data=[],
            page_size=50,
            style_cell={
                "whiteSpace": "normal",
                "textAlign": "left",
                "maxWidth": "360px",
                "fontFamily": "monospace",
                "fontSize": "0.8rem",
            },
        ),
        dcc.Store(id="off-audit-lang", data=lang),
    ]


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("off-audit-table", "data"), Input("off-audit-search", "value"), State("off-audit-lang", "data")
    )
    @require_role(ROLE)
    def load(search: Any, lang: str) -> Any:
        df = workflow.audit_entries(ctx.engine)
        s = (search or "").strip().lower()
        rows = []
        for r in df.itertuples():
            if s and s not in f"{r.action} {r.official or ''}".lower():
                continue
            rows.append(
                {
                    "at": fmt_datetime(r.at, lang or "en", ctx.city.city.timezone),
                    "official": r.official or "citydash",
                    "action": r.action,
                    "target": f"{r.target_type} {r.target_id or ''}".strip(),
                    "before": json.dumps(r.before, ensure_ascii=False, default=str) if r.before else "",
                    "after": json.dumps(r.after, ensure_ascii=False, default=str) if r.after else "",
                }
            )
        return rows
