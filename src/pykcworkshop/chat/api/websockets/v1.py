"""Websocket API v1 under ``ws(s)://<host>/chat/api/v1``: the six realtime sockets.

Each handler's docstring is its complete specification (and the workshop assignment).
What every socket does the same way is implemented once, in two modules next to this one:

- :mod:`.handshake`, the guard. The handshake carries the credentials as subprotocols:
  ``csrf<csrf token>`` always, ``Bearer<user_token>`` for authenticated sockets. ``admit()``,
  ``admit_room_member()`` and ``admit_dm_partner()`` refuse before accepting, as plain HTTP
  responses: 401 for a bad or missing token, 403 when not allowed (not a member, no shared
  room, or a page from a foreign ``Origin``), 404 for an unknown room or user.
- :mod:`.socket`, the runtime. ``serve(rate, channel)`` accepts the handshake, forwards
  everything published on ``channel`` to this client, and hands the handler the client's
  frames. It selects ``chat.v1`` whenever the client offers it; otherwise it selects
  another offered entry only for a browser (the request has an ``Origin`` header; browsers
  drop a connection on which nothing was selected), and none for other clients: those
  that write the credentials into a raw ``Sec-WebSocket-Protocol`` header declare no
  subprotocols and abort on any selection.
- A frame it cannot use (binary, not JSON, not a JSON object, over the per-connection rate
  ``rate``) gets ``{"error": "<reason>"}`` back, to this client only, and the connection
  stays open; a client that keeps at it is closed with 1008. The request/response sockets
  (chat-history, form-validation) use ``serve(rate, pace=True)`` instead: a client faster
  than ``rate`` is not refused, its next frame is simply read once the rate allows it.
  Frames over 64 KiB close the connection with 1009, a client that cannot keep up with its
  room with 1013, and a crash in the handler closes only its own connection, with 1011.
- ``broker().publish(channel, event)`` sends an event to every subscriber of a channel,
  in every server process.

docs/protocol.md describes the same sockets for people who write clients.
"""

from __future__ import annotations

from quart import Blueprint

from pykcworkshop.chat.api.websockets.handshake import admit, admit_dm_partner, admit_room_member
from pykcworkshop.chat.api.websockets.socket import present, serve, status_event, status_key
from pykcworkshop.chat.backplane import backplane, broker
from pykcworkshop.chat.channels import dm_channel, room_channel
from pykcworkshop.chat.constants import (
    CHAT_RATE,
    HISTORY_RATE,
    STATUS_RATE,
    SYNC_RATE,
    USER_CHAT_RATE,
    USER_SYNC_RATE,
    VALIDATION_RATE,
)
from pykcworkshop.chat.forms import form_problem
from pykcworkshop.chat.groupcommit import Muted, NotStored
from pykcworkshop.chat.messages import (
    load_history,
    new_direct_message,
    parse_history_request,
    store_chat_message,
)

bp = Blueprint("websockets_v1", __name__, url_prefix="/chat/api/v1")

USER_STATUSES = ("Online", "Typing", "Offline")


