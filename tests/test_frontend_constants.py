"""The frontend's limits (``static/constants.mjs``) agree with the server's.

The ES modules are static files, imported by the page and by the node unit tests alike, so
the limits are written out there once more; this test fails when a copy drifts from
``pykcworkshop.chat.constants`` (or from the API's path and subprotocol).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pykcworkshop.chat
from pykcworkshop.chat import constants
from pykcworkshop.chat.api.http.v1 import bp as http_v1
from pykcworkshop.chat.api.websockets.handshake import PREFERRED_SUBPROTOCOL
from pykcworkshop.chat.api.websockets.v1 import bp as websockets_v1

CONSTANTS_MJS = Path(pykcworkshop.chat.__file__).parent / "static" / "constants.mjs"
#: `export const NAME = <number or double-quoted string>;`
EXPORT = re.compile(r"^export const (\w+) = ([\d_.]+|\"[^\"\\]*\");$", re.MULTILINE)

#: Frontend name -> the server's value it must equal.
MIRRORED = {
    "API_BASE": http_v1.url_prefix,
    "SUBPROTOCOL": PREFERRED_SUBPROTOCOL,
    "MAX_NAME_LENGTH": constants.MAX_NAME_LENGTH,
    "MAX_CONTENT_LENGTH": constants.MAX_CONTENT_LENGTH,
    "SYSTEM_USER_NAME": constants.SYSTEM_USER_NAME,
    "CATCH_UP_PAGE_SIZE": constants.MAX_HISTORY_CHUNK,
    "MAX_BAN_REASON_LENGTH": constants.MAX_BAN_REASON_LENGTH,
    "MAX_MUTE_MINUTES": constants.MAX_MUTE_MINUTES,
}


def frontend_constants() -> dict[str, object]:
    """Return the simple constants ``constants.mjs`` exports (numbers and strings)."""
    text = CONSTANTS_MJS.read_text(encoding="utf-8")
    return {name: json.loads(value.replace("_", "")) for name, value in EXPORT.findall(text)}


def test_mirrored_limits_agree_with_the_server():
    frontend = frontend_constants()
    assert set(MIRRORED) <= set(frontend), "constants.mjs lost an export (or its format changed)"
    assert {name: frontend[name] for name in MIRRORED} == MIRRORED


def test_history_pages_fit_the_servers_largest_chunk():
    assert 1 <= frontend_constants()["HISTORY_PAGE_SIZE"] <= constants.MAX_HISTORY_CHUNK


def test_the_member_menus_mutes_are_allowed_by_the_server():
    text = (CONSTANTS_MJS.parent / "permissions.mjs").read_text(encoding="utf-8")
    offered = [int(minutes) for minutes in re.findall(r"\{ minutes: (\d+),", text)]
    assert offered == [5, 60, 1440]
    assert all(1 <= minutes <= constants.MAX_MUTE_MINUTES for minutes in offered)


def test_both_api_blueprints_live_under_the_frontends_api_base():
    assert websockets_v1.url_prefix == http_v1.url_prefix == frontend_constants()["API_BASE"]
