"""Rules of the realtime form validation: the same checks the HTTP API applies on submit."""

from __future__ import annotations

from pykcworkshop.chat import db
from pykcworkshop.chat.constants import MAX_DB_ID
from pykcworkshop.chat.messages import message_content_problem
from pykcworkshop.chat.validation import name_problem

FORM_TYPES = ("create-user", "create-room", "chat-message")


async def form_problem(form_type: object, form_data: object, bearer_user_id: int | None) -> str:
    """Return the first rule ``form_data`` breaks for a ``form_type`` form, or ``""``.

    Cheap checks come first; the database is asked only when everything else passed.
    For create-room, the owner is the bearer's user when a valid bearer was offered,
    otherwise ``form_data["user_id"]``.

    >>> import asyncio
    >>> asyncio.run(form_problem("chat-message", {"content": "x" * 513}, None))
    'message must be at most 512 characters'
    >>> asyncio.run(form_problem("login", {}, None))
    'unknown form type; expected one of create-user, create-room, chat-message'
    """
    if form_type not in FORM_TYPES:
        return f"unknown form type; expected one of {', '.join(FORM_TYPES)}"
    if not isinstance(form_data, dict):
        return "form_data must be a JSON object"
    if form_type == "chat-message":
        if "content" not in form_data:
            return "content is required"
        return message_content_problem(form_data["content"])
    field, what = ("user_name", "user name") if form_type == "create-user" else ("room_name", "room name")
    value = form_data.get(field)
    if value is None:
        return f"{what} is required"
    if reason := name_problem(value, what):
        return reason
    if form_type == "create-user":
        async with db.get_session() as session:
            taken = await db.user_name_taken(session, value)
        return "this user name is taken" if taken else ""
    owner = bearer_user_id if bearer_user_id is not None else form_data.get("user_id")
    if not isinstance(owner, int) or isinstance(owner, bool) or not 0 < owner <= MAX_DB_ID:
        return "user_id must be the id of the room's future owner"
    async with db.get_session() as session:
        owned = await db.room_name_owned(session, owner_id=owner, room_name=value)
    return "you already own a room with this name" if owned else ""
