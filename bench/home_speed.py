"""Speed of the citizens' pages with the demo city, as a visitor's phone sees them.

Starts the app on a free loopback port with a fresh demo store (or measures --url), then runs, per page:
  * ../shared/tools/browser_probe.py at 390x844 (first view, nothing scrolled) and at 1366x900 (map or charts
    in view, so the partial plotly.js bundle loads): requests and bytes on the wire;
  * ../shared/tools/lighthouse.sh with the mobile preset, --runs times: the median of each score and timing.

Usage: python bench/home_speed.py [--runs 3] [--pages / /air] [--url http://127.0.0.1:8050] [--tools DIR]
Budget (issue #4): home page Lighthouse mobile performance >= 0.90, accessibility >= 0.95, best practices >= 0.95,
first visit <= 1.2 MB on the wire. Timings vary on shared machines: compare runs made in the same session.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data_dir: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "CITYDASH_DATA_DIR": data_dir, "CITYDASH_PORT": str(port), "CITYDASH_HOST": "127.0.0.1"}
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):  # the first start generates the demo city
        try:
            urllib.request.urlopen(url + "/", timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the app did not start")


def probe(tools: Path, url: str, width: int, height: int, wait: str | None = None) -> dict:
    cmd = [sys.executable, str(tools / "browser_probe.py"), url, "--width", str(width), "--height", str(height)]
    out = subprocess.run(
        cmd + (["--wait-selector", wait] if wait else []), capture_output=True, text=True, check=True
    ).stdout
    r = json.loads(out)
    return {k: r[k] for k in ("requests", "transferred_bytes", "console_errors", "failed_requests")}


def lighthouse(tools: Path, url: str, runs: int) -> dict:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            out = (
                subprocess.run(
                    [str(tools / "lighthouse.sh"), url, f"{tmp}/lh{i}.json", "mobile"],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            results.append(json.loads(out))
    return {k: statistics.median(r[k] for r in results) for k in results[0]} | {
        "runs": runs,
        "performance_all": [r["performance"] for r in results],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pages", nargs="*", default=["/"])
    ap.add_argument("--url", help="measure a running app instead of starting one")
    ap.add_argument("--tools", type=Path, default=ROOT.parent / "shared" / "tools")
    args = ap.parse_args()
    proc = None
    tmp = tempfile.TemporaryDirectory()
    if args.url:
        base = args.url.rstrip("/")
    else:
        proc, base = start_app(tmp.name)
    try:
        for page in args.pages:
            url = base + page
            report = {
                "page": page,
                "phone_first_view": probe(args.tools, url, 390, 844),
                "desktop_with_charts": probe(args.tools, url, 1366, 900, wait=".js-plotly-plot .main-svg"),
                "lighthouse_mobile_median": lighthouse(args.tools, url, args.runs),
            }
            print(json.dumps(report), flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        tmp.cleanup()


if __name__ == "__main__":
    main()
