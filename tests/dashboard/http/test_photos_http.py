"""Photos over HTTP, as a citizen's phone and an outsider would use them: upload, send with the comment, see it
public; held, hidden, pending and unknown photos all answer 404; officials hide and blur; purge forgets."""

from __future__ import annotations

import io
import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from PIL import Image
from sqlalchemy import func, select, update

from data_sources.comments.photo_records import blur_photo, hide_photo, names, photos_of, purge_photos
from data_sources.store.media import MediaStore
from data_sources.store.models import AuditEntry, Comment, Photo
from data_sources.store.db import utcnow
from data_sources.comments.workflow import Actor, moderate
from tests.support import dash_update
from tests.support import s3_client
from tests.dashboard.officials_helpers import PASSWORD, login, make_officials
from tests.data_sources.comments.test_photos import jpeg_with_everything

PIN = {"lat": 48.5, "lon": 9.0}


@pytest.fixture(params=["files", "s3"])
def app(request: pytest.FixtureRequest, demo_city, demo_engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    """The demo app with its photos on files under DATA_DIR, then in an S3-compatible store: the same tests pass
    on both."""
    from dashboard.app import create_app
    from data_sources.config import Settings

    env = {"CITYDASH_DATA_DIR": str(tmp_path), "CITYDASH_SECRET_KEY": "test-secret"}
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"photos-{secrets.token_hex(4)}"
        s3_client(endpoint).create_bucket(Bucket=bucket)
        for var, value in {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(var, value)
        env["CITYDASH_MEDIA_URL"] = f"s3://{bucket}/city"
    return create_app(city=demo_city, settings=Settings.from_env(env), engine=demo_engine)


def media_store(app) -> MediaStore:  # noqa: ANN001
    return app.server.extensions["citydash"].media


def upload(
    base: str, data: bytes, filename: str = "IMG_0001.jpg", session: requests.Session | None = None
) -> requests.Response:
    return (session or requests).post(
        f"{base}/report/photos", files={"photo": (filename, data, "image/jpeg")}, data={"lang": "en"}, timeout=30
    )


def send(
    base: str, photos: list[str], text: str = "The cycle lane is blocked by a skip every day."
) -> requests.Response:
    return requests.post(
        f"{base}/report/send",
        json={
            "pin": PIN,
            "category": "cycling",
            "text": text,
            "client_key": secrets.token_urlsafe(12),
            "lang": "en",
            "photos": photos,
        },
        timeout=30,
    )


def media(base: str, photo_id: str, thumb: bool = False) -> requests.Response:
    full, small = names(photo_id)
    return requests.get(f"{base}/media/{small if thumb else full}", timeout=30)


def rows(engine, **where: object) -> int:  # noqa: ANN001
    with engine.connect() as c:
        return c.scalar(select(func.count()).select_from(Photo).filter_by(**where)) or 0


def test_a_photo_uploaded_then_sent_is_public_without_metadata(live_server: str, demo_engine) -> None:  # noqa: ANN001
    r = upload(live_server, jpeg_with_everything())
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    photo_id = r.json()["photo_id"]
    assert media(live_server, photo_id).status_code == 404  # uploaded but not sent: nobody sees it

    sent = send(live_server, [photo_id])
    assert sent.status_code == 200, sent.text
    got = media(live_server, photo_id)
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "image/jpeg"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in got.headers["Content-Security-Policy"]
    assert "max-age=86400" in got.headers["Cache-Control"] and "public" in got.headers["Cache-Control"]
    im = Image.open(io.BytesIO(got.content))
    assert im.size == (1600, 1200) and not im.getexif() and b"GPS" not in got.content
    assert max(Image.open(io.BytesIO(media(live_server, photo_id, thumb=True).content)).size) == 400
    again = requests.get(
        f"{live_server}/media/{photo_id}.jpg", headers={"If-None-Match": got.headers["ETag"]}, timeout=30
    )
    assert again.status_code == 304
    with demo_engine.connect() as c:
        cid = c.scalar(select(Photo.comment_id).where(Photo.id == photo_id))
    assert cid == sent.json()["id"] and [p["id"] for p in photos_of(demo_engine, [cid])[cid]] == [photo_id]


def test_sending_a_photo_twice_or_an_unknown_one_stores_nothing(live_server: str, demo_engine) -> None:  # noqa: ANN001
    photo_id = upload(live_server, jpeg_with_everything((640, 480))).json()["photo_id"]
    assert send(live_server, [photo_id]).status_code == 200
    with demo_engine.connect() as c:
        before = c.scalar(select(func.count()).select_from(Comment))
    for photos in ([photo_id], ["A" * 22], ["../../etc/passwd"], [photo_id] * 5, "not-a-list"):
        r = send(live_server, photos)  # type: ignore[arg-type]
        assert r.status_code == 422 and r.json()["field"] == "photos" and r.json()["message"], (photos, r.text)
    with demo_engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(Comment)) == before


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 415, "not a photo"),
        (b"<html><body>hello</body></html>", 415, "not a photo"),
        (jpeg_with_everything((800, 600))[:3000], 422, "damaged"),  # a truncated photo
    ],
)
def test_files_that_are_not_photos_are_refused_and_nothing_is_stored(
    app,
    live_server: str,
    demo_engine,  # noqa: ANN001
    content: bytes,
    status: int,
    words: str,
) -> None:
    r = upload(live_server, content, "holiday.jpg")
    assert r.status_code == status and words in r.json()["message"] and r.json()["ok"] is False
    assert rows(demo_engine) == 0
    assert not list(media_store(app).names())


