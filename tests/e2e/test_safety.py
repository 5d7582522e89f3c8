"""Safety in the browser: markup is shown as text, and the CSP allows no inline code."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Dialog, Page, expect

from pykcworkshop.chat import db
from tests.support.browser import (
    Browsing,
    contents,
    dm_button,
    member,
    messages,
    send_message,
    sync_events,
    wait_until,
)
from tests.support.seeding import Seeder

pytestmark = pytest.mark.e2e

XSS = "<img src=x onerror=alert(1)>"


async def test_markup_in_messages_and_names_renders_as_text(browse: Browsing, seed: Seeder) -> None:
    # A user and a room whose names are markup too (28 + 4 characters).
    mallory = await seed.user(XSS + secrets.token_hex(2))
    victim = await seed.user()
    room = await seed.room(mallory, victim, name="<b>bold</b>" + secrets.token_hex(4))
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)

    page_m = await browse.user_page(mallory, room, label="mallory")
    page_v = await browse.user_page(victim, room, label="victim")
    for page in (page_m, page_v):
        page.on("dialog", on_dialog)

    await send_message(page_m, XSS)
    await expect(contents(page_v).last).to_have_text(XSS)
    await expect(page_v.locator("#message-list [data-testid=message]").last).to_have_attribute(
        "data-author", mallory.name
    )
    await expect(page_v.locator("#message-list [data-testid=message-author]").last).to_have_text(mallory.name)
    await expect(member(page_v, mallory.id)).to_contain_text(mallory.name)
    await expect(page_v.locator("#room-title")).to_have_text(re.compile(r"^<b>bold</b>"))

    # Direct messages and their notification too. (Wait until the victim's side is connected.)
    await dm_button(page_m, victim.id).click()
    watch_m = browse.watch(page_m)
    await wait_until(
        lambda: any(sync_events(watch_m, "dm-open", to=mallory.id, **{"from": victim.id})),
        "the victim's direct-message socket",
    )
    await page_m.fill("#dm-input", XSS)
    await page_m.click("#dm-send")
    await expect(page_v.locator("#toasts [data-testid=toast]")).to_contain_text(mallory.name)
    await dm_button(page_v, mallory.id).click()
    await expect(contents(page_v, "#dm-messages")).to_have_text([XSS])
    await expect(page_v.locator("#dm-title")).to_have_text(mallory.name)

    for page in (page_m, page_v):
        # No element was made from the text: the only images are the page's own icons.
        assert (
            await page.locator("#main img[src=x], #toasts img, #message-list img, #members img").count() == 0
        )
        assert await page.locator("b").count() == 0
        assert await page.evaluate("window.__cspViolations") == []
    assert dialogs == []


async def test_csp_header_allows_no_inline_code(browse: Browsing) -> None:
    page = await browse.page("csp")
    response = await page.goto(f"{browse.base_url}/chat/")
    assert response is not None and response.ok
    csp = await response.header_value("content-security-policy")
    assert csp, "the page has no Content-Security-Policy"
    directives = {name: values for name, *values in (part.split() for part in csp.split(";") if part.strip())}
    for name in ("script-src", "default-src"):
        assert directives.get(name) == ["'self'"], (name, directives.get(name))
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "'unsafe-hashes'" not in csp and "'strict-dynamic'" not in csp
    assert not re.search(r"'(nonce|sha256|sha384|sha512)-", csp)
    assert directives.get("object-src") == ["'none'"]
    assert directives.get("frame-ancestors") == ["'none'"]

    # The page itself needs no exceptions: no inline scripts, handlers or styles.
    html = await response.text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE), "inline event handler"
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE), "inline style attribute"
    assert "<style" not in html

    # And the browser enforces it: an injected inline script does not run.
    browse.watch(page).allow_errors(r"Content Security Policy", r"CSP violation: script-src-elem")
    await page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.__injected = true"; document.head.append(s); }"""
    )
    await page.wait_for_function("window.__cspViolations.length > 0")
    assert await page.evaluate("window.__injected === undefined")
    assert await page.evaluate("window.__cspViolations") == ["script-src-elem blocked inline"]
    # (And the console watch that checks every test saw it.)
    assert any("CSP violation: script-src-elem" in error for error in browse.watch(page).errors)


#: Hostile messages for the link and code rendering: (what is sent, the text shown, the
#: hrefs of the links made from it). Only http(s) URLs become links; code is shown verbatim.
HOSTILE: list[tuple[str, str, list[str]]] = [
    ("javascript:alert(1)", "javascript:alert(1)", []),
    ("JaVaScRiPt:window.__pwned=1 [x](javascript:alert(1))", "", []),
    ('<a href="javascript:alert(1)">click</a>', "", []),
    ('https://example.com/" onmouseover="alert(1)" x="', "", ["https://example.com/"]),
    ("https://example.com/?q=<script>alert(1)</script>", "", ["https://example.com/?q="]),
    (
        "&lt;b&gt;entities&lt;/b&gt; &amp;amp; https://example.com/?a=1&amp;b=&quot;2&quot;",
        "",
        ["https://example.com/?a=1&amp;b=&quot;2&quot"],
    ),
    ("javascript://https://example.com/%0Aalert(1)", "", ["https://example.com/%0Aalert(1)"]),
    ("https://example.com/\u202egnp.exe", "", ["https://example.com/"]),
    ("data:text/html,<script>alert(7)</script> vbscript:msgbox(8) file:///etc/passwd", "", []),
    (
        "`<img src=x onerror=alert(1)>` and ``<script>alert(2)</script>``",
        "<img src=x onerror=alert(1)> and <script>alert(2)</script>",
        [],
    ),
    (
        '```html\n<script>alert(3)</script>\n<img src=x onerror=alert(4)>\n<a href="javascript:alert(5)">x</a>\n```',
        '<script>alert(3)</script>\n<img src=x onerror=alert(4)>\n<a href="javascript:alert(5)">x</a>',
        [],
    ),
    ("```\n</code></pre><img src=x onerror=alert(6)>", "", []),  # unterminated: text
    ('```" onclick="alert(9)\nx\n```', '" onclick="alert(9)\nx', []),  # no language word
    ("```python\" data-x='y\nz\n```", "python\" data-x='y\nz", []),
]