@bp.websocket("/room/<room_hash>/chat-message")
async def chat_message(room_hash: str) -> None:
    """Realtime chat between the members of a room.

    Who may connect: a member of the room. Refuse with 401 for a bad or missing CSRF or
    Bearer token, 404 if the room does not exist, 403 if the user is not a member
    (``admit_room_member``).

    The client sends ``{"content": str}``. A ``user_name`` key may be present: ignore it,
    the author is always the authenticated user.

    - Empty ``content`` (``""``) is dropped silently: no reply, nothing stored.
    - ``content`` that is missing, not a string, or longer than 512 characters gets an
      error frame ``{"error": "<reason>"}`` to this client only; the connection stays open.
    - Otherwise store the message in the database first, then publish its message object
      ``{"user_name", "user_id", "content", "timestamp", "id"}`` (``timestamp``: ISO 8601
      with a UTC offset, e.g. ``2024-05-01T12:00:00.123456+00:00``) to this room's
      chat-message channel: every connection on this room's chat-message socket receives
      it, the sender included. One connection's messages arrive in the order it sent them.
    - A muted member gets an error frame saying until when instead
      (``store_chat_message`` raises ``Muted``, whose text is the reason); nothing is
      stored or sent. Kicked and banned users are no longer members, so their sockets are
      closed and their handshakes refused with 403.
    - A message the database cannot store (busy past its retries) gets an error frame and
      is not published; the connection stays open.
    """
    user = await admit_room_member(room_hash)
    channel = room_channel(room_hash, "chat-message")
    async with serve(CHAT_RATE, channel, per_user=(f"{user.user_id}:chat", USER_CHAT_RATE)) as socket:
        async for content in socket.message_contents():
            try:
                stored = await store_chat_message(user, room_hash, content)
            except Muted as muted:
                await socket.send_error(str(muted))
                continue
            except NotStored:
                # Not acknowledged, so the client may send it again; the socket stays open
                # (and a busy database is no strike against the client).
                await socket.send_json({"error": "message not stored (the database is busy); send it again"})
                continue
            await broker().publish(channel, stored)


@bp.websocket("/room/<room_hash>/member-status")
async def member_status(room_hash: str) -> None:
    """Live status of a room's members: Online, Typing or Offline.

    Who may connect: a member of the room (401 / 404 / 403 before accepting, as for
    chat-message).

    The server sends nothing when a client connects. The client sends
    ``{"user_status": "Online" | "Typing" | "Offline"}``; ``user_id`` and ``user_name`` keys
    may be present and are ignored. Publish ``{"user_id", "user_name", "user_status"}``
    (id and name of the authenticated user) to every connection on this room's
    member-status socket, the sender included. Any other ``user_status`` gets an error
    frame to this client only.

    When a user's *last* member-status connection to this room closes, for any reason
    (closed tab, lost network, closed by the server), publish the same shape with
    ``"user_status": "Offline"``. While the user still has another such connection open
    (a second tab), closing one sends nothing. ``present()`` counts the connections.
    Status events conflate per user: a client that has not read them yet gets only each
    user's latest status.
    """
    user = await admit_room_member(room_hash)
    channel = room_channel(room_hash, "member-status")
    per_user = (f"{user.user_id}:status", USER_SYNC_RATE)
    async with serve(STATUS_RATE, channel, per_user=per_user) as socket, present(room_hash, user, channel):
        async for frame in socket.json_objects():
            status = frame.get("user_status")
            if status not in USER_STATUSES:
                await socket.send_error(f"user_status must be one of {', '.join(USER_STATUSES)}")
                continue
            # Conflated: a flood of statuses holds one slot per user in every queue.
            await broker().publish(channel, status_event(user, status), conflate=status_key(user))


@bp.websocket("/room/<room_hash>/client-sync")
async def client_sync(room_hash: str) -> None:
    """A relay that lets the room's clients keep each other in sync.

    Who may connect: a member of the room (401 / 404 / 403 before accepting).

    The client sends any text frame. Relay it unchanged, byte for byte, to every
    connection on this room's client-sync socket, the sender included. The server does
    not parse or store it; the clients agree on its meaning (our frontend's protocol is
    documented in ``static/sync.mjs``). Binary frames get an error frame. The room has a
    relay budget (``ROOM_SYNC_BUDGET``) shared evenly between the members sending: a frame
    over the sender's share gets an error frame instead, so no reader's queue fills.
    """
    user = await admit_room_member(room_hash)
    channel = room_channel(room_hash, "client-sync")
    async with serve(SYNC_RATE, channel, per_user=(f"{user.user_id}:sync", USER_SYNC_RATE)) as socket:
        async for frame in socket.text_frames():
            # The room's budget is shared fairly: a flooder is refused, nobody is evicted.
            if not backplane().sync_budget.allow(room_hash, str(user.user_id)):
                await socket.send_error("this room is busy; slow down")
                continue
            await broker().publish_text(channel, frame)


