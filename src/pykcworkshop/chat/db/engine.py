"""The data layer's engine and sessions: connecting, and creating the schema.

One engine per process, set by :func:`connect`; :func:`get_session` hands out sessions
bound to it. :func:`initialize` creates the tables and the built-in System user, safely
when several processes start at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from pykcworkshop.chat.confusables import name_skeleton
from pykcworkshop.chat.constants import SYSTEM_USER_NAME
from pykcworkshop.chat.db.models import Base, User
from pykcworkshop.chat.validation import name_key

log = logging.getLogger(__name__)

_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None
#: Sessions for single reads (see get_session); the same as _sessionmaker on SQLite.
_read_sessionmaker: async_sessionmaker[AsyncSession] | None = None

#: Milliseconds SQLite waits on a locked database before giving up.
SQLITE_BUSY_TIMEOUT_MS = 5000
#: PostgreSQL advisory lock held while creating tables, so that N server processes
#: starting at once on an empty database do not race to CREATE TABLE.
SCHEMA_LOCK_KEY = 0x70796B63  # "pykc"
#: How often initialize() tries to create the tables when other processes race it (SQLite).
SCHEMA_ATTEMPTS = 5


def set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Set our pragmas on a new SQLite connection (an engine "connect" event listener)."""
    # WAL lets readers proceed during a write; foreign keys are off by default in SQLite;
    # the busy timeout makes concurrent writers wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def connect(db_uri: str, debug: bool = False) -> None:
    """(Re)point the module's engine at ``db_uri``, an SQLAlchemy async URL."""
    global _engine, _sessionmaker, _read_sessionmaker
    url = make_url(db_uri)
    options: dict[str, Any] = {"echo": debug, "pool_pre_ping": url.get_backend_name() != "sqlite"}
    _engine = create_async_engine(url, **options)
    if url.get_backend_name() == "sqlite":
        event.listen(_engine.sync_engine, "connect", set_sqlite_pragmas)
    # expire_on_commit=False: returned objects stay readable after the caller commits.
    _sessionmaker = async_sessionmaker(_engine, expire_on_commit=False)
    _read_sessionmaker = _sessionmaker
    if url.get_backend_name() == "postgresql":
        # No BEGIN before and no ROLLBACK after: two round trips of a history page's four.
        # (On SQLite switching the mode would cost a hop to aiosqlite's thread instead.)
        reads = _engine.execution_options(isolation_level="AUTOCOMMIT")
        _read_sessionmaker = async_sessionmaker(reads, expire_on_commit=False)


def get_engine() -> AsyncEngine:
    """Return the engine set by :func:`connect`."""
    if _engine is None:
        raise RuntimeError("database not connected: call pykcworkshop.chat.db.connect() first")
    return _engine


#: Called by dispose() first: modules of this package that hold connections of their own.
_dispose_hooks: list[Callable[[], Awaitable[None]]] = []


def on_dispose(hook: Callable[[], Awaitable[None]]) -> None:
    """Have :func:`dispose` await ``hook`` first (it closes connections kept outside the pool)."""
    _dispose_hooks.append(hook)


async def dispose() -> None:
    """Close every pooled connection of the current engine, and the message writers' own."""
    for hook in _dispose_hooks:
        await hook()
    if _engine is not None:
        await _engine.dispose()


def get_session(*, read_only: bool = False) -> AsyncSession:
    """Return a new session; use it as ``async with db.get_session() as session:``.

    ``read_only``: for reads that need no transaction (each statement sees the data
    committed when it runs); on PostgreSQL such a session skips BEGIN and ROLLBACK.
    Nothing it writes is rolled back: do not write with it.
    """
    makers = _read_sessionmaker if read_only else _sessionmaker
    if makers is None:
        raise RuntimeError("database not connected: call pykcworkshop.chat.db.connect() first")
    return makers()


async def initialize(drop_tables: bool = False) -> None:
    """Create the tables (dropping them first if asked) and the built-in System user.

    Safe when several processes start at once (``hypercorn --workers N``) on an empty
    database: PostgreSQL serializes them with an advisory lock; SQLite has no such lock,
    so a process that loses the race to CREATE TABLE checks again.
    """
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            await _create_tables(drop_tables)
            break
        except OperationalError as error:
            if "already exists" not in str(error) or attempt == SCHEMA_ATTEMPTS - 1:
                raise
    async with get_session() as session:
        exists = await session.scalar(select(User.id).where(User.name_key == name_key(SYSTEM_USER_NAME)))
        if exists is None:
            session.add(
                User(
                    name=SYSTEM_USER_NAME,
                    name_key=name_key(SYSTEM_USER_NAME),
                    name_skeleton=name_skeleton(SYSTEM_USER_NAME),
                )
            )
            try:
                await session.commit()
            except IntegrityError:  # another process created it first
                await session.rollback()


async def _create_tables(drop_tables: bool) -> None:
    async with get_engine().begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        if drop_tables:
            await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
