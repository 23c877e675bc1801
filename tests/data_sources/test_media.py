"""Photo bytes behind one small interface: files under the data directory, or an S3-compatible object store
(tested against moto's S3 server on loopback), pass the same tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data_sources.media import FileMediaStore, MediaStore, S3MediaStore, open_media_store
from tests.conftest import free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server_mod = pytest.importorskip("moto.server")
    port = free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_client(endpoint: str) -> Any:  # a boto3 S3 client
    boto3 = pytest.importorskip("boto3")
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


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
