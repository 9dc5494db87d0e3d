"""Store versions and the leases that keep them alive while they are in use.

``pfocr-rdf load`` builds each store in a fresh folder under ``.stores/`` beside the store path and switches the
store path (a symbolic link) to it. A server, or any other reader, holds a *lease* on the version it reads: a
shared ``flock`` on ``<version>.lease`` beside the version's folder. ``load`` removes an old version only when it
can take that lock exclusively, that is when no process holds a lease on it; the kernel drops a lease when its
holder ends, however it ends, so a killed server never pins a version for ever.

    >>> lease = Lease.take(current_version("output/store"))        # doctest: +SKIP
    >>> lease.release()                                             # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial

VERSIONS = ".stores"  # the folder of versions, beside the store path
_SUFFIX = ".lease"


def lease_file(version: str) -> str:
    return version.rstrip(os.sep) + _SUFFIX


def managed(store_path: str) -> bool:
    """True when ``store_path`` is a link that ``load`` switches (to a version under ``.stores/``)."""
    if not os.path.islink(store_path):
        return False
    versions = os.path.join(os.path.dirname(os.path.abspath(store_path)), VERSIONS)
    return os.path.dirname(os.path.realpath(store_path)) == os.path.realpath(versions)


def current_version(store_path: str) -> str:
    """The folder the store path stands for now (the path itself when it is not a link)."""
    return os.path.realpath(store_path)


def complete(version: str) -> bool:
    """A version folder that holds a store (RocksDB's CURRENT file names its manifest)."""
    return os.path.isfile(os.path.join(version, "CURRENT"))


class Lease:
    """A shared lock on one version's lease file, held until :meth:`release` or the end of the process."""

    def __init__(self, version: str, fd: int) -> None:
        self.version = version
        self._fd: int | None = fd

    @classmethod
    def take(cls, version: str) -> Lease | None:
        """A lease on ``version``, or None when it is gone or being removed (a load holds its lock)."""
        try:
            fd = os.open(lease_file(version), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        # checked under the lock: a load that removed the folder before we locked has finished with it
        if not complete(version):
            os.close(fd)
            return None
        return cls(version, fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextmanager
def leased(store_path: str) -> Iterator[str]:
    """The current version of a store, leased for the duration of the block (a plain folder is given as it is)."""
    if not managed(store_path):
        yield store_path
        return
    for _ in range(3):  # a load may switch and remove the version between reading the link and locking
        lease = Lease.take(current_version(store_path))
        if lease is not None:
            try:
                yield lease.version
            finally:
                lease.release()
            return
    yield store_path


def remove_unused(versions: str, store_name: str, keep: str) -> list[str]:
    """Remove the versions of the store ``store_name`` under ``versions``, except ``keep`` and those a process
    holds a lease on; also lease files left without a version. Returns what was removed."""
    # a version is the store's name, '-' and mkdtemp's random letters, which hold no '-': the versions of a store
    # named "store-b" in the same folder are not the versions of "store"
    ours = re.compile(re.escape(store_name) + r"-[a-z0-9_]+(?:" + re.escape(_SUFFIX) + ")?")
    removed = []
    for name in sorted(os.listdir(versions)):
        path = os.path.join(versions, name)
        if not ours.fullmatch(name) or path == keep:
            continue
        if name.endswith(_SUFFIX):
            version = path[: -len(_SUFFIX)]
            if not os.path.exists(version) and _unheld(path, lambda: None):
                removed.append(path)
            continue
        if os.path.isdir(path) and _unheld(lease_file(path), partial(shutil.rmtree, path, ignore_errors=True)):
            removed.append(path)
    return removed


def _unheld(lease: str, then: Callable[[], object]) -> bool:
    """Run ``then`` and delete the lease file if no process holds a lease on it; False if one does."""
    try:
        fd = os.open(lease, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        then()
        with suppress(FileNotFoundError):
            os.unlink(lease)
        return True
    finally:
        os.close(fd)
