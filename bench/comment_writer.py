"""A citizen who keeps commenting: submits comments k-START..k-(END-1) and prints each key once it is
acknowledged. Whatever it printed must be in the store exactly once, however it (or the server) was killed.

    python -m bench.comment_writer STORE_URL START END           # straight through submit_comment
    python -m bench.comment_writer http://127.0.0.1:PORT START END  # through the report page's Send (HTTP)

Over HTTP each comment comes from its own address in X-Forwarded-For (the server must trust one proxy hop,
CITYDASH_PROXY_HOPS=1): many citizens, each within the per-citizen rate limit, as behind nginx.
"""

from __future__ import annotations

import json
import sys

LAT, LON = 48.5, 9.0  # the demo city's centre
# Comments spread over about 2 km around it, in categories with and without a measured counterpart (evidence).
CATEGORIES = ("street", "air", "traffic", "noise", "cycling", "other")


def place(i: int) -> tuple[float, float, str]:
    return LAT + ((i * 37) % 21 - 10) * 0.001, LON + ((i * 53) % 29 - 14) * 0.001, CATEGORIES[i % len(CATEGORIES)]


RETRIES = 60  # half a second apart: a citizen who keeps pressing Send for half a minute


def text(i: int) -> str:
    return f"Pothole number {i} on the ring road"


SEND_PATH = "/report/send"  # where the report page's Send posts (dashboard/pages/report.py ``send_answer``)


def send_body(key: str, i: int, lang: str = "en") -> str:
    """What the browser POSTs to SEND_PATH when a citizen presses Send on /report (assets/feedback.js ``send``)."""
    lat, lon, category = place(i)
    return json.dumps(
        {
            "pin": {"lat": lat, "lon": lon},
            "category": category,
            "text": text(i),
            "email": None,
            "website": None,
            "client_key": key,
            "lang": lang,
        }
    )


def comment_input(key: str, i: int, lang: str | None = None):  # noqa: ANN201
    """The same comment as ``send_body``, for ``data_sources.comments.records.submit_comment`` straight."""
    from data_sources.comments.records import CommentInput

    lat, lon, category = place(i)
    return CommentInput(lat=lat, lon=lon, category=category, text=text(i), client_key=key, language=lang)


def citizen_address(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def acknowledged(status: int, body: bytes) -> bool:
    """The page shows "Thank you. Your comment is saved as number N": only then is it acknowledged."""
    if status != 200:
        return False
    try:
        return json.loads(body).get("ok") is True
    except ValueError:
        return False


def main(target: str, start: int, end: int) -> None:
    keys = (f"k-{i:07d}" for i in range(start, end))
    if target.startswith("http"):
        import requests

        import time

        s = requests.Session()
        for i, key in zip(range(start, end), keys):
            # No answer, or 503 while the store or the server restarts: the page keeps the key and sends again.
            for _attempt in range(RETRIES):
                try:
                    r = s.post(
                        target + SEND_PATH,
                        data=send_body(key, i),
                        timeout=30,
                        headers={"Content-Type": "application/json", "X-Forwarded-For": citizen_address(i)},
                    )
                    if acknowledged(r.status_code, r.content):
                        print(key, flush=True)
                        break
                except requests.RequestException:
                    s = requests.Session()
                time.sleep(0.5)
        return
    from data_sources.comments.records import submit_comment
    from data_sources.config import CITIES_DIR, load_city
    from data_sources.store.db import make_engine

    city = load_city(CITIES_DIR / "demo.toml")
    engine = make_engine(target)
    for i, key in zip(range(start, end), keys):
        submit_comment(engine, city, comment_input(key, i))
        print(key, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
