"""Officials: the work queue. Search the text; filter by status, category, district, department (with an explicit
"Unassigned" choice, so nothing is hidden), age, overdue and supports; sort; page through the result (filtered,
sorted and paged in SQL: ``workflow.queue_page``). Each row shows its photos as thumbnails, hidden ones too
(served to officials only, by ``/officials/media/``; held comments wait in the moderation view, which shows theirs). Pick one or many comments, change the status with a public
answer (templates per status) and, for one comment, a photo (made safe like a citizen's, shown beside the
answer), or reassign the department (audited)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dash import Dash, Input, Output, State, dash_table, dcc, html
from dash import ctx as dash_ctx

from dashboard.context import AppContext
from dashboard.i18n import fmt_datetime, fmt_number, translator
from dashboard.server.auth import current_official, require_role
from dashboard.ui.comments import category_label
from dashboard.ui.inputs import data_url
from dashboard.ui.officials import STATUS_LABELS, frame, map_link, photo_cell
from data_sources.store.paging import BadCursor
from data_sources.comments import workflow
from data_sources.comments.photo_records import PhotoError, photos_of, upload_photo, valid_ids
from data_sources.comments.photos import PhotoLimits, PhotoRejected
from data_sources.store.db import utcnow
from data_sources.store.models import COMMENT_STATUSES
from data_sources.store.queries import districts as district_table

if TYPE_CHECKING:
    from dashboard.context import AppContext  # for annotations only: dashboard.app imports this page

PATH = "/officials/queue"
FIRST_PAINT = False
SHARED = False  # built for each visit (dashboard/pages/__init__.py)
DEPENDS = "all"
ROLE = "official"
SORT_LABELS = {
    "newest": "Newest",
    "oldest": "Oldest",
    "oldest_open": "Oldest still open",
    "most_supported": "Most supported",
    "overdue": "Overdue",
    "recently_updated": "Recently updated",
}
REASON_LABELS = {
    "duplicate": "Duplicate",
    "not_city": "Not the city's responsibility",
    "no_action": "No action possible",
    "spam": "Spam",
    "other": "Other",
}
MAX_DAYS = 36_500
PAGE_SIZE = workflow.QUEUE_PAGE[0]


def layout(ctx: AppContext, lang: str, query: dict, **_params: object) -> html.Div:
    return frame(ctx, lang, ROLE, PATH, lambda: _content(ctx, lang))


def department_options(ctx: AppContext, _: Callable[..., str]) -> list[dict]:
    """The department filter's choices: "Unassigned" first, then every department."""
    return [
        {"label": _("Unassigned"), "value": workflow.UNASSIGNED},
        *({"label": n, "value": i} for i, n in workflow.departments(ctx.engine)),
    ]


