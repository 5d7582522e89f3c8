"""Accounts across two server processes sharing PostgreSQL and Redis.

Logging out on one process closes the sockets opened with the old token on the other
(4001, within a second); a token revoked with no event at all closes its sockets on both
processes at their next session re-check (SESSION_RECHECK_SECONDS=1 on test servers);
the account limits are shared by both processes through Redis.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from pykcworkshop.chat import db
from pykcworkshop.chat.api.websockets.closing import CloseCode
from tests.support import API, databases, unique_name
from tests.support.cluster import (
    Node,
    connect,
    room_with,
    send_and_see_echo,
    sign_up,
    two_processes,
)
from tests.support.websockets import close_code, recv_json


@pytest.fixture(scope="module")
def accounts_cluster(
    pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Node, Node]]:
    """Two processes on one fresh database and Redis."""
    settings = {
        "ACCOUNT_RATE_LIMITS": "on",
        "SIGNUP_RATE_LIMIT": "4/minute",
        "ROOM_CREATE_RATE_LIMIT": "4/minute",
        "TRUSTED_PROXIES": "127.0.0.1",
    }
    with two_processes(
        pg_admin_url, redis_url, tmp_path_factory.mktemp("accounts-cluster"), **settings
    ) as nodes:
        yield nodes


async def test_logout_on_one_process_closes_the_sockets_on_the_other(
    accounts_cluster: tuple[Node, Node],
) -> None:
    a, b = accounts_cluster
    alice, bob = await sign_up(a, "alice"), await sign_up(a, "bob")
    room = await room_with(a, alice, (a, bob))
    async with (
        connect(b, f"/room/{room}/chat-message", alice) as alice_on_b,
        connect(b, f"/room/{room}/chat-message", bob) as bob_on_b,
    ):
        await send_and_see_echo(alice_on_b, {"content": "ready"})
        await send_and_see_echo(bob_on_b, {"content": "ready too"})
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=f"{a.server.http_url}{API}", timeout=10) as client:
            response = await client.post(
                "/user/logout", headers={"X-CSRF-TOKEN": a.csrf, "Authorization": f"Bearer {alice.token}"}
            )
        assert response.status_code == 204, response.text
        assert await close_code(alice_on_b, timeout=3) == CloseCode.SESSION_ENDED
        assert time.monotonic() - started < 1.5
        # Bob's session is untouched.
        await bob_on_b.send(json.dumps({"content": "still here"}))
        async with asyncio.timeout(5):
            while (await recv_json(bob_on_b))["content"] != "still here":
                pass


async def test_a_revoked_token_closes_its_sockets_on_both_processes(
    accounts_cluster: tuple[Node, Node],
) -> None:
    a, b = accounts_cluster
    carol = await sign_up(a, "carol")
    room = await room_with(a, carol)
    async with (
        connect(a, f"/room/{room}/chat-message", carol) as on_a,
        connect(b, f"/room/{room}/member-status", carol) as on_b,
    ):
        await send_and_see_echo(on_a, {"content": "ready"})
        await send_and_see_echo(on_b, {"user_status": "Online"})
        async with databases.data_layer_on(a.server.env["DB_URI"]), db.get_session() as session:
            user = await db.get_user_by_id(session, carol.id)
            user.token.revoked = True
            await session.commit()
        codes = await asyncio.gather(close_code(on_a, timeout=4), close_code(on_b, timeout=4))
        assert codes == [CloseCode.SESSION_ENDED, CloseCode.SESSION_ENDED]


async def test_account_limits_are_shared_by_the_processes(accounts_cluster: tuple[Node, Node]) -> None:
    a, b = accounts_cluster
    client = {"X-Forwarded-For": f"198.51.100.{secrets.randbelow(200) + 1}"}
    answers = []
    for node in (a, b, a, b, a, b):
        response = await node.request("POST", "/user/create", {"user_name": unique_name()}, **client)
        answers.append(response.status_code)
    assert answers == [201, 201, 201, 201, 429, 429]

    dave = await sign_up(b, "dave")
    statuses = []
    for n, node in enumerate((a, b, a, b, a)):
        other = {"X-Forwarded-For": f"198.51.100.{n + 210}"}  # the user's bucket counts
        response = await node.request("POST", "/room/create", {"room_name": f"r{n}"}, dave.token, **other)
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 201, 429]
    assert int(response.headers["Retry-After"]) >= 1
