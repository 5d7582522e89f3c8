"""docs/protocol.md "Names" and "Limits": ``pykcworkshop.chat.validation`` and the constants."""

from __future__ import annotations

import pytest

from pykcworkshop.chat import constants
from pykcworkshop.chat.validation import content_problem, name_key, name_problem


def test_limits():
    assert constants.MAX_NAME_LENGTH == 32
    assert constants.MAX_CONTENT_LENGTH == 512


@pytest.mark.parametrize(
    "name",
    [
        "A",
        "Ada",
        "x" * 32,
        "  padded  ",
        f"\t{'y' * 32}\n",
        "Zoë",
        "李雷",
        "🐍 snake",
        "a b-c_d.e",
        "Ad\u00e1",  # á as a letter and a combining mark (NFKC composes it)
    ],
    ids=repr,
)
def test_valid_names(name):
    assert name_problem(name) == ""


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "\t\n\r ",
        "\u3000",  # ideographic space: whitespace, trimmed away
        "x" * 33,
        f" {'x' * 33} ",
        "a\x00b",
        "a\x07b",
        "a\nb",
        "a\tb",
        "a\x1bb",
        "a\x7fb",
        "a\x85b",  # NEL, a C1 control character
        "a\u202eb",  # right-to-left override: spoofs names
        "a\u200bb",  # zero-width space: makes look-alike names
        "a\ud800b",  # lone surrogate
        "👩\u200d💻 coder",  # ZWJ is a format character too
        "two\u2028lines",
        "two\u2029paragraphs",
        "ogham\u1680space",  # a Zs space that NFKC keeps
        "\u3164",  # Hangul filler: a letter that shows nothing
        "\u115f\u1160",
        "\u2800",  # blank braille pattern
        "a\u3164b",
        "\u0301",  # a lone combining mark
        "\u0301abc",
        "\u0301\u0302",
    ],
    ids=repr,
)
def test_invalid_names(name):
    assert name_problem(name) != ""


@pytest.mark.parametrize("value", [None, 42, ["Ada"], {"name": "Ada"}, b"Ada", True], ids=repr)
def test_non_string_name_is_invalid(value):
    assert name_problem(value) != ""


def test_name_problem_names_what_it_checks():
    assert "room name" in name_problem("", "room name")


def test_name_problem_reports_empty_before_length():
    """Trimming comes first: a long run of spaces is empty, not too long."""
    assert "empty" in name_problem(" " * 40)


def test_name_key_ignores_case_and_surrounding_whitespace():
    assert name_key("  ÄdA ") == name_key("äda") == name_key("ÄDA")
    assert name_key("Ada") != name_key("Adam")


@pytest.mark.parametrize("content", ["", "hi", "x" * 512, "line\nbreak", "🐍" * 512], ids=repr)
def test_valid_content(content):
    assert content_problem(content) == ""


@pytest.mark.parametrize("content", ["x" * 513, None, 42, ["hi"], {"content": "hi"}], ids=repr)
def test_invalid_content(content):
    assert content_problem(content) != ""
