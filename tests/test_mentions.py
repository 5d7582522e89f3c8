"""Server-side mention detection: the cases shared with the frontend, and member ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pykcworkshop.chat.mentions import mentioned_ids, mentioned_names

CASES = json.loads((Path(__file__).parent / "fixtures" / "mention_cases.json").read_text("utf-8"))["cases"]


def test_the_shared_cases_are_there() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[json.dumps(c["text"]) for c in CASES])
def test_shared_case(case: dict[str, object]) -> None:
    assert mentioned_names(case["text"], case["names"]) == case["mentioned"]  # type: ignore[arg-type]


def test_ids_of_mentioned_members() -> None:
    members = [(1, "Ada"), (2, "Ada Lovelace"), (3, "Bo")]
    assert mentioned_ids("@ada lovelace and @BO", members) == {2, 3}
    assert mentioned_ids("no one", members) == set()
    assert mentioned_ids("@Ada @ada", members) == {1}
