"""Alembic environment: runs migrations on the app's async engine.

The database comes from, in order: ``alembic -x db_uri=...``; a URL set on the Alembic
config (``sqlalchemy.url``, for programmatic use); ``DB_URI`` from the environment or the
working directory's ``.env``; the app's default SQLite file ``instance/chat.sqlite3``.

Code that already runs an event loop can hand over a connection instead:
``config.attributes["connection"] = sync_connection`` inside ``AsyncConnection.run_sync``.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig
from pathlib import Path
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from dotenv import load_dotenv
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from pykcworkshop.chat.db.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata

# The command line logs as alembic.ini says; programs calling alembic keep their logging
# by setting config.attributes["configure_logger"] = False.
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """Return the URL of the database to migrate (see the module docstring)."""
    url = context.get_x_argument(as_dictionary=True).get("db_uri") or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    load_dotenv(Path.cwd() / ".env", override=False)
    if os.environ.get("DB_URI"):
        return os.environ["DB_URI"]
    # The same default as the app factory (pykcworkshop._build_app).
    instance = Path.cwd() / "instance"
    instance.mkdir(exist_ok=True)
    return f"sqlite+aiosqlite:///{instance / 'chat.sqlite3'}"


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write the app's column types as plain SQLAlchemy types into revision files."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        **options,
    )


def do_run_migrations(connection: Connection) -> None:
    # SQLite cannot ALTER most things in place; batch mode recreates the table.
    configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    """Write the SQL to stdout (``alembic upgrade head --sql``) instead of running it."""
    url = database_url()
    configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations(database_url()))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
