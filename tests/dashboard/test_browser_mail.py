"""The reciprocity loop by mail, in headless Chromium against the live app and a real SMTP server on loopback:
a citizen comments with an email, confirms from the mail, an official answers in the queue, the mail arrives,
the citizen answers "no, not fixed" from the "was it fixed?" mail, and the comment is back in the queue."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard.mail import tick
from data_sources.store.models import Comment
from data_sources.store.db import utcnow
from tests.dashboard.officials_helpers import PASSWORD, make_officials
from tests.dashboard.test_browser_feedback import _draft
from tests.dashboard.test_mail import link, mail_settings, plain

pytestmark = pytest.mark.browser


def test_citizen_and_official_journey_by_mail(page, live_server, demo_engine, demo_city, smtp_server, tmp_path):
    inbox, smtp_url = smtp_server
    s = mail_settings(smtp_url, live_server, tmp_path)
    make_officials(demo_engine)

    # The citizen writes, leaving an address.
    text = "The streetlight on this corner has been out for a week."
    _draft(live_server, page, "Street", text)
    page.fill("#report-email", "nina@example.org")
    page.click("#report-send")
    page.wait_for_selector("#report-success", timeout=15_000)
    with demo_engine.connect() as c:
        cid = c.scalar(select(Comment.id).where(Comment.text == text))

    # The worker runs: only the confirmation request goes. The citizen confirms from the mail.
    tick(demo_engine, demo_city, s)
    (confirm,) = inbox.messages
    assert confirm["To"] == "nina@example.org" and f"comment {cid}" in confirm["Subject"]
    page.goto(link(confirm, "/mail/confirm/"))
    page.click("#mail-confirm")
    page.wait_for_selector("#mail-result", timeout=10_000)
    assert "Email confirmed" in page.inner_text("h1")

    # An official answers in the queue.
    page.goto(f"{live_server}/officials/login?lang=en")
    page.fill("#email", "official@city.example")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r".*/officials\?lang=en$"))
    page.goto(f"{live_server}/officials/queue?lang=en")
    page.wait_for_selector("#off-q-table td[data-dash-column='id']", timeout=20_000)
    assert int(page.locator("#off-q-table td[data-dash-column='id']").first.inner_text()) == cid
    page.locator("#off-q-table input[type='checkbox']").first.check()
    page.click("#off-q-status")
    page.get_by_role("option", name="Resolved", exact=True).click()
    page.wait_for_function("() => document.querySelector('#off-q-answer').value.length > 0", timeout=10_000)
    page.fill("#off-q-answer", "A new lamp was fitted on Monday.")
    page.click("#off-q-apply")
    page.wait_for_function("() => document.querySelector('#off-q-msg').innerText.includes('Updated 1')", timeout=10_000)

    # The mail arrives, once.
    tick(demo_engine, demo_city, s)
    tick(demo_engine, demo_city, s)
    assert len(inbox.messages) == 2
    update = inbox.messages[1]
    assert update["Subject"] == f"Demoville: comment {cid} is now resolved"
    assert "A new lamp was fitted on Monday." in plain(update)

    # Four weeks later: "was it fixed?"; the citizen answers no.
    tick(demo_engine, demo_city, s, utcnow() + timedelta(days=29))
    assert len(inbox.messages) == 3
    question = inbox.messages[2]
    page.goto(link(question, "answer=no"))
    page.click("#mail-fixed-no")
    page.wait_for_selector("#mail-result", timeout=10_000)
    assert "back in the city" in page.inner_text("#mail-result")

    # The comment is back in the queue, open.
    page.goto(f"{live_server}/officials/queue?lang=en")
    page.wait_for_selector("#off-q-table td[data-dash-column='id']", timeout=20_000)
    statuses = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#off-q-table tr')]
        .filter(tr => tr.querySelector("td[data-dash-column='id']"))
        .map(tr => [tr.querySelector("td[data-dash-column='id']").innerText.trim(),
                    tr.querySelector("td[data-dash-column='status']").innerText.trim()]))""")
    assert statuses[str(cid)] == "Acknowledged", statuses
    # and its public page says what happened
    page.goto(f"{live_server}/comments/{cid}?lang=en")
    page.wait_for_selector("text=Reopened: the author says it is not fixed", timeout=15_000)
    assert page.errors == []
