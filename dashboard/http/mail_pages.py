"""The pages that citizens' mail links to, and the area-alerts form. Plain HTML forms, no login and no script:

* ``/mail/confirm/<token>``: confirm a subscription (GET shows a button, POST confirms: mail scanners that
  open links must not confirm on their own);
* ``/mail/unsubscribe/<token>``: GET shows two buttons (this comment or alert / all mail to this address);
  POST stops; a POST with ``List-Unsubscribe=One-Click`` is the one-click unsubscribe of RFC 8058;
* ``/mail/fixed/<token>``: the author's answer to "was it fixed?" (GET asks, POST records);
* ``/alerts``: subscribe to new comments in a district, a category or near a point (confirmed by mail).

Each token is random (``secrets.token_urlsafe``), one per subscription. Every page answers the same way for an
unknown token and says nothing about the address behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import flask
from dash import Dash

from dashboard.i18n import translator
from dashboard.server.limits import allow
from dashboard.ui.comments import category_label
from data_sources.comments import notifications
from data_sources.comments.notifications import AreaFilter
from data_sources.comments.records import CommentRejected
from data_sources.comments.workflow import WorkflowError, citizen_answer_fixed

if TYPE_CHECKING:  # dashboard.app imports this module at start-up
    from dashboard.context import AppContext

ALERTS_PATH = "/alerts"

PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><main id="main" class="mail-page"><h1>{{ title }}</h1>
{% for p in paragraphs %}<p{% if loop.first and result %} id="mail-result" role="status"{% endif %}>{{ p }}</p>{% endfor %}
{% for f in forms %}<form method="post" action="{{ f.action }}"{% if f.id %} id="{{ f.id }}"{% endif %} class="mail-form">
{% for name, value in f.hidden %}<input type="hidden" name="{{ name }}" value="{{ value }}">{% endfor %}
{% for field in f.fields %}<label for="{{ field.id }}" class="label">{{ field.label }}</label>
{% if field.options %}<select id="{{ field.id }}" name="{{ field.name }}">{% for v, l in field.options %}<option value="{{ v }}"{% if v == field.value %} selected{% endif %}>{{ l }}</option>{% endfor %}</select>
{% else %}<input id="{{ field.id }}" name="{{ field.name }}" type="{{ field.type }}" value="{{ field.value }}"{% if field.required %} required{% endif %}{% if field.step %} step="{{ field.step }}"{% endif %}>{% endif %}
{% endfor %}<button type="submit" name="{{ f.button_name }}" value="{{ f.button_value }}" id="{{ f.button_id }}" class="button primary">{{ f.button }}</button></form>
{% endfor %}
{% for text, href in links %}<p><a href="{{ href }}">{{ text }}</a></p>{% endfor %}
</main></body></html>"""


def _lang(ctx: AppContext) -> str:
    return ctx.language(flask.request.args.to_dict(flat=False))


