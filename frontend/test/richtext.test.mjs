// Unit tests for richtext.mjs: splitting message text into text, links and code.

import assert from "node:assert/strict";
import { test } from "node:test";

import { safeHref, tokenize, trimUrl } from "../../src/pykcworkshop/chat/static/richtext.mjs";

const text = (t) => ({ type: "text", text: t });
const link = (t, href = t) => ({ type: "link", text: t, href });
const code = (t) => ({ type: "code", text: t });
const block = (t, lang = "") => ({ type: "codeblock", text: t, lang });

/** Joined back together, the segments show every character that is not markup. */
const shown = (segments) => segments.map((s) => s.text).join("");

test("plain text is one text segment, the empty string none", () => {
  assert.deepEqual(tokenize("hello world"), [text("hello world")]);
  assert.deepEqual(tokenize(""), []);
  assert.deepEqual(tokenize(null), []);
});

test("http and https URLs become links with a normalized href", () => {
  assert.deepEqual(tokenize("see https://example.com/a?b=1#c now"), [
    text("see "),
    link("https://example.com/a?b=1#c"),
    text(" now"),
  ]);
  assert.deepEqual(tokenize("HTTP://Example.COM"), [
    link("HTTP://Example.COM", "http://example.com/"),
  ]);
  assert.deepEqual(tokenize("a http://x.org b https://y.org"), [
    text("a "),
    link("http://x.org", "http://x.org/"),
    text(" b "),
    link("https://y.org", "https://y.org/"),
  ]);
});

test("only http and https: other schemes and bare words stay text", () => {
  for (const input of [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://example.com",
    "mailto:a@b.c",
    "//example.com",
    "www.example.com",
    "https://",
    "http://",
    "https:// example.com",
    "xhttps://example.com",
    "éhttps://example.com",
  ]) {
    assert.deepEqual(tokenize(input), [text(input)], input);
  }
});

