"""Input rules shared by the HTTP API and the form-validation websocket."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pykcworkshop.chat.constants import MAX_CONTENT_LENGTH, MAX_NAME_LENGTH, ROOM_HASH_BYTES

#: What ``secrets.token_urlsafe(ROOM_HASH_BYTES)`` returns: base64url without padding.
_ROOM_HASH = re.compile(rf"[A-Za-z0-9_-]{{{(ROOM_HASH_BYTES * 4 + 2) // 3}}}")

#: Characters that render as nothing although Unicode calls them letters or symbols
#: (Hangul fillers, the blank braille pattern, Khmer inherent vowels, ...).
INVISIBLE = frozenset("\u115f\u1160\u17b4\u17b5\u180e\u2800\u3164\uffa0")


def normalize_name(value: str) -> str:
    """Return a name as it is stored: NFKC-normalised, surrounding whitespace trimmed.

    >>> normalize_name("  \\uff21da\\u00a0")  # fullwidth A, no-break space
    'Ada'
    """
    return unicodedata.normalize("NFKC", value).strip()


def name_problem(value: object, what: str = "name") -> str:
    """Return why ``value`` is not a valid user/room name, or ``""`` if it is valid.

    Names are 1-32 characters after NFKC normalisation and trimming, with no control,
    format or separator characters (the ASCII space excepted), nothing invisible, at least
    one visible character and no combining mark at the start. Cheap checks come first, so
    the first failed rule is reported.

    >>> name_problem("  Ada  "), name_problem("   ", "user name")
    ('', 'user name must not be empty')
    >>> name_problem("x" * 33)
    'name must be at most 32 characters'
    >>> name_problem("bad\\x07name") == name_problem("a\\u200db")  # control, format
    True
    >>> name_problem("two\\u2028lines")
    'name must not contain line breaks or spaces other than the plain space'
    >>> name_problem("\\u3164"), name_problem("\\u0301abc")
    ('name must not contain invisible characters', 'name must not start with a combining mark')
    """
    if not isinstance(value, str):
        return f"{what} must be a string"
    name = normalize_name(value)
    if not name:
        return f"{what} must not be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"{what} must be at most {MAX_NAME_LENGTH} characters"
    categories = [unicodedata.category(char) for char in name]
    if any(category in ("Cc", "Cf", "Cs", "Co", "Cn") for category in categories):
        return f"{what} must not contain control or format characters"
    if any(
        category in ("Zl", "Zp") or (category == "Zs" and char != " ")
        for char, category in zip(name, categories, strict=True)
    ):
        return f"{what} must not contain line breaks or spaces other than the plain space"
    if any(char in INVISIBLE for char in name):
        return f"{what} must not contain invisible characters"
    if categories[0].startswith("M"):
        return f"{what} must not start with a combining mark"
    if not any(category[0] in "LNPS" for category in categories):
        return f"{what} must contain a visible character"
    return ""


def name_key(name: str) -> str:
    """Return the form of a name used for "already taken" checks (case-insensitive).

    >>> name_key("  ÄdA ") == name_key("äda")
    True
    """
    return normalize_name(name).casefold()


def content_problem(value: object) -> str:
    """Return why ``value`` is not valid chat/DM content, or ``""`` if it is valid.

    Empty content is valid here: handlers drop it silently instead of storing it.

    >>> content_problem("hi"), content_problem("x" * 513)
    ('', 'message must be at most 512 characters')
    """
    if not isinstance(value, str):
        return "content must be a string"
    if len(value) > MAX_CONTENT_LENGTH:
        return f"message must be at most {MAX_CONTENT_LENGTH} characters"
    return ""


def is_room_hash(value: str) -> bool:
    """Return whether ``value`` has the shape of a room hash (so a room could have it).

    Checked before any query: a path can carry anything (``%00``, lone surrogates), and
    some databases refuse such text with an error instead of finding nothing.

    >>> is_room_hash("AAAAAAAAAAAAAAAAAAAAAA"), is_room_hash("AAAAAAAAAAAAAAAAAAAAA\\x00")
    (True, False)
    """
    return _ROOM_HASH.fullmatch(value) is not None


def nul_field(body: dict[str, Any]) -> str | None:
    """Return the first key of ``body`` whose key or value holds a NUL character, else None.

    PostgreSQL cannot store U+0000 in text, so the rule for every engine is: client text
    never contains it. Values are searched however deeply nested.

    >>> nul_field({"a": "ok", "b": ["x", {"c": "\\x00"}]}), nul_field({"a": 1})
    ('b', None)
    """
    for key, value in body.items():
        if "\x00" in key or _holds_nul(value):
            return key.replace("\x00", "\\u0000")
    return None


def _holds_nul(value: Any) -> bool:
    # Iterative: a body may nest deeper than the recursion limit allows.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
