// Mentions: "@name" in a message calls a member's attention. Pure (no DOM), shared by the
// composer's "@" picker and by richtext.mjs, which turns mentions into segments.
//
// Syntax: "@" followed by a member's name exactly as it is (names may hold spaces and
// punctuation: "@Ada Lovelace", "@o'neil"). There is no closing marker, so detection
// matches the room's known member names after each "@":
//   - case-insensitive ("@ada" mentions "Ada"),
//   - longest name first ("@Ada Lovelace" is Ada Lovelace, not Ada, when both are members),
//   - at word boundaries: no letter, digit or "_" right before the "@" (so "ada@example.com"
//     mentions nobody) nor right after the name ("@Adam" does not mention Ada).
// The picker inserts "@name " (with a space), which always satisfies the last rule.

const WORD_CHAR = /[\p{L}\p{N}_]/u;
/** Longest text after "@" that the picker treats as a query (the longest user name). */
const MAX_QUERY_LENGTH = 32;

const fold = (text) => text.toLowerCase();

/** The distinct non-empty names, longest first (the order detection tries them in). */
export function mentionCandidates(names) {
  const seen = new Map();
  for (const name of names ?? []) {
    if (typeof name !== "string" || name.trim() === "") continue;
    const key = fold(name);
    if (!seen.has(key)) seen.set(key, name);
  }
  return [...seen.values()].sort((a, b) => b.length - a.length);
}

function isWordChar(char) {
  return char !== undefined && char !== "" && WORD_CHAR.test(char);
}

/**
 * The mentions in `text` of any of `names`: [{start, end, name}] in text order, where
 * text.slice(start, end) is "@" plus the name as written and `name` is the member's name.
 * `names` may be a list of names or the result of mentionCandidates (faster when reused).
 */
export function findMentions(text, names) {
  if (typeof text !== "string" || !text.includes("@")) return [];
  const candidates = mentionCandidates(names);
  if (candidates.length === 0) return [];
  const folded = candidates.map(fold);
  const found = [];
  let at = text.indexOf("@");
  while (at !== -1) {
    let next = at + 1;
    if (!isWordChar(text[at - 1])) {
      for (let i = 0; i < candidates.length; i += 1) {
        const end = at + 1 + candidates[i].length;
        if (end > text.length) continue;
        if (fold(text.slice(at + 1, end)) !== folded[i]) continue;
        if (isWordChar(text[end]) && isWordChar(text[end - 1])) continue;
        found.push({ start: at, end, name: candidates[i] });
        next = end;
        break;
      }
    }
    at = text.indexOf("@", next);
  }
  return found;
}

/** Whether `text` mentions `name`, given the room's member `names` (longest match wins). */
export function mentionsName(text, name, names) {
  if (typeof name !== "string" || name === "") return false;
  const target = fold(name);
  return findMentions(text, [...(names ?? []), name]).some((m) => fold(m.name) === target);
}

/**
 * The "@…" being typed at the caret, or null: {start, query} where `start` is the index of
 * the "@" and `query` the text between it and the caret (it may hold spaces, as names do,
 * but no line break).
 */
export function mentionQuery(value, caret) {
  if (typeof value !== "string") return null;
  const end = Math.min(Math.max(0, caret ?? value.length), value.length);
  const from = Math.max(0, end - MAX_QUERY_LENGTH - 1);
  const at = value.lastIndexOf("@", end - 1);
  if (at === -1 || at < from) return null;
  if (isWordChar(value[at - 1])) return null;
  const query = value.slice(at + 1, end);
  if (/[\r\n@]/.test(query) || query.startsWith(" ")) return null;
  return { start: at, query };
}

/**
 * The members whose name matches a query, best first: names that start with it, then names
 * with a word that starts with it, then names that contain it; alphabetical within each.
 * `members` are objects with `user_name`; at most `limit` are returned.
 */
export function matchMembers(members, query, limit = 8) {
  const q = fold(query ?? "");
  const ranked = [];
  for (const member of members ?? []) {
    const name = fold(member.user_name);
    let rank = -1;
    if (name.startsWith(q)) rank = 0;
    else if (name.split(/[\s._-]+/u).some((word) => word.startsWith(q))) rank = 1;
    else if (name.includes(q)) rank = 2;
    if (rank !== -1) ranked.push({ member, rank });
  }
  ranked.sort(
    (a, b) =>
      a.rank - b.rank ||
      a.member.user_name.localeCompare(b.member.user_name, undefined, { sensitivity: "base" }),
  );
  return ranked.slice(0, limit).map(({ member }) => member);
}

/**
 * Replace the "@query" from `start` to `caret` with "@name " (a space after it, so the
 * mention ends at a boundary and typing goes on). Returns {value, caret}.
 */
export function insertMention(value, start, caret, name) {
  const after = value.slice(caret);
  const spacer = after.startsWith(" ") ? "" : " ";
  const inserted = `@${name}${spacer}`;
  const next = value.slice(0, start) + inserted + after;
  return { value: next, caret: start + inserted.length + (spacer ? 0 : 1) };
}
