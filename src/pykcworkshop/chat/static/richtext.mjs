// Splits a message's text into segments for display: plain text, links, mentions, inline
// code and fenced code blocks. Pure (no DOM): messages.mjs turns the segments into nodes with
// textContent and setAttribute, so nothing a user writes is ever parsed as HTML.
//
//   ```lang            a fenced block: a run of 3+ backticks, closed by a run of the same
//   code, kept as is   length; an optional language word right after the opening fence;
//   ```                unterminated fences stay plain text
//   `code`             inline code: a run of backticks closed by a run of the same length
//                      on the same line (one space inside each end is dropped, as in
//                      CommonMark); whitespace-only spans stay plain text
//   https://…          links: only http and https, written out with the scheme; trailing
//                      punctuation and unbalanced closing brackets are not part of the link
//   @Ada Lovelace      mentions of the member names given (see mentions.mjs); not inside
//                      code or links
//
// Segments: {type: "text", text} | {type: "link", text, href} | {type: "code", text}
//           | {type: "codeblock", text, lang} (lang is "" when none was given)
//           | {type: "mention", text, name} (text as written, e.g. "@ada"; name as the member's)

import { findMentions, mentionCandidates } from "./mentions.mjs";

const FENCE_RUN = /`{3,}/g;
const BACKTICK_RUN = /`+/g;
const LANGUAGE = /^[A-Za-z0-9_+#.-]{1,24}$/;

// A URL runs to the next whitespace, or to a character that commonly delimits it in prose
// (<>"`) or could disguise it (bidirectional controls, zero-width characters).
const URL_CANDIDATE =
  /(?<![\p{L}\p{N}_])https?:\/\/[^\s<>"`\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]+/giu;
const TRAILING_PUNCTUATION = new Set([".", ",", ":", ";", "!", "?", "'", "…", "。", "、"]);
const CLOSING = { ")": "(", "]": "[", "}": "{" };

/**
 * Split `text` into segments (see the top of the file). `mentionNames`: the member names
 * that "@name" may mention (none: no mention segments).
 */
export function tokenize(text, { mentionNames = [] } = {}) {
  if (typeof text !== "string" || text === "") return [];
  const names = mentionCandidates(mentionNames);
  const segments = [];
  for (const part of splitFences(text)) {
    if (part.type === "codeblock") segments.push(part);
    else for (const inline of splitInlineCode(part.text)) pushInline(segments, inline, names);
  }
  return mergeText(segments);
}

function pushInline(segments, part, names) {
  if (part.type === "code") {
    segments.push(part);
    return;
  }
  for (const piece of splitLinks(part.text)) {
    if (piece.type === "text") segments.push(...splitMentions(piece.text, names));
    else segments.push(piece);
  }
}

/** Mentions and the text around them. */
function splitMentions(text, names) {
  const parts = [];
  let textStart = 0;
  for (const { start, end, name } of findMentions(text, names)) {
    if (start > textStart) parts.push({ type: "text", text: text.slice(textStart, start) });
    parts.push({ type: "mention", text: text.slice(start, end), name });
    textStart = end;
  }
  if (textStart < text.length) parts.push({ type: "text", text: text.slice(textStart) });
  return parts;
}

/** Fenced code blocks and the text between them. */
function splitFences(text) {
  const parts = [];
  let textStart = 0; // start of the text not yet emitted
  let searchFrom = 0;
  while (searchFrom < text.length) {
    FENCE_RUN.lastIndex = searchFrom;
    const open = FENCE_RUN.exec(text);
    if (!open) break;
    const fence = open[0];
    const afterOpen = open.index + fence.length;
    const close = findRun(text, fence.length, afterOpen);
    if (close === -1) {
      searchFrom = afterOpen; // unterminated: the backticks stay text
      continue;
    }
    const { lang, start } = fenceBody(text, afterOpen, close);
    const code = text.slice(start, close).replace(/\r?\n$/, "");
    if (code.trim() === "") {
      searchFrom = close + fence.length; // an empty block: leave it all as text
      continue;
    }
    // The block is shown on its own lines: drop the line break next to each fence.
    const before = text.slice(textStart, open.index).replace(/\r?\n$/, "");
    if (before) parts.push({ type: "text", text: before });
    parts.push({ type: "codeblock", text: code, lang });
    textStart = close + fence.length;
    const lineBreak = /^\r?\n/.exec(text.slice(textStart, textStart + 2));
    if (lineBreak) textStart += lineBreak[0].length;
    searchFrom = textStart;
  }
  if (textStart < text.length) parts.push({ type: "text", text: text.slice(textStart) });
  return parts;
}

/** The language word and where the code starts, for a fence opened just before `from`. */
function fenceBody(text, from, close) {
  const newline = text.indexOf("\n", from);
  if (newline === -1 || newline >= close) return { lang: "", start: from }; // ```code```
  const firstLine = text.slice(from, newline).replace(/\r$/, "").trim();
  if (firstLine === "") return { lang: "", start: newline + 1 };
  if (LANGUAGE.test(firstLine)) return { lang: firstLine, start: newline + 1 };
  return { lang: "", start: from };
}

/** Index of the next run of exactly `length` backticks at or after `from`, or -1. */
function findRun(text, length, from, stopAtNewline = false) {
  BACKTICK_RUN.lastIndex = from;
  for (let run = BACKTICK_RUN.exec(text); run; run = BACKTICK_RUN.exec(text)) {
    if (stopAtNewline && text.slice(from, run.index).includes("\n")) return -1;
    if (run[0].length === length) return run.index;
  }
  return -1;
}

/** Inline code spans and the text around them (spans do not cross line breaks). */
function splitInlineCode(text) {
  const parts = [];
  let textStart = 0;
  let searchFrom = 0;
  while (searchFrom < text.length) {
    BACKTICK_RUN.lastIndex = searchFrom;
    const open = BACKTICK_RUN.exec(text);
    if (!open) break;
    const ticks = open[0].length;
    const afterOpen = open.index + ticks;
    const close = findRun(text, ticks, afterOpen, true);
    let code = close === -1 ? "" : text.slice(afterOpen, close);
    if (code.trim() === "") {
      searchFrom = afterOpen; // unmatched or blank: the backticks stay text
      continue;
    }
    if (code.length > 2 && code.startsWith(" ") && code.endsWith(" ")) code = code.slice(1, -1);
    if (open.index > textStart)
      parts.push({ type: "text", text: text.slice(textStart, open.index) });
    parts.push({ type: "code", text: code });
    textStart = close + ticks;
    searchFrom = textStart;
  }
  if (textStart < text.length) parts.push({ type: "text", text: text.slice(textStart) });
  return parts;
}

/** Links and the text around them. */
function splitLinks(text) {
  const parts = [];
  let textStart = 0;
  for (const match of text.matchAll(URL_CANDIDATE)) {
    const candidate = trimUrl(match[0]);
    const href = safeHref(candidate);
    if (!href) continue;
    if (match.index > textStart)
      parts.push({ type: "text", text: text.slice(textStart, match.index) });
    parts.push({ type: "link", text: candidate, href });
    textStart = match.index + candidate.length;
  }
  if (textStart < text.length) parts.push({ type: "text", text: text.slice(textStart) });
  return parts;
}

/** Drop trailing punctuation, and closing brackets that have no opening one in the URL. */
export function trimUrl(candidate) {
  let end = candidate.length;
  while (end > 0) {
    const last = candidate[end - 1];
    if (TRAILING_PUNCTUATION.has(last)) {
      end -= 1;
    } else if (last in CLOSING) {
      const head = candidate.slice(0, end);
      if (count(head, last) <= count(head, CLOSING[last])) break;
      end -= 1;
    } else {
      break;
    }
  }
  return candidate.slice(0, end);
}

function count(text, char) {
  return text.split(char).length - 1;
}

/**
 * The normalized href for a link, or "" unless `candidate` parses as an http or https URL
 * with a host. (The URL parser percent-encodes quotes and spaces and punycodes the host.)
 */
export function safeHref(candidate) {
  let url;
  try {
    url = new URL(candidate);
  } catch {
    return "";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "";
  if (!url.hostname) return "";
  return url.href;
}

function mergeText(segments) {
  const merged = [];
  for (const segment of segments) {
    const last = merged.at(-1);
    if (segment.type === "text" && last?.type === "text") last.text += segment.text;
    else merged.push({ ...segment });
  }
  return merged;
}
