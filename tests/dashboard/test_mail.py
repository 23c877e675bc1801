"""Citizens' mail against a real SMTP server on loopback (aiosmtpd) and the live app: double opt-in, updates,
"was it fixed?", unsubscribe, area alerts, retries and at-most-once delivery when the worker is killed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, func, select

from dashboard.mail import MailNotConfigured, parse_smtp_url, send_due, tick
from data_sources.comments.records import CommentInput, submit_comment
from data_sources.config import Settings
from data_sources.comments.ledger import city_ledger
from data_sources.store.models import Comment, CommentEvent, MailAddress, MailOutbox, MailSubscription
from data_sources.comments.notifications import purge_mail
from data_sources.store.db import utcnow
from data_sources.comments.workflow import Actor, change_status
from tests.support import ROOT, free_port
from tests.dashboard.officials_helpers import make_officials

MAIL_FROM = "Demo City <noreply@demo.example>"
URL_RE = re.compile(r"https?://[^\s>]+")


def mail_settings(smtp_url: str, public_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "CITYDASH_DATA_DIR": str(tmp_path),
            "CITYDASH_SMTP_URL": smtp_url,
            "CITYDASH_MAIL_FROM": MAIL_FROM,
            "CITYDASH_PUBLIC_URL": public_url,
        }
    )


def plain(msg: EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def link(msg: EmailMessage, path: str) -> str:
    return next(u for u in URL_RE.findall(plain(msg)) if path in u)


def send_comment(
    live: str, email: str | None, text: str = "The bench by the bus stop is broken in two.", lang: str = "en"
) -> int:
    """As the report form does: POST the JSON to /report/send."""
    r = requests.post(
        f"{live}/report/send",
        json={
            "pin": {"lat": 48.501, "lon": 9.002},
            "category": "street",
            "text": text,
            "email": email,
            "client_key": os.urandom(8).hex(),
            "lang": lang,
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r.json()["id"]


def follow(live_url: str, url: str, **form: str) -> requests.Response:
    """Open a link from a mail (GET: a page with a button), then press the button (POST the form)."""
    assert url.startswith(live_url)
    page = requests.get(url, timeout=30)
    assert page.status_code == 200, page.text
    assert "<form" in page.text
    r = requests.post(url, data=form or {"go": "1"}, timeout=30)
    assert r.status_code == 200, r.text
    return r


def official(engine: Engine) -> Actor:
    return Actor(make_officials(engine)["official"], "official")


def test_confirmation_then_update_then_was_it_fixed_each_arrive_once(
    demo_engine, demo_city, live_server, smtp_server, tmp_path
):
    inbox, smtp_url = smtp_server
    s = mail_settings(smtp_url, live_server, tmp_path)
    cid = send_comment(live_server, "Ana@Example.org")
    now = utcnow()

    tick(demo_engine, demo_city, s, now)
    (confirm,) = inbox.to("ana@example.org")
    assert confirm["Subject"] == f"Demoville: confirm updates on comment {cid}"
    assert "The bench by the bus stop" not in plain(confirm)  # the request asks, and says nothing else
    tick(demo_engine, demo_city, s, now)
    assert len(inbox.messages) == 1  # sent once
    r = follow(live_server, link(confirm, "/mail/confirm/"))
    assert "Email confirmed" in r.text

    actor = official(demo_engine)
    change_status(demo_engine, actor, [cid], "resolved", "Replaced the bench on <Tuesday> & painted it.")
    now = utcnow()  # the injectable clock: every run below says what time it is
    tick(demo_engine, demo_city, s, now)
    tick(demo_engine, demo_city, s, now)
    update = inbox.messages[1]
    assert len(inbox.messages) == 2
    assert update["Subject"] == f"Demoville: comment {cid} is now resolved"
    assert "Replaced the bench on <Tuesday> & painted it." in plain(update)
    html = update.get_body(preferencelist=("html",)).get_content()
    assert "Replaced the bench on &lt;Tuesday&gt; &amp; painted it." in html and "<Tuesday>" not in html
    assert update.get_content_type() == "multipart/alternative"
    assert update["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert update["List-Unsubscribe"].startswith(f"<{live_server}/mail/unsubscribe/")
    # on the wire as a plain URL (not an RFC 2047 encoded word, which mail programs would not follow)
    assert re.search(
        rb"^List-Unsubscribe: <http://127\.0\.0\.1:\d+/mail/unsubscribe/[\w-]+\?lang=en>\r$", inbox.raw[1], re.M
    )
    assert re.fullmatch(r"<[^@>]+@demo\.example>", update["Message-ID"])
    assert update["Message-ID"] != confirm["Message-ID"]
    assert requests.get(link(update, f"/comments/{cid}"), timeout=30).status_code == 200

    tick(demo_engine, demo_city, s, now + timedelta(days=27))
    assert len(inbox.messages) == 2  # not yet: the default is 28 days
    later = now + timedelta(days=28, minutes=1)
    tick(demo_engine, demo_city, s, later)
    tick(demo_engine, demo_city, s, later + timedelta(hours=1))
    assert len(inbox.messages) == 3
    fixed = inbox.messages[2]
    assert fixed["Subject"] == f"Demoville: was it fixed? (comment {cid})"
    r = follow(live_server, link(fixed, "answer=no"), answer="no")
    assert "back in the city&#39;s queue" in r.text
    with demo_engine.connect() as c:
        assert c.scalar(select(Comment.status).where(Comment.id == cid)) == "acknowledged"
        kinds = list(
            c.scalars(select(CommentEvent.kind).where(CommentEvent.comment_id == cid).order_by(CommentEvent.id))
        )
    assert kinds == ["status", "reopened"]
    # the public history says so, and the ledger counts it for the department
    page = requests.get(f"{live_server}/comments/{cid}", timeout=30)
    assert page.status_code == 200
    led = city_ledger(demo_engine, utcnow())["city"].iloc[0]
    assert led.reopened == 1 and led.ever_resolved >= 1
    # a second answer changes nothing, and the question is not asked again
    assert "already answered" in follow(live_server, link(fixed, "answer=yes"), answer="yes").text
    tick(demo_engine, demo_city, s, later + timedelta(days=1))
    assert len(inbox.messages) == 3


def test_yes_records_the_confirmation_in_the_ledger(demo_engine, demo_city, live_server, smtp_server, tmp_path):
    inbox, smtp_url = smtp_server
    s = mail_settings(smtp_url, live_server, tmp_path)
    cid = send_comment(live_server, "ben@example.org")
    now = utcnow()
    tick(demo_engine, demo_city, s, now)
    follow(live_server, link(inbox.messages[0], "/mail/confirm/"))
    change_status(demo_engine, official(demo_engine), [cid], "resolved", "Done.")
    tick(demo_engine, demo_city, s, now + timedelta(days=29))
    assert [m["Subject"].split(": ", 1)[1] for m in inbox.messages] == [
        f"confirm updates on comment {cid}",
        f"comment {cid} is now resolved",
        f"was it fixed? (comment {cid})",
    ]
    assert "confirmed it is fixed" in follow(live_server, link(inbox.messages[2], "answer=yes"), answer="yes").text
    before = city_ledger(demo_engine, utcnow())["city"].iloc[0]
    assert before.confirmed_fixed == 1 and before.reopened == 0
    with demo_engine.connect() as c:
        assert c.scalar(select(Comment.status).where(Comment.id == cid)) == "resolved"


def test_an_unconfirmed_address_gets_only_the_confirmation(demo_engine, demo_city, live_server, smtp_server, tmp_path):
    inbox, smtp_url = smtp_server
    s = mail_settings(smtp_url, live_server, tmp_path)
    cid = send_comment(live_server, "carla@example.org")
    change_status(demo_engine, official(demo_engine), [cid], "in_progress", "We are on it.")
    change_status(demo_engine, official(demo_engine), [cid], "resolved", "Done.")
    now = utcnow()
    for dt in (0, 1, 29):
        tick(demo_engine, demo_city, s, now + timedelta(days=dt))
    assert [m["Subject"] for m in inbox.messages] == [f"Demoville: confirm updates on comment {cid}"]


def test_the_form_cannot_flood_a_third_party(demo_engine, demo_city, live_server, smtp_server, tmp_path):
    inbox, smtp_url = smtp_server
    s = mail_settings(smtp_url, live_server, tmp_path)
    for i in range(6):
        submit_comment(
            demo_engine,
            demo_city,
            CommentInput(lat=48.5, lon=9.0, category="noise", text=f"Loud music again {i}", email="victim@example.org"),
        )
    tick(demo_engine, demo_city, s, utcnow())
    assert len(inbox.to("victim@example.org")) == demo_city.feedback.confirmations_per_day == 3
    # a day later, the cap starts again: but only new requests count, old ones are not replayed
    tick(demo_engine, demo_city, s, utcnow() + timedelta(days=2))
    assert len(inbox.messages) == 3


def test_one_click_unsubscribe_stops_mail(demo_engine, demo_city, live_server, smtp_server, tmp_path):
    inbox, smtp_url = smtp_server
    s = mail_settings(smtp_url, live_server, tmp_path)
    cid = send_comment(live_server, "dora@example.org")
    tick(demo_engine, demo_city, s)
    follow(live_server, link(inbox.messages[0], "/mail/confirm/"))
    change_status(demo_engine, official(demo_engine), [cid], "acknowledged", "Logged.")
    tick(demo_engine, demo_city, s)
    update = inbox.messages[-1]
    target = update["List-Unsubscribe"].strip("<>")
    # RFC 8058: the mail client POSTs this body to the List-Unsubscribe address, without cookies or a page.
    r = requests.post(
        target,
        data="List-Unsubscribe=One-Click",
        timeout=30,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200
    change_status(demo_engine, official(demo_engine), [cid], "resolved", "Done.")
    change_status(demo_engine, official(demo_engine), [cid], "closed", "Closed.", closed_reason="other")
    for dt in (0, 29):
        tick(demo_engine, demo_city, s, utcnow() + timedelta(days=dt))
    assert len(inbox.messages) == 2


def test_stop_all_mail_from_the_page(demo_engine, demo_city, live_server, smtp_server, tmp_path):
    inbox, smtp_url = smtp_server
    s = mail_settings(smtp_url, live_server, tmp_path)
    a = send_comment(live_server, "eva@example.org")
    tick(demo_engine, demo_city, s)
    follow(live_server, link(inbox.messages[0], "/mail/confirm/"))
    b = send_comment(live_server, "eva@example.org", text="Another broken bench, by the school gate.")
    r = follow(live_server, link(inbox.messages[0], "/mail/unsubscribe/"), scope="all")
    assert "no more mail goes to this address" in r.text
    tick(demo_engine, demo_city, s)  # b's confirmation request is not sent: the address said stop
    change_status(demo_engine, official(demo_engine), [a, b], "resolved", "Done.")
    tick(demo_engine, demo_city, s, utcnow() + timedelta(days=29))
    assert len(inbox.messages) == 1


def test_refused_or_down_server_keeps_the_mail_and_sends_it_later(demo_engine, demo_city, smtp_server, tmp_path):
    inbox, smtp_url = smtp_server
    down = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    submit_comment(
        demo_engine,
        demo_city,
        CommentInput(lat=48.5, lon=9.0, category="noise", text="Drilling every night.", email="fay@example.org"),
    )
    now = utcnow()
    r = tick(demo_engine, demo_city, mail_settings(down, "https://demo.example", tmp_path), now)
    assert r["failed"] == 1 and r["sent"] == 0
    inbox.mode = "refuse"
    assert tick(demo_engine, demo_city, mail_settings(smtp_url, "https://demo.example", tmp_path), now)["sent"] == 0
    assert inbox.messages == []  # not yet due: the retry waits a minute
    r = tick(
        demo_engine, demo_city, mail_settings(smtp_url, "https://demo.example", tmp_path), now + timedelta(minutes=1)
    )
    assert r["failed"] == 1 and inbox.messages == []
    with demo_engine.connect() as c:
        row = c.execute(
            select(MailOutbox.status, MailOutbox.attempts, MailOutbox.next_attempt_at, MailOutbox.last_error)
        ).one()
    assert row.status == "pending" and row.attempts == 2 and "451" in row.last_error
    assert row.next_attempt_at == now + timedelta(minutes=3)  # 1 minute, then 2
    inbox.mode = "accept"
    r = tick(
        demo_engine, demo_city, mail_settings(smtp_url, "https://demo.example", tmp_path), now + timedelta(minutes=3)
    )
    assert r["sent"] == 1 and len(inbox.messages) == 1
    assert (
        tick(
            demo_engine, demo_city, mail_settings(smtp_url, "https://demo.example", tmp_path), now + timedelta(days=1)
        )["sent"]
        == 0
    )


def test_worker_killed_between_send_and_mark_sends_no_duplicate(demo_engine, demo_city, smtp_server, tmp_path):
    inbox, smtp_url = smtp_server
    submit_comment(
        demo_engine,
        demo_city,
        CommentInput(lat=48.5, lon=9.0, category="noise", text="Drilling every night.", email="gus@example.org"),
    )
    inbox.mode = "hang"  # takes the message, then keeps the worker waiting for the "250"
    env = {
        **os.environ,
        "CITYDASH_DATABASE_URL": demo_engine.url.render_as_string(hide_password=False),
        "CITYDASH_CITY": str(ROOT / "cities" / "demo.toml"),
        "CITYDASH_SMTP_URL": smtp_url,
        "CITYDASH_MAIL_FROM": MAIL_FROM,
        "CITYDASH_PUBLIC_URL": "https://demo.example",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "dashboard.cli", "notify"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert inbox.received.wait(60), worker.stderr.read().decode() if worker.poll() is not None else "no mail came"
        os.kill(worker.pid, signal.SIGKILL)  # killed after the server has the message, before it is marked sent
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    inbox.mode = "accept"
    assert len(inbox.messages) == 1
    with demo_engine.connect() as c:
        status, message_id = c.execute(select(MailOutbox.status, MailOutbox.message_id)).one()
    assert status == "sending" and message_id == inbox.messages[0]["Message-ID"]
    s = mail_settings(smtp_url, "https://demo.example", tmp_path)
    now = utcnow()
    for dt in (0, 5, 11, 60):  # the restarted worker, now and later
        tick(demo_engine, demo_city, s, now + timedelta(minutes=dt))
    assert len(inbox.messages) == 1
    with demo_engine.connect() as c:
        assert c.scalar(select(MailOutbox.status)) == "uncertain"
    # An operator may choose to resend it: it keeps its Message-ID, so the recipient's system can drop the copy.
    from data_sources.comments.notifications import requeue_uncertain

    assert requeue_uncertain(demo_engine, now + timedelta(hours=2)) == 1
    tick(demo_engine, demo_city, s, now + timedelta(hours=2))
    assert len(inbox.messages) == 2 and inbox.messages[1]["Message-ID"] == inbox.messages[0]["Message-ID"]


def test_without_smtp_the_outbox_fills_and_healthz_says_so(demo_engine, demo_city, client, tmp_path):
    submit_comment(
        demo_engine,
        demo_city,
        CommentInput(lat=48.5, lon=9.0, category="noise", text="Drilling every night.", email="hal@example.org"),
    )
    r = tick(demo_engine, demo_city, Settings.from_env({"CITYDASH_DATA_DIR": str(tmp_path)}))
    assert r["not_configured"] == ["CITYDASH_SMTP_URL", "CITYDASH_MAIL_FROM", "CITYDASH_PUBLIC_URL"]
    with pytest.raises(MailNotConfigured):
        send_due(demo_engine, demo_city, Settings.from_env({"CITYDASH_DATA_DIR": str(tmp_path)}))
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["mail"]["configured"] is False and body["mail"]["pending"] == 1
    assert "CITYDASH_SMTP_URL" in body["mail"]["missing"]


def test_area_alerts_as_they_happen_and_daily(demo_engine, demo_city, live_server, smtp_server, tmp_path):
    inbox, smtp_url = smtp_server
    s = mail_settings(smtp_url, live_server, tmp_path)
    form = {
        "email": "ida@example.org",
        "category": "cycling",
        "lat": "48.5",
        "lon": "9.0",
        "radius_m": "500",
        "frequency": "instant",
        "district": "",
    }
    r = requests.post(f"{live_server}/alerts", data=form, timeout=30)
    assert r.status_code == 200 and "Check your inbox" in r.text
    bad = requests.post(f"{live_server}/alerts", data={**form, "radius_m": "-3"}, timeout=30)
    assert bad.status_code == 422 and "radius" in bad.text
    r = requests.post(
        f"{live_server}/alerts",
        data={**form, "email": "jo@example.org", "frequency": "daily", "lat": "", "lon": "", "radius_m": ""},
        timeout=30,
    )
    assert r.status_code == 200
    tick(demo_engine, demo_city, s)
    assert {m["To"] for m in inbox.messages} == {"ida@example.org", "jo@example.org"}
    for m in list(inbox.messages):
        follow(live_server, link(m, "/mail/confirm/"))
    near = submit_comment(
        demo_engine,
        demo_city,
        CommentInput(lat=48.501, lon=9.001, category="cycling", text="The cycle lane <b>ends</b> in a lamp post."),
    )
    submit_comment(
        demo_engine, demo_city, CommentInput(lat=48.53, lon=9.05, category="cycling", text="Far away: a pothole.")
    )
    submit_comment(
        demo_engine, demo_city, CommentInput(lat=48.501, lon=9.001, category="noise", text="Noise, not cycling.")
    )
    held = submit_comment(
        demo_engine,
        demo_city,
        CommentInput(lat=48.501, lon=9.001, category="cycling", text="Fucking cars in the cycle lane"),
    )
    assert held.moderation == "held"
    now = utcnow()
    tick(demo_engine, demo_city, s, now)
    ida = inbox.to("ida@example.org")
    assert len(ida) == 2
    alert = plain(ida[1])
    assert "The cycle lane <b>ends</b> in a lamp post." in alert and f"/comments/{near.id}" in alert
    assert "Far away" not in alert and "Noise, not cycling" not in alert and "Fucking" not in alert
    assert "&lt;b&gt;ends&lt;/b&gt;" in ida[1].get_body(preferencelist=("html",)).get_content()
    jo = inbox.to("jo@example.org")
    assert len(jo) == 2 and "Far away" in plain(jo[1])  # the category, anywhere
    submit_comment(
        demo_engine, demo_city, CommentInput(lat=48.502, lon=9.0, category="cycling", text="Second cycling issue here.")
    )
    tick(demo_engine, demo_city, s, now + timedelta(hours=1))
    assert len(inbox.to("ida@example.org")) == 3 and len(inbox.to("jo@example.org")) == 2  # jo: daily
    tick(demo_engine, demo_city, s, now + timedelta(days=1, minutes=1))
    assert len(inbox.to("jo@example.org")) == 3 and "Second cycling issue" in plain(inbox.to("jo@example.org")[2])


def test_a_supporter_who_leaves_an_address_gets_the_updates(demo_engine, demo_city, live_server, smtp_server, tmp_path):
    from dashboard.context import get_context
    from dashboard.ui.comments import support_action

    inbox, smtp_url = smtp_server
    s = mail_settings(smtp_url, live_server, tmp_path)
    cid = send_comment(live_server, None)
    from dashboard.app import create_app

    app = create_app(city=demo_city, settings=s, engine=demo_engine)
    with app.server.test_request_context("/"):
        msg = support_action(get_context(app.server), "en", cid, "k" * 32, "kim@example.org")
    assert "confirm your address" in msg.children
    tick(demo_engine, demo_city, s)
    (confirm,) = inbox.to("kim@example.org")
    assert "supported comment" in plain(confirm)
    follow(live_server, link(confirm, "/mail/confirm/"))
    change_status(demo_engine, official(demo_engine), [cid], "closed", "Not the city's road.", closed_reason="not_city")
    tick(demo_engine, demo_city, s)
    closed = inbox.to("kim@example.org")[1]
    assert closed["Subject"] == f"Demoville: comment {cid} is closed"
    assert "not the city's responsibility" in plain(closed)


def test_mail_in_the_comments_language(demo_engine, demo_city, live_server, smtp_server, tmp_path):
    inbox, smtp_url = smtp_server
    s = mail_settings(smtp_url, live_server, tmp_path)
    cid = send_comment(live_server, "lu@example.org", text="El banco de la parada está roto.", lang="es")
    tick(demo_engine, demo_city, s)
    (m,) = inbox.messages
    assert m["Content-Language"] == "es"
    assert m["Subject"] == f"Demoville: confirma las novedades del comentario {cid}"
    assert "lang=es" in link(m, "/mail/confirm/")


def test_purge_forgets_addresses(demo_engine, demo_city):
    from datetime import datetime

    submit_comment(
        demo_engine,
        demo_city,
        CommentInput(
            lat=48.5,
            lon=9.0,
            category="noise",
            text="Old comment with email.",
            email="old@example.org",
            created_at=datetime(2020, 1, 1),
        ),
    )
    submit_comment(
        demo_engine,
        demo_city,
        CommentInput(lat=48.5, lon=9.0, category="noise", text="New comment with email.", email="new@example.org"),
    )
    assert purge_mail(demo_engine, 365, dry_run=True) == 1
    assert purge_mail(demo_engine, 365) == 1
    with demo_engine.connect() as c:
        assert list(c.scalars(select(MailAddress.email))) == ["new@example.org"]
        assert c.scalar(select(func.count()).select_from(MailSubscription)) == 1
        assert c.scalar(select(func.count()).select_from(MailOutbox)) == 1
    # a week later the unconfirmed one goes too
    assert purge_mail(demo_engine, 365, now=utcnow() + timedelta(days=8)) == 1


def test_unknown_tokens_and_answers_are_refused_plainly(live_server):
    for path in ("/mail/confirm/", "/mail/unsubscribe/", "/mail/fixed/"):
        r = requests.get(f"{live_server}{path}{'x' * 32}", timeout=30)
        assert r.status_code == 404 and "This link is not valid" in r.text


@pytest.mark.parametrize(
    "url,expected",
    [
        ("smtp://mail.example:2525", ("mail.example", 2525, False, False, None, None)),
        ("smtp://u%40x:p%3Ass@mail.example", ("mail.example", 25, False, False, "u@x", "p:ss")),
        ("smtp+starttls://u:p@mail.example", ("mail.example", 587, False, True, "u", "p")),
        ("smtp://u:p@mail.example:587?starttls=1", ("mail.example", 587, False, True, "u", "p")),
        ("smtps://u:p@mail.example", ("mail.example", 465, True, False, "u", "p")),
    ],
)
def test_smtp_url(url, expected):
    c = parse_smtp_url(url)
    assert (c.host, c.port, c.tls, c.starttls, c.user, c.password) == expected


def test_smtp_url_mistakes_are_named():
    with pytest.raises(ValueError, match="CITYDASH_SMTP_URL"):
        parse_smtp_url("http://mail.example")
