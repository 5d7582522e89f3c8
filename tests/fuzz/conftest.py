"""Fuzz settings: a few examples in the suite's run, 10^5 frames per socket in ``hatch run fuzz``.

``PYKC_FUZZ_FRAMES`` (set by ``hatch run fuzz``) is the number of frames per socket; then
the sockets are fuzzed on a server whose rate limits are lifted
(:mod:`tests.support.fuzz_app`), on the session's database, and each test writes its
counts to ``PYKC_FUZZ_REPORT`` (a directory).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.fuzzing import LONG_RUN
from tests.support.introspect_app import introspected_env
from tests.support.live_server import LiveServer, live_backends, server_env


@pytest.fixture(scope="session")
def fuzz_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[LiveServer]:
    """The session's live server, or (long run) only a server of the lifted app, on the
    session's kind of database (one server per worker: the normal one would idle)."""
    if not LONG_RUN:
        yield request.getfixturevalue("live_server")
        return
    workdir = tmp_path_factory.mktemp("fuzz")
    with live_backends(
        pg=pytestconfig.getoption("--pg"), redis=pytestconfig.getoption("--redis")
    ) as overrides:
        env = server_env(workdir, **overrides, MAX_SOCKETS_PER_ADDRESS="10000")
        server = LiveServer(workdir, introspected_env(env), app="tests.support.fuzz_app:create_app()")
        os.environ["SECRET_KEY"] = env["SECRET_KEY"]  # sign CSRF tokens as the server does
        try:
            yield server.start()
        finally:
            server.stop()
