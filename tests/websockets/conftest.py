"""Fixtures of the websocket tests: an app built in this process for Quart's test client.

The seeded ``room`` fixture is the root conftest's; the helpers the tests use (socket
paths, offered credentials, frame readers) are in :mod:`tests.support.websockets` and
:mod:`tests.support.seeding`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from quart import Quart

from pykcworkshop import create_app
from pykcworkshop.chat.api.websockets import control
from pykcworkshop.chat.backplane import EXTENSION, Backplane
from tests.support.live_server import LiveServer


@pytest.fixture
def local_app_factory(
    live_server: LiveServer, database: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., AbstractAsyncContextManager[Quart]]:
    """Build the app in this process (for Quart's test client), on the live server's database.

    It gets its own in-process backplane (broker, presence, limits); extra websocket routes
    can be added to the app before use. Settings may be overridden, e.g.
    ``ALLOWED_ORIGINS``::

        async with local_app_factory(ALLOWED_ORIGINS="https://a.example") as app: ...
    """
    # Never read a .env from the repository while building the app.
    monkeypatch.chdir(tmp_path)

    @asynccontextmanager
    async def build(**settings: Any) -> AsyncIterator[Quart]:
        app = create_app(
            {
                "SECRET_KEY": live_server.env["SECRET_KEY"],
                "DB_URI": live_server.env["DB_URI"],
                "SITE_ROOT": "https://chat.example",
                **settings,
            }
        )
        plane = Backplane()
        await plane.connect()
        app.extensions[EXTENSION] = plane
        listening = await control.listen(app, plane)
        try:
            yield app
        finally:
            await listening.aclose()
            await plane.disconnect()

    return build
