"""Citizens' mail: render an outbox row in its subscription's language and send it over SMTP (``citydash notify``).

The outbox and the double opt-in live in ``data_sources.comments.notifications``; this module only turns rows into
messages (here because the translations are dashboard's) and hands them to a mail server with the standard
library (``email`` builds the MIME, ``smtplib`` sends it).

Delivery is **at most once**. Each message is marked "sending" (committed, with its Message-ID) before it goes
and "sent" after the server accepted it. A send that fails for sure (the server cannot be reached, or answers
with an error code) goes back to "pending" and is tried again after 1, 2, 4 ... minutes, up to 6 hours apart:
it is never dropped. A send that may or may not have gone (the connection died after the message was handed
over, or the worker was killed between the send and the mark) is left "sending" and then marked "uncertain"
(after 10 minutes) and is not sent again by itself: a duplicate of "your comment is resolved" is worse than a
message an operator can see in /healthz and resend with ``citydash notify --resend-uncertain``; a resent
message keeps its first Message-ID, so that the recipient's mail system can recognise a duplicate.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime as mail_date
from email.utils import make_msgid, parseaddr
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import jinja2
from sqlalchemy import Engine

from dashboard.i18n import fmt_date, translator
from dashboard.ui.comments import CLOSED_REASONS, STATUS_LABELS, category_label
from data_sources.comments import notifications as outbox
from data_sources.comments.notifications import OutboxItem, missing_settings
from data_sources.config import CityConfig, Settings
from data_sources.store.db import utcnow

SMTP_TIMEOUT = 30
# CRLF line ends, and header lines up to RFC 5322's 998 characters: folded at 78, a long List-Unsubscribe URL would
# be turned into an RFC 2047 encoded word, which mail programs do not read as a URL.
WIRE = SMTP.clone(max_line_length=998)


class MailNotConfigured(RuntimeError):
    pass


# --- SMTP ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: bool  # implicit TLS from the first byte (smtps://, usually port 465)
    starttls: bool  # upgrade a plain connection (smtp+starttls:// or ?starttls=1, usually port 587)
    user: str | None
    password: str | None
    timeout: float = SMTP_TIMEOUT


def parse_smtp_url(url: str) -> SmtpConfig:
    """``smtp://user:pass@host:port`` (plain), ``smtp+starttls://...`` or ``smtp://...?starttls=1`` (STARTTLS),
    ``smtps://...`` (TLS). The user and password are URL-encoded (``%40`` for ``@``). ``?timeout=`` in seconds."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
        raise ValueError("CITYDASH_SMTP_URL: expected smtp://, smtp+starttls:// or smtps://user:pass@host:port")
    tls = scheme == "smtps"
    starttls = scheme == "smtp+starttls" or query.get("starttls", "").lower() in ("1", "true", "yes")
    port = parts.port or (465 if tls else 587 if starttls else 25)
    return SmtpConfig(
        parts.hostname,
        port,
        tls,
        starttls,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
        float(query.get("timeout", SMTP_TIMEOUT)),
    )


class SendFailed(Exception):
    """Not sent, for sure: try again later."""


class SendUncertain(Exception):
    """Handed to the server, but its answer never came: perhaps sent."""


class Transport(Protocol):
    def send(self, msg: EmailMessage) -> None: ...

    def close(self) -> None: ...


class SmtpTransport:
    """One SMTP connection, opened at the first message and kept for the batch."""

    def __init__(self, cfg: SmtpConfig) -> None:
        self.cfg = cfg
        self.conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.cfg
        try:
            if c.tls:
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
                if c.starttls:
                    conn.starttls(context=ssl.create_default_context())
            if c.user:
                conn.login(c.user, c.password or "")
        except (smtplib.SMTPException, OSError) as e:
            raise SendFailed(f"cannot reach {c.host}:{c.port}: {e}") from e
        return conn

    def send(self, msg: EmailMessage) -> None:
        if self.conn is None:
            self.conn = self._connect()
        conn = self.conn
        sender, rcpt = parseaddr(msg["From"])[1], parseaddr(msg["To"])[1]
        try:
            conn.ehlo_or_helo_if_needed()
            code, resp = conn.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, sender)
            code, resp = conn.rcpt(rcpt)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({rcpt: (code, resp)})
        except (smtplib.SMTPException, OSError) as e:
            self._reset()
            raise SendFailed(str(e)) from e
        try:
            code, resp = conn.data(msg.as_bytes(policy=WIRE))
        except smtplib.SMTPDataError as e:  # the server answered "no": not delivered
            self._reset()
            raise SendFailed(str(e)) from e
        except (smtplib.SMTPException, OSError) as e:  # handed over, answer lost
            self.close()
            raise SendUncertain(str(e)) from e

    def _reset(self) -> None:
        try:
            if self.conn is not None:
                self.conn.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                self.conn.close()
            self.conn = None


# --- rendering -------------------------------------------------------------------------------------------------

