"""Limits shared by the HTTP API, the websockets, the data layer and the frontend's checks."""

from datetime import timedelta

from pykcworkshop.envfile import WEBSOCKET_MAX_MESSAGE_SIZE

#: Longest user or room name, in characters, after trimming surrounding whitespace.
MAX_NAME_LENGTH = 32
#: Longest chat or direct message, in characters.
MAX_CONTENT_LENGTH = 512
#: Largest number of messages one chat-history request may ask for.
MAX_HISTORY_CHUNK = 100
#: Unread and mention counts stop here; clients show it as "99+".
UNREAD_COUNT_CAP = 100

#: Name of the built-in author of system messages (e.g. "<name> has joined the chat.").
SYSTEM_USER_NAME = "System"

#: Random bytes in a room hash (``secrets.token_urlsafe``: 22 URL-safe characters).
ROOM_HASH_BYTES = 16

#: How long a CSRF token stays valid.
CSRF_TOKEN_MAX_AGE = timedelta(days=31)
#: Default lifetime of a session token (``user_token``).
USER_TOKEN_LIFETIME = timedelta(days=365)

#: Largest HTTP request body the API reads.
MAX_REQUEST_BODY = 64 * 1024
#: Largest websocket frame, in characters: hypercorn's ``websocket_max_message_size`` in
#: the generated server.toml refuses bigger ones with close code 1009; the handlers too.
MAX_FRAME_SIZE = WEBSOCKET_MAX_MESSAGE_SIZE
#: Largest id the database can hold (a signed 64-bit integer); bigger ones cannot exist.
MAX_DB_ID = 2**63 - 1
#: Largest id a row of ours can have: the id columns are INTEGER, 32-bit on PostgreSQL
#: (whose driver refuses a bigger parameter with an error rather than finding nothing).
MAX_ROW_ID = 2**31 - 1

#: Frames a websocket subscriber may have waiting before it is disconnected as too slow.
SUBSCRIBER_QUEUE_SIZE = 256

#: Per-connection rate limits of incoming frames: (frames per second, burst).
CHAT_RATE = (10.0, 20)
STATUS_RATE = (20.0, 40)
SYNC_RATE = (20.0, 40)
#: The request/response sockets pace a faster client instead of refusing its frames.
VALIDATION_RATE = (50.0, 50)
HISTORY_RATE = (50.0, 50)
#: Per-user limits across all of a user's connections (and, with Redis, all processes):
#: a few times one connection's limit, so several tabs work normally.
USER_CHAT_RATE = (20.0, 60)
USER_SYNC_RATE = (40.0, 120)
#: A room's client-sync relay budget (frames per second, burst), split evenly between the
#: members sending: the burst stays well below SUBSCRIBER_QUEUE_SIZE, so no reader's queue
#: fills however many accounts send at once.
ROOM_SYNC_BUDGET = (60.0, 120)
#: Error frames a connection may earn by abuse before it is closed with 1008.
MAX_STRIKES = 20

#: Longest reason a moderator may give for a ban, in characters.
MAX_BAN_REASON_LENGTH = 200
#: Longest mute, in minutes (one week).
MAX_MUTE_MINUTES = 7 * 24 * 60
#: The room-events socket only sends; frames a client sends anyway are read at this rate.
ROOM_EVENTS_RATE = (5.0, 10)
