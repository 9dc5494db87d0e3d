"""The limits that keep the endpoint's time and memory bounded whatever its clients do, for :mod:`converter.web.app`:
blocking work in a bounded set of threads, a byte budget for large results held for slow readers, and responses a
client must read at a minimum rate.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .protocol import ProtocolError

T = TypeVar("T")

ABORT = "pfocr.abort"  # scope["state"]: drops the connection at once, whatever is still buffered for it
MIN_RATE = 256 << 10  # bytes a second a client must read a response at, at least
_CHUNK = 1 << 16  # bytes handed to the connection at a time, so a slow reader is noticed between them


class Threads:
    """Blocking calls (a query worker's pipe, a page that runs queries) in at most ``size`` threads, off the event
    loop. A call waits for a thread at most until its deadline, then is told 503. The threads are daemons: a query
    running in the server process (on a writable endpoint) must not hold up the exit."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.started = 0
        self.free: asyncio.Semaphore | None = None  # made on the serving loop

    async def run(self, deadline: float, call: Callable[[float], T]) -> T:
        """``call(seconds left until the deadline)`` in a thread."""
        loop = asyncio.get_running_loop()
        if self.free is None:
            self.free = asyncio.Semaphore(self.size)
        free = self.free
        try:
            async with asyncio.timeout_at(deadline):
                await free.acquire()
        except TimeoutError:
            raise ProtocolError(503, "the server is busy; try again", {"Retry-After": "5"}) from None
        done: asyncio.Future[T] = loop.create_future()

        def job() -> None:
            try:
                result, error = call(max(0.0, deadline - loop.time())), None
            except BaseException as err:  # handed to the awaiting request
                result, error = None, err
            with suppress(RuntimeError):  # the loop has closed (the server stopped): no one waits for this
                loop.call_soon_threadsafe(_settle, done, result, error, free)

        if self.started < self.size:
            self.started += 1
            threading.Thread(target=self._work, daemon=True, name="pfocr-rdf-blocking").start()
        self.jobs.put(job)
        return await asyncio.shield(done)  # a cancelled request leaves the thread to finish; its slot is freed then

    def _work(self) -> None:
        while True:
            self.jobs.get()()


def _settle(done: asyncio.Future[Any], result: object, error: BaseException | None, free: asyncio.Semaphore) -> None:
    free.release()
    if done.cancelled():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)


class Budget:
    """Bytes of large results the server may hold while clients read them. A result over ``small`` waits (up to
    ``wait`` seconds) for room, then is refused with 503; smaller ones always go, so slow readers of large results
    cannot starve ordinary queries, and memory stays bounded by the budget plus what is being computed."""

    def __init__(self, limit: int, small: int = 1 << 20, wait: float = 10.0) -> None:
        self.limit, self.small, self.wait = limit, small, wait
        self.used = 0
        self.room: asyncio.Condition | None = None  # made on the serving loop

    @asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        if size <= self.small:
            yield
            return
        if self.room is None:
            self.room = asyncio.Condition()
        room = self.room
        async with room:
            try:
                async with asyncio.timeout(self.wait):
                    await room.wait_for(lambda: self.used + size <= self.limit or self.used == 0)
            except TimeoutError:
                raise ProtocolError(503, "the server is busy sending other large results; try again",
                                    {"Retry-After": "5"}) from None
            self.used += size
        try:
            yield
        finally:
            self.used -= size
            async with room:
                room.notify_all()


class Paced(Response):
    """A response whose body a client must read at ``MIN_RATE`` at least, after ``grace`` seconds: one that reads
    slower is cut off, so it cannot hold a large result (and its share of memory) for ever."""

    def __init__(self, content: bytes, status_code: int, headers: dict[str, str], budget: Budget,
                 grace: float) -> None:
        super().__init__(content, status_code, headers)
        self.budget, self.grace = budget, grace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytes(self.body)
        if scope["method"] == "HEAD" or len(body) <= _CHUNK:
            await super().__call__(scope, receive, send)
            return
        async with self.budget.hold(len(body)):
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout_at(loop.time() + self.grace + len(body) / MIN_RATE):
                    await send({"type": "http.response.start", "status": self.status_code,
                                "headers": self.raw_headers})
                    for start in range(0, len(body), _CHUNK):
                        await send({"type": "http.response.body", "body": body[start:start + _CHUNK],
                                    "more_body": start + _CHUNK < len(body)})
            except TimeoutError:
                abort = scope.get("state", {}).get(ABORT)
                if abort is None:
                    raise
                abort()
                while (await receive())["type"] != "http.disconnect":  # the server has noticed: nothing to log
                    pass
