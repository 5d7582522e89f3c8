"""Fixtures of the HTTP tests: a seeded user and room on the live server's database."""

from __future__ import annotations

import pytest

from tests.support.seeding import SeededUser, Seeder


@pytest.fixture
async def user(seed: Seeder) -> SeededUser:
    """A fresh user with a valid session token."""
    return await seed.user()


@pytest.fixture
async def room(seed: Seeder) -> str:
    """The hash of a fresh room owned by a fresh user."""
    return await seed.room(await seed.user())