@bp.websocket("/room/<room_hash>/chat-history")
async def chat_history(room_hash: str) -> None:
    """Pages of a room's past messages, for infinite scroll.

    Who may connect: a member of the room (401 / 404 / 403 before accepting).

    The client sends ``{"timestamp": number, "chunk_size": int, "newer": bool}``:
    ``timestamp`` in milliseconds since the epoch (UTC), ``chunk_size`` an integer from 1
    to 100, ``newer`` optional (default false). Reply to this client only with a JSON
    array of message objects of this room (as chat-message sends them, with ``id``):

    - ``newer`` false: the newest ``chunk_size`` messages strictly older than
      ``timestamp``, newest first;
    - ``newer`` true: the oldest ``chunk_size`` messages strictly newer than
      ``timestamp``, oldest first.

    Messages with equal timestamps are ordered by ``id``. Optionally the client adds
    ``"before_id"`` (with newer false) or ``"after_id"`` (with newer true): the id of the
    message the page continues from, e.g. the oldest one it shows. The boundary is then
    that message's exact (timestamp, id) instead of ``timestamp``, so messages that share
    a timestamp are never skipped or repeated from one page to the next. (An id that is
    not a message of this room is ignored.) An invalid request gets an error frame to
    this client only.
    """
    await admit_room_member(room_hash)
    async with serve(HISTORY_RATE, pace=True) as socket:
        async for frame in socket.json_objects():
            request = parse_history_request(frame)
            if isinstance(request, str):
                await socket.send_error(request)
                continue
            await socket.send_json(await load_history(room_hash, request))


@bp.websocket("/<id:user_id>/direct-message")
async def direct_message(user_id: int) -> None:
    """Private, unsaved messages between two users who share a room.

    The path names the *other* user. Who may connect: any user who shares at least one
    room with ``user_id``; refuse with 401 for bad credentials, 404 if that user does not
    exist, 403 if the two share no room (``admit_dm_partner``).

    The client sends ``{"content": str}``. Same rules as chat-message (empty content is
    dropped silently; missing, not a string or over 512 characters: error frame), except
    that the message is never stored. The message object ``{"user_name", "user_id",
    "content", "timestamp"}`` goes only to the two participants' direct-message
    connections with each other (A's socket opened to B and B's socket opened to A), the
    sender included; nobody else receives it.
    """
    user = await admit_dm_partner(user_id)
    channel = dm_channel(user.user_id, user_id)
    async with serve(CHAT_RATE, channel, per_user=(f"{user.user_id}:chat", USER_CHAT_RATE)) as socket:
        async for content in socket.message_contents():
            await broker().publish(channel, new_direct_message(user, content))


@bp.websocket("/form-validation")
async def form_validation() -> None:
    """Realtime validation of the app's forms as the user types.

    Who may connect: anyone with a valid CSRF token (401 otherwise). A ``Bearer`` entry
    may be offered; when it is valid, create-room checks that user's rooms.

    The client sends ``{"type": "create-user" | "create-room" | "chat-message",
    "form_data": {...}}``. Reply to this client only with
    ``{"form_data": <exactly as received>, "validation_failed": bool,
    "failure_reason": str}``: ``failure_reason`` is ``""`` when valid, otherwise the first
    rule that failed, cheapest checks first:

    - create-user: ``user_name`` present, a string, non-empty after trimming, at most 32
      characters, no control characters, not taken (in any letter case);
    - create-room: ``room_name`` the same way, then not already owned by the bearer's user
      (or, without a valid bearer, by the user whose id is ``form_data["user_id"]``);
    - chat-message: ``content`` present, a string, at most 512 characters.

    An unknown ``type`` or a ``form_data`` that is not an object is a failed validation
    with a reason; a frame that is not a JSON object gets an error frame.
    """
    user = await admit(bearer="optional")
    async with serve(VALIDATION_RATE, pace=True) as socket:
        async for frame in socket.json_objects():
            form_data = frame.get("form_data")
            reason = await form_problem(frame.get("type"), form_data, user.user_id if user else None)
            await socket.send_json(
                {"form_data": form_data, "validation_failed": bool(reason), "failure_reason": reason}
            )
