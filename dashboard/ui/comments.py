"""Shared pieces of the feedback pages: labels, the evidence sentence, and the public view of one comment.

Citizens' and officials' text is passed to Dash components as plain strings (React renders it as text); nothing
here builds HTML from strings. Public views never see the exact location, the email or the unredacted text:
the rows come from ``data_sources.comments.records``' public reads, which do not select them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from dash import html

from dashboard.context import AppContext
from dashboard.i18n import BABEL_LOCALES, fmt_datetime, fmt_number, translator

if TYPE_CHECKING:  # dashboard.app imports the pages, which import this module
    from dashboard.context import AppContext

STATUS_LABELS = {
    "new": "New",
    "acknowledged": "Acknowledged",
    "in_progress": "In progress",
    "resolved": "Resolved",
    "closed": "Closed",
}
CLOSED_REASONS = {
    "duplicate": "duplicate",
    "not_city": "not the city's responsibility",
    "spam": "spam",
    "no_action": "no action possible",
    "other": "other reason",
}
CATEGORY_LABELS = {
    "air": "Air",
    "traffic": "Traffic",
    "cycling": "Cycling",
    "walking": "Walking",
    "noise": "Noise",
    "street": "Street",
    "green_space": "Green space",
    "other": "Other",
}
METRIC_LABELS = {"pm25": "PM2.5", "vehicles": "Traffic", "cyclists": "Cyclists"}
PLACE_WORDS = {"air_station": "station", "traffic_counter": "counter", "cycle_counter": "counter"}
FLAG_REASON_LABELS = {
    "abusive": "Abusive or offensive",
    "personal_data": "Shows personal data",
    "spam": "Spam",
    "other": "Something else",
}


def category_label(cat: str, _: Any) -> str:
    # Categories a city adds in its TOML that we have no label for are shown from their slug.
    return _(CATEGORY_LABELS[cat]) if cat in CATEGORY_LABELS else cat.replace("_", " ").capitalize()


def status_label(status: str, closed_reason: str | None, _: Any) -> str:
    label = _(STATUS_LABELS.get(status, status))
    if status == "closed" and closed_reason:
        label = _("Closed: {reason}", reason=_(CLOSED_REASONS.get(closed_reason, closed_reason)))
    return label


def short_time(value: datetime | str, lang: str, tz: str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return format_datetime(value, format="short", tzinfo=ZoneInfo(tz), locale=BABEL_LOCALES.get(lang, "en_GB"))


def evidence_text(ev: dict | None, lang: str, tz: str = "UTC") -> str:
    """'PM2.5 at the nearest station, 400 m away: 23 µg/m³ at 16/11/2026, 08:00' (empty when there is none)."""
    if not ev:
        return ""
    _ = translator(lang)
    return _(
        "{metric} at the nearest {place}, {distance} m away: {value} {unit} at {time}",
        metric=_(METRIC_LABELS.get(ev.get("metric"), ev.get("metric", ""))),
        place=_(PLACE_WORDS.get(ev.get("layer"), "station")),
        distance=fmt_number(ev.get("distance_m"), lang),
        value=fmt_number(ev.get("value"), lang, 0 if float(ev.get("value") or 0) >= 100 else 1),
        unit=ev.get("unit", ""),
        time=short_time(ev["time"], lang, tz),
    )


def history_items(events: list[dict], lang: str, tz: str, answer_photos: dict[int, list[dict]] | None = None) -> list:
    """The public history; ``answer_photos``: the city's photos per answer (event id), shown beside it."""
    _ = translator(lang)
    items = []
    for e in events:
        if e["kind"] == "status":
            head = _("Status: {s}", s=_(STATUS_LABELS.get(e["to_status"], e["to_status"] or "")))
        elif e["kind"] == "fixed_confirmed":
            head = _("The author confirmed it is fixed")
        elif e["kind"] == "reopened":
            head = _("Reopened: the author says it is not fixed")
            e = {**e, "public_text": None}  # the stored note is English; the heading says it in the reader's language
        else:
            head = _("Answer from the city")
        items.append(
            html.Li(
                [
                    html.Span(fmt_datetime(e["created_at"], lang, tz), className="history-time"),
                    " ",
                    html.Strong(head),
                    *([html.P(e["public_text"], className="history-text")] if e.get("public_text") else []),
                    *filter(
                        None,
                        [
                            photo_gallery(
                                (answer_photos or {}).get(e.get("id"), []),  # type: ignore[arg-type]
                                lang,
                                label=_("Photo from the city {n} of {m}"),
                                gallery_id=f"answer-photos-{e.get('id')}",
                            )
                        ],
                    ),
                ],
                className=f"history-item history-{e['kind']}",
            )
        )
    return items


