"""A lean RFC 6455 websocket client for load generation: one asyncio Protocol per socket.

The benchmark's clients do little but receive small text frames, thousands per second per
process; a full client library (a task wake-up, a queue and a frame object per message)
would make the generator the bottleneck. This client parses frames straight out of
``data_received`` and hands each text message to a callback, with no task or future per
frame. It still speaks the protocol properly: the handshake checks
``Sec-WebSocket-Accept``, sent frames are masked with a random key, pings get pongs,
fragmented messages are reassembled, close frames are answered, and with ``deflate`` it
offers permessage-deflate exactly as browsers do (RFC 7692) and inflates compressed
messages. (It sends its own, rare, frames uncompressed, which RFC 7692 allows.)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
import zlib
from collections.abc import Callable
from typing import Any

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: What Chrome and Firefox send in ``Sec-WebSocket-Extensions``.
BROWSER_DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class HandshakeError(Exception):
    """The server refused or botched the opening handshake."""


def _mask(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return payload
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """Return one final, masked client frame."""
    key = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = bytes((0x80 | opcode, 0x80 | length))
    elif length < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    return header + key + _mask(payload, key)


def _parse_extensions(value: str) -> dict[str, str | None]:
    """Return the parameters of an accepted permessage-deflate, or {} when none."""
    for offer in value.split(","):
        parts = [part.strip() for part in offer.split(";")]
        if parts[0] == "permessage-deflate":
            params: dict[str, str | None] = {}
            for part in parts[1:]:
                name, _, arg = part.partition("=")
                params[name.strip()] = arg.strip().strip('"') or None
            return params
    return {}


class Client(asyncio.Protocol):
    """One websocket connection; ``on_text(payload_bytes, now)`` gets each text message.

    ``now`` is ``time.perf_counter()`` when the bytes arrived (CLOCK_MONOTONIC on Linux,
    so comparable across processes).
    """

    def __init__(self, on_text: Callable[[bytes, float], None]) -> None:
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.close_code: int | None = None
        self.deflate = False
        self.subprotocol: str | None = None
        self._key = ""
        self._buffer = b""
        self._open = False
        self._inflater: Any = None
        self._reset_inflater = False
        self._wbits = 15
        self._fragments: list[bytes] = []
        self._fragment_rsv1 = False
        self.pongs: list[float] = []

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(HandshakeError(f"connection lost during handshake: {exc}"))
        if not self.closed.done():
            self.closed.set_result(self.close_code)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buffer = self._buffer + data if self._buffer else data
        if not self._open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self._buffer = buffer
                return
            self._finish_handshake(buffer[:end].decode("latin-1"))
            buffer = buffer[end + 4 :]
            if not self._open:
                return
        pos, size = 0, len(buffer)
        while size - pos >= 2:
            first, second = buffer[pos], buffer[pos + 1]
            length, start = second & 0x7F, pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, start = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, start = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), pos + 10
            end = start + length
            if end > size:
                break
            payload = buffer[start:end]
            pos = end
            opcode = first & 0x0F
            if opcode == OP_TEXT and first & 0x80:
                if first & 0x40:
                    payload = self._inflate(payload)
                self.on_text(payload, now)
            else:
                self._control_or_fragment(first, opcode, payload, now)
        self._buffer = buffer[pos:]

    # ------------------------------------------------------------ frames

    def _inflate(self, payload: bytes) -> bytes:
        if self._inflater is None or self._reset_inflater:
            self._inflater = zlib.decompressobj(-self._wbits)
        return bytes(self._inflater.decompress(payload + b"\x00\x00\xff\xff"))

    def _control_or_fragment(self, first: int, opcode: int, payload: bytes, now: float) -> None:
        if opcode == OP_PING:
            self.send_frame(OP_PONG, payload)
        elif opcode == OP_PONG:
            self.pongs.append(now)
        elif opcode == OP_CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            if self.transport is not None and not self.transport.is_closing():
                self.send_frame(OP_CLOSE, payload[:2])
                self.transport.close()
        elif opcode in (OP_TEXT, OP_BINARY):  # first fragment (or a whole binary message)
            if first & 0x80:
                return  # binary messages are not part of the benchmark
            self._fragments = [payload]
            self._fragment_rsv1 = bool(first & 0x40)
        elif opcode == OP_CONT and self._fragments:
            self._fragments.append(payload)
            if first & 0x80:
                message = b"".join(self._fragments)
                self._fragments = []
                self.on_text(self._inflate(message) if self._fragment_rsv1 else message, now)

    def send_frame(self, opcode: int, payload: bytes) -> None:
        """Send one masked frame (nothing if the connection is closing)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_frame(opcode, payload))

    def send_text(self, text: str) -> None:
        """Send a text message, uncompressed."""
        self.send_frame(OP_TEXT, text.encode())

    def close(self, code: int = 1000) -> None:
        """Start the closing handshake; the server closes the TCP connection."""
        self.send_frame(OP_CLOSE, code.to_bytes(2, "big"))

    # ------------------------------------------------------------ handshake

    def start_handshake(self, host: str, path: str, subprotocols: list[str], deflate: bool) -> None:
        """Send the opening handshake; ``opened`` resolves once the server accepted."""
        assert self.transport is not None
        self._key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {self._key}",
            "Sec-WebSocket-Version: 13",
        ]
        if subprotocols:
            lines.append(f"Sec-WebSocket-Protocol: {', '.join(subprotocols)}")
        if deflate:
            lines.append(f"Sec-WebSocket-Extensions: {BROWSER_DEFLATE_OFFER}")
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def _finish_handshake(self, head: str) -> None:
        status_line, *header_lines = head.split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
        status = status_line.split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            self._fail(f"server answered {status_line!r}")
            return
        expected = base64.b64encode(hashlib.sha1(self._key.encode() + _GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            self._fail("bad Sec-WebSocket-Accept")
            return
        params = _parse_extensions(headers.get("sec-websocket-extensions", ""))
        if params or "permessage-deflate" in headers.get("sec-websocket-extensions", ""):
            self.deflate = True
            self._reset_inflater = "server_no_context_takeover" in params
            self._wbits = int(params.get("server_max_window_bits") or 15)
        self.subprotocol = headers.get("sec-websocket-protocol")
        self._open = True
        self.opened.set_result(None)

    def _fail(self, reason: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(HandshakeError(reason))
        if self.transport is not None:
            self.transport.close()


async def connect(
    host: str,
    port: int,
    path: str,
    on_text: Callable[[bytes, float], None],
    *,
    subprotocols: list[str] | None = None,
    deflate: bool = False,
    timeout: float = 30.0,
) -> Client:
    """Open a websocket to ``ws://host:port/path``; raise HandshakeError when refused."""
    loop = asyncio.get_running_loop()
    _transport, client = await asyncio.wait_for(
        loop.create_connection(lambda: Client(on_text), host, port), timeout
    )
    client.start_handshake(f"{host}:{port}", path, subprotocols or [], deflate)
    try:
        await asyncio.wait_for(asyncio.shield(client.opened), timeout)
    except BaseException:
        if client.transport is not None:
            client.transport.close()
        raise
    return client
