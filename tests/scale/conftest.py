"""Fixtures of the scale tests: PostgreSQL and Redis availability, fresh databases.

Locally, a missing PostgreSQL or Redis skips these tests with the reason; in CI they fail
(see :mod:`tests.support.services`).

``PYKC_TEST_PG_URL`` (admin URL for CREATE/DROP DATABASE, default
``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``) and ``PYKC_TEST_REDIS_URL``
(default ``redis://127.0.0.1:6379/0``) point them at other servers.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from tests.support import databases
from tests.support.databases import data_layer_on
from tests.support.services import PrivateRedis, redis_test_url, unavailable


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
    url = redis_test_url()
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


@pytest.fixture
async def pg_data_layer(pg_url: str) -> AsyncIterator[str]:
    """Point the data layer at a fresh PostgreSQL database with tables; restore it after."""
    async with data_layer_on(pg_url):
        yield pg_url


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
