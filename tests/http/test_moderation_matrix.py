"""docs/protocol.md "Moderation routes": who may do what, every action x caller x target.

Each case seeds a fresh room (:func:`~tests.support.seeding.seed_moderated_room`) through the
data layer and sends one request to the live server. Callers: the owner, a moderator, a
member, a non-member and a banned user. Targets: the owner, a(nother) moderator, a(nother)
member, the caller themself, a non-member and a banned user.
"""

from __future__ import annotations

import pytest

from pykcworkshop.chat import db
from tests.support.http import assert_problem, bearer
from tests.support.seeding import ModeratedRoom, seed_moderated_room

pytestmark = pytest.mark.usefixtures("database")

CALLERS = ("owner", "moderator", "member", "outsider", "banned")
TARGETS = ("owner", "moderator", "member", "self", "non-member", "banned")

#: Actions on a member whose lowest allowed caller is a moderator, and who outrank their target.
MODERATOR_ON_TARGET = {
    "owner": {"owner": 400, "moderator": 204, "member": 204, "self": 400, "non-member": 404, "banned": 404},
    "moderator": {
        "owner": 403,
        "moderator": 403,
        "member": 204,
        "self": 400,
        "non-member": 404,
        "banned": 404,
    },
    "member": dict.fromkeys(TARGETS, 403),
    "outsider": dict.fromkeys(TARGETS, 403),
    "banned": dict.fromkeys(TARGETS, 403),
}
#: Actions on a member only the owner may do.
OWNER_ON_TARGET = {
    "owner": {"owner": 400, "moderator": 204, "member": 204, "self": 400, "non-member": 404, "banned": 404},
    **{caller: dict.fromkeys(TARGETS, 403) for caller in CALLERS if caller != "owner"},
}

#: action -> (method, path under /room/<hash>, JSON body, expected[caller][target]).
TARGETED = {
    "kick": ("POST", "/members/{id}/kick", None, MODERATOR_ON_TARGET),
    "ban": ("POST", "/members/{id}/ban", {"reason": "spam"}, MODERATOR_ON_TARGET),
    "mute": ("POST", "/members/{id}/mute", {"minutes": 5}, MODERATOR_ON_TARGET),
    "unmute": ("DELETE", "/members/{id}/mute", None, MODERATOR_ON_TARGET),
    "promote": ("PUT", "/members/{id}/role", {"role": "moderator"}, OWNER_ON_TARGET),
    "demote": ("PUT", "/members/{id}/role", {"role": "member"}, OWNER_ON_TARGET),
}
#: Successful mute answers 200 with the time.
SUCCESS = {"mute": 200}

#: action -> (method, path, body, expected[caller]).
UNTARGETED = {
    "rename": ("PATCH", "", {"room_name": "Renamed"}, {"owner": 200, "moderator": 403, "member": 403}),
    "delete room": ("DELETE", "", None, {"owner": 204, "moderator": 403, "member": 403}),
    "leave": ("POST", "/leave", None, {"owner": 400, "moderator": 204, "member": 204}),
    "list bans": ("GET", "/bans", None, {"owner": 200, "moderator": 200, "member": 403}),
    "unban the banned": ("DELETE", "/bans/{banned}", None, {"owner": 204, "moderator": 204, "member": 403}),
    "unban a member": ("DELETE", "/bans/{member2}", None, {"owner": 404, "moderator": 404, "member": 403}),
}


def target_of(room: ModeratedRoom, caller: str, target: str) -> int:
    """Return the id of ``target`` as seen by ``caller`` (another moderator, another member)."""
    named = {"self": caller, "non-member": "stranger"}.get(target, target)
    if named == caller and target in ("moderator", "member"):
        named = f"{target}2"
    return room[named].id


async def send(api, room: ModeratedRoom, caller: str, method: str, path: str, body: object):
    url = f"/room/{room.hash}{path}"
    return await api.request(method, url, json=body, headers=bearer(room[caller]))


def check(response, expected: int) -> None:
    if expected >= 400:
        assert_problem(response, expected)
    else:
        assert response.status_code == expected, response.text


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("action", TARGETED)
async def test_actions_on_members(api, action, caller, target):
    room = await seed_moderated_room()
    method, path, body, expected = TARGETED[action]
    status = expected[caller][target]
    if status == 204:
        status = SUCCESS.get(action, 204)
    response = await send(api, room, caller, method, path.format(id=target_of(room, caller, target)), body)
    check(response, status)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("action", UNTARGETED)
async def test_actions_on_the_room(api, action, caller):
    room = await seed_moderated_room()
    method, path, body, expected = UNTARGETED[action]
    path = path.format(banned=room["banned"].id, member2=room["member2"].id)
    check(await send(api, room, caller, method, path, body), expected.get(caller, 403))


#: author of the message -> expected[caller].
DELETE_MESSAGE = {
    "own": {"owner": 204, "moderator": 204, "member": 204},
    "member2": {"owner": 204, "moderator": 204, "member": 403},
    "owner": {"owner": 204, "moderator": 204, "member": 403},
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("author", DELETE_MESSAGE)
async def test_deleting_a_message(api, author, caller):
    room = await seed_moderated_room()
    writer = room[caller if author == "own" else author]
    async with db.get_session() as session:
        message = await db.create_chat_message(session, author_id=writer.id, room_id=room.hash, content="hi")
        await session.commit()
    response = await send(api, room, caller, "DELETE", f"/messages/{message.id}", None)
    check(response, DELETE_MESSAGE[author].get(caller, 403))


@pytest.mark.parametrize("caller", ["owner", "moderator"])
async def test_transfer(api, caller):
    # Only the owner may transfer; to themself is nonsense, to a non-member unknown.
    room = await seed_moderated_room()
    # The stranger first: after a transfer the caller is no longer the owner.
    cases = {"stranger": 404 if caller == "owner" else 403, "member": 204 if caller == "owner" else 403}
    if caller == "owner":
        check(await send(api, room, caller, "POST", "/transfer", {"user_id": room["owner"].id}), 400)
    for target, status in cases.items():
        check(await send(api, room, caller, "POST", "/transfer", {"user_id": room[target].id}), status)


@pytest.mark.parametrize("caller", ["member", "outsider", "banned"])
async def test_only_the_owner_transfers(api, caller):
    room = await seed_moderated_room()
    check(await send(api, room, caller, "POST", "/transfer", {"user_id": room["member2"].id}), 403)
