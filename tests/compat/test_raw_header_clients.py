"""Clients of the original workshop protocol: credentials in a raw ``Sec-WebSocket-Protocol``.

Such clients (the original workshop's test suite among them) write the header themselves and
declare no subprotocols of their own, so their websocket library aborts the handshake if the
server selects one. Browsers are the opposite: they drop a connection on which the server
selected none of the subprotocols they offered. The server tells them apart by ``chat.v1``
and by the ``Origin`` header that browsers always send.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from typing import Any

import pytest
from websockets.asyncio.client import connect

from pykcworkshop.chat.tokens import generate_csrf
from tests.support import API
from tests.support.seeding import Room
from tests.support.websockets import GOOD_FRAMES, SOCKETS, socket_path

with warnings.catch_warnings():
    # The legacy client is deprecated, but suites written for it are still in use.
    warnings.simplefilter("ignore", DeprecationWarning)
    from websockets.legacy.client import connect as legacy_connect


def raw_header(room: Room) -> dict[str, str]:
    """The handshake header such a client writes: a foreign entry, then the credentials."""
    return {"Sec-WebSocket-Protocol": f"wamp, Bearer{room.owner.token}, csrf{generate_csrf()}"}


def answers(socket: str, reply: Any) -> bool:
    """Return whether ``reply`` is the server's normal answer to ``GOOD_FRAMES[socket]``."""
    if socket == "client-sync":
        return bool(reply == GOOD_FRAMES[socket])
    body = json.loads(reply)
    if socket == "chat-history":
        return isinstance(body, list)
    if socket == "form-validation":
        return body.get("validation_failed") is False
    if socket == "member-status":
        return body.get("user_status") == "Online"
    return bool(body.get("content") == "still here")


@pytest.mark.parametrize("socket", SOCKETS)
async def test_new_api_client_with_raw_header_connects_and_works(
    ws_url: str, room: Room, socket: str
) -> None:
    url = f"{ws_url}{API}{socket_path(room, socket)}"
    async with connect(url, additional_headers=raw_header(room), open_timeout=10) as ws:
        assert ws.subprotocol is None
        await ws.send(GOOD_FRAMES[socket])
        assert answers(socket, await asyncio.wait_for(ws.recv(), 5))


@pytest.mark.parametrize("socket", SOCKETS)
async def test_legacy_client_with_raw_header_connects_and_works(ws_url: str, room: Room, socket: str) -> None:
    url = f"{ws_url}{API}{socket_path(room, socket)}"
    async with legacy_connect(url, extra_headers=raw_header(room), open_timeout=10) as ws:
        assert ws.subprotocol is None
        await ws.send(GOOD_FRAMES[socket])
        assert answers(socket, await asyncio.wait_for(ws.recv(), 5))


@pytest.mark.parametrize("socket", SOCKETS)
async def test_a_request_with_origin_gets_an_offered_subprotocol(
    ws_url: str, room: Room, socket: str
) -> None:
    # A browser that does not offer chat.v1 (e.g. another frontend): something it offered
    # must be selected, or it drops the connection.
    offered = ["wamp", f"csrf{generate_csrf()}", f"Bearer{room.owner.token}"]
    origin = ws_url.replace("ws://", "http://")
    url = f"{ws_url}{API}{socket_path(room, socket)}"
    async with connect(url, subprotocols=offered, origin=origin, open_timeout=10) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == "wamp"
        await ws.send(GOOD_FRAMES[socket])
        assert answers(socket, await asyncio.wait_for(ws.recv(), 5))


@pytest.mark.parametrize("socket", SOCKETS)
async def test_chat_v1_is_selected_whenever_offered(ws_url: str, room: Room, socket: str) -> None:
    offered = ["wamp", "chat.v1", f"csrf{generate_csrf()}", f"Bearer{room.owner.token}"]
    async with connect(
        f"{ws_url}{API}{socket_path(room, socket)}", subprotocols=offered, open_timeout=10
    ) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == "chat.v1"


async def test_origin_with_only_credentials_offered_still_gets_one_selected(ws_url: str, room: Room) -> None:
    offered = [f"csrf{generate_csrf()}", f"Bearer{room.owner.token}"]
    origin = ws_url.replace("ws://", "http://")
    url = f"{ws_url}{API}{room.path('chat-message')}"
    async with connect(url, subprotocols=offered, origin=origin, open_timeout=10) as ws:  # type: ignore[arg-type]
        # The CSRF entry, the least secret of the two.
        assert ws.subprotocol is not None and ws.subprotocol.startswith("csrf")


async def test_refusals_still_happen_for_raw_header_clients(ws_url: str, room: Room) -> None:
    from websockets.exceptions import InvalidStatus

    url = f"{ws_url}{API}{room.path('chat-message')}"
    headers = {"Sec-WebSocket-Protocol": f"wamp, Bearer{room.outsider.token}, csrf{generate_csrf()}"}
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers=headers, open_timeout=10):
            pass
    assert refused.value.response.status_code == 403
