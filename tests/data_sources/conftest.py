"""Shared test helpers for data_sources: the real payloads, our own fixtures, a store, a fake HTTP transport."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def _realdata(relative: str) -> Path:
    from tests.support import realdata

    return realdata(*relative.split("/"))


@pytest.fixture
def realdata() -> Callable[[str], Path]:
    """realdata("gbfs/...json") -> its path, or skip the test when ../shared/realdata is absent."""
    return _realdata


@pytest.fixture
def fixture_path() -> Callable[[str], Path]:
    """fixture_path("gbfs_v3/utrecht-discovery.json") -> tests/fixtures/..., our own small payloads in upstream formats."""
    return lambda relative: FIXTURES / relative


class FakeTransport(BaseAdapter):
    """A requests adapter that answers from a routing table instead of the network.

    routes: list of (regex on the full URL, answer). An answer is a dict (status, json | text | body, headers),
    an exception instance to raise, a list of answers served in turn, or a callable(request) -> answer.
    """

    def __init__(self, routes: list[tuple[str, Any]]):
        super().__init__()
        self.routes = [(re.compile(p), a) for p, a in routes]
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):  # noqa: ANN001, ANN201
        self.requests.append(request)
        for pattern, answer in self.routes:
            if pattern.search(request.url):
                if isinstance(answer, list):
                    answer = answer.pop(0) if len(answer) > 1 else answer[0]
                if callable(answer) and not isinstance(answer, dict):
                    answer = answer(request)
                if isinstance(answer, BaseException):
                    raise answer
                return self._response(request, answer)
        return self._response(request, {"status": 404, "text": "no route"})

    @staticmethod
    def _response(request, answer: dict) -> requests.Response:  # noqa: ANN001
        r = requests.Response()
        r.status_code = answer.get("status", 200)
        r.reason = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}.get(
            r.status_code, ""
        )
        if "json" in answer:
            body = json.dumps(answer["json"]).encode()
        elif "file" in answer:
            body = Path(answer["file"]).read_bytes()
        else:
            body = answer.get(
                "body", answer.get("text", "").encode() if isinstance(answer.get("text", ""), str) else b""
            )
        r._content = body
        r.headers = CaseInsensitiveDict(answer.get("headers", {}))
        r.encoding = get_encoding_from_headers(r.headers)  # as requests' own adapter does
        r.url = request.url
        r.request = request
        return r

    def close(self) -> None:
        pass


@pytest.fixture
def fake_session() -> Callable[[list], requests.Session]:
    """fake_session(routes) -> a requests.Session whose every request goes to a FakeTransport."""

    def make(routes: list[tuple[str, Any]]) -> requests.Session:
        s = requests.Session()
        t = FakeTransport(routes)
        s.mount("https://", t)
        s.mount("http://", t)
        s.transport = t  # for assertions on what was asked
        return s

    return make
