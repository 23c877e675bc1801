"""Entry point: `python app.py` serves the dashboard; `gunicorn app:server` serves it in production."""

from dashboard.app import create_app
from dashboard.server.health import configure_logging
from data_sources.config import ConfigError, Settings

configure_logging()  # JSON lines on stderr from the first message on (start-up included)
try:
    app = create_app()
except ConfigError as e:  # one clear line, not a traceback
    raise SystemExit(f"citydash: {e}") from None
server = app.server

if __name__ == "__main__":
    s = Settings.from_env()
    app.run(host=s.host, port=s.port, debug=s.debug)
