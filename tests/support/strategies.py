"""Hypothesis strategies for hostile input: websocket frames and HTTP bodies.

Every strategy may produce what a careless or hostile client sends: arbitrary JSON
(integers far beyond float range, NaN/Infinity literals, deep nesting, lone surrogates,
NUL, control and format characters, wrong types, extra keys), text that is not JSON,
invalid UTF-8, and binary. :func:`frames` shapes them around one socket's expected keys,
so the fuzzer also reaches the checks past "is it an object".
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

#: Characters that break naive handling: NUL, C0/C1 controls, DEL, bidi and zero-width
#: format characters, a BOM, line/paragraph separators, lone surrogates, astral emoji.
NASTY_CHARS = "\x00\x01\x07\x1b\x7f\x85\u200b\u200d\u202e\u2028\u2029\ufeff\ud800\udfff\U0001f642"

texts = st.text(st.sampled_from(NASTY_CHARS) | st.characters(codec=None), max_size=40)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**300, max_value=10**500),
    st.integers(min_value=-(10**500), max_value=-(10**300)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([2**63, 2**63 - 1, -(2**63), 2**64, 0, -1, 1]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=8,
)


def encode(value: Any) -> str:
    """Return ``value`` as JSON text; NaN/Infinity become their (non-standard) literals and
    lone surrogates stay as ``\\ud800`` escapes, exactly what a hostile client may send."""
    return json.dumps(value, allow_nan=True)


#: Raw JSON-ish texts that no encoder of ours would produce.
raw_texts = st.one_of(
    st.integers(min_value=1, max_value=5000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(min_value=1, max_value=5000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    st.sampled_from(
        ["NaN", "-Infinity", '{"a": NaN}', "1e999999", "-" + "9" * 5000, '"\\ud800"', "{", "nul"]
    ),
    st.integers(min_value=400, max_value=4000).map(lambda digits: "1" * digits),
    texts,
)
invalid_utf8 = st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80abc"])
binaries = st.binary(max_size=64)


def shaped(keys: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with ``keys`` (each either a good value or anything), plus extra keys."""
    fields = {key: st.one_of(st.just(good), json_values) for key, good in keys.items()}
    # (tuples + map, not flatmap: a flatmap builds a new strategy for every draw, which made
    # generation several times slower than the server under fuzz.)
    return st.tuples(
        st.fixed_dictionaries({}, optional=fields), st.dictionaries(texts, json_values, max_size=3)
    ).map(lambda pair: {**pair[1], **pair[0]})


#: The keys each socket reads, with a good value for each.
SOCKET_KEYS: dict[str, dict[str, Any]] = {
    "chat-message": {"content": "fuzz", "user_name": "x"},
    "member-status": {"user_status": "Typing", "user_id": 1},
    "client-sync": {"type": "sync"},
    "chat-history": {"timestamp": 0, "chunk_size": 1, "newer": False, "before_id": 1, "after_id": 1},
    "direct-message": {"content": "fuzz"},
    "form-validation": {"type": "create-user", "form_data": {"user_name": "fuzz"}},
}


def sendable(text: str) -> str:
    """Return ``text`` as a text frame can carry it: a lone surrogate becomes ``\\udcbc``.

    (A text frame is UTF-8 on the wire; invalid UTF-8 text frames close with 1007, which
    ``tests/websockets/test_released.py`` checks. In JSON the escape is a lone surrogate.)
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def frames(socket: str) -> st.SearchStrategy[str | bytes]:
    """One frame for ``socket``: text (str) or binary (bytes, e.g. invalid UTF-8), good or hostile."""
    return st.one_of(
        shaped(SOCKET_KEYS[socket]).map(encode),
        json_values.map(encode),
        raw_texts.map(sendable),
        invalid_utf8,
        binaries,
    )


#: The keys each HTTP route with a body reads, with a good value for each.
ROUTE_KEYS: dict[str, dict[str, Any]] = {
    "/user/create": {"user_name": "fuzz"},
    "/user/login": {"user_hash": "abc.1"},
    "/room/create": {"room_name": "fuzz"},
}


def bodies(route: str) -> st.SearchStrategy[bytes]:
    """One request body for ``route``: JSON (shaped or not), not JSON, or not UTF-8."""
    return st.one_of(
        shaped(ROUTE_KEYS.get(route, {})).map(encode).map(lambda text: text.encode("utf-8", "surrogatepass")),
        json_values.map(encode).map(str.encode),
        raw_texts.map(lambda text: text.encode("utf-8", "surrogatepass")),
        invalid_utf8,
        binaries,
    )
