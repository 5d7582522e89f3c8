"""Moderation actions, end to end: check the rules, change the database, then tell everyone.

Each action runs in one database session and commits before anything is announced, so a
socket that reconnects after being closed already gets 403 in its handshake. Then, in this
order: the system message (kicks, bans, role changes, renames) on the room's chat-message
channel, the room event (:mod:`pykcworkshop.chat.room_events`), and the control event that
closes the affected sockets in every process (:mod:`.websockets.control`). The HTTP routes
(:mod:`.http.moderation`) only parse requests and call these; this module lives beside the
two API packages because it needs both the rules and the sockets' control events.

Refusals are :class:`~pykcworkshop.problems.ProblemError`: 404 unknown room, user or
message; 403 when the caller's role does not allow the action on that target (non-members
included); 400 for acting on yourself and other requests that make no sense.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pykcworkshop.chat import db, room_events
from pykcworkshop.chat.api.websockets import control
from pykcworkshop.chat.api.websockets.closing import CloseCode
from pykcworkshop.chat.backplane import broker
from pykcworkshop.chat.channels import room_channel
from pykcworkshop.chat.db.moderation import Membership, Role
from pykcworkshop.chat.messages import stored_message_json
from pykcworkshop.chat.moderation import Action, allowed, is_moderator, outranks
from pykcworkshop.chat.tokens import UserTokenClaims
from pykcworkshop.chat.validation import is_room_hash, name_key
from pykcworkshop.problems import ProblemError
from pykcworkshop.utils import now

#: Longest close reason RFC 6455 allows, in UTF-8 bytes.
MAX_CLOSE_REASON = 123


def close_reason(text: str) -> str:
    """Return ``text`` cut to fit a close frame (123 UTF-8 bytes), never mid-character.

    >>> close_reason("é" * 100) == "é" * 61
    True
    """
    return text.encode("utf-8")[:MAX_CLOSE_REASON].decode("utf-8", errors="ignore")


@dataclass
class Acting:
    """A permitted action in progress: the session, the room, who acts and on whom."""

    session: AsyncSession
    room: db.Room
    actor: Membership
    target: Membership | None

    @property
    def by(self) -> dict[str, Any]:
        """The ``by_id``/``by_name`` keys of a room event."""
        return {"by_id": self.actor.user_id, "by_name": self.actor.user_name}

    def whom(self) -> Membership:
        """The target of an action that has one."""
        assert self.target is not None
        return self.target


def forbidden(detail: str) -> ProblemError:
    """Return a 403 refusal."""
    return ProblemError(HTTPStatus.FORBIDDEN, detail)


def not_found(detail: str) -> ProblemError:
    """Return a 404 refusal."""
    return ProblemError(HTTPStatus.NOT_FOUND, detail)


def bad_input(detail: str) -> ProblemError:
    """Return a 400 refusal."""
    return ProblemError(HTTPStatus.BAD_REQUEST, detail)


async def room_of(session: AsyncSession, room_hash: str) -> db.Room:
    """Return the room, or raise 404 (without a query for a hash no room can have)."""
    # PostgreSQL refuses text holding NUL with an error, e.g. a "%00" in the path.
    room = await session.get(db.Room, room_hash) if is_room_hash(room_hash) else None
    if room is None:
        raise not_found("no room with this hash exists")
    return room


@asynccontextmanager
async def acting(
    user: UserTokenClaims, room_hash: str, action: Action, target_id: int | None = None
) -> AsyncIterator[Acting]:
    """Check that ``user`` may do ``action`` (on the member ``target_id``); commit after the block."""
    async with db.get_session() as session:
        room = await room_of(session, room_hash)
        actor = await db.moderation.membership(session, room_id=room.id, user_id=user.user_id)
        if actor is None:
            raise forbidden("you are not a member of this room")
        if not allowed(actor.role, action):
            raise forbidden(f"a {actor.role} of this room may not do this")
        target = None
        if target_id is not None:
            target = await db.moderation.membership(session, room_id=room.id, user_id=target_id)
            if target is None:
                raise not_found("no member of this room has this id")
            if target.user_id == actor.user_id:
                raise bad_input("you cannot do this to yourself")
            if not outranks(actor.role, target.role):
                raise forbidden(f"a {actor.role} may not act on a {target.role}")
        yield Acting(session, room, actor, target)
        await session.commit()


async def _announce(room_hash: str, message: db.ChatMessage) -> None:
    await broker().publish(room_channel(room_hash, "chat-message"), stored_message_json(message))


async def members(user: UserTokenClaims, room_hash: str) -> list[dict[str, Any]]:
    """Return the room's members with their roles; moderators also see who is muted until when."""
    async with db.get_session() as session:
        room = await room_of(session, room_hash)
        rows = await db.moderation.memberships(session, room.id)
    caller = next((row for row in rows if row.user_id == user.user_id), None)
    sees_mutes = is_moderator(caller.role if caller else None)
    moment = now()
    listed = []
    for row in rows:
        entry: dict[str, Any] = {"user_name": row.user_name, "user_id": row.user_id, "role": row.role}
        if sees_mutes:
            until = row.muted_until if row.muted_until and row.muted_until > moment else None
            entry["muted_until"] = until.isoformat() if until else None
        listed.append(entry)
    return listed


