"""Where photos live: one small interface with two backends.

* ``FileMediaStore``: files under the data directory (the default; backed up with the store by ``citydash
  backup``);
* ``S3MediaStore``: an S3-compatible object store (``CITYDASH_MEDIA_URL=s3://bucket/prefix``, endpoint and keys in
  boto3's usual environment: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...), so that several app servers share
  the photos.

Names are ``<random id>.jpg`` and ``<random id>.thumb.jpg``: nothing in a name comes from the citizen.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

NAME_RE = re.compile(r"[A-Za-z0-9_-]{8,64}(\.thumb)?\.jpg")


class MediaStore(Protocol):
    """Bytes by name. ``get`` answers None for a name it does not hold."""

    def put(self, name: str, data: bytes, content_type: str) -> None: ...

    def get(self, name: str) -> bytes | None: ...

    def delete(self, name: str) -> None: ...

    def names(self) -> Iterator[str]: ...


def _check(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"not a media name: {name!r}")
    return name


class FileMediaStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def put(self, name: str, data: bytes, content_type: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # Written whole, then renamed: a reader never sees half a photo.
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self.root / _check(name))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> bytes | None:
        try:
            return (self.root / _check(name)).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        (self.root / _check(name)).unlink(missing_ok=True)

    def names(self) -> Iterator[str]:
        if self.root.is_dir():
            yield from sorted(p.name for p in self.root.iterdir() if NAME_RE.fullmatch(p.name))


class S3MediaStore:
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/") + "/" if prefix.strip("/") else ""

    def put(self, name: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + _check(name), Body=data, ContentType=content_type)

    def get(self, name: str) -> bytes | None:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self.prefix + _check(name))
        except self.client.exceptions.NoSuchKey:
            return None
        body: bytes = obj["Body"].read()
        return body

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + _check(name))

    def names(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix) :]
                if NAME_RE.fullmatch(name):
                    yield name


def media_archive(backup: str | os.PathLike[str]) -> Path:
    """Where the photos of a store backup go: beside it, as ``<backup>.media.tar``."""
    return Path(f"{backup}.media.tar")


def backup_media(media: MediaStore, dest: str | os.PathLike[str]) -> int:
    """Every photo in the store, into one tar file (written whole, then renamed). Returns how many files."""
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".partial")
    n = 0
    with tarfile.open(tmp, "w") as tar:
        for name in media.names():
            data = media.get(name)
            if data is None:  # deleted while we were copying
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            n += 1
    os.replace(tmp, dest)
    return n


def restore_media(media: MediaStore, src: str | os.PathLike[str]) -> int:
    """Put the photos of a backup back into the store (files of other names in the archive are skipped)."""
    n = 0
    with tarfile.open(src, "r") as tar:
        for info in tar:
            if not info.isfile() or not NAME_RE.fullmatch(info.name):
                continue
            f = tar.extractfile(info)
            if f is not None:
                media.put(info.name, f.read(), "image/jpeg")
                n += 1
    return n


def open_media_store(url: str, data_dir: str | os.PathLike[str]) -> MediaStore:
    """The store a setting names: empty for ``DATA_DIR/media``, a folder path, or ``s3://bucket/prefix``."""
    if not url:
        return FileMediaStore(Path(data_dir) / "media")
    parts = urlsplit(url)
    if parts.scheme == "s3":
        import boto3  # only cities that use S3 need boto3 loaded

        return S3MediaStore(boto3.client("s3"), parts.netloc, parts.path)
    if parts.scheme in ("", "file"):
        return FileMediaStore(parts.path if parts.scheme == "file" else url)
    raise ValueError(f"CITYDASH_MEDIA_URL: expected a folder or s3://bucket/prefix, got {url!r}")
