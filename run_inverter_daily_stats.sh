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
#   ./run_inverter_daily_stats.sh [args]      the real job; args go to run_inverter_daily_stats.py
set -u

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
cd "$HERE" || exit 2
PYTHON="${PYTHON:-python3}"
VENV="$HERE/.venv"
LOG_FILE="${LOG_FILE:-$HERE/logs/daily.log}"
LOCK_WAIT="${LOCK_WAIT:-60}"

ensure_venv() {
    local stamp="$VENV/.requirements.sha256"
    local want
    want="$(sha256sum requirements.txt | cut -d' ' -f1)"
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        echo "error: $PYTHON is missing or older than 3.10; install Python 3.10+ or set PYTHON=" >&2
        return 2
    fi
    echo "setting up $VENV from requirements.txt (first run only) ..." >&2
    "$PYTHON" -m venv "$VENV" \
        && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt \
        && echo "$want" > "$stamp" \
        || { echo "error: could not install requirements into $VENV; see the messages above" >&2; return 2; }
}

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
