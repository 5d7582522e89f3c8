"""Input rules shared by the HTTP API and the form-validation websocket."""

from __future__ import annotations

import unicodedata

from pykcworkshop.chat.constants import MAX_CONTENT_LENGTH, MAX_NAME_LENGTH

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
