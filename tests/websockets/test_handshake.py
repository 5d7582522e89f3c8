"""The handshake guard shared by every socket: subprotocols, credentials, Origin."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from quart.testing.connections import WebsocketResponseError
from sqlalchemy import update
from websockets.exceptions import InvalidStatus

from pykcworkshop.chat import db
from pykcworkshop.chat.db.models import UserToken
from tests.support import API
from tests.support.websockets import GOOD_FRAMES, SOCKETS, handshake_status, offer, socket_path, ws_connect

every_socket = pytest.mark.parametrize("socket", SOCKETS)
#: The sockets that need a bearer (all but form-validation).
authenticated_socket = pytest.mark.parametrize("socket", [s for s in SOCKETS if s != "form-validation"])

FOREIGN = "https://evil.example"


def bearer_for(socket: str, user) -> str | None:
    return None if socket == "form-validation" else user.token


# ---------------------------------------------------------------- subprotocol selection


@every_socket
async def test_chat_v1_is_selected_when_offered(ws_url, room, socket):
    async with ws_connect(ws_url, socket_path(room, socket), room.owner) as ws:
        assert ws.subprotocol == "chat.v1"


@every_socket
async def test_a_browser_gets_a_credential_free_subprotocol_when_chat_v1_is_not_offered(ws_url, room, socket):
    offered = offer(bearer=bearer_for(socket, room.owner), extra=("json",))
    origin = ws_url.replace("ws://", "http://")
    async with ws_connect(ws_url, socket_path(room, socket), subprotocols=offered, origin=origin) as ws:
        assert ws.subprotocol == "json"


@every_socket
async def test_a_non_browser_client_gets_no_subprotocol_when_chat_v1_is_not_offered(ws_url, room, socket):
    offered = offer(bearer=bearer_for(socket, room.owner), extra=("json",))
    async with ws_connect(ws_url, socket_path(room, socket), subprotocols=offered) as ws:
        assert ws.subprotocol is None


@every_socket
async def test_a_browser_offering_only_credentials_gets_one_other_than_the_bearer_selected(
    ws_url, room, socket
):
    offered = offer(bearer=bearer_for(socket, room.owner), extra=())
    origin = ws_url.replace("ws://", "http://")
    async with ws_connect(ws_url, socket_path(room, socket), subprotocols=offered, origin=origin) as ws:
        assert ws.subprotocol in offered
        assert not ws.subprotocol.startswith("Bearer")


@every_socket
async def test_credentials_are_found_in_any_order_among_other_entries(ws_url, room, socket):
    offered = list(
        reversed(offer(bearer=bearer_for(socket, room.owner), extra=("x-first", "chat.v1", "x-last")))
    )
    async with ws_connect(ws_url, socket_path(room, socket), subprotocols=offered) as ws:
        assert ws.subprotocol == "chat.v1"


# ---------------------------------------------------------------- credentials


@every_socket
async def test_refusal_is_a_plain_http_problem_response(ws_url, room, socket):
    with pytest.raises(InvalidStatus) as refused:
        async with ws_connect(ws_url, socket_path(room, socket), subprotocols=offer(csrf="garbage")):
            pass
    response = refused.value.response
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert json.loads(response.body)["status"] == 401


@authenticated_socket
async def test_expired_bearer_is_refused_with_401(ws_url, room, seed, socket):
    expired = await seed.user(token_expiration=timedelta(seconds=-1))
    path = socket_path(room, socket)
    assert await handshake_status(ws_url, path, offer(bearer=expired.token)) == 401


@authenticated_socket
async def test_revoked_bearer_is_refused_with_401(ws_url, seed, socket):
    owner, member = await seed.user(), await seed.user()
    room_hash = await seed.room(owner, member)
    async with db.get_session() as session:
        await session.execute(update(UserToken).where(UserToken.user_id == owner.id).values(revoked=True))
        await session.commit()
    path = f"/{member.id}/direct-message" if socket == "direct-message" else f"/room/{room_hash}/{socket}"
    assert await handshake_status(ws_url, path, offer(bearer=owner.token)) == 401


# ---------------------------------------------------------------- Origin


@every_socket
async def test_foreign_origin_is_refused_with_403(ws_url, room, socket):
    offered = offer(bearer=bearer_for(socket, room.owner))
    path = socket_path(room, socket)
    for origin in (FOREIGN, "null", "http://localhost:8001", "https://localhost:8000", "file://"):
        status = await handshake_status(ws_url, path, offered, additional_headers={"Origin": origin})
        assert status == 403, origin


@every_socket
async def test_origin_of_the_request_host_is_accepted(ws_url, http_url, room, socket):
    async with ws_connect(
        ws_url, socket_path(room, socket), room.owner, additional_headers={"Origin": http_url}
    ) as ws:
        assert ws.subprotocol == "chat.v1"


@every_socket
async def test_origin_of_site_root_is_accepted(ws_url, live_server, room, socket):
    site_root = live_server.env["SITE_ROOT"]
    assert urlsplit(site_root).netloc != urlsplit(ws_url).netloc
    async with ws_connect(
        ws_url, socket_path(room, socket), room.owner, additional_headers={"Origin": site_root}
    ) as ws:
        assert ws.subprotocol == "chat.v1"


@every_socket
async def test_allowed_origins_setting_admits_listed_origins_only(local_app_factory, room, socket):
    allowed = "https://one.example, https://two.example:8443"
    path = API + socket_path(room, socket)
    # Quart's test client drops its `subprotocols` argument; the scope carries them.
    offered = {"subprotocols": offer(bearer=bearer_for(socket, room.owner))}
    async with local_app_factory(ALLOWED_ORIGINS=allowed) as app:
        client = app.test_client()
        for origin in ("https://one.example", "https://two.example:8443", "https://chat.example"):
            async with client.websocket(path, headers={"Origin": origin}, scope_base=offered) as ws:
                await ws.send(GOOD_FRAMES[socket])
                await ws.receive()
        for origin in ("https://three.example", "http://one.example", "https://two.example"):
            async with client.websocket(path, headers={"Origin": origin}, scope_base=offered) as ws:
                with pytest.raises(WebsocketResponseError) as refused:
                    await ws.receive()
                assert refused.value.response.status_code == 403, origin
