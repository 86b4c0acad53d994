"""Crash-safe file writes, strict JSON reads and the one-run-at-a-time lock.

Every file the tool writes goes through ``atomic_write_*``: a temp file in the same folder,
flushed, fsynced, renamed over the old one, then the folder fsynced. An interrupted run
therefore leaves either the old or the new file, never a half-written one, plus perhaps its
temp file: ``.<name>.<random>.panel-tracker.tmp``. The daily job removes those of the files
it owns on start, under the lock (``clean_stale_temp_files``), and first looks in the config's
for a token pair a killed run wrote but did not rename yet (``adoptable_save``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import DataFileError, LockHeldError

logger = logging.getLogger(__name__)

SECRET_FILE_MODE = 0o600
# The end of every temp file name of an atomic save: recognisably the tool's own.
TEMP_SUFFIX = ".panel-tracker.tmp"
# mkstemp's random part: 8 characters of [a-z0-9_]; earlier versions ended in plain ".tmp".
_RANDOM = r"[a-z0-9_]{8}"


def atomic_write_bytes(
    path: Path, data: bytes, *, mode: int | None = None, durable: bool = True
) -> None:
    """Replace ``path`` with ``data`` atomically; ``mode`` (e.g. 0600) is set before the rename.

    ``durable=False`` skips the fsyncs, for a file whose loss in a power cut costs nothing
    (it is old or new after a crash all the same, but may be the old one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None and path.exists():
        mode = path.stat().st_mode & 0o777
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            if durable:
                os.fsync(tmp.fileno())
        if mode is not None:
            os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    if durable:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # The rename itself is only durable once the folder's entry is on disk (POSIX only).
    if sys.platform == "win32":
        return
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_text(
    path: Path, text: str, *, mode: int | None = None, durable: bool = True
) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode, durable=durable)


def atomic_write_json(
    path: Path, obj: Any, *, mode: int | None = None, indent: int | None = None
) -> None:
    text = json.dumps(obj, indent=indent, ensure_ascii=False)
    atomic_write_text(path, text + ("\n" if indent is not None else ""), mode=mode)


