"""Shared fixtures: one live hypercorn server per test session, and data seeding.

The server runs in a temporary directory with its own SECRET_KEY and database (SQLite by
default; ``PYKC_TEST_DB_URI`` / ``PYKC_TEST_BROKER_URL`` point it elsewhere), so the suite
never touches a developer's ``.env`` or database. Tests seed data through the data-layer
API on the same database, and sign CSRF tokens with the server's secret.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from pykcworkshop.chat import db
from pykcworkshop.chat.tokens import generate_csrf
from tests.support.live_server import LiveServer, live_backends, server_env
from tests.support.seeding import Room, Seeder, seed_room


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--pg`` and ``--redis``: run the live server on PostgreSQL and/or the Redis broker."""
    group = parser.getgroup("pykcworkshop backends")
    group.addoption(
        "--pg",
        action="store_true",
        help="serve from a fresh PostgreSQL database (server: PYKC_TEST_PG_URL), dropped after the run",
    )
    group.addoption(
        "--redis", action="store_true", help="use the Redis broker (PYKC_TEST_REDIS_URL, default local)"
    )


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[LiveServer]:
    """Start the app in hypercorn for the whole session; stop it by its pid at the end."""
    workdir = tmp_path_factory.mktemp("server")
    with live_backends(
        pg=pytestconfig.getoption("--pg"), redis=pytestconfig.getoption("--redis")
    ) as overrides:
        env = server_env(workdir, **overrides)
        server = LiveServer(workdir, env).start()
        # Sign tokens in this process exactly as the server does.
        previous = os.environ.get("SECRET_KEY")
        os.environ["SECRET_KEY"] = env["SECRET_KEY"]
        try:
            yield server
        finally:
            server.stop()
            if previous is None:
                os.environ.pop("SECRET_KEY", None)
            else:
                os.environ["SECRET_KEY"] = previous


@pytest.fixture(scope="session")
def http_url(live_server: LiveServer) -> str:
    """Base HTTP URL of the live server, e.g. ``http://127.0.0.1:43121``."""
    return live_server.http_url


@pytest.fixture(scope="session")
def ws_url(live_server: LiveServer) -> str:
    """Base websocket URL of the live server, e.g. ``ws://127.0.0.1:43121``."""
    return live_server.ws_url


@pytest.fixture(scope="session")
async def database(live_server: LiveServer) -> AsyncIterator[None]:
    """Connect this process's data layer to the live server's database."""
    db.connect(live_server.env["DB_URI"])
    yield
    await db.dispose()


@pytest.fixture
def csrf(live_server: LiveServer) -> str:
    """A fresh CSRF token the live server accepts."""
    return generate_csrf()


@pytest.fixture
async def api(http_url: str, csrf: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for ``/chat/api/v1`` that sends a valid X-CSRF-TOKEN."""
    # A fresh connection per request: a server may close a keep-alive connection after
    # refusing a request before reading its body (an early 401), and a client reusing it at
    # that moment would see "Server disconnected" instead of the next answer.
    async with httpx.AsyncClient(
        base_url=f"{http_url}/chat/api/v1",
        headers={"X-CSRF-TOKEN": csrf},
        timeout=10,
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as client:
        yield client


@pytest.fixture
def seed(database: None) -> Seeder:
    """Create users and rooms through the data-layer API."""
    return Seeder()


@pytest.fixture
async def room(database: None) -> Room:
    """A fresh room with an owner, a second member, and a user who is not a member.

    (The HTTP tests override it with a plain room hash; see ``tests/http/conftest.py``.)
    """
    return await seed_room()
