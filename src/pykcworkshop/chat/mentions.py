"""Mentions: which members a message's ``@name`` calls, the same rule as ``static/mentions.mjs``.

``@`` followed by a member's name as it is (names may hold spaces and punctuation),
case-insensitive, the longest name first, at word boundaries: no letter, digit or ``_``
right before the ``@``, nor right after the name when the name ends in one. The shared
cases in ``tests/fixtures/mention_cases.json`` run through both implementations.

>>> mentioned_names("hi @ada and @Ada Lovelace!", ["Ada", "Ada Lovelace", "Bo"])
['Ada', 'Ada Lovelace']
>>> mentioned_names("mail ada@example.com", ["Ada"])
[]
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable


def _fold(text: str) -> str:
    # str.lower() like the frontend's toLowerCase(), not casefold(): both sides must agree.
    return text.lower()


def _is_word_char(char: str) -> bool:
    """Return whether ``char`` is a letter, a digit or ``_`` (``[\\p{L}\\p{N}_]``)."""
    return char == "_" or (char != "" and unicodedata.category(char)[0] in "LN")


def candidates(names: Iterable[str]) -> list[str]:
    """Return the distinct non-empty names (first of each letter case), longest first.

    >>> candidates(["Bo", "ada", "Ada Lovelace", "", "ADA"])
    ['Ada Lovelace', 'ada', 'Bo']
    """
    seen: dict[str, str] = {}
    for name in names:
        if name.strip():
            seen.setdefault(_fold(name), name)
    return sorted(seen.values(), key=len, reverse=True)


def mentioned_names(text: str, names: Iterable[str]) -> list[str]:
    """Return the names of ``names`` that ``text`` mentions, in text order (repeats kept)."""
    if "@" not in text:
        return []
    tried = candidates(names)
    folded = [_fold(name) for name in tried]
    found: list[str] = []
    at = text.find("@")
    while at != -1:
        following = at + 1
        if at == 0 or not _is_word_char(text[at - 1]):
            for name, key in zip(tried, folded, strict=True):
                end = at + 1 + len(name)
                if end > len(text) or _fold(text[at + 1 : end]) != key:
                    continue
                if end < len(text) and _is_word_char(text[end]) and _is_word_char(text[end - 1]):
                    continue
                found.append(name)
                following = end
                break
        at = text.find("@", following)
    return found


def mentioned_ids(text: str, members: Iterable[tuple[int, str]]) -> set[int]:
    """Return the ids of the ``(user_id, name)`` members that ``text`` mentions.

    >>> sorted(mentioned_ids("@bo @Ada", [(1, "Ada"), (2, "Bo"), (3, "Cy")]))
    [1, 2]
    """
    by_key: dict[str, int] = {}
    for user_id, name in members:
        by_key.setdefault(_fold(name), user_id)
    names = [name for _, name in members]
    return {by_key[_fold(name)] for name in mentioned_names(text, names)}
