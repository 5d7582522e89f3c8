"""Ending a user's open websockets from anywhere: signed out, removed from a room, room deleted.

Whoever ends a session or a membership publishes a *control event* on
:data:`CONTROL_CHANNEL` through the backplane, so it reaches every server process. Each
process listens with one :class:`~pykcworkshop.chat.backplane.pubsub.Listener` (no task per
socket, none at all while idle) and closes its own matching sockets at once, with a close
code from the 4000 range (docs/protocol.md, "Close codes"):

- ``session-ended``: every socket opened with that session token (:data:`CloseCode.SESSION_ENDED`);
- ``left-room``: the user's sockets on that room (the code the event names, e.g.
  :data:`CloseCode.REMOVED_FROM_ROOM`);
- ``room-deleted``: every socket on that room (:data:`CloseCode.ROOM_DELETED`).

After a membership ends, direct-message sockets between users who no longer share a room
close too (:data:`CloseCode.REMOVED_FROM_ROOM`).

:func:`tracked` registers a socket for its lifetime; the handshake guard records who and
what it admitted (:func:`admitted`), so handlers need not pass it on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from quart import Quart, current_app, g

from pykcworkshop.chat import db
from pykcworkshop.chat.api.control_events import (
    CONTROL_CHANNEL,
    delete_room,
    end_session,
    remove_from_room,
    token_fingerprint,
)
from pykcworkshop.chat.api.websockets.closing import CloseCode
from pykcworkshop.chat.api.websockets.recheck import SessionSweep, interval_of
from pykcworkshop.chat.backplane import Backplane

__all__ = [
    "CONTROL_CHANNEL",
    "EXTENSION",
    "LiveSocket",
    "LiveSockets",
    "SocketScope",
    "admitted",
    "delete_room",
    "end_session",
    "listen",
    "live_sockets",
    "remove_from_room",
    "token_fingerprint",
    "tracked",
]

log = logging.getLogger(__name__)

#: The key of the process's :class:`LiveSockets` in ``app.extensions``.
EXTENSION = "live_sockets"


@dataclass(frozen=True, slots=True)
class SocketScope:
    """Who holds a socket and what it is for: set by the handshake guard when it admits."""

    user_id: int
    token: str
    room: str | None = None
    partner: int | None = None


def admitted(scope: SocketScope) -> None:
    """Record what the handshake guard admitted, for :func:`tracked` to register."""
    g.socket_scope = scope


@dataclass(eq=False, slots=True)
class LiveSocket:
    """One open socket of this process, and how to end it from outside its task."""

    scope: SocketScope
    fingerprint: str
    handler: asyncio.Task[Any]
    #: Set once the socket is to be closed: (close code, reason).
    ending: tuple[CloseCode, str] | None = None

    def end(self, code: CloseCode, reason: str) -> None:
        """Close this socket: its handler is cancelled and closes with ``code`` (see serve)."""
        if self.ending is None:
            self.ending = (code, reason)
            self.handler.cancel()


@dataclass
class LiveSockets:
    """The sockets open in this process, by user, and what control events do to them."""

    by_user: dict[int, set[LiveSocket]] = field(default_factory=dict)
    # Running DM re-checks, kept referenced until they finish.
    _checks: set[asyncio.Task[None]] = field(default_factory=set)
    #: The periodic session re-check of these sockets (see :mod:`.recheck`).
    sweep: SessionSweep | None = None

    def add(self, live: LiveSocket) -> None:
        """Track ``live`` until :meth:`discard`."""
        self.by_user.setdefault(live.scope.user_id, set()).add(live)

    def discard(self, live: LiveSocket) -> None:
        """Stop tracking ``live``."""
        mine = self.by_user.get(live.scope.user_id)
        if mine is not None:
            mine.discard(live)
            if not mine:
                del self.by_user[live.scope.user_id]

    def sockets(self, user_ids: Iterable[int] | None = None) -> list[LiveSocket]:
        """Return the tracked sockets of ``user_ids`` (or all)."""
        ids = self.by_user.keys() if user_ids is None else user_ids
        return [live for user_id in ids for live in self.by_user.get(user_id, ())]

    def on_message(self, message: str) -> None:
        """Apply one control event (a Listener callback: must not block)."""
        event = json.loads(message)
        kind = event.get("kind")
        if kind == "session-ended":
            for live in self.sockets([event["user_id"]]):
                if live.fingerprint == event["token"]:
                    live.end(CloseCode.SESSION_ENDED, "signed out")
        elif kind == "left-room":
            code, reason = CloseCode(event["code"]), str(event["reason"])
            for live in self.sockets([event["user_id"]]):
                if live.scope.room == event["room"]:
                    live.end(code, reason)
            self._recheck_direct_messages({event["user_id"]})
        elif kind == "room-deleted":
            for live in self.sockets():
                if live.scope.room == event["room"]:
                    live.end(CloseCode.ROOM_DELETED, str(event["reason"]))
            self._recheck_direct_messages(set(event["members"]))
        else:
            log.warning("ignored a control event of unknown kind %r", kind)

    def _recheck_direct_messages(self, user_ids: set[int]) -> None:
        pairs = [
            live
            for live in self.sockets()
            if live.scope.partner is not None
            and live.ending is None
            and (live.scope.user_id in user_ids or live.scope.partner in user_ids)
        ]
        if pairs:
            check = asyncio.get_running_loop().create_task(_close_unshared(pairs))
            self._checks.add(check)
            check.add_done_callback(self._checks.discard)


async def _close_unshared(pairs: list[LiveSocket]) -> None:
    async with db.get_session() as session:
        for live in pairs:
            assert live.scope.partner is not None
            if not await db.share_a_room(session, live.scope.user_id, live.scope.partner):
                live.end(CloseCode.REMOVED_FROM_ROOM, "you no longer share a room with this user")


async def listen(app: Quart, plane: Backplane) -> AsyncExitStack:
    """Make control events close ``app``'s sockets in this process; ``aclose()`` the result to stop."""
    registry = app.extensions[EXTENSION] = LiveSockets()
    registry.sweep = SessionSweep(lambda: registry.sockets(), interval_of(app.config))
    listening = AsyncExitStack()
    listening.push_async_callback(registry.sweep.stop)
    await listening.enter_async_context(
        plane.broker.subscribe(CONTROL_CHANNEL, on_message=registry.on_message)
    )
    return listening


def live_sockets() -> LiveSockets:
    """Return this process's registry of open sockets."""
    registry: LiveSockets = current_app.extensions[EXTENSION]
    return registry


@asynccontextmanager
async def tracked() -> AsyncIterator[LiveSocket | None]:
    """Register the current socket (as the handshake guard admitted it) while it is open."""
    scope: SocketScope | None = g.get("socket_scope")
    handler = asyncio.current_task()
    if scope is None or handler is None:
        yield None
        return
    live = LiveSocket(scope, token_fingerprint(scope.token), handler)
    registry = live_sockets()
    registry.add(live)
    if registry.sweep is not None:
        registry.sweep.wake()
    try:
        yield live
    finally:
        registry.discard(live)
        if registry.sweep is not None:
            registry.sweep.idle()
