"""Benchmark databases: a fresh SQLite file, or a fresh PostgreSQL database dropped afterwards."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

#: The machine's PostgreSQL (trust auth on 127.0.0.1); override with --pg-dsn.
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@asynccontextmanager
async def database(backend: str, pg_admin_dsn: str = PG_ADMIN_DSN) -> AsyncIterator[str]:
    """Yield the SQLAlchemy URL of a fresh, empty database of ``backend`` (sqlite/postgresql)."""
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="pykc-bench-db-"))
        try:
            yield f"sqlite+aiosqlite:///{folder / 'chat.sqlite3'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}")
    import asyncpg

    name = f"pykc_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _old = pg_admin_dsn.rpartition("/")
    try:
        yield f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"
    finally:
        admin = await asyncpg.connect(pg_admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
