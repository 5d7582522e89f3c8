"""Control events end a user's sockets from outside: signed out, removed from a room, room deleted.

The events go through the app's backplane, so these tests build the app in this process
(Quart's test client) and publish them as the HTTP routes that end sessions and memberships do.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from quart import Quart
from quart.testing.connections import WebsocketDisconnectError
from sqlalchemy import delete

from pykcworkshop.chat import db
from pykcworkshop.chat.api.websockets import control
from pykcworkshop.chat.api.websockets.closing import CloseCode
from pykcworkshop.chat.db.models import room_members
from tests.support import API, eventually
from tests.support.seeding import Room, SeededUser, Seeder
from tests.support.websockets import GOOD_FRAMES, ROOM_SOCKETS, offer

pytestmark = pytest.mark.usefixtures("database")


def scope(user: SeededUser) -> dict[str, Any]:
    # Quart's test client drops its `subprotocols` argument; the scope carries them.
    return {"subprotocols": offer(bearer=user.token)}


async def closed_with(ws: Any) -> int:
    """Return the close code with which the server ends ``ws`` (the test client drops reasons)."""
    with pytest.raises(WebsocketDisconnectError) as closed:
        async with asyncio.timeout(5):
            while True:
                await ws.receive()
    return int(closed.value.args[0])


async def tracked(app: Quart, count: int) -> None:
    """Wait until ``count`` sockets are registered: the test client's ``websocket()`` returns
    before the handler has run that far, and an event published earlier finds nobody."""

    async def registered() -> bool:
        return len(app.extensions[control.EXTENSION].sockets()) >= count

    await eventually(registered, f"{count} sockets to be tracked")


async def still_open(ws: Any, socket: str) -> None:
    """Assert that ``ws`` still answers its socket's good frame."""
    await ws.send(GOOD_FRAMES[socket])
    await asyncio.wait_for(ws.receive(), 5)


async def publish(app: Quart, event: Any) -> None:
    async with app.app_context():
        await event


async def test_a_removed_member_loses_every_socket_on_that_room_only(
    local_app_factory, room: Room, seed: Seeder
):
    other_room = await seed.room(room.owner, room.member)
    async with local_app_factory() as app:
        client = app.test_client()
        paths = [f"{API}/room/{room.hash}/{socket}" for socket in ROOM_SOCKETS]
        victims = [client.websocket(path, scope_base=scope(room.member)) for path in paths]
        opened = [await victim.__aenter__() for victim in victims]
        try:
            async with (
                client.websocket(
                    f"{API}/room/{room.hash}/chat-message", scope_base=scope(room.owner)
                ) as owner_ws,
                client.websocket(
                    f"{API}/room/{other_room}/chat-message", scope_base=scope(room.member)
                ) as elsewhere,
            ):
                await still_open(owner_ws, "chat-message")
                await still_open(elsewhere, "chat-message")
                await tracked(app, len(opened) + 2)
                await publish(app, control.remove_from_room(room.member.id, room.hash, "kicked by the owner"))
                for ws in opened:
                    assert await closed_with(ws) == CloseCode.REMOVED_FROM_ROOM
                await still_open(owner_ws, "chat-message")
                await still_open(elsewhere, "chat-message")
        finally:
            for victim in victims:
                await victim.__aexit__(None, None, None)


async def test_dm_sockets_close_once_the_two_share_no_room(local_app_factory, room: Room):
    async with local_app_factory() as app:
        client = app.test_client()
        async with (
            client.websocket(f"{API}/{room.owner.id}/direct-message", scope_base=scope(room.member)) as mine,
            client.websocket(
                f"{API}/{room.member.id}/direct-message", scope_base=scope(room.owner)
            ) as theirs,
        ):
            await still_open(mine, "direct-message")
            async with db.get_session() as session:
                await session.execute(delete(room_members).where(room_members.c.user_id == room.member.id))
                await session.commit()
            await tracked(app, 2)
            await publish(app, control.remove_from_room(room.member.id, room.hash, "left"))
            assert await closed_with(mine) == CloseCode.REMOVED_FROM_ROOM
            assert await closed_with(theirs) == CloseCode.REMOVED_FROM_ROOM


async def test_dm_sockets_stay_open_while_the_two_share_another_room(
    local_app_factory, room: Room, seed: Seeder
):
    await seed.room(room.owner, room.member)
    async with local_app_factory() as app:
        client = app.test_client()
        async with client.websocket(
            f"{API}/{room.owner.id}/direct-message", scope_base=scope(room.member)
        ) as dm:
            await tracked(app, 1)
            await publish(app, control.remove_from_room(room.member.id, room.hash, "kicked"))
            await asyncio.sleep(0.3)
            await still_open(dm, "direct-message")


async def test_an_ended_session_closes_the_sockets_opened_with_that_token(local_app_factory, room: Room):
    async with local_app_factory() as app:
        client = app.test_client()
        async with (
            client.websocket(
                f"{API}/room/{room.hash}/member-status", scope_base=scope(room.member)
            ) as status,
            client.websocket(f"{API}/form-validation", scope_base=scope(room.member)) as forms,
            client.websocket(
                f"{API}/room/{room.hash}/chat-message", scope_base=scope(room.owner)
            ) as owner_ws,
        ):
            await still_open(status, "member-status")
            await tracked(app, 3)
            await publish(app, control.end_session(room.member.id, "some other token"))
            await asyncio.sleep(0.3)
            await still_open(status, "member-status")
            await publish(app, control.end_session(room.member.id, room.member.token))
            assert await closed_with(status) == CloseCode.SESSION_ENDED
            assert await closed_with(forms) == CloseCode.SESSION_ENDED
            await still_open(owner_ws, "chat-message")


async def test_a_deleted_room_closes_everyone_on_it(local_app_factory, room: Room):
    async with local_app_factory() as app:
        client = app.test_client()
        async with (
            client.websocket(
                f"{API}/room/{room.hash}/client-sync", scope_base=scope(room.member)
            ) as member_ws,
            client.websocket(
                f"{API}/room/{room.hash}/chat-history", scope_base=scope(room.owner)
            ) as owner_ws,
        ):
            # Both registered (a socket is tracked once it serves) before the event.
            await still_open(member_ws, "client-sync")
            await still_open(owner_ws, "chat-history")
            await tracked(app, 2)
            members = [room.owner.id, room.member.id]
            await publish(app, control.delete_room(room.hash, members, "deleted by the owner"))
            assert await closed_with(member_ws) == CloseCode.ROOM_DELETED
            assert await closed_with(owner_ws) == CloseCode.ROOM_DELETED

        async def untracked() -> bool:
            return app.extensions[control.EXTENSION].sockets() == []

        await eventually(untracked, "the closed sockets to be untracked")


async def test_an_unknown_control_event_is_ignored(local_app_factory, room: Room):
    async with local_app_factory() as app:
        client = app.test_client()
        async with client.websocket(
            f"{API}/room/{room.hash}/chat-message", scope_base=scope(room.member)
        ) as ws:
            async with app.app_context():
                from pykcworkshop.chat.backplane import broker

                await broker().publish(control.CONTROL_CHANNEL, {"kind": "something-new"})
            await still_open(ws, "chat-message")
