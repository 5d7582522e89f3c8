"""Presence counting: a user's *last* member-status connection to a room is what matters."""

from __future__ import annotations

from pykcworkshop.chat.backplane.presence import MemoryPresence


async def test_single_connection_leaving_is_the_last():
    presence = MemoryPresence()
    await presence.arrive("room", 1)
    assert await presence.leave("room", 1) is True


async def test_second_tab_leaving_first_is_not_the_last():
    presence = MemoryPresence()
    await presence.arrive("room", 1)
    await presence.arrive("room", 1)
    assert await presence.leave("room", 1) is False
    assert await presence.leave("room", 1) is True


async def test_connections_are_counted_per_room_and_per_user():
    presence = MemoryPresence()
    await presence.arrive("room", 1)
    await presence.arrive("other room", 1)
    await presence.arrive("room", 2)
    assert await presence.leave("room", 1) is True
    assert presence.count("other room", 1) == 1 and presence.count("room", 2) == 1


async def test_count_returns_to_zero_after_every_connection_left():
    presence = MemoryPresence()
    for _ in range(1000):
        await presence.arrive("room", 1)
    for _ in range(999):
        assert await presence.leave("room", 1) is False
    assert await presence.leave("room", 1) is True
    assert presence.count("room", 1) == 0
