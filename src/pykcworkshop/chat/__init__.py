"""The chat blueprint: the app page at ``/chat/``, its static files and templates."""

from __future__ import annotations

import mimetypes

from quart import Blueprint, Response, render_template

from pykcworkshop.chat.tokens import generate_csrf

# Browsers refuse ES modules served with a non-JavaScript type, and some platforms'
# mimetypes tables do not know ".mjs".
mimetypes.add_type("text/javascript", ".mjs")

bp = Blueprint(
    "chat",
    __name__,
    url_prefix="/chat",
    static_folder="static",
    template_folder="templates",
)

#: The page runs only our own module scripts and styles; no inline code, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


@bp.get("/")
async def index() -> Response:
    """Serve the chat app page with a fresh CSRF token in its ``csrf-token`` meta tag."""
    page = await render_template("chat.html", csrf_token=generate_csrf())
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
