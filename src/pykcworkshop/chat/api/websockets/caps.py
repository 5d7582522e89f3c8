"""Caps on open websockets per user and per client address, refused in the handshake.

A flood of connections from one account or one address must not use up the server's file
descriptors and memory. ``MAX_SOCKETS_PER_USER`` and ``MAX_SOCKETS_PER_ADDRESS`` (settings,
see README "Configuration") bound how many websockets one user, and one client address,
may have open at a time. The counts are kept per server process: with several processes
or hosts the effective cap is the setting times the number of processes. A handshake over
a cap is refused before accepting, with 429 and a problem+json detail saying which cap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TypeVar

from quart import current_app, g, websocket

from pykcworkshop.problems import ProblemError

K = TypeVar("K", int, str)

#: The key of the app's open-socket counts in ``app.extensions``.
EXTENSION = "socket_counts"


@dataclass
class SocketCounts:
    """Open websockets of this process, by user id and by client address."""

    by_user: Counter[int] = field(default_factory=Counter)
    by_address: Counter[str] = field(default_factory=Counter)


def _release(counts: Counter[K], key: K) -> None:
    counts[key] -= 1
    if counts[key] <= 0:  # forget keys with no sockets, so the counters stay small
        del counts[key]


@contextmanager
def socket_slot() -> Iterator[None]:
    """Count this websocket while the block runs; raise a 429 refusal if a cap is reached.

    The user is the one the handshake guard admitted (``g.user``; None for an anonymous
    form-validation socket, which only the address cap applies to).
    """
    counts: SocketCounts = current_app.extensions.setdefault(EXTENSION, SocketCounts())
    claims = g.get("user")
    user_id = claims.user_id if claims is not None else None
    address = websocket.remote_addr or ""
    per_user = int(current_app.config["MAX_SOCKETS_PER_USER"])
    per_address = int(current_app.config["MAX_SOCKETS_PER_ADDRESS"])
    if user_id is not None and counts.by_user[user_id] >= per_user:
        raise ProblemError(
            HTTPStatus.TOO_MANY_REQUESTS,
            f"too many open websockets for this account (at most {per_user}); close some tabs",
        )
    if counts.by_address[address] >= per_address:
        raise ProblemError(
            HTTPStatus.TOO_MANY_REQUESTS,
            f"too many open websockets from your address (at most {per_address})",
        )
    if user_id is not None:
        counts.by_user[user_id] += 1
    counts.by_address[address] += 1
    try:
        yield
    finally:
        if user_id is not None:
            _release(counts.by_user, user_id)
        _release(counts.by_address, address)
