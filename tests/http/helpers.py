"""Assertions and small builders shared by the HTTP tests."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from unittest import mock

import httpx
from itsdangerous import TimestampSigner

from pykcworkshop.chat.tokens import generate_csrf
from tests.clients import SeededUser, unique_name

PROBLEM_JSON = "application/problem+json"
#: Fragments that would show an error body leaks implementation details.
INTERNALS = (
    "traceback",
    'file "',
    ".py",
    "sqlalchemy",
    "sqlite",
    "integrityerror",
    "noresultfound",
    "keyerror",
    "typeerror",
    "valueerror",
)


def bearer(user: SeededUser | str) -> dict[str, str]:
    """Return the Authorization header of ``user`` (or of a raw token)."""
    token = user if isinstance(user, str) else user.token
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    """Assert ``response`` is an RFC 9457 problem of ``status`` that leaks no internals."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM_JSON
    body = response.json()
    assert isinstance(body, dict)
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    text = response.text.lower()
    leaked = [fragment for fragment in INTERNALS if fragment in text]
    assert not leaked, f"error body leaks {leaked}: {response.text}"
    if os.environ.get("SECRET_KEY"):
        assert os.environ["SECRET_KEY"].lower() not in text
    return body


def name_of_length(length: int, prefix: str = "n") -> str:
    """Return a name no other test uses, exactly ``length`` characters long (12 or more)."""
    name = unique_name(prefix)
    assert len(name) <= length
    return name + "x" * (length - len(name))


@contextmanager
def signed_at(moment: datetime) -> Iterator[None]:
    """Make itsdangerous stamp every token signed inside the block with ``moment``."""
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=int(moment.timestamp())):
        yield


def csrf_signed_days_ago(days: float) -> str:
    """Return a CSRF token signed with the server's secret ``days`` ago."""
    with signed_at(datetime.now(UTC) - timedelta(days=days)):
        return generate_csrf()


@contextmanager
def other_secret() -> Iterator[None]:
    """Sign tokens inside the block with a secret the server does not know."""
    with mock.patch.dict(os.environ, {"SECRET_KEY": secrets.token_hex(32)}):
        yield
