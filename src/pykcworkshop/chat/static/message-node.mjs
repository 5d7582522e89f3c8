// How a message looks: its list item (author, time, content), the content's links,
// mentions, inline code and code blocks with a copy button, and the day separators between
// messages (laid out by timeline.mjs). Built from DOM nodes with text, never from HTML.

import { copyText } from "./clipboard.mjs";
import { el } from "./dom.mjs";
import { editedMark, ownMessageActions } from "./message-edit.mjs";
import { tokenize } from "./richtext.mjs";
import { dayLabel, formatClock, formatFullDate, layoutTimeline } from "./timeline.mjs";
import { toast } from "./toast.mjs";

const COPIED_FEEDBACK_MS = 1500;

/**
 * The nodes that show a message's text: strings (text nodes), links, mentions, inline code
 * and code blocks. Every piece of user text goes in as text; hrefs are http(s) URLs checked
 * by richtext.mjs and set as an attribute. The copy button's label and the block's language
 * come from CSS (::after, attr()), so the content's textContent stays the message's text.
 * `mentionNames`: the names "@name" may mention; `myName`: the reader's (data-me="true").
 */
export function renderContent(text, { mentionNames = [], myName = "" } = {}) {
  const me = myName.toLowerCase();
  return tokenize(text, { mentionNames }).map((segment) => {
    switch (segment.type) {
      case "mention":
        return el("span", {
          class: "mention",
          dataset: {
            testid: "mention",
            name: segment.name,
            me: String(me !== "" && segment.name.toLowerCase() === me),
          },
          text: segment.text,
        });
      case "link":
        return el("a", {
          class: "msg-link",
          href: segment.href,
          target: "_blank",
          rel: "noopener noreferrer nofollow",
          dataset: { testid: "message-link" },
          text: segment.text,
        });
      case "code":
        return el("code", {
          class: "msg-code",
          dataset: { testid: "inline-code" },
          text: segment.text,
        });
      case "codeblock":
        return renderCodeBlock(segment);
      default:
        return segment.text;
    }
  });
}

function renderCodeBlock({ text, lang }) {
  const langData = lang ? { lang } : {};
  const copy = el("button", {
    type: "button",
    class: "code-copy",
    title: "Copy code",
    "aria-label": "Copy code",
    dataset: { testid: "code-copy" },
  });
  return el("div", { class: "code-block", dataset: { testid: "code-block", ...langData } }, [
    el("div", { class: "code-block-bar", dataset: langData }, [copy]),
    el("pre", { class: "code-pre", tabindex: "0" }, [el("code", { text })]),
  ]);
}

/** Make the code blocks' copy buttons in `list` work (one listener; it ends with `signal`). */
export function bindCodeCopy(list, signal) {
  list.addEventListener(
    "click",
    (event) => {
      const button = event.target.closest?.("[data-testid=code-copy]");
      if (button && list.contains(button)) copyCodeBlock(button);
    },
    { signal },
  );
}

/** Copy a code block's text for its copy button. */
async function copyCodeBlock(button) {
  const code = button.closest("[data-testid=code-block]")?.querySelector("pre code");
  if (!code) return;
  const copied = await copyText(code.textContent);
  clearTimeout(button._copiedTimer);
  if (!copied) {
    delete button.dataset.copied;
    toast("Could not copy: select the code and copy it.", { kind: "error", key: "code-copy" });
    return;
  }
  button.dataset.copied = "true";
  button.setAttribute("aria-label", "Copied");
  button._copiedTimer = setTimeout(() => {
    delete button.dataset.copied;
    button.setAttribute("aria-label", "Copy code");
  }, COPIED_FEEDBACK_MS);
}

/**
 * The list item of a normalized message. `own`: written by the reader; `mentions`:
 * {mentionNames, myName} for renderContent (someone else's mention of the reader is
 * highlighted).
 */
export function messageNode(message, own, mentions) {
  const { system } = message;
  const kind = system ? "msg msg-system" : own ? "msg msg-own" : "msg msg-other";
  const node = el("li", {
    class: kind,
    dataset: {
      testid: "message",
      author: message.user_name,
      userId: String(message.user_id),
      own: String(own),
      system: String(system),
      continued: "false",
    },
  });
  if (message.id !== null) node.dataset.messageId = String(message.id);

  const time = el("time", {
    class: "msg-time",
    datetime: message.timestamp,
    title: formatFullDate(message.ms),
    dataset: { testid: "message-time" },
    text: formatClock(message.ms),
  });
  const content = el(
    "div",
    { class: "msg-content", dataset: { testid: "message-content" } },
    system ? message.content : renderContent(message.content, mentions),
  );

  if (system) {
    node.append(content, " ", time);
  } else {
    const author = el("span", {
      class: "msg-author",
      dataset: { testid: "message-author" },
      text: message.user_name,
    });
    node.append(el("div", { class: "msg-meta" }, [author, time, ...editedMark(message)]));
    const mentionsMe = own ? null : content.querySelector('[data-testid=mention][data-me="true"]');
    if (mentionsMe) {
      node.classList.add("msg-mention");
      node.dataset.mentionsMe = "true";
      // Not only a colour: the accent bar shows it, and screen readers hear it.
      node.append(el("span", { class: "sr-only", text: "mentions you" }));
    }
    node.append(content, ...(own ? ownMessageActions(message) : []));
  }
  return node;
}

/** The separator shown before the first message of a day. */
export function daySeparator(day, label) {
  return el("li", { class: "day-separator", dataset: { testid: "day-separator", day } }, [
    el("span", { class: "day-separator-label", text: label }),
  ]);
}

/**
 * Put day separators and group headers where timeline.mjs says, on `items` (the list's
 * messages in order, each with its `node`, `separator` and `continued`) in `list`.
 */
export function layOutDays(list, items, now) {
  layoutTimeline(items).forEach(({ day, newDay, continued }, index) => {
    const item = items[index];
    if (newDay) {
      const label = dayLabel(item.ms, now);
      if (!item.separator) {
        item.separator = daySeparator(day, label);
        list.insertBefore(item.separator, item.node);
      } else if (item.separator.textContent !== label) {
        item.separator.firstChild.textContent = label;
      }
    } else if (item.separator) {
      item.separator.remove();
      item.separator = null;
    }
    if (item.continued !== continued) {
      item.continued = continued;
      item.node.dataset.continued = String(continued);
    }
  });
}
