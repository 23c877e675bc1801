"""Email addresses (issue 15, fault 10): checked and normalised with email-validator, offline; addresses with
angle brackets, display names, spaces, quotes, IP literals or unencodable characters are refused; the
migration cleans what older versions stored."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from dashboard.cli import cli
from data_sources.comments.records import CommentInput, CommentRejected, submit_comment, validate
from data_sources.comments.emails import InvalidEmail, normalise_email, normalise_official_email
from data_sources.store.models import Comment, Official
from data_sources.store.db import make_engine, migrate
from data_sources.comments.accounts import create_official
from data_sources.comments.workflow import WorkflowError

HOSTILE = [
    "jo <jo@example.org>",
    "<jo@example.org>",
    "jo@example.org>",
    "jo@exa<mple.org",
    "jo @example.org",
    '"jo"@example.org',
    "jo@[127.0.0.1]",
    "jo@localhost",
    "jo@example",
    "jo@@example.org",
    "\ud800@example.org",
    "jo@example.org\r\nBcc: x@evil.example",
    "jo\x00@example.org",
    "a" * 65 + "@example.org",
    "jo@" + "a" * 64 + ".org",
    "jo@example.test",
    "jo@-example.org",
    ".jo@example.org",
]


@pytest.mark.parametrize("address", HOSTILE)
def test_hostile_addresses_are_refused(address):
    with pytest.raises(InvalidEmail):
        normalise_email(address)


def test_addresses_are_normalised():
    assert normalise_email("  Jo.Smith@EXAMPLE.org ") == "Jo.Smith@example.org"
    assert normalise_email("jürgen@müller.example") == "jürgen@müller.example"
    assert normalise_official_email("Jo.Smith@EXAMPLE.org") == "jo.smith@example.org"
    assert normalise_email("Jo <jo@example.org>", allow_display_name=True) == "jo@example.org"


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.emails().map(lambda e: f"<{e}>"),
        st.emails().map(lambda e: f"x {e}"),
        st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=20), st.text(max_size=20)),
    )
)
def test_whatever_is_accepted_is_a_plain_address(address):
    try:
        out = normalise_email(address)
    except InvalidEmail:
        return
    assert not set(out) & set('<>"\\ \t\r\n,;()[]') and out.count("@") == 1 and normalise_email(out) == out


def test_a_comment_with_a_bad_address_is_refused_with_a_reason(demo_city):
    base = {"lat": 48.52, "lon": 9.05, "category": "noise", "text": "Loud works every night on this corner."}
    for address in HOSTILE:
        with pytest.raises(CommentRejected) as e:
            validate(CommentInput(**base, email=address), demo_city)
        assert e.value.field == "email"
    assert validate(CommentInput(**base, email=" Jo@EXAMPLE.org "), demo_city).email == "Jo@example.org"
    assert validate(CommentInput(**base, email="  "), demo_city).email is None


def test_officials_emails_are_checked(engine):
    with pytest.raises(WorkflowError, match="not a valid address"):
        create_official(engine, "boss <boss@city.example>", "x", "admin", None)
    oid = create_official(engine, " Boss@City.Example ", "x", "admin", None)
    with engine.connect() as c:
        assert c.scalar(select(Official.email).where(Official.id == oid)) == "boss@city.example"
    res = CliRunner().invoke(
        cli,
        ["create-official", "a<b>@city.example", "--role", "admin", "--password-stdin"],
        input="long enough password\n",
        env={"CITYDASH_DATABASE_URL": str(engine.url)},
    )
    assert res.exit_code == 2 and "not a valid address" in res.output


def test_the_migration_cleans_stored_addresses(any_url, demo_city):
    eng = make_engine(any_url)
    migrate(eng, "0601")
    ids = [
        submit_comment(
            eng,
            demo_city,
            CommentInput(lat=48.52, lon=9.05, category="noise", text=f"Loud works every night, number {i}."),
        ).id
        for i in range(4)
    ]
    stored = ["Jo Smith <Jo@EXAMPLE.org>", "<script>@x.org", "plain@example.org", None]
    with eng.begin() as c:
        for cid, email in zip(ids, stored):
            c.execute(text("UPDATE comments SET email = :e WHERE id = :i"), {"e": email, "i": cid})
    migrate(eng)
    with eng.connect() as c:
        after = dict(c.execute(select(Comment.id, Comment.email).where(Comment.id.in_(ids))).all())
        assert c.execute(text("SELECT session_epoch FROM officials")).all() == []
    assert [after[i] for i in ids] == ["Jo@example.org", None, "plain@example.org", None]
    eng.dispose()
