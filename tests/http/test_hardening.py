"""Small hardening: security headers on every response, ASCII-only ids, strict Origins."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tests.support import API, unique_name
from tests.support.live_server import LiveServer, server_env
from tests.support.seeding import seed_room
from tests.support.websockets import handshake_status, offer, ws_connect

pytestmark = pytest.mark.usefixtures("database")

#: Arabic-Indic and fullwidth digits: int() reads both as ASCII ones.
NON_ASCII_DIGITS = {"arabic-indic": "٠١٢٣٤٥٦٧٨٩", "fullwidth": "".join(chr(0xFF10 + n) for n in range(10))}


def spelled(number: int, digits: str) -> str:
    return "".join(digits[int(d)] for d in str(number))


async def test_every_response_says_nosniff(http_url, api, user):
    async with httpx.AsyncClient(base_url=http_url, timeout=10) as plain:
        responses = [
            await plain.get("/chat/"),
            await plain.get("/chat/static/app.mjs"),
            await plain.get("/robots.txt"),
            await plain.get("/coffee"),
            await plain.get("/no/such/page"),
            await api.get("/user/rooms/joined", headers={"Authorization": f"Bearer {user.token}"}),
            await api.post("/user/login", json={"user_hash": "wrong.1"}),
        ]
    for response in responses:
        assert response.headers.get("X-Content-Type-Options") == "nosniff", response.url


async def test_responses_carrying_a_key_or_token_are_not_stored(api, user):
    created = await api.post("/user/create", json={"user_name": unique_name()})
    login = await api.post("/user/login", json={"user_hash": user.login_key})
    assert created.status_code == 201 and login.status_code == 200
    for response in (created, login):
        assert response.headers.get("Cache-Control") == "no-store"
    assert "Strict-Transport-Security" not in login.headers  # plain http, http SITE_ROOT


@pytest.fixture(scope="module")
def https_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server behind a TLS-terminating proxy: plain HTTP inside, SITE_ROOT https outside."""
    workdir = tmp_path_factory.mktemp("https-site")
    server = LiveServer(workdir, server_env(workdir, SITE_ROOT="https://chat.example")).start()
    try:
        yield server
    finally:
        server.stop()


async def test_hsts_when_served_over_https(https_site: LiveServer):
    async with httpx.AsyncClient(base_url=https_site.http_url, timeout=10) as client:
        for path in ("/chat/", "/robots.txt", f"{API}/user/login"):
            response = await client.get(path)
            assert response.headers.get("Strict-Transport-Security") == "max-age=31536000", path


@pytest.mark.parametrize("digits", NON_ASCII_DIGITS.values(), ids=NON_ASCII_DIGITS.keys())
async def test_direct_message_ids_are_ascii_digits_only(ws_url, digits):
    room = await seed_room()
    offered = offer(bearer=room.owner.token)
    path = f"/{quote(spelled(room.member.id, digits))}/direct-message"
    assert await handshake_status(ws_url, path, offered) == 404
    async with ws_connect(ws_url, f"/{room.member.id}/direct-message", room.owner):
        pass


async def test_an_https_page_may_not_open_sockets_on_the_http_site(ws_url, http_url):
    room = await seed_room()
    path = room.path("chat-message")
    https_page = http_url.replace("http://", "https://")
    status = await handshake_status(
        ws_url, path, offer(bearer=room.owner.token), additional_headers={"Origin": https_page}
    )
    assert status == 403
    async with ws_connect(ws_url, path, room.owner, additional_headers={"Origin": http_url}):
        pass
