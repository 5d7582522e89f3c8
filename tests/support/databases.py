"""Databases for tests: fresh PostgreSQL ones, and pointing this process's data layer at them.

Fresh databases are named ``pykc_test_<random>`` and dropped afterwards. They serve the
scale tests, and :func:`~tests.support.live_server.live_backends` when the whole suite runs
on PostgreSQL. The admin URL names a database to connect to for ``CREATE DATABASE`` (the
role needs CREATEDB); default ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``,
override with ``PYKC_TEST_PG_URL``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import URL, make_url

from pykcworkshop.chat import db
from pykcworkshop.chat.db import engine

DEFAULT_PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DATABASE_PREFIX = "pykc_test_"

T = TypeVar("T")


def pg_admin_url() -> str:
    """Return the URL used to create and drop test databases."""
    return os.environ.get("PYKC_TEST_PG_URL") or DEFAULT_PG_ADMIN_URL


def server_url_of(db_uri: str) -> str | None:
    """Return an admin URL if ``db_uri`` names a PostgreSQL server but no database.

    >>> server_url_of("postgresql+asyncpg://127.0.0.1/")
    'postgresql+asyncpg://127.0.0.1/postgres'
    >>> server_url_of("postgresql+asyncpg://127.0.0.1/chat") is None, server_url_of("") is None
    (True, True)
    """
    if not db_uri.startswith("postgresql"):
        return None
    url = make_url(db_uri)
    if url.database:
        return None
    return url.set(database="postgres").render_as_string(hide_password=False)


def _connect_args(url: URL) -> dict[str, Any]:
    args = url.translate_connect_args(username="user")
    return {key: value for key, value in args.items() if value is not None}


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion in a fresh event loop on a worker thread.

    Safe to call from sync fixtures while pytest-asyncio owns this thread's loop.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def check_server(admin_url: str, timeout: float = 3.0) -> None:
    """Raise if PostgreSQL at ``admin_url`` cannot be reached within ``timeout`` seconds."""
    connection = await asyncpg.connect(**_connect_args(make_url(admin_url)), timeout=timeout)
    await connection.close()


async def create_database(admin_url: str) -> str:
    """Create an empty database with a random name; return its SQLAlchemy URL."""
    admin = make_url(admin_url)
    name = f"{DATABASE_PREFIX}{secrets.token_hex(6)}"
    connection = await asyncpg.connect(**_connect_args(admin), timeout=10)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return admin.set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    """Drop the test database at ``url``, disconnecting whoever still uses it."""
    target = make_url(url)
    name = target.database or ""
    if not name.startswith(DATABASE_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    admin = make_url(pg_admin_url())
    connection = await asyncpg.connect(**_connect_args(target.set(database=admin.database)), timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@contextmanager
def fresh_database(admin_url: str | None = None) -> Iterator[str]:
    """Create a fresh database for the ``with`` block and drop it afterwards (sync)."""
    url = run_sync(create_database(admin_url or pg_admin_url()))
    try:
        yield url
    finally:
        run_sync(drop_database(url))


@contextmanager
def kept_data_layer() -> Iterator[None]:
    """Put this process's data-layer engine back after the block.

    The engine is process-wide; code that re-points it (``db.connect``, the app factory)
    would otherwise leave the live server's database unreachable for the tests after it.
    """
    saved = engine._engine, engine._sessionmaker, engine._read_sessionmaker
    try:
        yield
    finally:
        engine._engine, engine._sessionmaker, engine._read_sessionmaker = saved


@asynccontextmanager
async def data_layer_on(url: str) -> AsyncIterator[None]:
    """Point the data layer at ``url`` (tables created); restore the previous engine after."""
    with kept_data_layer():
        db.connect(url)
        try:
            await db.initialize()
            yield
        finally:
            await db.dispose()
