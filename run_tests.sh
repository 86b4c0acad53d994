#!/usr/bin/env bash
# Lint, type check and test, in a virtual environment of the project's own.
# Creates $VENV (default .venv) from requirements.txt and requirements-dev.txt when missing or changed.
# PYTHON picks the interpreter (default python3), VENV the environment: one venv per interpreter.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "error: Python interpreter '$PYTHON' not found; point at one with PYTHON=/path/to/python3.10-or-newer $0" >&2
    exit 2
fi
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    found="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo unknown)"
    echo "error: found Python $found at $PYTHON, this project needs Python 3.10 or newer; point at another with PYTHON=/path/to/python3.10 $0" >&2
    exit 2
fi
stamp="$VENV/.dev-requirements.sha256"
want="$( (cat requirements.txt requirements-dev.txt; "$PYTHON" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "== installing requirements into $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$want" > "$stamp"
    # The cron wrapper checks its own stamp; the dev install already holds requirements.txt.
    sha256sum requirements.txt | cut -d' ' -f1 > "$VENV/.requirements.sha256"
fi
echo "== $("$VENV/bin/python" -c 'import sys; print("Python %d.%d.%d at %s" % (sys.version_info[:3] + (sys.executable,)))') in $VENV"
export MPLBACKEND=Agg
echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
"$VENV/bin/mypy"
echo "== pytest"
rc=0
"$VENV/bin/python" -m pytest -n 2 "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "error: pytest collected no tests (exit 5); that is a failure" >&2
    exit 1
fi
exit "$rc"
