"""Honest names: NFKC, no invisible or separator tricks, look-alikes are taken.

The HTTP API and the form-validation socket apply the same rules with the same reasons.
"""

from __future__ import annotations

import json
import secrets

import pytest

from tests.support.http import bearer
from tests.support.seeding import Seeder
from tests.support.websockets import recv_json, ws_connect

pytestmark = pytest.mark.usefixtures("database")

HOSTILE = {
    "line separator": "two\u2028lines",
    "paragraph separator": "two\u2029paras",
    "zero-width joiner": "ze\u200dro",
    "zero-width space": "ze\u200bro",
    "hangul filler": "\u3164",
    "hangul fillers inside": "a\u3164\u115f\u1160b",
    "blank braille": "\u2800\u2800",
    "lone combining mark": "\u0301",
    "leading combining mark": "\u0301abc",
    "ogham space": "ogham\u1680space",
}


async def socket_reason(ws_url, form_type: str, form_data: dict) -> str:
    async with ws_connect(ws_url, "/form-validation") as ws:
        await ws.send(json.dumps({"type": form_type, "form_data": form_data}))
        return str((await recv_json(ws))["failure_reason"])


@pytest.mark.parametrize("name", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_names_are_refused_alike_by_the_api_and_the_socket(api, ws_url, seed: Seeder, name):
    owner = await seed.user()
    user = await api.post("/user/create", json={"user_name": name})
    room = await api.post("/room/create", json={"room_name": name}, headers=bearer(owner))
    assert user.status_code == room.status_code == 400
    assert user.json()["detail"] == await socket_reason(ws_url, "create-user", {"user_name": name})
    room_reason = await socket_reason(ws_url, "create-room", {"room_name": name, "user_id": owner.id})
    assert room.json()["detail"] == room_reason


async def test_names_are_stored_nfkc_normalised(api):
    tag = secrets.token_hex(4)
    created = await api.post("/user/create", json={"user_name": f"\uff21\uff44\uff41-{tag}"})  # fullwidth
    assert created.status_code == 201
    assert created.json()["user_name"] == f"Ada-{tag}"


async def test_a_look_alike_of_an_existing_user_name_is_taken(api, ws_url):
    tag = secrets.token_hex(4)
    assert (await api.post("/user/create", json={"user_name": f"alice-{tag}"})).status_code == 201
    for look_alike in (
        f"\u0430lice-{tag}",
        f"\u0410LICE-{tag}",
        f"ALICE-{tag}",
    ):  # Cyrillic small / capital a
        response = await api.post("/user/create", json={"user_name": look_alike})
        assert response.status_code == 400, look_alike
        assert response.json()["detail"] == "this user name is taken"
        assert (
            await socket_reason(ws_url, "create-user", {"user_name": look_alike}) == "this user name is taken"
        )
    # Something that merely resembles it in spelling is fine.
    assert (await api.post("/user/create", json={"user_name": f"alicia-{tag}"})).status_code == 201


async def test_a_look_alike_of_an_owned_room_name_is_taken(api, ws_url, seed: Seeder):
    owner = await seed.user()
    assert (
        await api.post("/room/create", json={"room_name": "Lobby"}, headers=bearer(owner))
    ).status_code == 201
    look_alike = "L\u043ebby"  # Cyrillic o
    response = await api.post("/room/create", json={"room_name": look_alike}, headers=bearer(owner))
    assert response.status_code == 400
    assert response.json()["detail"] == "you already own a room with this name"
    reason = await socket_reason(ws_url, "create-room", {"room_name": look_alike, "user_id": owner.id})
    assert reason == "you already own a room with this name"
