"""Editing a message, end to end: check the rules, store the new text, then tell everyone.

Only the author edits their message (a moderator or the owner may delete someone else's,
never put words in their mouth); a muted author may not edit either, since an edit posts
new text. The edit commits first, then the room event ``message-edited`` goes to the
room's open views (:mod:`pykcworkshop.chat.room_events`), and, when the edit changed whom
the message mentions, a ``mentions-changed`` activity event tells the members' events
sockets to fetch their counts again. The chat-message socket sends nothing: the six
workshop sockets' frames stay as they are.
"""

from __future__ import annotations

from typing import Any

from pykcworkshop.chat import db, room_events
from pykcworkshop.chat.api.moderation import acting, forbidden, not_found
from pykcworkshop.chat.backplane import broker
from pykcworkshop.chat.channels import ROOM_ACTIVITY, room_channel
from pykcworkshop.chat.groupcommit import Muted
from pykcworkshop.chat.mentions import mentioned_ids
from pykcworkshop.chat.messages import stored_message_json
from pykcworkshop.chat.tokens import UserTokenClaims
from pykcworkshop.utils import now


def mentions_changed_event(room_hash: str, message_id: int) -> dict[str, Any]:
    """Return the room-activity event of an edit that changed whom a message mentions.

    >>> mentions_changed_event("abc", 9)
    {'type': 'mentions-changed', 'room_hash': 'abc', 'id': 9}
    """
    return {"type": "mentions-changed", "room_hash": room_hash, "id": message_id}


async def edit_message(
    user: UserTokenClaims, room_hash: str, message_id: int, content: str
) -> dict[str, Any]:
    """Replace the text of ``user``'s message ``message_id``; return its message object.

    403 for a non-member, someone else's message (whatever the caller's role) or a muted
    author; 404 for an unknown or deleted message, or one of another room. The caller has
    checked ``content`` (a non-blank string of at most 512 characters). Sending the same
    text again changes nothing and announces nothing.
    """
    async with acting(user, room_hash, "edit-own-message") as act:
        message = await db.moderation.room_message(act.session, room_id=act.room.id, message_id=message_id)
        if message is None:
            raise not_found("no message of this room has this id")
        if message.author_id != act.actor.user_id:
            raise forbidden("you may edit only your own messages")
        until = act.actor.muted_until
        if until is not None and until > now():
            raise forbidden(str(Muted(until)))  # worded as for chat-message frames
        if message.content == content:
            return stored_message_json(message)
        before = await db.mentioned_users(act.session, message_id)
        after: set[int] = set()
        if "@" in content:  # as for a new message: the author never mentions themself
            after = mentioned_ids(content, await db.member_names(act.session, act.room.id)) - {user.user_id}
        if after != before:
            await db.replace_mentions(act.session, message_id=message_id, room_id=act.room.id, user_ids=after)
        await db.moderation.edit_message(act.session, message, content)
        body = stored_message_json(message)
    await room_events.publish(
        act.room.id,
        "message-edited",
        message_id=message_id,
        content=content,
        edited_at=body["edited_at"],
        **act.by,
    )
    if after != before:
        await broker().publish(
            room_channel(act.room.id, ROOM_ACTIVITY), mentions_changed_event(act.room.id, message_id)
        )
    return body
