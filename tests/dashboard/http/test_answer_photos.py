"""Officials' photos on answers, and photos in the officials' queue, over HTTP as a browser (or an outsider) sends
them: the queue's Dash callbacks are public URLs, so the refusals are tested without a login and with a role that
may not answer. The attached photo goes through the citizens' pipeline (no metadata), is audited, and shows beside
the answer on the comment page and as "after" on "you said, we did"."""

from __future__ import annotations

import base64
import io
import json

import pytest
import requests
from PIL import Image
from sqlalchemy import func, select

from data_sources.comments.photo_records import answer_photos_of, before_after, hide_photo, photos_of, upload_photo
from data_sources.comments.records import CommentInput, submit_comment
from data_sources.comments.workflow import Actor, WorkflowError, change_status
from data_sources.store.models import AuditEntry, Comment, CommentEvent, Photo
from tests.dashboard.live_helpers import http_login
from tests.dashboard.officials_helpers import make_officials
from tests.data_sources.comments.test_photos import jpeg_with_everything

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def data_url(data: bytes, kind: str = "image/jpeg") -> str:
    return f"data:{kind};base64," + base64.b64encode(data).decode()


def submitted(app, text: str, held: bool = False, photo: bool = False):  # noqa: ANN001, ANN201
    ctx = app.server.extensions["citydash"]
    ids = (upload_photo(ctx.engine, ctx.media, jpeg_with_everything((640, 480))),) if photo else ()
    return submit_comment(
        ctx.engine,
        ctx.city,
        CommentInput(lat=48.5, lon=9.0, category="street", text=text, photo_ids=ids),
        hold_for_review=(lambda _t: True) if held else None,
    )


def comment(app, text: str, held: bool = False, photo: bool = False) -> int:  # noqa: ANN001
    return submitted(app, text, held, photo).id


def callback(base: str, session: requests.Session | None, output_part: str, values: dict, changed: str):  # noqa: ANN201
    """POST one Dash callback as the browser does (its inputs and state from /_dash-dependencies)."""
    sender = session or requests
    deps = sender.get(f"{base}/_dash-dependencies", timeout=30).json()
    dep = next(d for d in deps if output_part in d["output"])
    parts = [p for p in dep["output"].strip(".").split("...") if p]
    outs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1].split("@")[0]} for p in parts]
    body = {
        "output": dep["output"],
        "outputs": outs if dep["output"].startswith("..") else outs[0],
        "inputs": [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in dep["inputs"]],
        "state": [{**s, "value": values.get(f"{s['id']}.{s['property']}")} for s in dep.get("state", [])],
        "changedPropIds": [changed],
    }
    return sender.post(
        f"{base}/_dash-update-component",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )


def upload_answer_photo(base: str, session: requests.Session | None, data: bytes, kind: str = "image/jpeg"):  # noqa: ANN201
    return callback(
        base,
        session,
        "off-q-photo.data",
        {"off-q-photo-upload.contents": data_url(data, kind), "off-q-lang.data": "en"},
        "off-q-photo-upload.contents",
    )


def apply_answer(base: str, session: requests.Session | None, ids: list[int], photo_ids: list, text: str):  # noqa: ANN201
    return callback(
        base,
        session,
        "off-q-msg.children",
        {
            "off-q-apply.n_clicks": 1,
            "off-q-table.selected_row_ids": ids,
            "off-q-status.value": "resolved",
            "off-q-answer.value": text,
            "off-q-refresh.data": 0,
            "off-q-lang.data": "en",
            "off-q-photo.data": photo_ids,
        },
        "off-q-apply.n_clicks",
    )


def page_json(base: str, path: str) -> str:
    r = callback(
        base,
        None,
        "page.children",
        {"url.pathname": path.split("?")[0], "url.search": ""},
        "url.pathname",
    )
    assert r.status_code == 200, r.text[:300]
    return json.dumps(r.json(), ensure_ascii=False)  # the body escapes "/" as \u002f


