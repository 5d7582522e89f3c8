"""Rules of the realtime form validation: the same checks the HTTP API applies on submit."""

from __future__ import annotations

from pykcworkshop.chat import db
from pykcworkshop.chat.validation import content_problem, name_problem

FORM_TYPES = ("create-user", "create-room", "chat-message")


async def form_problem(form_type: object, form_data: object, bearer_user_id: int | None) -> str:
    """Return the first rule ``form_data`` breaks for a ``form_type`` form, or ``""``.

    Cheap checks come first; the database is asked only when everything else passed.
    For create-room, the owner is the bearer's user when a valid bearer was offered,
    otherwise ``form_data["user_id"]``.
    """
    if form_type not in FORM_TYPES:
        return f"unknown form type; expected one of {', '.join(FORM_TYPES)}"
    if not isinstance(form_data, dict):
        return "form_data must be a JSON object"
    if form_type == "chat-message":
        return content_problem(form_data.get("content", ""))
    field, what = ("user_name", "user name") if form_type == "create-user" else ("room_name", "room name")
    value = form_data.get(field)
    if value is None:
        return f"{what} is required"
    if reason := name_problem(value, what):
        return reason
    async with db.get_session() as session:
        if form_type == "create-user":
            return "this user name is taken" if await db.user_name_taken(session, value) else ""
        owner = bearer_user_id if bearer_user_id is not None else form_data.get("user_id")
        if not isinstance(owner, int) or isinstance(owner, bool):
            return "user_id must be the id of the room's future owner"
        owned = await db.room_name_owned(session, owner_id=owner, room_name=value)
        return "you already own a room with this name" if owned else ""