def photo_gallery(
    photos: list[dict], lang: str, label: str | None = None, gallery_id: str = "comment-photos"
) -> html.Ul | None:
    """Public photos as thumbnails, each a link to the full photo (served by dashboard.http.media). ``label``:
    the alt text, with {n} and {m} (already translated)."""
    _ = translator(lang)
    if not photos:
        return None
    label = label or _("Photo {n} of {m}")
    return html.Ul(
        [
            html.Li(
                html.A(
                    html.Img(
                        src=f"/media/{p['id']}.thumb.jpg",
                        alt=label.format(n=i, m=len(photos)),
                        width=min(400, p["width"]),
                        height=round(p["height"] * min(400, p["width"]) / p["width"]),
                        className="photo-thumb",
                    ),
                    href=f"/media/{p['id']}.jpg",
                    target="_blank",
                    rel="noopener",
                )
            )
            for i, p in enumerate(photos, 1)
        ],
        className="photo-gallery",
        id=gallery_id,
    )


def comment_view(
    ctx: AppContext,
    lang: str,
    c: dict,
    events: list[dict],
    private: bool = False,
    photos: list[dict] | None = None,
    answer_photos: dict[int, list[dict]] | None = None,
) -> html.Article:
    """One comment: status, text, photos, evidence, supports, history and its feed. ``private``: the author's
    view. ``photos``: its public photos (``data_sources.comments.photo_records.photos_of``); ``answer_photos``:
    the city's, per answer (``answer_photos_of``), shown beside each answer."""
    _ = translator(lang)
    tz = ctx.city.city.timezone
    visible = c["moderation"] == "published" or private
    notice = []
    if c["moderation"] == "held":
        notice.append(
            html.P(
                _("This comment is waiting for a moderator's review before it is published."),
                className="notice",
                role="status",
            )
        )
    elif c["moderation"] == "hidden":
        notice.append(
            html.P(_("This comment is hidden while moderators review it."), className="notice", role="status")
        )
    meta = [
        html.Span(status_label(c["status"], c.get("closed_reason"), _), className=f"status status-{c['status']}"),
        html.Span(category_label(c["category"], _), className="comment-category"),
        *([html.Span(_("District: {d}", d=c["district"]), className="comment-district")] if c.get("district") else []),
        html.Span(_("Sent {t}", t=fmt_datetime(c["created_at"], lang, tz)), className="comment-date"),
    ]
    body = []
    if visible:
        body.append(html.Blockquote(c["text"], className="comment-text", id="comment-text"))
        gallery = photo_gallery(photos or [], lang) if c["moderation"] == "published" else None
        if gallery is not None:
            body.append(gallery)
        ev = evidence_text(c.get("evidence"), lang, tz)
        if ev:
            body.append(
                html.P(
                    [html.Strong(_("Measured nearby when it was sent: ")), ev],
                    className="evidence",
                    id="comment-evidence",
                )
            )
    hist = history_items(events, lang, tz, answer_photos if c["moderation"] == "published" else None)
    return html.Article(
        [
            html.H1(_("Comment {n}", n=c["id"]), className="comment-title"),
            html.P(meta, className="comment-meta"),
            *notice,
            *body,
            html.P(
                _("{n} people support this comment", n=fmt_number(c["support_count"], lang)),
                id="comment-supports",
                className="supports",
            ),
            html.H2(_("What happened"), className="section-title"),
            html.Ol(hist, className="history")
            if hist
            else html.P(_("No answer from the city yet."), className="muted"),
            html.P(
                html.A(_("Follow this comment (Atom feed)"), href=f"/feeds/comments/{c['id']}.atom"),
                className="feed-link",
            )
            if c["moderation"] == "published"
            else None,
        ],
        className="comment-view",
    )


def before_after_figures(pair: tuple[dict | None, dict | None] | None, lang: str) -> list:
    """The citizen's photo (before) and the city's (after) side by side, as thumbnails linking to the photos."""
    _ = translator(lang)
    figures = []
    for p, caption in zip(pair or (None, None), (_("Before (the citizen's photo)"), _("After (the city's photo)"))):
        if p is None:
            continue
        side = min(400, p["width"])
        figures.append(
            html.Figure(
                [
                    html.A(
                        html.Img(
                            src=f"/media/{p['id']}.thumb.jpg",
                            alt=caption,
                            width=side,
                            height=round(p["height"] * side / p["width"]),
                            className="photo-thumb",
                        ),
                        href=f"/media/{p['id']}.jpg",
                        target="_blank",
                        rel="noopener",
                    ),
                    html.Figcaption(caption),
                ],
                className="before-after-photo",
            )
        )
    return [html.Div(figures, className="before-after")] if figures else []


