"""Group commit for chat messages: concurrent messages share one transaction.

One ORM session, one INSERT and one commit per message capped a process at a few hundred
stored messages per second, and under load SQLite's writers fought for its lock until one
gave up with ``database is locked`` (docs/performance.md). Here each event loop has at
most one writer task: a handler queues its message and waits; the writer takes every
message queued meanwhile, adds them with :func:`db.create_chat_message` to one session
(SQLAlchemy sends them as one multi-row INSERT ... RETURNING) and commits once, then
answers each handler in queue order. The writer starts when a message arrives and ends
as soon as nothing is queued, so a loop that is simply closed finds no task pending.

The same transaction checks the batch's authors for mutes, in one query (a lookup per
message cost three times the batched INSERT itself: bench/persist.py under py-spy), and
records the members each message mentions. A muted author's message is answered with
:class:`Muted` and not stored; the check sits in the transaction that would store the
message, so a mute takes effect with the very next message, in every process, with no
cache to keep fresh.

The guarantees the chat-message socket relies on: a handler learns its message's id only
after the commit (so it is stored before it is published); a connection sends its next
message only after the previous one is answered (so its order holds); and a message that
cannot be stored is reported as :class:`NotStored`, never acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, cast

from sqlalchemy import Table, insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from pykcworkshop.chat import db
from pykcworkshop.chat.db.models import ChatMessage, MessageMention
from pykcworkshop.utils import now

log = logging.getLogger(__name__)

#: Messages per transaction at most (a backlog is written in several transactions).
MAX_BATCH: Final = 500
#: Tries for a transaction that fails because the database is busy (SQLite: locked by
#: another process), and the first pause between them in seconds (doubling).
BUSY_ATTEMPTS: Final = 6
BUSY_PAUSE: Final = 0.05


class NotStored(Exception):
    """The database did not store the message (it was not acknowledged)."""


class Muted(Exception):
    """The author is muted in the room: nothing is stored; the text is the error frame's reason."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"you are muted in this room until {until.astimezone(UTC).isoformat()}")
        self.until = until


@dataclass
class _Queued:
    author_id: int
    room_id: str
    content: str
    mentioned: frozenset[int]
    stored: asyncio.Future[tuple[int, datetime]] = field(repr=False)


class _Writer:
    """The queue and the writer task of one event loop."""

    def __init__(self) -> None:
        self.queue: list[_Queued] = []
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        try:
            while self.queue:
                batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
                await _write(batch)
        finally:
            self.task = None


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Writer] = weakref.WeakKeyDictionary()


async def store(
    *, author_id: int, room_id: str, content: str, mentioned: frozenset[int] = frozenset()
) -> tuple[int, datetime]:
    """Store a chat message with the others queued meanwhile; return its (id, timestamp).

    ``mentioned`` are the members it mentions (recorded with it, for their mention counts).
    Raise :class:`Muted` if the author is muted in the room, :class:`NotStored` when the
    database refuses the message.
    """
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = _Writer()
    queued = _Queued(author_id, room_id, content, mentioned, loop.create_future())
    writer.queue.append(queued)
    if writer.task is None:
        writer.task = loop.create_task(writer.run())
    # Shielded: a handler cancelled while waiting (its client left) must not cancel the
    # future the writer will answer; the message is stored anyway.
    return await asyncio.shield(queued.stored)


async def _write(batch: list[_Queued]) -> None:
    """Store ``batch`` in one transaction; if it fails, each message alone."""
    try:
        await _commit_busy_tolerant(batch)
    except DBAPIError as error:
        if len(batch) == 1:
            log.warning("chat message not stored: %s", error)
            _answer(batch[0], NotStored("the message could not be stored"))
            return
        # One bad message (e.g. its room was just deleted) must not fail the others.
        for queued in batch:
            await _write([queued])


async def _commit_busy_tolerant(batch: list[_Queued]) -> None:
    pause = BUSY_PAUSE
    for attempt in range(BUSY_ATTEMPTS):
        try:
            async with db.get_session() as session:
                outcomes = await _add_batch(session, batch)
                await session.commit()
        except OperationalError:
            # Busy (another process holds SQLite's lock, a connection dropped): try again.
            if attempt == BUSY_ATTEMPTS - 1:
                raise
            await asyncio.sleep(pause)
            pause *= 2
            continue
        for queued, outcome in zip(batch, outcomes, strict=True):
            _answer(queued, outcome)
        return


async def _add_batch(session: AsyncSession, batch: list[_Queued]) -> list[tuple[int, datetime] | Muted]:
    """Insert the batch's messages (and their mentions) in ``session``; a muted author's is refused.

    Core statements, not ORM objects: one multi-row ``INSERT ... RETURNING`` whose rows come
    back in the batch's order, without the unit of work's per-object bookkeeping (the
    largest share of a stored message's CPU in ``bench:persist``'s profile).
    """
    muted = await db.moderation.muted_authors(session, ((q.room_id, q.author_id) for q in batch))
    stored = [q for q in batch if (q.room_id, q.author_id) not in muted]
    inserted: list[tuple[int, datetime]] = []
    if stored:
        # A clock reading each, as db.create_chat_message takes one: clients that page by
        # timestamp alone (the workshop's protocol) would skip messages sharing one.
        rows = [
            {"author_id": q.author_id, "room_id": q.room_id, "content": q.content, "timestamp": now()}
            for q in stored
        ]
        inserted = [(row[0], row[1]) for row in await session.execute(_INSERT, rows)]
        mentions = [
            {"message_id": message_id, "user_id": user_id, "room_id": q.room_id}
            for q, (message_id, _timestamp) in zip(stored, inserted, strict=True)
            for user_id in q.mentioned
        ]
        if mentions:
            await session.execute(insert(cast(Table, MessageMention.__table__)), mentions)
    ids = iter(inserted)  # in the order of `stored`: the batch's, muted authors left out
    return [
        Muted(until) if (until := muted.get((q.room_id, q.author_id))) is not None else next(ids)
        for q in batch
    ]


#: The batch INSERT; RETURNING rows in the order of the parameters (insertmanyvalues).
_INSERT: Final = insert(ChatMessage).returning(
    ChatMessage.id, ChatMessage.timestamp, sort_by_parameter_order=True
)


def _answer(queued: _Queued, outcome: tuple[int, datetime] | Exception) -> None:
    if queued.stored.done():
        return
    if isinstance(outcome, Exception):
        queued.stored.set_exception(outcome)
    else:
        queued.stored.set_result(outcome)