_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; max-width: 40em">
{% for block in blocks %}{% if block.kind == "p" %}<p>{{ block.text }}</p>
{% elif block.kind == "quote" %}<blockquote style="border-left: 4px solid #ccc; margin: 0; padding-left: 1em; white-space: pre-wrap">{{ block.text }}</blockquote>
{% elif block.kind == "link" %}<p><a href="{{ block.href }}">{{ block.text }}</a></p>
{% elif block.kind == "item" %}<p><strong>{{ block.head }}</strong><br><span style="white-space: pre-wrap">{{ block.text }}</span><br><a href="{{ block.href }}">{{ block.link }}</a></p>
{% endif %}{% endfor %}
<hr><p style="font-size: small; color: #555">{{ footer }} <a href="{{ unsubscribe }}">{{ stop }}</a></p>
</body></html>
""")


@dataclass
class Block:
    kind: str  # p | quote | link | item
    text: str
    href: str = ""
    head: str = ""
    link: str = ""


def _plain(blocks: list[Block], footer: str, stop: str, unsubscribe: str) -> str:
    out = []
    for b in blocks:
        if b.kind == "quote":
            out.append("\n".join("> " + line for line in b.text.splitlines()))
        elif b.kind == "link":
            out.append(f"{b.text}:\n{b.href}")
        elif b.kind == "item":
            out.append(f"{b.head}\n{b.text}\n{b.href}")
        else:
            out.append(b.text)
    return "\n\n".join(out) + f"\n\n-- \n{footer}\n{stop}: {unsubscribe}\n"


def links(public_url: str, token: str, lang: str) -> dict[str, str]:
    base = public_url.rstrip("/")
    return {
        "confirm": f"{base}/mail/confirm/{token}?lang={lang}",
        "unsubscribe": f"{base}/mail/unsubscribe/{token}?lang={lang}",
        "fixed_yes": f"{base}/mail/fixed/{token}?answer=yes&lang={lang}",
        "fixed_no": f"{base}/mail/fixed/{token}?answer=no&lang={lang}",
        "base": base,
    }


def content(item: OutboxItem, city: CityConfig, public_url: str) -> tuple[str, list[Block]]:
    """(subject, blocks) of a message in the subscription's language. Pure."""
    lang = item.language if item.language in city.city.languages else city.city.default_language
    _ = translator(lang)
    name = city.city.name
    p = item.params
    ln = links(public_url, item.token, lang)
    n = p.get("comment_id") or item.comment_id
    comment_link = f"{ln['base']}/comments/{n}?lang={lang}"
    if item.kind == "confirm":
        what = p.get("what")
        if what == "area":
            parts = []
            if p.get("district"):
                parts.append(_("in the district {d}", d=p["district"]))
            if p.get("category"):
                parts.append(_("in the category {c}", c=category_label(p["category"], _)))
            if p.get("point"):
                parts.append(
                    _(
                        "within {m} m of {lat}, {lon}",
                        m=round(p["radius_m"]),
                        lat=round(p["point"][0], 5),
                        lon=round(p["point"][1], 5),
                    )
                )
            how = _("once a day") if p.get("frequency") == "daily" else _("as they are published")
            ask = _(
                "Someone, we hope you, asked on {city} for alerts about new comments {where}, {how}.",
                city=name,
                where=", ".join(parts),
                how=how,
            )
            subject = _("{city}: confirm your comment alerts", city=name)
        elif what == "supporter":
            ask = _(
                "Someone, we hope you, supported comment {n} on {city} and asked for updates on it by mail.",
                n=n,
                city=name,
            )
            subject = _("{city}: confirm updates on comment {n}", city=name, n=n)
        else:
            ask = _(
                "Someone, we hope you, sent comment {n} to {city} and asked for updates on it by mail.", n=n, city=name
            )
            subject = _("{city}: confirm updates on comment {n}", city=name, n=n)
        return subject, [
            Block("p", ask),
            Block("link", _("Yes, send me these mails"), ln["confirm"]),
            Block("p", _("If it was not you, ignore this message: nothing else will be sent to this address.")),
        ]
    if item.kind in ("update", "closed"):
        status = _(STATUS_LABELS.get(str(p.get("status")), str(p.get("status") or "")))
        blocks = []
        if item.kind == "closed":
            reason = _(CLOSED_REASONS.get(str(p.get("closed_reason")), str(p.get("closed_reason") or "other reason")))
            subject = _("{city}: comment {n} is closed", city=name, n=n)
            blocks.append(Block("p", _("The city has closed comment {n} ({reason}).", n=n, reason=reason)))
        else:
            subject = _("{city}: comment {n} is now {status}", city=name, n=n, status=status.lower())
            blocks.append(
                Block("p", _("The city has updated comment {n}. Its status is now: {status}.", n=n, status=status))
            )
        if p.get("answer"):
            blocks += [Block("p", _("The city's answer:")), Block("quote", p["answer"])]
        blocks.append(Block("link", _("See the comment and its history"), comment_link))
        return subject, blocks
    if item.kind == "fixed_check":
        when = fmt_date(datetime.fromisoformat(p["resolved_at"]), lang) if p.get("resolved_at") else ""
        return _("{city}: was it fixed? (comment {n})", city=name, n=n), [
            Block(
                "p", _("On {date} the city marked your comment {n} as resolved. Was it really fixed?", date=when, n=n)
            ),
            Block("link", _("Yes, it is fixed"), ln["fixed_yes"]),
            Block("link", _("No, it is not fixed"), ln["fixed_no"]),
            Block("p", _("If you answer no, the comment is opened again and goes back to the city's queue.")),
            Block("link", _("See the comment and its history"), comment_link),
        ]
    if item.kind == "area":
        comments = p.get("comments") or []
        total = len(comments) + int(p.get("more") or 0)
        blocks = [
            Block(
                "p",
                _("{n} new comments match your alert on {city}.", n=total, city=name)
                if total != 1
                else _("A new comment matches your alert on {city}.", city=name),
            )
        ]
        for c in comments:
            head = category_label(c["category"], _) + (f" · {c['district']}" if c.get("district") else "")
            blocks.append(
                Block(
                    "item", c["text"], f"{ln['base']}/comments/{c['id']}?lang={lang}", head, _("Comment {n}", n=c["id"])
                )
            )
        if p.get("more"):
            blocks.append(Block("p", _("And {n} more on the map.", n=p["more"])))
        subject = (
            _("{city}: {n} new comments in your area", city=name, n=total)
            if total != 1
            else _("{city}: a new comment in your area", city=name)
        )
        return subject, blocks
    raise ValueError(f"unknown mail kind {item.kind!r}")


