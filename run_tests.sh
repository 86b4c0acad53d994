#!/usr/bin/env bash
# Lint, type check and test, in a virtual environment of the project's own.
# Creates .venv from requirements.txt and requirements-dev.txt when missing or changed.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
PYTHON="${PYTHON:-python3}"
VENV=".venv"
stamp="$VENV/.dev-requirements.sha256"
want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "== installing requirements into $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$want" > "$stamp"
    # The cron wrapper checks its own stamp; the dev install already holds requirements.txt.
    sha256sum requirements.txt | cut -d' ' -f1 > "$VENV/.requirements.sha256"
fi
export MPLBACKEND=Agg
echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
"$VENV/bin/mypy"
echo "== pytest"
"$VENV/bin/python" -m pytest -n 2 "$@"
