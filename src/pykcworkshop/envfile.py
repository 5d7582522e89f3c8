"""Render the two generated local files: ``.env`` (settings and secrets) and ``server.toml``.

Standard library only: ``genenv.py`` loads this file by path before any dependency is
installed, and :mod:`pykcworkshop.config` uses it for the first-start ``.env``.
"""

from __future__ import annotations

import secrets

#: Largest websocket frame the server accepts (hypercorn closes with 1009 above it).
WEBSOCKET_MAX_MESSAGE_SIZE = 64 * 1024
#: Seconds between server pings on idle websockets, so dead peers and NATs are noticed.
WEBSOCKET_PING_INTERVAL = 20.0

DEFAULT_SITE_ROOT = "http://localhost:8000"
DEFAULT_LOG_LEVEL = "INFO"


def new_secret() -> str:
    """Return a fresh random secret suitable for signing tokens.

    >>> len(new_secret()) >= 64
    True
    """
    return secrets.token_hex(32)


def render_env(*, site_root: str = DEFAULT_SITE_ROOT, log_level: str = DEFAULT_LOG_LEVEL) -> str:
    """Return the text of a ``.env`` file with fresh random secrets.

    DB_URI and BROKER_URL are written commented out, so the embedded defaults
    (SQLite in the instance folder, in-process broker) apply until someone opts in.

    >>> text = render_env()
    >>> "SECRET_KEY=" in text and "SITE_ROOT=http://localhost:8000" in text
    True
    """
    return (
        "# Written by pykcworkshop (genenv.py or first start). Keep it out of git.\n"
        f"SECRET_KEY={new_secret()}\n"
        f"SITE_ROOT={site_root}\n"
        f"LOG_LEVEL={log_level}\n"
        "# DB_URI=postgresql+asyncpg://user@127.0.0.1:5432/pykcworkshop\n"
        "# BROKER_URL=redis://127.0.0.1:6379/0\n"
        "# Limits on sign-ups, logins and room creations; off only for load tests.\n"
        "ACCOUNT_RATE_LIMITS=on\n"
    )


def render_server_toml(*, bind: str = "localhost:8000") -> str:
    """Return the text of the hypercorn config; the TLS lines stay commented out.

    >>> "# certfile" in render_server_toml()
    True
    """
    return (
        "# hypercorn settings for `hatch run serve` (written by genenv.py).\n"
        "# For local HTTPS, create certs/ with mkcert and uncomment keyfile/certfile\n"
        "# (and ca_certs to reach the site from a phone); see README, Local HTTPS.\n"
        f'bind = ["{bind}"]\n'
        '# keyfile = "certs/pykcworkshop-key.pem"\n'
        '# certfile = "certs/pykcworkshop.pem"\n'
        '# ca_certs = "certs/rootCA.pem"\n'
        f"websocket_max_message_size = {WEBSOCKET_MAX_MESSAGE_SIZE}\n"
        f"websocket_ping_interval = {WEBSOCKET_PING_INTERVAL}\n"
        'accesslog = "-"\n'
        'errorlog = "-"\n'
    )
