"""Run pytest and record, per test, its outcome and which of the six sockets it connected to.

    python workshop/probe.py RESULTS.json [pytest args...]

Used by ``check.py`` in the starter and solution copies. It wraps the websocket clients
the tests use (``websockets``' ``connect``, Quart's test client, raw sockets) to see every
handshake a test attempts, refused ones included, and maps the URL path to a socket by the
handlers' routes.
It also records where ``pykcworkshop`` was imported from, so the check can prove the code
under test is the copy's and not an installed one.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

#: URL path of each socket (the routes in chat/api/websockets/v1.py) -> handler name.
SOCKET_PATHS = {
    re.compile(r"^/chat/api/v1/room/[^/]+/chat-message/?$"): "chat_message",
    re.compile(r"^/chat/api/v1/room/[^/]+/member-status/?$"): "member_status",
    re.compile(r"^/chat/api/v1/room/[^/]+/client-sync/?$"): "client_sync",
    re.compile(r"^/chat/api/v1/room/[^/]+/chat-history/?$"): "chat_history",
    # The route converter is <int:user_id>: anything else never reaches the handler.
    re.compile(r"^/chat/api/v1/\d+/direct-message/?$"): "direct_message",
    re.compile(r"^/chat/api/v1/form-validation/?$"): "form_validation",
}


def socket_of(uri: str) -> str | None:
    """Return the handler name a websocket URI reaches, or None.

    >>> socket_of("ws://127.0.0.1:1234/chat/api/v1/room/abc/chat-history")
    'chat_history'
    >>> socket_of("ws://127.0.0.1:1234/chat/api/v1/x/direct-message") is None
    True
    """
    path = urlsplit(uri).path
    return next((name for pattern, name in SOCKET_PATHS.items() if pattern.match(path)), None)


class Probe:
    """A pytest plugin: outcomes and socket connections per test id."""

    def __init__(self, results: Path) -> None:
        self.results = results
        self.current: str | None = None
        self.tests: dict[str, dict[str, Any]] = {}
        self.package_file = ""

    # -- connection spying

    def record(self, uri: object) -> None:
        """Note that the running test opened a websocket to ``uri``."""
        name = socket_of(str(uri))
        if self.current is not None and name is not None:
            self.tests.setdefault(self.current, {}).setdefault("sockets", set()).add(name)

    def sniff(self, data: object) -> None:
        """Note a websocket handshake request in bytes a test is about to send."""
        if isinstance(data, bytes | bytearray | memoryview) and bytes(data[:4]) == b"GET ":
            head = bytes(data[:4096])
            if b"upgrade: websocket" in head.lower():
                self.record(head.split(b" ", 2)[1].decode("latin-1"))

    def install(self) -> None:
        """Spy on websocket handshakes: the clients the tests use, and raw sockets.

        ``websockets``' asyncio and sync ``connect`` and Quart's test client are wrapped by
        name; bytes written to asyncio transports and sockets are sniffed for a handshake
        request, so tests that write the handshake by hand are seen too.
        """
        import asyncio.selector_events
        import socket

        import websockets.asyncio.client as asyncio_client
        import websockets.sync.client as sync_client

        probe = self
        original_init = asyncio_client.connect.__init__

        def spying_init(self: Any, uri: str, *args: Any, **kwargs: Any) -> None:
            probe.record(uri)
            original_init(self, uri, *args, **kwargs)

        asyncio_client.connect.__init__ = spying_init  # type: ignore[method-assign]

        original_sync: Callable[..., Any] = sync_client.connect

        def spying_sync(uri: str, *args: Any, **kwargs: Any) -> Any:
            probe.record(uri)
            return original_sync(uri, *args, **kwargs)

        sync_client.connect = spying_sync

        try:  # in-process tests through Quart's test client
            from quart.testing.client import QuartClient
        except ImportError:
            pass
        else:
            original_test_websocket = QuartClient.websocket

            def spying_test_websocket(self: Any, path: str, *args: Any, **kwargs: Any) -> Any:
                probe.record(path)
                return original_test_websocket(self, path, *args, **kwargs)

            QuartClient.websocket = spying_test_websocket  # type: ignore[method-assign]

        def sniffing(original: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(self: Any, data: Any, *args: Any, **kwargs: Any) -> Any:
                probe.sniff(data)
                return original(self, data, *args, **kwargs)

            return wrapper

        # Asyncio's loop.sock_sendall() and its transports end in socket.send(); the
        # transport is wrapped too in case it ever writes another way.
        transport_class: Any = getattr(asyncio.selector_events, "_SelectorSocketTransport", None)
        targets: list[tuple[Any, str]] = [(socket.socket, "send"), (socket.socket, "sendall")]
        targets.append((transport_class, "write"))
        for owner, name in targets:
            if owner is not None and hasattr(owner, name):
                setattr(owner, name, sniffing(getattr(owner, name)))

    # -- pytest hooks

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        import pykcworkshop

        self.package_file = str(Path(pykcworkshop.__file__ or "").resolve())
        self.install()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
        self.current = item.nodeid
        # The check names the test that was running if the whole run times out.
        self.results.with_suffix(".current").write_text(item.nodeid, encoding="utf-8")
        entry = self.tests.setdefault(item.nodeid, {})
        entry["path"] = (
            Path(str(item.path)).resolve().relative_to(Path(str(item.config.rootpath)).resolve()).as_posix()
        )
        try:
            return (yield)
        finally:
            self.current = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = self.tests.setdefault(report.nodeid, {})
        if report.failed:
            entry["outcome"] = "failed"
        elif report.skipped and entry.get("outcome") != "failed":
            # xfail counts as not passing: the kit must not rely on expected failures.
            entry["outcome"] = "skipped"
        elif report.when == "call" and report.passed and "outcome" not in entry:
            entry["outcome"] = "passed"

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        tests = {
            nodeid: {
                **entry,
                "sockets": sorted(entry.get("sockets", ())),
                "outcome": entry.get("outcome", "failed"),
            }
            for nodeid, entry in self.tests.items()
            if "path" in entry
        }
        payload = {"package_file": self.package_file, "exitstatus": int(exitstatus), "tests": tests}
        self.results.write_text(json.dumps(payload, indent=1), encoding="utf-8")


def main(argv: list[str]) -> int:
    """Run pytest with ``argv[1:]`` and write the results to ``argv[0]``."""
    if not argv:
        print("usage: probe.py RESULTS.json [pytest args...]", file=sys.stderr)
        return 2
    return int(pytest.main(argv[1:], plugins=[Probe(Path(argv[0]).resolve())]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