def temp_files_of(path: Path) -> list[Path]:
    """The temp files atomic saves of ``path`` left behind (a kill between write and rename),
    newest first; also the plain ``.tmp`` ones earlier versions of the tool wrote."""
    path = Path(path)
    pattern = re.compile(
        rf"\.{re.escape(path.name)}\.{_RANDOM}({re.escape(TEMP_SUFFIX)}|\.tmp)", re.IGNORECASE
    )
    try:
        found = [p for p in path.parent.iterdir() if pattern.fullmatch(p.name) and p.is_file()]
    except OSError:
        return []
    return sorted(found, key=_mtime, reverse=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def clean_stale_temp_files(paths: list[Path], *, older_than: float) -> list[Path]:
    """Remove the leftover temp files of these files' saves last written before
    ``older_than`` (epoch seconds: the start of this run); returns those removed."""
    removed: list[Path] = []
    for path in paths:
        for temp in temp_files_of(path):
            if _mtime(temp) >= older_than:
                continue  # a save of this very run (or a writer outside the lock): not ours
            try:
                temp.unlink()
            except OSError as exc:
                logger.warning("could not remove the leftover temp file %s: %s", temp, exc)
                continue
            logger.info("removed %s, left by an interrupted save", temp)
            removed.append(temp)
    return removed


def adoptable_save(path: Path, *, keys: tuple[str, ...], older_than: float) -> Path | None:
    """A leftover temp file of ``path`` (a JSON object) that a kill stopped before its rename
    and that only changed ``keys``: newer than ``path``, written before ``older_than``, equal to
    the file on disk except that every one of ``keys`` holds a different non-empty text.

    Returns the newest such temp file (``adopt_save`` puts it in place), else None. Nothing is
    changed here; a file that does not parse is never a candidate.
    """
    path = Path(path)
    try:
        current = read_json(path, what="file")
    except DataFileError:
        return None
    if not isinstance(current, dict):
        return None
    for temp in temp_files_of(path):
        if not _mtime(path) <= _mtime(temp) < older_than:
            continue
        try:
            candidate = read_json(temp, what="file")
        except DataFileError:
            continue
        if _only_keys_changed(current, candidate, keys):
            return temp
    return None


def _only_keys_changed(current: dict[str, Any], candidate: Any, keys: tuple[str, ...]) -> bool:
    if not isinstance(candidate, dict):
        return False
    rest = {k: v for k, v in current.items() if k not in keys}
    if {k: v for k, v in candidate.items() if k not in keys} != rest:
        return False
    return all(
        isinstance(candidate.get(k), str) and candidate[k] and candidate[k] != current.get(k)
        for k in keys
    )


def adopt_save(path: Path, temp: Path, *, mode: int | None = None) -> None:
    """Put a leftover save in place atomically (rewritten through a fresh temp file, so a
    temp file that was never fsynced is durable once it is the file), then remove it."""
    atomic_write_bytes(path, Path(temp).read_bytes(), mode=mode)
    with contextlib.suppress(OSError):
        Path(temp).unlink()


def read_json(path: Path, *, what: str, encoding: str = "utf-8") -> Any:
    """Parse a JSON file or raise ``DataFileError`` naming it; the file is never touched.

    ``encoding="utf-8-sig"`` also accepts a byte-order mark (the config: Windows Notepad)."""
    try:
        with open(path, encoding=encoding) as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise DataFileError(
            f"{what} {path} is not valid JSON (line {exc.lineno}, column {exc.colno})",
            hint="it was left untouched: fix it or restore it from a backup",
        ) from None
    except UnicodeDecodeError:
        raise DataFileError(
            f"{what} {path} is not UTF-8 text",
            hint="it was left untouched: save it as UTF-8 or restore it from a backup",
        ) from None
    except OSError as exc:
        raise DataFileError(f"cannot read {what} {path}: {exc.strerror}") from None


@contextlib.contextmanager
def run_lock(
    path: Path, *, wait_seconds: float = 10.0, poll_seconds: float = 0.2
) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the duration, waiting briefly for another run.

    The lock is an OS file lock (released by the kernel if the process dies), so a stale
    lock file from a killed run never blocks the next one. A run that ends removes the lock
    file (and the folder, when it made it and left it empty): nothing of one run outlives it.
    """
    path = Path(path)
    made_folder = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    handle = _locked_handle(path, deadline, poll_seconds)
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        _release(handle, path)
        if made_folder:
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # only if empty: the run wrote nothing there


def _locked_handle(path: Path, deadline: float, poll_seconds: float) -> Any:
    """The lock file, open and locked; it is the file now at ``path``.

    A run that ends unlinks the file it holds locked, so a waiter may lock a file that is
    gone: it then opens the path anew (the inode check), as the next run would."""
    while True:
        handle = open(path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            while not _try_lock(handle):
                if time.monotonic() >= deadline:
                    raise LockHeldError(
                        f"another run holds the lock {path}; wait for it to finish "
                        "(or check that no job is stuck) and try again"
                    )
                time.sleep(poll_seconds)
            if _is_current(handle, path):
                return handle
        except BaseException:
            handle.close()
            raise
        handle.close()


def _is_current(handle: Any, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except OSError:
        return False


def _release(handle: Any, path: Path) -> None:
    if sys.platform != "win32":
        # Unlinked while still locked: a waiter then finds its file gone and starts again.
        with contextlib.suppress(OSError):
            os.unlink(path)
    try:
        _unlock(handle)
    finally:
        handle.close()
    if sys.platform == "win32":  # pragma: no cover - an open file cannot be removed there
        with contextlib.suppress(OSError):
            os.unlink(path)  # fails, and is left, while another run has it open


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: Any) -> bool:
        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: Any) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle: Any) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(handle: Any) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
