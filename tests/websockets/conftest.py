"""Fixtures and helpers for the websocket tests: seeded rooms, socket paths, close codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from itsdangerous import URLSafeTimedSerializer
from quart import Quart
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from pykcworkshop import create_app
from pykcworkshop.chat import db
from pykcworkshop.chat.backplane import EXTENSION, Backplane
from pykcworkshop.chat.db.models import ChatMessage
from pykcworkshop.chat.tokens import generate_csrf
from tests.clients import SeededUser, unique_name
from tests.live_server import LiveServer

#: Every socket of CONTRACT §4, by name.
SOCKETS = (
    "chat-message",
    "member-status",
    "client-sync",
    "chat-history",
    "direct-message",
    "form-validation",
)
ROOM_SOCKETS = ("chat-message", "member-status", "client-sync", "chat-history")


def offer(
    *, csrf: str | None = "valid", bearer: str | None = None, extra: tuple[str, ...] = ("chat.v1",)
) -> list[str]:
    """Return a subprotocol list: ``extra``, then ``csrf<csrf>`` and ``Bearer<bearer>``.

    ``csrf="valid"`` signs a fresh token; None leaves the entry out (as does ``bearer=None``).
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


@dataclass(frozen=True)
class Room:
    """A seeded room: ``owner`` and ``member`` belong to it, ``outsider`` does not."""

    hash: str
    owner: SeededUser
    member: SeededUser
    outsider: SeededUser

    def path(self, socket: str) -> str:
        """Return the path of one of this room's sockets, e.g. ``/room/<hash>/chat-message``."""
        return f"/room/{self.hash}/{socket}"


async def seed_room(*, with_member: bool = True) -> Room:
    """Create three users and a room in one transaction (fast); see :class:`Room`.

    Without ``with_member`` the room has only its owner (so it holds no "has joined"
    message) and ``member`` is the owner again.
    """
    async with db.get_session() as session:
        users = []
        for _ in range(3 if with_member else 2):
            user, login_key = await db.create_user(session, user_name=unique_name())
            users.append((user, login_key))
        chat_room = await db.create_room(session, room_name=unique_name("room"), creator_id=users[0][0].id)
        if with_member:
            await db.add_user_to_room(session, user_id=users[1][0].id, room_id=chat_room.id)
        await session.commit()
    seeded = [SeededUser(user.id, user.name, login_key, user.token.token) for user, login_key in users]
    owner, outsider = seeded[0], seeded[-1]
    return Room(chat_room.id, owner, seeded[1] if with_member else owner, outsider)


@pytest.fixture
async def room(database: None) -> Room:
    """A fresh room with an owner, a second member, and a user who is not a member."""
    return await seed_room()


def socket_path(room: Room, socket: str) -> str:
    """Return the path the room's owner opens for ``socket`` (DMs go to the member)."""
    if socket == "direct-message":
        return f"/{room.member.id}/direct-message"
    if socket == "form-validation":
        return "/form-validation"
    return room.path(socket)


#: A frame each socket accepts and answers, to show that a connection is still usable.
GOOD_FRAMES: dict[str, str] = {
    "chat-message": '{"content": "still here"}',
    "member-status": '{"user_status": "Online"}',
    "client-sync": "still here",
    "chat-history": '{"timestamp": 0, "chunk_size": 1}',
    "direct-message": '{"content": "still here"}',
    "form-validation": '{"type": "chat-message", "form_data": {"content": "x"}}',
}


async def close_code(ws: ClientConnection, timeout: float = 5.0) -> int | None:
    """Read (and discard) frames until the server closes ``ws``; return the close code."""
    try:
        async with asyncio.timeout(timeout):
            async for _ in ws:
                pass
    except ConnectionClosed:
        pass
    return ws.close_code


async def next_frame(ws: ClientConnection, timeout: float = 5.0) -> str | bytes:
    """Return the next raw frame from ``ws``."""
    return await asyncio.wait_for(ws.recv(), timeout)


async def recv_error(ws: ClientConnection) -> str:
    """Return the reason of the next frame, which must be an error frame."""
    frame = json.loads(await next_frame(ws))
    assert isinstance(frame, dict) and set(frame) == {"error"}, frame
    assert isinstance(frame["error"], str) and frame["error"]
    return str(frame["error"])


async def stored_messages(room_hash: str) -> list[ChatMessage]:
    """Return every stored message of a room, oldest first (through the data layer)."""
    async with db.get_session() as session:
        query = select(ChatMessage).where(ChatMessage.room_id == room_hash)
        rows = (await session.scalars(query.order_by(ChatMessage.timestamp, ChatMessage.id))).all()
    return list(rows)


async def seed_messages(room_hash: str, author: SeededUser, stamped: list[tuple[str, datetime]]) -> list[int]:
    """Store messages with explicit timestamps; return their ids in the given order."""
    async with db.get_session() as session:
        messages = [
            await db.create_chat_message(
                session, author_id=author.id, room_id=room_hash, content=content, timestamp=timestamp
            )
            for content, timestamp in stamped
        ]
        await session.commit()
    return [message.id for message in messages]


def assert_message_object(message: Any, author: SeededUser, content: str) -> datetime:
    """Assert the CONTRACT §4 message object shape; return its parsed (aware) timestamp."""
    assert isinstance(message, dict), message
    assert {"user_name", "user_id", "content", "timestamp"} <= set(message), message
    assert "error" not in message
    assert message["user_name"] == author.name and message["user_id"] == author.id
    assert message["content"] == content
    timestamp = datetime.fromisoformat(message["timestamp"])
    assert timestamp.utcoffset() is not None, "timestamp must carry a UTC offset"
    return timestamp


@pytest.fixture
def local_app_factory(
    live_server: LiveServer, database: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., AbstractAsyncContextManager[Quart]]:
    """Build the app in this process (for Quart's test client), on the live server's database.

    It gets its own in-process backplane (broker, presence, limits); extra websocket routes can be added to
    the app before use. Settings may be overridden, e.g. ``ALLOWED_ORIGINS``::

        async with local_app_factory(ALLOWED_ORIGINS="https://a.example") as app: ...
    """
    # Never read a .env from the repository while building the app.
    monkeypatch.chdir(tmp_path)

    @asynccontextmanager
    async def build(**settings: Any) -> AsyncIterator[Quart]:
        app = create_app(
            {
                "SECRET_KEY": live_server.env["SECRET_KEY"],
                "DB_URI": live_server.env["DB_URI"],
                "SITE_ROOT": "https://chat.example",
                **settings,
            }
        )
        plane = Backplane()
        await plane.connect()
        app.extensions[EXTENSION] = plane
        try:
            yield app
        finally:
            await plane.disconnect()

    return build
