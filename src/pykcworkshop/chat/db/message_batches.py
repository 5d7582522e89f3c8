"""Storing a batch of chat messages in one transaction, by the shortest path each database has.

:mod:`pykcworkshop.chat.groupcommit` gathers concurrent messages into batches; this module
writes one batch. Through the ORM session a batch of one cost about 2 ms of CPU on SQLite
and 2.6 ms on PostgreSQL (``bench:store``): the unit of work, statement caching, ten
hand-offs to aiosqlite's thread and, on PostgreSQL, a pre-ping in a transaction of its
own. Each database therefore gets its driver's own shortest path:

- **SQLite (a file):** one hop to a writer thread that holds its own ``sqlite3``
  connection (with the engine's pragmas) and runs the whole transaction there:
  ``BEGIN IMMEDIATE``, the mute check, the inserts, ``COMMIT``.
- **PostgreSQL (asyncpg):** one statement, so one round trip, on a connection of the
  writer's own: the mute check, the messages' ``INSERT`` and the mentions' ``INSERT`` as
  data-modifying CTEs. A single statement is atomic on its own.
- **Anything else** (an in-memory SQLite database, which a second connection could not
  see; another driver): Core statements in an ORM session.

Each path answers every message of the batch, in order, with its new id or, when its
author is muted in the room, the time the mute ends (the message is not stored).
:class:`BatchBusy` means the database was busy and the batch may be tried again;
:class:`BatchRefused` that it refused the batch (a message for a room deleted meanwhile).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from pykcworkshop.chat.db import engine as engines
from pykcworkshop.chat.db.models import ChatMessage, MessageMention
from pykcworkshop.chat.db.moderation import muted_authors


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A chat message to store: ``mentioned`` are the members it mentions."""

    author_id: int
    room_id: str
    content: str
    timestamp: datetime
    mentioned: frozenset[int] = frozenset()


#: Per message of a batch: its new id, or the end of its author's mute (not stored).
Outcome = int | datetime


class BatchBusy(Exception):
    """The database was busy (locked by another process, a connection dropped): try again."""


class BatchRefused(Exception):
    """The database refused the batch; stored alone, the other messages may succeed."""


async def store_messages(batch: Sequence[NewMessage], *, moment: datetime) -> list[Outcome]:
    """Store ``batch`` in one transaction; return each message's id, or its author's mute end.

    ``moment`` is now: a mute ending at or before it no longer holds.
    """
    engine = engines.get_engine()
    writer = _writers.get(engine)
    if writer is None:
        _close_stale_writers()  # db.connect() re-pointed the engine without dispose()
        writer = _writers[engine] = _writer_for(engine)
    return await writer(batch, moment)


async def close_writers() -> None:
    """Close the writers' own connections (:func:`~.engine.dispose` calls this)."""
    for writer in list(_writers.values()):
        if isinstance(writer, _PostgresWriter):
            await writer.close()
    await asyncio.to_thread(_close_stale_writers)


engines.on_dispose(close_writers)


def _close_stale_writers() -> None:
    for writer in list(_writers.values()):
        if isinstance(writer, _SqliteWriter):
            writer.close()
        elif isinstance(writer, _PostgresWriter):
            writer._drop()
    _writers.clear()


_Writer = Callable[[Sequence[NewMessage], datetime], Awaitable[list[Outcome]]]
_writers: dict[AsyncEngine, _Writer] = {}


def _writer_for(engine: AsyncEngine) -> _Writer:
    dialect = engine.dialect
    if dialect.name == "sqlite":
        args, options = dialect.create_connect_args(engine.url)
        database = str(args[0])
        if database != ":memory:" and "mode=memory" not in database:
            return _SqliteWriter(database, bool(options.get("uri")), dialect)
    if dialect.name == "postgresql" and dialect.driver == "asyncpg":
        return _PostgresWriter(engine)
    return _session_writer


# ------------------------------------------------------------------ SQLite


_SQLITE_MUTED: Final = (
    "SELECT room_id, user_id, muted_until FROM room_members"
    " WHERE muted_until IS NOT NULL AND (room_id, user_id) IN (VALUES "
)