def page(
    lang: str,
    title: str,
    paragraphs: list[str],
    forms: list[dict] | None = None,
    links: list[tuple[str, str]] | None = None,
    status: int = 200,
    result: bool = False,
) -> flask.Response:
    html = flask.render_template_string(
        PAGE, lang=lang, title=title, paragraphs=paragraphs, forms=forms or [], links=links or [], result=result
    )
    return flask.Response(
        html,
        status=status,
        mimetype="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _form(action: str, button: str, button_id: str, name: str = "go", value: str = "1", **kw: object) -> dict:
    return {
        "action": action,
        "button": button,
        "button_id": button_id,
        "button_name": name,
        "button_value": value,
        "hidden": kw.pop("hidden", []),
        "fields": kw.pop("fields", []),
        "id": kw.pop("id", ""),
    }


def _unknown(lang: str) -> flask.Response:
    _ = translator(lang)
    return page(
        lang,
        _("This link is not valid"),
        [_("It may have been mistyped, or the address was forgotten after the retention period.")],
        links=[(_("Back to the map"), f"/?lang={lang}")],
        status=404,
    )


def _field(form: Mapping[str, str], key: str) -> str | None:
    return (form.get(key) or "").strip() or None


def _number(form: Mapping[str, str], key: str) -> float | None:
    """A number from the form (a decimal comma is accepted), None when empty."""
    raw = _field(form, key)
    if raw is None:
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise CommentRejected("point", "Give a point (latitude and longitude) and a radius in metres.") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise CommentRejected("point", "Give a point (latitude and longitude) and a radius in metres.")
    return value


def init_app(app: Dash, ctx: AppContext) -> None:
    server: flask.Flask = app.server

    @server.route("/mail/confirm/<token>", methods=["GET", "POST"])
    def mail_confirm(token: str) -> flask.Response:
        lang = _lang(ctx)
        _ = translator(lang)
        sub = notifications.lookup(ctx.engine, token)
        if sub is None:
            return _unknown(lang)
        if flask.request.method == "GET" and not sub.confirmed:
            return page(
                lang,
                _("Confirm your email"),
                [_("Press the button to receive these mails.")],
                [_form(flask.request.full_path, _("Yes, send me these mails"), "mail-confirm")],
            )
        if not sub.stopped:
            sub = notifications.confirm(ctx.engine, token) or sub
        if sub.stopped:
            return page(
                lang, _("These mails are stopped"), [_("You asked us to stop them. Nothing more is sent.")], result=True
            )
        done = {
            "area": _("Thank you. You will get alerts about new comments as you asked."),
            "supporter": _("Thank you. You will get a mail when the city updates comment {n}.", n=sub.comment_id),
            "author": _("Thank you. You will get a mail when the city updates comment {n}.", n=sub.comment_id),
        }
        unsub = f"/mail/unsubscribe/{token}?lang={lang}"
        links = [(_("See the comment"), f"/comments/{sub.comment_id}?lang={lang}")] if sub.comment_id else []
        return page(
            lang, _("Email confirmed"), [done[sub.kind]], links=links + [(_("Stop these mails"), unsub)], result=True
        )

    @server.route("/mail/unsubscribe/<token>", methods=["GET", "POST"])
    def mail_unsubscribe(token: str) -> flask.Response:
        lang = _lang(ctx)
        _ = translator(lang)
        form = flask.request.form
        if flask.request.method == "POST":
            # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" to the List-Unsubscribe address.
            scope = "all" if form.get("scope") == "all" else "this"
            sub = notifications.unsubscribe(ctx.engine, token, scope)
            if sub is None:
                return _unknown(lang)
            msg = (
                _("Done: no more mail goes to this address from us.")
                if scope == "all"
                else _("Done: you will get no more mail about this.")
            )
            return page(lang, _("Mail stopped"), [msg], result=True)
        sub = notifications.lookup(ctx.engine, token)
        if sub is None:
            return _unknown(lang)
        what = _("alerts about new comments") if sub.kind == "area" else _("updates on comment {n}", n=sub.comment_id)
        return page(
            lang,
            _("Stop mail"),
            [_("You can stop {what}, or all mail from us to this address.", what=what)],
            [
                _form(flask.request.full_path, _("Stop these mails"), "mail-stop-this", "scope", "this"),
                _form(flask.request.full_path, _("Stop all mail to this address"), "mail-stop-all", "scope", "all"),
            ],
        )

    @server.route("/mail/fixed/<token>", methods=["GET", "POST"])
    def mail_fixed(token: str) -> flask.Response:
        lang = _lang(ctx)
        _ = translator(lang)
        sub = notifications.lookup(ctx.engine, token)
        if sub is None or sub.kind != "author":
            return _unknown(lang)
        comment = [(_("See the comment"), f"/comments/{sub.comment_id}?lang={lang}")]
        if flask.request.method == "GET":
            chosen = flask.request.args.get("answer")
            order = ["no", "yes"] if chosen == "no" else ["yes", "no"]
            labels = {"yes": _("Yes, it is fixed"), "no": _("No, it is not fixed")}
            return page(
                lang,
                _("Was it fixed?"),
                [
                    _("The city marked your comment {n} as resolved. Is it fixed?", n=sub.comment_id),
                    _("If you answer no, the comment is opened again and goes back to the city's queue."),
                ],
                [_form(f"/mail/fixed/{token}?lang={lang}", labels[a], f"mail-fixed-{a}", "answer", a) for a in order],
                links=comment,
            )
        try:
            result = citizen_answer_fixed(ctx.engine, token, flask.request.form.get("answer", ""))
        except WorkflowError:
            return page(lang, _("Was it fixed?"), [_("Choose yes or no.")], status=400)
        text = {
            "confirmed": _("Thank you: you confirmed it is fixed. This shows in the city's public record."),
            "reopened": _("Thank you. The comment is open again and back in the city's queue."),
            "already": _("You have already answered. Thank you."),
            "not_resolved": _("The comment is no longer marked as resolved, so there is nothing to answer."),
        }[result]
        return page(lang, _("Was it fixed?"), [text], links=comment, result=True)

    @server.route(ALERTS_PATH, methods=["GET", "POST"])
    def alerts() -> flask.Response:
        from data_sources.store import queries

        lang = _lang(ctx)
        _ = translator(lang)
        city = ctx.city
        form = flask.request.form
        d = queries.districts(ctx.engine)
        districts = (
            [("", _("Any district"))] + [(str(int(i)), n) for i, n in zip(d["id"], d["name"])]
            if len(d)
            else [("", _("Any district"))]
        )
        cats = [("", _("Any category"))] + [(c, category_label(c, _)) for c in city.city.comment_categories]
        freq = [("instant", _("As they are published")), ("daily", _("Once a day"))]
        intro = [
            _(
                "Get a mail about new public comments in a district, in a category, or near a place. "
                "We first send one mail to confirm the address; nothing else until you confirm. "
                "Every mail has a link to stop."
            ),
            _("Comments are shown at their public location (an area of about 170 m), never the exact spot."),
        ]
        feeds = [(_("Or follow the Atom feeds"), f"/you-said-we-did?lang={lang}")]

        def the_form(error: str = "") -> flask.Response:
            fields = [
                {
                    "id": "alert-email",
                    "name": "email",
                    "type": "email",
                    "label": _("Your email"),
                    "value": form.get("email", ""),
                    "required": True,
                },
                {
                    "id": "alert-district",
                    "name": "district",
                    "label": _("District"),
                    "options": districts,
                    "value": form.get("district", ""),
                },
                {
                    "id": "alert-category",
                    "name": "category",
                    "label": _("Category"),
                    "options": cats,
                    "value": form.get("category", flask.request.args.get("category", "")),
                },
                {
                    "id": "alert-lat",
                    "name": "lat",
                    "type": "number",
                    "step": "any",
                    "label": _("Near a point: latitude"),
                    "value": form.get("lat", ""),
                },
                {
                    "id": "alert-lon",
                    "name": "lon",
                    "type": "number",
                    "step": "any",
                    "label": _("Longitude"),
                    "value": form.get("lon", ""),
                },
                {
                    "id": "alert-radius",
                    "name": "radius_m",
                    "type": "number",
                    "step": "any",
                    "label": _("Radius in metres (up to {n})", n=notifications.MAX_RADIUS_M),
                    "value": form.get("radius_m", ""),
                },
                {
                    "id": "alert-frequency",
                    "name": "frequency",
                    "label": _("How often"),
                    "options": freq,
                    "value": form.get("frequency", "instant"),
                },
            ]
            paras = ([error] if error else []) + intro
            return page(
                lang,
                _("Alerts about new comments"),
                paras,
                [_form(f"{ALERTS_PATH}?lang={lang}", _("Subscribe"), "alert-submit", fields=fields, id="alert-form")],
                links=feeds,
                status=422 if error else 200,
                result=bool(error),
            )

        if flask.request.method == "GET":
            return the_form()
        email = notifications.mail_address(form.get("email"))
        if email is None:
            return the_form(_("That email address does not look right."))
        try:
            district = _field(form, "district")
            if district is not None and district not in {v for v, _l in districts}:
                raise CommentRejected("district", "Choose a district.")
            area = notifications.validate_area(
                AreaFilter(
                    int(district) if district else None,
                    _field(form, "category"),
                    _number(form, "lat"),
                    _number(form, "lon"),
                    _number(form, "radius_m"),
                    form.get("frequency") or "instant",
                ),
                list(city.city.comment_categories),
                city.city.bounds,
            )
        except CommentRejected as e:
            return the_form(_(e.message, **e.params))
        if not allow(ctx, city.feedback.alert_rate, "alert"):
            return the_form(_("Too many requests in a short time; wait a while and try again."))
        notifications.subscribe(
            ctx.engine, email, "area", lang, area=area, confirmations_per_day=city.feedback.confirmations_per_day
        )
        # The same answer whether or not a mail could go (daily cap, stopped address): nothing about the address leaks.
        return page(
            lang,
            _("Check your inbox"),
            [
                _(
                    "If this address can receive mail from us, a message is on its way. "
                    "Press the button in it to start the alerts."
                )
            ],
            result=True,
        )