#: Every element in the message lists made from message text, and what it may carry.
RENDERED_ELEMENTS = """() => [...document.querySelectorAll("#message-list .msg-content *")].map(n => ({
  tag: n.tagName.toLowerCase(),
  attributes: [...n.attributes].map(a => [a.name, a.value]),
}))"""

ALLOWED_ATTRIBUTES = {
    "a": {"class", "href", "target", "rel", "data-testid"},
    "code": {"class", "data-testid"},
    "div": {"class", "data-testid", "data-lang"},
    "pre": {"class", "tabindex"},
    "button": {"class", "type", "title", "aria-label", "data-testid"},
}


async def check_rendered(page: Page) -> None:
    """Only the renderer's own elements and attributes; links are http(s) and isolated."""
    for element in await page.evaluate(RENDERED_ELEMENTS):
        tag, attributes = element["tag"], dict(element["attributes"])
        assert tag in ALLOWED_ATTRIBUTES, element
        assert set(attributes) <= ALLOWED_ATTRIBUTES[tag], element
        if tag == "a":
            assert re.match(r"^https?://", attributes["href"]), element
            assert attributes["target"] == "_blank" and attributes["rel"] == "noopener noreferrer nofollow"
        if "data-lang" in attributes:
            assert re.fullmatch(r"[A-Za-z0-9_+#.-]{1,24}", attributes["data-lang"]), element
    assert await page.locator("#message-list :is(img, script, iframe, object, embed, svg, b)").count() == 0
    assert await page.evaluate("window.__pwned") is None
    assert await page.evaluate("window.__cspViolations") == []


async def test_hostile_links_and_code_render_as_text(browse: Browsing, seed: Seeder) -> None:
    mallory, victim = await seed.user(), await seed.user()
    room = await seed.room(mallory, victim)
    # Most through the history (stored earlier), the last two live.
    stored, live = HOSTILE[:-2], HOSTILE[-2:]
    start = datetime.now(UTC) - timedelta(hours=1)
    async with db.get_session() as session:
        for i, (content, _shown, _hrefs) in enumerate(stored):
            await db.create_chat_message(
                session,
                author_id=mallory.id,
                room_id=room,
                content=content,
                timestamp=start + timedelta(seconds=i),
            )
        await session.commit()
    dialogs: list[str] = []
    page_m = await browse.user_page(mallory, room, label="mallory")
    page_v = await browse.user_page(victim, room, label="victim")
    for page in (page_m, page_v):
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    for content, _shown, _hrefs in live:
        count = await messages(page_v).count()
        await page_m.fill("#message-input", content)
        await page_m.click("#message-send")
        await expect(messages(page_v)).to_have_count(count + 1)
        await expect(page_m.locator("#message-input")).to_have_value("")

    texts = [shown or content for content, shown, _hrefs in stored] + [f"{victim.name} has joined the chat."]
    texts += [shown or content for content, shown, _hrefs in live]
    # (The join message sorts between the stored ones and the live ones, by its time.)
    for page in (page_m, page_v):
        await expect(contents(page)).to_have_text(texts)
        for i, (_content, _shown, hrefs) in enumerate(HOSTILE):
            index = i if i < len(stored) else i + 1
            links = contents(page).nth(index).locator("a")
            assert [await link.get_attribute("href") for link in await links.all()] == hrefs, i
        await check_rendered(page)

    # Hovering the hostile link and clicking into code runs nothing.
    await contents(page_v).nth(3).locator("a").hover()
    blocks = page_v.locator("#message-list [data-testid=code-block]")
    await expect(blocks).to_have_count(3)
    assert await blocks.last.get_attribute("data-lang") is None
    await blocks.first.locator("pre").click()
    for page in (page_m, page_v):
        await check_rendered(page)
    assert dialogs == []


async def test_links_open_a_new_tab_without_opener_or_referrer(browse: Browsing, seed: Seeder) -> None:
    owner = await seed.user()
    room = await seed.room(owner)
    page = await browse.user_page(owner, room)
    target = f"{browse.base_url}/chat/?from=a-link"
    await send_message(page, f"Open {target}.")
    link = contents(page).last.locator("a")
    await expect(link).to_have_text(target)
    async with page.context.expect_page() as opened:
        await link.click()
    tab = await opened.value
    await tab.wait_for_load_state("domcontentloaded")
    assert tab.url == target
    # noopener: the new tab cannot reach (or navigate) the chat; noreferrer: no Referer.
    assert await tab.evaluate("window.opener") is None
    assert await tab.evaluate("document.referrer") == ""
    await tab.close()
    assert page.url.startswith(f"{browse.base_url}/chat/")
