"""The store behind the SPARQL endpoint and the rules it answers by, with the processes that run its queries.

    >>> endpoint = Endpoint("output/store")                              # doctest: +SKIP
    >>> status, content_type, body = endpoint.run(Request("ASK {}"))     # doctest: +SKIP

Safe by default: read-only unless ``writable``, every query stopped after ``timeout`` seconds, results larger than
``max_result_bytes`` refused, no federated ``SERVICE`` call nor remote ``LOAD`` unless ``allow_remote``.

Read-only queries run in worker processes, one per core, each with its own read-only handle on the store: a query
that runs out of time is stopped by ending its worker, and both cores answer queries. A writable endpoint runs
queries and updates in the server process (updates one at a time) so that every query sees every update; there
the time limit is checked while a result is written (a query that computes for long before its first result
cannot be stopped in the server process). Everything here blocks: the HTTP side (:mod:`converter.app`) calls it
from threads.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from functools import cached_property
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import pyoxigraph as ox

from .queries import CannedQuery, library
from .site import Site, static_files
from .sparql import Answer, ProtocolError, Request, execute, out_of_time
from .store import data_in_named_graphs

_WORKER_START_TIMEOUT = 60.0  # seconds a new query worker may take to open the store
_THREADS = 2  # queries one worker process answers at once
_ATTEMPTS = 4  # times a query is run again when its worker is ended for another query's time limit
QUEUE_WAIT = 30.0  # seconds a query may wait for a free worker (its time limit starts when one takes it)

Slot = tuple[BaseProcess, Connection]  # a worker process and one of its connections: one query at a time


def _worker(conns: list[Connection], store_path: str, max_bytes: int, allow_remote: bool) -> None:
    """A query worker process: one read-only store, one thread per connection (pyoxigraph releases the GIL while
    it evaluates, and threads share the store's caches)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    try:
        store = ox.Store.read_only(store_path)
    except Exception as err:  # noqa: BLE001 - said to the server, which decides
        for conn in conns:
            conn.send(("failed", f"{type(err).__name__}: {err}"))
        return
    union = data_in_named_graphs(store)  # a read-only handle sees a store that does not change
    threads = [threading.Thread(target=_answer_on, args=(conn, store, max_bytes, allow_remote, union), daemon=True)
               for conn in conns]
    for thread, conn in zip(threads, conns):
        conn.send(("ready", None))
        thread.start()
    for thread in threads:
        thread.join()


def _answer_on(conn: Connection, store: ox.Store, max_bytes: int, allow_remote: bool, union: bool) -> None:
    while True:
        try:
            req = conn.recv()
        except (EOFError, OSError):
            return
        if req is None:
            return
        try:
            status, content_type, body = execute(store, req, max_bytes, allow_remote, union)
            conn.send(("ok", (status, content_type)))
            conn.send_bytes(body)  # as it is: pickling it would copy it in both processes
        except ProtocolError as err:
            conn.send(("error", (err.status, str(err))))
        except Exception as err:  # noqa: BLE001 - any failure is answered, the worker lives on
            conn.send(("error", (500, f"{type(err).__name__}: {err}")))


class _Pool:
    """Query worker processes with hard time limits: a query that runs out of time ends its worker process, which
    is replaced. Each process answers on ``_THREADS`` connections (slots) at once; a slot joins the idle queue only
    once its process has opened the store, so the time a fresh process takes to start never counts against a
    query. A query whose process was ended under it (for another query's timeout) is run again elsewhere."""

    def __init__(self, store_path: str, size: int, max_bytes: int, allow_remote: bool) -> None:
        self.args = (store_path, max_bytes, allow_remote)
        self.replaced: set[int | None] = set()
        self.ctx = multiprocessing.get_context("spawn")
        self.idle: queue.Queue[Slot | None] = queue.Queue()  # None: the pool is closed
        self.all: set[Slot] = set()
        self.lock = threading.Lock()
        self.closed = False
        slots = [slot for _ in range(size) for slot in self._spawn()]
        for slot in slots:
            problem = self._ready(slot)
            if problem:
                self.close()
                raise OSError(f"a query worker could not start: {problem}")
            self.idle.put(slot)

    def _spawn(self) -> list[Slot]:
        pipes = [self.ctx.Pipe() for _ in range(_THREADS)]
        process = self.ctx.Process(target=_worker, args=([child for _, child in pipes], *self.args), daemon=True,
                                   name="pfocr-rdf-query-worker")
        process.start()
        slots: list[Slot] = []
        for parent, child in pipes:
            child.close()
            slots.append((process, parent))
        with self.lock:
            self.all.update(slots)
        return slots

    @staticmethod
    def _ready(slot: Slot) -> str | None:
        """Wait (boundedly) for a new worker to open the store: None when it is ready, else what went wrong."""
        process, conn = slot
        try:
            if not conn.poll(_WORKER_START_TIMEOUT):
                return f"no answer within {_WORKER_START_TIMEOUT:g} s"
            kind, payload = conn.recv()
        except (EOFError, OSError):
            return f"it exited with status {process.exitcode}"
        return None if kind == "ready" else str(payload)

    def _replace_later(self) -> None:
        """Start a worker in place of an ended one; its slots join the idle queue when it is ready."""
        slots = self._spawn()

        def join_when_ready() -> None:
            for slot in slots:
                problem = self._ready(slot)
                with self.lock:
                    closed = self.closed
                if problem is None and not closed:
                    self.idle.put(slot)
                    continue
                self._end(slot)
                if problem is not None and not closed:
                    print(f"pfocr-rdf: a replacement query worker could not start: {problem}", file=sys.stderr)

        threading.Thread(target=join_when_ready, daemon=True, name="pfocr-rdf-worker-start").start()

    def _take(self, wait: float) -> Slot:
        deadline = time.monotonic() + wait
        while True:
            try:
                slot = self.idle.get(timeout=max(0.001, deadline - time.monotonic()))
            except queue.Empty:
                raise ProtocolError(503, f"all query workers are busy; try again (waited {wait:g} s)",
                                    {"Retry-After": "5"}) from None
            if slot is None:  # closed: wake the next waiter too
                self.idle.put(None)
                raise ProtocolError(503, "the endpoint is shutting down")
            if slot[0].is_alive():
                return slot
            self._replace(slot)  # a slot of a process ended for another query's timeout

    def run(self, req: Request, timeout: float, wait: float) -> Answer:
        """Run ``req`` on the first free slot, waiting ``wait`` seconds at most for one."""
        if self.closed:
            raise ProtocolError(503, "the endpoint is shutting down")
        deadline = None  # the time limit runs from when a worker first takes the query, across retries
        for attempt in range(_ATTEMPTS):
            slot = self._take(wait)
            conn = slot[1]
            deadline = deadline or time.monotonic() + timeout
            try:
                conn.send(req)
                if not conn.poll(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError
                kind, payload = conn.recv()
                if kind == "ok":
                    payload = (*payload, conn.recv_bytes())
                break
            except (TimeoutError, EOFError, OSError) as err:
                self._replace(slot)
                if isinstance(err, TimeoutError):
                    raise out_of_time(timeout) from None
                if attempt == _ATTEMPTS - 1:  # its worker was ended under it, for other queries' time limits
                    raise ProtocolError(503, "the query was interrupted by other queries running out of time; "
                                             "try again", {"Retry-After": "1"}) from None
        self.idle.put(slot)
        if kind == "error":
            raise ProtocolError(*payload)
        answer: Answer = payload
        return answer

    def _end(self, slot: Slot) -> None:
        process, conn = slot
        process.kill()
        process.join(5)
        conn.close()
        with self.lock:
            self.all.discard(slot)

    def _replace(self, slot: Slot) -> None:
        """End a slot; the first slot of a process to end also ends the process and starts its replacement."""
        process = slot[0]
        self._end(slot)
        with self.lock:
            if self.closed or process.pid in self.replaced:
                return
            self.replaced.add(process.pid)
        self._replace_later()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            slots = list(self.all)
            self.all.clear()
        self.idle.put(None)  # queries waiting for a slot are told at once
        for process, conn in slots:
            process.kill()
        for process, conn in slots:
            process.join(5)
            conn.close()


class Endpoint:
    """The store behind the endpoint and the rules it answers by."""

    def __init__(self, store_path: str, *, writable: bool = False, timeout: float = 30.0,
                 max_result_bytes: int = 64 << 20, allow_remote: bool = False, workers: int | None = None,
                 queries: dict[str, CannedQuery] | None = None) -> None:
        if not os.path.isdir(store_path):
            raise FileNotFoundError(f"{store_path}: no store here; build one with 'pfocr-rdf load'")
        if timeout <= 0 or max_result_bytes <= 0:
            raise ValueError("timeout and max_result_bytes must be positive")
        self.store_path = os.path.realpath(store_path)
        self.writable = writable
        self.timeout = timeout
        self.max_result_bytes = max_result_bytes
        self.allow_remote = allow_remote
        self.queries = library() if queries is None else queries
        self.page_lock = threading.Lock()
        self._dataset_page: str | None = None
        self.store: ox.Store | None = None
        self.pool: _Pool | None = None
        if writable:
            self.store = ox.Store(self.store_path)
            self.update_lock = threading.Lock()
        else:
            ox.Store.read_only(self.store_path)  # fails here, with its reason, rather than in every worker
            self.pool = _Pool(self.store_path, workers or os.cpu_count() or 1, max_result_bytes, allow_remote)

    @property
    def queue_wait(self) -> float:
        """Seconds a request may wait for a free query worker before it is told 503."""
        return max(self.timeout, QUEUE_WAIT)

    @cached_property
    def site(self) -> Site:
        """The web pages, which query the store as any client does (with the same limits)."""
        return Site(lambda text, accept: self.run(Request(text, accept=accept))[2], self.queries, self.store_path)

    @cached_property
    def static(self) -> dict[str, tuple[bytes, str]]:
        return static_files()

    def warm(self) -> None:
        """Draw the /dataset page ahead of its first visitor (on a large store its charts take seconds, more on cold
        caches). A failure here is left for that visit to report."""
        if not self.writable:
            try:
                self.dataset_page()
            except Exception:  # noqa: BLE001, S110 - the visit will answer with the reason
                pass

    def dataset_page(self) -> str:
        """The /dataset page; drawn once on a read-only endpoint (its store does not change)."""
        if self.writable:
            return self.site.dataset_page()
        with self.page_lock:
            if self._dataset_page is None:
                self._dataset_page = self.site.dataset_page()
            return self._dataset_page

    def run(self, req: Request, wait: float | None = None) -> Answer:
        """Answer a request: (status, Content-Type, body). ``wait``: seconds it may wait for a free query worker
        (:attr:`queue_wait` when not given)."""
        if req.update and not self.writable:
            raise ProtocolError(403, "this endpoint is read-only; start it with --writable to accept updates")
        if self.pool is not None:
            return self.pool.run(req, self.timeout, self.queue_wait if wait is None else wait)
        assert self.store is not None
        if req.update:
            with self.update_lock:
                status, content_type, body = execute(self.store, req, self.max_result_bytes, self.allow_remote, False)
        else:
            status, content_type, body = execute(self.store, req, self.max_result_bytes, self.allow_remote,
                                                 data_in_named_graphs(self.store), self.timeout)
        return status, content_type, bytes(body)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        elif self.store is not None:
            self.store.flush()
