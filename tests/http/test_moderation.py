"""docs/protocol.md "Moderation routes": what each action does, and the inputs it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pykcworkshop.chat import db
from tests.support.http import assert_problem, bearer
from tests.support.seeding import seed_moderated_room, stored_messages

pytestmark = pytest.mark.usefixtures("database")


async def roles(api, room, caller="owner"):
    response = await api.get(f"/room/{room.hash}/members", headers=bearer(room[caller]))
    assert response.status_code == 200
    return response.json()


async def test_members_show_roles_and_only_moderators_see_mutes(api):
    room = await seed_moderated_room()
    muted = await api.post(
        f"/room/{room.hash}/members/{room['member'].id}/mute",
        json={"minutes": 60},
        headers=bearer(room["owner"]),
    )
    until = datetime.fromisoformat(muted.json()["muted_until"])
    assert timedelta(minutes=59) < until - datetime.now(UTC) <= timedelta(minutes=60)
    by_moderator = {m["user_id"]: m for m in await roles(api, room, "moderator")}
    assert by_moderator[room["owner"].id]["role"] == "owner"
    assert by_moderator[room["moderator"].id]["role"] == "moderator"
    assert by_moderator[room["member"].id] == {
        "user_name": room["member"].name, "user_id": room["member"].id, "role": "member",
        "muted_until": muted.json()["muted_until"],
    }  # fmt: skip
    assert by_moderator[room["member2"].id]["muted_until"] is None
    by_member = await roles(api, room, "member")
    assert all(set(entry) == {"user_name", "user_id", "role"} for entry in by_member)


async def test_kick_removes_the_member_who_may_join_again(api):
    room = await seed_moderated_room()
    member = room["member"]
    response = await api.post(
        f"/room/{room.hash}/members/{member.id}/kick", headers=bearer(room["moderator"])
    )
    assert response.status_code == 204
    assert member.id not in {m["user_id"] for m in await roles(api, room)}
    contents = [message.content for message in await stored_messages(room.hash)]
    assert f"{member.name} was removed by {room['moderator'].name}." in contents
    assert (await api.put(f"/room/{room.hash}/join", headers=bearer(member))).status_code == 200


async def test_a_banned_user_cannot_join_until_unbanned(api):
    room = await seed_moderated_room()
    member = room["member"]
    url = f"/room/{room.hash}/members/{member.id}/ban"
    assert (await api.post(url, json={"reason": "  spam "}, headers=bearer(room["owner"]))).status_code == 204
    assert_problem(await api.put(f"/room/{room.hash}/join", headers=bearer(member)), 403)
    bans = (await api.get(f"/room/{room.hash}/bans", headers=bearer(room["moderator"]))).json()
    newest = bans[0]
    assert (newest["user_id"], newest["by_id"], newest["by_name"], newest["reason"]) == (
        member.id, room["owner"].id, room["owner"].name, "spam",
    )  # fmt: skip
    unban = await api.delete(f"/room/{room.hash}/bans/{member.id}", headers=bearer(room["moderator"]))
    assert unban.status_code == 204
    assert (await api.put(f"/room/{room.hash}/join", headers=bearer(member))).status_code == 200


async def test_roles_and_transfer_keep_one_owner(api):
    room = await seed_moderated_room()
    owner, member = room["owner"], room["member"]
    url = f"/room/{room.hash}/members/{member.id}/role"
    assert (await api.put(url, json={"role": "moderator"}, headers=bearer(owner))).status_code == 204
    transfer = await api.post(
        f"/room/{room.hash}/transfer", json={"user_id": member.id}, headers=bearer(owner)
    )
    assert transfer.status_code == 204
    listed = {m["user_id"]: m["role"] for m in await roles(api, room, "member")}
    assert listed[member.id] == "owner" and listed[owner.id] == "moderator"
    assert list(listed.values()).count("owner") == 1
    async with db.get_session() as session:
        assert (await db.get_room_by_id(session, room.hash)).owner_id == member.id
    # The previous owner may leave now.
    assert (await api.post(f"/room/{room.hash}/leave", headers=bearer(owner))).status_code == 204


async def test_rename_and_delete(api):
    room = await seed_moderated_room()
    owner = room["owner"]
    renamed = await api.patch(f"/room/{room.hash}", json={"room_name": "  New name "}, headers=bearer(owner))
    assert renamed.json() == {"room_hash": room.hash, "room_name": "New name"}
    assert (await api.get(f"/room/{room.hash}", headers=bearer(owner))).json()["room_name"] == "New name"
    assert (await api.delete(f"/room/{room.hash}", headers=bearer(owner))).status_code == 204
    assert_problem(await api.get(f"/room/{room.hash}", headers=bearer(owner)), 400)
    assert_problem(await api.delete(f"/room/{room.hash}", headers=bearer(owner)), 404)


async def test_rename_refuses_a_name_the_owner_already_uses(api, seed):
    room = await seed_moderated_room()
    other = await api.post("/room/create", json={"room_name": "Taken name"}, headers=bearer(room["owner"]))
    assert other.status_code == 201
    response = await api.patch(
        f"/room/{room.hash}", json={"room_name": "TAKEN name"}, headers=bearer(room["owner"])
    )
    assert_problem(response, 400)


async def test_a_deleted_message_leaves_the_history(api):
    room = await seed_moderated_room()
    async with db.get_session() as session:
        message = await db.create_chat_message(
            session, author_id=room["member"].id, room_id=room.hash, content="oops"
        )
        await session.commit()
    url = f"/room/{room.hash}/messages/{message.id}"
    assert (await api.delete(url, headers=bearer(room["member"]))).status_code == 204
    assert_problem(await api.delete(url, headers=bearer(room["owner"])), 404)
    async with db.get_session() as session:
        rows = await db.get_history(
            session, room_id=room.hash, before=datetime(1970, 1, 1, tzinfo=UTC), chunk_size=100, newer=True
        )
    assert message.id not in [row.id for row in rows]


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/members/{id}/mute", "POST", {"minutes": 0}),
        ("/members/{id}/mute", "POST", {"minutes": 10081}),
        ("/members/{id}/mute", "POST", {"minutes": "5"}),
        ("/members/{id}/mute", "POST", {"minutes": True}),
        ("/members/{id}/mute", "POST", {"minutes": 1.5}),
        ("/members/{id}/mute", "POST", {"minutes": 10**400}),
        ("/members/{id}/mute", "POST", {}),
        ("/members/{id}/role", "PUT", {"role": "owner"}),
        ("/members/{id}/role", "PUT", {"role": "admin"}),
        ("/members/{id}/ban", "POST", {"reason": 5}),
        ("/members/{id}/ban", "POST", {"reason": "x" * 201}),
        ("/members/{id}/ban", "POST", {"reason": "bell\x07"}),
        ("/transfer", "POST", {"user_id": "5"}),
        ("/transfer", "POST", {}),
        ("", "PATCH", {"room_name": ""}),
        ("", "PATCH", {"room_name": "x" * 33}),
        ("", "PATCH", {}),
    ],
)
async def test_bad_input_is_400(api, path, method, body):
    room = await seed_moderated_room()
    url = f"/room/{room.hash}{path.format(id=room['member'].id)}"
    assert_problem(await api.request(method, url, json=body, headers=bearer(room["owner"])), 400)


@pytest.mark.parametrize("user_id", ["\u0663", "\uff11\uff12", "-1", "0", "9" * 30, "abc"])
async def test_path_ids_are_ascii_digits(api, user_id):
    room = await seed_moderated_room()
    url = f"/room/{room.hash}/members/{user_id}/kick"
    assert_problem(await api.post(url, headers=bearer(room["owner"])), 404)


async def test_unknown_room_is_404_and_no_bearer_is_401(api):
    room = await seed_moderated_room()
    assert_problem(await api.post("/room/nope/leave", headers=bearer(room["owner"])), 404)
    assert_problem(await api.post(f"/room/{room.hash}/leave"), 401)
