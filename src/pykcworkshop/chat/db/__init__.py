"""The data layer's public API: connection, sessions, query helpers, models and moderation queries.

>>> from pykcworkshop.chat import db
>>> callable(db.create_user) and callable(db.get_session)
True
"""

from pykcworkshop.chat.db import models, moderation
from pykcworkshop.chat.db.credentials import authenticate, current_tokens, login, replace_token
from pykcworkshop.chat.db.engine import connect, dispose, get_engine, get_session, initialize
from pykcworkshop.chat.db.history import MessageRow, get_history
from pykcworkshop.chat.db.models import ChatMessage, MessageMention, Room, RoomBan, User, UserToken
from pykcworkshop.chat.db.queries import (
    AlreadyMember,
    NameTaken,
    add_user_to_room,
    create_chat_message,
    create_room,
    create_user,
    get_room_by_id,
    get_user_by_id,
    get_user_by_name,
    is_member,
    join_room,
    room_exists,
    room_name_owned,
    rooms_of_user,
    share_a_room,
    user_name_taken,
)
from pykcworkshop.chat.db.reads import (
    UnreadRow,
    add_mentions,
    advance_read_position,
    member_names,
    mentioned_users,
    message_in_room,
    replace_mentions,
    unread_counts,
)

__all__ = [
    "AlreadyMember",
    "ChatMessage",
    "MessageMention",
    "MessageRow",
    "NameTaken",
    "Room",
    "RoomBan",
    "UnreadRow",
    "User",
    "UserToken",
    "add_mentions",
    "add_user_to_room",
    "advance_read_position",
    "authenticate",
    "connect",
    "create_chat_message",
    "create_room",
    "create_user",
    "current_tokens",
    "dispose",
    "get_engine",
    "get_history",
    "get_room_by_id",
    "get_session",
    "get_user_by_id",
    "get_user_by_name",
    "initialize",
    "is_member",
    "join_room",
    "login",
    "member_names",
    "mentioned_users",
    "message_in_room",
    "models",
    "moderation",
    "replace_mentions",
    "replace_token",
    "room_exists",
    "room_name_owned",
    "rooms_of_user",
    "share_a_room",
    "unread_counts",
    "user_name_taken",
]
