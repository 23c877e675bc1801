"""Shared by the bench scripts: a fresh store (SQLite file or a new PostgreSQL database) served by gunicorn on
loopback, and a crowd of simulated citizens (as fast as answered, or at a given rate) with latency percentiles."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get(
    "CITYDASH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def fresh_store(kind: str) -> Iterator[str]:
    """The URL of an empty store that is dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="citydash-bench-") as d:
            yield f"sqlite:///{d}/citydash.sqlite"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"citydash_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def app_env(url: str, redis_url: str | None = None) -> dict[str, str]:
    """The environment the bench serves the demo city in: this process's, over ``url``, with Redis for rate
    limits and caches only if ``redis_url`` is given, and one trusted proxy hop (simulated citizens each come
    from their own X-Forwarded-For address)."""
    env = {
        **os.environ,
        "CITYDASH_DATABASE_URL": url,
        "CITYDASH_SECRET_KEY": "bench",
        "CITYDASH_PROXY_HOPS": "1",
        "CITYDASH_CITY": str(ROOT / "cities" / "demo.toml"),
        "CITYDASH_DATA_DIR": tempfile.mkdtemp(prefix="citydash-bench-data-"),
    }
    env.pop("CITYDASH_REDIS_URL", None)
    if redis_url:
        env["CITYDASH_REDIS_URL"] = redis_url
    return env


