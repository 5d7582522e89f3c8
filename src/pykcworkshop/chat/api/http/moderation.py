"""HTTP API v1, moderation: roles, kicks, bans, mutes, editing and deleting messages, renaming, leaving.

Same rules as :mod:`.v1` (``X-CSRF-TOKEN`` on every request, a bearer on every route here,
problem+json errors). The routes parse the request and call :mod:`pykcworkshop.chat.api.moderation`,
which checks the caller's role: 403 not allowed (non-members included), 404 unknown room,
user or message, 400 bad input. Ids in paths are ASCII digits. docs/protocol.md,
"Moderation routes", has the table.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from quart import Blueprint, Response, jsonify

from pykcworkshop.chat.api import edits, moderation
from pykcworkshop.chat.api.http.helpers import (
    bad_request,
    check_csrf,
    current_user,
    json_object,
    require_user,
)
from pykcworkshop.chat.constants import MAX_BAN_REASON_LENGTH, MAX_MUTE_MINUTES, MAX_ROW_ID
from pykcworkshop.chat.messages import message_content_problem
from pykcworkshop.chat.moderation import ASSIGNABLE_ROLES
from pykcworkshop.chat.validation import name_problem

bp = Blueprint("http_v1_moderation", __name__, url_prefix="/chat/api/v1")
bp.before_request(check_csrf)


def path_id(value: str, what: str) -> int:
    """Return the id in a path segment: ASCII digits only, else 404 (no such id can exist).

    >>> path_id("42", "user")
    42
    """
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ROW_ID:
        raise moderation.not_found(f"no {what} has this id")
    return int(value)


def _no_content() -> Response:
    return Response(status=204)


@bp.post("/room/<room_hash>/members/<user_id>/kick")
@require_user
async def kick(room_hash: str, user_id: str) -> Response:
    """Remove a member from the room (moderators, owner); they may join again."""
    await moderation.remove(current_user(), room_hash, path_id(user_id, "user"), ban_reason=None)
    return _no_content()


@bp.post("/room/<room_hash>/members/<user_id>/ban")
@require_user
async def ban(room_hash: str, user_id: str) -> Response:
    """Remove a member and refuse their joining until unbanned; body ``{"reason"?: str}``."""
    reason = (await json_object()).get("reason", "")
    if not isinstance(reason, str):
        raise bad_request("reason must be a string")
    reason = reason.strip()
    # Control characters and lone surrogates (which no database stores) are refused.
    if len(reason) > MAX_BAN_REASON_LENGTH or any(unicodedata.category(c) in ("Cc", "Cs") for c in reason):
        raise bad_request(f"reason must be at most {MAX_BAN_REASON_LENGTH} characters of plain text")
    await moderation.remove(current_user(), room_hash, path_id(user_id, "user"), ban_reason=reason)
    return _no_content()


@bp.get("/room/<room_hash>/bans")
@require_user
async def bans(room_hash: str) -> Response:
    """List the room's bans, newest first (moderators, owner)."""
    return jsonify(await moderation.bans(current_user(), room_hash))


@bp.delete("/room/<room_hash>/bans/<user_id>")
@require_user
async def unban(room_hash: str, user_id: str) -> Response:
    """Lift a ban (moderators, owner)."""
    await moderation.unban(current_user(), room_hash, path_id(user_id, "user"))
    return _no_content()


def _minutes(body: dict[str, Any]) -> int:
    minutes = body.get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_MUTE_MINUTES:
        raise bad_request(f"minutes must be an integer from 1 to {MAX_MUTE_MINUTES}")
    return minutes


@bp.post("/room/<room_hash>/members/<user_id>/mute")
@require_user
async def mute(room_hash: str, user_id: str) -> Response:
    """Keep a member from posting for ``{"minutes": 1..10080}``; answer ``{"muted_until"}``."""
    minutes = _minutes(await json_object())
    target = path_id(user_id, "user")
    until = await moderation.mute(current_user(), room_hash, target, minutes)
    assert until is not None
    return jsonify({"user_id": target, "muted_until": until.isoformat()})


@bp.delete("/room/<room_hash>/members/<user_id>/mute")
@require_user
async def unmute(room_hash: str, user_id: str) -> Response:
    """Let a muted member post again (moderators, owner)."""
    await moderation.mute(current_user(), room_hash, path_id(user_id, "user"), None)
    return _no_content()


@bp.put("/room/<room_hash>/members/<user_id>/role")
@require_user
async def set_role(room_hash: str, user_id: str) -> Response:
    """Make a member a moderator or a member again: ``{"role": "moderator" | "member"}`` (owner)."""
    role = (await json_object()).get("role")
    if role not in ASSIGNABLE_ROLES:
        raise bad_request("role must be moderator or member (use transfer to hand over ownership)")
    await moderation.set_role(current_user(), room_hash, path_id(user_id, "user"), role)
    return _no_content()


@bp.post("/room/<room_hash>/transfer")
@require_user
async def transfer(room_hash: str) -> Response:
    """Hand the room to another member ``{"user_id": int}`` (owner); they become owner."""
    target = (await json_object()).get("user_id")
    if not isinstance(target, int) or isinstance(target, bool):
        raise bad_request("user_id must be an integer")
    await moderation.transfer(current_user(), room_hash, path_id(str(target), "user"))
    return _no_content()


@bp.patch("/room/<room_hash>")
@require_user
async def rename(room_hash: str) -> Response:
    """Rename the room: ``{"room_name"}`` (owner); answer ``{"room_hash", "room_name"}``."""
    name = (await json_object()).get("room_name")
    if not isinstance(name, str):
        raise bad_request("room_name is required and must be a string")
    if reason := name_problem(name, "room name"):
        raise bad_request(reason)
    room = await moderation.rename(current_user(), room_hash, name.strip())
    return jsonify({"room_hash": room.id, "room_name": room.name})


@bp.delete("/room/<room_hash>")
@require_user
async def delete_room(room_hash: str) -> Response:
    """Delete the room with its messages (owner); every socket on it closes with 4004."""
    await moderation.delete_room(current_user(), room_hash)
    return _no_content()


@bp.post("/room/<room_hash>/leave")
@require_user
async def leave(room_hash: str) -> Response:
    """Leave the room (any member but the owner, who must transfer ownership first)."""
    await moderation.leave(current_user(), room_hash)
    return _no_content()


@bp.delete("/room/<room_hash>/messages/<message_id>")
@require_user
async def delete_message(room_hash: str, message_id: str) -> Response:
    """Delete a message: your own, or (moderators, owner) any of the room."""
    await moderation.delete_message(current_user(), room_hash, path_id(message_id, "message"))
    return _no_content()


@bp.patch("/room/<room_hash>/messages/<message_id>")
@require_user
async def edit_message(room_hash: str, message_id: str) -> Response:
    """Replace the text of your own message: ``{"content": str}``; answer its message object.

    The chat-message rules apply (a string of at most 512 characters, no NUL); blank text
    is refused, as deleting is its own route. Only the author may edit, and not while muted.
    """
    content = (await json_object()).get("content")
    if problem := message_content_problem(content):
        raise bad_request(problem)
    assert isinstance(content, str)
    if not content.strip():
        raise bad_request("content must not be empty (delete the message instead)")
    target = path_id(message_id, "message")
    return jsonify(await edits.edit_message(current_user(), room_hash, target, content))
