"""pykcworkshop: a realtime chat web application on Quart and WebSockets.

``create_app()`` builds the app for hypercorn (``hypercorn 'pykcworkshop:create_app()'``);
``async_create_app()`` builds it inside a running event loop, database ready, for tests.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from quart import Quart

from pykcworkshop import config, gctuning, hardening, hypercorn_fixes, site, socket_reads
from pykcworkshop.chat import backplane, db
from pykcworkshop.chat import bp as chat_bp
from pykcworkshop.chat.api.http.moderation import bp as http_moderation_bp
from pykcworkshop.chat.api.http.reads import bp as http_reads_bp
from pykcworkshop.chat.api.http.v1 import bp as http_v1_bp
from pykcworkshop.chat.api.websockets import compression, control
from pykcworkshop.chat.api.websockets.asgi import DrainingWebsocketConnection
from pykcworkshop.chat.api.websockets.events import bp as websockets_events_bp
from pykcworkshop.chat.api.websockets.user_events import bp as user_events_bp
from pykcworkshop.chat.api.websockets.v1 import bp as websockets_v1_bp
from pykcworkshop.chat.constants import MAX_REQUEST_BODY
from pykcworkshop.problems import register_error_handlers

__all__ = ["async_create_app", "create_app"]

log = logging.getLogger(__name__)


def _configure_logging(level: str) -> None:
    # Our own handler: hypercorn configures only its own loggers, and a root handler
    # (basicConfig) would print hypercorn's lines twice.
    package_log = logging.getLogger("pykcworkshop")
    package_log.setLevel(level.upper())
    if not package_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s] [%(levelname)s] %(name)s: %(message)s"))
        package_log.addHandler(handler)
        package_log.propagate = False


def _build_app(chat_config: dict[str, Any] | None) -> Quart:
    # The instance folder (default SQLite database) sits in the working directory, next to
    # .env, rather than inside the package source.
    app = Quart(__name__, instance_path=os.path.join(os.getcwd(), "instance"))
    settings = config.load_settings(chat_config)
    app.config.update(settings)
    if not app.config["DB_URI"]:
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["DB_URI"] = f"sqlite+aiosqlite:///{os.path.join(app.instance_path, 'chat.sqlite3')}"
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BODY
    # Static files revalidate on every load (cheap with ETags), so after an upgrade a
    # browser never mixes old and new ES modules.
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 0
    _configure_logging(str(app.config["LOG_LEVEL"]))

    # Ended websockets release everything at once; bad UTF-8 closes with 1007.
    hypercorn_fixes.install()
    app.asgi_websocket_class = DrainingWebsocketConnection
    compression.configure(str(app.config["WEBSOCKET_COMPRESSION"]))
    register_error_handlers(app)
    hardening.install(app)
    app.register_blueprint(site.bp)
    app.register_blueprint(chat_bp)
    app.register_blueprint(http_v1_bp)
    app.register_blueprint(http_moderation_bp)
    app.register_blueprint(websockets_v1_bp)
    app.register_blueprint(websockets_events_bp)
    app.register_blueprint(http_reads_bp)
    app.register_blueprint(user_events_bp)
    return app


async def _start(app: Quart) -> None:
    # Idempotent: async_create_app starts the app, and a test client's test_app() or
    # serving may call this again.
    if app.extensions.get("chat_running"):
        return
    app.extensions["chat_running"] = True
    db.connect(app.config["DB_URI"], debug=bool(app.config.get("DB_DEBUG", False)))
    await db.initialize()
    plane = backplane.backplane_for(app.config["BROKER_URL"])
    app.extensions[backplane.EXTENSION] = plane
    await plane.connect()
    # Control events (signed out, removed from a room) close this process's sockets.
    app.extensions["chat_control_listener"] = await control.listen(app, plane)


async def _stop(app: Quart) -> None:
    # The backplane stays in app.extensions: websocket handlers that are still being
    # cancelled during shutdown may look it up in their cleanup.
    if not app.extensions.pop("chat_running", False):
        return
    await app.extensions.pop("chat_control_listener").aclose()
    await app.extensions[backplane.EXTENSION].disconnect()
    await db.dispose()


def create_app(chat_config: dict[str, Any] | None = None) -> Quart:
    """Return the app; the database and the backplane connect when serving starts."""
    app = _build_app(chat_config)

    @app.before_serving
    async def start() -> None:
        """Connect the database (creating tables) and the backplane (broker, presence, limits)."""
        await _start(app)
        # Everything alive now lives as long as the process: out of the collector's way.
        gctuning.tune()
        socket_reads.tune()

    @app.after_serving
    async def stop() -> None:
        """Close the backplane and the database connections."""
        await _stop(app)

    return app


async def async_create_app(chat_config: dict[str, Any] | None = None) -> Quart:
    """Return the app with its database connected, tables created and backplane running.

    For code already running in an event loop (test clients): ``app.test_client()`` works
    at once. ``chat_config`` overrides settings, e.g. ``{"DB_URI": "sqlite+aiosqlite://..."}``.
    """
    app = create_app(chat_config)
    await _start(app)
    return app
