"""The chat API: CSRF checks shared by the HTTP routes and the websocket handshakes."""

from __future__ import annotations

from pykcworkshop.chat.tokens import verify_csrf

#: Header that carries the CSRF token on every HTTP API request.
CSRF_HEADER = "X-CSRF-TOKEN"
#: Prefixes of the credential entries in a websocket's Sec-WebSocket-Protocol list.
CSRF_SUBPROTOCOL_PREFIX = "csrf"
BEARER_SUBPROTOCOL_PREFIX = "Bearer"


def csrf_ok(token: str | None) -> bool:
    """Return whether ``token`` is a valid CSRF token (None and garbage are not)."""
    return verify_csrf(token)