class Server:
    """`gunicorn -c deploy/gunicorn.conf.py -w N app:server` over ``url``; restartable, killable."""

    def __init__(
        self,
        url: str,
        workers: int = 4,
        port: int | None = None,
        extra_env: dict | None = None,
        redis_url: str | None = None,
    ):
        self.url, self.workers, self.port = url, workers, port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**app_env(url, redis_url), **(extra_env or {})}
        self.log = Path(self.env["CITYDASH_DATA_DIR"]) / "gunicorn.log"
        self.proc: subprocess.Popen | None = None

    def start(self, wait: float = 180) -> float:
        t0 = time.monotonic()
        self.launch()
        self.wait_healthy(wait)
        return time.monotonic() - t0

    def launch(self) -> None:
        """Start gunicorn without waiting for it (several servers starting at once, as after a deploy)."""
        out = open(self.log, "a")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "deploy/gunicorn.conf.py",
                "-w",
                str(self.workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "app:server",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )

    def wait_healthy(self, wait: float = 60) -> None:
        import requests

        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                if requests.get(self.base + "/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not healthy after {wait} s; see {self.log}")

    def workers_pids(self) -> list[int]:
        pid = self.proc.pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def kill_all(self) -> None:
        """kill -9 of the master and every worker at once (a power cut of the app, not of the machine)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill_all()

    def close(self) -> None:
        """Stop for good and remove the data folder (its log with it): a long bench or test run leaves nothing."""
        self.stop()
        shutil.rmtree(self.env["CITYDASH_DATA_DIR"], ignore_errors=True)


def _wait_port(port: int, proc: subprocess.Popen, log: Path, wait: float = 30) -> None:
    end = time.monotonic() + wait
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {log.read_text()[-2000:] if log.exists() else ''}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {wait} s; see {log}")


class PgBouncer:
    """Debian's PgBouncer in transaction mode in front of the PostgreSQL database of ``url``: the app's URL then
    points at the bouncer (``self.url``); every transaction may run on another server connection."""

    def __init__(self, url: str, pool_size: int = 20):
        from sqlalchemy.engine import make_url

        self.server = make_url(url)
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="citydash-pgbouncer-"))
        self.url = self.server.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)
        self.log = self.dir / "pgbouncer.log"
        db, user, pw = self.server.database, self.server.username, self.server.password
        (self.dir / "userlist.txt").write_text(f'"{user}" "{pw}"\n')
        (self.dir / "pgbouncer.ini").write_text(
            f"""[databases]
{db} = host={self.server.host or "127.0.0.1"} port={self.server.port or 5432} dbname={db}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = md5
auth_file = {self.dir}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits,options
logfile = {self.log}
pidfile = {self.dir}/pgbouncer.pid
"""
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> "PgBouncer":
        for f in self.dir.iterdir():
            f.chmod(0o644)
        self.dir.chmod(0o777)  # PgBouncer refuses to run as root: it runs as postgres and writes its log here
        cmd = ["pgbouncer", str(self.dir / "pgbouncer.ini")]
        if os.geteuid() == 0:
            cmd[1:1] = ["-u", "postgres"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(self.port, self.proc, self.log)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


class Nginx:
    """Debian's nginx on a free port in front of several app servers (round robin), as deploy/nginx.conf does
    with one. Each answer says which app server gave it (X-Upstream). The client's X-Forwarded-For is trusted
    from loopback (the bench's simulated citizens each have their own address, as behind a load balancer), and
    nginx passes one hop on to the app (CITYDASH_PROXY_HOPS=1)."""

    def __init__(self, upstreams: list[int]):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="citydash-nginx-"))
        self.log = self.dir / "error.log"
        servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=0;" for p in upstreams)
        d = self.dir
        (d / "nginx.conf").write_text(
            f"""daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
user root;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  upstream citydash {{
{servers}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{self.port};
    client_max_body_size 40m;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    location / {{
      proxy_pass http://citydash;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout 120s;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"""
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Nginx":
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_port(self.port, self.proc, self.log)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def cluster(
    url: str, servers: int = 2, workers: int = 2, redis_url: str | None = None, pgbouncer: bool = True
) -> Iterator[tuple[Nginx, list[Server], str]]:
    """``servers`` gunicorn masters (``workers`` each, different ports, started at once) over one store and one
    Redis, behind nginx; with ``pgbouncer``, they reach PostgreSQL through PgBouncer in transaction mode.
    Yields (nginx, the app servers, the store URL the app servers use)."""
    bouncer = PgBouncer(url).start() if pgbouncer else None
    app_url = bouncer.url if bouncer else url
    extra = {"CITYDASH_PGBOUNCER": "true"} if bouncer else {}
    apps = [Server(app_url, workers=workers, redis_url=redis_url, extra_env=extra) for _ in range(servers)]
    proxy = None
    try:
        for a in apps:
            a.launch()
        for a in apps:
            a.wait_healthy(240)
        proxy = Nginx([a.port for a in apps]).start()
        yield proxy, apps, app_url
    finally:
        if proxy:
            proxy.stop()
        for a in apps:
            a.close()
        if bouncer:
            bouncer.stop()


class MachineProbe:
    """What the machine itself did during a run, measured beside it by a small process of its own:

    - the disk: every ``interval`` seconds, 8 KB appended to a file in ``directory`` and ``fdatasync``ed, as a
      database commits. A comment is acknowledged only once committed, so every commit waits for such a flush;
      when the disk stalls (seen here: 0.2-1.2 s with no write completing, in this probe alone on an idle
      machine too), every comment waits with it, whatever the software.
    - the cores: every other time, a fixed loop of Python, timed in the probe's own CPU time (not wall time, so
      waiting for a busy core does not count). Seen here: the same loop takes 0.41 ms in some seconds and 0.61 ms
      in others of the same run, and the web workers' CPU per request moves with it.

    The load report puts, for each window, the slowest flush and the loop's median time beside the p99."""

    LOOP = 30_000  # sum(range(LOOP)): about half a millisecond of one core

    def __init__(self, directory: str, interval: float = 0.05):
        self.directory, self.interval = directory, interval
        self.proc: subprocess.Popen | None = None
        self.samples: list[tuple[str, float, float]] = []

    def __enter__(self) -> "MachineProbe":
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from bench._serve import _probe_loop; _probe_loop(sys.argv[1], float(sys.argv[2]))",
                self.directory,
                str(self.interval),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        return self

    def __exit__(self, *exc) -> None:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        self.samples = [
            (kind, float(at), float(v)) for kind, at, v in (line.split() for line in out.splitlines() if line)
        ]

    def report(self, start: float, seconds: float) -> dict:
        """The samples between ``start`` (time.monotonic) and ``seconds`` later, per window of WINDOW_S."""
        out = {}
        for kind, name, per_window, unit in (
            ("flush", "disk_flush", max, "max"),
            ("loop", "cpu_loop", _median, "median"),
        ):
            inside = [(at - start, v) for k, at, v in self.samples if k == kind and 0 <= at - start <= seconds]
            if not inside:
                continue
            windows = _by_window(inside)
            values = sorted(v for _, v in inside)
            out[name] = {
                "n": len(values),
                "median_ms": round(_median(values), 2),
                f"{unit}_per_{WINDOW_S}s_ms": [
                    round(per_window(windows.get(w, [0.0])), 2) for w in range(max(windows) + 1)
                ],
            }
            if kind == "flush":
                out[name]["over_100ms"] = sum(v > 100 for v in values)
        return out


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _probe_loop(directory: str, interval: float) -> None:
    """MachineProbe's process: prints "kind monotonic-time milliseconds" per sample until SIGTERM."""
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    fd, path = tempfile.mkstemp(prefix="citydash-probe-", dir=directory)
    block, offset, lines, turn = b"\0" * 8192, 0, [], 0
    try:
        while not stop:
            t0 = time.monotonic()
            os.pwrite(fd, block, offset)
            os.fdatasync(fd)
            lines.append(f"flush {t0:.4f} {(time.monotonic() - t0) * 1000:.2f}")
            offset = (offset + len(block)) % (64 << 20)  # a WAL segment's worth, then round again
            turn += 1
            if turn % 2 == 0:
                c0 = time.thread_time()
                sum(range(MachineProbe.LOOP))
                lines.append(f"loop {t0:.4f} {(time.thread_time() - c0) * 1000:.3f}")
            time.sleep(interval)
    finally:
        os.close(fd)
        os.unlink(path)
        print("\n".join(lines), flush=True)


def store_directory(url: str) -> str:
    """A folder on the same disk as the store: the SQLite file's; for PostgreSQL on this machine, this machine's
    temporary folder if it is on the server's disk, else the folder above the server's data directory."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return str(Path(u.database).parent)
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            data = Path(c.execute(text("SHOW data_directory")).scalar_one())
        if data.exists() and data.stat().st_dev != Path(tempfile.gettempdir()).stat().st_dev:
            return str(data.parent)
    except Exception:  # noqa: BLE001  (not a superuser, or a server elsewhere: this machine's disk, then)
        pass
    finally:
        engine.dispose()
    return tempfile.gettempdir()


def _p(lat: list[float], q: float) -> float:
    """The q-quantile of sorted latencies, in ms."""
    return round(lat[min(len(lat) - 1, int(len(lat) * q))] * 1000, 1)


WINDOW_S = 10  # p99 per window of this many seconds: a queue that builds up shows as a rising window


def _by_window(points) -> dict[int, list[float]]:  # noqa: ANN001
    """(seconds since the start, value) pairs, grouped by window of WINDOW_S seconds."""
    windows: dict[int, list[float]] = {}
    for at, value in points:
        windows.setdefault(int(at // WINDOW_S), []).append(value)
    return windows


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    answered_at: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        if ok:
            self.latencies.setdefault(kind, []).append(seconds)
            self.answered_at.setdefault(kind, []).append(time.monotonic())
        else:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def report(self, seconds: float) -> dict:
        out = {}
        for kind, lat in sorted(self.latencies.items()):
            start = self.answered_at[kind][0]
            windows = _by_window((at - start, s) for at, s in zip(self.answered_at[kind], lat))
            lat = sorted(lat)
            out[kind] = {
                "ok": len(lat),
                "errors": self.errors.get(kind, 0),
                "per_s": round(len(lat) / seconds, 1),
                "p50_ms": _p(lat, 0.5),
                "p99_ms": _p(lat, 0.99),
                f"p99_per_{WINDOW_S}s_ms": [_p(sorted(w), 0.99) for _, w in sorted(windows.items())],
            }
        for kind, n in self.errors.items():
            out.setdefault(kind, {"ok": 0, "errors": n})
        return out


def route_body(path: str = "/") -> str:
    """What Dash's renderer POSTs when a citizen opens ``path`` (the router callback)."""
    return json.dumps(
        {
            "output": "page.children",
            "outputs": {"id": "page", "property": "children"},
            "inputs": [
                {"id": "url", "property": "pathname", "value": path},
                {"id": "url", "property": "search", "value": ""},
            ],
            "changedPropIds": ["url.pathname", "url.search"],
            "state": [],
        }
    )


PAGES = ("/", "/air", "/traffic", "/cycling")  # the public pages a citizen opens
BROWSER_ENCODINGS = "gzip, deflate, br, zstd"  # what Chromium asks for


class _Exchange(asyncio.Protocol):
    """One HTTP/1.1 request on its own connection, as a browser behind nginx makes to gunicorn's sync workers
    (which close after every answer). It closes its side as soon as the whole answer is in: the workers linger
    until the client closes (gunicorn's graceful close), so a client that closes late holds a worker."""

    def __init__(self, request: bytes, answer: asyncio.Future):
        self.request, self.answer, self.buf, self.need = request, answer, bytearray(), -1

    def connection_made(self, transport) -> None:  # noqa: ANN001
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.need < 0:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            at = self.buf.lower().find(b"\r\ncontent-length:", 0, head_end)
            if at < 0:
                return  # no length: the answer ends when the server closes
            self.need = head_end + 4 + int(self.buf[at + 17 : self.buf.index(b"\r\n", at + 2)])
        if len(self.buf) >= self.need:
            self.transport.close()
            self._finish(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(exc or (None if self.need < 0 and self.buf else ConnectionError("closed before the answer")))

    def _finish(self, exc: Exception | None) -> None:
        if self.answer.done():
            return
        if exc is not None:
            self.answer.set_exception(exc)
        else:
            status = int(self.buf[9:12])
            self.answer.set_result((status, bytes(self.buf[self.buf.find(b"\r\n\r\n") + 4 :])))


class Client:
    """The simulated citizens' HTTP client: a few lines over asyncio's transports. The load generator shares the
    two cores with the server it measures; aiohttp's client took 1.0 ms of CPU per request against a hello-world
    gunicorn here, this one 0.4 ms, so more of the machine serves the citizens and less simulates them. It also
    closes as soon as the answer is in, as nginx does in front of the workers."""

    TIMEOUT_S = 30

    def __init__(self, base: str):
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.host_header = f"Host: {host}:{port}\r\n".encode()

    async def request(
        self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        data = body.encode()
        head = [f"{method} {path} HTTP/1.1\r\n".encode(), self.host_header, b"Connection: close\r\n"]
        head += [f"{k}: {v}\r\n".encode() for k, v in (headers or {}).items()]
        if data or method == "POST":
            head.append(f"Content-Length: {len(data)}\r\n".encode())
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        timer = loop.call_later(self.TIMEOUT_S, lambda: answer.done() or answer.set_exception(TimeoutError()))
        transport = None
        try:
            transport, _ = await loop.create_connection(
                lambda: _Exchange(b"".join(head) + b"\r\n" + data, answer), self.host, self.port
            )
            return await answer
        finally:
            timer.cancel()
            if transport is not None:
                transport.close()


async def browse(client: Client, stats: Stats, path: str = "/", scheduled: float | None = None) -> None:
    """One citizen opens ``path``: the HTML shell, then the page itself through the router callback. The shell's
    latency counts from ``scheduled`` (when the citizen wanted it) if given, so that waiting for a busy server
    counts too."""
    for kind, method, url, body, headers in (
        ("page_shell", "GET", path, "", {"Accept-Encoding": BROWSER_ENCODINGS}),
        (
            "page_render",
            "POST",
            "/_dash-update-component",
            route_body(path),
            {"Content-Type": "application/json", "Accept-Encoding": BROWSER_ENCODINGS},
        ),
    ):
        t0 = scheduled if scheduled is not None else time.perf_counter()
        scheduled = None
        try:
            status, _body = await client.request(method, url, body, headers)
            stats.add(kind, time.perf_counter() - t0, status == 200)
        except Exception:  # noqa: BLE001  (refused or reset while a worker dies: counted, not fatal)
            stats.add(kind, time.perf_counter() - t0, False)


async def comment(
    client: Client, stats: Stats, i: int, acked: list[str], run: str, scheduled: float | None = None
) -> None:
    """One citizen presses Send on /report (the page posts the form as JSON); retried with the same key on
    failure, as the page keeps the draft and its key."""
    from bench.comment_writer import SEND_PATH, acknowledged, citizen_address, send_body

    key = f"{run}-{i:07d}"
    for _attempt in range(3):
        t0 = scheduled if scheduled is not None else time.perf_counter()
        scheduled = None
        try:
            status, body = await client.request(
                "POST",
                SEND_PATH,
                send_body(key, i),
                {"Content-Type": "application/json", "X-Forwarded-For": citizen_address(i)},
            )
            ok = acknowledged(status, body)
        except Exception:  # noqa: BLE001
            ok = False
        stats.add("comment", time.perf_counter() - t0, ok)
        if ok:
            acked.append(key)
            return


async def crowd(
    base: str,
    citizens: int,
    seconds: float,
    think: float,
    stats: Stats,
    comment_share: float = 0.0,
    acked: list[str] | None = None,
    run: str = "bench",
    rate: float | None = None,
) -> float:
    """``citizens`` concurrent citizens for ``seconds``; each action is a comment with probability
    ``comment_share``, else a visit of one of the public pages.

    Without ``rate``, each citizen acts again as soon as it has its answer (after ``think`` seconds on average):
    the server's saturation throughput, with latencies set by the queue that builds up. With ``rate``, the
    citizens together want ``rate`` actions a second, at random (Poisson) times: the latency of an action counts
    from when its citizen wanted it, so a server that falls behind shows it in p99."""
    import itertools
    import random

    end = time.monotonic() + seconds
    numbers = itertools.count()
    acked = [] if acked is None else acked
    client = Client(base)

    async def citizen() -> None:
        due = time.perf_counter()
        while time.monotonic() < end:
            scheduled = None
            if rate:
                due += random.expovariate(rate / citizens)
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(min(wait, end - time.monotonic()))
                now = time.perf_counter()
                if time.monotonic() >= end or now < due - 0.002:  # the run ended before this action was due
                    return
                scheduled = min(due, now)  # uvloop's timers wake up to a millisecond early
            if random.random() < comment_share:
                await comment(client, stats, next(numbers), acked, run, scheduled)
            else:
                await browse(client, stats, random.choice(PAGES), scheduled)
            if think and not rate:
                await asyncio.sleep(random.expovariate(1 / think))

    t0 = time.monotonic()
    await asyncio.gather(*(citizen() for _ in range(citizens)))
    return time.monotonic() - t0


def run_crowd(coro):  # noqa: ANN001, ANN201
    """Run the crowd on uvloop (bench extra): the load generator shares the two cores with what it measures, and
    uvloop's event loop and sockets in C take less of them than asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by the processes of each part on this machine (from /proc), to tell how busy the
    two cores were: the web workers, PgBouncer, nginx, PostgreSQL, Redis, and this load generator."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(pid) == os.getpid():
            part = "load_generator"
        else:
            part = next((p for p in ("gunicorn", "pgbouncer", "nginx", "postgres", "redis") if p in cmd), None)
        if part:
            f = stat.rsplit(")", 1)[1].split()
            out[part] = out.get(part, 0.0) + (int(f[11]) + int(f[12])) / tick
    return out


def cores_used(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Average cores used by each part between two ``cpu_seconds()``: a worker recycled in between is missed."""
    return {k: round((after[k] - before.get(k, 0.0)) / seconds, 2) for k in sorted(after)}


def check_comments(url: str, acked: list[str], prefix: str) -> dict:
    """Every acknowledged comment is in the store exactly once (by key, and by text for retries)."""
    from sqlalchemy import select

    from data_sources.store.models import Comment
    from data_sources.store.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Comment.client_key, Comment.text).where(Comment.client_key.like(f"{prefix}-%"))
        ).all()
    engine.dispose()
    keys = [r[0] for r in rows]
    texts = [r[1] for r in rows]
    return {
        "acknowledged": len(acked),
        "acknowledged_missing": len(set(acked) - set(keys)),
        "stored": len(keys),
        "stored_twice": len(texts) - len(set(texts)),
    }


def cli(doc: str, run, extra=()) -> None:  # noqa: ANN001
    """The bench scripts' shared command line: --store, --citizens, --seconds and the script's own options."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--citizens", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    for name, kw in extra:
        ap.add_argument(name, **kw)
    a = vars(ap.parse_args())
    store = a.pop("store")
    for kind in ["sqlite", "postgresql"] if store == "both" else [store]:
        print(json.dumps(run(kind, **a)), flush=True)
