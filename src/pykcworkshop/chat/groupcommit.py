"""Group commit for chat messages: concurrent messages share one transaction.

One ORM session, one INSERT and one commit per message capped a process at a few hundred
stored messages per second, and under load SQLite's writers fought for its lock until one
gave up with ``database is locked`` (docs/performance.md). Here each event loop has at
most one writer task: a handler queues its message and waits; the writer takes every
message queued meanwhile, stores them in one transaction
(:func:`pykcworkshop.chat.db.message_batches.store_messages`, which takes each database's
shortest path), then answers each handler in queue order. The writer starts when a message arrives and ends
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
from typing import Final

from pykcworkshop.chat.db.message_batches import BatchBusy, BatchRefused, NewMessage, Outcome, store_messages
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


@dataclass(slots=True)
class _Queued:
    message: NewMessage
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
                try:
                    await _write(batch)
                except Exception:
                    # A bug, not the database refusing: its handlers must not wait forever.
                    log.exception("chat messages not stored")
                    for queued in batch:
                        _answer(queued, NotStored("the message could not be stored"))
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
    # A clock reading each, as db.create_chat_message takes one: clients that page by
    # timestamp alone (the workshop's protocol) would skip messages sharing one.
    message = NewMessage(author_id, room_id, content, now(), mentioned)
    queued = _Queued(message, loop.create_future())
    writer.queue.append(queued)
    if writer.task is None:
        writer.task = loop.create_task(writer.run())
    # Shielded: a handler cancelled while waiting (its client left) must not cancel the
    # future the writer will answer; the message is stored anyway.
    return await asyncio.shield(queued.stored)


async def _write(batch: list[_Queued]) -> None:
    """Store ``batch`` in one transaction; if the database refuses it, each message alone."""
    try:
        outcomes = await _store_busy_tolerant(batch)
    except (BatchRefused, BatchBusy) as error:
        if len(batch) == 1:
            log.warning("chat message not stored: %s", error)
            _answer(batch[0], NotStored("the message could not be stored"))
            return
        # One bad message (e.g. its room was just deleted) must not fail the others.
        for queued in batch:
            await _write([queued])
        return
    for queued, outcome in zip(batch, outcomes, strict=True):
        _answer(
            queued, Muted(outcome) if isinstance(outcome, datetime) else (outcome, queued.message.timestamp)
        )


async def _store_busy_tolerant(batch: list[_Queued]) -> list[Outcome]:
    pause = BUSY_PAUSE
    for attempt in range(BUSY_ATTEMPTS):
        try:
            return await store_messages([queued.message for queued in batch], moment=now())
        except BatchBusy:
            # Busy (another process holds SQLite's lock, a connection dropped): try again.
            if attempt == BUSY_ATTEMPTS - 1:
                raise
            await asyncio.sleep(pause)
            pause *= 2
    raise AssertionError("unreachable")


def _answer(queued: _Queued, outcome: tuple[int, datetime] | Exception) -> None:
    if queued.stored.done():
        return
    if isinstance(outcome, Exception):
        queued.stored.set_exception(outcome)
    else:
        queued.stored.set_result(outcome)
