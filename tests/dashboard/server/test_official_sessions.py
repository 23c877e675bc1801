"""Officials' sessions end on the server (issue 15, fault 2) and wrong passwords cannot lock the real official
out (fault 7). Every attack goes over HTTP against a live server: a session cookie copied before logout, a
password reset, a role change or disabling the account is refused afterwards (the CSV export and an officials'
Dash callback alike); idle and absolute timeouts are checked by moving the app's clock, not by sleeping."""

from __future__ import annotations

import pytest
import requests
from click.testing import CliRunner

from dashboard.app import create_app
from dashboard.cli import cli
from dashboard.server.login_throttle import BASE_DELAY, FREE_FAILURES, MAX_DELAY, backoff_seconds
from data_sources.config import Settings
from tests.dashboard.live_helpers import (
    call_callback,
    http_login,
    http_logout,
    officials_callback_body,
    serving,
)
from tests.dashboard.officials_helpers import PASSWORD, make_officials

EMAIL = "official@city.example"
COOKIE = "citydash_session"


@pytest.fixture
def officials(demo_engine) -> dict[str, int]:
    return make_officials(demo_engine)


@pytest.fixture
def base(app, officials):
    with serving(app) as url:
        yield url


def export_status(base: str, cookie: str) -> int:
    return requests.get(f"{base}/officials/export.csv", cookies={COOKIE: cookie}, timeout=60).status_code


def replay_refused(base: str, cookie: str, body: dict) -> None:
    """The copied cookie gets nothing: neither the export nor an officials' callback."""
    assert export_status(base, cookie) == 401
    r = call_callback(base, body, cookies={COOKIE: cookie})
    assert r.status_code == 401 and "response" not in r.text


def logged_in_copy(base: str) -> tuple[requests.Session, str, dict]:
    s, r = http_login(base, EMAIL)
    assert r.status_code == 303
    cookie = s.cookies[COOKIE]
    body = officials_callback_body(base)
    # Before: the copy works (so the refusals below are not malformed requests).
    assert export_status(base, cookie) == 200
    assert call_callback(base, body, cookies={COOKIE: cookie}).status_code in (200, 204)
    return s, cookie, body


def run_cli(engine, *args: str, stdin: str = "") -> None:
    env = {"CITYDASH_DATABASE_URL": str(engine.url)}
    res = CliRunner().invoke(cli, list(args), input=stdin, env=env, catch_exceptions=False)
    assert res.exit_code == 0, res.output


def test_a_cookie_copied_before_logout_is_refused_after_it(base):
    s, cookie, body = logged_in_copy(base)
    assert http_logout(base, s).status_code == 303
    replay_refused(base, cookie, body)


def test_logout_ends_the_officials_other_sessions_too(base):
    phone, _ = http_login(base, EMAIL)
    _, cookie, body = logged_in_copy(base)
    assert http_logout(base, phone).status_code == 303
    replay_refused(base, cookie, body)


def test_a_password_reset_ends_every_session(base, demo_engine):
    _, cookie, body = logged_in_copy(base)
    run_cli(
        demo_engine,
        "create-official",
        EMAIL,
        "--role",
        "official",
        "--department",
        "Transport",
        "--password-stdin",
        stdin="a brand new password\n",
    )
    replay_refused(base, cookie, body)
    # The official logs in again with the new password only.
    assert http_login(base, EMAIL)[1].status_code == 401
    assert http_login(base, EMAIL, "a brand new password")[1].status_code == 303


