"""What one comment costs the web worker, counted instead of timed: a figure that does not move with the machine.

    python bench/comment_cost.py [--store sqlite|postgresql|both] [--comments 200] [--redis URL] [--callgrind]

Posts comments through the report page's real Send in process (Flask's test client: every hook, the
validation, the rate limit, the INSERT), then the same number straight through ``submit_comment``, and
prints the cost of each per comment. With --callgrind (Debian's valgrind) the cost is in instructions, counted
only around the measured loop: repeatable to 1-3 % whatever else the machine is doing, where CPU time on a
shared machine moves by 20-70 % from one minute to the next. Without it, CPU ms. The gap between the two
figures is what Flask, the hooks and the rate limit cost; the kernel's share (sockets to PostgreSQL and Redis, to the
client) and gunicorn's own (about 0.7 ms of CPU per request) come on top, so bench/load.py stays the measure of
capacity. Use this one to tell whether a change made a request cheaper.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._serve import ROOT, app_env, cli, fresh_store  # noqa: E402

WARM = 100  # comments before counting: imports, caches, prepared statements


def _toggle(on: bool) -> None:
    if os.environ.get("CITYDASH_BENCH_CALLGRIND"):
        subprocess.run(
            ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())], capture_output=True, check=True
        )


def child(url: str, n: int, phase: str, redis: str | None) -> None:
    """Runs in its own process (under valgrind with --callgrind); prints CPU seconds for ``n`` comments."""
    env = app_env(url, redis)
    os.environ.clear()  # the app reads its settings from the environment: exactly the bench's, as gunicorn's
    os.environ.update(env)
    import app as application
    from bench.comment_writer import SEND_PATH, acknowledged, citizen_address, comment_input, send_body
    from data_sources.comments.records import submit_comment

    ctx = application.server.extensions["citydash"]
    client = application.server.test_client()

    def send(i: int) -> None:
        r = client.post(
            SEND_PATH,
            data=send_body(f"{phase}-{i:07d}", i),
            headers={"Content-Type": "application/json", "X-Forwarded-For": citizen_address(i)},
        )
        assert acknowledged(r.status_code, r.data), r.data[:300]

    def direct(i: int) -> None:
        submit_comment(ctx.engine, ctx.city, comment_input(f"{phase}-{i:07d}", i, "en"))

    one = send if phase == "send" else direct
    for i in range(WARM):
        one(i)
    _toggle(True)
    t0 = time.process_time()
    for i in range(WARM, WARM + n):
        one(i)
    took = time.process_time() - t0
    _toggle(False)
    print(json.dumps({"cpu_s": took}))


def _phase(url: str, n: int, phase: str, redis: str | None, callgrind: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", url, str(n), phase, redis or ""]
    env = dict(os.environ)
    if callgrind:
        env["CITYDASH_BENCH_CALLGRIND"] = "1"
        cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null"] + cmd
    if redis:
        import redis as redis_client

        redis_client.Redis.from_url(redis).flushdb()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if p.returncode:
        raise SystemExit(p.stderr[-3000:])
    out = {"cpu_ms": round(json.loads(p.stdout.strip().splitlines()[-1])["cpu_s"] * 1000 / n, 3)}
    if callgrind:
        counted = re.findall(r"Collected : (\d+)", p.stderr)
        out = {"instructions_M": round(int(counted[-1]) / n / 1e6, 3)}  # CPU time under valgrind means nothing
    return out


def run(kind: str, citizens: int, seconds: float, comments: int, redis: str | None, callgrind: bool) -> dict:
    del citizens, seconds  # the shared command line's; this bench has no crowd
    with fresh_store(kind) as url:
        return {
            "store": kind,
            "redis": bool(redis),
            "comments": comments,
            "per_comment": {
                "send": _phase(url, comments, "send", redis, callgrind),
                "submit_comment_alone": _phase(url, comments, "direct", redis, callgrind),
            },
        }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] or None)
    else:
        cli(
            __doc__,
            run,
            [
                ("--comments", {"type": int, "default": 200}),
                ("--redis", {"default": None}),
                ("--callgrind", {"action": "store_true"}),
            ],
        )
