"""Settings from environment variables and a ``.env`` file in the working directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from pykcworkshop import envfile

#: Every setting the app reads, with its default (None: computed or required).
SETTINGS: dict[str, str | None] = {
    "SECRET_KEY": None,
    "SITE_ROOT": envfile.DEFAULT_SITE_ROOT,
    "LOG_LEVEL": envfile.DEFAULT_LOG_LEVEL,
    "DB_URI": None,
    "BROKER_URL": "memory://",
    # Comma-separated extra origins allowed to open websockets (besides same-origin).
    "ALLOWED_ORIGINS": "",
    # Account limits (chat/api/http/limits.py): "on" or "off", and <count>/<period> rates.
    "ACCOUNT_RATE_LIMITS": "on",
    "SIGNUP_RATE_LIMIT": "10/hour",
    "LOGIN_RATE_LIMIT": "30/minute",
    "ROOM_CREATE_RATE_LIMIT": "30/hour",
    # Comma-separated addresses/CIDRs of proxies whose X-Forwarded-For/Forwarded is believed.
    "TRUSTED_PROXIES": "",
    # How often each open authenticated socket re-checks its session token (seconds).
    "SESSION_RECHECK_SECONDS": "120",
    # Open websockets one user, and one client address, may have at a time (per process).
    "MAX_SOCKETS_PER_USER": "30",
    "MAX_SOCKETS_PER_ADDRESS": "200",
    # permessage-deflate for websockets: "off" (default: our frames are small JSON, and
    # compressing each frame once per recipient halves fan-out capacity) or "on".
    "WEBSOCKET_COMPRESSION": "off",
}


def ensure_env_file(cwd: Path | None = None) -> None:
    """Create ``.env`` with fresh secrets on first start, when no secret is configured.

    Nothing happens when ``SECRET_KEY`` is already in the environment or a ``.env``
    exists: an existing file is never overwritten (that is ``genenv.py``'s job).
    """
    path = (cwd or Path.cwd()) / ".env"
    if os.environ.get("SECRET_KEY") or path.exists():
        return
    path.write_text(envfile.render_env(), encoding="utf-8")
    print(f"pykcworkshop: no SECRET_KEY configured; wrote fresh secrets to {path}", file=sys.stderr)


def load_settings(overrides: dict[str, Any] | None = None, *, first_start: bool = True) -> dict[str, Any]:
    """Return the settings: ``overrides``, then real environment variables, then ``.env``.

    The ``.env`` file is read from the working directory only (never searched for up the
    tree), so a test server started in a temporary directory cannot pick up a developer's.
    ``first_start`` (the app's start) may create ``.env``; scripts that only read settings
    pass False and get an error instead when no secret is configured.
    """
    overrides = overrides or {}
    if first_start and not overrides.get("SECRET_KEY"):
        ensure_env_file()
    load_dotenv(Path.cwd() / ".env", override=False)
    settings: dict[str, Any] = {name: os.environ.get(name, default) for name, default in SETTINGS.items()}
    settings.update(overrides)
    for name in ("MAX_SOCKETS_PER_USER", "MAX_SOCKETS_PER_ADDRESS"):
        value = str(settings[name]).strip()
        if not (value.isascii() and value.isdigit() and int(value) > 0):
            raise RuntimeError(f"{name} must be a positive whole number, not {settings[name]!r}")
        settings[name] = int(value)
    if not settings["SECRET_KEY"]:
        raise RuntimeError("SECRET_KEY is empty: set it in the environment or run genenv.py")
    return settings
