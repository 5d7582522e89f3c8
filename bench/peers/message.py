"""The frame every peer broadcasts: a message object shaped and sized like ours."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

_ids = itertools.count(1)


def message_object(frame: str | bytes) -> str:
    """Return the JSON text to broadcast for a client's ``{"content": ...}`` frame.

    Serialized once per publish, as our server does; a frame that is not such an object
    gives an empty string (the peers then send nothing).
    """
    return parse(frame)[0]


def parse(frame: str | bytes) -> tuple[str, int]:
    """Return the message object's JSON text and the frame's ``repeat`` (default 1).

    ``repeat`` is only for the generator check (see raw_websockets.py); the other
    servers ignore it.
    """
    try:
        body = json.loads(frame)
        content = body["content"]
        repeat = int(body.get("repeat", 1))
    except (ValueError, KeyError, TypeError):
        return "", 0
    body = {
        "user_name": "peer",
        "user_id": 1,
        "content": content,
        "timestamp": datetime.now(UTC).isoformat(),
        "id": next(_ids),
    }
    return json.dumps(body, separators=(",", ":")), max(1, min(repeat, 100))
