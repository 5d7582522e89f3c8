"""Fixtures of the scale tests: PostgreSQL and Redis availability, fresh databases.

Locally, a missing PostgreSQL or Redis skips these tests with the reason. In CI
(``CI`` set to anything but empty/0/false) they fail loudly instead: CI must run them.

``PYKC_TEST_PG_URL`` (admin URL for CREATE/DROP DATABASE, default
``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``) and ``PYKC_TEST_REDIS_URL``
(default ``redis://127.0.0.1:6379/0``) point them at other servers.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from pykcworkshop.chat import db
from pykcworkshop.chat.db import engine
from tests.scale import databases

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where the scale tests must run."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set: scale tests must not be skipped)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The admin URL of a reachable PostgreSQL (skips or fails otherwise)."""
    url = databases.pg_admin_url()
    try:
        databases.run_sync(databases.check_server(url))
    except Exception as error:
        unavailable(f"PostgreSQL is not reachable at {url} ({error!r}); set PYKC_TEST_PG_URL or start it")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of a reachable Redis (skips or fails otherwise)."""
    url = os.environ.get("PYKC_TEST_REDIS_URL") or DEFAULT_REDIS_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        unavailable(f"Redis is not reachable at {url} ({error!r}); set PYKC_TEST_REDIS_URL or start it")
    finally:
        client.close()
    return url


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    with databases.fresh_database(pg_admin_url) as url:
        yield url


@asynccontextmanager
async def data_layer_on(url: str) -> AsyncIterator[None]:
    """Point the data layer at ``url`` (tables created); restore the previous engine after."""
    saved = engine._engine, engine._sessionmaker
    db.connect(url)
    try:
        await db.initialize()
        yield
    finally:
        await db.dispose()
        engine._engine, engine._sessionmaker = saved


@pytest.fixture
async def pg_data_layer(pg_url: str) -> AsyncIterator[str]:
    """Point the data layer at a fresh PostgreSQL database with tables; restore it after."""
    async with data_layer_on(pg_url):
        yield pg_url


def free_port() -> int:
    """Return a TCP port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PrivateRedis:
    """A redis-server of our own on a free port, for restart tests (never the shared one)."""

    workdir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start (or restart, on the same port) and wait until it answers PING."""
        self.port = self.port or free_port()
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {self.process.returncode}")
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        """Stop our redis-server by its pid and wait for it to exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private redis-server that the test may stop and restart."""
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed; restart tests need a private one")
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
