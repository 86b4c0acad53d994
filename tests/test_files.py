"""Crash safety of every write, and one run at a time per system."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from panel_tracker.errors import DataFileError, LockHeldError
from panel_tracker.storage import atomic_write_json, read_json, run_lock
from tests.conftest import REPO

SAVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from panel_tracker.history import History, save_history
    path = Path(sys.argv[1])
    for generation in range(1_000_000):
        days = {f"2026-01-{d:02d}": {"daily_energy": generation, "lifetime_energy": d}
                for d in range(1, 29)}
        history = History({"micro_inverters": {str(s): dict(days) for s in range(400)},
                           "generation": generation})
        save_history(path, history)
        print(generation, flush=True)
    """
)


def test_kill_9_while_saving_leaves_an_old_or_new_file_never_a_broken_one(tmp_path):
    target = tmp_path / "inverter_daily_data-1.json"
    seen: set[int] = set()
    # Killed after 1, 2, 3, 4 complete saves: the kill lands somewhere inside the next save,
    # counted in saves rather than timed with a real sleep.
    for saves in (1, 2, 3, 4):
        process = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(target)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        for _ in range(saves):
            process.stdout.readline()  # one more complete save happened
        process.send_signal(signal.SIGKILL)
        process.wait()
        data = json.loads(target.read_text())  # parses: never half-written
        assert len(data["micro_inverters"]) == 400
        seen.add(data["generation"])
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != target.name]
    # A temp file may survive a kill -9, but it is never the history itself.
    assert all(name.startswith(".") and name.endswith(".tmp") for name in leftovers)


def test_atomic_write_keeps_or_sets_the_mode(tmp_path):
    secret = tmp_path / "token.json"
    atomic_write_json(secret, {"a": 1}, mode=0o600)
    assert secret.stat().st_mode & 0o777 == 0o600
    atomic_write_json(secret, {"a": 2})
    assert secret.stat().st_mode & 0o777 == 0o600
    assert json.loads(secret.read_text()) == {"a": 2}


def test_read_json_names_the_file_and_never_touches_it(tmp_path):
    broken = tmp_path / "history.json"
    broken.write_bytes(b"{not json")
    with pytest.raises(DataFileError, match=r"history\.json is not valid JSON"):
        read_json(broken, what="history file")
    assert broken.read_bytes() == b"{not json"


def test_second_run_waits_briefly_then_says_another_run_holds_the_lock(tmp_path):
    lock = tmp_path / ".run.lock"
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with run_lock(lock):
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    try:
        with (
            pytest.raises(LockHeldError, match="another run holds the lock"),
            run_lock(lock, wait_seconds=0.3, poll_seconds=0.05),
        ):
            pass
    finally:
        release.set()
        thread.join()
    with run_lock(lock, wait_seconds=0.1):
        pass  # free again once the first run ended


def test_lock_of_a_killed_run_does_not_block_the_next(tmp_path):
    lock = tmp_path / ".run.lock"
    code = (
        "import os\nfrom panel_tracker.storage import run_lock\n"
        f"with run_lock({str(lock)!r}):\n    os.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False)
    assert lock.exists()
    with run_lock(lock, wait_seconds=0.1):
        pass


def test_lock_file_is_not_a_secret_and_holds_the_pid(tmp_path):
    lock = tmp_path / ".run.lock"
    with run_lock(lock):
        assert Path(lock).read_text().strip() == str(os.getpid())


# --- the history is read with orjson, and with the standard library where orjson refuses ----


def test_a_history_that_does_not_parse_is_named_and_left_untouched(tmp_path):
    from panel_tracker.history import load_history

    broken = tmp_path / "inverter_daily_data-1.json"
    broken.write_bytes(b'{"micro_inverters": {')
    with pytest.raises(DataFileError, match=r"inverter_daily_data-1\.json is not valid JSON"):
        load_history(broken)
    assert broken.read_bytes() == b'{"micro_inverters": {'
    broken.write_bytes(b'{"micro_inverters": {"1": "\xff"}}')
    with pytest.raises(DataFileError, match="not UTF-8 text"):
        load_history(broken)


def test_a_nan_or_a_64_bit_overflow_in_the_history_is_named_and_the_file_kept(tmp_path):
    """What the original script's json.dump can write (NaN, integers beyond 64 bits) is read,
    then refused by name: such a value would make every later day impossible."""
    from panel_tracker.history import load_history

    path = tmp_path / "inverter_daily_data-1.json"
    for bad, said in (
        (float("nan"), "got NaN"),
        (2**64, "daily_energy is not a whole number"),
        (-5, "out of range"),
    ):
        day = {"daily_energy": bad, "lifetime_energy": 1000}
        original = {"micro_inverters": {"482000000001": {"2024-01-01": day}}}
        path.write_text(json.dumps(original))  # what the original script's json.dump writes
        before = path.read_bytes()
        with pytest.raises(DataFileError) as caught:
            load_history(path)
        assert str(path) in str(caught.value)
        assert "serial 482000000001, day '2024-01-01'" in str(caught.value)
        assert said in str(caught.value)
        assert path.read_bytes() == before


def test_a_history_read_with_orjson_keeps_its_shape_checks(tmp_path):
    from panel_tracker.history import load_history

    path = tmp_path / "inverter_daily_data-1.json"
    path.write_bytes(b'{"micro_inverters": {"482000000001": [1, 2]}}')
    with pytest.raises(DataFileError, match="serial 482000000001 is not a map of days"):
        load_history(path)
    path.write_bytes(b"[]")
    with pytest.raises(DataFileError, match="is not a history"):
        load_history(path)
