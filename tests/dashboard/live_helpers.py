"""Helpers for tests that attack a live server over HTTP as an outsider would: serve an app on loopback, log in
with a real form post, call an officials' Dash callback."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator

import requests
from werkzeug.serving import make_server

from tests.support import free_port
from tests.dashboard.officials_helpers import PASSWORD


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """The app behind a real threaded WSGI server on 127.0.0.1; yields its base URL."""
    port = free_port()
    srv = make_server("127.0.0.1", port, app.server, threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.shutdown()


def http_login(
    base: str,
    email: str,
    password: str = PASSWORD,
    headers: dict | None = None,
    session: requests.Session | None = None,
) -> tuple[requests.Session, requests.Response]:
    s = session or requests.Session()
    html = s.get(f"{base}/officials/login", headers=headers, timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = s.post(
        f"{base}/officials/login",
        data={"email": email, "password": password, "csrf_token": token},
        headers=headers,
        allow_redirects=False,
        timeout=30,
    )
    return s, r


def http_logout(base: str, s: requests.Session) -> requests.Response:
    html = s.get(f"{base}/officials/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return s.post(f"{base}/officials/logout", data={"csrf_token": token}, allow_redirects=False, timeout=30)


def dash_outputs(output: str) -> dict | list[dict]:
    parts = [p for p in output.strip(".").split("...") if p] if output.startswith("..") else [output]
    outs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1].split("@")[0]} for p in parts]
    return outs if output.startswith("..") else outs[0]


def officials_callback_body(base: str, prefix: str = "off-q-") -> dict:
    """The body of a real officials' callback (found in /_dash-dependencies) whose output id starts with prefix."""
    deps = requests.get(f"{base}/_dash-dependencies", timeout=30).json()
    dep = next(d for d in deps if d["output"].lstrip(".").startswith(prefix))
    return {
        "output": dep["output"],
        "outputs": dash_outputs(dep["output"]),
        "inputs": [{**i, "value": None} for i in dep["inputs"]],
        "state": [{**s, "value": None} for s in dep.get("state", [])],
        "changedPropIds": [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"],
    }


def call_callback(
    base: str, body: dict, cookies: dict | None = None, session: requests.Session | None = None
) -> requests.Response:
    sender = session or requests
    return sender.post(
        f"{base}/_dash-update-component",
        data=json.dumps(body),
        cookies=cookies,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
