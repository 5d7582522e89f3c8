"""Several server processes on one database and broker, and a browser-like view of each.

The multi-process tests (tests/scale/) start a cluster with :func:`start_cluster` and talk
to each process like a browser does: CSRF tokens read from the page, users created through
the HTTP API.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection

from tests.support import API, databases
from tests.support.live_server import LiveServer, server_env
from tests.support.websockets import recv_json, ws_connect

_CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


@dataclass
class Node:
    """One server process and a browser-like view of it."""

    server: LiveServer
    csrf: str = ""

    @property
    def ws_url(self) -> str:
        return self.server.ws_url

    def fetch_csrf(self) -> None:
        page = httpx.get(f"{self.server.http_url}/chat/", timeout=10)
        page.raise_for_status()
        match = _CSRF_META.search(page.text)
        assert match, "the page carries no csrf-token meta tag"
        self.csrf = match.group(1)

    async def request(
        self, method: str, path: str, body: Any = None, token: str | None = None, **headers: str
    ) -> httpx.Response:
        """Send an API request with this node's CSRF token (and ``token`` as bearer)."""
        headers = {"X-CSRF-TOKEN": self.csrf, **headers}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with httpx.AsyncClient(base_url=f"{self.server.http_url}{API}", timeout=10) as client:
            return await client.request(method, path, json=body, headers=headers)

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """Send an API request that must succeed; return its JSON body."""
        response = await self.request(method, path, body, token)
        assert response.is_success, (method, path, response.status_code, response.text)
        return response.json()


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    token: str


def start_cluster(workdir: Path, env: dict[str, str], count: int) -> list[Node]:
    """Start ``count`` servers at once (like `hypercorn --workers N` on a fresh database)."""
    servers = [LiveServer(workdir / f"node{n}", dict(env)) for n in range(count)]
    errors: list[BaseException] = []

    def start(server: LiveServer) -> None:
        server.workdir.mkdir()
        try:
            server.start()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start, args=(server,)) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        for server in servers:
            server.stop()
        raise errors[0]
    nodes = [Node(server) for server in servers]
    for node in nodes:
        node.fetch_csrf()
    return nodes


async def sign_up(node: Node, prefix: str = "user") -> Member:
    name = f"{prefix}-{secrets.token_hex(4)}"
    created = await node.call("POST", "/user/create", {"user_name": name})
    login = await node.call("POST", "/user/login", {"user_hash": created["user_hash"]})
    return Member(login["user_id"], login["user_name"], login["user_token"])


async def room_with(owner_node: Node, owner: Member, *others: tuple[Node, Member]) -> str:
    """Create a room on one process and have the others join it through theirs."""
    room = await owner_node.call("POST", "/room/create", {"room_name": "Scale"}, owner.token)
    for node, member in others:
        await node.call("PUT", f"/room/{room['room_hash']}/join", token=member.token)
    room_hash: str = room["room_hash"]
    return room_hash


def connect(node: Node, path: str, member: Member) -> Any:
    offered = ["chat.v1", f"csrf{node.csrf}", f"Bearer{member.token}"]
    return ws_connect(node.ws_url, path, subprotocols=offered)


async def send_and_see_echo(ws: ClientConnection, frame: Any) -> Any:
    """Send ``frame``; return the echo (proving this process's subscription is live)."""
    text = frame if isinstance(frame, str) else json.dumps(frame)
    await ws.send(text)
    return await recv_json(ws, timeout=10)


@contextmanager
def two_processes(
    pg_admin_url: str, redis_url: str, workdir: Path, **settings: str
) -> Iterator[tuple[Node, Node]]:
    """Two server processes on a fresh PostgreSQL database and Redis, with extra ``settings``."""
    with databases.fresh_database(pg_admin_url) as db_url:
        env = server_env(workdir, DB_URI=db_url, BROKER_URL=redis_url, **settings)
        a, b = start_cluster(workdir, env, 2)
        try:
            yield a, b
        finally:
            a.server.stop()
            b.server.stop()
