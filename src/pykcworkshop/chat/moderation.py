"""Who may do what in a room: the moderation rules, without any I/O.

- **owner** (exactly one): everything a moderator may, plus change roles, transfer
  ownership, rename and delete the room. Cannot leave without transferring first.
- **moderator**: kick, ban, unban, mute and unmute members, delete any message of the room,
  see the ban list. Acts only on members ranked below them (never on the owner or another
  moderator).
- **member**: edit and delete their own messages, leave the room. Nobody edits another's
  message, not even the owner.

>>> allowed("moderator", "ban"), allowed("member", "ban"), allowed("owner", "rename")
(True, False, True)
>>> outranks("owner", "moderator"), outranks("moderator", "moderator")
(True, False)
"""

from __future__ import annotations

from typing import Literal

from pykcworkshop.chat.db.moderation import Role

Action = Literal[
    "kick",
    "ban",
    "unban",
    "mute",
    "unmute",
    "set-role",
    "transfer",
    "rename",
    "delete-room",
    "leave",
    "delete-any-message",
    "delete-own-message",
    "edit-own-message",
    "list-bans",
]

_RANK: dict[Role, int] = {"member": 0, "moderator": 1, "owner": 2}
#: The lowest role allowed each action.
_LOWEST: dict[Action, Role] = {
    "kick": "moderator",
    "ban": "moderator",
    "unban": "moderator",
    "mute": "moderator",
    "unmute": "moderator",
    "delete-any-message": "moderator",
    "list-bans": "moderator",
    "set-role": "owner",
    "transfer": "owner",
    "rename": "owner",
    "delete-room": "owner",
    "leave": "member",
    "delete-own-message": "member",
    "edit-own-message": "member",
}
#: Roles an owner may give with "set-role" (ownership moves only with "transfer").
ASSIGNABLE_ROLES: tuple[Role, ...] = ("moderator", "member")
#: Mute durations the UI offers, in minutes: 5 minutes, an hour, a day.
MUTE_CHOICES = (5, 60, 1440)


def allowed(role: Role | None, action: Action) -> bool:
    """Return whether a member with ``role`` (None: not a member) may do ``action`` at all."""
    return role is not None and _RANK[role] >= _RANK[_LOWEST[action]]


def outranks(actor: Role, target: Role) -> bool:
    """Return whether ``actor`` may act on a member with the role ``target``."""
    return _RANK[actor] > _RANK[target]


def is_moderator(role: Role | None) -> bool:
    """Return whether ``role`` has a moderator's powers (owner included)."""
    return allowed(role, "kick")
