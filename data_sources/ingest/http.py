"""One HTTP session for every connector: cached, retried, time-limited and identifying itself.

* requests-cache stores responses under the data dir and revalidates them with ETag / Last-Modified, so an
  unchanged upstream costs a 304 instead of a full download;
* urllib3 ``Retry`` backs off on 429 and 5xx and honours ``Retry-After`` (capped, so a server asking for an
  hour does not freeze a refresh);
* every request has a connect and a read timeout;
* failures come back as ``SourceError`` with one line naming the URL and the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from data_sources.ingest.types import SourceError

PROJECT_URL = "https://github.com/citydash/citydash"
DEFAULT_TIMEOUT = (10, 60)  # (connect, read) seconds
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRY_AFTER = 120  # seconds; a longer Retry-After is shortened rather than obeyed


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("citydash")
    except Exception:  # not installed (running from a checkout)
        return "0.1.0"


USER_AGENT = f"citydash/{_version()} (+{PROJECT_URL})"


class _CappedRetry(Retry):
    def get_retry_after(self, response: Any) -> Any:
        after = super().get_retry_after(response)
        return None if after is None else min(after, MAX_RETRY_AFTER)


def retry_policy(retries: int = 3, backoff: float = 1.0) -> Retry:
    return _CappedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "POST"}),  # Overpass and Telraam-style APIs query by POST
        respect_retry_after_header=True,
        raise_on_status=False,  # hand back the last response; ``request`` turns it into a SourceError
    )


def make_session(cache_dir: str | Path | None = None, retries: int = 3, backoff: float = 1.0) -> requests.Session:
    """A session for connectors. ``cache_dir=None`` gives an uncached session (tests, one-off imports)."""
    if cache_dir is not None:
        import requests_cache

        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        session: requests.Session = requests_cache.CachedSession(
            str(Path(cache_dir) / "http_cache"),
            backend="sqlite",
            cache_control=True,
            # Expire at once but keep validators: every fetch is a conditional request (304 when unchanged).
            expire_after=requests_cache.EXPIRE_IMMEDIATELY,
            allowable_methods=("GET", "HEAD"),
        )
    else:
        session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry_policy(retries, backoff))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def local_path(url: str | Path) -> Path | None:
    """The file a ``file://`` URL or a plain path names, or None for an http(s) URL. Every kind reads staged
    files this way: ``params.url = "file:///srv/city/gbfs/gbfs.json"`` or ``"data/gbfs.json"``."""
    text = str(url)
    parts = urlsplit(text)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme in ("http", "https"):
        return None
    if len(parts.scheme) > 1:  # ftp:, s3:... (a one-letter scheme is a Windows drive)
        raise SourceError(f"{text}: only http(s), file:// URLs and local paths are read")
    return Path(text)


def read_local(path: Path, url: str) -> requests.Response:
    """A local file as a requests Response (status 200), so connectors read it as they read HTTP."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{url}: file not found") from None
    except IsADirectoryError:
        raise SourceError(f"{url}: is a folder, not a file") from None
    except OSError as e:
        raise SourceError(f"{url}: cannot read ({e.strerror})") from None
    r = requests.Response()
    r.status_code, r._content, r.url, r.reason = 200, content, str(url), "OK"
    return r


def request(
    session: requests.Session,
    url: str,
    *,
    method: str = "GET",
    params: dict | None = None,
    headers: dict | None = None,
    data: Any = None,
    json_body: Any = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    missing_ok: bool = False,
) -> requests.Response | None:
    """Send one request; any failure becomes a one-line ``SourceError``. With ``missing_ok`` a 404 gives None
    (an archive day a sensor did not report). A ``file://`` URL or a local path is read from disk."""
    local = local_path(url)
    if local is not None:
        if missing_ok and not local.exists():
            return None
        return read_local(local, url)
    try:
        r = session.request(method, url, params=params, headers=headers, data=data, json=json_body, timeout=timeout)
    except requests.Timeout:
        raise SourceError(f"{url}: timed out after {timeout[1]:g} s") from None
    except requests.ConnectionError as e:
        raise SourceError(f"{url}: {_connection_reason(e)}") from None
    except requests.RequestException as e:
        raise SourceError(f"{url}: {type(e).__name__}: {str(e)[:200]}") from None
    if r.status_code == 404 and missing_ok:
        return None
    if r.status_code >= 400:
        reason = f"HTTP {r.status_code} {r.reason or ''}".strip()
        if r.status_code == 429 and r.headers.get("Retry-After"):
            reason += f" (rate limited; upstream asks to retry after {r.headers['Retry-After']} s)"
        raise SourceError(f"{url}: {reason}")
    return r


def _connection_reason(e: Exception) -> str:
    """A short reason a data team can act on, instead of urllib3's nested exception text."""
    text = str(e)
    host = urlsplit(getattr(e.request, "url", "") or "").hostname if getattr(e, "request", None) else None
    where = f" {host}" if host else ""
    if "NameResolution" in text or "Name or service not known" in text or "getaddrinfo" in text:
        return f"cannot reach{where}: the host name does not resolve (no network, or a wrong URL)"
    if "Connection refused" in text:
        return f"cannot reach{where}: connection refused"
    if "SSL" in text or "certificate" in text:
        return f"cannot reach{where}: TLS/certificate error"
    return f"cannot reach{where}: {text[:160]}"


def get_json(session: requests.Session, url: str, **kwargs: Any) -> Any:
    r = request(session, url, **kwargs)
    try:
        return r.json()
    except (ValueError, json.JSONDecodeError):
        snippet = r.text[:60].replace("\n", " ")
        raise SourceError(f"{url}: malformed JSON in the response (starts {snippet!r})") from None


def get_text(session: requests.Session, url: str, **kwargs: Any) -> str:
    r = request(session, url, **kwargs)
    if "charset" not in r.headers.get("Content-Type", "").lower():
        r.encoding = "utf-8"  # requests would assume ISO-8859-1 for text/*; open-data CSVs are UTF-8
    return r.text.lstrip("\ufeff")  # portals' CSV exports often start with a byte-order mark
