"""dcc.Upload's data URLs, as an officials' callback receives them: whatever a client sends, the bytes within the
limit or nothing."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from dashboard.ui.inputs import data_url


def test_the_bytes_of_a_data_url_whatever_type_it_claims() -> None:
    assert data_url("data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8abc").decode(), 10) == b"\xff\xd8abc"
    assert data_url("data:text/html;base64," + base64.b64encode(b"<html>").decode(), 10) == b"<html>"  # judged later


def test_anything_else_or_over_the_limit_is_nothing() -> None:
    for value in (None, 3, ["data:"], "", "data:", "data:image/jpeg,abc", "data:image/jpeg;base64,***", "http://x"):
        assert data_url(value, 100) is None
    assert data_url("data:image/jpeg;base64,", 100) is None  # empty
    assert data_url("data:image/jpeg;base64," + base64.b64encode(b"x" * 101).decode(), 100) is None


@given(st.one_of(st.text(), st.binary().map(lambda b: "data:image/png;base64," + base64.b64encode(b).decode())))
def test_never_raises_and_never_exceeds_the_limit(value: str) -> None:
    out = data_url(value, 64)
    assert out is None or 0 < len(out) <= 64