def _content(ctx: AppContext, lang: str) -> list:
    _ = translator(lang)
    depts = [{"label": n, "value": i} for i, n in workflow.departments(ctx.engine)]
    dists = district_table(ctx.engine).sort_values("name")
    cols = [
        ("id", "#", "text"),
        ("created", _("Received"), "text"),
        ("age", _("Age (days)"), "text"),
        ("category", _("Category"), "text"),
        ("status", _("Status"), "text"),
        ("department", _("Department"), "text"),
        ("place", _("Place"), "markdown"),
        ("support_count", _("Supports"), "text"),
        ("text", _("Comment"), "text"),
        ("photos", _("Photos"), "markdown"),
    ]
    filters = html.Div(
        [
            html.Label(
                [_("Search the text"), dcc.Input(id="off-q-f-text", type="search", debounce=True, maxLength=200)]
            ),
            html.Label(
                [
                    _("Status"),
                    dcc.Dropdown(
                        id="off-q-f-status",
                        multi=True,
                        placeholder=_("All"),
                        options=[{"label": _(STATUS_LABELS[s]), "value": s} for s in COMMENT_STATUSES],
                    ),
                ]
            ),
            html.Label(
                [
                    _("Category"),
                    dcc.Dropdown(
                        id="off-q-f-category",
                        multi=True,
                        placeholder=_("All"),
                        options=[{"label": category_label(c, _), "value": c} for c in ctx.city.city.comment_categories],
                    ),
                ]
            ),
            html.Label(
                [
                    _("District"),
                    dcc.Dropdown(
                        id="off-q-f-district",
                        multi=True,
                        placeholder=_("All"),
                        options=[{"label": n, "value": int(i)} for i, n in zip(dists["id"], dists["name"])],
                    ),
                ]
            ),
            html.Label(
                [
                    _("Department"),
                    dcc.Dropdown(
                        id="off-q-dept",
                        multi=True,
                        placeholder=_("All departments"),
                        options=department_options(ctx, _),
                    ),
                ]
            ),
            html.Label(
                [
                    _("At least (days old)"),
                    dcc.Input(id="off-q-f-min-age", type="number", min=0, max=MAX_DAYS, step=1, debounce=True),
                ]
            ),
            html.Label(
                [
                    _("At most (days old)"),
                    dcc.Input(id="off-q-f-max-age", type="number", min=0, max=MAX_DAYS, step=1, debounce=True),
                ]
            ),
            html.Label(
                [
                    _("At least (supports)"),
                    dcc.Input(id="off-q-f-supports", type="number", min=0, step=1, debounce=True),
                ]
            ),
            dcc.Checklist(id="off-q-f-overdue", value=[], options=[{"label": _("Only overdue"), "value": "overdue"}]),
        ],
        className="off-filters",
    )
    return [
        html.H1(_("Work queue")),
        filters,
        html.Div(
            [
                html.Span(_("Sort"), className="off-label"),
                dcc.RadioItems(
                    id="off-q-sort",
                    value="newest",
                    inline=True,
                    className="layer-switcher",
                    options=[{"label": _(v), "value": k} for k, v in SORT_LABELS.items()],
                ),
            ]
        ),
        html.P(id="off-q-summary", role="status", className="off-summary"),
        dash_table.DataTable(
            id="off-q-table",
            columns=[{"id": k, "name": v, "presentation": p} for k, v, p in cols],
            data=[],
            row_selectable="multi",
            selected_row_ids=[],
            page_size=PAGE_SIZE,
            page_action="custom",
            page_current=0,
            page_count=1,
            sort_action="none",
            markdown_options={"html": False, "link_target": "_self"},
            style_cell={"whiteSpace": "normal", "textAlign": "left", "maxWidth": "420px"},
        ),
        html.Section(
            [
                html.H2(_("Answer and change status")),
                html.Label(
                    [
                        _("New status"),
                        dcc.Dropdown(
                            id="off-q-status",
                            clearable=False,
                            options=[
                                {"label": _(STATUS_LABELS[s]), "value": s} for s in COMMENT_STATUSES if s != "new"
                            ],
                        ),
                    ]
                ),
                html.Label(
                    [
                        _("Reason for closing"),
                        dcc.Dropdown(
                            id="off-q-reason", options=[{"label": _(v), "value": k} for k, v in REASON_LABELS.items()]
                        ),
                    ]
                ),
                html.Label(
                    [
                        _("Public answer (the citizen sees it)"),
                        dcc.Textarea(
                            id="off-q-answer",
                            maxLength=workflow.MAX_ANSWER,
                            style={"width": "100%", "minHeight": "90px"},
                        ),
                    ]
                ),
                html.Div(
                    [
                        dcc.Upload(
                            html.Button(_("Add a photo to the answer"), type="button", className="button"),
                            id="off-q-photo-upload",
                            accept="image/*",
                            multiple=False,
                            max_size=ctx.city.feedback.photo_max_mb * 1024 * 1024,
                        ),
                        html.Button(_("Remove the photo"), id="off-q-photo-remove", type="button", className="button"),
                        html.Span(
                            _("At most {mb} MB; location data is removed.", mb=ctx.city.feedback.photo_max_mb),
                            className="muted",
                        ),
                        html.Span(id="off-q-photo-msg", role="status", **{"aria-live": "polite"}),
                    ],
                    className="off-answer-photo",
                ),
                html.Button(_("Apply to selected"), id="off-q-apply", className="button"),
                html.H2(_("Assign")),
                dcc.Dropdown(id="off-q-assign-dept", options=depts, placeholder=_("Department")),
                html.Button(_("Assign selected"), id="off-q-assign", className="button"),
                html.P(id="off-q-msg", role="status", **{"aria-live": "polite"}),
            ],
            className="off-actions",
        ),
        dcc.Store(id="off-q-lang", data=lang),
        dcc.Store(id="off-q-refresh", data=0),
        dcc.Store(id="off-q-photo", data=[]),  # the answer's photo: its pending id, once made safe and stored
        dcc.Store(id="off-q-cursors", data=[None]),  # cursors[p] starts page p (keyset paging)
    ]


def _days(value: object) -> int | None:
    """A whole number of days from a number input (None when empty or not a number)."""
    try:
        n = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return min(max(n, 0), MAX_DAYS)


