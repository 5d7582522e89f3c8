"""A live server of its own with the account limits on, and tiny rates to reach them fast."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support import API
from tests.support.live_server import LiveServer, server_env

#: The rates of the limited server: a burst of 3 (one more token a minute).
LIMITED = {
    "ACCOUNT_RATE_LIMITS": "on",
    "SIGNUP_RATE_LIMIT": "3/minute",
    "LOGIN_RATE_LIMIT": "10/minute",
    "ROOM_CREATE_RATE_LIMIT": "3/minute",
    "TRUSTED_PROXIES": "127.0.0.1",
}


@contextmanager
def started(workdir: Path, **settings: str) -> Iterator[LiveServer]:
    server = LiveServer(workdir, server_env(workdir, **settings)).start()
    try:
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def api_of(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An API client of ``server``, with a CSRF token read from its page."""
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as client:
        page = await client.get("/chat/")
        csrf = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        client.base_url = httpx.URL(f"{server.http_url}{API}")
        client.headers["X-CSRF-TOKEN"] = csrf
        yield client


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with the account limits on (the suite's shared server has them off)."""
    with started(tmp_path_factory.mktemp("limited"), **LIMITED) as server:
        yield server


@pytest.fixture(scope="module")
def untrusting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Limits on, and no trusted proxy: the peer address counts, whatever headers say."""
    with started(tmp_path_factory.mktemp("untrusting"), **{**LIMITED, "TRUSTED_PROXIES": ""}) as server:
        yield server


@pytest.fixture
async def limited_api(limited_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An API client of the limited server (which trusts 127.0.0.1 as a proxy)."""
    async with api_of(limited_server) as client:
        yield client


@pytest.fixture
async def untrusting_api(untrusting_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An API client of the server that trusts no proxy."""
    async with api_of(untrusting_server) as client:
        yield client
