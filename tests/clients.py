"""Test helpers: seeding through the data layer, and websocket clients for the live server."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from pykcworkshop.chat import db
from pykcworkshop.chat.tokens import generate_csrf

API = "/chat/api/v1"


def unique_name(prefix: str = "user") -> str:
    """Return a name no other test uses (at most 32 characters)."""
    return f"{prefix[:20]}-{secrets.token_hex(5)}"


def tampered(token: str) -> str:
    """Return ``token`` with one character of its signature changed.

    Not the last character: a base64 signature's last character carries padding bits, so
    some changes there decode to the same bytes and the token would stay valid.
    """
    position = len(token) - 5
    return token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]


@dataclass(frozen=True)
class SeededUser:
    """A user created for a test, with their login key and session token."""

    id: int
    name: str
    login_key: str
    token: str


class Seeder:
    """Creates users, rooms and messages directly in the live server's database."""

    async def user(self, name: str | None = None, *, token_expiration: timedelta | None = None) -> SeededUser:
        """Create a user and return their credentials."""
        async with db.get_session() as session:
            extra = {} if token_expiration is None else {"token_expiration": token_expiration}
            user, login_key = await db.create_user(session, user_name=name or unique_name(), **extra)
            await session.commit()
        return SeededUser(user.id, user.name, login_key, user.token.token)

    async def room(self, owner: SeededUser, *members: SeededUser, name: str | None = None) -> str:
        """Create a room owned by ``owner`` with ``members`` joined; return its hash."""
        async with db.get_session() as session:
            room = await db.create_room(session, room_name=name or unique_name("room"), creator_id=owner.id)
            for member in members:
                await db.add_user_to_room(session, user_id=member.id, room_id=room.id)
            await session.commit()
        return room.id

    async def join(self, room_hash: str, *members: SeededUser) -> None:
        """Make ``members`` join an existing room."""
        async with db.get_session() as session:
            for member in members:
                await db.add_user_to_room(session, user_id=member.id, room_id=room_hash)
            await session.commit()


def subprotocols(
    user: SeededUser | None = None, *, csrf: str | None = None, extra: tuple[str, ...] = ("chat.v1",)
) -> list[str]:
    """Return the subprotocol list a browser client offers."""
    offered = [*extra, f"csrf{csrf if csrf is not None else generate_csrf()}"]
    if user is not None:
        offered.append(f"Bearer{user.token}")
    return offered


def ws_connect(ws_url: str, path: str, user: SeededUser | None = None, **kwargs: Any) -> Any:
    """Open a websocket to ``/chat/api/v1<path>`` with a valid CSRF token (and bearer)."""
    offered = kwargs.pop("subprotocols", None) or subprotocols(user)
    return connect(f"{ws_url}{API}{path}", subprotocols=offered, open_timeout=10, **kwargs)


async def recv_json(ws: ClientConnection, timeout: float = 5.0) -> Any:
    """Return the next frame from ``ws`` parsed as JSON."""
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def assert_silent(ws: ClientConnection, wait: float = 0.3) -> None:
    """Assert that ``ws`` receives nothing for ``wait`` seconds."""
    try:
        frame = await asyncio.wait_for(ws.recv(), wait)
    except TimeoutError:
        return
    raise AssertionError(f"expected no frame, got {frame!r}")


async def handshake_status(ws_url: str, path: str, offered: list[str], **kwargs: Any) -> int:
    """Return the HTTP status with which the server refuses a websocket handshake."""
    try:
        async with connect(f"{ws_url}{API}{path}", subprotocols=offered, open_timeout=10, **kwargs):
            pass
    except websockets.exceptions.InvalidStatus as refused:
        return refused.response.status_code
    raise AssertionError(f"handshake to {path} was accepted")


async def drain_errors(ws: ClientConnection, quiet: float = 1.0) -> list[str]:
    """Read until ``ws`` is quiet for ``quiet`` seconds or closed; return the error reasons seen."""
    errors = []
    while True:
        try:
            text = await asyncio.wait_for(ws.recv(), quiet)
        except (TimeoutError, websockets.exceptions.ConnectionClosed):
            return errors
        if isinstance(text, str) and text.startswith("{"):  # relayed plain texts are not JSON
            frame = json.loads(text)
            if "error" in frame:
                errors.append(frame["error"])


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    """Poll ``check`` until it returns True; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
