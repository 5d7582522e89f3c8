"""docs/protocol.md "Routes": POST /user/create and POST /user/login on the live server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import NoResultFound

from pykcworkshop.chat import db
from tests.support import unique_name
from tests.support.http import BAD_NAMES, NOT_AN_OBJECT, WRONG_TYPES, assert_problem, bearer, name_of_length


def json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json"}


# ------------------------------------------------------------------ POST /user/create


async def test_create_user_returns_201_with_login_key_and_name(api):
    name = unique_name()
    response = await api.post("/user/create", json={"user_name": name})
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"user_hash", "user_name"}
    assert body["user_name"] == name
    assert isinstance(body["user_hash"], str) and body["user_hash"]


async def test_created_login_key_ends_with_the_user_id(api, database):
    """§2: the login key ends with the user id, so the server finds the row without a scan."""
    name = unique_name()
    body = (await api.post("/user/create", json={"user_name": name})).json()
    async with db.get_session() as session:
        user = await db.get_user_by_name(session, name)
    secret = body["user_hash"].removesuffix(str(user.id))
    assert secret != body["user_hash"], "the key does not end with the user id"
    assert not secret[-1].isdigit(), "the id must be delimited, not the tail of a longer number"


async def test_created_login_key_is_not_stored(api, database):
    """§2: only a hash of the login key is stored."""
    name = unique_name()
    login_key = (await api.post("/user/create", json={"user_name": name})).json()["user_hash"]
    async with db.get_session() as session:
        user = await db.get_user_by_name(session, name)
    assert login_key not in (user.login_key_hash, user.token.token)
    assert user.login_key_hash


async def test_each_user_gets_a_different_login_key(api):
    first = (await api.post("/user/create", json={"user_name": unique_name()})).json()
    second = (await api.post("/user/create", json={"user_name": unique_name()})).json()
    assert first["user_hash"] != second["user_hash"]


async def test_create_user_trims_surrounding_whitespace(api):
    name = unique_name()
    response = await api.post("/user/create", json={"user_name": f"  {name}\t "})
    assert response.status_code == 201
    assert response.json()["user_name"] == name


async def test_create_user_accepts_exactly_32_characters(api):
    name = name_of_length(32)
    response = await api.post("/user/create", json={"user_name": name})
    assert response.status_code == 201
    assert response.json()["user_name"] == name


async def test_create_user_counts_length_after_trimming(api):
    """32 characters padded with whitespace are still 32 characters."""
    name = name_of_length(32)
    response = await api.post("/user/create", json={"user_name": f"   {name}   "})
    assert response.status_code == 201
    assert response.json()["user_name"] == name


async def test_create_user_accepts_non_ascii_names(api):
    name = f"Zoë 🐍 {unique_name('x')}"
    response = await api.post("/user/create", json={"user_name": name})
    assert response.status_code == 201
    assert response.json()["user_name"] == name


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
async def test_create_user_rejects_invalid_name(api, database, name):
    response = await api.post("/user/create", json={"user_name": name})
    assert_problem(response, 400)


async def test_create_user_rejects_lone_surrogate(api):
    """JSON may escape a lone surrogate, which no text encoding can store."""
    body = b'{"user_name": "bad\\ud800name"}'
    assert_problem(await api.post("/user/create", content=body, headers=json_headers()), 400)


async def test_create_user_rejects_33_characters_after_trimming(api, database):
    name = name_of_length(33)
    assert_problem(await api.post("/user/create", json={"user_name": f" {name} "}), 400)
    async with db.get_session() as session:
        with pytest.raises(NoResultFound):
            await db.get_user_by_name(session, name)


async def test_create_user_rejects_name_taken_in_another_case(api, seed):
    taken = await seed.user(unique_name("Taken"))
    response = await api.post("/user/create", json={"user_name": taken.name.upper()})
    assert_problem(response, 400)


async def test_create_user_rejects_the_exact_taken_name(api):
    name = unique_name()
    assert (await api.post("/user/create", json={"user_name": name})).status_code == 201
    assert_problem(await api.post("/user/create", json={"user_name": name}), 400)


async def test_create_user_taken_check_sees_trimmed_name(api):
    name = unique_name()
    assert (await api.post("/user/create", json={"user_name": name})).status_code == 201
    assert_problem(await api.post("/user/create", json={"user_name": f"  {name.upper()}  "}), 400)


async def test_create_user_taken_check_is_case_insensitive_beyond_ascii(api):
    suffix = unique_name("x")
    assert (await api.post("/user/create", json={"user_name": f"Ädä-{suffix}"})).status_code == 201
    assert_problem(await api.post("/user/create", json={"user_name": f"äDÄ-{suffix}"}), 400)


async def test_create_user_cannot_take_the_system_users_name(api):
    """The built-in author of join messages is a user named System; nobody may pose as it."""
    for name in ("System", "system", "SYSTEM"):
        assert_problem(await api.post("/user/create", json={"user_name": name}), 400)


async def test_create_user_rejects_missing_user_name(api):
    assert_problem(await api.post("/user/create", json={}), 400)


async def test_create_user_rejects_other_keys_without_user_name(api):
    assert_problem(await api.post("/user/create", json={"name": unique_name()}), 400)


@pytest.mark.parametrize("value", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
async def test_create_user_rejects_user_name_of_wrong_type(api, value):
    assert_problem(await api.post("/user/create", json={"user_name": value}), 400)


@pytest.mark.parametrize("content", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT.keys())
async def test_create_user_rejects_body_that_is_not_a_json_object(api, content):
    response = await api.post("/user/create", content=content, headers=json_headers())
    assert_problem(response, 400)


async def test_create_user_without_content_type_still_needs_a_json_object(api):
    assert_problem(await api.post("/user/create", content=b"hello"), 400)


async def test_create_user_rejects_oversized_body_without_500(api):
    response = await api.post("/user/create", json={"user_name": "x" * 200_000})
    assert response.status_code in (400, 413)
    assert_problem(response, response.status_code)


# ------------------------------------------------------------------ POST /user/login


async def test_login_returns_id_name_and_session_token(api, seed):
    user = await seed.user()
    response = await api.post("/user/login", json={"user_hash": user.login_key})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"user_id": user.id, "user_name": user.name, "user_token": user.token}


async def test_login_with_key_from_create_user(api):
    name = unique_name()
    login_key = (await api.post("/user/create", json={"user_name": name})).json()["user_hash"]
    response = await api.post("/user/login", json={"user_hash": login_key})
    assert response.status_code == 200
    body = response.json()
    assert body["user_name"] == name and isinstance(body["user_id"], int)


async def test_login_token_authenticates_the_user(api, seed):
    user = await seed.user()
    token = (await api.post("/user/login", json={"user_hash": user.login_key})).json()["user_token"]
    assert (await api.get("/user/rooms/owned", headers=bearer(token))).status_code == 200


async def test_login_twice_returns_the_same_token(api, seed):
    """The session token is stored on the user's token row; logging in hands it out again."""
    user = await seed.user()
    first = await api.post("/user/login", json={"user_hash": user.login_key})
    second = await api.post("/user/login", json={"user_hash": user.login_key})
    assert first.json()["user_token"] == second.json()["user_token"]


