"""docs/protocol.md "Routes": the room routes and the caller's room lists, on the live server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pykcworkshop.chat import db
from tests.support import unique_name
from tests.support.http import BAD_NAMES, NOT_AN_OBJECT, WRONG_TYPES, assert_problem, bearer, name_of_length

#: Room hashes no room has: random, odd characters, absurdly long.
UNKNOWN_ROOMS = {
    "random": "AAAAAAAAAAAAAAAAAAAAAA",
    "punctuation": "%20%27%22;--",
    "unicode": "%E2%98%83",
    "invalid UTF-8": "%FF%FE",
    "long": "r" * 3000,
    # PostgreSQL refuses U+0000 in text: these must not reach a query (issue 14, defect 3).
    "NUL": "a%00b",
    "NUL, a hash's length": "AAAAAAAAAAA%00AAAAAAAAAA",
}


async def history_of(room_hash: str) -> list[db.MessageRow]:
    """Return every message of a room, oldest first, read through the data layer."""
    async with db.get_session() as session:
        return await db.get_history(
            session, room_id=room_hash, before=datetime(1970, 1, 1, tzinfo=UTC), chunk_size=100, newer=True
        )


async def create_room(api, user, name=None):
    response = await api.post(
        "/room/create", json={"room_name": name or unique_name("room")}, headers=bearer(user)
    )
    assert response.status_code == 201, response.text
    return response.json()


# ------------------------------------------------------------------ POST /room/create


async def test_create_room_returns_201_with_hash_and_name(api, user):
    name = unique_name("room")
    response = await api.post("/room/create", json={"room_name": name}, headers=bearer(user))
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"room_hash", "room_name"}
    assert body["room_name"] == name
    assert isinstance(body["room_hash"], str) and body["room_hash"]


async def test_create_room_makes_the_creator_owner(api, user, database):
    room = await create_room(api, user)
    async with db.get_session() as session:
        stored = await db.get_room_by_id(session, room["room_hash"])
    assert stored.owner_id == user.id


async def test_create_room_makes_the_creator_the_first_member(api, user):
    room = await create_room(api, user)
    members = await api.get(f"/room/{room['room_hash']}/members", headers=bearer(user))
    assert members.json() == [
        {"user_name": user.name, "user_id": user.id, "role": "owner", "muted_until": None}
    ]


async def test_create_room_gives_each_room_its_own_hash(api, user):
    first, second = await create_room(api, user), await create_room(api, user)
    assert first["room_hash"] != second["room_hash"]


async def test_create_room_trims_surrounding_whitespace(api, user):
    name = unique_name("room")
    response = await api.post("/room/create", json={"room_name": f"\t {name}  "}, headers=bearer(user))
    assert response.status_code == 201
    assert response.json()["room_name"] == name


async def test_create_room_accepts_exactly_32_characters(api, user):
    name = name_of_length(32, "room")
    response = await api.post("/room/create", json={"room_name": f"  {name}  "}, headers=bearer(user))
    assert response.status_code == 201
    assert response.json()["room_name"] == name


async def test_create_room_rejects_33_characters_after_trimming(api, user):
    name = name_of_length(33, "room")
    assert_problem(await api.post("/room/create", json={"room_name": f" {name} "}, headers=bearer(user)), 400)


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
async def test_create_room_rejects_invalid_name(api, user, name):
    response = await api.post("/room/create", json={"room_name": name}, headers=bearer(user))
    assert_problem(response, 400)


async def test_create_room_rejects_invalid_name_without_creating_a_room(api, user):
    await api.post("/room/create", json={"room_name": "x" * 33}, headers=bearer(user))
    assert (await api.get("/user/rooms/owned", headers=bearer(user))).json() == []


async def test_create_room_rejects_name_the_user_owns_in_another_case(api, user):
    name = unique_name("Room")
    await create_room(api, user, name)
    response = await api.post("/room/create", json={"room_name": f" {name.upper()} "}, headers=bearer(user))
    assert_problem(response, 400)
    assert len((await api.get("/user/rooms/owned", headers=bearer(user))).json()) == 1


async def test_create_room_rejects_the_exact_name_the_user_owns(api, user):
    name = unique_name("room")
    await create_room(api, user, name)
    assert_problem(await api.post("/room/create", json={"room_name": name}, headers=bearer(user)), 400)


async def test_another_user_may_use_a_room_name_someone_owns(api, seed):
    alice, bob = await seed.user(), await seed.user()
    name = unique_name("room")
    first = await create_room(api, alice, name)
    second = await create_room(api, bob, name.upper())
    assert second["room_name"] == name.upper()
    assert second["room_hash"] != first["room_hash"]


async def test_member_of_a_room_may_still_create_one_with_its_name(api, seed):
    """Only owning a room name blocks it, not being a member of a room with that name."""
    owner, member = await seed.user(), await seed.user()
    name = unique_name("room")
    room_hash = await seed.room(owner, member, name=name)
    created = await create_room(api, member, name)
    assert created["room_hash"] != room_hash


async def test_create_room_rejects_missing_room_name(api, user):
    assert_problem(await api.post("/room/create", json={}, headers=bearer(user)), 400)


@pytest.mark.parametrize("value", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
async def test_create_room_rejects_room_name_of_wrong_type(api, user, value):
    assert_problem(await api.post("/room/create", json={"room_name": value}, headers=bearer(user)), 400)


@pytest.mark.parametrize("content", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT.keys())
async def test_create_room_rejects_body_that_is_not_a_json_object(api, user, content):
    headers = {**bearer(user), "Content-Type": "application/json"}
    assert_problem(await api.post("/room/create", content=content, headers=headers), 400)


# ------------------------------------------------------------------ GET /room/<room_hash>


async def test_get_room_returns_hash_and_name(api, user):
    room = await create_room(api, user)
    response = await api.get(f"/room/{room['room_hash']}", headers=bearer(user))
    assert response.status_code == 200
    assert response.json() == room


async def test_get_room_works_for_a_non_member(api, seed, user):
    """Invite links: anyone logged in can see a room's name before joining it."""
    owner = await seed.user()
    name = unique_name("room")
    room_hash = await seed.room(owner, name=name)
    response = await api.get(f"/room/{room_hash}", headers=bearer(user))
    assert response.status_code == 200
    assert response.json() == {"room_hash": room_hash, "room_name": name}


