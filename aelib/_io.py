"""Atomic file writes: a temporary file beside the target, renamed into place.

A crash or Ctrl-C while writing leaves the old file (or none), never half of a
new one. A run killed outright (``kill -9``) can leave its hidden temporary
file behind (``.STEM.PID-RANDOM.tmpSUFFIX``); the next write of the same file
(:func:`atomic_path`) and :func:`remove_stale_temporaries` clear those of dead
processes, and never touch those of a process still writing.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

try:  # POSIX; elsewhere folder_lock is a no-op
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

#: ``.STEM.PID-RANDOM.tmpSUFFIX``: the temporaries :func:`atomic_path` makes
_TEMPORARY = re.compile(r"^\.(?P<stem>.+)\.(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp(\.[^/]*)?$")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``.

    The temporary file sits in the target's folder (so the rename is atomic),
    is hidden (starts with ``.``), names the writing process, and keeps the
    target's suffix (so writers that pick a format from it still do). On any
    error it is removed. Temporaries of the same target that a killed run
    left behind are removed first.
    """
    path = Path(path)
    remove_stale_temporaries(path.parent, stem=path.stem)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}-",
                               suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OSError:  # pragma: no cover - a platform without signal 0: assume alive
        return True
    return True


def is_temporary(name: str) -> bool:
    """True for the name of a temporary file :func:`atomic_path` makes."""
    return _TEMPORARY.match(name) is not None


def remove_stale_temporaries(folder: str | os.PathLike, stem: str | None = None) -> list[Path]:
    """Delete the temporaries :func:`atomic_path` left in ``folder`` (those of
    target ``STEM.*`` only, given ``stem``) when their writer was killed.

    Files of live processes (a run writing now) stay. Never raises: a folder
    that is missing, unreadable or read-only just keeps what it holds.
    Returns the removed paths.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or (stem is not None and match["stem"] != stem):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and not _alive(int(match["pid"])):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, *, shared: bool = False) -> Iterator[None]:
    """Hold an advisory lock on ``folder`` (``flock`` on the folder itself, no
    lock file): exclusive to write a set of files that belong together, shared
    to read them. Best effort: where the folder cannot be opened or locked
    (missing, Windows, some network file systems) it locks nothing."""
    fd = None
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
    try:
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock
