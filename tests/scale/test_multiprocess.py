"""Two server processes sharing PostgreSQL and Redis behave like one server.

Clients connect to different processes (each a real hypercorn, ``tests.support.live_server``);
chat messages, member status (with Offline exactly once), client-sync frames and direct
messages must cross between them. Users are created through the HTTP API and CSRF tokens
are read from the page, as a browser does.

A client's own broadcast coming back to it proves its process has subscribed the room in
Redis (the echo travels through Redis), so the tests wait for echoes, never for time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosedError

from tests.support import API, databases
from tests.support.cluster import (
    Member,
    Node,
    connect,
    room_with,
    send_and_see_echo,
    sign_up,
    start_cluster,
    two_processes,
)
from tests.support.live_server import server_env
from tests.support.services import PrivateRedis
from tests.support.websockets import assert_silent, drain_errors, recv_json


@pytest.fixture(scope="module")
def cluster(
    pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Node, Node]]:
    """Two server processes on different ports sharing a fresh database and Redis."""
    with two_processes(pg_admin_url, redis_url, tmp_path_factory.mktemp("cluster")) as (a, b):
        assert a.server.port != b.server.port
        yield a, b


async def test_processes_really_are_two(cluster: tuple[Node, Node]) -> None:
    a, b = cluster
    assert a.server.process is not None and b.server.process is not None
    assert a.server.process.pid != b.server.process.pid
    assert a.server.port != b.server.port


async def test_chat_messages_cross_processes(cluster: tuple[Node, Node]) -> None:
    a, b = cluster
    alice, bob = await sign_up(a, "alice"), await sign_up(b, "bob")
    room = await room_with(a, alice, (b, bob))
    path = f"/room/{room}/chat-message"
    async with connect(a, path, alice) as on_a:
        assert (await send_and_see_echo(on_a, {"content": "ready A"}))["content"] == "ready A"
        on_b = await connect(b, path, bob)
        echo = await send_and_see_echo(on_b, {"content": "from B"})
        assert echo["content"] == "from B" and echo["user_id"] == bob.id
        # B -> A
        seen_on_a = await recv_json(on_a)
        assert seen_on_a == echo
        # A -> B
        await on_a.send(json.dumps({"content": "from A", "user_name": "forged"}))
        for ws in (on_a, on_b):
            message = await recv_json(ws)
            assert (message["content"], message["user_id"], message["user_name"]) == (
                "from A",
                alice.id,
                alice.name,
            )
        await assert_silent(on_b)
        await on_b.close()
    # Both processes store into, and read history from, the same database.
    async with connect(b, f"/room/{room}/chat-history", bob) as history:
        await history.send(json.dumps({"timestamp": 32503680000000, "chunk_size": 10}))
        contents = [m["content"] for m in await recv_json(history)]
    assert contents[:3] == ["from A", "from B", "ready A"]
    assert f"{bob.name} has joined the chat." in contents


async def expect_statuses(ws: ClientConnection, expected: list[tuple[int, str]]) -> None:
    """Receive exactly ``expected`` (user_id, status) events, in any order."""
    got = []
    for _ in expected:
        event = await recv_json(ws, timeout=10)
        got.append((event["user_id"], event["user_status"]))
    assert sorted(got) == sorted(expected)


async def test_member_status_and_offline_exactly_once_across_processes(cluster: tuple[Node, Node]) -> None:
    a, b = cluster
    alice, bob, carol = await sign_up(a, "alice"), await sign_up(b, "bob"), await sign_up(a, "carol")
    room = await room_with(a, alice, (b, bob), (a, carol))
    path = f"/room/{room}/member-status"
    async with AsyncExitStack() as stack:
        # Observers: alice on A, carol on B.
        watch_a = await stack.enter_async_context(connect(a, path, alice))
        await send_and_see_echo(watch_a, {"user_status": "Online"})
        watch_b = await stack.enter_async_context(connect(b, path, carol))
        await send_and_see_echo(watch_b, {"user_status": "Online"})
        await expect_statuses(watch_a, [(carol.id, "Online")])
        observers = (watch_a, watch_b)

        for closing in ("one after the other", "both at once"):
            # Bob has one member-status connection on each process.
            bob_a = await connect(a, path, bob)
            assert (await send_and_see_echo(bob_a, {"user_status": "Typing", "user_id": 999}))[
                "user_id"
            ] == bob.id
            bob_b = await connect(b, path, bob)
            await send_and_see_echo(bob_b, {"user_status": "Online"})
            await expect_statuses(bob_a, [(bob.id, "Online")])
            for watcher in observers:
                await expect_statuses(watcher, [(bob.id, "Typing"), (bob.id, "Online")])

            if closing == "one after the other":
                await bob_a.close()
                # Not his last connection: nobody hears anything.
                for watcher in observers:
                    await assert_silent(watcher, 0.5)
                await bob_b.close()
            else:
                await asyncio.gather(bob_a.close(), bob_b.close())
            for watcher in observers:
                offline = await recv_json(watcher, timeout=10)
                assert offline == {"user_id": bob.id, "user_name": bob.name, "user_status": "Offline"}
            for watcher in observers:
                await assert_silent(watcher, 0.5)


async def test_client_sync_relays_bytes_across_processes(cluster: tuple[Node, Node]) -> None:
    a, b = cluster
    alice, bob = await sign_up(a, "alice"), await sign_up(b, "bob")
    room = await room_with(b, bob, (a, alice))
    path = f"/room/{room}/client-sync"
    async with connect(a, path, alice) as on_a:
        await on_a.send("ready A")
        assert await asyncio.wait_for(on_a.recv(), 10) == "ready A"
        on_b = await connect(b, path, bob)
        await on_b.send("ready B")
        assert await asyncio.wait_for(on_b.recv(), 10) == "ready B"
        assert await asyncio.wait_for(on_a.recv(), 10) == "ready B"
        frame = '{ "cursor" :  [1, 2.50],\t"who": "ü 🙂" }'
        await on_a.send(frame)
        assert await asyncio.wait_for(on_b.recv(), 10) == frame
        assert await asyncio.wait_for(on_a.recv(), 10) == frame
        await on_b.close()


async def test_direct_messages_cross_processes_and_reach_only_the_pair(cluster: tuple[Node, Node]) -> None:
    a, b = cluster
    alice, bob, carol = await sign_up(a, "alice"), await sign_up(b, "bob"), await sign_up(b, "carol")
    await room_with(a, alice, (b, bob), (b, carol))
    async with AsyncExitStack() as stack:
        alice_to_bob = await stack.enter_async_context(connect(a, f"/{bob.id}/direct-message", alice))
        await send_and_see_echo(alice_to_bob, {"content": "ready A"})
        bob_to_alice = await stack.enter_async_context(connect(b, f"/{alice.id}/direct-message", bob))
        carol_to_alice = await stack.enter_async_context(connect(b, f"/{alice.id}/direct-message", carol))
        ready = await send_and_see_echo(bob_to_alice, {"content": "ready B"})
        assert await recv_json(alice_to_bob) == ready
        await send_and_see_echo(carol_to_alice, {"content": "carol here"})

        await alice_to_bob.send(json.dumps({"content": "psst"}))
        for ws in (alice_to_bob, bob_to_alice):
            message = await recv_json(ws)
            assert (message["content"], message["user_id"]) == ("psst", alice.id)
        await assert_silent(carol_to_alice)
        await assert_silent(alice_to_bob)


async def test_clients_stay_connected_through_a_redis_restart(
    pg_admin_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    with databases.fresh_database(pg_admin_url) as db_url:
        env = server_env(tmp_path, DB_URI=db_url, BROKER_URL=private_redis.url)
        a, b = start_cluster(tmp_path, env, 2)
        try:
            alice, bob = await sign_up(a, "alice"), await sign_up(b, "bob")
            room = await room_with(a, alice, (b, bob))
            path = f"/room/{room}/client-sync"
            async with connect(a, path, alice) as on_a, connect(b, path, bob) as on_b:
                await on_b.send("ready B")
                assert await asyncio.wait_for(on_b.recv(), 10) == "ready B"
                private_redis.stop()
                # Messages sent while Redis is down are lost, but nothing breaks.
                await on_a.send("into the void")
                private_redis.start()
                # Probe until the processes have reconnected and re-subscribed.
                deadline = asyncio.get_running_loop().time() + 20
                n = 0
                while True:
                    n += 1
                    await on_a.send(f"probe {n}")
                    try:
                        frame = await asyncio.wait_for(on_b.recv(), 0.3)
                    except TimeoutError:
                        assert asyncio.get_running_loop().time() < deadline, (
                            "no frame crossed after the restart"
                        )
                        continue
                    if frame.startswith("probe"):
                        break
            for node in (a, b):
                assert node.server.process is not None and node.server.process.poll() is None
            assert "Redis broker reconnected" in a.server.log + b.server.log
            assert "dropped a message" in a.server.log
        finally:
            a.server.stop()
            b.server.stop()


async def test_per_user_rate_limit_is_shared_by_processes(cluster: tuple[Node, Node]) -> None:
    """One user's frames count against one budget, whichever process they reach.

    Each connection stays within its own burst, and each process sees less than the user's
    burst, so only a limit shared through Redis refuses some frames.
    """
    from pykcworkshop.chat.constants import SYNC_RATE, USER_SYNC_RATE

    a, b = cluster
    alice = await sign_up(a, "alice")
    room = await room_with(a, alice)
    per_connection = SYNC_RATE[1]
    connections_per_process = 3
    assert connections_per_process * (per_connection - 1) < USER_SYNC_RATE[1]  # one process alone is fine
    assert 2 * connections_per_process * (per_connection - 2) > USER_SYNC_RATE[1]  # both together are not
    path = f"/room/{room}/client-sync"
    async with AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(connect(node, path, alice))
            for node in (a, b)
            for _ in range(connections_per_process)
        ]
        for ws in sockets:  # every subscription is live before the burst
            assert await send_and_see_echo(ws, {"ready": True}) == {"ready": True}
        # Two frames under each connection's burst: the "ready" frame spent one token.
        burst = per_connection - 2
        sent = len(sockets) * burst
        # The user's bucket refills while the servers work through the burst: if that took
        # so long that the refill covers the excess, nothing had to be refused (a loaded
        # machine), and the attempt proves nothing; try again after a refill.
        for _attempt in range(4):
            started = asyncio.get_running_loop().time()
            await asyncio.gather(*(ws.send(f"frame {n}") for ws in sockets for n in range(burst)))
            drained = await asyncio.gather(*map(_errors_and_last_frame, sockets))
            reasons = [reason for seen, _ in drained for reason in seen]
            took = max(last for _, last in drained) - started
            if reasons or sent > USER_SYNC_RATE[1] + USER_SYNC_RATE[0] * took:
                break
            await asyncio.sleep(USER_SYNC_RATE[1] / USER_SYNC_RATE[0])
    assert reasons, (
        f"no frame was refused although the user exceeded their burst across processes ({took:.2f} s)"
    )
    assert all("your account" in reason for reason in reasons)


async def _errors_and_last_frame(ws: ClientConnection, quiet: float = 1.0) -> tuple[list[str], float]:
    """Read until ``ws`` is quiet; return the error reasons seen and when the last frame came.

    A connection whose refusals outran its strikes is closed with 1008: what it was
    refused until then still counts (the refusals are what the caller looks for).
    """
    errors, last = [], asyncio.get_running_loop().time()
    while True:
        try:
            text = await asyncio.wait_for(ws.recv(), quiet)
        except TimeoutError:
            return errors, last
        except ConnectionClosedError as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1008, closed
            return errors, asyncio.get_running_loop().time()
        last = asyncio.get_running_loop().time()
        if isinstance(text, str) and text.startswith('{"error"'):
            errors.append(json.loads(text)["error"])


async def moderate(node: Node, method: str, path: str, owner: Member, body: Any = None) -> int:
    """Send a moderation request (many answer 204, without a body); return the status."""
    headers = {"X-CSRF-TOKEN": node.csrf, "Authorization": f"Bearer {owner.token}"}
    async with httpx.AsyncClient(base_url=f"{node.server.http_url}{API}", timeout=10) as client:
        response = await client.request(method, path, json=body, headers=headers)
    return response.status_code


async def closed_within_a_second(ws: ClientConnection) -> int | None:
    async with asyncio.timeout(1.0):
        await ws.wait_closed()
    return ws.close_code


async def test_moderation_is_enforced_in_the_other_process(cluster: tuple[Node, Node]) -> None:
    a, b = cluster
    alice, bob, carol = await sign_up(a, "alice"), await sign_up(b, "bob"), await sign_up(b, "carol")
    room = await room_with(a, alice, (b, bob), (b, carol))
    async with AsyncExitStack() as stack:
        bobs = [
            await stack.enter_async_context(connect(b, f"/room/{room}/{name}", bob))
            for name in ("chat-message", "member-status", "client-sync", "chat-history", "room-events")
        ]
        events = await stack.enter_async_context(connect(b, f"/room/{room}/room-events", carol))
        carol_chat = await stack.enter_async_context(connect(b, f"/room/{room}/chat-message", carol))
        alice_chat = await stack.enter_async_context(connect(a, f"/room/{room}/chat-message", alice))

        # Kicked on A: every socket of bob's on B closes with 4003; carol on B hears of it.
        assert await moderate(a, "POST", f"/room/{room}/members/{bob.id}/kick", alice) == 204
        for ws in bobs:
            assert await closed_within_a_second(ws) == 4003
        event = await recv_json(events, timeout=10)
        assert (event["type"], event["user_id"], event["by_id"]) == ("member-kicked", bob.id, alice.id)

        # Muted on A: carol's frames on B get an error frame.
        assert (
            await moderate(a, "POST", f"/room/{room}/members/{carol.id}/mute", alice, {"minutes": 5}) == 200
        )
        assert (await recv_json(events, timeout=10))["type"] == "member-muted"
        await carol_chat.send(json.dumps({"content": "can I?"}))
        errors = await drain_errors(carol_chat)
        assert [error.split(" until ")[0] for error in errors] == ["you are muted in this room"]

        # Deleted on B: alice's socket on A closes with 4004.
        assert await moderate(b, "DELETE", f"/room/{room}", alice) == 204
        assert await closed_within_a_second(alice_chat) == 4004
        assert await closed_within_a_second(carol_chat) == 4004