def test_a_role_change_ends_every_session(base, demo_engine):
    _, cookie, body = logged_in_copy(base)
    run_cli(
        demo_engine,
        "create-official",
        EMAIL,
        "--role",
        "moderator",
        "--department",
        "Transport",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    replay_refused(base, cookie, body)


def test_disabling_an_account_ends_its_sessions_and_its_logins(base, demo_engine):
    _, cookie, body = logged_in_copy(base)
    run_cli(demo_engine, "disable-official", EMAIL)
    replay_refused(base, cookie, body)
    assert http_login(base, EMAIL)[1].status_code == 401


def test_logout_in_one_worker_ends_the_session_in_another(app, demo_city, settings, demo_engine, officials):
    """Two apps over one store stand for two gunicorn workers: the revocation is in the store, not in memory."""
    other = create_app(city=demo_city, settings=settings, engine=demo_engine)
    with serving(app) as a, serving(other) as b:
        s, cookie, body = logged_in_copy(a)
        assert export_status(b, cookie) == 200
        assert http_logout(b, s).status_code == 303  # cookies are per host, not per port: the same session
        replay_refused(a, cookie, body)


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_idle_timeout_and_absolute_lifetime(app, base):
    clock = Clock(1_800_000_000.0)
    app.server.extensions["citydash"].session_clock = clock
    s, _ = http_login(base, EMAIL)

    def status() -> int:
        return s.get(f"{base}/officials/export.csv", timeout=60).status_code

    # Used every 29 minutes: never idle for 30, so it lives on ...
    for _ in range(4):
        clock.t += 29 * 60
        assert status() == 200
    # ... until it sits unused for 31 minutes.
    clock.t += 31 * 60
    assert status() == 401
    # A fresh login kept busy every 20 minutes still ends 12 hours after it was opened.
    s, _ = http_login(base, EMAIL)
    opened = clock.t
    while clock.t + 20 * 60 <= opened + 12 * 3600:
        clock.t += 20 * 60
        assert status() == 200, (clock.t - opened) / 3600
    clock.t = opened + 12 * 3600 + 60
    assert status() == 401


def test_timeouts_come_from_the_settings(demo_city, tmp_path, demo_engine, officials):
    settings = Settings.from_env(
        {
            "CITYDASH_DATA_DIR": str(tmp_path),
            "CITYDASH_SECRET_KEY": "k",
            "CITYDASH_SESSION_IDLE_MINUTES": "5",
            "CITYDASH_SESSION_MAX_HOURS": "1",
        }
    )
    app = create_app(city=demo_city, settings=settings, engine=demo_engine)
    clock = Clock(1_800_000_000.0)
    app.server.extensions["citydash"].session_clock = clock
    with serving(app) as base:
        s, _ = http_login(base, EMAIL)
        clock.t += 4 * 60
        assert s.get(f"{base}/officials/export.csv", timeout=60).status_code == 200
        clock.t += 6 * 60
        assert s.get(f"{base}/officials/export.csv", timeout=60).status_code == 401


# --- lock-out (fault 7) ------------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def proxied_app(request, demo_city, tmp_path, demo_engine, officials):
    """Behind one trusted proxy, so that X-Forwarded-For names the client's address; counters in memory or in
    Redis (where gunicorn workers share them)."""
    env = {"CITYDASH_DATA_DIR": str(tmp_path), "CITYDASH_SECRET_KEY": "k", "CITYDASH_PROXY_HOPS": "1"}
    if request.param == "redis":
        env["CITYDASH_REDIS_URL"] = request.getfixturevalue("redis_url")
    return create_app(city=demo_city, settings=Settings.from_env(env), engine=demo_engine)


def frm(address: str) -> dict:
    return {"X-Forwarded-For": address}


def test_wrong_passwords_from_one_address_do_not_lock_out_the_official_elsewhere(proxied_app):
    with serving(proxied_app) as base:
        attacker = requests.Session()
        codes = [
            http_login(base, EMAIL, f"guess {i}", headers=frm("203.0.113.7"), session=attacker)[1]
            for i in range(FREE_FAILURES + 3)
        ]
        assert [r.status_code for r in codes[:FREE_FAILURES]] == [401] * FREE_FAILURES
        # The attacker is slowed: told to wait, and even the right password is not tried from there now.
        slowed = codes[FREE_FAILURES:]
        assert all(r.status_code == 429 for r in slowed)
        assert all(int(r.headers["Retry-After"]) >= BASE_DELAY - 2 for r in slowed)
        assert "Try again in" in slowed[0].text
        assert http_login(base, EMAIL, PASSWORD, headers=frm("203.0.113.7"))[1].status_code == 429
        # The real official, from another address, logs in at once with the right password.
        s, r = http_login(base, EMAIL, PASSWORD, headers=frm("198.51.100.20"))
        assert r.status_code == 303
        assert s.get(f"{base}/officials/export.csv", headers=frm("198.51.100.20"), timeout=60).status_code == 200


def test_an_account_under_attack_from_many_addresses_still_admits_its_official(proxied_app):
    with serving(proxied_app) as base:
        for n in range(4):  # 4 addresses x 5 wrong passwords: the account is under attack (20 failures)
            for i in range(FREE_FAILURES):
                http_login(base, EMAIL, f"guess {n}-{i}", headers=frm(f"203.0.113.{n + 10}"))
        # Now a fifth address waits after its first failure ...
        assert http_login(base, EMAIL, "one more guess", headers=frm("203.0.113.99"))[1].status_code == 401
        assert http_login(base, EMAIL, "and another", headers=frm("203.0.113.99"))[1].status_code == 429
        # ... while a correct password from an address that has not failed goes through.
        assert http_login(base, EMAIL, PASSWORD, headers=frm("198.51.100.20"))[1].status_code == 303


def test_the_backoff_doubles_up_to_its_ceiling():
    waits = [backoff_seconds(n, n) for n in range(1, 16)]
    assert waits[: FREE_FAILURES - 1] == [0] * (FREE_FAILURES - 1)
    assert waits[FREE_FAILURES - 1 : FREE_FAILURES + 2] == [BASE_DELAY, 2 * BASE_DELAY, 4 * BASE_DELAY]
    assert max(waits) == MAX_DELAY and waits == sorted(waits)
    assert backoff_seconds(1, 20) == BASE_DELAY  # under attack: no free tries for a failing address