def comment_list_item(
    c: dict, answer: str | None, lang: str, tz: str, photos: tuple[dict | None, dict | None] | None = None
) -> html.Li:
    """A comment in a list (you said, we did): its text, status, the city's last public words and, when there
    are any, the photos before and after (``data_sources.comments.photo_records.before_after``)."""
    _ = translator(lang)
    return html.Li(
        [
            html.P(
                [
                    html.Span(
                        status_label(c["status"], c.get("closed_reason"), _), className=f"status status-{c['status']}"
                    ),
                    " ",
                    html.Span(category_label(c["category"], _), className="comment-category"),
                    *([" · ", c["district"]] if c.get("district") else []),
                ],
                className="comment-meta",
            ),
            html.Div([html.Strong(_("You said: ")), html.Span(c["text"])], className="you-said"),
            *([html.Div([html.Strong(_("We did: ")), html.Span(answer)], className="we-did")] if answer else []),
            *before_after_figures(photos, lang),
            html.P(
                [
                    html.A(_("Details"), href=f"/comments/{c['id']}?lang={lang}"),
                    *(
                        [" · ", _("Resolved {t}", t=fmt_datetime(c["resolved_at"], lang, tz))]
                        if c.get("resolved_at")
                        else []
                    ),
                ],
                className="comment-links",
            ),
        ],
        className="comment-item",
    )


def _vote(
    ctx: AppContext,
    lang: str,
    comment_id: object,
    browser: object,
    scope: str,
    rate: str,
    action: Callable[[int, object, str], object],
) -> tuple[str, object]:
    """Run a support or a flag under its rate limit per client address; (message, VoteResult or None).
    ``action(comment id, browser id, keyed hash of the client's address)``."""
    from dashboard.server.limits import allow, client_address_hash
    from data_sources.comments.records import CommentRejected, as_id

    _ = translator(lang)
    cid = as_id(comment_id)
    if cid is None:
        return _("That comment is not available."), None
    try:
        if not allow(ctx, rate, scope):
            return _("Too many clicks in a short time; wait a minute and try again."), None
        return "", action(cid, browser, client_address_hash(ctx))
    except CommentRejected as e:
        return _(e.message, **e.params), None


def support_action(ctx: AppContext, lang: str, comment_id: object, browser: object, email: str | None = None) -> html.P:
    """Count a "me too"; with an email, also ask for updates on the comment (confirmed by mail first)."""
    from data_sources.comments.notifications import mail_address, subscribe
    from data_sources.comments.records import add_support, as_id

    _ = translator(lang)
    email = email.strip() if isinstance(email, str) else ""
    if email and mail_address(email) is None:
        return html.P(_("That email address does not look right; leave it empty if you prefer."), className="vote-msg")
    msg, r = _vote(
        ctx,
        lang,
        comment_id,
        browser,
        "support",
        ctx.city.feedback.support_rate,
        lambda cid, b, a: add_support(ctx.engine, cid, b, a),
    )
    if r is not None:
        msg = (
            _("Thank you: your support is counted ({n} in all).", n=r.count)
            if r.added
            else _("This comment already counts a support from your browser or your network ({n} in all).", n=r.count)
        )
        if email:
            subscribe(
                ctx.engine,
                email,
                "supporter",
                lang,
                comment_id=as_id(comment_id) or 0,
                confirmations_per_day=ctx.city.feedback.confirmations_per_day,
            )
            msg += " " + _("We have sent a mail to confirm your address; updates start once you confirm.")
    return html.P(msg, className="vote-msg")


def flag_action(ctx: AppContext, lang: str, comment_id: object, browser: object, reason: object) -> html.P:
    from data_sources.comments.records import flag_comment

    _ = translator(lang)
    fb = ctx.city.feedback
    msg, r = _vote(
        ctx,
        lang,
        comment_id,
        browser,
        "flag",
        fb.flag_rate,
        lambda cid, b, a: flag_comment(ctx.engine, cid, b, reason, fb.flag_threshold, a, fb.flag_window_hours),
    )
    if r is not None:
        msg = (
            _("Thank you; moderators will look at it.")
            if r.added
            else _("This comment is already flagged from your browser or your network.")
        )
        if r.hidden:
            msg = _("Thank you; the comment is hidden until a moderator has looked at it.")
    return html.P(msg, className="vote-msg")