async def remove(user: UserTokenClaims, room_hash: str, target_id: int, *, ban_reason: str | None) -> None:
    """Kick (``ban_reason`` None) or ban a member; their sockets on the room close with 4003."""
    banning = ban_reason is not None
    async with acting(user, room_hash, "ban" if banning else "kick", target_id) as act:
        target = act.whom()
        if banning:
            await db.moderation.ban(
                act.session, room_id=act.room.id, user_id=target.user_id, by_id=act.actor.user_id,
                reason=ban_reason or "",
            )  # fmt: skip
        else:
            await db.moderation.remove_member(act.session, room_id=act.room.id, user_id=target.user_id)
        verb = "banned" if banning else "removed"
        message = await db.moderation.system_message(
            act.session,
            room_id=act.room.id,
            content=f"{target.user_name} was {verb} by {act.actor.user_name}.",
        )
    await _announce(act.room.id, message)
    kind = "member-banned" if banning else "member-kicked"
    extra = {"reason": ban_reason} if banning else {}
    await room_events.publish(
        act.room.id, kind, user_id=target.user_id, user_name=target.user_name, **act.by, **extra
    )
    because = f": {ban_reason}" if ban_reason else ""
    reason = f"You were {verb} from {act.room.name} by {act.actor.user_name}{because}"
    await control.remove_from_room(target.user_id, act.room.id, close_reason(reason))


async def unban(user: UserTokenClaims, room_hash: str, target_id: int) -> None:
    """Lift a ban: the user may join the room again."""
    async with acting(user, room_hash, "unban") as act:
        bans = {ban.user_id: ban for ban in await db.moderation.bans(act.session, act.room.id)}
        if target_id not in bans:
            raise not_found("no user with this id is banned from this room")
        await db.moderation.unban(act.session, room_id=act.room.id, user_id=target_id)
    name = bans[target_id].user_name
    await room_events.publish(act.room.id, "member-unbanned", user_id=target_id, user_name=name, **act.by)


async def bans(user: UserTokenClaims, room_hash: str) -> list[dict[str, Any]]:
    """Return the room's ban list, newest first."""
    async with acting(user, room_hash, "list-bans") as act:
        rows = await db.moderation.bans(act.session, act.room.id)
    return [
        {"user_id": row.user_id, "user_name": row.user_name, "by_id": row.by_id, "by_name": row.by_name,
         "reason": row.reason, "at": row.at.isoformat()}
        for row in rows
    ]  # fmt: skip


async def mute(user: UserTokenClaims, room_hash: str, target_id: int, minutes: int | None) -> datetime | None:
    """Mute a member for ``minutes`` (None: unmute); return until when."""
    async with acting(user, room_hash, "unmute" if minutes is None else "mute", target_id) as act:
        target = act.whom()
        until = None if minutes is None else now() + timedelta(minutes=minutes)
        await db.moderation.set_mute(act.session, room_id=act.room.id, user_id=target.user_id, until=until)
    who = {"user_id": target.user_id, "user_name": target.user_name, **act.by}
    if until is None:
        await room_events.publish(act.room.id, "member-unmuted", **who)
    else:
        await room_events.publish(act.room.id, "member-muted", until=until.isoformat(), **who)
    return until


