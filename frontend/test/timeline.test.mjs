// Unit tests for timeline.mjs: day separators, grouping and time formats.
// A fixed zone with daylight saving time, so that 23- and 25-hour days are covered (node
// runs each test file in its own process, and reads TZ again when it changes).
process.env.TZ = "Europe/Berlin";

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  GROUP_WINDOW_MS,
  dayKey,
  dayLabel,
  formatClock,
  formatFullDate,
  layoutTimeline,
  msUntilNextDay,
} from "../../src/pykcworkshop/chat/static/timeline.mjs";

const at = (...parts) => new Date(...parts).getTime();
const MINUTE = 60_000;

test("dayKey is the local calendar day", () => {
  assert.equal(dayKey(at(2024, 6, 1, 0, 0)), "2024-07-01");
  assert.equal(dayKey(at(2024, 6, 1, 23, 59, 59)), "2024-07-01");
  // 22:30 UTC is already the next day in Berlin (UTC+2 in summer).
  assert.equal(dayKey(Date.UTC(2024, 6, 1, 22, 30)), "2024-07-02");
});

test("dayLabel says Today and Yesterday by calendar day, not by 24 hours", () => {
  const now = new Date(2024, 6, 10, 0, 5);
  assert.equal(dayLabel(at(2024, 6, 10, 0, 1), now), "Today");
  assert.equal(dayLabel(at(2024, 6, 9, 23, 59), now), "Yesterday"); // 6 minutes ago
  assert.equal(dayLabel(at(2024, 6, 9, 0, 0), now), "Yesterday"); // 24 hours ago
  assert.notEqual(dayLabel(at(2024, 6, 8, 23, 59), now), "Yesterday");
  // A later day (a clock behind the server's) is a date, not "Today".
  assert.notEqual(dayLabel(at(2024, 6, 11, 9, 0), now), "Today");
});

test("dayLabel across daylight saving changes and the new year", () => {
  // 31 March 2024 had 23 hours in Berlin, 27 October 25.
  assert.equal(dayLabel(at(2024, 2, 30, 0, 30), new Date(2024, 2, 31, 23, 30)), "Yesterday");
  assert.equal(dayLabel(at(2024, 2, 30, 23, 30), new Date(2024, 2, 31, 0, 10)), "Yesterday");
  assert.equal(dayLabel(at(2024, 9, 26, 23, 50), new Date(2024, 9, 27, 23, 55)), "Yesterday");
  assert.equal(dayLabel(at(2024, 9, 26, 0, 10), new Date(2024, 9, 27, 23, 55)), "Yesterday");
  assert.notEqual(dayLabel(at(2024, 9, 25, 23, 50), new Date(2024, 9, 27, 0, 5)), "Yesterday");
  assert.equal(dayLabel(at(2023, 11, 31, 22, 0), new Date(2024, 0, 1, 8, 0)), "Yesterday");
});

test("older days show the weekday this year and the year before that", () => {
  const now = new Date(2024, 6, 10, 12, 0);
  assert.equal(dayLabel(at(2024, 6, 1, 9, 0), now, "en-US"), "Monday, July 1");
  assert.equal(dayLabel(at(2023, 6, 1, 9, 0), now, "en-US"), "July 1, 2023");
  assert.equal(dayLabel(at(2024, 6, 1, 9, 0), now, "de-DE"), "Montag, 1. Juli");
});

test("msUntilNextDay counts to local midnight, also on 23- and 25-hour days", () => {
  assert.equal(msUntilNextDay(new Date(2024, 6, 1, 23, 59, 30)), 30_000);
  assert.equal(msUntilNextDay(new Date(2024, 2, 31, 0, 0)), 23 * 60 * MINUTE);
  assert.equal(msUntilNextDay(new Date(2024, 9, 27, 0, 0)), 25 * 60 * MINUTE);
});

test("formatClock shows the time, formatFullDate the whole date", () => {
  assert.equal(formatClock(at(2024, 6, 1, 14, 3), "en-GB"), "14:03");
  assert.equal(formatClock(at(2024, 6, 1, 9, 5), "en-GB"), "09:05");
  const full = formatFullDate(at(2024, 6, 1, 14, 3, 5), "en-US");
  assert.match(full, /^Monday, July 1, 2024 at 2:03:05\sPM$/);
});

const ada = (ms, extra = {}) => ({ user_id: 1, user_name: "Ada", ms, system: false, ...extra });
const bob = (ms) => ({ user_id: 2, user_name: "Bob", ms, system: false });
const system = (ms) => ({ user_id: 0, user_name: "System", ms, system: true });
const flags = (layout) => layout.map(({ newDay, continued }) => [newDay, continued]);

test("layoutTimeline: a separator before the first message and on each new day", () => {
  const layout = layoutTimeline([
    ada(at(2024, 6, 1, 23, 58)),
    bob(at(2024, 6, 1, 23, 59)),
    bob(at(2024, 6, 2, 0, 0)),
    bob(at(2024, 6, 5, 8, 0)),
  ]);
  assert.deepEqual(
    layout.map((l) => l.day),
    ["2024-07-01", "2024-07-01", "2024-07-02", "2024-07-05"],
  );
  // A new day also starts a new group, even for the same author a minute later.
  assert.deepEqual(flags(layout), [
    [true, false],
    [false, false],
    [true, false],
    [true, false],
  ]);
  assert.deepEqual(layoutTimeline([]), []);
});

test("layoutTimeline groups one author's messages within the window of the group's first", () => {
  const start = at(2024, 6, 1, 12, 0);
  const layout = layoutTimeline([
    ada(start),
    ada(start + 1 * MINUTE),
    ada(start + 4 * MINUTE),
    ada(start + GROUP_WINDOW_MS), // exactly the window: still grouped
    ada(start + GROUP_WINDOW_MS + 1), // past the group's first by the window: new header
    ada(start + GROUP_WINDOW_MS + 2 * MINUTE),
  ]);
  assert.deepEqual(
    layout.map((l) => l.continued),
    [false, true, true, true, false, true],
  );
  // Steady messages every 4 minutes still get a header every few messages.
  const steady = layoutTimeline([0, 4, 8, 12, 16].map((m) => ada(start + m * MINUTE)));
  assert.deepEqual(
    steady.map((l) => l.continued),
    [false, true, false, true, false],
  );
});

test("layoutTimeline: another author or a system message breaks a group", () => {
  const start = at(2024, 6, 1, 12, 0);
  const layout = layoutTimeline([
    ada(start),
    bob(start + 1000),
    ada(start + 2000),
    system(start + 3000),
    system(start + 4000),
    ada(start + 5000),
    ada(start + 6000, { user_name: "Ada Lovelace" }), // renamed: shown with the new name
    ada(start + 7000, { user_name: "Ada Lovelace" }),
  ]);
  assert.deepEqual(
    layout.map((l) => l.continued),
    [false, false, false, false, false, false, false, true],
  );
});

test("layoutTimeline does not group a message sorted before its group's first", () => {
  const start = at(2024, 6, 1, 12, 0);
  const layout = layoutTimeline([ada(start), ada(start - 1000)]);
  assert.deepEqual(
    layout.map((l) => l.continued),
    [false, false],
  );
});
