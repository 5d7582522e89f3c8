"""Fixtures for the compatibility tests: a seeded room, as the websocket tests have it."""

from __future__ import annotations

import pytest

from tests.websockets.conftest import Room, seed_room


@pytest.fixture
async def room(database: None) -> Room:
    """A fresh room with an owner, a second member, and a user who is not a member."""
    return await seed_room()
