#!/usr/bin/env bash
# What crontab calls at 4 am. Works from any current directory:
#   0 4 * * * /path/to/run_inverter_daily_stats.sh
# - runs from its own folder, with its own .venv (created from requirements.txt if missing
#   or if requirements.txt changed);
# - holds a lock so two runs never overlap (a second one waits up to LOCK_WAIT seconds);
# - appends timestamped output to the log (LOG_FILE, default logs/daily.log) and, when run
#   from a terminal, shows it too; on failure the last lines also go to stderr (cron mails them);
# - passes the job's exit status through: 0 done, 1 run failed, 2 usage or config error.
#
#   ./run_inverter_daily_stats.sh --demo      30 simulated nights against the sandbox
#   ./run_inverter_daily_stats.sh --install-cron [HH:MM] [args]
#                                             add (or update) the crontab line, default 04:00
#   ./run_inverter_daily_stats.sh [args]      the real job; args go to run_inverter_daily_stats.py
# The log rotates when it passes LOG_MAX_BYTES (default 1 MB), keeping LOG_KEEP old files (5).
set -u

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
cd "$HERE" || exit 2
PYTHON="${PYTHON:-python3}"
VENV="$HERE/.venv"
LOG_FILE="${LOG_FILE:-$HERE/logs/daily.log}"
LOCK_WAIT="${LOCK_WAIT:-60}"
LOG_MAX_BYTES="${LOG_MAX_BYTES:-1000000}"
LOG_KEEP="${LOG_KEEP:-5}"
CRON_MARK="# enphase-panel-tracker"

install_cron() {
    local at="04:00"
    if [ $# -gt 0 ] && [[ "$1" != -* ]]; then at="$1"; shift; fi
    if ! [[ "$at" =~ ^([0-9]{1,2}):([0-9]{2})$ ]]; then
        echo "error: --install-cron takes a time as HH:MM (24-hour), e.g. 04:00; got '$at'" >&2
        return 2
    fi
    local hour=$((10#${BASH_REMATCH[1]})) minute=$((10#${BASH_REMATCH[2]}))
    if (( hour > 23 || minute > 59 )); then
        echo "error: $at is not a time of day; use HH:MM, e.g. 04:00" >&2
        return 2
    fi
    if ! command -v crontab >/dev/null 2>&1; then
        echo "error: crontab not found; install cron, or add the line from the README by hand" >&2
        return 2
    fi
    local command
    command="$(printf '%q' "$HERE/run_inverter_daily_stats.sh")"
    local arg
    for arg in "$@"; do command+=" $(printf '%q' "$arg")"; done
    local line="$minute $hour * * * $command $CRON_MARK"
    local current
    current="$(crontab -l 2>/dev/null || true)"
    # Drop our earlier line (by its mark or its path) so running this twice leaves one line.
    local kept
    kept="$(printf '%s\n' "$current" | grep -vF "$CRON_MARK" | grep -vF "$HERE/run_inverter_daily_stats.sh" || true)"
    { if [ -n "$kept" ]; then printf '%s\n' "$kept"; fi; printf '%s\n' "$line"; } | crontab - || {
        echo "error: crontab refused the new table; nothing changed" >&2
        return 1
    }
    echo "cron: $line"
    echo "the job now runs daily at $(printf '%02d:%02d' "$hour" "$minute") (host time); output in $LOG_FILE"
}

rotate_log() {
    [ -f "$LOG_FILE" ] || return 0
    local size
    size="$(wc -c < "$LOG_FILE")"
    [ "$size" -ge "$LOG_MAX_BYTES" ] || return 0
    local n
    for ((n = LOG_KEEP - 1; n >= 1; n--)); do
        [ -f "$LOG_FILE.$n" ] && mv -f "$LOG_FILE.$n" "$LOG_FILE.$((n + 1))"
    done
    mv -f "$LOG_FILE" "$LOG_FILE.1"
    rm -f "$LOG_FILE.$((LOG_KEEP + 1))"
}

ensure_venv() {
    local stamp="$VENV/.requirements.sha256"
    local want
    want="$(sha256sum requirements.txt | cut -d' ' -f1)"
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            echo "error: $PYTHON is missing or older than 3.10; install Python 3.10+ or set PYTHON=" >&2
            return 2
        fi
        echo "setting up $VENV from requirements.txt (first run only) ..." >&2
        "$PYTHON" -m venv "$VENV" || { echo "error: could not create $VENV" >&2; return 2; }
    else
        # An existing .venv is only topped up, never re-created with another Python.
        echo "requirements.txt changed: updating $VENV ..." >&2
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt \
        && echo "$want" > "$stamp" \
        || { echo "error: could not install requirements into $VENV; see the messages above" >&2; return 2; }
}

if [ "${1:-}" = "--install-cron" ]; then
    shift
    install_cron "$@"
    exit $?
fi

ensure_venv || exit $?

if [ "${1:-}" = "--demo" ]; then
    shift
    exec "$VENV/bin/python" run_inverter_daily_stats.py --demo "$@"
fi

mkdir -p "$(dirname "$LOG_FILE")"
exec 9>>"$HERE/.run_inverter_daily_stats.lock"
if command -v flock >/dev/null 2>&1 && ! flock -w "$LOCK_WAIT" 9; then
    echo "error: another run_inverter_daily_stats.sh is still running after ${LOCK_WAIT}s; not starting a second one" >&2
    exit 1
fi

rotate_log

stamp_lines() {
    local line
    while IFS= read -r line; do
        printf '%s %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$line"
    done
}

output="$(mktemp)"
trap 'rm -f "$output"' EXIT
"$VENV/bin/python" run_inverter_daily_stats.py "$@" 2>&1 | stamp_lines | tee -a "$LOG_FILE" > "$output"
status=${PIPESTATUS[0]}
if [ -t 1 ]; then
    cat "$output"
fi
if [ "$status" -ne 0 ]; then
    tail -n 5 "$output" >&2
fi
exit "$status"