def test_a_file_over_the_limit_is_refused_with_413(live_server: str, demo_engine) -> None:  # noqa: ANN001
    big = b"\xff\xd8" + secrets.token_bytes(13 * 1024 * 1024)
    r = upload(live_server, big)
    assert r.status_code == 413 and rows(demo_engine) == 0


def test_photos_of_held_or_hidden_comments_and_hidden_photos_answer_404(live_server: str, demo_engine) -> None:  # noqa: ANN001
    ids = [upload(live_server, jpeg_with_everything((320, 240))).json()["photo_id"] for _ in range(2)]
    cid = send(live_server, ids).json()["id"]
    assert all(media(live_server, i).status_code == 200 for i in ids)
    officials = make_officials(demo_engine)
    moderator = Actor(officials["moderator"], "moderator")

    moderate(demo_engine, moderator, cid, "hide", "personal data")
    assert [media(live_server, i).status_code for i in ids] == [404, 404]
    assert [media(live_server, i, thumb=True).status_code for i in ids] == [404, 404]
    moderate(demo_engine, moderator, cid, "approve", "")
    assert [media(live_server, i).status_code for i in ids] == [200, 200]

    hide_photo(demo_engine, moderator, ids[0], "a face")
    assert [media(live_server, i).status_code for i in ids] == [404, 200]
    assert [p["id"] for p in photos_of(demo_engine, [cid])[cid]] == [ids[1]]
    assert {p["id"]: p["state"] for p in photos_of(demo_engine, [cid], public=False)[cid]} == {
        ids[0]: "hidden",
        ids[1]: "attached",
    }


def test_officials_see_hidden_photos_and_outsiders_do_not(live_server: str, demo_engine) -> None:  # noqa: ANN001
    photo_id = upload(live_server, jpeg_with_everything((320, 240))).json()["photo_id"]
    cid = send(live_server, [photo_id]).json()["id"]
    officials = make_officials(demo_engine)
    hide_photo(demo_engine, Actor(officials["moderator"], "moderator"), photo_id, "number plate")
    assert requests.get(
        f"{live_server}/officials/media/{photo_id}.jpg", timeout=30, allow_redirects=False
    ).status_code in (302, 401, 403)
    s = requests.Session()  # logged in over HTTP, as a moderator's browser is
    page = s.get(f"{live_server}/officials/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    s.post(
        f"{live_server}/officials/login",
        data={"email": "moderator@city.example", "password": PASSWORD, "csrf_token": token},
        timeout=30,
    )
    r = s.get(f"{live_server}/officials/media/{photo_id}.jpg", timeout=30)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "private, no-store"
    assert media(live_server, photo_id).status_code == 404
    assert cid


