"""Limits every socket shares: frame size, bad frames, rate limits, slow clients, crashes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import pytest
from quart.testing.connections import WebsocketDisconnectError
from websockets.exceptions import ConnectionClosed

from pykcworkshop.chat.api.websockets import forwarding
from pykcworkshop.chat.api.websockets.socket import serve
from pykcworkshop.chat.backplane import EXTENSION, broker
from pykcworkshop.chat.backplane.pubsub import Event, Subscriber, SubscriberLagging
from pykcworkshop.chat.constants import (
    CHAT_RATE,
    HISTORY_RATE,
    ROOM_SYNC_BUDGET,
    STATUS_RATE,
    SYNC_RATE,
    VALIDATION_RATE,
)
from tests.support import API
from tests.support.websockets import (
    GOOD_FRAMES,
    SOCKETS,
    close_code,
    next_frame,
    offer,
    raw_connect,
    read_until_close_frame,
    recv_error,
    socket_path,
    ws_connect,
)

every_socket = pytest.mark.parametrize("socket", SOCKETS)
JSON_SOCKETS = [s for s in SOCKETS if s != "client-sync"]
#: Request/response sockets pace a fast client instead of refusing its frames.
PACED_SOCKETS = ("chat-history", "form-validation")
refusing_sockets = pytest.mark.parametrize("socket", [s for s in SOCKETS if s not in PACED_SOCKETS])
paced_sockets = pytest.mark.parametrize("socket", PACED_SOCKETS)
RATES = {
    "chat-message": CHAT_RATE,
    "member-status": STATUS_RATE,
    "client-sync": SYNC_RATE,
    "chat-history": HISTORY_RATE,
    "direct-message": CHAT_RATE,
    "form-validation": VALIDATION_RATE,
}
MAX_FRAME = 64 * 1024

#: Frames that are not a JSON object, for the sockets that expect one.
NOT_A_JSON_OBJECT = {
    "not JSON": "hello {",
    "empty": "",
    "array": "[1, 2, 3]",
    "string": '"text"',
    "number": "42",
    "null": "null",
    "deeply nested": "[" * 50_000,
}


async def is_error(ws) -> bool:
    frame = json.loads(await next_frame(ws))
    return isinstance(frame, dict) and set(frame) == {"error"}


# ---------------------------------------------------------------- frame size


@every_socket
async def test_frame_over_64_kib_closes_the_connection_with_1009(ws_url, room, socket):
    async with ws_connect(ws_url, socket_path(room, socket), room.owner) as ws:
        await ws.send("x" * (MAX_FRAME + 1))
        assert await close_code(ws) == 1009


async def test_app_itself_closes_with_1009_when_the_server_allows_bigger_frames(local_app_factory):
    # Quart's test client has no frame limit, unlike our hypercorn config: the app's own.
    async with local_app_factory() as app:
        client = app.test_client()
        async with client.websocket(f"{API}/form-validation", scope_base={"subprotocols": offer()}) as ws:
            await ws.send("x" * (MAX_FRAME + 1))
            with pytest.raises(WebsocketDisconnectError) as closed:
                await asyncio.wait_for(ws.receive(), 5)
            assert closed.value.args[0] == 1009


async def test_frame_of_64_kib_is_accepted(ws_url, room):
    frame = "x" * MAX_FRAME
    async with ws_connect(ws_url, room.path("client-sync"), room.owner) as ws:
        await ws.send(frame)
        assert await next_frame(ws) == frame


# ---------------------------------------------------------------- bad frames


@pytest.mark.parametrize("socket", JSON_SOCKETS)
async def test_frame_that_is_not_a_json_object_gets_an_error_and_the_connection_stays_usable(
    ws_url, room, socket
):
    async with ws_connect(ws_url, socket_path(room, socket), room.owner) as ws:
        for kind, frame in NOT_A_JSON_OBJECT.items():
            await ws.send(frame)
            assert await is_error(ws), kind
            await ws.send(GOOD_FRAMES[socket])
            assert not await is_error(ws), kind


@every_socket
async def test_binary_frame_gets_an_error_and_the_connection_stays_usable(ws_url, room, socket):
    async with ws_connect(ws_url, socket_path(room, socket), room.owner) as ws:
        await ws.send(json.dumps({"content": "binary"}).encode())
        await recv_error(ws)
        await ws.send(GOOD_FRAMES[socket])
        frame = await next_frame(ws)
        assert frame == GOOD_FRAMES[socket] if socket == "client-sync" else "error" not in json.loads(frame)


@pytest.mark.parametrize("socket", ["chat-message", "direct-message"])
async def test_bad_frames_are_not_broadcast(ws_url, room, socket):
    path = socket_path(room, socket)
    other_path = f"/{room.owner.id}/direct-message" if socket == "direct-message" else path
    async with (
        ws_connect(ws_url, path, room.owner) as sender,
        ws_connect(ws_url, other_path, room.member) as other,
    ):
        for frame in NOT_A_JSON_OBJECT.values():
            await sender.send(frame)
            await recv_error(sender)
        await sender.send(GOOD_FRAMES[socket])
        assert json.loads(await next_frame(other))["content"] == "still here"


# ---------------------------------------------------------------- rate limits


@refusing_sockets
async def test_frames_over_the_rate_limit_get_an_error_and_the_connection_stays_open(ws_url, room, socket):
    _, burst = RATES[socket]
    count = burst + 10
    async with ws_connect(ws_url, socket_path(room, socket), room.owner) as ws:
        for _ in range(count):
            await ws.send(GOOD_FRAMES[socket])
        if socket == "member-status":
            # Served statuses conflate (only each user's latest waits), so fewer come back.
            replies = await frames_until_quiet(ws)
            assert 0 < len(replies) <= count
        else:
            # Every frame is answered once: served, or refused with an error frame.
            replies = [await next_frame(ws) for _ in range(count)]
        errors = [reply for reply in replies if reply.startswith('{"error"')]
        assert errors and all("slow down" in json.loads(error)["error"] for error in errors)
        assert not replies[0].startswith('{"error"')
        assert ws.close_code is None


async def frames_until_quiet(ws, quiet: float = 1.0) -> list:
    """Return the frames ``ws`` receives until it is quiet for ``quiet`` seconds."""
    frames = []
    while True:
        try:
            frames.append(await next_frame(ws, quiet))
        except TimeoutError:
            return frames


@paced_sockets
async def test_frames_over_the_rate_limit_are_paced_not_refused(ws_url, room, socket):
    _, burst = RATES[socket]
    count = burst + 10
    async with ws_connect(ws_url, socket_path(room, socket), room.owner) as ws:
        for _ in range(count):
            await ws.send(GOOD_FRAMES[socket])
        replies = [await next_frame(ws) for _ in range(count)]
        assert not any(reply.startswith('{"error"') for reply in replies)
        assert ws.close_code is None


@refusing_sockets
async def test_sustained_flood_gets_errors_then_close_1008(ws_url, room, socket):
    async with ws_connect(ws_url, socket_path(room, socket), room.owner) as ws:
        try:
            for _ in range(500):
                await ws.send(GOOD_FRAMES[socket])
        except ConnectionClosed:
            pass
        frames = []
        try:
            async with asyncio.timeout(5):
                async for frame in ws:
                    frames.append(frame)
        except ConnectionClosed:
            pass
        assert any(isinstance(frame, str) and frame.startswith('{"error"') for frame in frames)
        assert ws.close_code == 1008


async def test_sustained_bad_frames_close_the_connection_with_1008(ws_url, room):
    async with ws_connect(ws_url, room.path("chat-message"), room.owner) as ws:
        for _ in range(25):
            await ws.send("not json")
        assert await close_code(ws) == 1008


async def test_rate_limit_is_per_connection(ws_url, room):
    path = room.path("chat-history")
    async with ws_connect(ws_url, path, room.owner) as flooded, ws_connect(ws_url, path, room.owner) as calm:
        for _ in range(HISTORY_RATE[1] + 5):
            await flooded.send(GOOD_FRAMES["chat-history"])
        await calm.send(GOOD_FRAMES["chat-history"])
        assert json.loads(await next_frame(calm)) == []


# ---------------------------------------------------------------- a client that stops reading


async def forward_frames(ws, into: asyncio.Queue | None) -> None:
    """Read ``ws`` as fast as possible, keeping the frames in ``into`` (or dropping them)."""
    with contextlib.suppress(ConnectionClosed):
        async for frame in ws:
            if into is not None:
                into.put_nowait(frame)


async def test_client_that_stops_reading_does_not_delay_the_room(ws_url, room, seed):
    # Flooders send in waves and wait for the normal client to receive each wave, so only
    # the stuck client falls behind. The first frames are large (compressed for everyone
    # but the stuck client, which negotiated no compression) to fill its TCP buffers; then
    # more than 256 frames pile up in its server-side queue.
    flooders_count, per_wave, waves, large = 12, 7, 5, 120
    path = room.path("client-sync")
    stuck = await raw_connect(ws_url, path, offer(bearer=room.owner.token))
    received: asyncio.Queue[str] = asyncio.Queue()
    async with contextlib.AsyncExitStack() as stack:
        normal = await stack.enter_async_context(ws_connect(ws_url, path, room.member))
        # One user each, so the flood stays within every user's own rate limit.
        flooder_users = [await seed.user() for _ in range(flooders_count)]
        await seed.join(room.hash, *flooder_users)
        flooders = [await stack.enter_async_context(ws_connect(ws_url, path, user)) for user in flooder_users]
        readers = [asyncio.create_task(forward_frames(normal, received))]
        readers += [asyncio.create_task(forward_frames(flooder, None)) for flooder in flooders]
        try:
            sent = 0
            for _ in range(waves):
                batches = []
                for flooder in flooders:
                    frames = [
                        "x" * 60_000 if sent + n < large else f"small {sent + n}" for n in range(per_wave)
                    ]
                    sent += per_wave
                    batches.append(send_all(flooder, frames))
                await asyncio.gather(*batches)
                for _ in range(per_wave * flooders_count):
                    await asyncio.wait_for(received.get(), 10)
                # Stay within each flooder's fair share of the room's relay budget.
                await asyncio.sleep(per_wave / (ROOM_SYNC_BUDGET[0] / (flooders_count + 1)))
            await flooders[0].send("marker")
            assert await asyncio.wait_for(received.get(), 1.0) == "marker"
            assert normal.close_code is None
            # The stuck client was dropped: after what its buffers hold comes a close frame.
            assert await asyncio.wait_for(read_until_close_frame(stuck), 10) == 1013
        finally:
            for reader in readers:
                reader.cancel()
            stuck.close()


async def send_all(ws, frames: list[str]) -> None:
    for frame in frames:
        await ws.send(frame)


async def subscribed_route(app, path: str, channel: str) -> None:
    """Add a websocket route at ``path`` whose handler forwards ``channel`` and says "subscribed"."""

    @app.websocket(path)
    async def forwarded_handler() -> None:
        async with serve((100.0, 100), channel) as socket:
            await socket.send_json("subscribed")
            async for _ in socket.text_frames():
                pass


async def test_connection_that_falls_256_frames_behind_is_closed_with_1013_and_unsubscribed(
    local_app_factory, monkeypatch
):
    slow_sends(monkeypatch)
    async with local_app_factory() as app:
        chat_broker = app.extensions[EXTENSION].broker
        await subscribed_route(app, "/test/lag", "test:lag")
        async with app.test_client().websocket("/test/lag") as ws:
            assert json.loads(await asyncio.wait_for(ws.receive(), 5)) == "subscribed"
            # Handed over in one go: the first is being sent, the next 256 fill the
            # queue, and the last one does not fit.
            for n in range(chat_broker.capacity + 2):
                chat_broker.deliver(Event("test:lag", str(n)))
            with pytest.raises(WebsocketDisconnectError) as closed:
                while True:
                    await asyncio.wait_for(ws.receive(), 5)
            assert closed.value.args[0] == 1013
        assert chat_broker.subscriber_count("test:lag") == 0


def slow_sends(monkeypatch) -> list[str]:
    """Make every broadcast send take 10 ms, as to a client that reads slowly; return the sends done."""
    done: list[str] = []

    def sender():
        async def send(text: str) -> None:
            await asyncio.sleep(0.01)
            done.append(text)

        return send

    monkeypatch.setattr(forwarding, "text_sender", sender)
    return done


def stuck_sends(monkeypatch) -> list[str]:
    """Make every broadcast send hang, as to a client that stopped reading; return the sends begun."""
    begun: list[str] = []

    def sender():
        async def send(text: str) -> None:
            begun.append(text)
            await asyncio.Event().wait()

        return send

    monkeypatch.setattr(forwarding, "text_sender", sender)
    return begun


async def test_forwarding_gives_up_on_a_send_stuck_longer_than_send_timeout(local_app_factory, monkeypatch):
    monkeypatch.setattr(forwarding, "SEND_TIMEOUT", 0.1)
    begun = stuck_sends(monkeypatch)
    async with local_app_factory() as app:
        chat_broker = app.extensions[EXTENSION].broker
        await subscribed_route(app, "/test/stuck", "stuck")
        async with app.test_client().websocket("/test/stuck") as ws:
            assert json.loads(await asyncio.wait_for(ws.receive(), 5)) == "subscribed"
            chat_broker.deliver(Event("stuck", "one"))
            with pytest.raises(WebsocketDisconnectError) as closed:
                await asyncio.wait_for(ws.receive(), 5)
            assert closed.value.args[0] == 1013
            assert begun == ["one"]
        assert chat_broker.subscriber_count("stuck") == 0


async def test_forwarding_interrupts_a_stuck_send_when_the_broker_drops_the_subscriber(
    local_app_factory, monkeypatch
):
    monkeypatch.setattr(forwarding, "SEND_TIMEOUT", 3600.0)  # only the drop can end it
    stuck_sends(monkeypatch)
    async with local_app_factory() as app:
        chat_broker = app.extensions[EXTENSION].broker
        await subscribed_route(app, "/test/dropped", "dropped")
        async with app.test_client().websocket("/test/dropped") as ws:
            assert json.loads(await asyncio.wait_for(ws.receive(), 5)) == "subscribed"
            chat_broker.deliver(Event("dropped", "first"))
            await asyncio.sleep(0.05)  # the sender takes it and hangs in the send
            for n in range(chat_broker.capacity + 1):
                chat_broker.deliver(Event("dropped", str(n)))
            with pytest.raises(WebsocketDisconnectError) as closed:
                await asyncio.wait_for(ws.receive(), 5)
            assert closed.value.args[0] == 1013
        assert chat_broker.subscriber_count("dropped") == 0


async def test_messages_published_while_a_send_waits_follow_it_in_order(local_app_factory, monkeypatch):
    # The first send waits (a full socket buffer) and is finished by a tail task; the
    # messages published meanwhile queue behind it, and once it is out, sends are direct again.
    gate = asyncio.Event()
    lean_sender = forwarding.text_sender

    def sender():
        send = lean_sender()

        async def gated_send(text: str) -> None:
            if text == "0":
                await gate.wait()
            await send(text)

        return gated_send

    monkeypatch.setattr(forwarding, "text_sender", sender)
    async with local_app_factory() as app:
        chat_broker = app.extensions[EXTENSION].broker
        await subscribed_route(app, "/test/order", "order")
        async with app.test_client().websocket("/test/order") as ws:
            assert json.loads(await asyncio.wait_for(ws.receive(), 5)) == "subscribed"
            for n in range(4):
                chat_broker.deliver(Event("order", str(n)))
            await asyncio.sleep(0.05)
            gate.set()
            assert [await asyncio.wait_for(ws.receive(), 5) for _ in range(4)] == ["0", "1", "2", "3"]
            chat_broker.deliver(Event("order", "4"))
            assert await asyncio.wait_for(ws.receive(), 5) == "4"


async def test_a_failing_send_closes_only_its_connection_with_1011(local_app_factory, monkeypatch):
    lean_sender = forwarding.text_sender
    senders = 0

    def sender():
        nonlocal senders
        senders += 1
        if senders == 2:

            async def failing_send(text: str) -> None:
                raise RuntimeError("a bug in the send path")

            return failing_send
        return lean_sender()

    monkeypatch.setattr(forwarding, "text_sender", sender)
    async with local_app_factory() as app:
        chat_broker = app.extensions[EXTENSION].broker
        await subscribed_route(app, "/test/failing", "failing")
        client = app.test_client()
        async with client.websocket("/test/failing") as healthy, client.websocket("/test/failing") as broken:
            for ws in (healthy, broken):
                assert json.loads(await asyncio.wait_for(ws.receive(), 5)) == "subscribed"
            chat_broker.deliver(Event("failing", "hello"))  # the publisher sees no error
            with pytest.raises(WebsocketDisconnectError) as closed:
                await asyncio.wait_for(broken.receive(), 5)
            assert closed.value.args[0] == 1011
            assert await asyncio.wait_for(healthy.receive(), 5) == "hello"
            assert chat_broker.subscriber_count("failing") == 1


async def test_a_subscriber_dropped_while_its_reader_waits_wakes_the_reader():
    subscriber = Subscriber("test:dropped", 4)
    reading = asyncio.create_task(subscriber.get())
    await asyncio.sleep(0)
    subscriber.drop(SubscriberLagging("behind"))
    with pytest.raises(SubscriberLagging):
        await asyncio.wait_for(reading, 5)
    assert subscriber.is_dropped and subscriber.dropped.is_set()


# ---------------------------------------------------------------- handler crash


async def test_handler_crash_closes_only_that_connection_with_1011_and_is_logged(local_app_factory, caplog):
    async with local_app_factory() as app:

        @app.websocket("/test/crash")
        async def crashing_handler() -> None:
            async with serve((100.0, 100), "test:crash") as socket:
                async for frame in socket.text_frames():
                    if frame == "crash":
                        raise RuntimeError("a bug in the handler")
                    await broker().publish_text("test:crash", frame)

        package_log = logging.getLogger("pykcworkshop")
        package_log.addHandler(caplog.handler)
        try:
            client = app.test_client()
            async with (
                client.websocket("/test/crash") as victim,
                client.websocket("/test/crash") as bystander,
            ):
                await victim.send("crash")
                with pytest.raises(WebsocketDisconnectError) as closed:
                    await asyncio.wait_for(victim.receive(), 5)
                assert closed.value.args[0] == 1011
                await bystander.send("still alive")
                assert await asyncio.wait_for(bystander.receive(), 5) == "still alive"
                assert app.extensions[EXTENSION].broker.subscriber_count("test:crash") == 1
        finally:
            package_log.removeHandler(caplog.handler)
    assert any(
        record.levelno == logging.ERROR
        and "a bug in the handler" in (record.exc_text or str(record.exc_info))
        for record in caplog.records
    )
