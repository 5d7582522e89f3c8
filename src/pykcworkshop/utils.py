"""Small helpers shared across the app."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from quart import current_app, has_app_context

from pykcworkshop.config import load_settings


def get_domain() -> str:
    """Return the configured ``SITE_ROOT`` (e.g. ``http://localhost:8000``), no trailing slash.

    Inside a request or app context it reads the app's config; elsewhere (scripts) the
    environment and ``.env``.
    """
    settings = current_app.config if has_app_context() else load_settings(first_start=False)
    return str(settings["SITE_ROOT"]).rstrip("/")


def now() -> datetime:
    """Return the current time as an aware UTC datetime: the clock messages are stamped with.

    >>> now().utcoffset()
    datetime.timedelta(0)
    """
    return datetime.now(UTC)


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task (if there is one) and wait until it has finished."""
    if task is None:
        return
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
