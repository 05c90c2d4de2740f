"""Atomic file writes: a temporary file beside the target, renamed into place.

A crash or Ctrl-C while writing leaves the old file (or none), never half of a
new one. A run killed outright (``kill -9``) can leave its hidden temporary
file behind; :func:`remove_stale_temporaries` clears those of dead processes.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: ``.STEM.PID-RANDOM.tmpSUFFIX``: the temporaries :func:`atomic_path` makes
_TEMPORARY = re.compile(r"^\..+\.(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp(\.[^/]*)?$")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``.

    The temporary file sits in the target's folder (so the rename is atomic),
    is hidden (starts with ``.``), names the writing process, and keeps the
    target's suffix (so writers that pick a format from it still do). On any
    error it is removed.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}-",
                               suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
    try:
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
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries :func:`atomic_path` left in ``folder`` when its
    writer was killed; files of live processes (a run writing now) stay."""
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(folder):
            match = _TEMPORARY.match(entry.name)
            if match and entry.is_file() and not _alive(int(match["pid"])):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed
