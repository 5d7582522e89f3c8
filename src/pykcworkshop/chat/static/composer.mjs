// The room's message composer: Enter to send, Shift+Enter for a new line, a live character
// counter, the server's verdict from live validation, and the "@" picker (mentionpicker.mjs).
// Send is enabled only while the chat socket is open and the text passes every check.

import { MAX_CONTENT_LENGTH } from "./constants.mjs";
import { bindSendKeys, byId } from "./dom.mjs";
import { MentionPicker } from "./mentionpicker.mjs";
import { toast } from "./toast.mjs";
import { charLength, contentProblem } from "./validation.mjs";

export class Composer {
  #socket;
  #field;
  #picker;
  #ui;
  #signal;
  #closed = false;
  #verdict = { failed: false, reason: "" };
  #onTyping;
  #onStoppedTyping;

  /**
   * @param {object} options
   *   socket (the room's chat-message ReconnectingSocket), validator (FormValidator),
   *   signal (AbortSignal that removes the listeners),
   *   getMembers() the members to offer after "@" ([{user_id, user_name}], not the user),
   *   onTyping() on every keystroke with text in the box,
   *   onStoppedTyping() after a message went out or the box was emptied
   */
  constructor({ socket, validator, signal, getMembers, onTyping, onStoppedTyping }) {
    this.#socket = socket;
    this.#signal = signal;
    this.#onTyping = onTyping;
    this.#onStoppedTyping = onStoppedTyping;
    this.#ui = {
      form: byId("message-form"),
      input: byId("message-input"),
      send: byId("message-send"),
      counter: byId("message-counter"),
      reason: byId("message-reason"),
    };
    this.#field = validator.field({
      type: "chat-message",
      formData: () => ({ content: this.#ui.input.value }),
      local: ({ content }) => contentProblem(content),
      onResult: ({ failed, reason }) => {
        this.#verdict = { failed, reason };
        this.render();
      },
    });
    // Before the send keys: while the picker is open, Enter picks a member.
    this.#picker = new MentionPicker({
      input: this.#ui.input,
      container: this.#ui.form,
      getMembers,
    });
    this.#bind();
  }

  /** Empty the box and forget the last verdict. */
  reset() {
    this.#ui.input.value = "";
    this.#verdict = { failed: false, reason: "" };
    this.render();
  }

  focus() {
    this.#ui.input.focus();
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#field.dispose();
    this.#picker.destroy();
    this.#ui.input.value = "";
  }

  /** Show the counter and the verdict; enable Send when a message may go out. */
  render() {
    if (this.#closed) return;
    const { input, send, counter, reason } = this.#ui;
    const length = charLength(input.value);
    counter.textContent = `${length} / ${MAX_CONTENT_LENGTH}`;
    counter.dataset.over = String(length > MAX_CONTENT_LENGTH);
    reason.textContent = this.#verdict.failed ? this.#verdict.reason : "";
    input.setAttribute("aria-invalid", String(this.#verdict.failed));
    send.disabled = !this.#canSend();
  }

  #bind() {
    const signal = this.#signal;
    const { form, input } = this.#ui;
    bindSendKeys(form, input, () => this.#send(), signal);
    input.addEventListener(
      "input",
      () => {
        if (input.value === "") {
          this.#verdict = { failed: false, reason: "" };
          this.render();
          this.#onStoppedTyping?.();
          return;
        }
        this.#field.check();
        this.render();
        this.#onTyping?.();
      },
      { signal },
    );
  }

  #send() {
    if (!this.#canSend()) return;
    const content = this.#ui.input.value.trim();
    if (!this.#socket.send({ content })) {
      toast("Not connected: your message was not sent. It is still in the box.", {
        kind: "error",
        key: "chat-not-sent",
      });
      return;
    }
    this.reset();
    this.#onStoppedTyping?.();
  }

  #canSend() {
    const value = this.#ui.input.value;
    return (
      this.#socket.isOpen &&
      value.trim() !== "" &&
      !this.#verdict.failed &&
      contentProblem(value) === ""
    );
  }
}
