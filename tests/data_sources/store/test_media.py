"""Photo bytes behind one small interface: files under the data directory, or an S3-compatible object store
(tested against moto's S3 server on loopback), pass the same tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_sources.store.media import (
    FileMediaStore,
    MediaStore,
    S3MediaStore,
    backup_media,
    media_archive,
    open_media_store,
    restore_media,
)
from tests.support import free_port
from tests.support import s3_client


@pytest.fixture(params=["files", "s3"])
def media(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStore:
    if request.param == "files":
        return FileMediaStore(tmp_path / "media")
    client = s3_client(request.getfixturevalue("s3_endpoint"))
    bucket = f"photos-{free_port()}"
    client.create_bucket(Bucket=bucket)
    return S3MediaStore(client, bucket, "city/media")


def test_a_stored_photo_reads_back_and_is_deleted(media: MediaStore) -> None:
    assert media.get("abcdefghijklmnop.jpg") is None
    media.put("abcdefghijklmnop.jpg", b"\xff\xd8full", "image/jpeg")
    media.put("abcdefghijklmnop.thumb.jpg", b"\xff\xd8thumb", "image/jpeg")
    assert media.get("abcdefghijklmnop.jpg") == b"\xff\xd8full"
    assert sorted(media.names()) == ["abcdefghijklmnop.jpg", "abcdefghijklmnop.thumb.jpg"]
    media.put("abcdefghijklmnop.jpg", b"\xff\xd8blurred", "image/jpeg")  # replaced whole
    assert media.get("abcdefghijklmnop.jpg") == b"\xff\xd8blurred"
    media.delete("abcdefghijklmnop.jpg")
    media.delete("abcdefghijklmnop.jpg")  # twice is fine
    assert media.get("abcdefghijklmnop.jpg") is None


@pytest.mark.parametrize("name", ["../../etc/passwd", "x.jpg", "abcdefghijklmnop.svg", "abcdefghijklmnop.jpg/..", ""])
def test_names_that_are_not_ours_are_refused(media: MediaStore, name: str) -> None:
    with pytest.raises(ValueError):
        media.put(name, b"x", "image/jpeg")
    with pytest.raises(ValueError):
        media.get(name)


def test_the_setting_picks_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = open_media_store("", tmp_path)
    assert isinstance(default, FileMediaStore) and default.root == tmp_path / "media"
    assert isinstance(open_media_store(str(tmp_path / "elsewhere"), tmp_path), FileMediaStore)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = open_media_store("s3://city-photos/prod", tmp_path)
    assert isinstance(s3, S3MediaStore) and (s3.bucket, s3.prefix) == ("city-photos", "prod/")
    with pytest.raises(ValueError, match="CITYDASH_MEDIA_URL"):
        open_media_store("ftp://host/x", tmp_path)


def test_backup_and_restore_bring_the_photos_back(media: MediaStore, tmp_path: Path) -> None:
    media.put("abcdefghijklmnop.jpg", b"\xff\xd8one", "image/jpeg")
    media.put("qrstuvwxyzABCDEF.thumb.jpg", b"\xff\xd8two", "image/jpeg")
    archive = media_archive(tmp_path / "store.bak")
    assert archive.name == "store.bak.media.tar"
    assert backup_media(media, archive) == 2
    for name in list(media.names()):
        media.delete(name)  # the disk or the bucket is lost
    assert restore_media(media, archive) == 2
    assert (
        media.get("abcdefghijklmnop.jpg") == b"\xff\xd8one"
        and media.get("qrstuvwxyzABCDEF.thumb.jpg") == b"\xff\xd8two"
    )


def test_restore_skips_what_is_not_a_photo_name(tmp_path: Path) -> None:
    import io
    import tarfile

    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        for name in ("../../outside.jpg", "abcdefghijklmnop.jpg"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    store = FileMediaStore(tmp_path / "media")
    assert restore_media(store, evil) == 1
    assert list(store.names()) == ["abcdefghijklmnop.jpg"] and not (tmp_path.parent / "outside.jpg").exists()


def test_the_command_line_backs_up_and_restores_photos_with_the_store(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dashboard.cli import cli
    from tests.support import ROOT

    env = {
        "CITYDASH_DATABASE_URL": f"sqlite:///{tmp_path / 'live.sqlite'}",
        "CITYDASH_DATA_DIR": str(tmp_path),
        "CITYDASH_CITY": str(ROOT / "cities" / "demo.toml"),
    }
    store = FileMediaStore(tmp_path / "media")
    store.put("abcdefghijklmnop.jpg", b"\xff\xd8kept", "image/jpeg")
    r = CliRunner().invoke(cli, ["backup", str(tmp_path / "b.sqlite")], env=env)
    assert r.exit_code == 0, r.output
    assert "(1 photo files)" in r.output and media_archive(tmp_path / "b.sqlite").is_file()
    store.delete("abcdefghijklmnop.jpg")
    r = CliRunner().invoke(cli, ["restore", "--yes", str(tmp_path / "b.sqlite")], env=env)
    assert r.exit_code == 0, r.output
    assert store.get("abcdefghijklmnop.jpg") == b"\xff\xd8kept"
