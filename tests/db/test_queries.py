"""The query helpers of ``pykcworkshop.chat.db`` (docs/protocol.md "Python data layer"), on the live
server's SQLite database.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import NoResultFound, StatementError

from pykcworkshop.chat import db
from pykcworkshop.chat.constants import SYSTEM_USER_NAME
from tests.support import unique_name

pytestmark = pytest.mark.usefixtures("database")

#: A moment long before any test runs, so join messages (stamped "now") never interfere.
T0 = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)


async def new_user(name: str | None = None) -> db.User:
    async with db.get_session() as session:
        user, _ = await db.create_user(session, user_name=name or unique_name())
        await session.commit()
    return user


async def new_room(owner_id: int, name: str | None = None) -> db.Room:
    async with db.get_session() as session:
        room = await db.create_room(session, room_name=name or unique_name("room"), creator_id=owner_id)
        await session.commit()
    return room


async def room_with_messages(*offsets: float) -> tuple[db.Room, list[int]]:
    """Return a fresh room and the ids of messages stamped ``T0 + offset`` seconds, in order."""
    author = await new_user()
    room = await new_room(author.id)
    async with db.get_session() as session:
        messages = [
            await db.create_chat_message(
                session,
                author_id=author.id,
                room_id=room.id,
                content=f"m{index}",
                timestamp=T0 + timedelta(seconds=offset),
            )
            for index, offset in enumerate(offsets)
        ]
        await session.commit()
    return room, [message.id for message in messages]


async def history(room_id: str, before: datetime, chunk_size: int = 100, **kwargs) -> list[db.MessageRow]:
    async with db.get_session() as session:
        return await db.get_history(session, room_id=room_id, before=before, chunk_size=chunk_size, **kwargs)


def contents(messages: list[db.MessageRow]) -> list[str]:
    return [message.content for message in messages]


# ------------------------------------------------------------------ one flow, one commit


async def test_user_room_and_membership_in_one_session_with_one_commit():
    async with db.get_session() as session:
        owner, _ = await db.create_user(session, user_name=unique_name())
        guest, _ = await db.create_user(session, user_name=unique_name())
        room = await db.create_room(session, room_name=unique_name("room"), creator_id=owner.id)
        await db.add_user_to_room(session, user_id=guest.id, room_id=room.id)
        await session.commit()
    async with db.get_session() as session:
        stored = await db.get_room_by_id(session, room.id)
    assert stored.owner_id == owner.id
    assert sorted(member.id for member in stored.members) == sorted([owner.id, guest.id])


async def test_returned_objects_carry_ids_before_commit():
    async with db.get_session() as session:
        user, login_key = await db.create_user(session, user_name=unique_name())
        room = await db.create_room(session, room_name=unique_name("room"), creator_id=user.id)
        assert isinstance(user.id, int)
        assert isinstance(room.id, str) and room.id
        assert user.token.token and user.token.user_id == user.id
        assert login_key.endswith(str(user.id))
        await session.rollback()


async def test_helpers_leave_the_commit_to_the_caller():
    name = unique_name()
    async with db.get_session() as session:
        await db.create_user(session, user_name=name)
        # Leaving without commit() must keep nothing.
    async with db.get_session() as session:
        with pytest.raises(NoResultFound):
            await db.get_user_by_name(session, name)


async def test_create_room_makes_creator_owner_and_first_member():
    user = await new_user()
    room = await new_room(user.id)
    assert room.owner_id == user.id
    assert room.owner.id == user.id
    assert [member.id for member in room.members] == [user.id]


async def test_create_room_for_a_missing_user_raises_no_result_found():
    async with db.get_session() as session:
        with pytest.raises(NoResultFound):
            await db.create_room(session, room_name=unique_name("room"), creator_id=2_000_000_000)


async def test_create_user_token_lasts_token_expiration():
    before = datetime.now(UTC)
    async with db.get_session() as session:
        user, _ = await db.create_user(session, user_name=unique_name(), token_expiration=timedelta(days=2))
        await session.commit()
    after = datetime.now(UTC)
    assert (
        before + timedelta(days=2) - timedelta(seconds=1)
        <= user.token.expires_at
        <= after + timedelta(days=2)
    )


async def test_login_key_is_not_stored():
    async with db.get_session() as session:
        user, login_key = await db.create_user(session, user_name=unique_name())
        await session.commit()
    async with db.get_session() as session:
        stored = await db.get_user_by_id(session, user.id)
    assert login_key not in (stored.login_key_hash, stored.token.token, stored.name)


# ------------------------------------------------------------------ reading after the session closes


async def test_created_user_and_room_are_readable_after_the_session_closes():
    async with db.get_session() as session:
        user, _ = await db.create_user(session, user_name=unique_name())
        room = await db.create_room(session, room_name=unique_name("room"), creator_id=user.id)
        await session.commit()
    assert user.token.token and user.token.expires_at
    assert [joined.id for joined in user.joined_rooms] == [room.id]
    assert room.owner.name == user.name
    assert [member.name for member in room.members] == [user.name]


async def test_loaded_user_relationships_are_readable_after_the_session_closes():
    owner, guest = await new_user(), await new_user()
    room = await new_room(owner.id)
    async with db.get_session() as session:
        await db.add_user_to_room(session, user_id=guest.id, room_id=room.id)
        await session.commit()
    async with db.get_session() as session:
        loaded = await db.get_user_by_id(session, guest.id)
    assert loaded.name == guest.name
    assert loaded.token.token == guest.token.token
    assert [joined.id for joined in loaded.joined_rooms] == [room.id]


async def test_loaded_room_relationships_are_readable_after_the_session_closes():
    owner, guest = await new_user(), await new_user()
    room = await new_room(owner.id)
    async with db.get_session() as session:
        await db.add_user_to_room(session, user_id=guest.id, room_id=room.id)
        await session.commit()
    async with db.get_session() as session:
        loaded = await db.get_room_by_id(session, room.id)
    assert loaded.owner.name == owner.name
    assert sorted(member.id for member in loaded.members) == sorted([owner.id, guest.id])


async def test_loaded_message_relationships_are_readable_after_the_session_closes():
    room, (message_id,) = await room_with_messages(0)
    async with db.get_session() as session:
        message = await session.scalar(select(db.ChatMessage).where(db.ChatMessage.id == message_id))
    assert message is not None
    assert message.room.name == room.name
    assert message.author.id == room.owner_id
    assert message.author.name == room.owner.name


# ------------------------------------------------------------------ lookups


async def test_get_user_by_id_raises_no_result_found_when_absent():
    async with db.get_session() as session:
        with pytest.raises(NoResultFound):
            await db.get_user_by_id(session, 2_000_000_000)


async def test_get_user_by_name_raises_no_result_found_when_absent():
    async with db.get_session() as session:
        with pytest.raises(NoResultFound):
            await db.get_user_by_name(session, unique_name("nobody"))


async def test_get_room_by_id_raises_no_result_found_when_absent():
    async with db.get_session() as session:
        with pytest.raises(NoResultFound):
            await db.get_room_by_id(session, "no-such-room-hash")


async def test_get_user_by_name_ignores_case():
    user = await new_user(unique_name("Mixed"))
    async with db.get_session() as session:
        assert (await db.get_user_by_name(session, user.name.upper())).id == user.id
        assert (await db.get_user_by_name(session, user.name.lower())).id == user.id


# ------------------------------------------------------------------ case-insensitive uniqueness


async def test_user_names_are_unique_ignoring_case():
    user = await new_user(unique_name("Case"))
    async with db.get_session() as session:
        with pytest.raises(db.NameTaken):
            await db.create_user(session, user_name=user.name.swapcase())


async def test_user_name_uniqueness_sees_uncommitted_users_of_the_same_session():
    name = unique_name()
    async with db.get_session() as session:
        await db.create_user(session, user_name=name)
        with pytest.raises(db.NameTaken):
            await db.create_user(session, user_name=f" {name.upper()} ")


async def test_one_owner_cannot_own_two_rooms_named_alike():
    owner = await new_user()
    room = await new_room(owner.id, unique_name("Room"))
    async with db.get_session() as session:
        with pytest.raises(db.NameTaken):
            await db.create_room(session, room_name=room.name.swapcase(), creator_id=owner.id)


async def test_different_owners_may_own_rooms_named_alike():
    alice, bob = await new_user(), await new_user()
    room = await new_room(alice.id)
    other = await new_room(bob.id, room.name.upper())
    assert other.id != room.id and other.owner_id == bob.id


# ------------------------------------------------------------------ timestamps


async def test_timestamps_round_trip_as_aware_utc():
    moment = datetime(2021, 3, 4, 5, 6, 7, 891011, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    author = await new_user()
    room = await new_room(author.id)
    async with db.get_session() as session:
        message = await db.create_chat_message(
            session, author_id=author.id, room_id=room.id, content="when", timestamp=moment
        )
        await session.commit()
    async with db.get_session() as session:
        stored = await session.scalar(select(db.ChatMessage).where(db.ChatMessage.id == message.id))
    assert stored is not None
    assert stored.timestamp == moment
    assert stored.timestamp.utcoffset() == timedelta(0)
    assert stored.timestamp.microsecond == 891011


async def test_history_timestamps_are_aware_utc():
    room, _ = await room_with_messages(0)
    (message,) = await history(room.id, T0 + timedelta(seconds=1))
    assert message.timestamp.utcoffset() == timedelta(0)
    assert message.timestamp == T0


async def test_message_timestamp_defaults_to_now_in_utc():
    author = await new_user()
    room = await new_room(author.id)
    before = datetime.now(UTC)
    async with db.get_session() as session:
        message = await db.create_chat_message(session, author_id=author.id, room_id=room.id, content="now")
        await session.commit()
    after = datetime.now(UTC)
    assert message.timestamp.utcoffset() == timedelta(0)
    assert before <= message.timestamp <= after


async def test_token_expiry_reads_back_as_aware_utc():
    user = await new_user()
    async with db.get_session() as session:
        stored = await db.get_user_by_id(session, user.id)
    assert stored.token.expires_at.utcoffset() == timedelta(0)
    assert abs(stored.token.expires_at - user.token.expires_at) < timedelta(seconds=1)


async def test_naive_timestamps_are_refused():
    """A naive datetime is ambiguous; storing it as if it were UTC would shift messages."""
    author = await new_user()
    room = await new_room(author.id)
    async with db.get_session() as session:
        await db.create_chat_message(
            session, author_id=author.id, room_id=room.id, content="naive", timestamp=datetime(2021, 1, 1)
        )
        with pytest.raises((ValueError, StatementError)):
            await session.commit()


# ------------------------------------------------------------------ joining and the System user


async def test_add_user_to_room_writes_join_message_by_system():
    owner, guest = await new_user(), await new_user()
    room = await new_room(owner.id)
    async with db.get_session() as session:
        await db.add_user_to_room(session, user_id=guest.id, room_id=room.id)
        await session.commit()
    async with db.get_session() as session:
        system = await db.get_user_by_name(session, SYSTEM_USER_NAME)
    messages = await history(room.id, datetime.now(UTC) + timedelta(days=1))
    assert [(m.content, m.author_name, m.author_id) for m in messages] == [
        (f"{guest.name} has joined the chat.", "System", system.id)
    ]


async def test_add_user_to_room_twice_raises_already_member():
    owner, guest = await new_user(), await new_user()
    room = await new_room(owner.id)
    async with db.get_session() as session:
        await db.add_user_to_room(session, user_id=guest.id, room_id=room.id)
        await session.commit()
    async with db.get_session() as session:
        with pytest.raises(db.AlreadyMember):
            await db.add_user_to_room(session, user_id=guest.id, room_id=room.id)


async def test_add_user_to_missing_room_raises_no_result_found():
    user = await new_user()
    async with db.get_session() as session:
        with pytest.raises(NoResultFound):
            await db.add_user_to_room(session, user_id=user.id, room_id="no-such-room-hash")


# ------------------------------------------------------------------ messages and history


async def test_create_chat_message_is_safe_concurrently_on_one_session():
    author = await new_user()
    room = await new_room(author.id)
    async with db.get_session() as session:
        messages = await asyncio.gather(
            *(
                db.create_chat_message(session, author_id=author.id, room_id=room.id, content=f"c{i}")
                for i in range(50)
            )
        )
        await session.commit()
    assert len({message.id for message in messages}) == 50
    stored = await history(room.id, datetime.now(UTC) + timedelta(days=1))
    assert sorted(contents(stored)) == sorted(f"c{i}" for i in range(50))


async def test_history_older_is_newest_first_and_strictly_before():
    room, _ = await room_with_messages(0, 1, 2, 3, 4)
    assert contents(await history(room.id, T0 + timedelta(seconds=3))) == ["m2", "m1", "m0"]


async def test_history_older_returns_the_newest_chunk():
    room, _ = await room_with_messages(0, 1, 2, 3, 4)
    assert contents(await history(room.id, T0 + timedelta(seconds=10), chunk_size=2)) == ["m4", "m3"]


async def test_history_newer_is_oldest_first_and_strictly_after():
    room, _ = await room_with_messages(0, 1, 2, 3, 4)
    assert contents(await history(room.id, T0 + timedelta(seconds=1), newer=True)) == ["m2", "m3", "m4"]


async def test_history_newer_returns_the_oldest_chunk():
    room, _ = await room_with_messages(0, 1, 2, 3, 4)
    assert contents(await history(room.id, T0 - timedelta(seconds=1), chunk_size=2, newer=True)) == [
        "m0",
        "m1",
    ]


async def test_history_has_only_this_rooms_messages():
    room, _ = await room_with_messages(0, 1)
    await room_with_messages(0.5)
    assert contents(await history(room.id, T0 + timedelta(seconds=10))) == ["m1", "m0"]


async def test_history_rows_carry_the_message_and_its_author():
    room, (message_id,) = await room_with_messages(0)
    (message,) = await history(room.id, T0 + timedelta(seconds=1))
    assert message == db.MessageRow(message_id, room.owner_id, room.owner.name, "m0", T0)


async def page_through(room_id: str, *, newer: bool, chunk_size: int, start: datetime) -> list[db.MessageRow]:
    """Return the whole history from ``start``, fetched page by page as a client would."""
    seen: list[db.MessageRow] = []
    before, cursor = start, None
    for _ in range(100):  # a broken cursor could page forever
        page = await history(room_id, before, chunk_size=chunk_size, newer=newer, cursor_id=cursor)
        if not page:
            return seen
        seen.extend(page)
        before, cursor = page[-1].timestamp, page[-1].id
    raise AssertionError(f"paging never ended; seen {[message.id for message in seen][:20]}...")


async def test_history_cursor_pages_through_ties_older():
    """Messages sharing one timestamp are neither skipped nor repeated across pages."""
    room, ids = await room_with_messages(-1, 0, 0, 0, 0, 0, 1)
    seen = await page_through(room.id, newer=False, chunk_size=2, start=T0 + timedelta(seconds=5))
    assert [message.id for message in seen] == list(reversed(ids))


async def test_history_cursor_pages_through_ties_newer():
    room, ids = await room_with_messages(-1, 0, 0, 0, 0, 0, 1)
    seen = await page_through(room.id, newer=True, chunk_size=2, start=T0 - timedelta(seconds=5))
    assert [message.id for message in seen] == ids


async def test_history_with_a_cursor_from_another_room_pages_by_the_timestamp():
    room, _ = await room_with_messages(0, 1, 2)
    _other_room, (foreign,) = await room_with_messages(1.5)
    middle = T0 + timedelta(seconds=1.5)
    assert contents(await history(room.id, middle, cursor_id=foreign)) == ["m1", "m0"]
    assert contents(await history(room.id, middle, cursor_id=foreign, newer=True)) == ["m2"]


async def test_a_cursor_page_is_one_statement():
    """The cursor's timestamp is a subquery of the page's query, not a round trip of its own."""
    room, ids = await room_with_messages(0, 1, 2)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = db.get_engine().sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        page = await history(room.id, T0 + timedelta(seconds=9), cursor_id=ids[2])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert contents(page) == ["m1", "m0"]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


async def test_history_without_cursor_is_strict_about_a_shared_timestamp():
    """With only a timestamp, messages exactly at it are on neither side."""
    room, _ = await room_with_messages(-1, 0, 0, 1)
    assert contents(await history(room.id, T0)) == ["m0"]
    assert contents(await history(room.id, T0, newer=True)) == ["m3"]
