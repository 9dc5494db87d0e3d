"""The query worker processes behind the endpoint: two lanes, a cap per client, and limits that end a worker.

    >>> pool = Pool(".stores/store-abc", Settings(workers=4))                    # doctest: +SKIP
    >>> pool.run(Request("ASK {}"), Ticket("127.0.0.1", "ask"), timeout=30, wait=30)   # doctest: +SKIP

Every request runs in a worker process (:mod:`converter.web.worker`), killed and replaced when its request passes its
time limit, when the worker passes its memory limit (resident size, sampled every 50 ms), or when the client has
left (:meth:`Ticket.cancel`). A read-only worker runs one query, so a kill ends that query alone; the one worker of
a writable endpoint runs them all, and a query ended with it for another request's sake runs again on its
replacement (an update does not: it was rolled back, or had just committed).

Admission: the *general* lane takes any request, and a client (by address) holds at most ``per_client`` of its slots
at once; the *reserved* lane (``RESERVED_WORKERS``) takes only cheap requests (canned queries, pages, ``ASK``; an
ad-hoc ``ASK`` one per client). A cheap request takes a reserved slot if one is free, else a general one. Waiting
requests are served in arrival order among those a free slot may take. :meth:`Pool.switch` moves to a new store
version (new requests go there once one of its workers is ready; the old workers end with their requests), and
``on_drained(version)`` says when no worker reads an old version any more.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.process import BaseProcess

from ..web import worker
from .protocol import Answer, ProtocolError, Request, out_of_time
from .slots import Cancelled, Settings, Ticket, _resident, _Slot, _Waiter, _Worker, over_memory

GENERAL, RESERVED = "general", "reserved"
RESERVED_WORKERS = 2  # processes of the reserved lane (slots of it, on a writable endpoint)
_WATCH = 0.05  # seconds between samples of the workers' memory
_START_TIMEOUT = 60.0  # seconds a new worker may take to open the store
_START_ATTEMPTS = 3  # times a worker is started before the pool gives up and is unhealthy
_ATTEMPTS = 3  # times a query is run when its worker is ended for another request's sake

_CTX = multiprocessing.get_context("forkserver")
# Workers are forked from a server that has imported the worker code once: a replacement is ready at once, where a
# fresh interpreter costs far more CPU (a runaway query can end one every second).
_CTX.set_forkserver_preload(["converter.web.worker"])



class Pool:
    """Worker processes on one store version at a time (two while moving to a new one), and their admission."""

    def __init__(self, version: str, settings: Settings, on_failure: Callable[[str], None] | None = None,
                 on_drained: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.version = version
        self.pending: str | None = None
        self.on_failure, self.on_drained = on_failure, on_drained
        if settings.writable:  # one process holds the store read-write
            self.layout = [[GENERAL] * settings.workers + [RESERVED] * RESERVED_WORKERS]
        else:
            self.layout = [[GENERAL]] * settings.workers + [[RESERVED]] * RESERVED_WORKERS
        self.cond = threading.Condition()
        self.idle: dict[str, list[_Slot]] = {GENERAL: [], RESERVED: []}
        self.queue: list[_Waiter] = []
        self.held: Counter[str] = Counter()  # general slots per client
        self.asks: Counter[str] = Counter()  # reserved slots per client running an ad-hoc ASK
        self.updating = False
        self.workers: set[_Worker] = set()
        self.closed = False
        self.failure: str | None = None
        self.peak_rss = 0  # bytes: the largest worker seen
        self.idle_kills = 0  # workers killed over the memory limit with no request: the limit is below their rest
        started = [self._spawn(lanes, version) for lanes in self.layout]
        for one in started:
            problem = self._ready(one)
            if problem is not None:
                self.close()
                raise OSError(f"a query worker could not start: {problem}")
            with self.cond:
                self._join(one)
        threading.Thread(target=self._watch, daemon=True, name="pfocr-rdf-pool-watch").start()

    # -- processes
    def _spawn(self, lanes: list[str], version: str) -> _Worker:
        pipes = [_CTX.Pipe() for _ in lanes]
        s = self.settings
        process = _CTX.Process(target=worker.main, name="pfocr-rdf-query-worker", daemon=True, args=(
            [child for _, child in pipes], lanes, version, s.writable, s.max_bytes, s.allow_remote, s.memory_limit))
        process.start()
        one = _Worker(process, version, lanes)
        for (parent, child), lane in zip(pipes, lanes):
            child.close()
            one.slots.append(_Slot(lane, parent, one))
        with self.cond:
            self.workers.add(one)
        return one

    def _ready(self, one: _Worker) -> str | None:
        """Wait (boundedly) for a new worker to open the store: None when it is ready, else what went wrong."""
        for slot in one.slots:
            try:
                if not slot.conn.poll(_START_TIMEOUT):
                    return f"no answer within {_START_TIMEOUT:g} s"
                kind, payload = slot.conn.recv()
            except (EOFError, OSError):
                one.process.join(5)
                return f"it exited with status {one.process.exitcode}"
            if kind != "ready":
                return str(payload)
        return None

    def _join(self, one: _Worker) -> None:
        """A ready worker takes requests (under the lock); the first of a new version makes it the current one."""
        if self.closed or one.version not in (self.version, self.pending):
            self._end(one, "retired")
            return
        if one.version == self.pending:
            self._switch_to(one.version)  # the first worker ready on a new version: new requests go there
        one.ready = True
        for slot in one.slots:
            self.idle[slot.lane].append(slot)
        self._dispatch()

    def _start(self, lanes: list[str], version: str, before: BaseProcess | None = None) -> None:
        """Start a worker in the background; after ``_START_ATTEMPTS`` failures the pool is unhealthy."""

        def start() -> None:
            if before is not None:
                before.join(10)  # gone for good: a writable store stays locked until then
            problem = ""
            for _ in range(_START_ATTEMPTS):
                with self.cond:
                    if self.closed or version not in (self.version, self.pending):
                        return
                one = self._spawn(lanes, version)
                found = self._ready(one)
                if found is None:
                    with self.cond:
                        self._join(one)
                    return
                problem = found
                with self.cond:
                    self._end(one, "failed")
            self._fail(f"a query worker could not start on {version}: {problem}")

        threading.Thread(target=start, daemon=True, name="pfocr-rdf-worker-start").start()

    def _end(self, one: _Worker, reason: str, ticket: Ticket | None = None) -> None:
        """Kill a worker (under the lock) and take it out of the pool."""
        if one.ended is None:
            one.ended = (reason, ticket)
        one.process.kill()
        one.lost = True
        self._unidle(one)
        self._forget(one)

    def _unidle(self, one: _Worker) -> None:
        for slot in one.slots:
            if slot in self.idle[slot.lane]:
                self.idle[slot.lane].remove(slot)

    def _forget(self, one: _Worker) -> None:
        self.workers.discard(one)
        old = one.version
        drained = old not in (self.version, self.pending) and not any(w.version == old for w in self.workers)
        if drained and self.on_drained is not None:
            self.on_drained(old)

    def _kill(self, one: _Worker, reason: str, ticket: Ticket | None) -> None:
        """End a worker for a reason (under the lock); its requests notice, and it is replaced."""
        if one.ended is None:
            one.ended = (reason, ticket)
            one.process.kill()

    def _lost(self, one: _Worker) -> None:
        """A worker has died (under the lock): its idle slots go, and it is replaced unless it is not needed."""
        if one.lost:
            return
        one.lost = True
        self._unidle(one)
        self._forget(one)
        if not self.closed and not one.retired and self.failure is None:
            self._start(one.lanes, self.version, one.process)

    def _fail(self, message: str) -> None:
        with self.cond:
            if self.failure is not None or self.closed:
                return
            self.failure = message
            self.cond.notify_all()
        if self.on_failure is not None:
            self.on_failure(message)

    def _watch(self) -> None:
        """Memory and deaths: a worker over its limit is killed; a dead one is replaced."""
        limit = self.settings.memory_limit
        while True:
            time.sleep(_WATCH)
            with self.cond:
                if self.closed:
                    return
                workers = list(self.workers)
            for one in workers:
                if one.process.exitcode is not None:
                    with self.cond:
                        self._lost(one)
                    continue
                rss = one.rss = _resident(one.process.pid)
                self.peak_rss = max(self.peak_rss, rss)
                if limit and rss > limit:
                    with self.cond:
                        resting = all(slot.held is None for slot in one.slots) and one.ended is None
                        self._kill(one, "memory", None)
                        self.idle_kills += resting
                        too_low = self.idle_kills >= _START_ATTEMPTS
                    if too_low:
                        self._fail(f"a query worker needs {rss >> 20} MiB at rest, more than the memory limit "
                                   f"({limit >> 20} MiB); raise --memory-limit")

    # -- versions
    def switch(self, version: str) -> None:
        """Start workers on ``version``; the first ready one makes it the current version."""
        with self.cond:
            if version in (self.version, self.pending) or self.closed:
                return
            abandoned, self.pending = self.pending, version
            for one in [w for w in self.workers if w.version == abandoned]:
                self._end(one, "retired")  # starting on a version that was pending and is no longer: no requests
            if abandoned is not None and self.on_drained is not None:
                self.on_drained(abandoned)
        for lanes in self.layout:
            self._start(lanes, version)

    def _switch_to(self, version: str) -> None:
        self.version, self.pending = version, None
        for one in list(self.workers):
            if one.version != version:
                one.retired = True
                if all(slot.held is None for slot in one.slots):
                    self._end(one, "retired")
                else:
                    self._unidle(one)

    # -- admission
    def _free(self, lane: str) -> _Slot | None:
        while self.idle[lane]:
            slot = self.idle[lane].pop()
            if slot.worker.ended is None and slot.worker.process.exitcode is None:
                return slot
            self._lost(slot.worker)
        return None

    def _pick(self, ticket: Ticket) -> _Slot | None:
        client, kind = ticket.client, ticket.kind
        if kind == "cheap" or (kind == "ask" and self.asks[client] < 1):
            slot = self._free(RESERVED)
            if slot is not None:
                slot.held = (client, False, kind == "ask", False)
                return slot
        if self.held[client] >= self.settings.per_client or (kind == "update" and self.updating):
            return None
        slot = self._free(GENERAL)
        if slot is not None:
            slot.held = (client, True, False, kind == "update")
        return slot

    def _dispatch(self) -> None:
        """Hand free slots to waiting requests in arrival order (under the lock)."""
        given = False
        for waiter in self.queue:
            if waiter.slot is not None or waiter.ticket.cancelled:
                continue
            slot = self._pick(waiter.ticket)
            if slot is None:
                if not self.idle[GENERAL] and not self.idle[RESERVED]:
                    break
                continue
            assert slot.held is not None
            client, general, ask, update = slot.held
            self.held[client] += general
            self.asks[client] += ask
            self.updating = self.updating or update
            waiter.slot, waiter.ticket.worker = slot, slot.worker
            given = True
        if given:
            self.cond.notify_all()

    def _take(self, ticket: Ticket, until: float, wait: float) -> _Slot:
        with self.cond:
            ticket.pool = self
            waiter = _Waiter(ticket)
            self.queue.append(waiter)
            try:
                self._dispatch()
                while waiter.slot is None:
                    if ticket.cancelled:
                        raise Cancelled
                    if self.failure is not None:
                        raise ProtocolError(503, f"the endpoint is stopping: {self.failure}")
                    if self.closed:
                        raise ProtocolError(503, "the endpoint is shutting down")
                    left = until - time.monotonic()
                    if left <= 0:
                        raise ProtocolError(503, f"all query workers are busy; try again (waited {wait:g} s)",
                                            {"Retry-After": "5"})
                    self.cond.wait(left)
            finally:
                self.queue.remove(waiter)
            return waiter.slot

    def _release(self, slot: _Slot, ticket: Ticket) -> None:
        with self.cond:
            ticket.worker = None
            assert slot.held is not None
            client, general, ask, update = slot.held
            slot.held = None
            self.held[client] -= general
            self.asks[client] -= ask
            self.held += Counter()  # drops clients at zero
            self.asks += Counter()
            self.updating = self.updating and not update
            self.idle_kills = 0
            one = slot.worker
            if one.ended is None and one.process.exitcode is None and not self.closed:
                if not one.retired:
                    self.idle[slot.lane].append(slot)
                elif all(s.held is None for s in one.slots):
                    self._end(one, "retired")
            elif one.ended is not None or one.process.exitcode is not None:
                self._lost(one)
            self._dispatch()

    def cancel(self, ticket: Ticket) -> None:
        """End what runs ``ticket`` (its client left), or stop it waiting."""
        with self.cond:
            if ticket.worker is not None:
                self._kill(ticket.worker, "cancelled", ticket)
            self.cond.notify_all()

    # -- running
    def run(self, req: Request, ticket: Ticket, timeout: float, wait: float) -> Answer:
        """Run ``req`` in a worker, waiting ``wait`` seconds at most for one; its time limit runs from when a worker
        first takes it."""
        if ticket.cancelled:
            raise Cancelled
        until = time.monotonic() + wait
        deadline: float | None = None
        strikes = 0
        limit = self.settings.memory_limit
        for attempt in range(_ATTEMPTS):
            slot = self._take(ticket, until, wait)
            one = slot.worker
            deadline = deadline or time.monotonic() + timeout
            try:
                return self._exchange(slot, req, deadline, ticket, timeout)
            except (EOFError, OSError):
                pass
            finally:
                self._release(slot, ticket)
            reason, whose = one.ended or self._death(one, limit)
            mine = whose is ticket
            if reason == "cancelled" and mine:
                raise Cancelled
            if reason == "memory":
                if len(one.slots) == 1 or strikes or req.update:
                    raise over_memory(limit, req.update)
                strikes += 1  # it shared the worker: perhaps another request went over
            elif reason in ("retired", "closed") or self.closed:
                raise ProtocolError(503, "the endpoint is shutting down")
            if req.update:
                raise ProtocolError(503, "the update was interrupted: its worker was ended for another request; it "
                                         "was rolled back unless it had just finished", {"Retry-After": "1"})
            if attempt == _ATTEMPTS - 1:
                raise ProtocolError(503, "the query was interrupted: its worker was ended for other requests; try "
                                         "again", {"Retry-After": "1"})
        raise AssertionError("unreachable")

    def _exchange(self, slot: _Slot, req: Request, deadline: float, ticket: Ticket, timeout: float) -> Answer:
        conn = slot.conn
        conn.send(req)
        if not conn.poll(max(0.0, deadline - time.monotonic())):
            with self.cond:
                self._kill(slot.worker, "time", ticket)
            raise out_of_time(timeout, req.update)
        kind, payload = conn.recv()
        if kind == "ok":
            status, content_type = payload
            return status, content_type, conn.recv_bytes()
        if kind == "memory":
            raise over_memory(self.settings.memory_limit, req.update)
        status, message, headers = payload
        raise ProtocolError(status, message, headers)

    @staticmethod
    def _death(one: _Worker, limit: int) -> tuple[str, Ticket | None]:
        """Why a worker the pool did not kill has died: an abort of a worker that was growing towards the limit is
        its address-space backstop (an allocation refused); anything else, a crash."""
        one.process.join(5)
        code = one.process.exitcode
        if code == -signal.SIGABRT and limit and one.rss > limit // 2:
            return "memory", None
        return f"crashed (status {code})", None

    # -- state
    def state(self) -> dict[str, object]:
        """What runs and waits, for /health."""
        with self.cond:
            lanes = {lane: {"slots": 0, "running": 0} for lane in (GENERAL, RESERVED)}
            for one in self.workers:
                if one.ready and not one.retired:
                    for slot in one.slots:
                        lanes[slot.lane]["slots"] += 1
                        lanes[slot.lane]["running"] += slot.held is not None
            return {"lanes": lanes, "waiting": len(self.queue), "workers": len(self.workers),
                    "peak_worker_mib": self.peak_rss >> 20}

    def close(self) -> None:
        with self.cond:
            self.closed = True
            workers = list(self.workers)
            for one in workers:
                if one.ended is None:
                    one.ended = ("closed", None)
                one.process.kill()
            self.workers.clear()
            self.cond.notify_all()
        for one in workers:
            one.process.join(5)
            for slot in one.slots:
                slot.conn.close()
