"""The fuzz client: hostile frames on one socket, checked against the protocol's promises.

A :class:`FuzzSession` seeds a room with two members over the HTTP API, opens the socket
under test as the first member (``primary``) and, on sockets that broadcast, the same
socket as the second (``observer``). :meth:`FuzzSession.check` sends a batch of frames,
then a *sentinel* frame whose reply is unique, and reads the primary's replies up to it:

- the connection stays open (never 1011, never anything else) and answers the sentinel,
  so it still serves good input after any bad one;
- every reply is an error frame ``{"error": str}`` or a well-formed answer;
- (at :meth:`finish`) the observer received every message the primary's room got, in
  the same order.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from pykcworkshop.chat.tokens import generate_csrf
from tests.support import API, unique_name
from tests.support.websockets import offer

#: Frames per socket in ``hatch run fuzz`` (``PYKC_FUZZ_FRAMES``); 0 in the suite's short run,
#: which stays inside every rate limit and takes seconds.
FRAMES = int(os.environ.get("PYKC_FUZZ_FRAMES", "0") or 0)
LONG_RUN = FRAMES > 0
#: Sockets whose accepted frames reach every connection of the room (or DM pair).
BROADCASTING = ("chat-message", "member-status", "client-sync", "direct-message")
REPLY_TIMEOUT = 20.0


@dataclass
class Member:
    id: int
    token: str


async def _member(http: httpx.AsyncClient) -> Member:
    created = await http.post("/user/create", json={"user_name": unique_name("fuzz")})
    created.raise_for_status()
    login = await http.post("/user/login", json={"user_hash": created.json()["user_hash"]})
    login.raise_for_status()
    body = login.json()
    return Member(body["user_id"], body["user_token"])


def _path(socket: str, room: str, me: Member, other: Member) -> str:
    if socket == "direct-message":
        return f"/{other.id}/direct-message"
    if socket == "form-validation":
        return "/form-validation"
    return f"/room/{room}/{socket}"


def _sentinel(socket: str) -> tuple[str, str]:
    """Return a frame and the unique text its reply (to the sender) contains."""
    tag = f"sentinel-{secrets.token_hex(6)}"
    if socket == "client-sync":
        return tag, tag
    if socket == "form-validation":
        return json.dumps({"type": "chat-message", "form_data": {"content": tag}}), tag
    if socket == "chat-history":
        # An error naming the key: "<key> must not contain NUL characters".
        return json.dumps({tag: "\x00", "timestamp": 0, "chunk_size": 1}), tag
    return json.dumps({tag: "\x00"}), tag


def _well_formed(socket: str, frame: str | bytes) -> bool:
    """Whether ``frame`` is an error frame or a reply the protocol allows on ``socket``."""
    if not isinstance(frame, str):
        return False
    if socket == "client-sync":
        return True  # relayed text, byte for byte
    reply = json.loads(frame)
    if isinstance(reply, dict) and set(reply) == {"error"}:
        return isinstance(reply["error"], str) and bool(reply["error"])
    if socket in ("chat-message", "direct-message"):
        return isinstance(reply, dict) and {"user_name", "user_id", "content", "timestamp"} <= set(reply)
    if socket == "member-status":
        return isinstance(reply, dict) and reply.get("user_status") in ("Online", "Typing", "Offline")
    if socket == "chat-history":
        return isinstance(reply, list)
    return isinstance(reply, dict) and {"form_data", "validation_failed", "failure_reason"} <= set(reply)


@dataclass
class FuzzSession:
    """One socket under fuzz, its observer, and what was sent and seen."""

    socket: str
    primary: ClientConnection
    observer: ClientConnection | None
    frames_sent: int = 0
    broadcasts: list[str] = field(default_factory=list)
    observed: list[str] = field(default_factory=list)
    _watching: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, http_url: str, ws_url: str, socket: str) -> FuzzSession:
        """Seed two members and a room, and connect the primary (and the observer)."""
        headers = {"X-CSRF-TOKEN": generate_csrf()}
        async with httpx.AsyncClient(base_url=f"{http_url}{API}", headers=headers, timeout=30) as http:
            owner, member = await _member(http), await _member(http)
            room = await http.post(
                "/room/create", json={"room_name": unique_name("room")}, headers=_bearer(owner)
            )
            room.raise_for_status()
            room_hash = room.json()["room_hash"]
            (await http.put(f"/room/{room_hash}/join", headers=_bearer(member))).raise_for_status()

        def dial(me: Member, other: Member) -> Any:
            bearer = None if socket == "form-validation" else me.token
            url = f"{ws_url}{API}{_path(socket, room_hash, me, other)}"
            return connect(url, subprotocols=offer(bearer=bearer), max_size=None, max_queue=None)

        observer = await dial(member, owner) if socket in BROADCASTING else None
        session = cls(socket, await dial(owner, member), observer)
        if observer is not None:
            session._watching = asyncio.create_task(session._watch(observer))
        return session

    async def _watch(self, observer: ClientConnection) -> None:
        async for frame in observer:
            self.observed.append(str(frame))

    async def check(self, batch: list[str | bytes]) -> None:
        """Send ``batch`` and a sentinel; assert the promises above for every reply."""
        for frame in batch:
            await self.primary.send(frame)
        sentinel, tag = _sentinel(self.socket)
        await self.primary.send(sentinel)
        self.frames_sent += len(batch)
        async with asyncio.timeout(REPLY_TIMEOUT):
            while True:
                reply = await self.primary.recv()
                assert _well_formed(self.socket, reply), (batch, reply)
                assert isinstance(reply, str)
                self.broadcasts.append(reply)
                if tag in reply:
                    return

    async def finish(self) -> None:
        """Assert the observer got every broadcast the primary got, in order; then close."""
        try:
            if self.observer is not None and self.socket != "member-status":
                # (member-status conflates per user: a reader may get fewer statuses.)
                await self._observer_settled()
                pending = iter(self.observed)
                expected = next(pending, None)
                for frame in self.broadcasts:
                    if frame == expected:
                        expected = next(pending, None)
                    else:  # only the sender's own error frames are not broadcast
                        assert frame.startswith('{"error"'), (frame, expected)
                assert expected is None, f"the observer got {expected!r}, which the sender never saw"
            if self.observer is not None:
                assert self.observer.close_code is None
            assert self.primary.close_code is None
        finally:
            await self.close()

    async def _observer_settled(self, quiet: float = 0.5) -> None:
        async with asyncio.timeout(REPLY_TIMEOUT):
            count = -1
            while count != len(self.observed):
                count = len(self.observed)
                await asyncio.sleep(quiet)

    async def close(self) -> None:
        """Close both connections."""
        await self.primary.close()
        if self.observer is not None:
            await self.observer.close()
        if self._watching is not None:
            self._watching.cancel()


def _bearer(member: Member) -> dict[str, str]:
    return {"Authorization": f"Bearer {member.token}"}