class _SqliteWriter:
    """A thread with its own connection to the SQLite file; each batch is one hop to it."""

    def __init__(self, database: str, uri: bool, dialect: Dialect) -> None:
        self._database, self._uri = database, uri
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="pykc-sqlite-writer")
        self._connection: sqlite3.Connection | None = None
        # SQLAlchemy's own conversions of the timestamp columns, so rows read back alike.
        column = ChatMessage.__table__.c.timestamp.type.dialect_impl(dialect)
        self._bind = cast(Callable[[datetime], str], column.bind_processor(dialect))
        self._result = cast(Callable[[str], datetime], column.result_processor(dialect, None))

    async def __call__(self, batch: Sequence[NewMessage], moment: datetime) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._store, batch, moment)

    def close(self) -> None:
        def close_connection() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        self._thread.submit(close_connection).result()
        self._thread.shutdown()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            # isolation_level=None: no implicit transactions; ours begins IMMEDIATE, taking
            # the write lock at once (waiting up to the busy timeout) rather than at the INSERT.
            connection = sqlite3.connect(self._database, uri=self._uri, isolation_level=None)
            engines.set_sqlite_pragmas(connection, None)
            self._connection = connection
        return self._connection

    def _store(self, batch: Sequence[NewMessage], moment: datetime) -> list[Outcome]:
        try:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                outcomes = self._insert(connection, batch, moment)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as error:  # locked, busy, disk I/O
            raise BatchBusy(str(error)) from error
        except sqlite3.Error as error:  # a constraint: a room or author deleted meanwhile
            raise BatchRefused(str(error)) from error
        return outcomes

    def _insert(
        self, connection: sqlite3.Connection, batch: Sequence[NewMessage], moment: datetime
    ) -> list[Outcome]:
        muted = self._muted(connection, batch, moment)
        outcomes: list[Outcome] = []
        for message in batch:
            until = muted.get((message.room_id, message.author_id))
            if until is not None:
                outcomes.append(until)
                continue
            cursor = connection.execute(
                "INSERT INTO chat_messages (author_id, room_id, content, timestamp) VALUES (?, ?, ?, ?)",
                (message.author_id, message.room_id, message.content, self._bind(message.timestamp)),
            )
            message_id = cast(int, cursor.lastrowid)
            outcomes.append(message_id)
            if message.mentioned:
                connection.executemany(
                    "INSERT INTO message_mentions (message_id, user_id, room_id) VALUES (?, ?, ?)",
                    [(message_id, user_id, message.room_id) for user_id in message.mentioned],
                )
        return outcomes

    def _muted(
        self, connection: sqlite3.Connection, batch: Sequence[NewMessage], moment: datetime
    ) -> dict[tuple[str, int], datetime]:
        pairs = sorted({(message.room_id, message.author_id) for message in batch})
        placeholders = ", ".join(["(?, ?)"] * len(pairs))
        query = _SQLITE_MUTED + placeholders + ")"  # only "?" placeholders are added
        rows = connection.execute(query, [value for pair in pairs for value in pair])
        muted = {(room_id, user_id): self._result(until) for room_id, user_id, until in rows}
        return {pair: until for pair, until in muted.items() if until > moment}


# ------------------------------------------------------------------ PostgreSQL

#: The batch in one statement. ``kept`` numbers the messages that are stored, in batch
#: order; ``numbered`` numbers the new ids ascending. They pair up because the INSERT
#: takes ``kept`` in that order and the id sequence counts up as it goes (the assumption
#: SQLAlchemy's own batched "INSERT ... RETURNING" makes on PostgreSQL).
_PG_BATCH: Final = """
WITH batch AS (
    SELECT * FROM unnest($1::integer[], $2::varchar[], $3::varchar[], $4::timestamptz[])
        WITH ORDINALITY AS b(author_id, room_id, content, ts, ord)
), muted AS (
    SELECT b.ord, m.muted_until FROM batch AS b
    JOIN room_members AS m ON m.room_id = b.room_id AND m.user_id = b.author_id
    WHERE m.muted_until > $5
), kept AS (
    SELECT b.*, row_number() OVER (ORDER BY b.ord) AS n FROM batch AS b
    WHERE b.ord NOT IN (SELECT ord FROM muted)
), inserted AS (
    INSERT INTO chat_messages (author_id, room_id, content, "timestamp")
    SELECT author_id, room_id, content, ts FROM kept ORDER BY ord
    RETURNING id
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM inserted
), mentioned AS (
    INSERT INTO message_mentions (message_id, user_id, room_id)
    SELECT numbered.id, mention.user_id, kept.room_id
    FROM unnest($6::bigint[], $7::integer[]) AS mention(ord, user_id)
    JOIN kept USING (ord) JOIN numbered USING (n)
)
SELECT ord, NULL::integer AS id, muted_until FROM muted
UNION ALL
SELECT kept.ord, numbered.id, NULL FROM kept JOIN numbered USING (n)
"""


