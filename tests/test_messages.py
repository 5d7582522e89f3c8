"""The message object clients receive (``pykcworkshop.chat.messages``), built from rows and models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from pykcworkshop.chat import db
from pykcworkshop.chat.messages import history_json, message_json, stored_message_json

MOMENT = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_timestamp_is_iso_8601_in_utc_whatever_zone_it_came_in():
    elsewhere = MOMENT.astimezone(timezone(timedelta(hours=-7)))
    body = message_json(message_id=None, user_id=1, user_name="Ada", content="hi", timestamp=elsewhere)
    assert body["timestamp"] == "2024-05-01T12:00:00.123456+00:00"


def test_id_only_for_stored_messages():
    unsent = message_json(message_id=None, user_id=1, user_name="Ada", content="hi", timestamp=MOMENT)
    stored = message_json(message_id=9, user_id=1, user_name="Ada", content="hi", timestamp=MOMENT)
    assert set(unsent) == {"user_name", "user_id", "content", "timestamp"}
    assert stored == {**unsent, "id": 9}


def test_stored_message_names_its_author():
    author = db.User(id=3, name="Ada", name_key="ada")
    message = db.ChatMessage(id=7, author_id=3, author=author, room_id="r", content="hi", timestamp=MOMENT)
    assert stored_message_json(message) == {
        "user_name": "Ada",
        "user_id": 3,
        "content": "hi",
        "timestamp": "2024-05-01T12:00:00.123456+00:00",
        "id": 7,
    }


def test_history_rows_keep_their_order():
    rows = [
        db.MessageRow(2, 3, "Ada", "second", MOMENT + timedelta(seconds=1)),
        db.MessageRow(1, 4, "Bob", "first", MOMENT),
    ]
    assert [(m["id"], m["user_name"], m["content"]) for m in history_json(rows)] == [
        (2, "Ada", "second"),
        (1, "Bob", "first"),
    ]
