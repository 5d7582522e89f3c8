"""Look-alike names: Unicode TR39 confusable skeletons.

``skeleton(s)`` is TR39's: NFD, replace each character by its prototype from
``confusables.txt`` (``data/``, Unicode 13.0.0), NFD again. Two strings with the same
skeleton look alike ("\\u0430lice", with a Cyrillic a, and "alice"). :func:`name_skeleton` is the
key stored for "taken" checks: the skeleton of the casefolded name, so look-alikes in any
letter case collide.

>>> skeleton("\\u0430lice") == skeleton("alice")
True
>>> name_skeleton("ALICE") == name_skeleton("\\u0430lice")
True
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    table: dict[str, str] = {}
    text = resources.files("pykcworkshop.chat").joinpath("data/confusables.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        source, _, target = line.partition(";")
        table[chr(int(source, 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


def skeleton(text: str) -> str:
    """Return the TR39 skeleton of ``text``."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(prototypes.get(char, char) for char in decomposed))


def name_skeleton(name: str) -> str:
    """Return the look-alike key of a name: the skeleton of its NFKC form, casefolded."""
    return skeleton(unicodedata.normalize("NFKC", name).strip().casefold())
