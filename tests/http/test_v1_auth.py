"""docs/protocol.md "Credentials" and "HTTP API": the CSRF header on every route and the bearer
token on (auth) routes.

Every refusal is a 401 ``application/problem+json`` and never a 500, whatever the input.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.exc import NoResultFound

from pykcworkshop.chat import db
from pykcworkshop.chat.tokens import generate_csrf, generate_user_token
from tests.support import API, tampered, unique_name
from tests.support.http import assert_problem, bearer, csrf_signed_days_ago, other_secret, signed_at
from tests.support.seeding import SeededUser, Seeder

#: The (auth) routes, as (method, path template); ``{room}`` is an existing room's hash.
AUTH_ROUTES = [
    ("GET", "/room/{room}"),
    ("POST", "/room/create"),
    ("GET", "/user/rooms/joined"),
    ("GET", "/user/rooms/owned"),
    ("PUT", "/room/{room}/join"),
    ("GET", "/room/{room}/members"),
]
ALL_ROUTES = [("POST", "/user/create"), ("POST", "/user/login"), *AUTH_ROUTES]


def route_id(route: tuple[str, str]) -> str:
    return " ".join(route)


async def valid_request(
    seed: Seeder, method: str, path: str
) -> tuple[str, SeededUser, dict[str, str] | None]:
    """Return (url, caller, json) of a request that succeeds with a CSRF token and the caller's bearer."""
    owner, caller = await seed.user(), await seed.user()
    room_hash = await seed.room(owner)
    body = {
        "/user/create": {"user_name": unique_name()},
        "/user/login": {"user_hash": caller.login_key},
        "/room/create": {"room_name": unique_name("room")},
    }.get(path)
    return path.format(room=room_hash), caller, body


async def send(
    client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str], body
) -> httpx.Response:
    return await client.request(method, url, headers=headers, json=body)


@pytest.fixture
async def bare(http_url):
    """An HTTP client for ``/chat/api/v1`` that sends no CSRF token by itself."""
    async with httpx.AsyncClient(base_url=f"{http_url}{API}", timeout=10) as client:
        yield client


async def revoke(user: SeededUser) -> None:
    async with db.get_session() as session:
        row = await db.get_user_by_id(session, user.id)
        row.token.revoked = True
        await session.commit()


# ------------------------------------------------------------------ CSRF


@pytest.mark.parametrize("route", ALL_ROUTES, ids=route_id)
async def test_valid_csrf_is_accepted_on_every_route(bare, seed, route):
    """The control for the tests below: the same request with a valid token succeeds."""
    url, caller, body = await valid_request(seed, *route)
    response = await send(bare, route[0], url, {**bearer(caller), "X-CSRF-TOKEN": generate_csrf()}, body)
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize("route", ALL_ROUTES, ids=route_id)
async def test_missing_csrf_is_refused_on_every_route(bare, seed, route):
    url, caller, body = await valid_request(seed, *route)
    assert_problem(await send(bare, route[0], url, bearer(caller), body), 401)


def forged_csrf() -> str:
    with other_secret():
        return generate_csrf()


def tampered_csrf() -> str:
    return tampered(generate_csrf())


def user_token_as_csrf() -> str:
    return generate_user_token(user_id=1, user_name="x", expires_at=datetime.now(UTC) + timedelta(days=1))


BAD_CSRF = {
    "empty": lambda: "",
    "garbage": lambda: "garbage",
    "dots": lambda: "a.b.c",
    "forged with another secret": forged_csrf,
    "tampered signature": tampered_csrf,
    "expired, signed 32 days ago": lambda: csrf_signed_days_ago(32),
    "signed in the future": lambda: csrf_signed_days_ago(-2),
    "a session token": user_token_as_csrf,
    "huge": lambda: "x" * 10_000,
}


@pytest.mark.parametrize("make_token", BAD_CSRF.values(), ids=BAD_CSRF.keys())
async def test_bad_csrf_is_refused(bare, seed, make_token):
    url, caller, body = await valid_request(seed, "POST", "/room/create")
    response = await send(bare, "POST", url, {**bearer(caller), "X-CSRF-TOKEN": make_token()}, body)
    assert_problem(response, 401)