def photo_count(engine) -> int:  # noqa: ANN001
    with engine.connect() as c:
        return c.scalar(select(func.count()).select_from(Photo)) or 0


def test_an_official_attaches_a_photo_to_an_answer_and_everyone_sees_it_beside_the_answer(
    app,
    live_server: str,
    demo_engine,  # noqa: ANN001
) -> None:
    cid = comment(app, "The bench in the square is broken.", photo=True)
    make_officials(demo_engine)
    s, r = http_login(live_server, "official@city.example")
    assert r.status_code == 303

    up = upload_answer_photo(live_server, s, jpeg_with_everything())
    assert up.status_code == 200, up.text[:300]
    resp = up.json()["response"]
    (photo_id,) = resp["off-q-photo"]["data"]
    assert "Photo ready" in resp["off-q-photo-msg"]["children"]
    assert requests.get(f"{live_server}/media/{photo_id}.jpg", timeout=30).status_code == 404  # not sent yet

    done = apply_answer(live_server, s, [cid], [photo_id], "We replaced the bench on Tuesday.")
    assert done.status_code == 200 and done.json()["response"]["off-q-msg"]["children"].startswith("Updated 1")

    got = requests.get(f"{live_server}/media/{photo_id}.jpg", timeout=30)
    assert got.status_code == 200 and got.headers["X-Content-Type-Options"] == "nosniff"
    im = Image.open(io.BytesIO(got.content))
    assert (
        im.size == (1600, 1200) and not im.getexif() and b"GPS" not in got.content and b"PhoneMaker" not in got.content
    )
    assert requests.get(f"{live_server}/media/{photo_id}.thumb.jpg", timeout=30).status_code == 200

    with demo_engine.connect() as c:
        event_id = c.scalar(
            select(CommentEvent.id).where(CommentEvent.comment_id == cid, CommentEvent.to_status == "resolved")
        )
        audit = {
            a.action: a
            for a in c.execute(
                select(AuditEntry.action, AuditEntry.target_id, AuditEntry.after, AuditEntry.official_id)
            )
        }
    assert [p["id"] for p in answer_photos_of(demo_engine, [cid])[event_id]] == [photo_id]
    assert [p["id"] for p in photos_of(demo_engine, [cid])[cid]] != [photo_id]  # the citizen's photos stay theirs
    assert audit["attach_answer_photo"].target_id == photo_id and audit["attach_answer_photo"].official_id
    assert audit["change_status"].after["photos"] == [photo_id]

    # The comment page: the city's photo inside the answer's history entry, the citizen's in the gallery.
    page = page_json(live_server, f"/comments/{cid}")
    assert f"/media/{photo_id}.thumb.jpg" in page and f"answer-photos-{event_id}" in page
    assert "Photo from the city 1 of 1" in page
    # You said, we did: before (the citizen's photo) and after (the city's).
    citizen_photo = photos_of(demo_engine, [cid])[cid][0]["id"]
    said = page_json(live_server, "/you-said-we-did")
    assert f"/media/{citizen_photo}.thumb.jpg" in said and f"/media/{photo_id}.thumb.jpg" in said
    assert said.index(f"/media/{citizen_photo}.thumb.jpg") < said.index(f"/media/{photo_id}.thumb.jpg")
    assert "Before (the citizen" in said and "After (the city" in said
    assert before_after(demo_engine, [cid])[cid][1]["id"] == photo_id


def test_the_tracking_page_shows_the_answer_photo(app, demo_engine) -> None:  # noqa: ANN001
    ctx = app.server.extensions["citydash"]
    officials = make_officials(demo_engine)
    sent = submitted(app, "Pothole at the crossing.")
    cid, token = sent.id, sent.tracking_token
    photo_id = upload_photo(ctx.engine, ctx.media, jpeg_with_everything((800, 600)))
    change_status(
        demo_engine, Actor(officials["official"], "official"), [cid], "resolved", "Filled.", photo_ids=[photo_id]
    )
    client = app.server.test_client()
    r = client.post(
        "/_dash-update-component",
        data=json.dumps(
            {
                "output": "page.children",
                "outputs": {"id": "page", "property": "children"},
                "inputs": [
                    {"id": "url", "property": "pathname", "value": f"/track/{token}"},
                    {"id": "url", "property": "search", "value": ""},
                ],
                "changedPropIds": ["url.pathname"],
            }
        ),
        content_type="application/json",
    )
    assert r.status_code == 200 and f"/media/{photo_id}.thumb.jpg" in json.dumps(r.get_json())


