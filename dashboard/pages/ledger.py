"""The public reciprocity ledger: per department and category, how fast and how often the city answers."""

from __future__ import annotations

import time
from typing import Any

from dash import Dash, html

from dashboard.context import AppContext
from dashboard.i18n import fmt_datetime, fmt_number, fmt_percent, translator
from dashboard.ui.comments import category_label
from dashboard.ui.components import page_frame
from data_sources.comments.ledger import city_ledger
from data_sources.store.db import utcnow

PATH = "/ledger"
FIRST_PAINT = False
SHARED = False  # built for each visit (dashboard/pages/__init__.py)
DEPENDS = "all"
# The ledger reads the whole status history (seconds at a few hundred thousand comments): computed at most once
# per this many seconds per app process, and the page says as of when.
CACHE_SECONDS = 300


def cached_ledger(ctx: AppContext) -> tuple:
    hit = ctx.ledger_cache
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1], hit[2]
    at = utcnow()
    led = city_ledger(ctx.engine, at, ctx.city.feedback.overdue_days)
    ctx.ledger_cache = (time.monotonic(), at, led)
    return at, led


def duration_text(hours: float | None, lang: str) -> str:
    _ = translator(lang)
    if hours is None or hours != hours:  # NaN: nothing answered yet
        return "–"
    if hours < 48:
        return _("{n} h", n=fmt_number(hours, lang))
    return _("{n} days", n=fmt_number(hours / 24, lang, 1))


def _cells(r: Any, lang: str) -> list:
    return [
        html.Td(fmt_number(r.comments, lang)),
        html.Td(duration_text(r.median_hours_to_answer, lang)),
        html.Td(fmt_percent(r.share_answered, lang)),
        html.Td(fmt_percent(r.share_resolved, lang)),
        html.Td(fmt_number(r.open, lang)),
        html.Td(fmt_number(r.overdue, lang)),
        html.Td(_share(r.share_confirmed_fixed, lang)),
        html.Td(_share(r.share_reopened, lang)),
    ]


def _share(value: float | None, lang: str) -> str:
    return "–" if value is None or value != value else fmt_percent(value, lang)


def layout(ctx: AppContext, lang: str, query: dict, **_params: Any) -> Any:
    _ = translator(lang)
    fb = ctx.city.feedback
    at, led = cached_ledger(ctx)
    head = html.Thead(
        html.Tr(
            [
                html.Th(_("Department"), scope="col"),
                html.Th(_("Category"), scope="col"),
                html.Th(_("Comments"), scope="col"),
                html.Th(_("Median time to first answer"), scope="col"),
                html.Th(_("Answered"), scope="col"),
                html.Th(_("Resolved"), scope="col"),
                html.Th(_("Open"), scope="col"),
                html.Th(_("Overdue"), scope="col"),
                html.Th(_("Confirmed fixed by the citizen"), scope="col"),
                html.Th(_("Reopened by the citizen"), scope="col"),
            ]
        )
    )
    body = []
    rows = led["rows"]
    for dept, d in led["departments"].set_index("department").iterrows():
        name = dept or _("Not yet assigned")
        body.append(
            html.Tr(
                [html.Th(name, scope="row"), html.Td(_("All categories")), *_cells(d, lang)], className="ledger-dept"
            )
        )
        for r in rows[rows["department"] == dept].itertuples():
            body.append(html.Tr([html.Td(""), html.Td(category_label(r.category, _)), *_cells(r, lang)]))
    total = led["city"]
    region_name: dict[str, Any] = {"aria-label": _("The city's record")}
    summary = []
    if len(total):
        t = total.iloc[0]
        summary = [
            html.P(
                _(
                    "Of {n} comments, the city answered {a} and resolved {r}; half of the answers came within {m}.",
                    n=fmt_number(t.comments, lang),
                    a=fmt_percent(t.share_answered, lang),
                    r=fmt_percent(t.share_resolved, lang),
                    m=duration_text(t.median_hours_to_answer, lang),
                ),
                className="lead",
                id="ledger-summary",
            )
        ]
    return page_frame(
        ctx,
        lang,
        [
            html.H1(_("The city's record")),
            *summary,
            html.P(
                [
                    _(
                        "Computed from the public status history. An answer is the first status change or reply; a comment "
                        "is overdue when it is still open after {d} days.",
                        d=fb.overdue_days,
                    ),
                    " ",
                    _(
                        'Confirmed fixed and reopened: the authors\' answers to "was it fixed?", over the comments marked resolved.'
                    ),
                    " ",
                    _("Figures as of {t}.", t=fmt_datetime(at, lang, ctx.city.city.timezone)),
                ],
                className="muted",
            ),
            html.Div(
                html.Table([head, html.Tbody(body)], className="ledger-table", id="ledger-table"),
                className="table-scroll",
                # a region that scrolls sideways on a phone: reachable and scrollable with the keyboard too
                tabIndex="0",
                role="region",
                **region_name,
            )
            if body
            else html.P(_("No comments yet."), className="muted"),
            html.P(html.A(_("You said, we did"), href=f"/you-said-we-did?lang={lang}")),
        ],
        active=PATH,
    )


def register(app: Dash, ctx: AppContext) -> None:
    """No callbacks: the page is plain HTML."""
