"""``/room/<room_hash>/chat-history``: pages of a room's past messages.

Every test seeds its own messages with explicit timestamps, in a fresh room whose only
member is its owner (a second member would add a "has joined" message, stamped now).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.seeding import Room, seed_messages, seed_room
from tests.support.websockets import (
    assert_message_object,
    forged_bearer,
    forged_csrf,
    handshake_status,
    offer,
    recv_error,
    recv_json,
    ws_connect,
)

BASE = datetime(2001, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def room(database: None) -> Room:
    """A room with no messages; ``member`` is the owner again (see the module docstring)."""
    return await seed_room(with_member=False)


def ms(moment: datetime) -> int:
    """Return ``moment`` as milliseconds since the epoch (what clients send)."""
    return round(moment.timestamp() * 1000)


async def seed_minutes(room, count: int) -> list[int]:
    """Store ``count`` messages "m0", "m1", ... one minute apart from BASE; return ids."""
    stamped = [(f"m{n}", BASE + timedelta(minutes=n)) for n in range(count)]
    return await seed_messages(room.hash, room.owner, stamped)


async def ask(ws, **request) -> list[dict]:
    await ws.send(json.dumps(request))
    reply = await recv_json(ws)
    assert isinstance(reply, list), reply
    return reply


def contents(page: list[dict]) -> list[str]:
    return [message["content"] for message in page]


# ---------------------------------------------------------------- handshake


async def test_missing_csrf_is_refused_with_401(ws_url, room):
    offered = offer(csrf=None, bearer=room.owner.token)
    assert await handshake_status(ws_url, room.path("chat-history"), offered) == 401


async def test_forged_csrf_is_refused_with_401(ws_url, room):
    offered = offer(csrf=forged_csrf(), bearer=room.owner.token)
    assert await handshake_status(ws_url, room.path("chat-history"), offered) == 401


async def test_missing_bearer_is_refused_with_401(ws_url, room):
    assert await handshake_status(ws_url, room.path("chat-history"), offer()) == 401


async def test_forged_bearer_is_refused_with_401(ws_url, room):
    offered = offer(bearer=forged_bearer(room.owner))
    assert await handshake_status(ws_url, room.path("chat-history"), offered) == 401


async def test_non_member_is_refused_with_403(ws_url, room):
    offered = offer(bearer=room.outsider.token)
    assert await handshake_status(ws_url, room.path("chat-history"), offered) == 403


async def test_unknown_room_is_refused_with_404(ws_url, room):
    offered = offer(bearer=room.owner.token)
    # The same credentials open a room that exists: the refusal is about the room.
    async with ws_connect(ws_url, room.path("chat-history"), subprotocols=offered):
        pass
    assert await handshake_status(ws_url, "/room/no-such-room/chat-history", offered) == 404


# ---------------------------------------------------------------- pages


async def test_older_page_is_the_newest_messages_before_timestamp_newest_first(ws_url, room):
    await seed_minutes(room, 10)
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        page = await ask(ws, timestamp=ms(BASE + timedelta(minutes=7)), chunk_size=3)
    assert contents(page) == ["m6", "m5", "m4"]


async def test_newer_page_is_the_oldest_messages_after_timestamp_oldest_first(ws_url, room):
    await seed_minutes(room, 10)
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        page = await ask(ws, timestamp=ms(BASE + timedelta(minutes=2)), chunk_size=3, newer=True)
    assert contents(page) == ["m3", "m4", "m5"]


async def test_newer_defaults_to_false(ws_url, room):
    await seed_minutes(room, 5)
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        page = await ask(ws, timestamp=ms(BASE + timedelta(minutes=3)), chunk_size=10)
    assert contents(page) == ["m2", "m1", "m0"]


async def test_message_at_exactly_timestamp_is_excluded_both_ways(ws_url, room):
    await seed_minutes(room, 3)
    boundary = ms(BASE + timedelta(minutes=1))
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        assert contents(await ask(ws, timestamp=boundary, chunk_size=10)) == ["m0"]
        assert contents(await ask(ws, timestamp=boundary, chunk_size=2, newer=True)) == ["m2"]


async def test_page_is_shorter_when_fewer_messages_exist(ws_url, room):
    await seed_minutes(room, 2)
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        assert contents(await ask(ws, timestamp=ms(BASE + timedelta(hours=1)), chunk_size=100)) == [
            "m1",
            "m0",
        ]
        assert await ask(ws, timestamp=ms(BASE - timedelta(hours=1)), chunk_size=100) == []


async def test_chunk_size_100_returns_at_most_100(ws_url, room):
    await seed_minutes(room, 105)
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        page = await ask(ws, timestamp=ms(BASE + timedelta(days=1)), chunk_size=100)
    assert contents(page) == [f"m{n}" for n in range(104, 4, -1)]


async def test_chunk_size_1_returns_one(ws_url, room):
    await seed_minutes(room, 3)
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        assert contents(await ask(ws, timestamp=ms(BASE + timedelta(days=1)), chunk_size=1)) == ["m2"]


async def test_messages_have_the_contract_shape(ws_url, room):
    [message_id] = await seed_messages(room.hash, room.owner, [("shaped", BASE)])
    async with ws_connect(ws_url, room.path("chat-history"), room.member) as ws:
        [message] = await ask(ws, timestamp=ms(BASE) + 1, chunk_size=1)
    assert assert_message_object(message, room.owner, "shaped") == BASE
    assert message["id"] == message_id


async def test_only_this_rooms_messages_are_returned(ws_url, room, seed):
    other_room = await seed.room(room.owner)
    await seed_messages(other_room, room.owner, [("other room", BASE + timedelta(seconds=30))])
    await seed_minutes(room, 2)
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        assert contents(await ask(ws, timestamp=ms(BASE + timedelta(hours=1)), chunk_size=10)) == ["m1", "m0"]


async def test_reply_goes_to_the_requesting_client_only(ws_url, room):
    await seed_minutes(room, 5)
    path = room.path("chat-history")
    async with ws_connect(ws_url, path, room.owner) as asker, ws_connect(ws_url, path, room.member) as other:
        assert len(await ask(asker, timestamp=ms(BASE + timedelta(days=1)), chunk_size=4)) == 4
        # The other client's first frame is the reply to its own (different) request.
        assert len(await ask(other, timestamp=ms(BASE + timedelta(days=1)), chunk_size=2)) == 2


# ---------------------------------------------------------------- equal timestamps


async def test_equal_timestamps_are_ordered_by_id(ws_url, room):
    ids = await seed_messages(room.hash, room.owner, [(f"tie{n}", BASE) for n in range(4)])
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        older = await ask(ws, timestamp=ms(BASE) + 1, chunk_size=10)
        newer = await ask(ws, timestamp=ms(BASE) - 1, chunk_size=10, newer=True)
    assert [m["id"] for m in older] == sorted(ids, reverse=True)
    assert [m["id"] for m in newer] == sorted(ids)


async def test_paging_older_with_before_id_neither_skips_nor_repeats_ties(ws_url, room):
    # Seven messages: two before, three sharing one timestamp, two after.
    stamped = [("a0", BASE - timedelta(seconds=2)), ("a1", BASE - timedelta(seconds=1))]
    stamped += [(f"tie{n}", BASE) for n in range(3)]
    stamped += [("z0", BASE + timedelta(seconds=1)), ("z1", BASE + timedelta(seconds=2))]
    ids = await seed_messages(room.hash, room.owner, stamped)
    seen: list[int] = []
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        page = await ask(ws, timestamp=ms(BASE + timedelta(seconds=3)), chunk_size=2)
        while page:
            seen += [m["id"] for m in page]
            oldest = page[-1]
            cursor = ms(datetime.fromisoformat(oldest["timestamp"]))
            page = await ask(ws, timestamp=cursor, chunk_size=2, before_id=oldest["id"])
    assert seen == list(reversed(ids))


async def test_paging_newer_with_after_id_neither_skips_nor_repeats_ties(ws_url, room):
    stamped = [("a0", BASE - timedelta(seconds=1))]
    stamped += [(f"tie{n}", BASE) for n in range(5)]
    stamped += [("z0", BASE + timedelta(seconds=1))]
    ids = await seed_messages(room.hash, room.owner, stamped)
    seen: list[int] = []
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        page = await ask(ws, timestamp=ms(BASE - timedelta(seconds=2)), chunk_size=2, newer=True)
        while page:
            seen += [m["id"] for m in page]
            newest = page[-1]
            cursor = ms(datetime.fromisoformat(newest["timestamp"]))
            page = await ask(ws, timestamp=cursor, chunk_size=2, newer=True, after_id=newest["id"])
    assert seen == ids


async def test_messages_within_one_millisecond_are_not_lost_with_a_cursor(ws_url, room):
    # Timestamps differ by microseconds, which a millisecond timestamp cannot tell apart.
    stamped = [(f"us{n}", BASE + timedelta(microseconds=100 * n)) for n in range(4)]
    ids = await seed_messages(room.hash, room.owner, stamped)
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        first = await ask(ws, timestamp=ms(BASE) + 1, chunk_size=1)
        rest = await ask(ws, timestamp=ms(BASE), chunk_size=10, before_id=first[0]["id"])
    assert [m["id"] for m in first + rest] == list(reversed(ids))


# ---------------------------------------------------------------- invalid requests


@pytest.mark.parametrize(
    "request_body",
    [
        {"chunk_size": 10},
        {"timestamp": "yesterday", "chunk_size": 10},
        {"timestamp": True, "chunk_size": 10},
        {"timestamp": None, "chunk_size": 10},
        {"timestamp": 10**30, "chunk_size": 10},
        {"timestamp": 0},
        {"timestamp": 0, "chunk_size": 0},
        {"timestamp": 0, "chunk_size": 101},
        {"timestamp": 0, "chunk_size": -1},
        {"timestamp": 0, "chunk_size": 5.5},
        {"timestamp": 0, "chunk_size": "10"},
        {"timestamp": 0, "chunk_size": True},
        {"timestamp": 0, "chunk_size": 10, "newer": "yes"},
        {"timestamp": 0, "chunk_size": 10, "newer": 1},
        {"timestamp": 0, "chunk_size": 10, "before_id": "7"},
        {"timestamp": 0, "chunk_size": 10, "before_id": -7},
        {"timestamp": 0, "chunk_size": 10, "before_id": 10**30},
        {"timestamp": 0, "chunk_size": 10, "newer": True, "after_id": 1.5},
    ],
    ids=lambda body: json.dumps(body),
)
async def test_invalid_request_gets_an_error_and_the_connection_stays_usable(ws_url, room, request_body):
    async with ws_connect(ws_url, room.path("chat-history"), room.owner) as ws:
        await ws.send(json.dumps(request_body))
        await recv_error(ws)
        assert await ask(ws, timestamp=0, chunk_size=1) == []


async def test_error_goes_to_the_requesting_client_only(ws_url, room):
    path = room.path("chat-history")
    async with ws_connect(ws_url, path, room.owner) as asker, ws_connect(ws_url, path, room.member) as other:
        await asker.send(json.dumps({"timestamp": 0, "chunk_size": 0}))
        await recv_error(asker)
        assert await ask(other, timestamp=0, chunk_size=1) == []