def test_attaching_is_refused_without_a_login_and_with_a_role_that_may_not_answer(
    app,
    live_server: str,
    demo_engine,  # noqa: ANN001
) -> None:
    cid = comment(app, "Graffiti on the underpass.")
    make_officials(demo_engine)
    before = photo_count(demo_engine)

    assert upload_answer_photo(live_server, None, jpeg_with_everything((640, 480))).status_code == 401
    moderator, _r = http_login(live_server, "moderator@city.example")  # may moderate, may not answer
    assert upload_answer_photo(live_server, moderator, jpeg_with_everything((640, 480))).status_code == 403
    assert photo_count(demo_engine) == before  # nothing stored for either

    # A real official's pending photo, then sent by an outsider and by a moderator: refused, nothing attached.
    official, _r = http_login(live_server, "official@city.example")
    (photo_id,) = upload_answer_photo(live_server, official, jpeg_with_everything((640, 480))).json()["response"][
        "off-q-photo"
    ]["data"]
    assert apply_answer(live_server, None, [cid], [photo_id], "Cleaned.").status_code == 401
    assert apply_answer(live_server, moderator, [cid], [photo_id], "Cleaned.").status_code == 403
    with demo_engine.connect() as c:
        assert c.scalar(select(Photo.state).where(Photo.id == photo_id)) == "pending"
        assert c.scalar(select(Comment.status).where(Comment.id == cid)) == "new"
    assert requests.get(f"{live_server}/media/{photo_id}.jpg", timeout=30).status_code == 404


def test_a_file_that_is_not_a_photo_or_a_photo_for_many_comments_is_refused_with_a_reason(
    app,
    live_server: str,
    demo_engine,  # noqa: ANN001
) -> None:
    a, b = comment(app, "Broken light on Elm Street."), comment(app, "Broken light on Oak Street.")
    make_officials(demo_engine)
    s, _r = http_login(live_server, "official@city.example")
    before = photo_count(demo_engine)
    for data, kind in ((SVG, "image/svg+xml"), (b"<html><body>hi</body></html>", "image/jpeg"), (b"", "image/jpeg")):
        r = upload_answer_photo(live_server, s, data, kind).json()["response"]
        assert r["off-q-photo"]["data"] == [] and "not a photo" in r["off-q-photo-msg"]["children"]
    assert photo_count(demo_engine) == before

    (photo_id,) = upload_answer_photo(live_server, s, jpeg_with_everything((640, 480))).json()["response"][
        "off-q-photo"
    ]["data"]
    msg = apply_answer(live_server, s, [a, b], [photo_id], "Both fixed.").json()["response"]["off-q-msg"]["children"]
    assert msg == "Attach a photo to one comment at a time."
    forged = apply_answer(live_server, s, [a], ["A" * 22], "Fixed.").json()["response"]["off-q-msg"]["children"]
    assert "could not be found" in forged
    with demo_engine.connect() as c:
        assert set(c.scalars(select(Comment.status).where(Comment.id.in_([a, b])))) == {"new"}  # nothing half-done


