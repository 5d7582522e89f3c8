"""GC pause probe, loaded into every Python process started with this folder on PYTHONPATH.

Only ``bench/profile.py`` puts it there (for our server, including hypercorn's spawned
worker). With ``BENCH_GC_PROBE=<file>`` set, each process records the duration of every
garbage collection (``gc.callbacks``) and writes a summary to ``<file>.<pid>.json`` every
second: collections and pause percentiles per generation, and the longest pauses.

It also records when they happened, next to the event loop's stalls: every collection
over ``LONG`` seconds, and every loop callback (a task's step included) that ran longer,
with CLOCK_MONOTONIC times (the clock all the benchmark's processes share) and what ran.
A p99 far above p50 at a modest CPU share is usually a few such stalls.
"""

from __future__ import annotations

import os

_TARGET = os.environ.get("BENCH_GC_PROBE")

if _TARGET:
    import asyncio.events
    import gc
    import json
    import threading
    import time

    LONG = 0.010
    _pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    _long_pauses: list[tuple[float, int, float]] = []  # (monotonic end, generation, seconds)
    _stalls: list[tuple[float, float, str]] = []  # (monotonic end, seconds, what ran)
    _started = [0.0]
    _begin = time.perf_counter()

    def _callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            _started[0] = time.perf_counter()
        else:
            took = time.perf_counter() - _started[0]
            _pauses[info["generation"]].append(took)
            if took > LONG and len(_long_pauses) < 1000:
                _long_pauses.append((time.monotonic(), info["generation"], took))

    def _what(handle: asyncio.events.Handle) -> str:
        callback = handle._callback
        task = getattr(callback, "__self__", None)
        if isinstance(task, asyncio.Task):
            coro = task.get_coro()
            return f"task {getattr(coro, '__qualname__', coro)!s}"
        return getattr(callback, "__qualname__", repr(callback))

    _run = asyncio.events.Handle._run

    def _timed_run(self: asyncio.events.Handle) -> None:
        began = time.perf_counter()
        _run(self)
        took = time.perf_counter() - began
        if took > LONG and len(_stalls) < 1000:
            _stalls.append((time.monotonic(), took, _what(self)))

    asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]

    def _summary() -> dict[str, object]:
        # (No gc.get_objects() here: walking every object would itself stall the server.)
        out: dict[str, object] = {
            "pid": os.getpid(),
            "seconds": time.perf_counter() - _begin,
            "thresholds": gc.get_threshold(),
            "stats": gc.get_stats(),
            "long_pauses": _long_pauses,
            "stalls": _stalls,
        }
        for generation, pauses in _pauses.items():
            ordered = sorted(pauses)

            def at(fraction: float, ordered: list[float] = ordered) -> float | None:
                return (
                    round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000, 3)
                    if ordered
                    else None
                )

            out[f"gen{generation}"] = {
                "count": len(ordered),
                "total_ms": round(sum(ordered) * 1000, 1),
                "p50_ms": at(0.5),
                "p99_ms": at(0.99),
                "max_ms": at(1.0),
            }
        return out

    def _writer() -> None:
        path = f"{_TARGET}.{os.getpid()}.json"
        while True:
            time.sleep(1.0)
            with open(path + ".tmp", "w") as file:
                json.dump(_summary(), file)
            os.replace(path + ".tmp", path)

    gc.callbacks.append(_callback)
    threading.Thread(target=_writer, daemon=True, name="gc-probe").start()
