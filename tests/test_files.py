"""Crash safety of every write, and one run at a time per system."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from panel_tracker.app.daily import run_daily_job
from panel_tracker.app.sources import enlighten_client
from panel_tracker.errors import DataFileError, LockHeldError
from panel_tracker.history import History, load_history, save_history
from panel_tracker.settings import load_config
from panel_tracker.storage import (
    TEMP_SUFFIX,
    atomic_write_json,
    clean_stale_temp_files,
    read_json,
    run_lock,
)
from sandbox.site import SiteScenario
from tests.conftest import REPO, assert_no_secrets, night, run_script, set_tokens, write_config

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
    mark = f".{target.name}.checked"  # the mark of the content last checked (see history.py)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in (target.name, mark)]
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


def test_a_run_that_ends_leaves_no_lock_file_nor_a_folder_it_made_for_it(tmp_path):
    lock = tmp_path / "data" / ".run-1.lock"
    with run_lock(lock):
        assert lock.exists()
    assert not lock.exists() and not lock.parent.exists()
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError), run_lock(tmp_path / "kept" / ".run-1.lock"):
        (tmp_path / "kept" / "history.json").write_text("{}")
        raise RuntimeError("the run failed after writing")
    assert [p.name for p in (tmp_path / "kept").iterdir()] == ["history.json"]


LOCKED_COUNTER = """
import sys
from pathlib import Path
from panel_tracker.storage import run_lock
lock, counter = Path(sys.argv[1]), Path(sys.argv[2])
for _ in range(40):
    with run_lock(lock, wait_seconds=60, poll_seconds=0.001):
        counter.write_text(str(int(counter.read_text()) + 1))
