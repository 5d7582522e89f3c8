"""Settings (README "Configuration"): environment, ``.env``, first-start secrets, ``genenv.py``,
``get_domain()``.

Each start runs in a subprocess in a temporary directory, so the test process's environment
and the developer's ``.env`` are never read or changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from dotenv import dotenv_values

from pykcworkshop import config

REPO = Path(__file__).resolve().parents[1]
#: Prints the settings the app ends up with, one ``NAME=value`` per line.
SHOW_SETTINGS = """
import logging
from pykcworkshop import create_app
from pykcworkshop.utils import get_domain
app = create_app()
for name in ("SECRET_KEY", "SITE_ROOT", "LOG_LEVEL", "BROKER_URL"):
    print(f"{name}={app.config[name]}")
print(f"DOMAIN={get_domain()}")
print(f"LEVEL={logging.getLevelName(logging.getLogger('pykcworkshop').level)}")
"""


def start(cwd: Path, code: str = SHOW_SETTINGS, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in ``cwd`` with no pykcworkshop setting but ``env``."""
    clean = {name: value for name, value in os.environ.items() if name not in config.SETTINGS}
    # The database is not what these tests are about; keep it out of the package folder.
    clean["DB_URI"] = f"sqlite+aiosqlite:///{cwd / 'chat.sqlite3'}"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=clean, capture_output=True, text=True, timeout=120
    )


