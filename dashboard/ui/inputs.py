"""Values from public callbacks, checked where they enter: every Dash callback is public HTTP, so an input may
hold anything JSON can (a list where a string was expected, 2^64, NaN, a lone surrogate). A callback passes each
input through one of these before using it; anything unexpected becomes the default, as if nothing was chosen.
Pure functions, no Dash.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


def choice(value: object, allowed: Iterable[T], default: T) -> T:
    """``value`` if it is one of ``allowed`` (compared as the same type: True is not 1), else ``default``."""
    for a in allowed:
        if type(value) is type(a) and value == a:
            return a
    return default


def choices(value: object, allowed: Sequence[T]) -> list[T]:
    """The allowed items of a list (in the list's order, once each); [] for anything that is not a list."""
    if not isinstance(value, list):
        return []
    out: list[T] = []
    for v in value:
        c = choice(v, allowed, None)
        if c is not None and c not in out:
            out.append(c)
    return out


def language(value: object, languages: Sequence[str], default: str) -> str:
    return choice(value, languages, default)


def number(value: object, lo: float = -math.inf, hi: float = math.inf) -> float | None:
    """A finite int or float within [lo, hi], as a float; None otherwise (also for bools and strings)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        x = float(value)
    except OverflowError:  # an int beyond a float's range
        return None
    return x if math.isfinite(x) and lo <= x <= hi else None


def text(value: object, max_len: int) -> str | None:
    """A string of at most ``max_len`` characters that can be encoded (no lone surrogates); None otherwise."""
    if not isinstance(value, str) or len(value) > max_len:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def data_url(value: object, max_bytes: int) -> bytes | None:
    """The bytes of a base64 data URL (what dcc.Upload sends: ``data:<type>;base64,<data>``), at most
    ``max_bytes`` of them; None for anything else. The declared type is ignored: what the bytes are is decided
    from their content by whoever reads them."""
    if not isinstance(value, str) or not value.startswith("data:"):
        return None
    head, sep, body = value.partition(",")
    if not sep or not head.endswith(";base64") or len(body) > (max_bytes + 2) // 3 * 4 + 4:
        return None
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if 0 < len(data) <= max_bytes else None
