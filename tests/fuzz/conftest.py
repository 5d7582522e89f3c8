"""Fuzz settings: a few examples in the suite's run, 10^5 frames per socket in ``hatch run fuzz``.

``PYKC_FUZZ_FRAMES`` (set by ``hatch run fuzz``) is the number of frames per socket; then
the sockets are fuzzed on a server whose rate limits are lifted
(:mod:`tests.support.fuzz_app`), on the session's database, and each test writes its
counts to ``PYKC_FUZZ_REPORT`` (a directory).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fuzzing import LONG_RUN
from tests.support.introspect_app import introspected_env
from tests.support.live_server import LiveServer


@pytest.fixture(scope="session")
def fuzz_server(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The session's live server, or (long run) one of the lifted app on its database."""
    if not LONG_RUN:
        yield live_server
        return
    server = LiveServer(
        tmp_path_factory.mktemp("fuzz"),
        introspected_env({**live_server.env, "MAX_SOCKETS_PER_ADDRESS": "10000"}),
        app="tests.support.fuzz_app:create_app()",
    )
    yield server.start()
    server.stop()
