"""The data layer's engine: ``initialize()`` on the live server's database and on a fresh file."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func, select

from pykcworkshop.chat import db
from tests.support import unique_name


@pytest.mark.usefixtures("database")
async def test_initialize_is_idempotent_and_keeps_data():
    async with db.get_session() as session:
        user, _ = await db.create_user(session, user_name=unique_name())
        await session.commit()
    await db.initialize()
    await db.initialize()
    async with db.get_session() as session:
        systems = await session.scalar(
            select(func.count()).select_from(db.User).where(func.lower(db.User.name) == "system")
        )
        assert systems == 1
        assert (await db.get_user_by_id(session, user.id)).name == user.name


def test_initialize_is_safe_when_processes_start_together(tmp_path):
    """Like `hypercorn --workers 4` on a fresh SQLite file: every process starts cleanly."""
    script = (
        "import asyncio, sys\n"
        "from pykcworkshop.chat import db\n"
        "db.connect(sys.argv[1])\n"
        "asyncio.run(db.initialize())\n"
    )
    uri = f"sqlite+aiosqlite:///{tmp_path / 'race.sqlite3'}"
    workers = [
        subprocess.Popen([sys.executable, "-c", script, uri], stderr=subprocess.PIPE) for _ in range(4)
    ]
    failures = [worker.communicate(timeout=60)[1].decode() for worker in workers if worker.wait(60) != 0]
    assert not failures, failures[0]
