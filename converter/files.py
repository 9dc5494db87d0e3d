"""Files written safely: atomically (a temporary file renamed into place), under a lock that a killed writer
never leaves held, with what a killed writer left swept away, and readable by others as the umask allows."""

from __future__ import annotations

import fcntl
import fnmatch
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress


def shared_mode(folder: bool = False) -> int:
    """The mode a file (or ``folder``) the user makes gets under their umask: what mkstemp and mkdtemp, which make
    them private, must be given back for dumps and chunks that other users and loaders read."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if folder else 0o666) & ~mask


@contextmanager
def exclusive(folder: str, what: str, error: type[Exception] = BlockingIOError) -> Iterator[None]:
    """Hold the lock file ``folder/.lock`` while a build writes there; a second build into the same place fails at
    once (raising ``error``) instead of mixing its files with the first's. The kernel drops the lock when its
    holder dies, however it dies, so a killed build never leaves the folder locked."""
    os.makedirs(folder, exist_ok=True)
    fd = os.open(os.path.join(folder, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise error(f"another {what} is writing to {os.path.dirname(folder) or '.'}; wait for it to "
                        "finish") from None
        yield
    finally:
        os.close(fd)


def sweep(folder: str, patterns: Iterable[str]) -> None:
    """Remove what a killed build left in ``folder`` (its temporary files and folders), under its lock."""
    for name in os.listdir(folder):
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                _remove(path)


def atomic_write(path: str, text: str | Iterable[str]) -> None:
    """Write ``text`` (or its pieces, one after another) to ``path`` through a temporary file in the same folder."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, shared_mode())  # mkstemp makes files private; dumps are for sharing
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines([text] if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        _remove(tmp)
        raise named(err, path) from None
    except BaseException:
        _remove(tmp)
        raise


def named(err: OSError, path: str) -> OSError:
    """``err``, naming ``path`` when the system named no file (a write to a full disk names none)."""
    if err.filename is None:
        err.filename = path
    return err


def _remove(path: str) -> None:
    with suppress(FileNotFoundError):
        os.unlink(path)
