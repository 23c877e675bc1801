"""The one way a comment enters the store: validated, redacted, committed, once."""

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from data_sources.comments.records import (
    CommentInput,
    CommentRejected,
    clean_text,
    redact_pii,
    submit_comment,
    validate,
)
from data_sources.store.models import Comment


def _ok(**kw):
    base = dict(lat=48.5, lon=9.0, category="traffic", text="Cars run the red light here every morning.")
    return CommentInput(**{**base, **kw})


def test_submit_commits_with_coarse_public_location(demo_engine, demo_city):
    r = submit_comment(demo_engine, demo_city, _ok(email="me@example.org", client_key="abcdefgh-1"))
    with demo_engine.connect() as c:
        row = c.execute(select(Comment).where(Comment.id == r.id)).one()
    assert row.status == "new" and row.moderation == "published" and row.email == "me@example.org"
    assert (row.lat, row.lon) == (48.5, 9.0) and (row.public_lat, row.public_lon) != (48.5, 9.0)
    assert abs(row.public_lat - 48.5) < 0.002 and row.district_id is not None and r.tracking_token
    # A retry with the same client key adds nothing and points at the first comment.
    again = submit_comment(demo_engine, demo_city, _ok(client_key="abcdefgh-1"))
    assert again.id == r.id and again.duplicate_of_retry
    with demo_engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(Comment).where(Comment.client_key == "abcdefgh-1")) == 1


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"lat": 91}, "location"),
        ({"lat": float("nan")}, "location"),
        ({"lat": 10.0, "lon": 10.0}, "location"),
        ({"category": "aliens"}, "category"),
        ({"text": "short"}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"email": "not-an-email"}, "email"),
        ({"feature_id": 10**9}, "feature"),
    ],
)
def test_rejections_name_the_field_and_store_nothing(demo_engine, demo_city, kw, field):
    with demo_engine.connect() as c:
        before = c.scalar(select(func.count()).select_from(Comment))
    with pytest.raises(CommentRejected) as e:
        submit_comment(demo_engine, demo_city, _ok(**kw))
    assert e.value.field == field
    with demo_engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(Comment)) == before


def test_pii_is_redacted_but_times_and_dates_stay():
    text, changed = redact_pii("Call me on +44 7700 900123 or mail jo.bloggs@example.co.uk, since 08:00 on 2026-11-16")
    assert changed and "7700" not in text and "example" not in text
    assert "08:00" in text and "2026-11-16" in text


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(max_size=3000),
    lat=st.floats(allow_nan=True),
    lon=st.floats(allow_nan=True),
    category=st.text(max_size=20),
)
def test_validation_never_crashes(demo_city, text, lat, lon, category):
    try:
        c = validate(CommentInput(lat=lat, lon=lon, category=category, text=text), demo_city)
    except CommentRejected as e:
        assert e.field in {"location", "category", "text"}
    else:
        assert 10 <= len(c.text) <= 2000 and c.category in demo_city.city.comment_categories


def test_abusive_text_is_held_for_review(demo_engine, demo_city):
    r = submit_comment(demo_engine, demo_city, _ok(text="This idiot council never fixes the lights"))
    assert r.moderation == "held"
    assert submit_comment(demo_engine, demo_city, _ok()).moderation == "published"


def test_no_invisible_or_control_character_survives_cleaning_whatever_the_code_point():
    """Every code point of Unicode, inside ordinary text: a control, format (a right-to-left override, a
    zero-width joiner), private-use or unassigned character never reaches the store, and text without one comes
    out as it went in (normalised)."""
    import unicodedata

    def invisible(c: str) -> bool:
        return c not in "\t\n" and unicodedata.category(c).startswith("C")

    for cp in range(0x110000):
        text = f"ab{chr(cp)}c"
        out = clean_text(text)
        assert not any(invisible(c) for c in out), hex(cp)
        norm = unicodedata.normalize("NFKC", text)
        if not any(invisible(c) or unicodedata.category(c).startswith("Z") or c in "\t\n" for c in norm):
            assert out == norm, hex(cp)