@pytest.mark.parametrize("make_token", BAD_CSRF.values(), ids=BAD_CSRF.keys())
async def test_bad_csrf_is_refused_on_user_create(bare, make_token):
    response = await bare.post(
        "/user/create", json={"user_name": unique_name()}, headers={"X-CSRF-TOKEN": make_token()}
    )
    assert_problem(response, 401)


async def test_csrf_signed_30_days_ago_is_still_valid(bare):
    """Tokens are valid for 31 days: a 30-day-old token still works."""
    response = await bare.post(
        "/user/create", json={"user_name": unique_name()}, headers={"X-CSRF-TOKEN": csrf_signed_days_ago(30)}
    )
    assert response.status_code == 201


async def test_refused_csrf_creates_nothing(bare, database):
    name = unique_name()
    await bare.post("/user/create", json={"user_name": name}, headers={"X-CSRF-TOKEN": forged_csrf()})
    async with db.get_session() as session:
        with pytest.raises(NoResultFound):
            await db.get_user_by_name(session, name)


async def test_refused_csrf_joins_nothing(bare, seed):
    owner, caller = await seed.user(), await seed.user()
    room_hash = await seed.room(owner)
    await bare.put(f"/room/{room_hash}/join", headers=bearer(caller))
    async with db.get_session() as session:
        assert not await db.is_member(session, user_id=caller.id, room_id=room_hash)


async def test_csrf_in_a_cookie_or_query_is_not_enough(bare):
    response = await bare.post(
        f"/user/create?X-CSRF-TOKEN={generate_csrf()}",
        json={"user_name": unique_name()},
        headers={"Cookie": f"X-CSRF-TOKEN={generate_csrf()}"},
    )
    assert_problem(response, 401)


async def test_csrf_header_name_is_case_insensitive(bare):
    """HTTP header names are case-insensitive (RFC 9110 §5.1)."""
    response = await bare.post(
        "/user/create", json={"user_name": unique_name()}, headers={"x-csrf-token": generate_csrf()}
    )
    assert response.status_code == 201


async def test_csrf_is_checked_before_the_body(bare):
    """Without a valid token the server says 401, not 400, whatever the body."""
    assert_problem(await bare.post("/user/create", content=b"not json"), 401)


# ------------------------------------------------------------------ Bearer


@pytest.mark.parametrize("route", AUTH_ROUTES, ids=route_id)
async def test_missing_authorization_is_refused_on_every_auth_route(api, seed, route):
    url, _, body = await valid_request(seed, *route)
    assert_problem(await send(api, route[0], url, {}, body), 401)


async def test_401_names_the_bearer_scheme(api):
    """RFC 9110 §11.6.1: a 401 carries a WWW-Authenticate challenge."""
    response = await api.get("/user/rooms/joined")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].lower().startswith("bearer")


async def test_bearer_scheme_is_case_insensitive(api, user):
    """RFC 9110 §11.1: the authentication scheme name is case-insensitive."""
    response = await api.get("/user/rooms/joined", headers={"Authorization": f"bearer {user.token}"})
    assert response.status_code == 200


def forged_user_token(user: SeededUser) -> str:
    """A well-formed token for ``user`` signed with a secret the server does not know."""
    with other_secret():
        return generate_user_token(
            user_id=user.id, user_name=user.name, expires_at=datetime.now(UTC) + timedelta(days=9)
        )


def unissued_user_token(user: SeededUser) -> str:
    """A token signed with the server's secret but never issued: not the stored one."""
    return generate_user_token(
        user_id=user.id, user_name=user.name, expires_at=datetime.now(UTC) + timedelta(days=9)
    )


def old_signature_user_token(user: SeededUser) -> str:
    """The user's own claims re-signed years ago (the token is stored, so only expiry counts)."""
    with signed_at(datetime.now(UTC) - timedelta(days=3000)):
        return unissued_user_token(user)