test("a javascript: URL wrapping an https one links only the https part", () => {
  const segments = tokenize("javascript://https://evil.example/%0Aalert(1)");
  assert.deepEqual(segments, [text("javascript://"), link("https://evil.example/%0Aalert(1)")]);
  for (const s of segments.filter((s) => s.type === "link")) assert.match(s.href, /^https?:\/\//);
});

test("quotes, angle brackets and backticks end a URL; markup stays text", () => {
  assert.deepEqual(tokenize('https://a.example/" onmouseover="alert(1)'), [
    link("https://a.example/"),
    text('" onmouseover="alert(1)'),
  ]);
  assert.deepEqual(tokenize("<https://a.example/x>"), [
    text("<"),
    link("https://a.example/x"),
    text(">"),
  ]);
  assert.deepEqual(tokenize('<a href="https://a.example">x</a><script>alert(1)</script>'), [
    text('<a href="'),
    link("https://a.example", "https://a.example/"),
    text('">x</a><script>alert(1)</script>'),
  ]);
  // A single quote inside is kept (the href is only ever set as an attribute value, so it
  // needs no escaping), a trailing one is not.
  assert.deepEqual(tokenize("'https://a.example/it's'"), [
    text("'"),
    link("https://a.example/it's"),
    text("'"),
  ]);
});

test("entities are not decoded: they stay literal in the text and the href", () => {
  assert.deepEqual(tokenize("https://a.example/?a=1&amp;b=2&quot;&#x27;x"), [
    link("https://a.example/?a=1&amp;b=2&quot;&#x27;x"),
  ]);
  // A trailing ";" is punctuation, even at the end of an entity.
  assert.deepEqual(tokenize("https://a.example/&lt;"), [link("https://a.example/&lt"), text(";")]);
  assert.deepEqual(tokenize("&lt;script&gt; &amp;"), [text("&lt;script&gt; &amp;")]);
});

test("trailing punctuation is not part of the link", () => {
  for (const tail of [".", ",", "!", "?", ":", ";", "...", "…", "!?", "'", ").", "),"]) {
    const input = `look (at https://example.com/page${tail}`;
    const segments = tokenize(input);
    assert.deepEqual(segments[1], link("https://example.com/page"), tail);
    assert.equal(shown(segments), input);
  }
  assert.equal(trimUrl("https://a.example/x.y"), "https://a.example/x.y");
  assert.equal(trimUrl("https://a.example/x?"), "https://a.example/x");
});

test("balanced brackets stay in the URL, unbalanced closing ones do not", () => {
  const wiki = "https://en.wikipedia.org/wiki/Python_(programming_language)";
  assert.deepEqual(tokenize(`(${wiki})`), [text("("), link(wiki), text(")")]);
  assert.deepEqual(tokenize(`${wiki}.`), [link(wiki), text(".")]);
  assert.deepEqual(tokenize("[https://a.example/x]"), [
    text("["),
    link("https://a.example/x"),
    text("]"),
  ]);
  assert.equal(trimUrl("https://a.example/{x}"), "https://a.example/{x}");
});

test("unicode URLs get a punycoded, percent-encoded href and keep their text", () => {
  const [only] = tokenize("https://bücher.example/straße?q=ü");
  assert.equal(only.type, "link");
  assert.equal(only.text, "https://bücher.example/straße?q=ü");
  assert.equal(only.href, "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC");
  assert.deepEqual(tokenize("😀https://a.example 😀"), [
    text("😀"),
    link("https://a.example", "https://a.example/"),
    text(" 😀"),
  ]);
});

test("bidirectional controls and zero-width characters end a URL", () => {
  assert.deepEqual(tokenize("https://a.example/\u202Etxt.exe"), [
    link("https://a.example/"),
    text("\u202Etxt.exe"),
  ]);
  assert.deepEqual(tokenize("https://a.example\u200Bevil"), [
    link("https://a.example", "https://a.example/"),
    text("\u200Bevil"),
  ]);
});

test("safeHref accepts only http(s) URLs with a host", () => {
  assert.equal(safeHref("https://a.example"), "https://a.example/");
  assert.equal(safeHref("javascript:alert(1)"), "");
  assert.equal(safeHref("https://"), "");
  assert.equal(safeHref("not a url"), "");
  assert.equal(safeHref("http://[::1]:8000/x"), "http://[::1]:8000/x");
});

test("inline code keeps its text verbatim; links and markup inside are not parsed", () => {
  assert.deepEqual(tokenize("run `pip install x` now"), [
    text("run "),
    code("pip install x"),
    text(" now"),
  ]);
  assert.deepEqual(tokenize("`https://a.example` and `<script>alert(1)</script>`"), [
    code("https://a.example"),
    text(" and "),
    code("<script>alert(1)</script>"),
  ]);
  assert.deepEqual(tokenize("``a ` b``"), [code("a ` b")]);
  assert.deepEqual(tokenize("`` `tick` ``"), [code("`tick`")]);
  assert.deepEqual(tokenize("`  two  spaces  `"), [code(" two  spaces ")]);
});

test("unmatched, blank or multi-line backticks stay text", () => {
  for (const input of ["a ` b", "`open", "``", "` `", "`a\nb`", "it's `x`` odd"]) {
    const segments = tokenize(input);
    assert.ok(
      segments.every((s) => s.type === "text"),
      `${JSON.stringify(input)} → ${JSON.stringify(segments)}`,
    );
    assert.equal(shown(segments), input);
  }
  assert.deepEqual(tokenize("a `b\nc` `d`"), [text("a `b\nc` "), code("d")]);
});

test("fenced blocks keep whitespace exactly and take an optional language", () => {
  const source = "def f(x):\n    return {'a': x}\n\n\tdone  ";
  assert.deepEqual(tokenize("```python\n" + source + "\n```"), [block(source, "python")]);
  assert.deepEqual(tokenize("```\n  indented\n```"), [block("  indented")]);
  assert.deepEqual(tokenize("```one line```"), [block("one line")]);
  assert.deepEqual(tokenize("```c++\nx++;\n```"), [block("x++;", "c++")]);
  // Not a language word: the first line is code.
  assert.deepEqual(tokenize("```print(1)\nprint(2)```"), [block("print(1)\nprint(2)")]);
  assert.deepEqual(tokenize("```\r\nwin\r\n```"), [block("win")]);
});

test("text around a block loses only the line break next to each fence", () => {
  assert.deepEqual(tokenize("before:\n```\ncode\n```\nafter\n"), [
    text("before:"),
    block("code"),
    text("after\n"),
  ]);
  assert.deepEqual(tokenize("a```x```b"), [text("a"), block("x"), text("b")]);
  assert.deepEqual(tokenize("```a```\n```b```"), [block("a"), block("b")]);
});

test("blocks are not parsed inside: markup, links, backticks stay verbatim", () => {
  const inner = '<img src=x onerror=alert(1)> https://a.example `x` "q" &amp;';
  assert.deepEqual(tokenize("```\n" + inner + "\n```"), [block(inner)]);
  assert.deepEqual(tokenize("````\nuse ``` fences\n````"), [block("use ``` fences")]);
});

test("unterminated or empty fences stay text (inline code and links still work)", () => {
  assert.deepEqual(tokenize("```python\nprint(1)"), [text("```python\nprint(1)")]);
  assert.deepEqual(tokenize("```\nhttps://a.example `x`"), [
    text("```\n"),
    link("https://a.example", "https://a.example/"),
    text(" "),
    code("x"),
  ]);
  assert.deepEqual(tokenize("``````"), [text("``````")]);
  assert.deepEqual(tokenize("```\n\n```"), [text("```\n\n```")]);
  assert.deepEqual(tokenize("```` x ```"), [text("```` x ```")]);
  assert.deepEqual(tokenize("``` a ``` b ```"), [block(" a "), text(" b ```")]);
});

test("every character of text and links is kept", () => {
  const inputs = [
    "plain <b>bold</b> &amp; 'quotes' \"double\"",
    'links https://a.example/x_(y) (https://b.example). http://c.example/?q="x"',
    "emoji 👩‍💻 and \u0000 nul and \uFFFD",
    "`unterminated https://a.example",
  ];
  for (const input of inputs) assert.equal(shown(tokenize(input)), input, input);
});

test("long hostile input tokenizes quickly", () => {
  const nasty = "`".repeat(257) + "a".repeat(255) + "`(https://a.example/".repeat(20);
  const started = performance.now();
  const segments = tokenize(nasty);
  assert.ok(performance.now() - started < 200);
  assert.ok(segments.length > 0);
});
