"""The handshake guard: who may open a websocket, checked before it is accepted.

Browsers cannot set headers on a websocket, so the CSRF token and the session token travel
as ``Sec-WebSocket-Protocol`` entries (``csrf<token>``, ``Bearer<token>``). A page from a
foreign ``Origin`` is refused too. Refusals happen before accepting, as plain HTTP problem
responses: 401 bad or missing credentials, 403 not allowed, 404 unknown room or user.
"""

from __future__ import annotations

from dataclasses import replace
from http import HTTPStatus
from typing import Literal, overload
from urllib.parse import urlsplit

from quart import current_app, g, websocket
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession

from pykcworkshop.chat import db
from pykcworkshop.chat.api import BEARER_SUBPROTOCOL_PREFIX, CSRF_SUBPROTOCOL_PREFIX, csrf_ok
from pykcworkshop.chat.api.websockets.control import SocketScope, admitted
from pykcworkshop.chat.constants import MAX_DB_ID
from pykcworkshop.chat.tokens import UserTokenClaims
from pykcworkshop.problems import ProblemError

#: The subprotocol our frontend offers; selected whenever it is offered.
PREFERRED_SUBPROTOCOL = "chat.v1"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

#: Whether a handshake must carry a valid bearer, or may go without one.
BearerPolicy = Literal["required", "optional"]


def offered_credential(prefix: str) -> str | None:
    """Return the value of the first offered subprotocol entry starting with ``prefix``."""
    for entry in websocket.requested_subprotocols:
        if entry.startswith(prefix) and len(entry) > len(prefix):
            return entry[len(prefix) :]
    return None


def _host_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    """Return ``(host, port)`` of ``netloc`` with the scheme's default port filled in.

    >>> _host_port("Example.COM", "https"), _host_port("localhost:8000", "http")
    (('example.com', 443), ('localhost', 8000))
    >>> _host_port("bad:port", "http") is None
    True
    """
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname, port if port is not None else _DEFAULT_PORTS.get(scheme, 0)


def _origin_allowed(origin: str) -> bool:
    """Return whether a browser page from ``origin`` may open our websockets.

    Allowed: the request's own origin (scheme, ``Host`` and port), ``SITE_ROOT``'s
    origin, or an origin listed in ``ALLOWED_ORIGINS`` (comma-separated).
    """
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    page = _host_port(parts.netloc, parts.scheme)
    if page is None:
        return False
    # Same origin means scheme, host and port: a page from https://host:port may not open
    # sockets on http://host:port. Behind a TLS-terminating proxy the request's scheme is
    # ws although the page is https: SITE_ROOT's origin (below) covers that.
    own_scheme = "https" if websocket.scheme in ("wss", "https") else "http"
    if parts.scheme == own_scheme and page == _host_port(websocket.headers.get("Host", ""), own_scheme):
        return True
    site = urlsplit(str(current_app.config.get("SITE_ROOT") or ""))
    if parts.scheme == site.scheme and page == _host_port(site.netloc, site.scheme):
        return True
    allowed = current_app.config.get("ALLOWED_ORIGINS") or ""
    entries = allowed.split(",") if isinstance(allowed, str) else allowed
    for entry in entries:
        listed = urlsplit(str(entry).strip())
        if listed.scheme == parts.scheme and page == _host_port(listed.netloc, listed.scheme):
            return True
    return False


@overload
async def admit(*, bearer: Literal["required"] = ...) -> UserTokenClaims: ...
@overload
async def admit(*, bearer: Literal["optional"]) -> UserTokenClaims | None: ...


async def admit(*, bearer: BearerPolicy = "required") -> UserTokenClaims | None:
    """Check a handshake's CSRF token, Origin and (``"required"``/``"optional"``) bearer.

    Raises a 401/403 refusal; returns the user's claims, or None when the bearer is
    optional and missing or invalid.
    """
    async with db.get_session() as session:
        return await _admit(session, bearer)


@overload
async def _admit(session: AsyncSession, bearer: Literal["required"]) -> UserTokenClaims: ...
@overload
async def _admit(session: AsyncSession, bearer: BearerPolicy) -> UserTokenClaims | None: ...