def settings_of(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


# ------------------------------------------------------------------ first start


def test_first_start_writes_env_with_a_fresh_secret(tmp_path):
    result = start(tmp_path)
    written = dotenv_values(tmp_path / ".env")
    assert written["SECRET_KEY"] and len(written["SECRET_KEY"]) >= 32
    assert settings_of(result)["SECRET_KEY"] == written["SECRET_KEY"]


def test_first_start_says_so_on_stderr(tmp_path):
    result = start(tmp_path)
    assert ".env" in result.stderr
    assert str(tmp_path / ".env") in result.stderr


def test_each_first_start_gets_its_own_secret(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    start(tmp_path / "a")
    start(tmp_path / "b")
    assert (
        dotenv_values(tmp_path / "a" / ".env")["SECRET_KEY"]
        != dotenv_values(tmp_path / "b" / ".env")["SECRET_KEY"]
    )


def test_second_start_keeps_the_env_file_and_is_quiet(tmp_path):
    start(tmp_path)
    before = (tmp_path / ".env").read_text()
    result = start(tmp_path)
    assert (tmp_path / ".env").read_text() == before
    assert ".env" not in result.stderr
    assert settings_of(result)["SECRET_KEY"] == dotenv_values(tmp_path / ".env")["SECRET_KEY"]


def test_existing_env_file_is_never_overwritten(tmp_path):
    text = "SECRET_KEY=mine-and-only-mine\nSITE_ROOT=https://chat.example.org\n"
    (tmp_path / ".env").write_text(text)
    result = start(tmp_path)
    assert (tmp_path / ".env").read_text() == text
    settings = settings_of(result)
    assert settings["SECRET_KEY"] == "mine-and-only-mine"
    assert settings["SITE_ROOT"] == "https://chat.example.org"


def test_existing_env_file_without_secret_is_kept_and_start_fails_clearly(tmp_path):
    text = "SITE_ROOT=https://chat.example.org\n"
    (tmp_path / ".env").write_text(text)
    result = start(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert (tmp_path / ".env").read_text() == text


def test_secret_in_the_environment_means_no_env_file(tmp_path):
    result = start(tmp_path, SECRET_KEY="from-the-environment")
    assert settings_of(result)["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / ".env").exists()
    assert ".env" not in result.stderr


# ------------------------------------------------------------------ precedence and values


def test_environment_variables_beat_the_env_file(tmp_path):
    (tmp_path / ".env").write_text(
        "SECRET_KEY=from-file\nSITE_ROOT=https://file.example\nLOG_LEVEL=ERROR\nBROKER_URL=memory://\n"
    )
    settings = settings_of(start(tmp_path, SECRET_KEY="from-env", SITE_ROOT="https://env.example"))
    assert settings["SECRET_KEY"] == "from-env"
    assert settings["SITE_ROOT"] == "https://env.example"
    assert settings["LOG_LEVEL"] == "ERROR"  # what the environment leaves unset, the file fills in


def test_defaults(tmp_path):
    settings = settings_of(start(tmp_path, SECRET_KEY="s"))
    assert settings["SITE_ROOT"] == "http://localhost:8000"
    assert settings["LOG_LEVEL"] == "INFO"
    assert settings["BROKER_URL"] == "memory://"


def test_log_level_sets_the_packages_logging_level(tmp_path):
    settings = settings_of(start(tmp_path, SECRET_KEY="s", LOG_LEVEL="warning"))
    assert settings["LEVEL"] == "WARNING"


def test_get_domain_returns_site_root(tmp_path):
    settings = settings_of(start(tmp_path, SECRET_KEY="s", SITE_ROOT="https://chat.example.org"))
    assert settings["DOMAIN"] == "https://chat.example.org"


def test_get_domain_outside_the_app_reads_the_environment(tmp_path):
    code = "from pykcworkshop.utils import get_domain; print(f'DOMAIN={get_domain()}')"
    settings = settings_of(start(tmp_path, code, SECRET_KEY="s", SITE_ROOT="https://scripts.example"))
    assert settings["DOMAIN"] == "https://scripts.example"


async def test_get_domain_inside_the_app_reads_its_config(tmp_path, monkeypatch):
    from pykcworkshop import create_app
    from pykcworkshop.utils import get_domain

    monkeypatch.chdir(tmp_path)
    app = create_app(
        {"SECRET_KEY": "s", "SITE_ROOT": "https://app.example/", "DB_URI": "sqlite+aiosqlite://"}
    )
    async with app.app_context():
        assert get_domain() == "https://app.example"


# ------------------------------------------------------------------ genenv.py


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of genenv.py with the one module it loads, so it writes into ``tmp_path``."""
    shutil.copy(REPO / "genenv.py", tmp_path / "genenv.py")
    (tmp_path / "src" / "pykcworkshop").mkdir(parents=True)
    shutil.copy(
        REPO / "src" / "pykcworkshop" / "envfile.py", tmp_path / "src" / "pykcworkshop" / "envfile.py"
    )
    return tmp_path


def genenv(project: Path) -> subprocess.CompletedProcess[str]:
    # -S: no site-packages, so this also proves genenv.py needs only the standard library.
    return subprocess.run(
        [sys.executable, "-S", str(project / "genenv.py")],
        cwd=project.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_genenv_writes_env_with_every_setting(project):
    genenv(project)
    text = (project / ".env").read_text()
    values = dotenv_values(project / ".env")
    assert values["SECRET_KEY"] and len(values["SECRET_KEY"]) >= 32
    assert values["SITE_ROOT"] and values["LOG_LEVEL"]
    for name in ("DB_URI", "BROKER_URL"):
        assert name in text


def test_genenv_writes_server_toml_with_tls_commented_out(project):
    genenv(project)
    text = (project / "server.toml").read_text()
    settings = tomllib.loads(text)
    assert settings["bind"]
    assert not {"keyfile", "certfile"} & set(settings)
    commented = [
        line.lstrip("# ").split()[0] for line in text.splitlines() if line.startswith("#") and "=" in line
    ]
    assert {"keyfile", "certfile"} <= set(commented)


def test_genenv_overwrites_both_files_with_new_secrets(project):
    (project / ".env").write_text("SECRET_KEY=old\n")
    (project / "server.toml").write_text("old = true\n")
    genenv(project)
    first_secret = dotenv_values(project / ".env")["SECRET_KEY"]
    assert first_secret != "old"
    assert "old" not in tomllib.loads((project / "server.toml").read_text())
    genenv(project)
    assert dotenv_values(project / ".env")["SECRET_KEY"] != first_secret


def test_app_starts_with_the_env_file_genenv_writes(project):
    genenv(project)
    settings = settings_of(start(project))
    assert settings["SECRET_KEY"] == dotenv_values(project / ".env")["SECRET_KEY"]