class _PostgresWriter:
    """The batch as one statement on an asyncpg connection of the writer's own.

    Its own, not the pool's: a pooled connection is pinged in a transaction of its own on
    every checkout (three round trips, more than the batch's statement). A connection that
    fails is dropped and the batch reported busy; the next batch connects again.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        _args, self._options = engine.dialect.create_connect_args(engine.url)
        self._connection: Any = None  # an asyncpg.Connection, bound to the loop that made it
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()

    async def __call__(self, batch: Sequence[NewMessage], moment: datetime) -> list[Outcome]:
        import asyncpg  # the scale extra: only here when the URL names asyncpg

        mention_ords = [n for n, message in enumerate(batch, 1) for _ in message.mentioned]
        mentioned = [user_id for message in batch for user_id in message.mentioned]
        arguments = (
            [message.author_id for message in batch],
            [message.room_id for message in batch],
            [message.content for message in batch],
            [message.timestamp for message in batch],
            moment,
            mention_ords,
            mentioned,
        )
        async with self._lock:
            try:
                connection = await self._connect()
                rows = await connection.fetch(_PG_BATCH, *arguments)
            except asyncpg.IntegrityConstraintViolationError as error:
                raise BatchRefused(str(error)) from error
            except (
                # The connection is gone or in an unknown state: a new one may succeed.
                OSError,
                TimeoutError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
                asyncpg.PostgresConnectionError,  # class 08
                asyncpg.OperatorInterventionError,  # class 57: shutdown, terminated
                asyncpg.InsufficientResourcesError,  # class 53: too many connections
            ) as error:
                self._drop()
                raise BatchBusy(str(error)) from error
            except asyncpg.TransactionRollbackError as error:  # class 40: try again
                raise BatchBusy(str(error)) from error
            except asyncpg.PostgresError as error:
                raise BatchRefused(str(error)) from error
        outcomes: list[Outcome | None] = [None] * len(batch)
        for ord_, message_id, until in rows:
            outcomes[ord_ - 1] = until if message_id is None else message_id
        if any(outcome is None for outcome in outcomes):
            raise BatchRefused("the batch's statement did not answer every message")
        return cast(list[Outcome], outcomes)

    async def _connect(self) -> Any:
        import asyncpg

        loop = asyncio.get_running_loop()
        if self._connection is not None and (self._loop is not loop or self._connection.is_closed()):
            self._drop()
        if self._connection is None:
            self._connection = await asyncpg.connect(**self._options)
            self._loop = loop
        return self._connection

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.terminate()  # no round trip: it may be dead, or another loop's
            self._connection = None

    async def close(self) -> None:
        """Close the connection (gracefully if it belongs to the running loop)."""
        connection, self._connection = self._connection, None
        if connection is None or connection.is_closed():
            return
        if self._loop is asyncio.get_running_loop():
            await connection.close(timeout=5)
        else:
            connection.terminate()


# ------------------------------------------------------------------ any other database


async def _session_writer(batch: Sequence[NewMessage], moment: datetime) -> list[Outcome]:
    """Core statements in one ORM session (SQLAlchemy batches the INSERT ... RETURNING)."""
    try:
        async with engines.get_session() as session:
            muted = await muted_authors(session, ((m.room_id, m.author_id) for m in batch), moment=moment)
            stored = [m for m in batch if (m.room_id, m.author_id) not in muted]
            ids: list[int] = []
            if stored:
                rows = [
                    {
                        "author_id": m.author_id,
                        "room_id": m.room_id,
                        "content": m.content,
                        "timestamp": m.timestamp,
                    }
                    for m in stored
                ]
                ids = [row[0] for row in await session.execute(_INSERT, rows)]
                mentions = [
                    {"message_id": message_id, "user_id": user_id, "room_id": m.room_id}
                    for m, message_id in zip(stored, ids, strict=True)
                    for user_id in m.mentioned
                ]
                if mentions:
                    await session.execute(insert(cast(Table, MessageMention.__table__)), mentions)
            await session.commit()
    except OperationalError as error:
        raise BatchBusy(str(error)) from error
    except DBAPIError as error:
        raise BatchRefused(str(error)) from error
    new_ids = iter(ids)  # in the order of `stored`: the batch's, muted authors left out
    return [muted.get((m.room_id, m.author_id)) or next(new_ids) for m in batch]


#: The batch INSERT; RETURNING rows in the order of the parameters (insertmanyvalues).
_INSERT: Final = insert(ChatMessage).returning(ChatMessage.id, sort_by_parameter_order=True)