@pytest.mark.parametrize("room_hash", UNKNOWN_ROOMS.values(), ids=UNKNOWN_ROOMS.keys())
async def test_get_room_rejects_unknown_room(api, user, room_hash):
    assert_problem(await api.get(f"/room/{room_hash}", headers=bearer(user)), 400)


# ------------------------------------------------------------------ PUT /room/<room_hash>/join


async def test_join_room_returns_room_token_and_name(api, seed, user):
    name = unique_name("room")
    room_hash = await seed.room(await seed.user(), name=name)
    response = await api.put(f"/room/{room_hash}/join", headers=bearer(user))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"room_token": room_hash, "room_name": name}


async def test_join_room_adds_the_user_to_the_members(api, seed, user):
    owner = await seed.user()
    room_hash = await seed.room(owner)
    await api.put(f"/room/{room_hash}/join", headers=bearer(user))
    members = (await api.get(f"/room/{room_hash}/members", headers=bearer(owner))).json()
    assert sorted(member["user_id"] for member in members) == sorted([owner.id, user.id])


async def test_join_room_writes_system_join_message(api, seed, user):
    room_hash = await seed.room(await seed.user())
    await api.put(f"/room/{room_hash}/join", headers=bearer(user))
    history = await history_of(room_hash)
    joins = [message for message in history if message.content == f"{user.name} has joined the chat."]
    assert len(joins) == 1
    async with db.get_session() as session:
        system = await db.get_user_by_name(session, "System")
    assert joins[0].author_name == "System"
    assert joins[0].author_id == system.id


async def test_join_room_twice_is_rejected(api, seed, user):
    room_hash = await seed.room(await seed.user())
    assert (await api.put(f"/room/{room_hash}/join", headers=bearer(user))).status_code == 200
    assert_problem(await api.put(f"/room/{room_hash}/join", headers=bearer(user)), 400)


