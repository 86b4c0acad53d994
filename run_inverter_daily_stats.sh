#!/usr/bin/env bash
# What crontab calls at 4 am; `--install-cron [HH:MM] [args]` writes that line for you.
# It only finds or creates the project's .venv and then runs the Python job in it; the job
# holds the lock, writes the log (rotated), pings the healthcheck and sets the exit status.
#
#   ./run_inverter_daily_stats.sh --demo      30 simulated nights against the sandbox
#   ./run_inverter_daily_stats.sh --install-cron [HH:MM] [args]
#                                             add (or update) the crontab line, default 04:00
#   ./run_inverter_daily_stats.sh [args]      the real job; args go to run_inverter_daily_stats.py
#
# The current directory is left alone, so a relative --config means the caller's file.
# .venv is created with $PYTHON (default python3, 3.10 or newer) when missing, and topped up
# when requirements.txt changed; an existing one is never re-created with another Python.
# The log is $LOG_FILE (default logs/daily.log beside this script), except for --demo.
set -u

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="$HERE/.venv"
LOG_FILE="${LOG_FILE:-$HERE/logs/daily.log}"

# One line, exit 2, when an interpreter is missing or older than 3.10 (before pip or a
# syntax error could say it less clearly). $1 the interpreter, $2 what to do instead.
check_python() {
    local found
    if ! found="$("$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)"; then
        echo "error: no working Python at '$1'; this needs Python 3.10 or newer: $2" >&2
        return 2
    fi
    if ! "$1" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        echo "error: found Python $found at $(command -v "$1" || echo "$1"); this needs Python 3.10 or newer: $2" >&2
        return 2
    fi
}

ensure_venv() {
    local stamp="$VENV/.requirements.sha256"
    local want
    want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
    if [ -x "$VENV/bin/python" ]; then
        check_python "$VENV/bin/python" \
            "remove $VENV and run again with PYTHON=/path/to/python3.12 $0" || return 2
        [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
        # An existing .venv is only topped up, never re-created with another Python.
        echo "requirements.txt changed: updating $VENV ..." >&2
    else
        check_python "$PYTHON" "point to another with PYTHON=/path/to/python3.12 $0" || return 2
        echo "setting up $VENV from requirements.txt (first run only) ..." >&2
        "$PYTHON" -m venv "$VENV" || { echo "error: could not create $VENV" >&2; return 2; }
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" \
        && echo "$want" > "$stamp" \
        || { echo "error: could not install requirements into $VENV; see the messages above" >&2; return 2; }
}

ensure_venv || exit $?

# Help is for the person at the terminal: plain, on stdout, never into the log file, and
# with the wrapper's own options before the job's.
for arg in "$@"; do
    if [ "$arg" = "-h" ] || [ "$arg" = "--help" ]; then
        sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        echo
        echo "The job's own options (run_inverter_daily_stats.py):"
        exec "$VENV/bin/python" "$HERE/run_inverter_daily_stats.py" --help
    fi
done

# The demo writes its own folder, not the job's log.
if [ "${1:-}" != "--demo" ]; then
    set -- --log-file "$LOG_FILE" "$@"
fi
exec "$VENV/bin/python" "$HERE/run_inverter_daily_stats.py" "$@"
