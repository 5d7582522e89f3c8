"""Frames a client sends right before it disconnects are still handled."""

import asyncio
import json

from sqlalchemy import func, select

from pykcworkshop.chat import db
from pykcworkshop.chat.db.models import ChatMessage
from tests.support.websockets import ws_connect


async def test_messages_sent_just_before_closing_are_stored(ws_url, seed):
    user = await seed.user()
    room = await seed.room(user)
    async with ws_connect(ws_url, f"/room/{room}/chat-message", user) as ws:
        for n in range(10):
            await ws.send(json.dumps({"content": f"last words {n}"}))
    # The client has closed without waiting for any echo; every message must be stored.
    query = select(func.count()).where(ChatMessage.room_id == room, ChatMessage.content.like("last words %"))
    for _ in range(100):  # the server finishes its queue after the close; poll, bounded
        async with db.get_session() as session:
            stored = await session.scalar(query)
        if stored == 10:
            break
        await asyncio.sleep(0.05)
    assert stored == 10
