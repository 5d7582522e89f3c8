"""A real hypercorn process serving the app, for tests and benchmarks, and its backends.

The server runs in its own temporary directory with its own secrets and database, so it
never reads or writes a developer's ``.env`` or database. It binds port 0 and reports the
port it got, so parallel test runs never race for a port. :func:`live_backends` chooses
its database and broker (SQLite and memory:// unless asked otherwise).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pykcworkshop import envfile
from tests.support import databases
from tests.support.services import redis_test_url

_RUNNING_ON = re.compile(r"Running on (https?)://([\d.]+):(\d+)")
STARTUP_TIMEOUT = 60.0


@dataclass
class LiveServer:
    """A running server process and where to reach it."""

    workdir: Path
    env: dict[str, str]
    process: subprocess.Popen[str] | None = None
    http_url: str = ""
    ws_url: str = ""
    log_lines: list[str] = field(default_factory=list)
    #: hypercorn settings that replace the rendered server.toml's, as TOML values.
    config_overrides: dict[str, str] = field(default_factory=dict)
    #: The application hypercorn serves (a test may serve a wrapper of the app).
    app: str = "pykcworkshop:create_app()"

    @property
    def log(self) -> str:
        """Everything the server printed so far."""
        return "".join(self.log_lines)

    def start(self, timeout: float = STARTUP_TIMEOUT, *, port: int = 0) -> LiveServer:
        """Start hypercorn and wait until it listens; fail fast with its log if it dies.

        ``port`` 0 lets the system pick a free port (read back from the server's log).
        """
        bind = f"127.0.0.1:{port}"
        config = self.workdir / "server.toml"
        # A short graceful timeout: hypercorn's websocket ping tasks otherwise keep every
        # stop waiting out the default 3 s.
        settings = {"graceful_timeout": "0.5", **self.config_overrides}
        lines = [
            line
            for line in envfile.render_server_toml(bind=bind).splitlines()
            if line.partition(" =")[0] not in settings
        ]
        lines += [f"{name} = {value}" for name, value in settings.items()]
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        command = [
            sys.executable, "-m", "hypercorn", "--config", str(config),
            "--bind", bind, self.app,
        ]  # fmt: skip
        self.log_lines.clear()
        self.process = subprocess.Popen(
            command,
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        ready = threading.Event()
        threading.Thread(target=self._pump, args=(ready,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"test server did not start; its log:\n{self.log}")
        return self

    def _pump(self, ready: threading.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.log_lines.append(line)
            match = _RUNNING_ON.search(line)
            if match and not ready.is_set():
                scheme, host, port = match.groups()
                self.http_url = f"{scheme}://{host}:{port}"
                self.ws_url = f"{'wss' if scheme == 'https' else 'ws'}://{host}:{port}"
                ready.set()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self.http_url.rsplit(":", 1)[1])

    def restart(self) -> LiveServer:
        """Stop the server and start it again on the same port, with the same database."""
        port = self.port
        self.stop()
        return self.start(port=port)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop this server process (by its own pid) and wait for it to exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def server_env(workdir: Path, **overrides: str) -> dict[str, str]:
    """Return the environment of a test server: fresh secret, temporary SQLite database."""
    env = dict(os.environ)
    env.update(
        SECRET_KEY=secrets.token_hex(32),
        SITE_ROOT="http://localhost:8000",
        LOG_LEVEL="INFO",
        DB_URI=f"sqlite+aiosqlite:///{workdir / 'chat.sqlite3'}",
        BROKER_URL="memory://",
        PYTHONUNBUFFERED="1",
        # Open sockets re-check their session every second (the default is 120 s).
        SESSION_RECHECK_SECONDS="1",
        # The suite creates many users from one address; tests/accounts turns them on.
        ACCOUNT_RATE_LIMITS="off",
    )
    env.update(overrides)
    return env


def backend_overrides() -> dict[str, str]:
    """Return DB_URI/BROKER_URL overrides for the test server from PYKC_TEST_* variables."""
    overrides = {}
    for name in ("DB_URI", "BROKER_URL"):
        value = os.environ.get(f"PYKC_TEST_{name}")
        if value:
            overrides[name] = value
    return overrides


@contextmanager
def live_backends(*, pg: bool = False, redis: bool = False) -> Iterator[dict[str, str]]:
    """Yield the test server's DB_URI/BROKER_URL overrides for the session.

    ``pg`` (or ``PYKC_TEST_PG=1``, or ``PYKC_TEST_DB_URI`` naming a PostgreSQL server
    without a database, e.g. ``postgresql+asyncpg://127.0.0.1/``) creates a fresh database
    ``pykc_test_<random>`` for the run and drops it afterwards; ``redis`` (or
    ``PYKC_TEST_REDIS=1``) uses the Redis broker.
    """
    overrides = backend_overrides()
    if redis or os.environ.get("PYKC_TEST_REDIS") == "1":
        overrides["BROKER_URL"] = redis_test_url()
    admin_url = databases.server_url_of(overrides.get("DB_URI", ""))
    if admin_url is None and (pg or os.environ.get("PYKC_TEST_PG") == "1"):
        admin_url = databases.pg_admin_url()
    if admin_url is None:
        yield overrides
        return
    with databases.fresh_database(admin_url) as url:
        yield {**overrides, "DB_URI": url}
