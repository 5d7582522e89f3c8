// Signing up and logging in: the create-account form with live name checks, the one-time
// "save your login key" dialog, and the form that logs in with a pasted key.

import * as api from "./api.mjs";
import { copyText } from "./clipboard.mjs";
import { byId } from "./dom.mjs";
import { saveSession, validSession } from "./session.mjs";
import { nameProblem } from "./validation.mjs";

const COPIED_FEEDBACK_MS = 2000;

export class AuthView {
  #ui;
  #onLoggedIn;
  #signupField;
  #signupVerdict = { failed: true, reason: "", pending: false };
  #signupBusy = false;
  #signupDone = false; // created: late verdicts ("taken" — by us) are ignored
  #loginBusy = false;

  /**
   * @param {object} options
   *   validator     FormValidator
   *   onLoggedIn(session)  after a successful login (the session is already saved)
   */
  constructor({ validator, onLoggedIn }) {
    this.#onLoggedIn = onLoggedIn;
    this.#ui = {
      view: byId("auth-view"),
      signupForm: byId("signup-form"),
      signupName: byId("signup-name"),
      signupReason: byId("signup-reason"),
      signupSubmit: byId("signup-submit"),
      loginForm: byId("login-form"),
      loginKey: byId("login-key-input"),
      loginError: byId("login-error"),
      loginSubmit: byId("login-submit"),
      dialog: byId("login-key-dialog"),
      keyDisplay: byId("login-key-display"),
      keyCopy: byId("login-key-copy"),
      keyDone: byId("login-key-done"),
    };
    this.#signupField = validator.field({
      type: "create-user",
      formData: () => ({ user_name: this.#ui.signupName.value }),
      local: ({ user_name }) => nameProblem(user_name, "user name"),
      onResult: (verdict) => {
        if (this.#signupDone) return;
        this.#signupVerdict = verdict;
        this.#renderSignup();
      },
    });
    this.#bind();
  }

  /** Show the signed-out view; `focusLogin` puts the cursor in the key field. */
  show({ focusLogin = false } = {}) {
    this.#ui.view.hidden = false;
    this.#renderSignup();
    this.#renderLogin();
    (focusLogin ? this.#ui.loginKey : this.#ui.signupName).focus();
  }

  hide() {
    this.#ui.view.hidden = true;
    this.#ui.signupName.value = "";
    this.#ui.loginKey.value = "";
    this.#ui.loginError.textContent = "";
    this.#signupVerdict = { failed: true, reason: "", pending: false };
    this.#signupDone = false;
  }

  #bind() {
    const ui = this.#ui;
    ui.signupName.addEventListener("input", () => {
      this.#signupField.check();
      this.#renderSignup();
    });
    ui.signupForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#signUp();
    });
    ui.loginKey.addEventListener("input", () => {
      ui.loginError.textContent = "";
      this.#renderLogin();
    });
    ui.loginForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#logIn(ui.loginKey.value.trim());
    });

    // The key dialog closes only through its button: Escape would lose the key unseen.
    ui.dialog.addEventListener("cancel", (event) => event.preventDefault());
    ui.keyDone.addEventListener("click", () => ui.dialog.close());
    ui.keyCopy.addEventListener("click", async () => {
      const copied = await copyText(ui.keyDisplay.textContent, ui.dialog);
      ui.keyCopy.textContent = copied ? "Copied!" : "Copy failed: select the key and copy it";
      setTimeout(() => {
        ui.keyCopy.textContent = "Copy key";
      }, COPIED_FEEDBACK_MS);
    });
  }

  async #signUp() {
    const ui = this.#ui;
    if (ui.signupSubmit.disabled) return;
    this.#signupBusy = true;
    this.#renderSignup();
    try {
      const created = await api.createUser(ui.signupName.value.trim());
      this.#signupDone = true;
      let session = null;
      let loginError = null;
      try {
        session = validSession(await api.login(created.user_hash));
        if (session) saveSession(session); // a reload while the dialog is open keeps us in
      } catch (error) {
        loginError = error;
      }
      await this.#showKeyOnce(String(created.user_hash));
      if (session) {
        this.#onLoggedIn(session);
      } else {
        ui.loginError.textContent = `Your account was created, but logging in failed (${
          loginError?.message ?? "unexpected reply"
        }). Paste your key here to log in.`;
        ui.loginKey.focus();
      }
    } catch (error) {
      this.#signupVerdict = {
        failed: true,
        reason: error.message,
        pending: false,
      };
    } finally {
      this.#signupBusy = false;
      this.#renderSignup();
    }
  }

  /** Show the login key in the modal dialog; resolves once the user closed it. */
  #showKeyOnce(key) {
    const ui = this.#ui;
    return new Promise((resolve) => {
      ui.keyDisplay.textContent = key;
      ui.dialog.addEventListener(
        "close",
        () => {
          ui.keyDisplay.textContent = ""; // shown once: gone from the page afterwards
          resolve();
        },
        { once: true },
      );
      ui.dialog.showModal();
      ui.keyCopy.focus();
    });
  }

  async #logIn(key) {
    const ui = this.#ui;
    if (!key || this.#loginBusy) return;
    this.#loginBusy = true;
    this.#renderLogin();
    try {
      const session = validSession(await api.login(key));
      if (!session) throw new Error("The server sent an unexpected reply.");
      saveSession(session);
      ui.loginKey.value = "";
      this.#onLoggedIn(session);
    } catch (error) {
      ui.loginError.textContent =
        error.status === 401 ? "That login key is not valid." : error.message;
      ui.loginKey.focus();
    } finally {
      this.#loginBusy = false;
      this.#renderLogin();
    }
  }

  #renderSignup() {
    const ui = this.#ui;
    const { failed, reason } = this.#signupVerdict;
    const typed = ui.signupName.value !== "";
    ui.signupReason.textContent = typed && failed ? reason : "";
    ui.signupName.setAttribute("aria-invalid", String(typed && failed));
    ui.signupSubmit.disabled = failed || !typed || this.#signupBusy;
  }

  #renderLogin() {
    const ui = this.#ui;
    ui.loginSubmit.disabled = ui.loginKey.value.trim() === "" || this.#loginBusy;
  }
}
