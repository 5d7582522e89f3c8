"""A room's relay budget, shared fairly between the members sending into it.

Every frame relayed on a room's client-sync socket lands in every member's bounded queue
(:data:`~pykcworkshop.chat.constants.SUBSCRIBER_QUEUE_SIZE`). Per-connection and per-user
limits alone let a few accounts together outpace the queues and get every other member
closed with 1013. So the room has a budget (``rate`` frames per second, bursts up to
``burst``, kept below the queue size), split evenly between the members who sent in the
last :data:`ACTIVE_WINDOW` seconds: each gets ``rate / n`` and ``burst / n``. A sender
over its share is refused (the handler answers with an error frame) while the others keep
theirs, and no queue fills. The budget is kept per server process.

>>> budget = FairShare(rate=1.0, burst=4)
>>> [budget.allow("room", "ada") for _ in range(4)]
[True, True, True, True]
>>> budget.allow("room", "bob"), budget.allow("room", "ada")  # now two share the room
(True, False)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

#: Seconds after its last frame that a sender still counts as sharing the room's budget.
ACTIVE_WINDOW: Final = 5.0


@dataclass
class _Share:
    tokens: float
    updated: float


@dataclass
class _Room:
    senders: dict[str, _Share] = field(default_factory=dict)


class FairShare:
    """Per-room budgets of ``rate`` frames per second (bursts of ``burst``), split fairly."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._rooms: dict[str, _Room] = {}
        self._calls = 0

    def allow(self, room: str, sender: str) -> bool:
        """Spend one frame of ``sender``'s share of ``room``; return whether it may be relayed."""
        now = time.monotonic()
        self._calls += 1
        if self._calls % 1024 == 0:
            self._sweep(now)
        state = self._rooms.setdefault(room, _Room())
        self._expire(state, now)
        share = state.senders.get(sender)
        count = len(state.senders) + (share is None)
        rate, burst = self.rate / count, self.burst / count
        if share is None:
            share = state.senders[sender] = _Share(tokens=burst, updated=now)
        share.tokens = min(burst, share.tokens + (now - share.updated) * rate)
        share.updated = now
        if share.tokens < 1:
            return False
        share.tokens -= 1
        return True

    @staticmethod
    def _expire(state: _Room, now: float) -> None:
        for sender in [s for s, share in state.senders.items() if now - share.updated > ACTIVE_WINDOW]:
            del state.senders[sender]

    def _sweep(self, now: float) -> None:
        """Forget rooms nobody sent to lately, so the table stays as small as the activity."""
        for room, state in list(self._rooms.items()):
            self._expire(state, now)
            if not state.senders:
                del self._rooms[room]