def _ints(values: object) -> tuple[int, ...]:
    if not isinstance(values, list):
        return ()
    return tuple(int(v) for v in values if isinstance(v, int) or (isinstance(v, str) and v.isdigit()))


def queue_filter(
    text: object,
    statuses: object,
    categories: object,
    districts: object,
    departments: object,
    min_age: object,
    max_age: object,
    supports: object,
    overdue: object,
    sort: object,
) -> workflow.QueueFilter:
    """The filter from the callback's values, whatever a client sends (unknown values are dropped)."""

    def strings(v: object, allowed: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        return tuple(x for x in v if isinstance(x, str) and x in allowed) if isinstance(v, list) else ()

    return workflow.QueueFilter(
        text=text[:200] if isinstance(text, str) else "",
        statuses=strings(statuses, COMMENT_STATUSES),
        categories=tuple(c for c in categories if isinstance(c, str))[:50] if isinstance(categories, list) else (),
        districts=_ints(districts),
        departments=_ints(departments),
        min_age_days=_days(min_age),
        max_age_days=_days(max_age),
        min_supports=_days(supports),
        overdue=isinstance(overdue, list) and "overdue" in overdue,
        sort=sort if sort in workflow.QUEUE_SORTS else "newest",
    )


def queue_rows(
    ctx: AppContext, f: workflow.QueueFilter, lang: str, page: int = 0, cursors: list | None = None
) -> tuple[list[dict], int, list]:
    """One page of rows as the official reads them (labels in their language, places not ids, photos as
    thumbnails), the total, and
    the page cursors known so far. A page reached page by page goes on by keyset from the cursor that starts it
    (``workflow.queue_after``); only a jump past the pages seen (typing a page number) counts by OFFSET.
    Raises ``data_sources.store.paging.BadCursor`` for a cursor the queue did not hand out."""
    _ = translator(lang)
    now = utcnow()
    days = ctx.city.officials.overdue_days
    known = list(cursors or [None])
    if page < len(known):
        df, total, nxt = workflow.queue_after(ctx.engine, f, days, now, known[page], PAGE_SIZE)
        if nxt is not None and page == len(known) - 1:
            known.append(nxt)
    else:
        df, total = workflow.queue_page(ctx.engine, f, days, now, page, PAGE_SIZE)
    photos = photos_of(ctx.engine, [int(i) for i in df["id"]], public=False) if len(df) else {}
    rows = [
        {
            "id": int(r.id),
            "created": fmt_datetime(r.created_at, lang, ctx.city.city.timezone),
            "age": fmt_number((now - r.created_at).days, lang),
            "category": category_label(r.category, _),
            "status": _(STATUS_LABELS.get(r.status, r.status)),
            "department": r.department if isinstance(r.department, str) else _("Unassigned"),
            "place": map_link(r.district if isinstance(r.district, str) else None, r.lat, r.lon, lang, _),
            "support_count": int(r.support_count),
            "text": r.text,
            "photos": photo_cell(photos.get(int(r.id), []), _),
        }
        for r in df.itertuples()
    ]
    return rows, total, known


def answer_photo(ctx: AppContext, contents: object, lang: str) -> tuple[list[str], str]:
    """An official's photo for an answer, from dcc.Upload's data URL, through the citizens' pipeline (checked by
    content, metadata removed, re-encoded, thumbnail) and stored as a pending photo: (its id in a list, message).
    A refusal keeps nothing and says why."""
    _ = translator(lang)
    limit = ctx.city.feedback.photo_max_mb * 1024 * 1024
    if isinstance(contents, str) and len(contents) > limit * 4 // 3 + 200:  # base64 is 4/3 of the bytes
        return [], _("The photo is too large (at most {mb} MB).", mb=ctx.city.feedback.photo_max_mb)
    data = data_url(contents, limit)
    if data is None:
        return [], _("This file is not a photo we can read (JPEG, PNG, WebP or HEIC).")
    try:
        photo_id = upload_photo(ctx.engine, ctx.media, data, PhotoLimits(max_bytes=limit))
    except PhotoRejected as e:
        return [], _(e.message, **e.params)
    return [photo_id], _("Photo ready: it is published with the answer.")


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("off-q-table", "data"),
        Output("off-q-table", "selected_row_ids"),
        Output("off-q-table", "page_count"),
        Output("off-q-table", "page_current"),
        Output("off-q-summary", "children"),
        Output("off-q-cursors", "data"),
        Input("off-q-f-text", "value"),
        Input("off-q-f-status", "value"),
        Input("off-q-f-category", "value"),
        Input("off-q-f-district", "value"),
        Input("off-q-dept", "value"),
        Input("off-q-f-min-age", "value"),
        Input("off-q-f-max-age", "value"),
        Input("off-q-f-supports", "value"),
        Input("off-q-f-overdue", "value"),
        Input("off-q-sort", "value"),
        Input("off-q-table", "page_current"),
        Input("off-q-refresh", "data"),
        State("off-q-lang", "data"),
        State("off-q-cursors", "data"),
    )
    @require_role(ROLE)
    def load(
        text: object,
        status: object,
        category: object,
        district: object,
        dept: object,
        min_age: object,
        max_age: object,
        supports: object,
        overdue: object,
        sort: object,
        page: object,
        _refresh: object,
        lang: str | None,
        cursors: object,
    ) -> tuple[list[dict], list, int, int, str, list]:
        lang = lang or "en"
        _ = translator(lang)
        f = queue_filter(text, status, category, district, dept, min_age, max_age, supports, overdue, sort)
        # A new filter starts at the first page; paging keeps the filter.
        paging = dash_ctx.triggered_id == "off-q-table" and isinstance(page, int) and page >= 0
        page = page if paging and isinstance(page, int) else 0
        known = cursors if paging and isinstance(cursors, list) and cursors else [None]
        try:
            rows, total, known = queue_rows(ctx, f, lang, page, known)
        except BadCursor:  # a tampered store: start again from the first page
            page = 0
            rows, total, known = queue_rows(ctx, f, lang)
        pages = max(1, -(-total // PAGE_SIZE))
        return rows, [], pages, page, _("Matching comments: {n}", n=fmt_number(total, lang)), known

    @app.callback(
        Output("off-q-answer", "value"),
        Input("off-q-status", "value"),
        State("off-q-lang", "data"),
        prevent_initial_call=True,
    )
    @require_role(ROLE)
    def template(status: Any, lang: str) -> Any:
        return translator(lang or "en")(workflow.answer_templates(ctx.city).get(status, ""))

    @app.callback(
        Output("off-q-photo", "data"),
        Output("off-q-photo-msg", "children"),
        Output("off-q-photo-upload", "contents"),
        Input("off-q-photo-upload", "contents"),
        Input("off-q-photo-remove", "n_clicks"),
        Input("off-q-refresh", "data"),
        State("off-q-lang", "data"),
        prevent_initial_call=True,
    )
    @require_role(ROLE)
    def photo(contents: object, _remove: object, _refresh: object, lang: str | None) -> tuple[list[str], str, None]:
        # A new photo replaces the one before; Remove, or any action applied (the refresh), clears it. An upload
        # never sent is purged after a day, like a citizen's.
        if dash_ctx.triggered_id != "off-q-photo-upload" or not contents:
            return [], "", None
        ids, msg = answer_photo(ctx, contents, lang or "en")
        return ids, msg, None

    @app.callback(
        Output("off-q-msg", "children"),
        Output("off-q-refresh", "data"),
        Input("off-q-apply", "n_clicks"),
        Input("off-q-assign", "n_clicks"),
        State("off-q-table", "selected_row_ids"),
        State("off-q-status", "value"),
        State("off-q-reason", "value"),
        State("off-q-answer", "value"),
        State("off-q-assign-dept", "value"),
        State("off-q-refresh", "data"),
        State("off-q-lang", "data"),
        State("off-q-photo", "data"),
        prevent_initial_call=True,
    )
    @require_role(ROLE)
    def act(
        _apply: Any,
        _assign: Any,
        ids: Any,
        status: Any,
        reason: Any,
        answer: Any,
        dept: Any,
        refresh: Any,
        lang: Any,
        photo_ids: Any,
    ) -> Any:
        _ = translator(lang or "en")
        actor = current_official().actor
        try:
            if dash_ctx.triggered_id == "off-q-assign":
                n = workflow.assign(ctx.engine, actor, ids or [], dept)
                return _("Assigned {n} comments.", n=n), (refresh or 0) + 1
            n = workflow.change_status(
                ctx.engine,
                actor,
                ids or [],
                status,
                answer or "",
                closed_reason=reason,
                photo_ids=valid_ids(photo_ids, 1),
            )
        except (workflow.WorkflowError, PhotoError) as e:
            return _(str(e), n=1), refresh
        return _("Updated {n} comments; the answer is public.", n=n), (refresh or 0) + 1
