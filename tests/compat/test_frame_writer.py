"""The broadcast frame writer (``frame_writer``) against a real hypercorn server in this process.

The writer reaches into hypercorn's connection objects: these tests fail when their shape
changes, when a written frame goes out of order with the ASGI sends around it (also with
permessage-deflate, whose state the two share), and when the writer keeps writing to a
client that stopped reading or past a frame that waits for the connection's send lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.metadata import version
from typing import Any

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

from pykcworkshop.chat.api.websockets import compression, frame_writer

App = Callable[[Any, Any, Any], Awaitable[None]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def hypercorn_serving(websocket_app: Callable[[Any, Any], Awaitable[None]]) -> AsyncIterator[str]:
    """Serve ``websocket_app(receive, send)`` (called once accepted) on hypercorn; yield its URL."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await websocket_app(receive, send)

    config = Config()
    port = free_port()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    stopped = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stopped.wait))  # type: ignore[arg-type]
    for _ in range(100):
        with contextlib.suppress(OSError):
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        await asyncio.sleep(0.05)
    try:
        yield f"ws://127.0.0.1:{port}/"
    finally:
        stopped.set()
        await asyncio.wait_for(server, 10)


async def until_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "websocket.disconnect":
        pass


def test_the_writer_is_checked_against_the_installed_hypercorn():
    minor = ".".join(version("hypercorn").split(".")[:2])
    assert minor in frame_writer.HYPERCORN_VERSIONS


def test_a_send_that_is_not_hypercorns_gets_no_writer():
    async def other_send(event: Any) -> None:
        pass

    assert frame_writer.frame_writer(other_send) is None


# Around the two length-encoding thresholds (126 and 65,536 bytes), and any text at all.
LENGTHS = st.sampled_from([0, 1, 125, 126, 127, 65_535, 65_536, 70_000])


@given(st.one_of(st.text(), LENGTHS.map(lambda n: "é" * (n // 2) + "x" * (n % 2))))
def test_a_shared_frame_is_the_frame_wsproto_would_send(text):
    assert frame_writer.text_frame(text) == Connection(ConnectionType.SERVER).send(TextMessage(data=text))


def test_a_shared_frame_is_built_once_per_message():
    text = "one message to many clients"
    assert frame_writer.text_frame(text) is frame_writer.text_frame(text)


@pytest.mark.parametrize("deflate", ["off", "on"])
async def test_written_frames_keep_their_order_with_asgi_sends(deflate):
    found: dict[str, bool] = {}

    async def interleaved(receive: Any, send: Any) -> None:
        write = frame_writer.frame_writer(send)
        found["writer"] = write is not None
        assert write is not None
        for n in range(300):
            text = f"frame {n} " + "x" * (n % 50)
            if n % 3 == 0:
                await send({"type": "websocket.send", "text": text})
            else:
                assert write(text)
        await until_disconnect(receive)

    compression.configure(deflate)
    try:
        async with (
            hypercorn_serving(interleaved) as url,
            connect(url, compression="deflate") as client,
        ):
            assert (client.response.headers.get("Sec-WebSocket-Extensions") is not None) == (deflate == "on")
            received = [await asyncio.wait_for(client.recv(), 5) for _ in range(300)]
    finally:
        compression.configure("off")
    assert found["writer"]
    assert received == [f"frame {n} " + "x" * (n % 50) for n in range(300)]


async def test_the_writer_declines_while_a_frame_waits_for_the_send_lock():
    declined: list[bool] = []

    async def locked_out(receive: Any, send: Any) -> None:
        write = frame_writer.frame_writer(send)
        assert write is not None
        lock = send.__self__.send.__self__.send.__self__.send_lock  # hypercorn's TCPServer
        async with lock:
            declined.append(not write("while the lock is held"))
            waiting = asyncio.create_task(send({"type": "websocket.send", "text": "first"}))
            await asyncio.sleep(0)  # framed, and now waiting for the lock
        # Released, but the waiting send has not run yet: it is still first in line.
        declined.append(not write("while a send is next in line"))
        await waiting
        assert write("second")
        await until_disconnect(receive)

    async with hypercorn_serving(locked_out) as url, connect(url) as client:
        assert [await asyncio.wait_for(client.recv(), 5) for _ in range(2)] == ["first", "second"]
    assert declined == [True, True]


async def test_the_writer_declines_once_a_client_stops_reading():
    written: list[int] = []
    declined = asyncio.Event()

    async def flooding(receive: Any, send: Any) -> None:
        write = frame_writer.frame_writer(send)
        assert write is not None
        frame = "y" * 1000
        for n in range(100_000):
            if not write(frame):
                declined.set()
                break
            written.append(n)
            if n % 100 == 0:
                await asyncio.sleep(0)  # let the kernel's buffers fill
        await until_disconnect(receive)

    async with hypercorn_serving(flooding) as url:
        # A client that completes the handshake and then never reads.
        client = await connect(url, max_queue=1)
        client.transport.pause_reading()
        try:
            await asyncio.wait_for(declined.wait(), 10)
        finally:
            client.transport.resume_reading()
            await client.close()
    # The kernel's buffers and the transport's high-water mark hold a few hundred KB.
    assert 0 < len(written) < 10_000
