"""Helpers for the officials' tests: accounts and a logged-in test client."""

from __future__ import annotations

import re

from data_sources.comments.accounts import create_official, hash_password

PASSWORD = "correct horse battery"
ROLES = ("moderator", "official", "admin")


def make_officials(engine) -> dict[str, int]:  # noqa: ANN001
    h = hash_password(PASSWORD)
    return {role: create_official(engine, f"{role}@city.example", h, role, "Transport") for role in ROLES}


def csrf_token(client, path: str = "/officials/login") -> str:  # noqa: ANN001
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, role: str, password: str = PASSWORD):  # noqa: ANN001
    return client.post(
        "/officials/login",
        data={"email": f"{role}@city.example", "password": password, "csrf_token": csrf_token(client)},
    )