def test_change_status_attaches_only_pending_photos_in_the_same_transaction(app, demo_engine) -> None:  # noqa: ANN001
    officials = make_officials(demo_engine)
    actor = Actor(officials["official"], "official")
    cid = comment(app, "The fountain leaks.", photo=True)
    citizens = photos_of(demo_engine, [cid])[cid][0]["id"]  # already attached to the comment
    from data_sources.comments.photo_records import PhotoError

    with pytest.raises(PhotoError):
        change_status(demo_engine, actor, [cid], "resolved", "Fixed.", photo_ids=[citizens])
    with pytest.raises(WorkflowError):
        change_status(demo_engine, actor, [cid, cid + 1], "resolved", "Fixed.", photo_ids=[citizens])
    with demo_engine.connect() as c:
        assert c.scalar(select(Comment.status).where(Comment.id == cid)) == "new"  # rolled back
        assert c.scalar(select(Photo.event_id).where(Photo.id == citizens)) is None


def test_the_queue_and_moderation_show_thumbnails_hidden_and_held_ones_too(
    app,
    live_server: str,
    demo_engine,  # noqa: ANN001
) -> None:
    held = comment(app, "Someone dumps rubbish skip loads behind the school.", held=True, photo=True)
    public = comment(app, "The cycle lane is blocked by a rubbish skip.", photo=True)
    held_photo = photos_of(demo_engine, [held], public=False)[held][0]["id"]
    public_photo = photos_of(demo_engine, [public])[public][0]["id"]
    officials = make_officials(demo_engine)
    hide_photo(demo_engine, Actor(officials["moderator"], "moderator"), public_photo, "a face")
    for photo in (held_photo, public_photo):
        assert requests.get(f"{live_server}/media/{photo}.thumb.jpg", timeout=30).status_code == 404  # not public

    s, _r = http_login(live_server, "official@city.example")
    query = {"off-q-sort.value": "newest", "off-q-f-text.value": "rubbish skip", "off-q-lang.data": "en"}
    r = callback(live_server, s, "off-q-table.data", query, "off-q-sort.value")
    assert r.status_code == 200
    rows = {row["id"]: row for row in r.json()["response"]["off-q-table"]["data"]}
    assert set(rows) == {public}  # the queue lists published comments; held ones wait in moderation
    assert rows[public]["photos"] == (
        f"[![Photo 1 of 1 (hidden)](/officials/media/{public_photo}.thumb.jpg)](/officials/media/{public_photo}.jpg)"
    )
    got = s.get(f"{live_server}/officials/media/{public_photo}.thumb.jpg", timeout=30)
    assert got.status_code == 200 and got.headers["Cache-Control"] == "private, no-store"
    assert max(Image.open(io.BytesIO(got.content)).size) <= 400

    # The held comment's photo, in the moderation table (its thumbnail at the officials' address).
    m = callback(
        live_server,
        s,
        "off-mod-table.data",
        {"off-mod-refresh.data": 0, "off-mod-lang.data": "en"},
        "off-mod-refresh.data",
    )
    assert m.status_code == 200
    mod_rows = {row["id"]: row for row in m.json()["response"]["off-mod-table"]["data"]}
    assert f"(/officials/media/{held_photo}.thumb.jpg)" in mod_rows[held]["photos"]
    assert s.get(f"{live_server}/officials/media/{held_photo}.thumb.jpg", timeout=30).status_code == 200

    # The public may not: neither the callbacks that list them nor the officials' address.
    assert callback(live_server, None, "off-q-table.data", query, "off-q-sort.value").status_code == 401
    assert requests.get(
        f"{live_server}/officials/media/{held_photo}.thumb.jpg", timeout=30, allow_redirects=False
    ).status_code in (401, 403)


def test_an_answer_photo_over_the_limit_is_refused_as_too_large(app, demo_engine) -> None:  # noqa: ANN001
    from dashboard.pages.officials_queue import answer_photo

    ctx = app.server.extensions["citydash"]
    limit = ctx.city.feedback.photo_max_mb * 1024 * 1024
    huge = "data:image/jpeg;base64," + "A" * (limit * 4 // 3 + 4096)
    ids, msg = answer_photo(ctx, huge, "es")
    assert ids == [] and "12 MB" in msg and msg != "The photo is too large (at most 12 MB)."  # said in Spanish
    assert photo_count(demo_engine) == 0
