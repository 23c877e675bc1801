"""A citizen who keeps commenting: submits comments k-START..k-(END-1) through ``submit_comment`` (the one path
every comment takes into the store) and prints each key once it is acknowledged, i.e. committed.

    python -m bench.comment_writer STORE_URL START END

Used by bench/kill.py and the kill -9 test: whatever it printed must be in the store exactly once, however it
was killed. (Through the store, not HTTP: the citizens' HTTP comment paths are being built on other branches.)
"""
import sys

from data_sources.comments import CommentInput, submit_comment
from data_sources.config import load_city
from data_sources.store import make_engine


def main(url: str, start: int, end: int) -> None:
    from data_sources.config import CITIES_DIR

    city = load_city(CITIES_DIR / "demo.toml")
    lat, lon = city.city.centre
    engine = make_engine(url)
    for i in range(start, end):
        key = f"k-{i:07d}"
        submit_comment(engine, city, CommentInput(lat=lat, lon=lon, category="street", client_key=key,
                                                  text=f"Pothole number {i} on the ring road"))
        print(key, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