async def test_login_rejects_wrong_key_of_existing_user(api, seed):
    user = await seed.user()
    secret, _, user_id = user.login_key.rpartition(".")
    wrong = f"{secret[::-1]}.{user_id}"
    assert_problem(await api.post("/user/login", json={"user_hash": wrong}), 401)


async def test_login_rejects_key_of_another_user(api, seed):
    """A valid secret with someone else's id at the end is not their key."""
    alice, bob = await seed.user(), await seed.user()
    secret = alice.login_key.rpartition(".")[0]
    assert_problem(await api.post("/user/login", json={"user_hash": f"{secret}.{bob.id}"}), 401)


async def test_login_rejects_key_of_missing_user(api):
    assert_problem(await api.post("/user/login", json={"user_hash": "c2VjcmV0c2VjcmV0.987654321"}), 401)


async def test_login_rejects_key_of_the_system_user(api, database):
    """System has no login key; no key logs in as System."""
    async with db.get_session() as session:
        system = await db.get_user_by_name(session, "System")
    for key in (f".{system.id}", f"x.{system.id}", f"{'0' * 43}.{system.id}"):
        assert_problem(await api.post("/user/login", json={"user_hash": key}), 401)


GARBAGE_KEYS = {
    "no id": "garbage",
    "dots": "....",
    "negative id": "abc.-1",
    "exponent id": "abc.1e3",
    "non-ASCII digits": "abc.\u0661\u0662",
    "id beyond 64 bits": "abc.99999999999999999999999999",
    "huge": "a" * 5000 + ".1",
    "control characters": "\x01\x02.1",
    "unicode": "ключ.1",
}


@pytest.mark.parametrize("key", GARBAGE_KEYS.values(), ids=GARBAGE_KEYS.keys())
async def test_login_rejects_garbage_key(api, key):
    assert_problem(await api.post("/user/login", json={"user_hash": key}), 401)


async def test_login_rejects_key_with_lone_surrogate(api, seed):
    user = await seed.user()
    body = f'{{"user_hash": "bad\\ud800key.{user.id}"}}'.encode()
    assert_problem(await api.post("/user/login", content=body, headers=json_headers()), 401)


async def test_login_with_empty_key_fails_without_500(api):
    response = await api.post("/user/login", json={"user_hash": ""})
    assert response.status_code in (400, 401)
    assert_problem(response, response.status_code)


async def test_login_rejects_expired_session_token(api, seed):
    user = await seed.user(token_expiration=timedelta(seconds=-1))
    assert_problem(await api.post("/user/login", json={"user_hash": user.login_key}), 401)


async def test_login_rejects_revoked_session_token(api, seed):
    user = await seed.user()
    async with db.get_session() as session:
        row = await db.get_user_by_id(session, user.id)
        row.token.revoked = True
        await session.commit()
    assert_problem(await api.post("/user/login", json={"user_hash": user.login_key}), 401)


async def test_login_rejects_missing_user_hash(api):
    assert_problem(await api.post("/user/login", json={}), 400)


@pytest.mark.parametrize("value", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
async def test_login_rejects_user_hash_of_wrong_type(api, value):
    response = await api.post("/user/login", json={"user_hash": value})
    assert_problem(response, 400)


@pytest.mark.parametrize("content", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT.keys())
async def test_login_rejects_body_that_is_not_a_json_object(api, content):
    response = await api.post("/user/login", content=content, headers=json_headers())
    assert_problem(response, 400)