def render(item: OutboxItem, city: CityConfig, settings: Settings, message_id: str, now: datetime) -> EmailMessage:
    """The whole message: plain text and HTML alternatives, List-Unsubscribe (RFC 2369) with one-click
    unsubscribe (RFC 8058), Message-ID and Auto-Submitted (RFC 3834)."""
    lang = item.language if item.language in city.city.languages else city.city.default_language
    _ = translator(lang)
    subject, blocks = content(item, city, settings.public_url)
    unsub = links(settings.public_url, item.token, lang)["unsubscribe"]
    footer = (
        _("You get this mail because this address asked for it on {city}.", city=city.city.name)
        if item.kind != "confirm"
        else _("This is the only mail you get unless you confirm.")
    )
    stop = _("Stop these mails")
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = item.email
    msg["Subject"] = subject
    msg["Date"] = mail_date(now.replace(tzinfo=timezone.utc))
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["List-Unsubscribe"] = f"<{unsub}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(_plain(blocks, footer, stop, unsub))
    msg.add_alternative(
        _HTML.render(lang=lang, subject=subject, blocks=blocks, footer=footer, stop=stop, unsubscribe=unsub),
        subtype="html",
    )
    msg["Content-Language"] = lang  # after the parts: setting the content clears Content-* headers
    return msg


def new_message_id(settings: Settings, kind: str) -> str:
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "citydash.invalid"
    return make_msgid(idstring=kind.replace("_", "-"), domain=domain)


# --- the sender ------------------------------------------------------------------------------------------------


def send_due(
    engine: Engine,
    city: CityConfig,
    settings: Settings,
    now: datetime | None = None,
    transport: Transport | None = None,
    limit: int = 100,
) -> dict[str, int]:
    """Send the messages whose time has come, once. Returns counts: sent, failed (to be retried), uncertain."""
    now = now or utcnow()
    if missing_settings(settings):
        raise MailNotConfigured(", ".join(missing_settings(settings)) + " not set")
    counts = {"sent": 0, "failed": 0, "uncertain": 0}
    items = outbox.due(engine, now, limit)
    if not items:
        return counts
    own = transport is None
    transport = transport or SmtpTransport(parse_smtp_url(settings.smtp_url))
    try:
        for item in items:
            if not outbox.claim(engine, item, new_message_id(settings, item.kind), now):
                continue
            try:
                transport.send(render(item, city, settings, item.message_id or "", now))
            except SendFailed as e:
                outbox.mark_failed(engine, item, str(e), now)
                counts["failed"] += 1
                if "cannot reach" in str(e):
                    break  # the server is down: the rest wait for the next run, untouched
                continue
            except SendUncertain:
                counts["uncertain"] += 1  # stays "sending"; marked uncertain later, never resent by itself
                continue
            outbox.mark_sent(engine, item, now)
            counts["sent"] += 1
    finally:
        if own:
            transport.close()
    return counts


def tick(
    engine: Engine,
    city: CityConfig,
    settings: Settings,
    now: datetime | None = None,
    transport: Transport | None = None,
) -> dict:
    """One run of the worker: find what is due ("was it fixed?", area alerts), then send the outbox (when mail
    is configured; otherwise the outbox keeps filling and /healthz says so)."""
    now = now or utcnow()
    report: dict = {
        "uncertain_marked": outbox.mark_stale_uncertain(engine, now),
        "fixed_checks": outbox.schedule_fixed_checks(engine, city.feedback.fixed_check_days, now),
        "area_alerts": outbox.schedule_area_alerts(engine, now),
    }
    missing = missing_settings(settings)
    if missing:
        report["not_configured"] = missing
        return report
    report.update(send_due(engine, city, settings, now, transport))
    return report
