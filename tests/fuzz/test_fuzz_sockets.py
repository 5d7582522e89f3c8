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
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.support.fuzzing import FRAMES, LONG_RUN, FuzzSession
from tests.support.strategies import frames
from tests.support.websockets import SOCKETS

#: Frames per batch (a sentinel after each): small in the suite, to stay inside bursts.
MIN_BATCH, BATCH = (20, 60) if LONG_RUN else (1, 4)
#: Examples per Hypothesis run; the long run repeats runs until FRAMES frames were sent.
EXAMPLES = 250 if LONG_RUN else 4
#: The long run only generates: shrinking a failure against a live server would take
#: hours, and the failing batch is reported as it was sent.
PHASES = (Phase.generate,) if LONG_RUN else tuple(Phase)


@pytest.mark.parametrize("socket", SOCKETS)
def test_hostile_frames_never_break_a_socket(fuzz_server, socket):
    log_before = len(fuzz_server.log)
    with asyncio.Runner() as runner:
        session = runner.run(FuzzSession.open(fuzz_server.http_url, fuzz_server.ws_url, socket))

        def run_hypothesis(examples: int) -> None:
            @settings(
                max_examples=examples,
                phases=PHASES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(st.lists(frames(socket), min_size=MIN_BATCH, max_size=BATCH))
            def check(batch: list[str | bytes]) -> None:
                runner.run(session.check(batch))

            check()

        started = time.monotonic()
        failure = ""
        try:
            run_hypothesis(min(EXAMPLES, _batches_left(session)))
            while session.frames_sent < FRAMES:  # the long run: more runs, the last one shorter
                _report(session, time.monotonic() - started, "")  # progress, for a look mid-run
                run_hypothesis(min(EXAMPLES, _batches_left(session)))
            runner.run(session.finish())
            log = fuzz_server.log[log_before:]
            assert "handler failed" not in log and "Traceback" not in log, log[-3000:]
        except BaseException as error:
            failure = f"{type(error).__name__}: {str(error)[:300]}"
            runner.run(session.close())
            raise
        finally:
            _report(session, time.monotonic() - started, failure)


def _batches_left(session: FuzzSession) -> int:
    """Batches (of the mean size) that bring the long run to FRAMES (the short run: all)."""
    if not LONG_RUN:
        return EXAMPLES
    return max(1, (FRAMES - session.frames_sent) * 2 // (MIN_BATCH + BATCH) + 1)


def _report(session: FuzzSession, seconds: float, failure: str) -> None:
    """Write this socket's counts for ``hatch run fuzz`` (``PYKC_FUZZ_REPORT``), if asked."""
    report = os.environ.get("PYKC_FUZZ_REPORT")
    if report:
        counts = {
            "socket": session.socket,
            "frames": session.frames_sent,
            "errors": session.error_frames,
            "batches": session.batches,
            "seconds": seconds,
            "failure": failure,
        }
        Path(report, f"{session.socket}.json").write_text(json.dumps(counts))
