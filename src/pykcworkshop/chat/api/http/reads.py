"""HTTP API v1, read positions: unread and mention counts, and marking a room read.

Same guards as :mod:`.v1` (CSRF on every request, ``Authorization: Bearer`` on each route).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from quart import Blueprint, Response, jsonify

from pykcworkshop.chat import db
from pykcworkshop.chat.api.http.helpers import (
    bad_request,
    check_csrf,
    current_user,
    json_object,
    require_user,
)
from pykcworkshop.chat.backplane import broker
from pykcworkshop.chat.channels import user_channel
from pykcworkshop.chat.constants import MAX_DB_ID
from pykcworkshop.problems import ProblemError

bp = Blueprint("http_v1_reads", __name__, url_prefix="/chat/api/v1")
bp.before_request(check_csrf)


def _counts_json(row: db.UnreadRow) -> dict[str, Any]:
    return {
        "room_hash": row.room_id,
        "unread": row.unread,
        "mentions": row.mentions,
        "last_read_id": row.last_read_id,
        "newest_id": row.newest_id,
    }


def _message_id(body: dict[str, Any]) -> int:
    value = body.get("message_id")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_DB_ID:
        raise bad_request("message_id must be a message id (a positive integer)")
    return value


@bp.get("/user/rooms/unread")
@require_user
async def unread() -> Response:
    """List the caller's read position and unread and mention counts in every joined room."""
    async with db.get_session() as session:
        rows = await db.unread_counts(session, current_user().user_id)
    return jsonify([_counts_json(row) for row in rows])


@bp.put("/room/<room_hash>/read")
@require_user
async def mark_read(room_hash: str) -> Response:
    """Move the caller's read position in a room forward to a message (never backwards)."""
    message_id = _message_id(await json_object())
    user_id = current_user().user_id
    async with db.get_session() as session:
        if not await db.room_exists(session, room_hash):
            raise bad_request("no room with this hash exists")
        if not await db.is_member(session, user_id=user_id, room_id=room_hash):
            raise ProblemError(HTTPStatus.FORBIDDEN, "you are not a member of this room")
        if not await db.message_in_room(session, message_id=message_id, room_id=room_hash):
            raise bad_request("message_id is not a message of this room")
        moved = await db.advance_read_position(
            session, user_id=user_id, room_id=room_hash, message_id=message_id
        )
        # Read in the same transaction: a kick or a room deletion that commits meanwhile
        # leaves no row to answer with (a 500 before), so that is a 403 like any non-member.
        rows = await db.unread_counts(session, user_id, room_hash)
        if not rows:
            raise ProblemError(HTTPStatus.FORBIDDEN, "you are not a member of this room")
        await session.commit()
    row = rows[0]
    if moved:
        # The user's other tabs and devices update their counts.
        event = {"type": "read", "room_hash": room_hash, "last_read_id": row.last_read_id}
        await broker().publish(user_channel(user_id), event)
    return jsonify(_counts_json(row))
