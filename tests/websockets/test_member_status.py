"""``/room/<room_hash>/member-status``: Online / Typing / Offline of a room's members."""

from __future__ import annotations

import json

from tests.support.websockets import (
    close_code,
    forged_bearer,
    forged_csrf,
    handshake_status,
    offer,
    recv_error,
    recv_json,
    ws_connect,
)


def status(user, user_status: str) -> dict:
    return {"user_id": user.id, "user_name": user.name, "user_status": user_status}


# ---------------------------------------------------------------- handshake


async def test_missing_csrf_is_refused_with_401(ws_url, room):
    offered = offer(csrf=None, bearer=room.owner.token)
    assert await handshake_status(ws_url, room.path("member-status"), offered) == 401


async def test_forged_csrf_is_refused_with_401(ws_url, room):
    offered = offer(csrf=forged_csrf(), bearer=room.owner.token)
    assert await handshake_status(ws_url, room.path("member-status"), offered) == 401


async def test_missing_bearer_is_refused_with_401(ws_url, room):
    assert await handshake_status(ws_url, room.path("member-status"), offer()) == 401


async def test_forged_bearer_is_refused_with_401(ws_url, room):
    offered = offer(bearer=forged_bearer(room.owner))
    assert await handshake_status(ws_url, room.path("member-status"), offered) == 401


async def test_non_member_is_refused_with_403(ws_url, room):
    offered = offer(bearer=room.outsider.token)
    assert await handshake_status(ws_url, room.path("member-status"), offered) == 403


async def test_unknown_room_is_refused_with_404(ws_url, room):
    offered = offer(bearer=room.owner.token)
    # The same credentials open a room that exists: the refusal is about the room.
    async with ws_connect(ws_url, room.path("member-status"), subprotocols=offered):
        pass
    assert await handshake_status(ws_url, "/room/no-such-room/member-status", offered) == 404


# ---------------------------------------------------------------- statuses


async def test_nothing_is_sent_on_connect(ws_url, room):
    path = room.path("member-status")
    async with (
        ws_connect(ws_url, path, room.owner) as watcher,
        ws_connect(ws_url, path, room.member) as newcomer,
    ):
        await newcomer.send(json.dumps({"user_status": "Typing"}))
        # Neither the newcomer's connect nor the watcher's own produced a frame.
        assert await recv_json(newcomer) == status(room.member, "Typing")
        assert await recv_json(watcher) == status(room.member, "Typing")


async def test_status_goes_to_every_connection_including_the_sender(ws_url, room):
    path = room.path("member-status")
    async with (
        ws_connect(ws_url, path, room.owner) as sender,
        ws_connect(ws_url, path, room.member) as member,
    ):
        for user_status in ("Online", "Typing", "Offline"):
            await sender.send(json.dumps({"user_status": user_status}))
            assert await recv_json(sender) == status(room.owner, user_status)
            assert await recv_json(member) == status(room.owner, user_status)


async def test_user_id_and_name_come_from_the_session(ws_url, room):
    async with ws_connect(ws_url, room.path("member-status"), room.member) as ws:
        await ws.send(json.dumps({"user_status": "Online", "user_id": 1, "user_name": "Mallory"}))
        assert await recv_json(ws) == status(room.member, "Online")


async def test_unknown_status_gets_an_error_to_the_sender_only(ws_url, room):
    path = room.path("member-status")
    async with (
        ws_connect(ws_url, path, room.owner) as sender,
        ws_connect(ws_url, path, room.member) as member,
    ):
        for bad in ("Away", "online", "", 1, None):
            await sender.send(json.dumps({"user_status": bad}))
            await recv_error(sender)
        await sender.send(json.dumps({"user_status": "Online"}))
        assert await recv_json(member) == status(room.owner, "Online")


async def test_missing_status_gets_an_error(ws_url, room):
    async with ws_connect(ws_url, room.path("member-status"), room.owner) as ws:
        await ws.send(json.dumps({"user_name": "no status"}))
        await recv_error(ws)


# ---------------------------------------------------------------- Offline on close


async def test_offline_is_sent_when_the_last_connection_closes(ws_url, room):
    path = room.path("member-status")
    async with ws_connect(ws_url, path, room.owner) as watcher:
        async with ws_connect(ws_url, path, room.member) as leaving:
            await leaving.send(json.dumps({"user_status": "Online"}))
            assert await recv_json(watcher) == status(room.member, "Online")
        assert await recv_json(watcher) == status(room.member, "Offline")


async def test_closing_one_of_two_tabs_sends_nothing(ws_url, room):
    path = room.path("member-status")
    async with (
        ws_connect(ws_url, path, room.owner) as watcher,
        ws_connect(ws_url, path, room.member) as tab_two,
    ):
        async with ws_connect(ws_url, path, room.member) as tab_one:
            await tab_one.send(json.dumps({"user_status": "Online"}))
            assert await recv_json(watcher) == status(room.member, "Online")
        await tab_two.send(json.dumps({"user_status": "Typing"}))
        # No Offline came before the Typing sent after tab one closed.
        assert await recv_json(watcher) == status(room.member, "Typing")


async def test_offline_is_sent_when_the_second_of_two_tabs_closes(ws_url, room):
    path = room.path("member-status")
    async with ws_connect(ws_url, path, room.owner) as watcher:
        async with ws_connect(ws_url, path, room.member):
            async with ws_connect(ws_url, path, room.member):
                pass
            await watcher.send(json.dumps({"user_status": "Online"}))
            assert await recv_json(watcher) == status(room.owner, "Online")
        assert await recv_json(watcher) == status(room.member, "Offline")


async def test_offline_is_sent_when_the_server_closes_the_connection(ws_url, room):
    path = room.path("member-status")
    async with ws_connect(ws_url, path, room.owner) as watcher:
        async with ws_connect(ws_url, path, room.member) as abuser:
            for _ in range(100):
                await abuser.send("not json")
            assert await close_code(abuser) == 1008
        assert await recv_json(watcher) == status(room.member, "Offline")


async def test_offline_is_sent_to_this_room_only(ws_url, room, seed):
    other_room = await seed.room(room.member)
    async with (
        ws_connect(ws_url, f"/room/{other_room}/member-status", room.member) as elsewhere,
        ws_connect(ws_url, room.path("member-status"), room.owner) as watcher,
    ):
        async with ws_connect(ws_url, room.path("member-status"), room.member):
            pass
        assert await recv_json(watcher) == status(room.member, "Offline")
        await elsewhere.send(json.dumps({"user_status": "Typing"}))
        # The member is still connected to the other room: no Offline there.
        assert await recv_json(elsewhere) == status(room.member, "Typing")
