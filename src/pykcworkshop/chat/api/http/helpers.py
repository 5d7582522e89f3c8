"""HTTP API mechanics: CSRF and bearer guards, JSON body parsing, the usual refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from http import HTTPStatus
from typing import Any, ParamSpec, TypeVar

from quart import g, json, request

from pykcworkshop.chat import db
from pykcworkshop.chat.api import CSRF_HEADER, csrf_ok
from pykcworkshop.chat.tokens import UserTokenClaims
from pykcworkshop.chat.validation import nul_field
from pykcworkshop.problems import ProblemError

P = ParamSpec("P")
R = TypeVar("R")


def bad_request(detail: str) -> ProblemError:
    """Return a 400 error to raise, with ``detail`` as the reason shown to the user."""
    return ProblemError(HTTPStatus.BAD_REQUEST, detail)


def unauthorized(detail: str) -> ProblemError:
    """Return a 401 error to raise."""
    return ProblemError(HTTPStatus.UNAUTHORIZED, detail)


def check_csrf() -> None:
    """Refuse the request with 401 unless it carries a valid ``X-CSRF-TOKEN`` header."""
    if not csrf_ok(request.headers.get(CSRF_HEADER)):
        raise unauthorized(f"missing or invalid {CSRF_HEADER} header")


def bearer_token(authorization: str | None) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header value, else None.

    >>> bearer_token("Bearer abc"), bearer_token("Basic abc"), bearer_token(None)
    ('abc', None, None)
    """
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def require_user(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Let the view run only for a valid session token; the claims are in ``g.user``."""

    @wraps(view)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            raise unauthorized("missing Authorization: Bearer <user_token> header")
        async with db.get_session() as session:
            claims = await db.authenticate(session, token)
        if claims is None:
            raise unauthorized("invalid, expired or revoked user token")
        g.user = claims
        return await view(*args, **kwargs)

    return guarded


def current_user() -> UserTokenClaims:
    """Return the claims of the authenticated user of this request."""
    claims: UserTokenClaims = g.user
    return claims


async def json_object() -> dict[str, Any]:
    """Return the request's JSON body, which must be an object; else raise a 400."""
    # Parse the bytes ourselves: request.get_json() decodes the body as UTF-8 text first,
    # so invalid UTF-8 escaped even silent=True as a 500; and deeply nested JSON raises
    # RecursionError, not ValueError.
    data = await request.get_data(as_text=False)
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        body = None
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    # A NUL can only come from a \u0000 escape (JSON forbids raw control characters).
    if b"\\u0000" in data and (field := nul_field(body)) is not None:
        raise bad_request(f"{field} must not contain NUL characters")
    return body


def string_field(body: dict[str, Any], name: str) -> str:
    """Return ``body[name]``, which must be present and a string; else raise a 400."""
    value = body.get(name)
    if value is None:
        raise bad_request(f"{name} is required")
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string")
    return value
