"""Websocket clients of the live server, and what the socket tests check on them.

:func:`offer` builds the ``Sec-WebSocket-Protocol`` list a browser client offers (the
credentials ride there); :func:`ws_connect` opens a socket with it. The rest reads and
judges frames, refusals and close codes, including a hand-made client (:func:`raw_connect`)
that never reads, for the slow-client tests.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket as sockets
import struct
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import websockets
from itsdangerous import URLSafeTimedSerializer
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from pykcworkshop.chat.tokens import generate_csrf
from tests.support import API
from tests.support.seeding import Room, SeededUser

#: Every socket of docs/protocol.md, "WebSockets", by name.
SOCKETS = (
    "chat-message",
    "member-status",
    "client-sync",
    "chat-history",
    "direct-message",
    "form-validation",
)
ROOM_SOCKETS = ("chat-message", "member-status", "client-sync", "chat-history")

#: A frame each socket accepts and answers, to show that a connection is still usable.
GOOD_FRAMES: dict[str, str] = {
    "chat-message": '{"content": "still here"}',
    "member-status": '{"user_status": "Online"}',
    "client-sync": "still here",
    "chat-history": '{"timestamp": 0, "chunk_size": 1}',
    "direct-message": '{"content": "still here"}',
    "form-validation": '{"type": "chat-message", "form_data": {"content": "x"}}',
}


# ---------------------------------------------------------------- credentials


def offer(
    *, csrf: str | None = "valid", bearer: str | None = None, extra: tuple[str, ...] = ("chat.v1",)
) -> list[str]:
    """Return a subprotocol list: ``extra``, then ``csrf<csrf>`` and ``Bearer<bearer>``.

    ``csrf="valid"`` signs a fresh token; None leaves the entry out (as does ``bearer=None``).
    The default is what our frontend offers on a socket that needs no bearer.
    """
    entries = list(extra)
    if csrf is not None:
        entries.append(f"csrf{generate_csrf() if csrf == 'valid' else csrf}")
    if bearer is not None:
        entries.append(f"Bearer{bearer}")
    return entries


def forged_csrf() -> str:
    """A well-formed CSRF token signed with a key the server does not have."""
    return str(URLSafeTimedSerializer("not-the-server-secret", salt="pykcworkshop.csrf").dumps("x"))


def forged_bearer(user: SeededUser) -> str:
    """A well-formed session token for ``user`` signed with a key the server does not have."""
    payload = {"uid": user.id, "name": user.name, "exp": 4_000_000_000}
    return str(URLSafeTimedSerializer("not-the-server-secret", salt="pykcworkshop.user-token").dumps(payload))


def socket_path(room: Room, socket: str) -> str:
    """Return the path the room's owner opens for ``socket`` (DMs go to the member)."""
    if socket == "direct-message":
        return f"/{room.member.id}/direct-message"
    if socket == "form-validation":
        return "/form-validation"
    return room.path(socket)


# ---------------------------------------------------------------- connecting


def ws_connect(ws_url: str, path: str, user: SeededUser | None = None, **kwargs: Any) -> Any:
    """Open a websocket to ``/chat/api/v1<path>`` with a valid CSRF token (and bearer)."""
    offered = kwargs.pop("subprotocols", None) or offer(bearer=user.token if user else None)
    return connect(f"{ws_url}{API}{path}", subprotocols=offered, open_timeout=10, **kwargs)


async def handshake_status(ws_url: str, path: str, offered: list[str], **kwargs: Any) -> int:
    """Return the HTTP status with which the server refuses a websocket handshake."""
    try:
        async with connect(f"{ws_url}{API}{path}", subprotocols=offered, open_timeout=10, **kwargs):
            pass
    except websockets.exceptions.InvalidStatus as refused:
        return refused.response.status_code
    raise AssertionError(f"handshake to {path} was accepted")


# ---------------------------------------------------------------- reading


async def next_frame(ws: ClientConnection, timeout: float = 5.0) -> str | bytes:
    """Return the next raw frame from ``ws``."""
    return await asyncio.wait_for(ws.recv(), timeout)


