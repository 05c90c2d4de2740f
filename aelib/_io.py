"""Atomic file writes (a temporary file beside the target, renamed into place),
folder locks, and ``.keras`` files that name only backend-neutral classes.

A crash or Ctrl-C while writing leaves the old file (or none), never half of a new
one. The hidden temporaries a killed run leaves are cleared once their process is gone.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

try:  # POSIX; elsewhere folder_lock is a no-op
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

#: ``.STEM.PID-RANDOM.tmpSUFFIX``: the temporaries :func:`atomic_path` makes
_TEMPORARY = re.compile(r"^\.(?P<stem>.+)\.(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp(\.[^/]*)?$")
#: a backend's own optimizer class in a saved config (``keras.src.backend.torch.optimizers...``)
_BACKEND_OPTIMIZER = re.compile(r"^keras\.src\.backend\.\w+\.optimizers\.")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed.

    It is hidden, beside the target (so the rename is atomic), names the writing
    process and keeps the target's suffix (writers pick a format from it). Those
    of the same target that a killed run left are removed first.
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
    except OSError:  # another user's live process (or no signal 0 here): assume alive
        return True
    return True


def is_temporary(name: str) -> bool:
    """True for the name of a temporary file :func:`atomic_path` makes."""
    return _TEMPORARY.match(name) is not None


def remove_stale_temporaries(folder: str | os.PathLike, stem: str | None = None) -> list[Path]:
    """Delete the temporaries :func:`atomic_path` left in ``folder`` (of target
    ``STEM.*`` only, given ``stem``) whose writer is gone; return their paths.

    Never raises: a folder that is missing, unreadable or read-only keeps what it holds.
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
def _folder_descriptor(folder: str | os.PathLike) -> Iterator[int | None]:
    """An open descriptor of ``folder`` to ``flock``, or ``None`` where that cannot be."""
    fd = None
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
    try:
        yield fd
    finally:
        if fd is not None:
            os.close(fd)


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, *, shared: bool = False) -> Iterator[None]:
    """Hold an advisory ``flock`` on ``folder`` itself: exclusive to write files that
    belong together, shared to read them. Where the folder cannot be opened or
    locked (missing, Windows, some network file systems) it locks nothing."""
    with _folder_descriptor(folder) as fd:
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def claim_folder(folder: str | os.PathLike) -> Iterator[bool]:
    """Make ``folder`` and try to hold it alone without waiting: yield whether this
    process has it (one that cannot be locked counts as held). ``OSError`` where
    it cannot be made."""
    os.makedirs(folder, exist_ok=True)
    with _folder_descriptor(folder) as fd:
        held = True
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another process holds it
                held = False
            except OSError:  # cannot be locked here: best effort, as folder_lock
                pass
        yield held


def backend_neutral(config):
    """A ``.keras`` file's parsed ``config.json`` with every backend's own optimizer
    class named as the public ``keras.optimizers`` one (loading PyTorch's ``Adam``
    elsewhere would import PyTorch), and Keras's defaults for how to run it
    (``jit_compile="auto"``, one step per execution).
    """
    if isinstance(config, list):
        return [backend_neutral(item) for item in config]
    if not isinstance(config, dict):
        return config
    config = {key: backend_neutral(value) for key, value in config.items()}
    if _BACKEND_OPTIMIZER.match(str(config.get("module", ""))):
        config.update(module="keras.optimizers", registered_name=None)
    compiled = config.get("compile_config")  # {} for a part that was never compiled
    if isinstance(compiled, dict) and compiled:
        compiled.update(jit_compile="auto", steps_per_execution=1)
    return config


def make_backend_neutral(path: str | os.PathLike, out: str | os.PathLike | None = None) -> bool:
    """Write the ``.keras`` archive at ``path`` with a :func:`backend_neutral` config to
    ``out`` (default: ``path``, rewritten whole, so give it a temporary file).
    Returns whether the config changed; if not, nothing is written."""
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        neutral = backend_neutral(config)
        if neutral == config:
            return False
        members = [(info, archive.read(info)) for info in archive.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, data in members:
            archive.writestr(info, json.dumps(neutral) if info.filename == "config.json" else data)
    Path(path if out is None else out).write_bytes(buffer.getvalue())
    return True


def save_keras(model, path: str | os.PathLike) -> None:
    """``model.save(path)`` atomically, naming only backend-neutral classes
    (:func:`backend_neutral`): any backend loads it without importing the saver's."""
    with atomic_path(path) as tmp:
        model.save(tmp)
        make_backend_neutral(tmp)
