"""Tokens: CSRF tokens, login keys (``user_hash``) and session tokens (``user_token``).

Every check here fails closed: malformed, forged or expired input gives ``None``/``False``,
never an exception, and comparisons of secrets are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from quart import current_app, has_app_context

from pykcworkshop.chat.constants import CSRF_TOKEN_MAX_AGE

_CSRF_SALT = "pykcworkshop.csrf"
_USER_TOKEN_SALT = "pykcworkshop.user-token"
#: Longer input is rejected before any parsing (no token we issue comes close).
_MAX_TOKEN_LENGTH = 2048
_LOGIN_KEY_SEPARATOR = "."
#: Largest id an ``Integer`` column holds on every backend (int4 on PostgreSQL); a bigger
#: one in a login key must not reach the database, whose driver would raise on it.
_MAX_USER_ID = 2**31 - 1


def _secret_key() -> str:
    if has_app_context():
        return str(current_app.config["SECRET_KEY"])
    if os.environ.get("SECRET_KEY"):  # scripts and tests outside the app
        return os.environ["SECRET_KEY"]
    from pykcworkshop.config import load_settings

    return str(load_settings(first_start=False)["SECRET_KEY"])


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret_key(), salt=salt)


def _loads(salt: str, token: object, max_age: int | None = None) -> Any:
    """Return the payload of a signed token, or None for anything not valid."""
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    try:
        return _serializer(salt).loads(token, max_age=max_age)
    except (BadData, ValueError, TypeError, UnicodeError):
        return None


def generate_csrf() -> str:
    """Return a fresh signed CSRF token, valid for 31 days.

    >>> from pykcworkshop.chat.tokens import generate_csrf, verify_csrf
    >>> verify_csrf(generate_csrf())
    True
    """
    return str(_serializer(_CSRF_SALT).dumps(secrets.token_hex(8)))


def verify_csrf(token: object) -> bool:
    """Return whether ``token`` is a CSRF token we signed that has not expired.

    >>> verify_csrf("forged.token.value"), verify_csrf(None)
    (False, False)
    """
    max_age = int(CSRF_TOKEN_MAX_AGE.total_seconds())
    return _loads(_CSRF_SALT, token, max_age=max_age) is not None


def new_login_key(user_id: int) -> str:
    """Return a new random login key for ``user_id``; it ends with the id.

    >>> new_login_key(42).endswith(".42")
    True
    """
    return f"{secrets.token_urlsafe(32)}{_LOGIN_KEY_SEPARATOR}{user_id}"


def hash_login_key(login_key: str) -> str:
    """Return the hash of a login key that is stored instead of the key.

    A plain SHA-256 suffices: the key carries 256 random bits, so there is nothing to
    brute-force, and the hash must not depend on SECRET_KEY (rotating it keeps logins).

    >>> len(hash_login_key("abc.1"))
    64
    """
    # surrogatepass: JSON can carry lone surrogates, which strict UTF-8 refuses to encode
    # (a 500 instead of a failed login); every real key encodes exactly as before.
    return hashlib.sha256(login_key.encode("utf-8", "surrogatepass")).hexdigest()


def login_key_user_id(login_key: object) -> int | None:
    """Return the user id at the end of a login key, or None if it has none.

    >>> login_key_user_id("Zm9v.17"), login_key_user_id("no-id"), login_key_user_id(5)
    (17, None, None)
    >>> login_key_user_id("Zm9v.99999999999999999999")  # no such id can exist
    """
    if not isinstance(login_key, str) or len(login_key) > _MAX_TOKEN_LENGTH:
        return None
    _, separator, user_id = login_key.rpartition(_LOGIN_KEY_SEPARATOR)
    if not separator or not user_id.isascii() or not user_id.isdigit() or len(user_id) > 10:
        return None
    number = int(user_id)
    return number if number <= _MAX_USER_ID else None


def check_login_key(login_key: str, stored_hash: str) -> bool:
    """Return whether ``login_key`` matches ``stored_hash``, in constant time.

    >>> check_login_key("abc.1", hash_login_key("abc.1")), check_login_key("x.1", "0" * 64)
    (True, False)
    """
    return hmac.compare_digest(hash_login_key(login_key), stored_hash)


@dataclass(frozen=True, slots=True)
class UserTokenClaims:
    """What a valid session token says about its holder."""

    user_id: int
    user_name: str
    expires_at: datetime


def generate_user_token(*, user_id: int, user_name: str, expires_at: datetime) -> str:
    """Return a signed session token for a user, valid until ``expires_at`` (aware).

    Every call gives a different token (a random nonce), also within the same second: a
    logout right after a login must not hand back the token it ends.
    """
    payload = {
        "uid": user_id,
        "name": user_name,
        "exp": int(expires_at.timestamp()),
        "n": secrets.token_urlsafe(8),
    }
    return str(_serializer(_USER_TOKEN_SALT).dumps(payload))


def read_user_token(token: object, now: datetime | None = None) -> UserTokenClaims | None:
    """Return the claims of an authentic, unexpired session token, else None.

    This checks signature and expiry only; whether the token is still the user's current,
    unrevoked token is the data layer's question (see ``db.queries.authenticate``).
    """
    payload = _loads(_USER_TOKEN_SALT, token)
    if not isinstance(payload, dict):
        return None
    user_id, user_name, expires = payload.get("uid"), payload.get("name"), payload.get("exp")
    if not (isinstance(user_id, int) and isinstance(user_name, str) and isinstance(expires, int)):
        return None
    expires_at = datetime.fromtimestamp(expires, UTC)
    if expires_at <= (now or datetime.now(UTC)):
        return None
    return UserTokenClaims(user_id=user_id, user_name=user_name, expires_at=expires_at)


def constant_time_equal(a: str, b: str) -> bool:
    """Compare two secrets without leaking where they differ.

    >>> constant_time_equal("abc", "abc"), constant_time_equal("abc", "abd")
    (True, False)
    """
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))
