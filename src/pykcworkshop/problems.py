"""Errors as RFC 9457 ``application/problem+json`` responses, for every part of the site.

Raise :class:`ProblemError` anywhere a request or a websocket handshake is refused; the
handlers that :func:`register_error_handlers` installs turn it, and every other error, into
a problem response that never shows internals.

>>> ProblemError(404, "no room with this hash exists").title
'Not Found'
"""

from __future__ import annotations

import logging
from contextlib import suppress
from http import HTTPStatus
from typing import Any

from quart import Quart, Response, has_request_context, has_websocket_context, json, request, websocket
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

#: Media type of every error body.
PROBLEM_JSON = "application/problem+json"


class ProblemError(Exception):
    """Raise to answer the request with a problem+json error.

    ``title`` defaults to the status's standard phrase (``HTTPStatus``); ``detail`` is the
    reason shown to the user; ``headers`` go on the response (e.g. ``Retry-After``);
    ``extra`` adds members to the body.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.extra = status, detail, extra
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers or {}


def problem(status: int, detail: str, *, title: str | None = None, **extra: Any) -> Response:
    """Return an RFC 9457 ``application/problem+json`` response.

    ``title`` defaults to the status's standard phrase. A 401 also says how to
    authenticate (``WWW-Authenticate: Bearer``).
    """
    status = int(status)  # HTTPStatus members arrive here too; the body carries a plain number
    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    if status == HTTPStatus.UNAUTHORIZED:
        response.headers["WWW-Authenticate"] = 'Bearer realm="pykcworkshop"'
    return response


def register_error_handlers(app: Quart) -> None:
    """Make every error a problem+json response that never shows internals."""

    @app.errorhandler(ProblemError)
    async def handle_problem(error: ProblemError) -> Response:
        await _read_unread_body()
        response = problem(error.status, error.detail, title=error.title, **error.extra)
        response.headers.update(error.headers)
        return response

    @app.errorhandler(HTTPException)
    async def handle_http_exception(error: HTTPException) -> Response:
        status = error.code or HTTPStatus.INTERNAL_SERVER_ERROR
        return problem(status, error.description or error.name, title=error.name)

    @app.errorhandler(Exception)
    async def handle_unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s", _where())
        return problem(HTTPStatus.INTERNAL_SERVER_ERROR, "Something went wrong on our side.")


async def _read_unread_body() -> None:
    """Receive the rest of a request refused before its body was read (a 401 or 429 guard).

    Answering while the client is still sending the body leaves the HTTP/1.1 connection
    unusable, so hypercorn closes it, and a client that reuses the kept-alive connection at
    that moment sees "server disconnected" instead of its next answer. The body is bounded
    by ``MAX_CONTENT_LENGTH``; a larger one is not read (it gets its own 413).
    """
    if has_request_context():
        with suppress(Exception):
            await request.get_data(cache=False)


def _where() -> str:
    """Say what failed: ``GET /path`` for a request, ``websocket /path`` in a handshake."""
    # A websocket handshake has no request context: reading ``request`` there raises.
    if has_request_context():
        return f"{request.method} {request.path}"
    if has_websocket_context():
        return f"websocket {websocket.path}"
    return "no request"
