"""Assertions, bad inputs and token builders shared by the HTTP tests."""

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
from tests.support import unique_name
from tests.support.seeding import SeededUser

PROBLEM_JSON = "application/problem+json"

#: Bodies that are not a JSON object, sent as raw bytes with a JSON content type.
NOT_AN_OBJECT = {
    "no body": b"",
    "not JSON": b"user_name=ada",
    "truncated JSON": b'{"user_name": ',
    "invalid UTF-8": b"\xff\xfe\xfd",
    "JSON array": b'["ada"]',
    "JSON string": b'"ada"',
    "JSON number": b"42",
    "JSON null": b"null",
    "deeply nested JSON": b'{"a": ' * 10_000,
    "deeply nested array": b"[" * 50_000,
}
#: Values of the right key but the wrong JSON type.
WRONG_TYPES = {"number": 42, "null": None, "list": ["ada"], "object": {"name": "ada"}, "bool": True}
#: Names that break a rule: empty, blank, control or format characters, one too long.
BAD_NAMES = {
    "empty": "",
    "spaces": "   ",
    "whitespace mix": " \t\n ",
    "bell": "bad\x07name",
    "newline inside": "two\nlines",
    "tab inside": "tab\there",
    "NUL": "nul\x00name",
    "DEL": "del\x7fname",
    "bidi override": "abc\u202edef",
    "33 characters": "x" * 33,
}

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
