"""The app factories (docs/protocol.md "Python data layer"): ``create_app()`` for hypercorn and
``async_create_app()`` for test clients.
"""

from __future__ import annotations

import gc
import secrets
from asyncio import selector_events
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from quart import Quart

import pykcworkshop
from pykcworkshop import gctuning, socket_reads
from pykcworkshop.chat import db
from pykcworkshop.chat.tokens import generate_csrf
from tests.support import API, unique_name
from tests.support.databases import kept_data_layer

#: Every route of docs/protocol.md "Routes", as Quart rule strings.
DOCUMENTED_ROUTES = {
    "/chat/",
    "/robots.txt",
    "/coffee",
    f"{API}/user/create",
    f"{API}/user/login",
    f"{API}/room/<room_hash>",
    f"{API}/room/create",
    f"{API}/user/rooms/joined",
    f"{API}/user/rooms/owned",
    f"{API}/room/<room_hash>/join",
    f"{API}/room/<room_hash>/members",
}


@pytest.fixture
def keep_db_engine() -> Iterator[None]:
    """Put back the data layer's engine afterwards: async_create_app() re-points the
    module-wide engine, which other tests in this process use for the live server's database."""
    with kept_data_layer():
        yield


@pytest.fixture
async def app(tmp_path, monkeypatch, keep_db_engine) -> AsyncIterator[Quart]:
    """An app built by async_create_app() on a fresh SQLite file, shut down afterwards."""
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    app = await pykcworkshop.async_create_app(
        {"DB_URI": f"sqlite+aiosqlite:///{tmp_path / 'factory.sqlite3'}", "SECRET_KEY": secrets.token_hex(32)}
    )
    try:
        yield app
    finally:
        # What serving would run at its end: close the broker and the database.
        for stop in app.after_serving_funcs:
            await app.ensure_async(stop)()


def test_create_app_is_synchronous_and_registers_every_route(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = pykcworkshop.create_app(
        {"SECRET_KEY": "s", "DB_URI": f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}"}
    )
    assert isinstance(app, Quart)
    missing = DOCUMENTED_ROUTES - {rule.rule for rule in app.url_map.iter_rules()}
    assert not missing
    assert not (tmp_path / "x.sqlite3").exists(), "create_app() must connect only when serving starts"


async def test_async_create_app_creates_the_database_and_tables(app, tmp_path):
    assert (tmp_path / "factory.sqlite3").exists()
    async with db.get_session() as session:
        assert (await db.get_user_by_name(session, "System")).name == "System"


async def test_async_create_app_test_client_serves_the_page(app):
    response = await app.test_client().get("/chat/")
    assert response.status_code == 200
    assert 'name="csrf-token"' in await response.get_data(as_text=True)


async def test_async_create_app_test_client_serves_the_api(app):
    async with app.app_context():
        csrf = {"X-CSRF-TOKEN": generate_csrf()}
    client = app.test_client()
    created = await client.post(f"{API}/user/create", json={"user_name": unique_name()}, headers=csrf)
    assert created.status_code == 201
    login = await client.post(
        f"{API}/user/login", json={"user_hash": (await created.get_json())["user_hash"]}, headers=csrf
    )
    assert login.status_code == 200
    auth = {**csrf, "Authorization": f"Bearer {(await login.get_json())['user_token']}"}
    room = await client.post(f"{API}/room/create", json={"room_name": unique_name("room")}, headers=auth)
    assert room.status_code == 201
    assert await (await client.get(f"{API}/user/rooms/owned", headers=auth)).get_json() == [
        await room.get_json()
    ]


async def test_async_create_app_uses_the_secret_it_was_given(app, monkeypatch):
    """A CSRF token signed with another secret is refused."""
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    response = await app.test_client().post(
        f"{API}/user/create", json={"user_name": unique_name()}, headers={"X-CSRF-TOKEN": generate_csrf()}
    )
    assert response.status_code == 401


async def test_hypercorn_serves_create_app(live_server, http_url, csrf):
    """The live server runs ``hypercorn 'pykcworkshop:create_app()'``: page and API answer."""
    assert "pykcworkshop:create_app()" in live_server.process.args
    async with httpx.AsyncClient(base_url=http_url, timeout=10) as client:
        assert (await client.get("/chat/")).status_code == 200
        response = await client.post(
            f"{API}/user/create", json={"user_name": unique_name()}, headers={"X-CSRF-TOKEN": csrf}
        )
        assert response.status_code == 201


async def test_serving_start_freezes_start_up_objects_raises_gc_thresholds_and_sizes_reads(app):
    """Serving's start hook moves start-up objects out of the collector's way (gctuning).

    It also makes socket reads ask for 64 KiB (socket_reads).
    """
    previous, read_size = gc.get_threshold(), selector_events._SelectorSocketTransport.max_size
    try:
        for start in app.before_serving_funcs:
            await app.ensure_async(start)()
        assert gc.get_threshold() == (
            gctuning.GEN0_THRESHOLD,
            gctuning.GEN1_THRESHOLD,
            gctuning.GEN2_THRESHOLD,
        )
        assert gc.get_freeze_count() > 0
        assert selector_events._SelectorSocketTransport.max_size == socket_reads.READ_SIZE
    finally:
        gc.unfreeze()
        gc.set_threshold(*previous)
        selector_events._SelectorSocketTransport.max_size = read_size
