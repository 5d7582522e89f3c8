"""docs/protocol.md "Also served": the app page, static files, robots.txt and the teapot."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest

from pykcworkshop.chat.tokens import generate_csrf
from tests.support import API, unique_name
from tests.support.http import assert_problem


class PageParser(HTMLParser):
    """Collects the meta tags and the script elements of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script_text: list[str] = []
        self.style_attributes: list[str] = []
        self.assets: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "meta" and attributes.get("name"):
            self.meta[str(attributes["name"])] = attributes.get("content") or ""
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        if "style" in attributes:
            self.style_attributes.append(tag)
        for attribute in ("src", "href"):
            if (attributes.get(attribute) or "").startswith("/chat/static/"):
                self.assets.append(str(attributes[attribute]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script_text.append(data)


@pytest.fixture
async def client(http_url):
    async with httpx.AsyncClient(base_url=http_url, timeout=10) as http:
        yield http


@pytest.fixture
async def page(client) -> httpx.Response:
    return await client.get("/chat/")


def parse(page: httpx.Response) -> PageParser:
    parser = PageParser()
    parser.feed(page.text)
    return parser


def csp_directives(page: httpx.Response) -> dict[str, list[str]]:
    directives = {}
    for directive in page.headers["content-security-policy"].split(";"):
        name, *values = directive.split()
        directives[name.lower()] = values
    return directives


# ------------------------------------------------------------------ /coffee and /robots.txt


async def test_coffee_is_a_418_problem(client):
    """RFC 2324: a teapot refuses to brew coffee, as an RFC 9457 problem."""
    assert_problem(await client.get("/coffee"), 418)


async def test_robots_txt_disallows_every_crawler(client):
    response = await client.get("/robots.txt")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = [line.strip().lower() for line in response.text.splitlines() if line.strip()]
    assert lines == ["user-agent: *", "disallow: /"]


# ------------------------------------------------------------------ GET /chat/


async def test_chat_page_is_html(page):
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


async def test_chat_page_carries_a_csrf_meta_tag(page):
    assert parse(page).meta.get("csrf-token")


async def test_chat_page_csrf_token_is_accepted_by_the_api(client, page):
    token = parse(page).meta["csrf-token"]
    response = await client.post(
        f"{API}/user/create", json={"user_name": unique_name()}, headers={"X-CSRF-TOKEN": token}
    )
    assert response.status_code == 201


async def test_chat_page_is_not_cached(page):
    """The page embeds a CSRF token; a shared cache must not hand it to someone else."""
    assert "no-store" in page.headers["cache-control"]


async def test_chat_page_has_a_content_security_policy(page):
    directives = csp_directives(page)
    assert "default-src" in directives or "script-src" in directives


async def test_chat_page_csp_forbids_inline_code(page):
    policy = page.headers["content-security-policy"].lower()
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy


async def test_chat_page_csp_limits_scripts_to_the_site(page):
    directives = csp_directives(page)
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts == ["'self'"]


async def test_chat_page_has_no_inline_scripts(page):
    """The CSP blocks inline scripts, so the page must not rely on any."""
    parser = parse(page)
    assert parser.scripts, "the page loads no script at all"
    assert all(script.get("src") for script in parser.scripts)
    assert parser.inline_script_text == []


async def test_chat_page_has_no_inline_styles(page):
    """The CSP's style-src 'self' blocks style attributes and <style> elements."""
    parser = parse(page)
    assert parser.style_attributes == []
    assert "<style" not in page.text.lower()


# ------------------------------------------------------------------ /chat/static/


async def test_static_svg_is_served(client):
    response = await client.get("/chat/static/favicon.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in response.text


async def test_static_es_module_is_served_as_javascript(client):
    """Browsers refuse module scripts that are not served with a JavaScript MIME type."""
    response = await client.get("/chat/static/api.mjs")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")


async def test_every_static_asset_the_page_references_is_served(client, page):
    assets = parse(page).assets
    assert any(asset.endswith(".mjs") for asset in assets)
    for asset in assets:
        assert (await client.get(asset)).status_code == 200, asset


async def test_missing_static_file_is_404(client):
    assert (await client.get("/chat/static/no-such-file.js")).status_code == 404


async def test_static_files_cannot_escape_the_static_folder(client):
    response = await client.get("/chat/static/..%2F__init__.py")
    assert response.status_code == 404
    assert "import" not in response.text


# ------------------------------------------------------------------ errors everywhere are problems


async def test_unknown_api_path_is_a_404_problem(client):
    response = await client.get(f"{API}/no/such/route", headers={"X-CSRF-TOKEN": generate_csrf()})
    assert_problem(response, 404)


async def test_wrong_method_is_a_405_problem(client):
    response = await client.get(f"{API}/user/create", headers={"X-CSRF-TOKEN": generate_csrf()})
    assert_problem(response, 405)


async def test_unknown_page_is_a_404_problem(client):
    assert_problem(await client.get("/no-such-page"), 404)
