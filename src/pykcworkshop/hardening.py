"""App-wide hardening: ASCII-only id paths and the security headers of every response.

- ``<id:...>`` path segments accept ASCII digits only: werkzeug's ``int`` converter (and
  Python's ``int()``) also accept other scripts' digits, so ``/٣/direct-message`` would
  reach user 3.
- Every response says ``X-Content-Type-Options: nosniff``; responses carrying a login key
  or a session token say ``Cache-Control: no-store``; HSTS is sent when the site is served
  over HTTPS (the request's scheme, or an https ``SITE_ROOT`` behind a TLS-terminating proxy).
"""

from __future__ import annotations

from typing import Any

from quart import Quart, Response, current_app, request
from werkzeug.routing import BaseConverter

#: One year, the usual HSTS lifetime.
HSTS = "max-age=31536000"
#: Response fields whose presence means the body is a credential.
SECRET_FIELDS = (b'"user_hash"', b'"user_token"')


class AsciiIdConverter(BaseConverter):
    """A positive database id of 1 to 10 ASCII digits."""

    regex = r"[0-9]{1,10}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        """Return the id as an int."""
        return int(value)

    def to_url(self, value: Any) -> str:
        """Return the id as a path segment."""
        return str(int(value))


def _over_https() -> bool:
    if request.scheme in ("https", "wss"):
        return True
    return str(current_app.config.get("SITE_ROOT") or "").startswith("https://")


async def _headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if _over_https():
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if response.mimetype == "application/json":
        body = await response.get_data()
        if any(field in body for field in SECRET_FIELDS):
            response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Quart) -> None:
    """Register the ``id`` converter and the response headers on ``app``."""
    app.url_map.converters["id"] = AsciiIdConverter
    app.after_request(_headers)
