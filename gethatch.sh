# Make `hatch` available in this shell: source this file from the project root.
#
#     source gethatch.sh
#
# Uses hatch if it is already on PATH; otherwise creates a small virtual environment in
# .venv/ (git-ignored), installs hatch into it, and activates it for this shell session.

_pykc_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"

if command -v hatch >/dev/null 2>&1; then
    echo "hatch is already available: $(command -v hatch)"
else
    _pykc_python="$(command -v python3 || command -v python)"
    if [ -z "$_pykc_python" ]; then
        echo "gethatch: no python3 or python on PATH; install Python 3.11 or newer first." >&2
        return 1 2>/dev/null || exit 1
    fi
    if [ ! -x "$_pykc_root/.venv/bin/python" ]; then
        "$_pykc_python" -m venv "$_pykc_root/.venv" || { return 1 2>/dev/null || exit 1; }
    fi
    "$_pykc_root/.venv/bin/python" -m pip install --quiet --upgrade pip hatch \
        || { return 1 2>/dev/null || exit 1; }
    # shellcheck disable=SC1091
    . "$_pykc_root/.venv/bin/activate"
    echo "hatch is ready: $(command -v hatch) (deactivate to leave the venv)"
fi
unset _pykc_root _pykc_python