async def set_role(user: UserTokenClaims, room_hash: str, target_id: int, role: Role) -> None:
    """Make a member a moderator or a plain member again (owner only)."""
    async with acting(user, room_hash, "set-role", target_id) as act:
        target = act.whom()
        await db.moderation.set_role(act.session, room_id=act.room.id, user_id=target.user_id, role=role)
        what = "now a moderator" if role == "moderator" else "no longer a moderator"
        message = await db.moderation.system_message(
            act.session, room_id=act.room.id, content=f"{target.user_name} is {what}."
        )
    await _announce(act.room.id, message)
    await room_events.publish(
        act.room.id, "role-changed", user_id=target.user_id, user_name=target.user_name, role=role, **act.by
    )


async def transfer(user: UserTokenClaims, room_hash: str, target_id: int) -> None:
    """Hand the room to another member; the previous owner stays on as a moderator."""
    async with acting(user, room_hash, "transfer", target_id) as act:
        target = act.whom()
        if await db.room_name_owned(act.session, owner_id=target.user_id, room_name=act.room.name):
            raise bad_input(f"{target.user_name} already owns a room with this name")
        await db.moderation.transfer_ownership(act.session, room_id=act.room.id, new_owner_id=target.user_id)
        message = await db.moderation.system_message(
            act.session, room_id=act.room.id, content=f"{target.user_name} is now the owner of this room."
        )
    await _announce(act.room.id, message)
    who = {"user_id": target.user_id, "user_name": target.user_name}
    await room_events.publish(act.room.id, "ownership-transferred", **who, **act.by)
    await room_events.publish(act.room.id, "role-changed", **who, role="owner", **act.by)
    await room_events.publish(
        act.room.id, "role-changed", user_id=act.actor.user_id, user_name=act.actor.user_name,
        role="moderator", **act.by,
    )  # fmt: skip


async def rename(user: UserTokenClaims, room_hash: str, room_name: str) -> db.Room:
    """Rename the room (owner only); the owner may not own two rooms of the same name."""
    async with acting(user, room_hash, "rename") as act:
        same_room = name_key(room_name) == act.room.name_key
        if not same_room and await db.room_name_owned(
            act.session, owner_id=act.room.owner_id, room_name=room_name
        ):
            raise bad_input("you already own a room with this name")
        await db.moderation.rename_room(act.session, act.room, room_name)
        message = await db.moderation.system_message(
            act.session,
            room_id=act.room.id,
            content=f"{act.actor.user_name} renamed the room to {room_name}.",
        )
    await _announce(act.room.id, message)
    await room_events.publish(act.room.id, "room-renamed", room_name=room_name, **act.by)
    return act.room


async def delete_room(user: UserTokenClaims, room_hash: str) -> None:
    """Delete the room and everything in it (owner only); its sockets close with 4004."""
    async with acting(user, room_hash, "delete-room") as act:
        name = act.room.name
        member_ids = await db.moderation.delete_room(act.session, act.room.id)
    await room_events.publish(room_hash, "room-deleted", **act.by)
    reason = close_reason(f"{name} was deleted by {act.actor.user_name}")
    await control.delete_room(room_hash, member_ids, reason)


async def leave(user: UserTokenClaims, room_hash: str) -> None:
    """Leave the room; the owner must transfer ownership first. Other tabs close with 4003."""
    async with acting(user, room_hash, "leave") as act:
        if act.actor.role == "owner":
            raise bad_input("the owner cannot leave; transfer ownership to another member first")
        await db.moderation.remove_member(act.session, room_id=act.room.id, user_id=act.actor.user_id)
    await room_events.publish(
        act.room.id, "member-left", user_id=act.actor.user_id, user_name=act.actor.user_name
    )
    reason = close_reason(f"You left {act.room.name}")
    await control.remove_from_room(act.actor.user_id, act.room.id, reason, code=CloseCode.REMOVED_FROM_ROOM)


async def delete_message(user: UserTokenClaims, room_hash: str, message_id: int) -> None:
    """Delete a message: members their own, moderators and the owner any of the room."""
    async with acting(user, room_hash, "delete-own-message") as act:
        message = await db.moderation.room_message(act.session, room_id=act.room.id, message_id=message_id)
        if message is None:
            raise not_found("no message of this room has this id")
        if message.author_id != act.actor.user_id and not allowed(act.actor.role, "delete-any-message"):
            raise forbidden("you may delete only your own messages")
        await db.moderation.delete_message(act.session, message, by_id=act.actor.user_id)
    await room_events.publish(act.room.id, "message-deleted", message_id=message_id, **act.by)
