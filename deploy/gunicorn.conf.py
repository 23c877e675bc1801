"""gunicorn settings for citydash: `gunicorn -c deploy/gunicorn.conf.py app:server` (README "Deploying").

Command-line flags override these (e.g. `-w 8 -b 0.0.0.0:8050`).
"""

import os
from typing import Any

bind = "127.0.0.1:8050"  # nginx in front; never expose the workers directly
# Sync workers, each a separate process with its own store pool; WEB_CONCURRENCY is gunicorn's own variable.
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# The first start of an empty demo store loads the demo city inside one worker (the others wait on a lock).
timeout = 120
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: memory stays bounded over years of uptime.
max_requests = 50000
max_requests_jitter = 5000
# The app writes one JSON line per request (dashboard.server.health); gunicorn's own access log would repeat it.
accesslog = None
errorlog = "-"
# Each worker's heartbeat touches a file in this folder on every loop: on a disk, that is a journal write per
# request, which can stall the worker while the disk flushes (gunicorn's FAQ, "Blocking os.fchmod"). Memory instead.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None


def post_worker_init(worker: Any) -> Any:
    # Everything loaded at start-up (Dash, pandas, the app) lives as long as the worker: move it out of the
    # garbage collector's way, so that collections under load stay short (fewer latency spikes).
    import gc

    from dashboard.server import log_redaction  # importable once the worker has loaded the app

    # No secret in gunicorn's logs either: tracking tokens in paths, API keys in query strings, Authorization and
    # Cookie headers are redacted, also in the access log if it is turned on (--access-logfile). The app's
    # dashboard.server.health.configure_logging installs the same filter; this makes it independent of the app.
    log_redaction.install()
    gc.collect()
    gc.freeze()
