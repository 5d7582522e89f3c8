"""How much asyncio asks for on each socket read in a serving process: 64 KiB, not 256 KiB.

asyncio's selector transports read every socket with ``recv(max_size)``, 256 KiB by
default, into a new bytes object that is then shrunk to what arrived. A buffer that large
is above glibc's mmap threshold (128 KiB), so each read can map and unmap fresh memory.
On this kind of machine that is where a chat message's read went: ``recv(262144)`` of a
120-byte frame costs 11.6 µs against 1.4 µs for ``recv(65536)`` (a socketpair loop), and
``bench:persist``'s profile showed the read as the largest single cost of an inbound
message. hypercorn never takes more than 64 KiB per read anyway (its ``MAX_RECV``), so
asking the kernel for 64 KiB changes nothing but the cost.

``max_size`` is an attribute of asyncio's (private) transport class, read on every
``recv``; :func:`tune` sets it only where it is the int that CPython 3.11-3.13 have, and
``tests/compat/test_socket_reads.py`` fails if a Python release stops reading it.
"""

from __future__ import annotations

from asyncio import selector_events
from typing import Final

#: Bytes asked for per socket read (hypercorn's own MAX_RECV).
READ_SIZE: Final = 64 * 1024


def tune() -> bool:
    """Make every selector socket transport of this process read at most :data:`READ_SIZE`.

    Return False (changing nothing) if this asyncio has no such setting.
    """
    transport = getattr(selector_events, "_SelectorSocketTransport", None)
    if not isinstance(getattr(transport, "max_size", None), int):
        return False
    transport.max_size = READ_SIZE  # type: ignore[union-attr]
    return True
