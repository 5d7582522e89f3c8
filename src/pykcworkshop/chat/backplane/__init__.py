"""The backplane: what the server processes share, behind one object per app.

Three parts, each with an in-process and a Redis implementation:

- the pub/sub :class:`~.pubsub.Broker`, which fans room events out to every subscribed
  websocket (:mod:`.pubsub`, :mod:`.pubsub_redis`);
- the presence tracker, which knows a user's *last* member-status connection to a room
  (:mod:`.presence`, :mod:`.presence_redis`);
- the per-user rate limiter, whose buckets hold across a user's connections
  (:mod:`.userlimits`, :mod:`.userlimits_redis`; the token bucket itself, also used per
  connection, is in :mod:`.ratelimit`).

Next to them, :mod:`.fairshare` splits each room's client-sync relay budget fairly between
its senders (kept per process, whatever the broker).

``BROKER_URL`` picks the implementation of all three, here and nowhere else:
:func:`backplane_for` builds a :class:`Backplane` for ``memory://`` (one process) or
``redis://`` (many processes or hosts; the redis package is imported only then). The app
keeps it in ``app.extensions``; handlers reach it through :func:`backplane` and
:func:`broker`.

>>> import asyncio
>>> async def demo():
...     plane = backplane_for("memory://")
...     await plane.connect()
...     async with plane.broker.subscribe("room:1") as subscriber:
...         await plane.broker.publish("room:1", {"hello": "world"})
...         message = await subscriber.get()
...     await plane.disconnect()
...     return message
>>> asyncio.run(demo())
'{"hello":"world"}'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from quart import current_app

from pykcworkshop.chat.backplane.fairshare import FairShare
from pykcworkshop.chat.backplane.presence import MemoryPresence, Presence
from pykcworkshop.chat.backplane.pubsub import Broker
from pykcworkshop.chat.backplane.userlimits import MemoryUserLimiter, UserLimiter
from pykcworkshop.chat.constants import ROOM_SYNC_BUDGET

__all__ = ["EXTENSION", "Backplane", "backplane", "backplane_for", "broker"]

#: The key of the app's backplane in ``app.extensions``.
EXTENSION = "backplane"


@dataclass(frozen=True)
class Backplane:
    """The broker, presence tracker and per-user limiter of one app, on one backend.

    Without arguments every part keeps its state in this process.
    """

    broker: Broker = field(default_factory=Broker)
    presence: Presence = field(default_factory=MemoryPresence)
    limits: UserLimiter = field(default_factory=MemoryUserLimiter)
    #: Each room's client-sync relay budget, shared fairly between senders (per process).
    sync_budget: FairShare = field(default_factory=lambda: FairShare(*ROOM_SYNC_BUDGET))

    async def connect(self) -> None:
        """Connect every part (the broker last: it starts delivering at once)."""
        await self.presence.connect()
        await self.limits.connect()
        await self.broker.connect()

    async def disconnect(self) -> None:
        """Disconnect every part (the broker first: nothing is delivered any more)."""
        await self.broker.disconnect()
        await self.presence.disconnect()
        await self.limits.disconnect()


def backplane_for(url: str) -> Backplane:
    """Return the backplane for a ``BROKER_URL``: ``memory://``, ``redis://`` or ``rediss://``.

    >>> backplane_for("kafka://localhost")
    Traceback (most recent call last):
    ...
    ValueError: unsupported BROKER_URL scheme 'kafka' (use memory:// or redis://)
    """
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return Backplane()
    if scheme in ("redis", "rediss"):
        # Imported only when chosen, so the redis package stays optional.
        from pykcworkshop.chat.backplane.presence_redis import RedisPresence
        from pykcworkshop.chat.backplane.pubsub_redis import RedisBackend
        from pykcworkshop.chat.backplane.userlimits_redis import RedisUserLimiter

        return Backplane(Broker(RedisBackend(url)), RedisPresence(url), RedisUserLimiter(url))
    raise ValueError(f"unsupported BROKER_URL scheme {scheme!r} (use memory:// or redis://)")


def backplane() -> Backplane:
    """Return the current app's backplane."""
    plane: Backplane = current_app.extensions[EXTENSION]
    return plane


def broker() -> Broker:
    """Return the current app's pub/sub broker."""
    return backplane().broker
