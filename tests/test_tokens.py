"""CSRF tokens, login keys and session tokens (``pykcworkshop.chat.tokens``; docs/protocol.md
"Credentials")."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from pykcworkshop.chat import tokens
from tests.support import tampered
from tests.support.http import csrf_signed_days_ago, other_secret, signed_at


@pytest.fixture(autouse=True)
def secret_key(monkeypatch):
    """Sign with a throwaway secret (outside an app, tokens read SECRET_KEY from the environment)."""
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))


def in_days(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


# ------------------------------------------------------------------ CSRF


def test_generated_csrf_token_verifies():
    token = tokens.generate_csrf()
    assert isinstance(token, str) and token
    assert tokens.verify_csrf(token)


def test_csrf_tokens_are_fresh():
    assert tokens.generate_csrf() != tokens.generate_csrf()


def test_csrf_token_is_valid_for_31_days():
    assert tokens.verify_csrf(csrf_signed_days_ago(30.9))


def test_csrf_token_expires_after_31_days():
    assert not tokens.verify_csrf(csrf_signed_days_ago(31.1))


def test_csrf_token_signed_with_another_secret_is_invalid():
    with other_secret():
        forged = tokens.generate_csrf()
    assert not tokens.verify_csrf(forged)


def test_changing_secret_key_invalidates_csrf_tokens(monkeypatch):
    token = tokens.generate_csrf()
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    assert not tokens.verify_csrf(token)


def test_tampered_csrf_token_is_invalid():
    assert not tokens.verify_csrf(tampered(tokens.generate_csrf()))


def test_session_token_is_not_a_csrf_token():
    """Tokens of one kind are never accepted as the other (separate salts)."""
    user_token = tokens.generate_user_token(user_id=1, user_name="ada", expires_at=in_days(1))
    assert not tokens.verify_csrf(user_token)


@pytest.mark.parametrize(
    "garbage",
    [None, "", "garbage", "a.b.c", "x" * 100_000, 42, b"bytes", ["list"], "\x00\x00", "ключ.ключ.ключ"],
    ids=repr,
)
def test_malformed_csrf_token_is_invalid_without_raising(garbage):
    assert tokens.verify_csrf(garbage) is False


# ------------------------------------------------------------------ login keys


def test_login_key_ends_with_the_user_id():
    key = tokens.new_login_key(1234)
    assert key.endswith("1234")
    assert tokens.login_key_user_id(key) == 1234


def test_login_keys_are_random_and_url_safe():
    keys = {tokens.new_login_key(7) for _ in range(20)}
    assert len(keys) == 20
    assert all(re.fullmatch(r"[A-Za-z0-9_\-.]+", key) for key in keys)
    assert all(len(key) >= 40 for key in keys)


def test_login_key_hash_is_not_the_key_and_checks_it():
    key = tokens.new_login_key(5)
    stored = tokens.hash_login_key(key)
    assert key not in stored
    assert tokens.check_login_key(key, stored)
    assert not tokens.check_login_key(tokens.new_login_key(5), stored)


def test_login_key_hash_survives_a_new_secret_key(monkeypatch):
    """Rotating SECRET_KEY logs nobody out of their login key."""
    key = tokens.new_login_key(5)
    stored = tokens.hash_login_key(key)
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    assert tokens.check_login_key(key, stored)


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        17,
        "",
        "no-id",
        "abc.",
        "abc.-1",
        "abc.1e3",
        "abc.\u0661",
        "abc.99999999999999999999",
        "a" * 5000 + ".1",
    ],
    ids=repr,
)
def test_login_key_user_id_is_none_for_garbage(garbage):
    assert tokens.login_key_user_id(garbage) is None


# ------------------------------------------------------------------ session tokens


def test_session_token_carries_id_name_and_expiry():
    expires_at = in_days(365).replace(microsecond=0)
    token = tokens.generate_user_token(user_id=42, user_name="Ada", expires_at=expires_at)
    claims = tokens.read_user_token(token)
    assert claims is not None
    assert (claims.user_id, claims.user_name, claims.expires_at) == (42, "Ada", expires_at)


def test_expired_session_token_is_invalid():
    token = tokens.generate_user_token(user_id=42, user_name="Ada", expires_at=in_days(-1 / 86400))
    assert tokens.read_user_token(token) is None


def test_session_token_expiry_is_checked_against_now():
    expires_at = in_days(10)
    token = tokens.generate_user_token(user_id=42, user_name="Ada", expires_at=expires_at)
    assert tokens.read_user_token(token, now=expires_at - timedelta(seconds=5)) is not None
    assert tokens.read_user_token(token, now=expires_at + timedelta(seconds=5)) is None


def test_session_token_does_not_expire_by_signature_age():
    """Only the carried expiry counts: a one-year token is still good after 31 days."""
    with signed_at(datetime.now(UTC) - timedelta(days=200)):
        token = tokens.generate_user_token(user_id=42, user_name="Ada", expires_at=in_days(100))
    assert tokens.read_user_token(token) is not None


def test_session_token_signed_with_another_secret_is_invalid():
    with other_secret():
        forged = tokens.generate_user_token(user_id=42, user_name="Ada", expires_at=in_days(1))
    assert tokens.read_user_token(forged) is None


def test_tampered_session_token_is_invalid():
    token = tokens.generate_user_token(user_id=42, user_name="Ada", expires_at=in_days(1))
    assert tokens.read_user_token(tampered(token)) is None


def test_csrf_token_is_not_a_session_token():
    assert tokens.read_user_token(tokens.generate_csrf()) is None


@pytest.mark.parametrize(
    "garbage", [None, "", "garbage", "a.b.c", "x" * 100_000, 42, b"bytes", {"uid": 1}], ids=repr
)
def test_malformed_session_token_is_invalid_without_raising(garbage):
    assert tokens.read_user_token(garbage) is None


def test_constant_time_equal():
    assert tokens.constant_time_equal("same", "same")
    assert not tokens.constant_time_equal("same", "sama")
    assert not tokens.constant_time_equal("short", "longer")
    assert not tokens.constant_time_equal("ключ", "ключи")


def test_secret_checks_fail_closed_on_lone_surrogates():
    """JSON bodies can carry lone surrogates; comparing them must not raise."""
    key = tokens.new_login_key(5)
    assert not tokens.check_login_key("bad\ud800key.5", tokens.hash_login_key(key))
    assert not tokens.constant_time_equal("bad\ud800", "bad")
