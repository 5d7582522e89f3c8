"""Input rules shared by the HTTP API and the form-validation websocket."""

from __future__ import annotations

import unicodedata

from pykcworkshop.chat.constants import MAX_CONTENT_LENGTH, MAX_NAME_LENGTH


def name_problem(value: object, what: str = "name") -> str:
    """Return why ``value`` is not a valid user/room name, or ``""`` if it is valid.

    Names are 1-32 characters after trimming surrounding whitespace, with no control
    characters. Cheap checks come first, so the first failed rule is reported.

    >>> name_problem("  Ada  "), name_problem("   ", "user name")
    ('', 'user name must not be empty')
    >>> name_problem("x" * 33)
    'name must be at most 32 characters'
    >>> name_problem("bad\\x07name")
    'name must not contain control characters'
    """
    if not isinstance(value, str):
        return f"{what} must be a string"
    name = value.strip()
    if not name:
        return f"{what} must not be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"{what} must be at most {MAX_NAME_LENGTH} characters"
    if any(_is_control(char) for char in name):
        return f"{what} must not contain control characters"
    return ""


def _is_control(char: str) -> bool:
    # Format characters (Cf) include bidi overrides used for spoofing; the zero-width
    # joiner is one too, but emoji sequences need it.
    category = unicodedata.category(char)
    return category in ("Cc", "Cs") or (category == "Cf" and char != "\u200d")


def name_key(name: str) -> str:
    """Return the form of a name used for "already taken" checks (case-insensitive).

    >>> name_key("  ÄdA ") == name_key("äda")
    True
    """
    return name.strip().casefold()


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
