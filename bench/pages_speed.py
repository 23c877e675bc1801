"""Every public page as a visitor's phone sees it, side by side with a plain Dash page, in one run.

Starts the app with a fresh demo city (or measures --url) and the plain Dash page of bench/plain_dash.py (four KPI
cards and a density map, ``Dash(compress=True)``), both on loopback, then for each page:
  * Chromium at 390x844 (playwright), nothing scrolled or touched: requests and bytes on the wire before the first
    interaction (compression counts), until the network is idle;
  * ../shared/tools/lighthouse.sh with the mobile preset, --runs times, the pages taken in turn in each round so that
    a busy moment of the machine does not fall on one page: performance, accessibility, best practices, total
    bytes, TBT and LCP per run.
It prints one JSON line per page, then a table. A comment page and a tracking page are found in the demo store (the
tracking page through a comment sent like /report's Send; if that fails, /track is left out and the table says so).

Usage: python bench/pages_speed.py [--runs 2] [--pages / /air ...] [--url http://127.0.0.1:8050] [--tools DIR]
Budget (issue 17): each public page Lighthouse mobile performance >= 0.90, accessibility >= 0.95, and <= 500 KB on
the wire before the first interaction. Scores vary on a shared machine: bytes do not; compare pages of one run.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.comment_writer import SEND_PATH, send_body
from bench.home_speed import free_port, start_app

PAGES = [
    "/",
    "/air",
    "/traffic",
    "/cycling",
    "/report",
    "<comment>",
    "/ledger",
    "/you-said-we-did",
    "/about",
    "<track>",
]
BUDGET_BYTES = 500_000


def start_plain() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.plain_dash", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    for _ in range(120):
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the plain Dash page did not start")


def comment_path(base: str) -> str | None:
    """A published comment's page, from the links on /you-said-we-did."""
    html = urllib.request.urlopen(base + "/you-said-we-did", timeout=30).read().decode()
    m = re.search(r'href="(/comments/[0-9]+)', html)
    return m.group(1) if m else None


def track_path(base: str) -> str | None:
    """A tracking page: a comment sent as /report's Send does, whose answer holds the private link."""
    req = urllib.request.Request(
        base + SEND_PATH,
        data=send_body(f"pages-speed-{uuid.uuid4().hex[:8]}", 1).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        answer = json.loads(urllib.request.urlopen(req, timeout=30).read())
        return (answer.get("track") or {}).get("text")
    except (OSError, ValueError):
        return None


def first_view(url: str) -> dict:
    """Requests and bytes on the wire (compression counted) while a 390x844 phone opens ``url`` and nobody touches
    it: until the network has been idle, twice (a bundle that a slot in view asks for is counted), as the tests
    count it (tests/dashboard/test_browser_pages.py). browser_probe.py stops at Dash's first settle, before such a
    bundle or Dash's own lazy plotly.js has arrived."""
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking"]
    sizes: list[int] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=flags)
        ctx = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
        )
        page = ctx.new_page()
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.loadingFinished", lambda ev: sizes.append(int(ev.get("encodedDataLength", 0))))
        page.goto(url, wait_until="networkidle", timeout=60_000)
        page.wait_for_timeout(1000)
        page.wait_for_load_state("networkidle")
        browser.close()
    return {"requests": len(sizes), "transferred_bytes": sum(sizes)}


def lighthouse(tools: Path, url: str, out: str) -> dict:
    line = subprocess.run(
        [str(tools / "lighthouse.sh"), url, out, "mobile"], capture_output=True, text=True, check=True
    ).stdout.strip()
    r = json.loads(line.splitlines()[-1])
    return {
        "performance": r["performance"],
        "accessibility": r["accessibility"],
        "best_practices": r["best-practices"],
        "bytes": r["total-byte-weight"],
        "tbt_ms": r["total-blocking-time"],
        "lcp_ms": r["largest-contentful-paint"],
    }


def table(rows: list[dict]) -> str:
    out = [
        "| page | performance | accessibility | best practices | TBT ms | LCP ms | Lighthouse bytes | "
        "bytes before interaction (390x844) | requests |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        runs = r["lighthouse"]

        def col(k: str) -> str:
            return ", ".join(f"{x[k]:.2f}" if isinstance(x[k], float) else f"{x[k]:,}" for x in runs)

        within = "" if r["probe"]["transferred_bytes"] <= BUDGET_BYTES else " (over 500 KB)"
        out.append(
            f"| {r['page']} | {col('performance')} | {col('accessibility')} | {col('best_practices')} | "
            f"{col('tbt_ms')} | {col('lcp_ms')} | {col('bytes')} | {r['probe']['transferred_bytes']:,}{within} | "
            f"{r['probe']['requests']} |"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--pages", nargs="*", default=PAGES, help="paths; <comment> and <track> are found in the store")
    ap.add_argument("--url", help="measure a running app instead of starting one")
    ap.add_argument("--tools", type=Path, default=ROOT.parent / "shared" / "tools")
    args = ap.parse_args()
    procs: list[subprocess.Popen] = []
    tmp = tempfile.TemporaryDirectory()
    try:
        if args.url:
            base = args.url.rstrip("/")
        else:
            proc, base = start_app(tmp.name)
            procs.append(proc)
        plain_proc, plain_url = start_plain()
        procs.append(plain_proc)
        found = {"<comment>": comment_path(base), "<track>": track_path(base)}
        targets = [("plain Dash page (density map + KPI cards)", plain_url)]
        for page in args.pages:
            path = found.get(page, page)
            if path is None:
                print(json.dumps({"page": page, "skipped": "not found in the demo store"}), flush=True)
                continue
            label = "/comments/<id>" if page == "<comment>" else "/track/<token>" if page == "<track>" else page
            targets.append((label, path if path.startswith("http") else base + path))
        rows = [{"page": label, "url": url, "probe": first_view(url), "lighthouse": []} for label, url in targets]
        for i in range(args.runs):
            for r in rows:
                r["lighthouse"].append(lighthouse(args.tools, r["url"], f"{tmp.name}/lh-{i}.json"))
        for r in rows:
            print(json.dumps(r), flush=True)
        print(table(rows))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        tmp.cleanup()


if __name__ == "__main__":
    main()