"""


def test_the_lock_excludes_while_each_run_removes_its_file(tmp_path):
    # Runs unlink the file they hold: a waiter that locked a removed file must start again,
    # or two runs would hold "the" lock at once and lose a count between them.
    lock, counter = tmp_path / ".run-1.lock", tmp_path / "counter"
    counter.write_text("0")
    runs = [
        subprocess.Popen([sys.executable, "-c", LOCKED_COUNTER, str(lock), str(counter)], cwd=REPO)
        for _ in range(4)
    ]
    assert [run.wait(timeout=120) for run in runs] == [0, 0, 0, 0]
    assert counter.read_text() == "160"
    assert not lock.exists()


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
    with pytest.raises(
        DataFileError, match="serial 482000000001 is a list, it must be an object of days"
    ):
        load_history(path)
    path.write_bytes(b"[]")
    with pytest.raises(DataFileError, match="is not a history"):
        load_history(path)


# --- tokens under concurrency and crashes (issue 9 item 7) -----------------------------
# A kill cannot be aimed between a save's write and its rename without sleeps, so these
# tests create what such a kill leaves behind and run the real job.


def _leave(path: Path, data: bytes, *, age: float) -> Path:
    path.write_bytes(data)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def _temp_of(target: Path, random: str = "k1ll3d0a", suffix: str = TEMP_SUFFIX) -> Path:
    return target.with_name(f".{target.name}.{random}{suffix}")


def test_a_run_that_waited_for_the_lock_uses_the_pair_the_other_run_rotated(tmp_path, enlighten):
    emulator = enlighten(SiteScenario.healthy())
    path = write_config(tmp_path, emulator)
    stale, old_refresh = emulator.issue_tokens(access_expires_in=-60)
    set_tokens(path, stale, old_refresh)
    night(emulator, 3)
    config = load_config(path)  # read before the lock, as the script does
    # ... meanwhile the run holding the lock rotated the pair and saved it
    fresh, new_refresh = emulator.issue_tokens()
    emulator.expire_refresh_token(old_refresh)
    set_tokens(path, fresh, new_refresh)
    run = run_daily_job(config, enlighten_client, push_sheet=False)
    assert run.reporting > 0
    assert config.refresh_token == new_refresh  # read under the lock
    assert emulator.refresh_token_valid(json.loads(path.read_text())["refresh_token"])


def test_a_token_pair_a_kill_left_in_a_temp_file_is_adopted_and_said(tmp_path, enlighten):
    emulator = enlighten(SiteScenario.healthy())
    path = write_config(tmp_path, emulator)
    stale, old_refresh = emulator.issue_tokens(access_expires_in=-60)
    set_tokens(path, stale, old_refresh)
    os.utime(path, (time.time() - 100, time.time() - 100))
    # The killed run had refreshed (the old refresh token is dead) and written the new pair
    # to its temp file, but died before the rename.
    fresh, new_refresh = emulator.issue_tokens()
    emulator.expire_refresh_token(old_refresh)
    on_disk = json.loads(path.read_text())
    leftover = _leave(
        _temp_of(path),
        json.dumps({**on_disk, "access_token": fresh, "refresh_token": new_refresh}).encode(),
        age=50,
    )
    night(emulator, 3)
    result = run_script("run_inverter_daily_stats.py", "--config", str(path), "--no-sheet")
    assert result.returncode == 0, result.stderr
    assert "adopted the newer token pair" in result.stderr
    assert "consent again" not in result.stdout + result.stderr
    assert not leftover.exists()
    saved = json.loads(path.read_text())
    assert saved["refresh_token"] == new_refresh and saved["name"] == on_disk["name"]
    assert path.stat().st_mode & 0o777 == 0o600
    assert_no_secrets(result.stdout + result.stderr, [fresh, new_refresh, stale, old_refresh])


def test_stale_temp_files_of_the_tools_own_saves_are_removed_and_nothing_else(tmp_path, enlighten):
    emulator = enlighten(SiteScenario.healthy())
    path = write_config(tmp_path, emulator)
    config = load_config(path)
    history = config.history_path
    history.parent.mkdir(parents=True, exist_ok=True)
    on_disk = json.loads(path.read_text())
    stale = [
        _leave(_temp_of(history), b'{"micro_inverters": {', age=3600),
        _leave(_temp_of(history, "old_tmp1", ".tmp"), b"{}", age=3600),  # earlier versions
        # a pair older than the config: not adopted, only removed
        _leave(
            _temp_of(path), json.dumps({**on_disk, "access_token": "a" * 30}).encode(), age=10**6
        ),
        # a save that changed other keys than the tokens: never adopted
        _leave(_temp_of(path, "setting1"), json.dumps({**on_disk, "name": "x"}).encode(), age=1),
    ]
    others = [
        _leave(tmp_path / ".notes.txt.abcdefgh.tmp", b"mine", age=3600),
        _leave(history.parent / "inverter_daily_data-1.json.bak", b"{}", age=3600),
    ]
    night(emulator, 3)
    result = run_script("run_inverter_daily_stats.py", "--config", str(path), "--no-sheet")
    assert result.returncode == 0, result.stderr
    assert "adopted" not in result.stderr
    assert [p.name for p in stale if p.exists()] == []
    assert all(p.exists() for p in others)
    assert json.loads(path.read_text())["name"] == on_disk["name"]
    assert [p.name for p in tmp_path.rglob(f"*{TEMP_SUFFIX}")] == []


def test_a_temp_file_of_this_runs_own_time_is_left_alone(tmp_path):
    target = tmp_path / "inverter_daily_data-1.json"
    target.write_text("{}")
    fresh = _leave(_temp_of(target), b"{}", age=0)
    assert clean_stale_temp_files([target], older_than=time.time() - 60) == []
    assert fresh.exists()
    assert clean_stale_temp_files([target], older_than=time.time() + 1) == [fresh]


def test_a_history_edited_after_the_tool_saved_it_is_checked_again(tmp_path):
    path = tmp_path / "inverter_daily_data-1.json"
    entry = {"daily_energy": 1500, "lifetime_energy": 9000, "last_report": 1_700_000_000}
    save_history(path, History({"micro_inverters": {"A": {"2026-05-30": entry}}}))
    assert load_history(path).daily("A", "2026-05-30") == 1500  # unchanged: not re-checked
    # the same length, one value changed by hand: the mark no longer fits, the entry is named
    path.write_bytes(path.read_bytes().replace(b'"daily_energy":1500', b'"daily_energy":"15"'))
    with pytest.raises(DataFileError, match=r"serial A, day '2026-05-30': daily_energy"):
        load_history(path)
    mark = tmp_path / ".inverter_daily_data-1.json.checked"
    assert mark.read_text().startswith("checks 2 xxh3 ")  # the version of the checks, too
