// Small parts of the message list (messages.mjs) around the messages themselves: the
// "new messages" pill's state, relabelling the day separators when a day begins, and which
// end of a bounded list to trim.

import { msUntilNextDay } from "./timeline.mjs";

/**
 * Show the pill (`pill`, may be null) for `unseen` new messages; during a gap
 * (`offersJump`) it also stays as the way back to the latest messages.
 */
export function showPill(pill, unseen, offersJump) {
  if (!pill) return;
  pill.hidden = unseen === 0 && !offersJump;
  let label = "Jump to latest ↓";
  if (unseen === 1) label = "1 new message ↓";
  else if (unseen > 1) label = `${unseen} new messages ↓`;
  pill.textContent = label;
}

/** Call `relabel` just after every midnight ("Today" becomes "Yesterday") until `signal` aborts. */
export function atEveryNewDay(relabel, signal) {
  let timer = null;
  const schedule = () => {
    timer = setTimeout(() => {
      if (signal.aborted) return;
      relabel();
      schedule();
    }, msUntilNextDay() + 1000);
  };
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  schedule();
}

/**
 * Which end to drop messages from when the list is over its bound: the one away from the
 * reader. `position`: where the new messages came from (see MessageList.add); `follow`:
 * the list follows them to the bottom; `above`/`below`: pixels scrolled past on each side.
 */
export function trimSide(position, follow, { above, below }) {
  if (position === "older") return "newest";
  if (position === "forward" || follow) return "oldest";
  return above > below ? "oldest" : "newest";
}
