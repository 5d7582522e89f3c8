"""SQLAlchemy models: users, session tokens, rooms, memberships, bans, chat messages, mentions.

Every relationship loads eagerly (joined or ``selectin``), so objects stay readable after
their session closes, also when fetched with a plain ``select()``.

The schema is portable between SQLite and PostgreSQL: timestamps are stored through
:class:`UTCDateTime` (always aware UTC in Python), and case-insensitive uniqueness uses a
stored ``casefold()`` key, because ``lower()`` differs between the two engines outside ASCII.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from pykcworkshop.chat.constants import MAX_BAN_REASON_LENGTH, MAX_CONTENT_LENGTH, MAX_NAME_LENGTH

#: Room for a name's skeleton: a character's prototype is a few characters at most.
SKELETON_LENGTH = 8 * MAX_NAME_LENGTH


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always an aware UTC ``datetime`` in Python.

    PostgreSQL stores ``timestamptz``; SQLite has no zone support, so the value is stored as
    naive UTC and the zone is put back on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every model."""


room_members = Table(
    "room_members",
    Base.metadata,
    Column("room_id", ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
    #: "owner" (exactly one per room, the same user as ``Room.owner_id``), "moderator" or "member".
    Column("role", String(16), nullable=False, default="member", server_default="member"),
    #: Until when the member may not post chat messages (aware UTC); None: not muted.
    Column("muted_until", UTCDateTime(), nullable=True),
    # The member's read position: the id of the newest message they have read (0: none).
    Column("last_read_id", Integer, nullable=False, default=0, server_default="0"),
)


class User(Base):
    """A chat user; logs in with a secret login key of which only the hash is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    #: ``name`` casefolded: the unique key that makes "taken" case-insensitive.
    name_key: Mapped[str] = mapped_column(String(4 * MAX_NAME_LENGTH), unique=True)
    #: The TR39 skeleton of ``name_key`` (``confusables.name_skeleton``): "taken" also
    #: catches look-alikes. Not unique: names stored before it existed may collide.
    name_skeleton: Mapped[str] = mapped_column(String(SKELETON_LENGTH), index=True, default="")
    #: SHA-256 of the login key; empty for the built-in System user, which cannot log in.
    login_key_hash: Mapped[str] = mapped_column(String(64), default="")

    token: Mapped[UserToken] = relationship(
        back_populates="user", uselist=False, lazy="joined", cascade="all, delete-orphan"
    )
    joined_rooms: Mapped[list[Room]] = relationship(
        secondary=room_members, back_populates="members", order_by="Room.name", lazy="selectin"
    )
    owned_rooms: Mapped[list[Room]] = relationship(back_populates="owner", viewonly=True, lazy="selectin")

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, name={self.name!r})"


class UserToken(Base):
    """A user's current session token; ``revoked`` turns it off without deleting it."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True, index=True)
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship(back_populates="token")


class Room(Base):
    """A chat room; its id is the shareable room hash."""

    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("owner_id", "name_key", name="uq_rooms_owner_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    #: ``name`` casefolded: one owner cannot own two rooms whose names differ only in case.
    name_key: Mapped[str] = mapped_column(String(4 * MAX_NAME_LENGTH))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    owner: Mapped[User] = relationship(back_populates="owned_rooms", lazy="joined")
    members: Mapped[list[User]] = relationship(
        secondary=room_members, back_populates="joined_rooms", order_by="User.name", lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"Room(id={self.id!r}, name={self.name!r})"


class ChatMessage(Base):
    """A message in a room's chat (direct messages are never stored)."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        # Serves the history keyset query: WHERE room_id = ? AND (timestamp, id) < (?, ?)
        # ORDER BY timestamp DESC, id DESC LIMIT ?  (and the ascending "newer" variant).
        Index("ix_chat_messages_room_timestamp_id", "room_id", "timestamp", "id"),
        # Serves the unread count: WHERE room_id = ? AND id > <read position>.
        Index("ix_chat_messages_room_id_id", "room_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(String(MAX_CONTENT_LENGTH))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    #: When its author last edited the text (aware UTC); None: never edited.
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=None)
    #: Soft deletion: when and by whom; history and chat-history leave deleted messages out.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=None)
    deleted_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL", name="fk_chat_messages_deleted_by_users"),
        nullable=True,
        default=None,
    )

    author: Mapped[User] = relationship(lazy="joined", foreign_keys=[author_id])
    room: Mapped[Room] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"ChatMessage(id={self.id!r}, room_id={self.room_id!r})"


class RoomBan(Base):
    """A user banned from a room: they cannot join it again until unbanned."""

    __tablename__ = "room_bans"

    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    #: Who banned them (None once that account is gone).
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reason: Mapped[str] = mapped_column(String(MAX_BAN_REASON_LENGTH), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"RoomBan(room_id={self.room_id!r}, user_id={self.user_id!r})"


class MessageMention(Base):
    """A member mentioned by a message, found when the message was stored (for mention counts)."""

    __tablename__ = "message_mentions"
    __table_args__ = (
        # Serves the mention count: WHERE user_id = ? AND room_id = ? AND message_id > ?.
        Index("ix_message_mentions_user_room_message", "user_id", "room_id", "message_id"),
    )

    message_id: Mapped[int] = mapped_column(
        ForeignKey("chat_messages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
