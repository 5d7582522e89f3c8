"""Site-wide routes outside the chat: robots.txt and the RFC 2324 teapot."""

from __future__ import annotations

from quart import Blueprint, Response

from pykcworkshop.problems import problem

bp = Blueprint("site", __name__)


@bp.get("/robots.txt")
async def robots() -> Response:
    """Ask every crawler to stay out."""
    return Response("User-agent: *\nDisallow: /\n", mimetype="text/plain")


@bp.get("/coffee")
async def coffee() -> Response:
    """Refuse to brew coffee, as a teapot must (RFC 2324)."""
    return problem(418, "This server is a teapot; it cannot brew coffee.", title="I'm a teapot")
