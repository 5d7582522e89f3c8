"""Take the README's screenshots: the chat view with two people chatting, laptop and phone.

Usage (from the repository root, in the dev environment)::

    python docs/take_screenshot.py [--output docs/screenshot-chat.png]
        [--phone-output docs/screenshot-chat-phone.png]

It starts the app in a temporary directory (its own secrets and SQLite database, as the
test suite does), seeds three people and a room with some earlier conversation through the
data layer, then drives two headless Chromium windows through Playwright: Ada and Grace
chat live (a mention, a link, inline code, a code block, an edit), Grace sends Ada a
direct message and starts typing again, and the script captures Ada's window at 1280x800,
then at a phone's 390x844. Chromium is Debian's ``/usr/bin/chromium`` unless
``PYKC_E2E_CHROMIUM`` names another one. The browser tests run :func:`capture` too, so the
script keeps working as the app changes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import update

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `tests` importable
    sys.path.insert(0, str(ROOT))

from pykcworkshop.chat import db  # noqa: E402
from pykcworkshop.chat.db.models import ChatMessage  # noqa: E402
from tests.support.browser import CHROMIUM, DESKTOP, LAUNCH_ARGS, PHONE  # noqa: E402
from tests.support.live_server import LiveServer, server_env  # noqa: E402

DEFAULT_OUTPUT = ROOT / "docs" / "screenshot-chat.png"
DEFAULT_PHONE_OUTPUT = ROOT / "docs" / "screenshot-chat-phone.png"
VIEWPORT = DESKTOP

#: The earlier conversation, (author index, text), a few minutes before the live part.
EARLIER = [
    (0, "Welcome to the workshop room! Questions about the exercises go here."),
    (1, "Thanks! Is the chat-history socket in today's part?"),
    (0, "Yes, right after member-status. The tests in tests/websockets tell you when you're done."),
    (2, "I'll join after lunch, keep the coffee warm."),
]
LIVE = [
    (1, "My history handler passes the tests now!"),
    (0, "Great! Did you try scrolling up in the browser? It loads older messages as you go."),
    (1, "It does, and it keeps my place. Next up: direct messages."),
    (0, "@{1} the docs for that are at https://docs.python.org/3/library/asyncio.html, see `asyncio.gather`"),
    (1, "```python\nasync for frame in socket.text_frames():\n    await socket.send(frame)\n```"),
]
#: What Grace's first live message becomes after she edits it ("(edited)" beside its time).
EDITED = "My history handler passes all the tests now!"


async def _seed(people: tuple[str, str, str], room_name: str) -> tuple[list[tuple[int, str]], str]:
    """Create the people and the room with its earlier conversation; return keys and room hash."""
    async with db.get_session() as session:
        users = []
        for name in people:
            user, key = await db.create_user(session, user_name=name)
            users.append((user, key))
        room = await db.create_room(session, room_name=room_name, creator_id=users[0][0].id)
        for user, _key in users[1:]:
            await db.add_user_to_room(session, user_id=user.id, room_id=room.id)
        await session.flush()
        start = datetime.now(UTC) - timedelta(minutes=12)
        # Everyone joined before the earlier conversation started.
        await session.execute(
            update(ChatMessage)
            .where(ChatMessage.room_id == room.id)
            .values(timestamp=start - timedelta(minutes=5))
        )
        for i, (author, text) in enumerate(EARLIER):
            await db.create_chat_message(
                session,
                author_id=users[author][0].id,
                room_id=room.id,
                content=text,
                timestamp=start + timedelta(minutes=2 * i),
            )
        await session.commit()
    return [(user.id, key) for user, key in users], room.id


async def _open(browser: Browser, base_url: str, key: str, room: str) -> Page:
    context = await browser.new_context(viewport=VIEWPORT, locale="en-US", color_scheme="light")
    page = await context.new_page()
    await page.goto(f"{base_url}/chat/")
    await page.fill("#login-key-input", key)
    await page.click("#login-submit")
    await page.locator(f'#joined-rooms [data-room-hash="{room}"]').click()
    await expect(page.locator("#room-view")).to_have_attribute("data-room-hash", room)
    return page


async def _say(page: Page, text: str, everyone: list[Page]) -> None:
    # Counted rather than compared: the shown text drops markup such as backticks.
    contents = "#message-list [data-testid=message-content]"
    counts = [await other.locator(contents).count() for other in everyone]
    await page.fill("#message-input", text)
    await page.click("#message-send")
    for other, count in zip(everyone, counts, strict=True):
        await expect(other.locator(contents)).to_have_count(count + 1)


async def capture(
    browser: Browser,
    base_url: str,
    output: Path,
    *,
    phone_output: Path | None = None,
    people: tuple[str, str, str] = ("Ada", "Grace", "Linus"),
    room_name: str = "Python workshop",
) -> None:
    """Seed through the data layer (connected by the caller), chat in two windows, save a PNG."""
    users, room = await _seed(people, room_name)
    (ada_id, ada_key), (grace_id, grace_key), _linus = users
    ada = await _open(browser, base_url, ada_key, room)
    grace = await _open(browser, base_url, grace_key, room)
    try:
        for page, other_id in ((ada, grace_id), (grace, ada_id)):
            other = page.locator(f'#members [data-testid=member][data-user-id="{other_id}"]')
            await expect(other).to_have_attribute("data-status", "Online")
        pages = [ada, grace]
        for author, text in LIVE:
            await _say(pages[author], text.replace("@{1}", f"@{people[1]}"), pages)
        # Grace fixes her first message: both windows show the new text and "(edited)".
        first = grace.locator("#message-list [data-testid=message]").filter(has_text=LIVE[0][1])
        await first.hover()  # the message's actions show on hover (or focus)
        await first.locator("[data-testid=message-edit]").click()
        await grace.locator("[data-testid=message-editor]").fill(EDITED)
        await grace.locator("[data-testid=message-editor]").press("Enter")
        edited = ada.locator("#message-list [data-testid=message]").filter(has_text=EDITED)
        await expect(edited.locator("[data-testid=message-edited]")).to_be_visible()

        # A direct message from Grace: an unread badge on her name in Ada's member list.
        await grace.locator(
            f'#members [data-testid=member][data-user-id="{ada_id}"] [data-testid=member-dm]'
        ).click()
        await grace.fill("#dm-input", "Coffee after this part?")
        await grace.click("#dm-send")
        badge = ada.locator(
            f'#members [data-testid=member][data-user-id="{grace_id}"] [data-testid=unread-badge]'
        )
        await expect(badge).to_be_visible()
        for close in await ada.locator("#toasts [data-testid=toast] .toast-close").all():
            await close.click()
        await expect(ada.locator("#toasts [data-testid=toast]")).to_have_count(0)

        # Grace starts typing her next message.
        await grace.locator("#message-input").press_sequentially("Quick question about")
        await expect(ada.locator("#typing-indicator")).to_contain_text("is typing")
        await ada.locator("#message-input").fill("Sure, ask away")
        await ada.mouse.move(0, 0)
        output.parent.mkdir(parents=True, exist_ok=True)
        await ada.screenshot(path=str(output))
        if phone_output is not None:
            await ada.set_viewport_size(PHONE)
            await ada.locator("#messages").evaluate("s => { s.scrollTop = s.scrollHeight; }")
            await ada.screenshot(path=str(phone_output))
    finally:
        for page in (ada, grace):
            await page.context.close()


async def main(output: Path, phone_output: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="pykc-screenshot-") as workdir:
        env = server_env(Path(workdir))
        server = LiveServer(Path(workdir), env).start()
        os.environ["SECRET_KEY"] = env["SECRET_KEY"]  # sign tokens as the server does
        db.connect(env["DB_URI"])
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True
                )
                await capture(browser, server.http_url, output, phone_output=phone_output)
                await browser.close()
        finally:
            await db.dispose()
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the PNG")
    parser.add_argument("--phone-output", type=Path, default=DEFAULT_PHONE_OUTPUT, help="the phone-width PNG")
    args = parser.parse_args()
    asyncio.run(main(args.output, args.phone_output))
    for path in (args.output, args.phone_output):
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
