"""The fuzz client: hostile frames on one socket, checked against the protocol's promises.

A :class:`FuzzSession` seeds a room with two members over the HTTP API, opens the socket
under test as the first member (``primary``) and, on sockets that broadcast, the same
socket as the second (``observer``). :meth:`FuzzSession.check` sends a batch of frames
and a *sentinel* (good input, and a frame whose reply is unique) all at once, then reads
the primary's replies up to the sentinel's and checks, for every batch:

- the connection stays open (never 1011, never anything else) and answers the sentinel's
  good input as good, so it still serves good input after any bad one;
- every reply is an error frame ``{"error": str}`` or a well-formed answer;
- the observer received the batch's broadcasts exactly as the primary did, in the same
  order (on member-status, which conflates, its latest status is the primary's last one).
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


def _sentinel(socket: str, turn: int) -> tuple[list[str], str]:
    """Return the good frame(s) closing a batch, and the unique text of the reply that ends it.

    Each sentinel includes good input, so every batch proves that the connection still
    serves it after the hostile frames: on chat-message, direct-message, client-sync and
    form-validation the tagged frame itself is good (a message, a relay, a valid form);
    chat-history sends a good request and then a tagged bad one (its answer must come
    just before the tag's error); member-status a good status, alternating between two so
    each batch's last status is new, then a tagged bad frame.
    """
    tag = f"sentinel-{secrets.token_hex(6)}"
    if socket == "client-sync":
        return [tag], tag
    if socket in ("chat-message", "direct-message"):
        return [json.dumps({"content": tag})], tag
    if socket == "form-validation":
        return [json.dumps({"type": "chat-message", "form_data": {"content": tag}})], tag
    # An error naming the key: "<key> must not contain NUL characters".
    if socket == "chat-history":
        good = json.dumps({"timestamp": 0, "chunk_size": 1})
        return [good, json.dumps({tag: "\x00", "timestamp": 0, "chunk_size": 1})], tag
    return [json.dumps({"user_status": STATUSES[turn % 2]}), json.dumps({tag: "\x00"})], tag


#: The statuses member-status sentinels alternate between.
STATUSES = ("Typing", "Online")


def _is_error(frame: str) -> bool:
    return frame.startswith('{"error"')


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
    #: Hostile frames sent and checked (sentinels not counted).
    frames_sent: int = 0
    #: Error frames the primary got for them (the sentinels' not counted).
    error_frames: int = 0
    batches: int = 0
    observed: list[str] = field(default_factory=list)
    _seen: int = 0
    _observed_changed: asyncio.Event = field(default_factory=asyncio.Event)
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
            self._observed_changed.set()

    async def check(self, batch: list[str | bytes]) -> None:
        """Send ``batch`` and a sentinel at once (pipelined); assert the promises above for
        every reply, and that the observer got this batch's broadcasts in order."""
        sentinel, tag = _sentinel(self.socket, self.batches)
        for frame in [*batch, *sentinel]:
            await self.primary.send(frame)
        replies: list[str] = []
        async with asyncio.timeout(REPLY_TIMEOUT):
            while True:
                reply = await self.primary.recv()
                assert _well_formed(self.socket, reply), (batch, reply)
                assert isinstance(reply, str)
                replies.append(reply)
                if tag in reply:
                    break
        if self.socket in ("chat-message", "direct-message", "client-sync", "form-validation"):
            assert not _is_error(replies[-1]), f"good input refused after {batch!r}: {replies[-1]}"
            replies_to_batch = replies[:-1]
        elif self.socket == "chat-history":  # (its replies come in order, all direct)
            assert len(replies) >= 2 and not _is_error(replies[-2]), (batch, replies[-2:])
            replies_to_batch = replies[:-2]
        else:  # member-status: its good status shows at the observer (below)
            replies_to_batch = replies[:-1]
        self.error_frames += sum(map(_is_error, replies_to_batch))
        if self.socket == "member-status":
            await self._statuses_converge(STATUSES[self.batches % 2])
        elif self.observer is not None:
            await self._observer_saw(replies, tag)
        self.frames_sent += len(batch)
        self.batches += 1

    async def _observer_saw(self, replies: list[str], tag: str) -> None:
        """Wait for the sentinel at the observer; its frames since the last batch must be
        the primary's broadcasts of this batch, in the same order."""
        async with asyncio.timeout(REPLY_TIMEOUT):
            while not any(tag in frame for frame in self.observed[self._seen :]):
                self._observed_changed.clear()
                await self._observed_changed.wait()
        end = next(i for i in range(self._seen, len(self.observed)) if tag in self.observed[i]) + 1
        pending = iter(self.observed[self._seen : end])
        expected = next(pending, None)
        for frame in replies:
            if frame == expected:
                expected = next(pending, None)
            else:  # only the sender's own error frames are not broadcast
                assert _is_error(frame), (frame, expected)
        assert expected is None, f"the observer got {expected!r}, which the sender never saw"
        self._seen = end

    async def _statuses_converge(self, status: str) -> None:
        """member-status conflates per user, so a reader may skip statuses; but every
        reader's latest status of the sender must become the sender's last good one."""
        async with asyncio.timeout(REPLY_TIMEOUT):
            while not self.observed or json.loads(self.observed[-1]).get("user_status") != status:
                self._observed_changed.clear()
                await self._observed_changed.wait()
        assert all(
            json.loads(frame).get("user_status") in ("Online", "Typing", "Offline")
            for frame in self.observed[self._seen :]
        )
        self._seen = len(self.observed)

    async def finish(self) -> None:
        """Assert both connections are still open; then close them."""
        try:
            if self.observer is not None:
                assert self.observer.close_code is None
            assert self.primary.close_code is None
        finally:
            await self.close()

    async def close(self) -> None:
        """Close both connections."""
        await self.primary.close()
        if self.observer is not None:
            await self.observer.close()
        if self._watching is not None:
            self._watching.cancel()


def _bearer(member: Member) -> dict[str, str]:
    return {"Authorization": f"Bearer {member.token}"}
