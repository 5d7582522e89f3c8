"""HTTP API v1 under ``/chat/api/v1``: users, login and rooms (moderation: :mod:`.moderation`).

Every request needs a valid ``X-CSRF-TOKEN`` header; routes marked with
:func:`require_user` also need ``Authorization: Bearer <user_token>``.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify
from sqlalchemy.exc import NoResultFound

from pykcworkshop.chat import db, tokens
from pykcworkshop.chat.api import control_events, moderation
from pykcworkshop.chat.api.http import limits
from pykcworkshop.chat.api.http.helpers import (
    bad_request,
    check_csrf,
    current_user,
    json_object,
    require_user,
    string_field,
    unauthorized,
)
from pykcworkshop.chat.backplane import broker
from pykcworkshop.chat.channels import room_channel
from pykcworkshop.chat.messages import stored_message_json
from pykcworkshop.chat.validation import name_problem, normalize_name

bp = Blueprint("http_v1", __name__, url_prefix="/chat/api/v1")
bp.before_request(check_csrf)


def _room_json(room: db.Room) -> dict[str, Any]:
    return {"room_hash": room.id, "room_name": room.name}


def _valid_name(body: dict[str, Any], field: str, what: str) -> str:
    """Return ``body[field]`` trimmed, or raise a 400 saying which rule it breaks."""
    value = string_field(body, field)
    reason = name_problem(value, what)
    if reason:
        raise bad_request(reason)
    return normalize_name(value)


async def _room_or_400(session: Any, room_hash: str) -> db.Room:
    try:
        return await db.get_room_by_id(session, room_hash)
    except NoResultFound:
        raise bad_request("no room with this hash exists") from None


@bp.post("/user/create")
async def create_user() -> tuple[Response, int]:
    """Create a user; answer with their login key (shown once, never stored)."""
    await limits.spend("sign-up", "SIGNUP_RATE_LIMIT")
    user_name = _valid_name(await json_object(), "user_name", "user name")
    async with db.get_session() as session:
        try:
            user, login_key = await db.create_user(session, user_name=user_name)
            await session.commit()
        except db.NameTaken:
            raise bad_request("this user name is taken") from None
    return jsonify({"user_hash": login_key, "user_name": user.name}), 201


@bp.post("/user/login")
async def login() -> Response:
    """Exchange a login key for the user's id, name and session token."""
    login_key = string_field(await json_object(), "user_hash")
    # Per address and per account (the id at the end of the key); failures weigh more.
    key_user = tokens.login_key_user_id(login_key)
    await limits.spend("login", "LOGIN_RATE_LIMIT", user_id=key_user)
    async with db.get_session() as session:
        user = await db.login(session, login_key)
    if user is None:
        await limits.spend(
            "login", "LOGIN_RATE_LIMIT", user_id=key_user, weight=limits.FAILED_LOGIN_WEIGHT, refuse=False
        )
        raise unauthorized("wrong login key, or the account's token expired or was revoked")
    return jsonify({"user_id": user.id, "user_name": user.name, "user_token": user.token.token})


@bp.post("/user/logout")
@require_user
async def logout() -> tuple[str, int]:
    """End the caller's session: the token is replaced and every socket opened with it closes.

    The fresh token is shown to nobody until the next login; the login key keeps working.
    """
    user_id = current_user().user_id
    async with db.get_session() as session:
        old_token = await db.replace_token(session, user_id)
        await session.commit()
    if old_token is not None:
        await control_events.end_session(user_id, old_token)
    return "", 204


@bp.get("/room/<room_hash>")
@require_user
async def get_room(room_hash: str) -> Response:
    """Return a room's hash and name."""
    async with db.get_session() as session:
        room = await _room_or_400(session, room_hash)
    return jsonify(_room_json(room))


@bp.post("/room/create")
@require_user
async def create_room() -> tuple[Response, int]:
    """Create a room owned by the caller, who becomes its first member."""
    await limits.spend("room-create", "ROOM_CREATE_RATE_LIMIT", user_id=current_user().user_id)
    room_name = _valid_name(await json_object(), "room_name", "room name")
    async with db.get_session() as session:
        try:
            room = await db.create_room(session, room_name=room_name, creator_id=current_user().user_id)
            await session.commit()
        except db.NameTaken:
            raise bad_request("you already own a room with this name") from None
        except NoResultFound:  # the user was deleted after the token was checked
            raise unauthorized("this user no longer exists") from None
    return jsonify(_room_json(room)), 201


@bp.get("/user/rooms/joined")
@require_user
async def joined_rooms() -> Response:
    """List the rooms the caller is a member of."""
    async with db.get_session() as session:
        rooms = await db.rooms_of_user(session, current_user().user_id, owned=False)
    return jsonify([_room_json(room) for room in rooms])


@bp.get("/user/rooms/owned")
@require_user
async def owned_rooms() -> Response:
    """List the rooms the caller owns."""
    async with db.get_session() as session:
        rooms = await db.rooms_of_user(session, current_user().user_id, owned=True)
    return jsonify([_room_json(room) for room in rooms])


@bp.put("/room/<room_hash>/join")
@require_user
async def join_room(room_hash: str) -> Response:
    """Join a room; a system message announces the new member. Banned users get 403."""
    async with db.get_session() as session:
        room = await _room_or_400(session, room_hash)
        if await db.moderation.is_banned(session, room_id=room.id, user_id=current_user().user_id):
            raise moderation.forbidden("you are banned from this room")
        try:
            message = await db.join_room(session, user_id=current_user().user_id, room_id=room.id)
            await session.commit()
        except db.AlreadyMember:
            raise bad_request("you are already a member of this room") from None
    # Members in the room see the newcomer's join message as it happens.
    await broker().publish(room_channel(room.id, "chat-message"), stored_message_json(message))
    return jsonify({"room_token": room.id, "room_name": room.name})


@bp.get("/room/<room_hash>/members")
@require_user
async def room_members(room_hash: str) -> Response:
    """List the members of a room with their ``role`` (moderators also see ``muted_until``)."""
    async with db.get_session() as session:
        room = await _room_or_400(session, room_hash)
    return jsonify(await moderation.members(current_user(), room.id))
