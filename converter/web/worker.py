"""A query worker process: one store handle, answering requests that come down its pipes.

:mod:`converter.web.pool` starts these, one query per pipe. A read-only worker answers one query at a time on one
pipe, so that ending it (at its time or memory limit, or when its client leaves) ends that query alone. The
worker of a writable endpoint is the one process that holds the store read-write: it answers several pipes at
once, one thread each, and its updates one at a time; ending it rolls back the update it was running, since
Oxigraph commits an update only at its end.

Its memory is watched by the pool (resident size, sampled); here a worker also limits its own address space, a
backstop for when the pool's watch comes too late.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import threading
import time
from contextlib import suppress
from multiprocessing.connection import Connection

import pyoxigraph as ox

from ..store.load import data_in_named_graphs
from .protocol import ProtocolError, Request, execute

_BACKSTOP = 512 << 20  # bytes of address space a worker may map beyond its resident limit (stacks, arenas, maps)
_LOW_PRIORITY = 10  # nice of the general lane: the reserved lane and the HTTP server get the CPU first
_PR_SET_PDEATHSIG = 1
_OPEN_ATTEMPTS = 50  # a writable store is locked until the worker ended before this one is gone


def _die_with_parent() -> None:
    """End with the process that started us (Linux): a worker left behind by a killed server must not go on
    running a query for nobody."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _address_space() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _open(path: str, writable: bool) -> ox.Store:
    if not writable:
        return ox.Store.read_only(path)
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            return ox.Store(path)
        except OSError as err:
            if "lock" not in str(err).lower() or attempt == _OPEN_ATTEMPTS - 1:
                raise
            time.sleep(0.1)
    raise AssertionError("unreachable")


def main(conns: list[Connection], lanes: list[str], store_path: str, writable: bool, max_bytes: int,
         allow_remote: bool, memory_limit: int) -> None:
    """Open the store, say ``ready`` (or ``failed``) on every pipe, then answer on each until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    _die_with_parent()
    if not writable and "general" in lanes:
        os.nice(_LOW_PRIORITY)
    try:
        store = _open(store_path, writable)
        if memory_limit:
            limit = _address_space() + memory_limit + _BACKSTOP
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except Exception as err:  # said to the server, which decides
        for conn in conns:
            conn.send(("failed", f"{type(err).__name__}: {err}"))
        return
    union = None if writable else data_in_named_graphs(store)  # a read-only store does not change
    updating = threading.Lock()
    if len(conns) == 1:
        conns[0].send(("ready", os.getpid()))
        _answer_on(conns[0], store, max_bytes, allow_remote, union, updating)
        return
    threads = []
    for conn, lane in zip(conns, lanes):
        thread = threading.Thread(target=_answer_on, args=(conn, store, max_bytes, allow_remote, union, updating,
                                                           lane == "general"), daemon=True)
        threads.append(thread)
        conn.send(("ready", os.getpid()))
        thread.start()
    for thread in threads:
        thread.join()
    store.flush()


def _answer_on(conn: Connection, store: ox.Store, max_bytes: int, allow_remote: bool, union: bool | None,
               updating: threading.Lock, low_priority: bool = False) -> None:
    if low_priority and sys.platform == "linux":  # a thread's own nice, on Linux
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _LOW_PRIORITY)
    while True:
        try:
            req = conn.recv()
        except (EOFError, OSError):
            return
        if req is None:
            return
        assert isinstance(req, Request)
        try:
            in_union = data_in_named_graphs(store) if union is None and not req.update else bool(union)
            if req.update:
                with updating:
                    status, content_type, body = execute(store, req, max_bytes, allow_remote, False)
            else:
                status, content_type, body = execute(store, req, max_bytes, allow_remote, in_union)
            conn.send(("ok", (status, content_type)))
            conn.send_bytes(body)  # as it is: pickling it would copy it in both processes
        except ProtocolError as err:
            conn.send(("error", (err.status, str(err), err.headers)))
        except MemoryError:
            conn.send(("memory", None))
        except Exception as err:  # any failure is answered, the worker lives on
            conn.send(("error", (500, f"{type(err).__name__}: {err}", {})))
