"""The pool's parts: its settings, a request's ticket (client and lane), the worker processes and their slots, the
requests waiting for one, and the answer a query gets when its worker passed its memory limit."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Protocol

from .protocol import ProtocolError

KINDS = ("general", "update", "cheap", "ask")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class Cancelled(Exception):
    """The request was called off (its client left) and what ran it was ended."""


@dataclass
class Settings:
    workers: int = 2  # general lane: processes (read-only) or slots of the one process (writable)
    writable: bool = False
    max_bytes: int = 64 << 20
    allow_remote: bool = False
    memory_limit: int = 384 << 20  # bytes of resident memory per worker process; 0: none
    per_client: int = 2  # general slots one client may hold at once


class Canceller(Protocol):
    """What ends a ticket's request (the :class:`converter.web.pool.Pool` that admitted it)."""

    def cancel(self, ticket: Ticket) -> None: ...


class Ticket:
    """One request's place in the pool: who sent it, what kind it is, and the means to call it off."""

    def __init__(self, client: str = "", kind: str = "general") -> None:
        assert kind in KINDS
        self.client, self.kind = client, kind
        self.cancelled = False
        self.pool: Canceller | None = None
        self.worker: _Worker | None = None  # what runs it now (set under the pool's lock)

    def cancel(self) -> None:
        self.cancelled = True  # first, then the pool: either run() sees the flag or cancel() sees the worker
        if self.pool is not None:
            self.pool.cancel(self)


@dataclass(eq=False)
class _Slot:
    lane: str
    conn: Connection
    worker: _Worker
    held: tuple[str, bool, bool, bool] | None = None  # (client, general, ask, update) while a request holds it


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    version: str
    lanes: list[str]
    slots: list[_Slot] = field(default_factory=list)
    ready: bool = False
    retired: bool = False  # of a version the pool has left: ends when its last request does
    ended: tuple[str, Ticket | None] | None = None  # why the pool killed it, and for whose request
    lost: bool = False  # its death has been dealt with (replaced, or not to be)
    rss: int = 0  # bytes resident when last sampled


@dataclass(eq=False)
class _Waiter:
    ticket: Ticket
    slot: _Slot | None = None


def over_memory(limit: int, update: bool) -> ProtocolError:
    what = "update went" if update else "query went"
    then = "was rolled back" if update else "was stopped"
    return ProtocolError(503, f"the {what} over the memory limit of a query worker ({limit >> 20} MiB) and {then}; "
                              "narrow it or add a LIMIT", {"Retry-After": "1"})

def _resident(pid: int | None) -> int:
    """Resident bytes of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0