#: Authorization header values that must be refused, given a real user.
BAD_AUTHORIZATION = {
    "Basic scheme": lambda u: f"Basic {u.token}",
    "Token scheme": lambda u: f"Token {u.token}",
    "no scheme": lambda u: u.token,
    "scheme glued to token": lambda u: f"Bearer{u.token}",
    "scheme only": lambda u: "Bearer",
    "empty": lambda u: "",
    "two tokens": lambda u: f"Bearer {u.token} {u.token}",
    "garbage": lambda u: "Bearer garbage",
    "dots": lambda u: "Bearer a.b.c",
    "truncated": lambda u: f"Bearer {u.token[:-3]}",
    "tampered": lambda u: f"Bearer {tampered(u.token)}",
    "huge": lambda u: f"Bearer {'x' * 10_000}",
    "forged with another secret": lambda u: f"Bearer {forged_user_token(u)}",
    "signed by the server but never issued": lambda u: f"Bearer {unissued_user_token(u)}",
    "a CSRF token": lambda u: f"Bearer {generate_csrf()}",
    "the login key": lambda u: f"Bearer {u.login_key}",
}


@pytest.mark.parametrize("make_header", BAD_AUTHORIZATION.values(), ids=BAD_AUTHORIZATION.keys())
async def test_bad_authorization_is_refused(api, user, make_header):
    response = await api.get("/user/rooms/joined", headers={"Authorization": make_header(user)})
    assert_problem(response, 401)


async def test_non_ascii_authorization_is_refused(api, user):
    response = await api.get("/user/rooms/joined", headers={"Authorization": "Bearer ключ".encode()})
    assert_problem(response, 401)


async def test_resigned_token_with_old_timestamp_is_refused(api, user):
    assert_problem(await api.get("/user/rooms/joined", headers=bearer(old_signature_user_token(user))), 401)


async def test_expired_bearer_is_refused(api, seed):
    user = await seed.user(token_expiration=timedelta(seconds=-1))
    assert_problem(await api.get("/user/rooms/joined", headers=bearer(user)), 401)


async def test_revoked_bearer_is_refused(api, user):
    assert (await api.get("/user/rooms/joined", headers=bearer(user))).status_code == 200
    await revoke(user)
    assert_problem(await api.get("/user/rooms/joined", headers=bearer(user)), 401)


@pytest.mark.parametrize("route", AUTH_ROUTES, ids=route_id)
async def test_revoked_bearer_is_refused_on_every_auth_route(api, seed, route):
    url, caller, body = await valid_request(seed, *route)
    await revoke(caller)
    assert_problem(await send(api, route[0], url, bearer(caller), body), 401)


@pytest.mark.parametrize("route", AUTH_ROUTES, ids=route_id)
async def test_forged_bearer_is_refused_on_every_auth_route(api, seed, route):
    url, _, body = await valid_request(seed, *route)
    victim = await seed.user()
    assert_problem(await send(api, route[0], url, bearer(forged_user_token(victim)), body), 401)


async def test_forged_bearer_cannot_join_as_its_victim(api, seed):
    victim = await seed.user()
    room_hash = await seed.room(await seed.user())
    await api.put(f"/room/{room_hash}/join", headers=bearer(forged_user_token(victim)))
    async with db.get_session() as session:
        assert not await db.is_member(session, user_id=victim.id, room_id=room_hash)


async def test_forged_bearer_cannot_create_rooms_for_its_victim(api, seed):
    victim = await seed.user()
    await api.post(
        "/room/create", json={"room_name": unique_name("room")}, headers=bearer(unissued_user_token(victim))
    )
    assert (await api.get("/user/rooms/owned", headers=bearer(victim))).json() == []


async def test_bearer_is_checked_before_the_body(api):
    """Without a valid bearer the server says 401, not 400, whatever the body."""
    assert_problem(await api.post("/room/create", content=b"not json"), 401)


async def test_bearer_is_checked_before_the_room_exists(api):
    assert_problem(await api.get("/room/no-such-room", headers=bearer("garbage")), 401)