def striped_png(size: tuple[int, int] = (800, 600)) -> bytes:
    """Fine black and white stripes: detail that a blur destroys."""
    im = Image.new("L", size, 255)
    im.paste(
        0, (0, 0, size[0], size[1]), mask=Image.frombytes("1", size, bytes([0b10101010]) * (size[0] * size[1] // 8))
    )
    out = io.BytesIO()
    im.convert("RGB").save(out, "PNG")
    return out.getvalue()


def spread(jpeg: bytes, box: tuple[int, int, int, int]) -> int:
    lo, hi = Image.open(io.BytesIO(jpeg)).convert("L").crop(box).getextrema()  # type: ignore[misc]
    return int(hi) - int(lo)


def test_blur_replaces_the_public_file_and_its_address(app, live_server: str, demo_engine) -> None:  # noqa: ANN001
    photo_id = upload(live_server, striped_png(), "plate.png").json()["photo_id"]
    send(live_server, [photo_id])
    before = media(live_server, photo_id).content
    officials = make_officials(demo_engine)
    store = media_store(app)
    new_id = blur_photo(
        demo_engine, store, Actor(officials["moderator"], "moderator"), photo_id, (0.25, 0.25, 0.75, 0.75)
    )
    assert new_id != photo_id
    assert media(live_server, photo_id).status_code == 404  # the unblurred address is gone, and so are its bytes
    assert store.get(f"{photo_id}.jpg") is None and store.get(f"{photo_id}.thumb.jpg") is None
    after = media(live_server, new_id)
    assert after.status_code == 200
    inside, outside = (300, 250, 500, 350), (10, 10, 150, 100)
    assert spread(before, inside) > 150 and spread(after.content, inside) < 40  # the plate is unreadable
    assert spread(after.content, outside) > 150  # the rest of the photo is as it was


def test_purge_forgets_unsent_uploads_and_photos_of_comments_never_published(
    app, live_server: str, demo_engine
) -> None:  # noqa: ANN001
    unsent = upload(live_server, jpeg_with_everything((320, 240))).json()["photo_id"]
    held_photo = upload(live_server, jpeg_with_everything((320, 240))).json()["photo_id"]
    kept = upload(live_server, jpeg_with_everything((320, 240))).json()["photo_id"]
    held_comment = send(live_server, [held_photo]).json()["id"]
    send(live_server, [kept])
    officials = make_officials(demo_engine)
    moderate(demo_engine, Actor(officials["moderator"], "moderator"), held_comment, "hide", "abuse")
    store = media_store(app)
    later = utcnow() + timedelta(days=400)
    with demo_engine.begin() as c:
        c.execute(update(Comment).where(Comment.id == held_comment).values(created_at=utcnow() - timedelta(days=400)))
    assert purge_photos(demo_engine, store, 365, now=utcnow(), dry_run=True) == 1  # the held one; unsent is fresh
    assert purge_photos(demo_engine, store, 365, now=later) == 2
    assert (
        rows(demo_engine, id=unsent) == 0 and rows(demo_engine, id=held_photo) == 0 and rows(demo_engine, id=kept) == 1
    )
    assert store.get(f"{unsent}.jpg") is None and store.get(f"{held_photo}.thumb.jpg") is None
    assert media(live_server, kept).status_code == 200


def _photo_comment(client) -> tuple[int, str]:  # noqa: ANN001
    r = client.post(
        "/report/photos",
        data={"photo": (io.BytesIO(jpeg_with_everything((320, 240))), "a.jpg"), "lang": "en"},
        content_type="multipart/form-data",
    )
    photo_id = r.get_json()["photo_id"]
    sent = client.post(
        "/report/send",
        json={
            "pin": PIN,
            "category": "street",
            "text": "Graffiti on the bridge again.",
            "client_key": secrets.token_urlsafe(12),
            "photos": [photo_id],
        },
    )
    return sent.get_json()["id"], photo_id


def _photo_action(client, kind: str, photo_id: str, reason: str = "a face", box: dict | None = None):  # noqa: ANN001, ANN202
    import json

    ids = [{"type": t, "id": photo_id} for t in ("off-mod-photo-hide", "off-mod-photo-show", "off-mod-photo-blur")]
    inputs = [[{"id": i, "property": "n_clicks", "value": 1 if i["type"] == kind else None}] for i in ids]
    trig = json.dumps({"id": photo_id, "type": kind}, separators=(",", ":"))
    return dash_update(
        client,
        "..off-mod-photo-msg.children...off-mod-photo-refresh.data..",
        inputs,  # type: ignore[arg-type]
        state=[
            {"id": "off-mod-reason", "property": "value", "value": reason},
            {"id": "off-mod-photo-box", "property": "data", "value": box},
            {"id": "off-mod-photo-refresh", "property": "data", "value": 0},
            {"id": "off-mod-lang", "property": "data", "value": "en"},
        ],
        changed=[f"{trig}.n_clicks"],
    )


def test_photo_moderation_callbacks_refuse_outsiders_and_work_for_moderators(app, demo_engine) -> None:  # noqa: ANN001
    citizen = app.server.test_client()
    cid, photo_id = _photo_comment(citizen)
    assert citizen.get(f"/media/{photo_id}.jpg").status_code == 200
    for kind in ("off-mod-photo-hide", "off-mod-photo-blur", "off-mod-photo-show"):
        assert _photo_action(citizen, kind, photo_id).status_code in (401, 403)
    assert citizen.get(f"/media/{photo_id}.jpg").status_code == 200  # nothing an outsider sent changed it

    make_officials(demo_engine)
    moderator = app.server.test_client()
    login(moderator, "moderator")
    r = _photo_action(moderator, "off-mod-photo-hide", photo_id, reason="number plate")
    assert r.status_code == 200 and "Done." in r.get_data(as_text=True)
    assert citizen.get(f"/media/{photo_id}.jpg").status_code == 404
    assert moderator.get(f"/officials/media/{photo_id}.jpg").status_code == 200
    assert "blurred" not in _photo_action(moderator, "off-mod-photo-blur", photo_id, box=None).get_data(as_text=True)
    r = _photo_action(moderator, "off-mod-photo-blur", photo_id, box={"photo": photo_id, "box": [0.1, 0.1, 0.5, 0.5]})
    assert "Done." in r.get_data(as_text=True)
    with demo_engine.connect() as c:
        blurred_id, state, blurred = c.execute(
            select(Photo.id, Photo.state, Photo.blurred).where(Photo.comment_id == cid)
        ).one()
    assert blurred_id != photo_id and state == "hidden" and blurred
    with demo_engine.connect() as c:
        actions = [a for (a,) in c.execute(select(AuditEntry.action).where(AuditEntry.target_type == "photo"))]
    assert actions == ["hide_photo", "blur_photo"]


def test_photos_go_everywhere_a_comment_goes(app, demo_engine, demo_city, tmp_path: Path) -> None:  # noqa: ANN001
    """Atom enclosures, Open311 media_url (and POST with a media upload), and the data package's addresses."""
    import csv
    import json

    import feedparser

    from data_sources.comments.api_keys import create_api_key
    from data_sources.exchange.datapackage import export_datapackage

    client = app.server.test_client()
    cid, photo_id = _photo_comment(client)
    with demo_engine.connect() as c:
        category, district = c.execute(select(Comment.category, Comment.district_id).where(Comment.id == cid)).one()

    feed = feedparser.parse(client.get(f"/feeds/categories/{category}.atom").data)
    entry = next(e for e in feed.entries if e.link.endswith(f"/comments/{cid}"))
    assert [link.href for link in entry.links if link.rel == "enclosure"] == [f"http://localhost/media/{photo_id}.jpg"]

    found = client.get(f"/open311/v2/requests/{cid}.json").get_json()[0]
    assert found["media_url"] == f"http://localhost/media/{photo_id}.jpg"

    key = create_api_key(demo_engine, "back-office")
    r = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "street",
            "lat": "48.5",
            "long": "9.0",
            "description": "A fallen tree blocks the path.",
            "media": (io.BytesIO(jpeg_with_everything((900, 600))), "tree.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.data
    new_id = r.get_json()[0]["service_request_id"]
    media_url = client.get(f"/open311/v2/requests/{new_id}.json").get_json()[0]["media_url"]
    got = client.get(media_url.replace("http://localhost", ""))
    assert got.status_code == 200 and not Image.open(io.BytesIO(got.data)).getexif()
    bad = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "street",
            "lat": "48.5",
            "long": "9.0",
            "description": "An svg as a photo.",
            "media": (io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "x.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "media" in bad.get_data(as_text=True)

    export_datapackage(demo_engine, demo_city, tmp_path / "pkg", public_url="https://city.example/")
    meta = json.loads((tmp_path / "pkg" / "datapackage.json").read_text())
    assert "comment_photos" in [res["name"] for res in meta["resources"]]
    rows = list(
        csv.DictReader(line for line in (tmp_path / "pkg" / "comment_photos.csv").open() if not line.startswith("#"))
    )
    assert {r["url"] for r in rows} >= {f"https://city.example/media/{photo_id}.jpg"}
    assert not list((tmp_path / "pkg").glob("*.jpg"))  # addresses, not files
    assert district is None or district