async def _admit(session: AsyncSession, bearer: BearerPolicy) -> UserTokenClaims | None:
    if not csrf_ok(offered_credential(CSRF_SUBPROTOCOL_PREFIX)):
        raise ProblemError(HTTPStatus.UNAUTHORIZED, "missing or invalid csrf subprotocol")
    origin = websocket.headers.get("Origin")
    if origin is not None and not _origin_allowed(origin):
        raise ProblemError(HTTPStatus.FORBIDDEN, "cross-origin websocket refused")
    token = offered_credential(BEARER_SUBPROTOCOL_PREFIX)
    claims = None if token is None else await db.authenticate(session, token)
    if claims is None and bearer == "required":
        raise ProblemError(HTTPStatus.UNAUTHORIZED, "missing or invalid Bearer subprotocol")
    if claims is not None and token is not None:
        admitted(SocketScope(claims.user_id, token))
    g.user = claims  # for the per-user socket cap (see caps.socket_slot)
    return claims


async def admit_room_member(room_hash: str) -> UserTokenClaims:
    """Admit a member of ``room_hash``: 401 bad credentials, 404 no room, 403 not a member."""
    # One session for every check: a room's clients often connect all at once.
    async with db.get_session() as session:
        user = await _admit(session, "required")
        if not await db.room_exists(session, room_hash):
            raise ProblemError(HTTPStatus.NOT_FOUND, "no room with this hash exists")
        if not await db.is_member(session, user_id=user.user_id, room_id=room_hash):
            raise ProblemError(HTTPStatus.FORBIDDEN, "you are not a member of this room")
    admitted(replace(g.socket_scope, room=room_hash))
    return user


async def admit_dm_partner(partner_id: int) -> UserTokenClaims:
    """Admit a user who shares a room with ``partner_id``: 401, 404 no such user, 403."""
    async with db.get_session() as session:
        user = await _admit(session, "required")
        try:
            if not 0 < partner_id <= MAX_DB_ID:
                raise NoResultFound
            await db.get_user_by_id(session, partner_id)
        except NoResultFound:
            raise ProblemError(HTTPStatus.NOT_FOUND, "no user with this id exists") from None
        if not await db.share_a_room(session, user.user_id, partner_id):
            raise ProblemError(HTTPStatus.FORBIDDEN, "you share no room with this user")
    admitted(replace(g.socket_scope, partner=partner_id))
    return user


def choose_subprotocol(offered: list[str], *, from_browser: bool) -> str | None:
    """Pick the subprotocol to accept, or None to select none.

    ``chat.v1`` whenever it is offered. Otherwise a browser (the request carries an
    ``Origin`` header) gets an entry it offered, since it drops a connection on which none
    was selected: one carrying no credential, else the CSRF entry (the least secret one).
    Any other client gets none, as RFC 6455 allows: clients that write the credentials into
    a raw ``Sec-WebSocket-Protocol`` header declare no subprotocols of their own, and their
    library aborts the handshake if one is selected.

    >>> choose_subprotocol(["csrfX", "chat.v1", "BearerY"], from_browser=False)
    'chat.v1'
    >>> choose_subprotocol(["wamp", "BearerY", "csrfX"], from_browser=False) is None
    True
    >>> choose_subprotocol(["csrfX", "", "json"], from_browser=True)
    'json'
    >>> choose_subprotocol(["BearerY", "csrfX"], from_browser=True)
    'csrfX'
    """
    offered = [entry for entry in offered if entry]
    if PREFERRED_SUBPROTOCOL in offered:
        return PREFERRED_SUBPROTOCOL
    if not from_browser:
        return None
    plain = [p for p in offered if not p.startswith((CSRF_SUBPROTOCOL_PREFIX, BEARER_SUBPROTOCOL_PREFIX))]
    candidates = plain or [p for p in offered if p.startswith(CSRF_SUBPROTOCOL_PREFIX)] or offered
    return candidates[0] if candidates else None


async def accept() -> None:
    """Accept the handshake, selecting a subprotocol as :func:`choose_subprotocol` says."""
    from_browser = "Origin" in websocket.headers
    await websocket.accept(
        subprotocol=choose_subprotocol(websocket.requested_subprotocols, from_browser=from_browser)
    )
