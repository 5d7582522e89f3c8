"""Account limits: sign-ups, logins and room creations per client address and per user.

The server here trusts 127.0.0.1 as a proxy, so each test plays its own client address
through ``X-Forwarded-For`` (and one test checks that untrusted peers cannot).
"""

from __future__ import annotations

import httpx

from tests.support import unique_name
from tests.support.http import assert_problem


def assert_limited(response: httpx.Response) -> None:
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    assert "try again in" in response.json()["detail"]


def wrong_key(key: str) -> str:
    """The same account's id with a wrong secret."""
    secret, _, user_id = key.rpartition(".")
    return f"{'A' * len(secret)}.{user_id}"


async def sign_up(api: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await api.post("/user/create", json={"user_name": unique_name()}, headers=headers)


async def test_sign_ups_per_address(limited_api: httpx.AsyncClient):
    client = {"X-Forwarded-For": "192.0.2.10"}
    for _ in range(3):
        assert (await sign_up(limited_api, client)).status_code == 201
    assert_limited(await sign_up(limited_api, client))
    # Another address is not affected.
    assert (await sign_up(limited_api, {"X-Forwarded-For": "192.0.2.11"})).status_code == 201


async def test_failed_logins_run_dry_fast_and_then_even_the_right_key_waits(limited_api):
    client = {"X-Forwarded-For": "192.0.2.20"}
    created = (await sign_up(limited_api, {"X-Forwarded-For": "192.0.2.21"})).json()
    key = created["user_hash"]
    wrong = wrong_key(key)
    # 10 tokens: each failure costs 5, so the third attempt is already refused.
    assert_problem(await limited_api.post("/user/login", json={"user_hash": wrong}, headers=client), 401)
    assert_problem(await limited_api.post("/user/login", json={"user_hash": wrong}, headers=client), 401)
    assert_limited(await limited_api.post("/user/login", json={"user_hash": key}, headers=client))


async def test_logins_per_account_across_addresses(limited_api):
    created = (await sign_up(limited_api, {"X-Forwarded-For": "192.0.2.30"})).json()
    key = created["user_hash"]
    wrong = wrong_key(key)
    for n in range(2):
        response = await limited_api.post(
            "/user/login", json={"user_hash": wrong}, headers={"X-Forwarded-For": f"192.0.2.{40 + n}"}
        )
        assert_problem(response, 401)
    # A third address, but the same account: its bucket is empty.
    response = await limited_api.post(
        "/user/login", json={"user_hash": key}, headers={"X-Forwarded-For": "192.0.2.50"}
    )
    assert_limited(response)


async def test_successful_logins_are_cheap(limited_api):
    created = (await sign_up(limited_api, {"X-Forwarded-For": "192.0.2.60"})).json()
    for _ in range(10):
        response = await limited_api.post(
            "/user/login", json={"user_hash": created["user_hash"]}, headers={"X-Forwarded-For": "192.0.2.61"}
        )
        assert response.status_code == 200
    assert_limited(
        await limited_api.post(
            "/user/login", json={"user_hash": created["user_hash"]}, headers={"X-Forwarded-For": "192.0.2.62"}
        )
    )


async def test_room_creations_per_user(limited_api):
    created = (await sign_up(limited_api, {"X-Forwarded-For": "192.0.2.70"})).json()
    login = await limited_api.post("/user/login", json={"user_hash": created["user_hash"]})
    auth = {"Authorization": f"Bearer {login.json()['user_token']}"}
    for n in range(3):
        headers = {**auth, "X-Forwarded-For": f"192.0.2.{80 + n}"}
        assert (
            await limited_api.post("/room/create", json={"room_name": f"r{n}"}, headers=headers)
        ).status_code == 201
    response = await limited_api.post(
        "/room/create", json={"room_name": "one more"}, headers={**auth, "X-Forwarded-For": "192.0.2.90"}
    )
    assert_limited(response)


async def test_spoofed_entries_left_of_the_proxy_do_not_make_a_new_client(limited_api):
    """The right-most untrusted hop is the client: prepending addresses changes nothing."""
    for n in range(3):
        headers = {"X-Forwarded-For": f"203.0.113.{n}, 192.0.2.100"}
        assert (await sign_up(limited_api, headers)).status_code == 201
    assert_limited(await sign_up(limited_api, {"X-Forwarded-For": "203.0.113.9, 192.0.2.100"}))


async def test_the_forwarded_header_names_the_client_too(limited_api):
    for _ in range(3):
        assert (
            await sign_up(limited_api, {"Forwarded": 'for="[2001:db8::7]:4711";proto=https'})
        ).status_code == 201
    assert_limited(await sign_up(limited_api, {"Forwarded": "for=2001:db8::7"}))
    assert (await sign_up(limited_api, {"Forwarded": "for=2001:db8::8"})).status_code == 201


async def test_without_a_trusted_proxy_headers_do_not_name_the_client(untrusting_api):
    for n in range(3):
        assert (await sign_up(untrusting_api, {"X-Forwarded-For": f"192.0.2.{n}"})).status_code == 201
    assert_limited(await sign_up(untrusting_api, {"X-Forwarded-For": "192.0.2.200"}))
