"""An app made by ``async_create_app()`` in a test's own event loop shuts down quietly.

Older suites (pytest-asyncio 0.21) build the app in a session-scoped loop, use
``app.test_client()``, and simply close the loop at the end, never calling a shutdown hook.
Nothing may then be logged at ERROR (no "Task was destroyed but it is pending!", no
"Event loop is closed" traceback from a background task) and no warning may be raised.

The scenario runs in a fresh interpreter: the app factory repoints the process-wide data
layer, which the other tests in this process share.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

SCENARIO = r"""
import asyncio, gc, json, logging, sys, warnings

class Recorder(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []
    def emit(self, record):
        self.records.append(f"{record.levelname} {record.name}: {record.getMessage()}")

recorder = Recorder()
logging.getLogger().addHandler(recorder)
logging.getLogger("pykcworkshop").addHandler(recorder)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from pykcworkshop import async_create_app
    from pykcworkshop.chat.tokens import generate_csrf

    # What pytest-asyncio 0.21's session-scoped event_loop fixture does.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def use_the_app():
        app = await async_create_app({"DB_URI": sys.argv[1]})
        client = app.test_client()
        headers = {"X-CSRF-TOKEN": generate_csrf()}
        assert (await client.get("/chat/")).status_code == 200
        created = await client.post("/chat/api/v1/user/create", json={"user_name": "alice"}, headers=headers)
        assert created.status_code == 201
        key = (await created.get_json())["user_hash"]
        login = await client.post("/chat/api/v1/user/login", json={"user_hash": key}, headers=headers)
        token = (await login.get_json())["user_token"]
        headers["Authorization"] = f"Bearer {token}"
        room = await client.post("/chat/api/v1/room/create", json={"room_name": "r"}, headers=headers)
        assert room.status_code == 201

    loop.run_until_complete(use_the_app())
    loop.close()
    asyncio.set_event_loop(None)
    gc.collect()

print(json.dumps({
    "errors": [line for line in recorder.records if line.startswith(("ERROR", "CRITICAL"))],
    "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
}))
"""


def test_closing_the_loop_without_shutdown_logs_no_error_and_raises_no_warning(tmp_path: Path) -> None:
    env = {**os.environ, "SECRET_KEY": secrets.token_hex(32), "BROKER_URL": "memory://"}
    database = f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO, database],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"errors": [], "warnings": []}, report
    for sign in ("Task was destroyed", "Event loop is closed", "Traceback"):
        assert sign not in done.stderr, done.stderr
