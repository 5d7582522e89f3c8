# Make `hatch` available in this PowerShell session: run from the project root.
#
#     . .\gethatch.ps1
#
# Uses hatch if it is already on PATH; otherwise creates a small virtual environment in
# .venv\ (git-ignored), installs hatch into it, and activates it for this session.
# You may first need: Set-ExecutionPolicy -Scope CurrentUser RemoteSigned

$ErrorActionPreference = "Stop"
$root = $PSScriptRoot

if (Get-Command hatch -ErrorAction SilentlyContinue) {
    Write-Host "hatch is already available: $((Get-Command hatch).Source)"
    return
}

$python = Get-Command py -ErrorAction SilentlyContinue
$pythonArgs = @("-3")
if (-not $python) {
    $python = Get-Command python -ErrorAction SilentlyContinue
    $pythonArgs = @()
}
if (-not $python) {
    throw "gethatch: no Python found; install Python 3.11 or newer first."
}

$venv = Join-Path $root ".venv"
$venvPython = Join-Path $venv "Scripts\python.exe"
if (-not (Test-Path $venvPython)) {
    & $python.Source @pythonArgs -m venv $venv
}
& $venvPython -m pip install --quiet --upgrade pip hatch
. (Join-Path $venv "Scripts\Activate.ps1")
Write-Host "hatch is ready: $((Get-Command hatch).Source) (run 'deactivate' to leave the venv)"
