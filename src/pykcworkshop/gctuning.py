"""Garbage-collector settings for a serving process: freeze start-up objects, collect rarely.

With thousands of live objects (connections, their tasks and buffers) a full collection
walks all of them and stops every delivery on the process: the profile in
docs/performance.md measured full collections of up to 373 ms under default thresholds.
The per-delivery garbage (frames, dicts, strings) is acyclic and freed by reference
counting, so the cyclic collector can run far less often. :func:`tune` moves everything
alive after start-up (modules, the app, the libraries) into the permanent generation,
which no collection walks again, and raises the thresholds.
"""

from __future__ import annotations

import gc
from typing import Final

#: Allocations (minus frees) between young collections; the default is 700.
GEN0_THRESHOLD: Final = 50_000
#: Young collections per middle one, and middle ones per full one (defaults 10, 10).
GEN1_THRESHOLD: Final = 20
GEN2_THRESHOLD: Final = 100


def tune() -> None:
    """Freeze what is alive now and raise the collection thresholds (call once started)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
