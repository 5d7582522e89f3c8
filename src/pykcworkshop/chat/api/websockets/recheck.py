"""The periodic session re-check: no open socket outlives the token it was opened with.

Logging out closes a session's sockets at once (a control event); this catches the rest: a
token that expired, or was revoked or replaced without an event (by another tool, or while
the broker was down). One sweep per process, not a task per socket: it runs only while the
process has authenticated sockets (started by the first, stopped when the last closes), and
asks the database about a batch of users in one query.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pykcworkshop.chat import db
from pykcworkshop.chat.api.websockets.closing import CloseCode
from pykcworkshop.chat.tokens import constant_time_equal
from pykcworkshop.utils import stop_task

log = logging.getLogger(__name__)

#: Users whose tokens one query fetches.
BATCH_SIZE = 500


class _Scope(Protocol):
    @property
    def user_id(self) -> int: ...

    @property
    def token(self) -> str: ...


class Checked(Protocol):
    """What the sweep needs of an open socket (a ``control.LiveSocket``)."""

    @property
    def scope(self) -> _Scope: ...

    def end(self, code: CloseCode, reason: str) -> None: ...


class SessionSweep:
    """Re-checks the session of every open socket every ``interval`` seconds."""

    def __init__(self, sockets: Callable[[], Sequence[Checked]], interval: float) -> None:
        self._sockets = sockets
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the sweep task exists (only while sockets are open)."""
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Start sweeping, unless already running (a socket was just tracked)."""
        if not self.running and self.interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="session re-check")

    def idle(self) -> None:
        """Stop sweeping when no socket is left (cancelled now, awaited by nobody)."""
        if self._task is not None and not self._sockets():
            self._task.cancel()
            self._task = None

    async def stop(self) -> None:
        """Stop the sweep and wait for it (app shutdown)."""
        task, self._task = self._task, None
        if task is not None:
            await stop_task(task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # a database hiccup: try again next round
                log.exception("the session re-check failed")

    async def check(self) -> int:
        """Close every socket whose token is no longer its user's usable one; return how many."""
        sockets = list(self._sockets())
        ended = 0
        for start in range(0, len(sockets), BATCH_SIZE):
            batch = sockets[start : start + BATCH_SIZE]
            async with db.get_session() as session:
                current = await db.current_tokens(session, {live.scope.user_id for live in batch})
            for live in batch:
                token = current.get(live.scope.user_id)
                if token is None or not constant_time_equal(token, live.scope.token):
                    live.end(CloseCode.SESSION_ENDED, "session ended")
                    ended += 1
        return ended


def interval_of(config: Any) -> float:
    """Return ``SESSION_RECHECK_SECONDS`` from an app config (0 or less: never re-check)."""
    return float(config.get("SESSION_RECHECK_SECONDS") or 0)
