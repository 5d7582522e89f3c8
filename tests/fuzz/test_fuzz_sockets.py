"""Property-based fuzzing of every websocket (issue 14): hostile frames never break a socket.

For every socket, Hypothesis generates batches of frames (:mod:`tests.support.strategies`);
:class:`tests.support.fuzzing.FuzzSession` checks that the connection never closes (no
1011, no 1006), answers every reply as an error frame or a well-formed reply, still
serves good input after each batch, and that a second client in the same room receives
every broadcast in order. The server's log must hold no handler failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fuzzing import FRAMES, LONG_RUN, FuzzSession
from tests.support.strategies import frames
from tests.support.websockets import SOCKETS

#: Frames per batch (one sentinel after each): small in the suite, to stay inside bursts.
MIN_BATCH, BATCH = (25, 50) if LONG_RUN else (1, 4)
#: Examples per Hypothesis run; the long run repeats runs until FRAMES frames were sent.
EXAMPLES = 500 if LONG_RUN else 4


@pytest.mark.parametrize("socket", SOCKETS)
def test_hostile_frames_never_break_a_socket(fuzz_server, socket):
    log_before = len(fuzz_server.log)
    with asyncio.Runner() as runner:
        session = runner.run(FuzzSession.open(fuzz_server.http_url, fuzz_server.ws_url, socket))

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.lists(frames(socket), min_size=MIN_BATCH, max_size=BATCH))
        def check(batch: list[str | bytes]) -> None:
            runner.run(session.check(batch))

        started = time.monotonic()
        try:
            check()
            while session.frames_sent < FRAMES:
                check()
        finally:
            runner.run(session.finish())
    log = fuzz_server.log[log_before:]
    assert "handler failed" not in log and "Traceback" not in log, log[-3000:]
    report = os.environ.get("PYKC_FUZZ_REPORT")
    if report:
        seconds = time.monotonic() - started
        Path(report, f"{socket}.json").write_text(
            json.dumps({"socket": socket, "frames": session.frames_sent, "seconds": seconds})
        )
