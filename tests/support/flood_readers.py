"""Well-behaved readers of a room, run in a process of their own (for the flood tests).

    python -m tests.support.flood_readers <ws url> <seconds> <path> <subprotocols> [<path> <subprotocols> ...]

Each (path, comma-separated subprotocols) pair is one reader that only reads. Prints
``ready`` once every reader is connected, then, after ``seconds``, one JSON line: a list
of ``{"path", "frames", "close_code"}`` (``close_code`` None while still open). Being a
separate process, the readers read at their own pace, not the attacker's.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def _read(ws: Any, result: dict[str, Any], seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            async for _ in ws:
                result["frames"] += 1
    except TimeoutError:
        pass
    except ConnectionClosed:
        pass
    result["close_code"] = ws.close_code


async def main(url: str, seconds: float, pairs: list[tuple[str, str]]) -> None:
    sockets = [
        await connect(url + path, subprotocols=offered.split(","), max_queue=None) for path, offered in pairs
    ]
    results = [{"path": path, "frames": 0, "close_code": None} for path, _ in pairs]
    print("ready", flush=True)
    await asyncio.gather(*(_read(ws, result, seconds) for ws, result in zip(sockets, results, strict=True)))
    print(json.dumps(results), flush=True)
    for ws in sockets:
        await ws.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(args[0], float(args[1]), list(zip(args[2::2], args[3::2], strict=True))))
