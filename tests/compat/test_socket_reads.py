"""``socket_reads.tune`` changes what asyncio asks for on each read (CPython's transport class).

These fail when a Python release stops reading ``max_size`` on each ``recv`` (the setting
would then be silently ignored) or when a transport no longer follows the class setting.
"""

from __future__ import annotations

import asyncio
import inspect
from asyncio import selector_events
from collections.abc import Iterator

import pytest

from pykcworkshop import socket_reads


@pytest.fixture
def tuned() -> Iterator[None]:
    previous = selector_events._SelectorSocketTransport.max_size
    try:
        assert socket_reads.tune()
        yield
    finally:
        selector_events._SelectorSocketTransport.max_size = previous


def test_the_transport_reads_max_size_on_every_recv() -> None:
    source = inspect.getsource(selector_events._SelectorSocketTransport._read_ready__data_received)
    assert "self._sock.recv(self.max_size)" in source


@pytest.mark.usefixtures("tuned")
async def test_a_new_connection_reads_at_most_read_size() -> None:
    transports: list[asyncio.BaseTransport] = []

    class Keep(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            transports.append(transport)

    server = await asyncio.get_running_loop().create_server(Keep, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await asyncio.sleep(0.01)
        assert [transport.max_size for transport in transports] == [socket_reads.READ_SIZE]  # type: ignore[attr-defined]
        assert writer.transport.max_size == socket_reads.READ_SIZE  # type: ignore[attr-defined]
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


def test_read_size_matches_hypercorns_own_largest_read() -> None:
    from hypercorn.asyncio import tcp_server

    assert socket_reads.READ_SIZE == tcp_server.MAX_RECV
