"""A first end-to-end check that the live server answers HTTP and websockets."""

import httpx

from tests.support.websockets import recv_json, ws_connect


async def test_page_and_chat_roundtrip(http_url, ws_url, seed):
    page = httpx.get(f"{http_url}/chat/")
    assert page.status_code == 200 and 'name="csrf-token"' in page.text
    owner = await seed.user()
    room = await seed.room(owner)
    async with ws_connect(ws_url, f"/room/{room}/chat-message", owner) as ws:
        assert ws.subprotocol == "chat.v1"
        await ws.send('{"content": "hello"}')
        message = await recv_json(ws)
    assert message["content"] == "hello" and message["user_id"] == owner.id
