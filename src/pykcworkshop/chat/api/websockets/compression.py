"""permessage-deflate off unless ``WEBSOCKET_COMPRESSION=on``: a pinned hook into hypercorn.

Our frames are small JSON, and hypercorn compresses every frame once per recipient: with
compression on, the fan-out benchmark loses more than half the server's capacity (see
docs/performance.md), and OWASP advises compression off unless needed (it also opens
CRIME/BREACH-style attacks when secrets and attacker-chosen text share a frame).

hypercorn has no setting for it: ``WSStream`` builds a ``Handshake`` from the request's
headers and always answers a client's offer with ``PerMessageDeflate``. The hook
replaces ``hypercorn.protocol.ws_stream.Handshake`` with a subclass that forgets the
offered extensions, so the handshake accepts none and frames go out uncompressed.
:data:`HYPERCORN_VERSIONS` are the versions whose handshake this was checked against
(pyproject pins the same range); ``tests/websockets/test_compression.py`` fails when
hypercorn's handshake changes under it.
"""

from __future__ import annotations

from typing import Any, Final

from hypercorn.protocol import ws_stream

#: hypercorn minor versions whose ``ws_stream.Handshake`` this hook was checked against.
HYPERCORN_VERSIONS: Final = ("0.17", "0.18")

_ORIGINAL: Final = ws_stream.Handshake
_enabled = [False]


class _Handshake(_ORIGINAL):  # type: ignore[misc, valid-type]
    """hypercorn's handshake, but without the client's extension offer while compression is off."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not _enabled[0]:
            # accept() negotiates only when extensions were offered (it checks for None).
            self.extensions = None


def configure(setting: str) -> None:
    """Turn permessage-deflate on (``"on"``) or off (anything else) for this process's server."""
    _enabled[0] = setting.strip().lower() in ("on", "1", "true", "yes")
    ws_stream.Handshake = _Handshake  # type: ignore[misc]


def enabled() -> bool:
    """Return whether this process's server accepts permessage-deflate."""
    return _enabled[0]
