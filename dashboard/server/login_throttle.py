"""Login throttling that slows guessing without locking the real official out.

Counting wrong passwords per email alone (as before) let anyone lock an official out with five guesses. Here, as
in django-axes' "username and IP" mode and Devise's per-account strategy combined with per-IP limits:

* wrong passwords are counted per (account, client address), and after ``FREE_FAILURES`` of them that pair must
  wait, ``BASE_DELAY`` seconds, doubling with each further failure, up to ``MAX_DELAY``; a correct password
  clears the pair;
* an account with ``ACCOUNT_ALERT`` or more failures in the window (from all addresses together) is under attack:
  then every address that has failed on it waits from its first failure;
* an address that has not failed on the account is never held back by this: a correct password from a new
  address logs in even while the account is attacked from elsewhere. Each address is also limited across all
  accounts by Flask-Limiter (``dashboard.server.auth``), which bounds credential stuffing from one address.

Counters live in the rate limiter's storage (Redis when configured), so they hold across gunicorn workers.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits.storage import Storage

FREE_FAILURES = 5
FAILURE_WINDOW = 3600  # seconds a wrong password is remembered
BASE_DELAY = 30
MAX_DELAY = 900
ACCOUNT_ALERT = 20


def backoff_seconds(pair_failures: int, account_failures: int) -> int:
    """How long a pair waits after its latest failure: 0 while it has free tries left."""
    free = 1 if account_failures >= ACCOUNT_ALERT else FREE_FAILURES
    if pair_failures < free:
        return 0
    return min(MAX_DELAY, BASE_DELAY * 2 ** min(pair_failures - free, 16))


def _digest(value: str) -> str:
    # Keys hold no email or address in clear (Redis dumps and monitors show keys).
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, storage: Storage, prefix: str) -> None:
        self.storage = storage
        self.prefix = prefix

    def _keys(self, account: str, address: str) -> tuple[str, str, str]:
        a, p = _digest(account), _digest(f"{account}\n{address}")
        return (
            f"{self.prefix}:login-fail:acct:{a}",
            f"{self.prefix}:login-fail:pair:{p}",
            f"{self.prefix}:login-wait:{p}",
        )

    def wait(self, account: str, address: str) -> int:
        """Seconds this address must still wait before trying this account again (0: go ahead)."""
        _, _, lock = self._keys(account, address)
        if self.storage.get(lock) <= 0:
            return 0
        return max(1, math.ceil(self.storage.get_expiry(lock) - time.time()))

    def failed(self, account: str, address: str) -> int:
        """Count a wrong password; return the wait it now costs this pair."""
        acct, pair, lock = self._keys(account, address)
        account_failures = self.storage.incr(acct, FAILURE_WINDOW)
        pair_failures = self.storage.incr(pair, FAILURE_WINDOW)
        delay = backoff_seconds(pair_failures, account_failures)
        if delay:
            self.storage.clear(lock)
            self.storage.incr(lock, delay)
        return delay

    def succeeded(self, account: str, address: str) -> None:
        _, pair, lock = self._keys(account, address)
        self.storage.clear(pair)
        self.storage.clear(lock)