async def test_join_room_twice_writes_only_one_join_message(api, seed, user):
    room_hash = await seed.room(await seed.user())
    await api.put(f"/room/{room_hash}/join", headers=bearer(user))
    await api.put(f"/room/{room_hash}/join", headers=bearer(user))
    contents = [message.content for message in await history_of(room_hash)]
    assert contents.count(f"{user.name} has joined the chat.") == 1


async def test_owner_joining_their_own_room_is_rejected(api, user):
    """The creator is already the first member."""
    room = await create_room(api, user)
    assert_problem(await api.put(f"/room/{room['room_hash']}/join", headers=bearer(user)), 400)


@pytest.mark.parametrize("room_hash", UNKNOWN_ROOMS.values(), ids=UNKNOWN_ROOMS.keys())
async def test_join_rejects_unknown_room(api, user, room_hash):
    assert_problem(await api.put(f"/room/{room_hash}/join", headers=bearer(user)), 400)


# ------------------------------------------------------------------ GET /room/<room_hash>/members


async def test_members_lists_every_member_with_name_id_and_role(api, seed):
    owner, alice, bob = await seed.user(), await seed.user(), await seed.user()
    room_hash = await seed.room(owner, alice, bob)
    response = await api.get(f"/room/{room_hash}/members", headers=bearer(alice))
    assert response.status_code == 200
    roles = {owner.id: "owner", alice.id: "member", bob.id: "member"}
    expected = [{"user_name": u.name, "user_id": u.id, "role": roles[u.id]} for u in (owner, alice, bob)]
    assert sorted(response.json(), key=lambda m: m["user_id"]) == sorted(expected, key=lambda m: m["user_id"])


async def test_members_does_not_list_the_system_user(api, seed):
    owner, member = await seed.user(), await seed.user()
    room_hash = await seed.room(owner, member)
    names = [
        m["user_name"] for m in (await api.get(f"/room/{room_hash}/members", headers=bearer(owner))).json()
    ]
    assert "System" not in names


@pytest.mark.parametrize("room_hash", UNKNOWN_ROOMS.values(), ids=UNKNOWN_ROOMS.keys())
async def test_members_rejects_unknown_room(api, user, room_hash):
    assert_problem(await api.get(f"/room/{room_hash}/members", headers=bearer(user)), 400)


# ------------------------------------------------------------------ GET /user/rooms/joined and /owned


async def test_new_user_has_no_rooms(api, user):
    for path in ("/user/rooms/joined", "/user/rooms/owned"):
        response = await api.get(path, headers=bearer(user))
        assert response.status_code == 200
        assert response.json() == []


async def test_joined_lists_created_and_joined_rooms(api, seed, user):
    created = await create_room(api, user)
    other_name = unique_name("room")
    other_hash = await seed.room(await seed.user(), name=other_name)
    await api.put(f"/room/{other_hash}/join", headers=bearer(user))
    await seed.room(await seed.user())  # a room the user has nothing to do with
    response = await api.get("/user/rooms/joined", headers=bearer(user))
    assert response.status_code == 200
    expected = [created, {"room_hash": other_hash, "room_name": other_name}]
    assert sorted(response.json(), key=lambda r: r["room_hash"]) == sorted(
        expected, key=lambda r: r["room_hash"]
    )


async def test_owned_lists_only_rooms_the_user_created(api, seed, user):
    first, second = await create_room(api, user), await create_room(api, user)
    joined_hash = await seed.room(await seed.user())
    await api.put(f"/room/{joined_hash}/join", headers=bearer(user))
    response = await api.get("/user/rooms/owned", headers=bearer(user))
    assert response.status_code == 200
    assert sorted(response.json(), key=lambda r: r["room_hash"]) == sorted(
        [first, second], key=lambda r: r["room_hash"]
    )


async def test_joined_room_appears_for_the_joiner_only(api, seed, user):
    room_hash = await seed.room(await seed.user())
    bystander = await seed.user()
    await api.put(f"/room/{room_hash}/join", headers=bearer(user))
    assert room_hash in [
        r["room_hash"] for r in (await api.get("/user/rooms/joined", headers=bearer(user))).json()
    ]
    assert (await api.get("/user/rooms/joined", headers=bearer(bystander))).json() == []
