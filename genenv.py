"""Write a fresh ``.env`` (new random secrets) and ``server.toml`` in the project root.

This is the explicit "reset my environment" command: it overwrites both files.
It needs only the standard library, so it works before anything is installed.
"""

import importlib.util
import pathlib
from types import ModuleType

ROOT = pathlib.Path(__file__).resolve().parent


def _load_envfile() -> ModuleType:
    # Load the module by path: importing the package would need its dependencies.
    path = ROOT / "src" / "pykcworkshop" / "envfile.py"
    spec = importlib.util.spec_from_file_location("_pykcworkshop_envfile", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    """Write ``.env`` and ``server.toml`` next to this script."""
    envfile = _load_envfile()
    (ROOT / ".env").write_text(envfile.render_env(), encoding="utf-8")
    (ROOT / "server.toml").write_text(envfile.render_server_toml(), encoding="utf-8")
    print(f"Wrote {ROOT / '.env'} and {ROOT / 'server.toml'}")


if __name__ == "__main__":
    main()