async def recv_json(ws: ClientConnection, timeout: float = 5.0) -> Any:
    """Return the next frame from ``ws`` parsed as JSON."""
    return json.loads(await next_frame(ws, timeout))


async def recv_error(ws: ClientConnection) -> str:
    """Return the reason of the next frame, which must be an error frame."""
    frame = json.loads(await next_frame(ws))
    assert isinstance(frame, dict) and set(frame) == {"error"}, frame
    assert isinstance(frame["error"], str) and frame["error"]
    return str(frame["error"])


async def assert_silent(ws: ClientConnection, wait: float = 0.3) -> None:
    """Assert that ``ws`` receives nothing for ``wait`` seconds."""
    try:
        frame = await asyncio.wait_for(ws.recv(), wait)
    except TimeoutError:
        return
    raise AssertionError(f"expected no frame, got {frame!r}")


async def drain_errors(ws: ClientConnection, quiet: float = 1.0) -> list[str]:
    """Read until ``ws`` is quiet for ``quiet`` seconds or closed; return the error reasons seen."""
    errors = []
    while True:
        try:
            text = await asyncio.wait_for(ws.recv(), quiet)
        except (TimeoutError, ConnectionClosed):
            return errors
        if isinstance(text, str) and text.startswith("{"):  # relayed plain texts are not JSON
            frame = json.loads(text)
            if "error" in frame:
                errors.append(frame["error"])


async def close_code(ws: ClientConnection, timeout: float = 5.0) -> int | None:
    """Read (and discard) frames until the server closes ``ws``; return the close code."""
    try:
        async with asyncio.timeout(timeout):
            async for _ in ws:
                pass
    except ConnectionClosed:
        pass
    return ws.close_code


def assert_message_object(message: Any, author: SeededUser, content: str) -> datetime:
    """Assert the message object shape (docs/protocol.md); return its parsed (aware) timestamp."""
    assert isinstance(message, dict), message
    assert {"user_name", "user_id", "content", "timestamp"} <= set(message), message
    assert "error" not in message
    assert message["user_name"] == author.name and message["user_id"] == author.id
    assert message["content"] == content
    timestamp = datetime.fromisoformat(message["timestamp"])
    assert timestamp.utcoffset() is not None, "timestamp must carry a UTC offset"
    return timestamp


# ---------------------------------------------------------------- a client that stops reading


async def raw_connect(ws_url: str, path: str, offered: list[str]) -> sockets.socket:
    """Open a websocket by hand on a plain TCP socket that the test then never reads.

    A tiny receive buffer makes the server's sends back up soon.
    """
    parts = urlsplit(ws_url)
    loop = asyncio.get_running_loop()
    sock = sockets.socket(sockets.AF_INET, sockets.SOCK_STREAM)
    sock.setsockopt(sockets.SOL_SOCKET, sockets.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, (parts.hostname, parts.port))
    request = (
        f"GET {API}{path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
        f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {', '.join(offered)}\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += await loop.sock_recv(sock, 1)  # byte by byte: leave any frame unread
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


async def read_until_close_frame(sock: sockets.socket) -> int:
    """Read the server's (unmasked) frames from ``sock``; return the close frame's code."""
    payload = await read_until_opcode(sock, 0x8)
    return int(struct.unpack("!H", payload[:2])[0])


async def read_until_opcode(sock: sockets.socket, wanted: int) -> bytes:
    """Read the server's (unmasked) frames from ``sock``; return the first ``wanted`` one's payload."""
    loop = asyncio.get_running_loop()
    buffer = bytearray()

    async def take(size: int) -> bytes:
        while len(buffer) < size:
            chunk = await loop.sock_recv(sock, 1 << 20)
            if not chunk:
                raise AssertionError("connection ended without a close frame")
            buffer.extend(chunk)
        data = bytes(buffer[:size])
        del buffer[:size]
        return data

    while True:
        head = await take(2)
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await take(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await take(8))
        payload = await take(length)
        if opcode == wanted:
            return payload


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """Return one final client frame (masked, as RFC 6455 requires of clients), built by hand."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    return head + mask + bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))
