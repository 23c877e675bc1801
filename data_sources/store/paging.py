"""Keyset paging: a list goes on from the last item shown (``WHERE (key) < (last key)``), never by OFFSET, so a
page costs the same however deep it is and an item added between two pages is neither shown twice nor skipped.

The position travels as an opaque cursor: URL-safe base64 of a small JSON list (a version tag, then the sort key
values of the last item shown). A cursor that does not decode to exactly the expected shape and types raises
``BadCursor`` (the pages and APIs answer 400 with a short reason). A hand-made but well-formed cursor only moves
where a public list starts; it shows nothing a visitor could not reach by paging.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

VERSION = 1
MAX_CURSOR = 200  # characters: a cursor is a few dozen


class BadCursor(ValueError):
    """The ``cursor`` parameter is not one this list handed out."""


def encode_cursor(values: Sequence[datetime | int | str | None]) -> str:
    """The cursor for a position: datetimes as ISO text, ints and texts as they are."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([VERSION, *plain], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: Any, kinds: Sequence[str]) -> tuple[Any, ...]:
    """The position in ``cursor``; ``kinds`` gives each value's type: "datetime", "int", "str", with a trailing
    "?" when it may be null. Raises BadCursor for anything else."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR:
        raise BadCursor("not a cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor("not a cursor") from None
    if not isinstance(data, list) or len(data) != len(kinds) + 1 or data[0] != VERSION:
        raise BadCursor("not a cursor for this list")
    return tuple(_value(v, k) for v, k in zip(data[1:], kinds))


def _value(v: Any, kind: str) -> Any:
    if v is None and kind.endswith("?"):
        return None
    kind = kind.rstrip("?")
    if kind == "int" and type(v) is int and -(2**63) <= v < 2**63:
        return v
    if kind == "str" and isinstance(v, str) and len(v) <= 100:
        return v
    if kind == "datetime" and isinstance(v, str):
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            raise BadCursor("a time in the cursor is not a time") from None
        if t.tzinfo is None:
            return t
    raise BadCursor("the cursor does not fit this list")
