"""Start and stop the servers under test, each its own process pinned to one core.

Self-contained on purpose (no test-suite helpers): every server is a subprocess started
from its command line, the way a user would start it, with ``taskset`` pinning it to
:data:`SERVER_CORE`. Ours runs as ``hypercorn --config server.toml
'pykcworkshop:create_app()'`` with the server.toml that ``genenv.py`` writes (frame limit,
ping interval, access log), with authentication, persistence and rate limits on.
"""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pykcworkshop.envfile import render_server_toml

BENCH = Path(__file__).resolve().parent
PEERS = BENCH / "peers"
ROOT = BENCH.parent
#: The server gets core 0, the load generator core 1.
SERVER_CORE = 0
GENERATOR_CORE = 1
#: Open files a server or generator may have (10,000 sockets and then some).
FD_LIMIT = 20_000


def raise_fd_limit(wanted: int = FD_LIMIT) -> int:
    """Raise this process's open-file limit towards ``wanted``; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(core: int, command: list[str]) -> list[str]:
    """Return ``command`` run under ``taskset -c core`` (taskset execs: same pid).

    With ``BENCH_NICE`` set (e.g. ``-5``, as root), it also runs at that niceness, so
    other work on a shared machine disturbs the measurement less.
    """
    nice = os.environ.get("BENCH_NICE")
    prefix = ["nice", "-n", nice] if nice else []
    return [*prefix, "taskset", "-c", str(core), *command]


def pin_self(core: int) -> None:
    """Pin this process to ``core`` (the benchmark's driver shares the generator's core)."""
    os.sched_setaffinity(0, {core})


@dataclass
class ServerProcess:
    """A running server: its process, port and the websocket path its clients use."""

    name: str
    port: int
    path: str
    process: subprocess.Popen[bytes]
    log_path: Path
    workdir: Path
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        """The process that serves: hypercorn's worker (its master only supervises)."""
        if "serving_pid" not in self.extra:
            self.extra["serving_pid"] = _serving_pid(self.process.pid)
        return int(str(self.extra["serving_pid"]))

    def rss_kib(self) -> int:
        """Return the server process's resident set size in KiB (from /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS line")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s), wait, remove its folder.

        With ``BENCH_KEEP=1`` the folder (server log, SQLite file) stays, for debugging.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        """Return the last lines of the server's output (for error messages)."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _serving_pid(pid: int, timeout: float = 30.0) -> int:
    """Return hypercorn's worker process under ``pid`` (or ``pid`` when it has none).

    hypercorn with ``workers = 1`` (its default) serves from one spawned child; the
    master also starts multiprocessing's resource tracker, which is not it.
    """
    deadline = time.monotonic() + timeout
    while True:
        for child in _children(pid):
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                return child
        master = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"hypercorn" not in master or time.monotonic() > deadline:
            return pid
        time.sleep(0.1)


def _preexec() -> None:
    raise_fd_limit()


def _wait_listening(server: ServerProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            code = server.process.returncode
            raise RuntimeError(f"{server.name} exited with {code}:\n{server.log_tail()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", server.port)) == 0:
                return
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} did not listen within {timeout} s:\n{server.log_tail()}")


def spawn(
    name: str,
    command: list[str],
    *,
    port: int,
    path: str,
    env: dict[str, str] | None = None,
    workdir: Path | None = None,
    core: int | None = SERVER_CORE,
) -> ServerProcess:
    """Start ``command`` (pinned to ``core``), wait until ``port`` accepts, return it."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix=f"pykc-bench-{name}-"))
    log_path = workdir / "server.log"
    python_path = os.pathsep.join(filter(None, [str(PEERS), os.environ.get("PYTHONPATH")]))
    full_env = {**os.environ, "PYTHONPATH": python_path, **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            pinned(core, command) if core is not None else command,
            cwd=workdir,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_preexec,
        )
    server = ServerProcess(name, port, path, process, log_path, workdir)
    _wait_listening(server)
    return server


def hypercorn_config(workdir: Path, port: int) -> Path:
    """Write the server.toml genenv.py writes, bound to ``port``; return its path."""
    path = workdir / "server.toml"
    path.write_text(render_server_toml(bind=f"127.0.0.1:{port}"), encoding="utf-8")
    return path


def hypercorn_command(config: Path, app: str, *, wrapper: list[str] | None = None) -> list[str]:
    """Return the command line that serves ``app`` with hypercorn and ``config``."""
    return [*(wrapper or [sys.executable, "-m", "hypercorn"]), "--config", str(config), app]


def start_peer(name: str) -> ServerProcess:
    """Start one of the peers in bench/peers/ by name."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix=f"pykc-bench-{name}-"))
    if name == "raw_websockets":
        command = [sys.executable, str(PEERS / "raw_websockets.py"), str(port)]
    elif name in ("bare_asgi", "naive_quart"):
        command = hypercorn_command(hypercorn_config(workdir, port), f"{name}:app")
    else:
        raise ValueError(f"unknown peer {name!r}")
    return spawn(name, command, port=port, path="/ws", workdir=workdir)


def our_env(workdir: Path, db_uri: str | None = None, secret: str | None = None) -> dict[str, str]:
    """Return the environment our server runs with (a fresh SQLite file by default)."""
    return {
        "SECRET_KEY": secret or secrets.token_hex(32),
        "DB_URI": db_uri or f"sqlite+aiosqlite:///{workdir / 'chat.sqlite3'}",
        "BROKER_URL": "memory://",
        "ACCOUNT_RATE_LIMITS": "on",
        "SITE_ROOT": "http://127.0.0.1",
        "LOG_LEVEL": "INFO",
        # Every benchmark client connects from 127.0.0.1: the per-address cap (200, meant
        # for one person's browser or one abuser) would refuse the 201st. A deployment
        # behind a proxy sees real addresses through TRUSTED_PROXIES instead.
        "MAX_SOCKETS_PER_ADDRESS": "100000",
    }


def start_ours(
    workdir: Path, env: dict[str, str], *, path: str, wrapper: list[str] | None = None, name: str = "ours"
) -> ServerProcess:
    """Start ``hypercorn --config server.toml 'pykcworkshop:create_app()'`` in ``workdir``."""
    port = free_port()
    command = hypercorn_command(hypercorn_config(workdir, port), "pykcworkshop:create_app()", wrapper=wrapper)
    return spawn(name, command, port=port, path=path, env=env, workdir=workdir)
