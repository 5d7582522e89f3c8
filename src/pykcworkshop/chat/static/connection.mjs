// Connection health: watches the sockets that matter for the page and shows the banner at
// the top ("Reconnecting…", or "Connection lost" with a Retry button once a socket gave
// up). When the browser reports it is back online, every waiting socket retries at once.

export class ConnectionMonitor {
  #sockets = new Map(); // socket → function that stops listening to it
  #banner;
  #text;
  #retryButton;

  constructor({ banner, text, retryButton }) {
    this.#banner = banner;
    this.#text = text;
    this.#retryButton = retryButton;
    retryButton.addEventListener("click", () => this.retryAll());
    window.addEventListener("online", () => this.retryAll());
  }

  /** Include a ReconnectingSocket in the banner; it drops out by itself once closed. */
  track(socket) {
    if (this.#sockets.has(socket)) return socket;
    const stop = socket.onStateChange((state) => {
      if (state === "closed") this.untrack(socket);
      else this.#render();
    });
    this.#sockets.set(socket, stop);
    this.#render();
    return socket;
  }

  untrack(socket) {
    const stop = this.#sockets.get(socket);
    if (!stop) return;
    stop();
    this.#sockets.delete(socket);
    this.#render();
  }

  retryAll() {
    for (const socket of this.#sockets.keys()) {
      if (socket.state === "reconnecting" || socket.state === "failed") socket.retry();
    }
  }

  #render() {
    const states = [...this.#sockets.keys()].map((socket) => socket.state);
    const reconnecting = states.includes("reconnecting");
    const failed = states.includes("failed");
    if (reconnecting) {
      this.#show("reconnecting", "Reconnecting…");
    } else if (failed) {
      this.#show("failed", "Connection lost: the server refused the connection.");
    } else {
      this.#banner.hidden = true;
      this.#banner.dataset.state = "ok";
    }
  }

  #show(state, message) {
    this.#banner.dataset.state = state;
    this.#text.textContent = message;
    this.#retryButton.hidden = false;
    this.#banner.hidden = false;
  }
}
