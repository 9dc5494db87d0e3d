"""Progress of a long publish: a bar on a terminal, plain lines otherwise (a log file, CI).

    >>> from converter.publish.progress import Progress
    >>> progress = Progress(total_bytes=1_000_000, stream=None)       # doctest: +SKIP
    >>> progress.advance(triples=50_000, read=120_000)                 # doctest: +SKIP
    >>> progress.step("counting the new graph")                        # doctest: +SKIP

What is sent is counted in triples, but how much is left is only known in bytes (a dump's triples are counted by
reading it, which is what the publish does anyway), so the time left comes from the share of the input read so far.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 24
TERMINAL_EVERY = 0.2  # seconds between two redraws of the bar
LINE_EVERY = 15.0  # seconds between two plain lines


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """Triples sent out of inputs of ``total_bytes``; ``stream`` None keeps quiet (the library default)."""

    def __init__(self, total_bytes: int, stream: TextIO | None = None, *, terminal: bool | None = None,
                 what: str = "publishing") -> None:
        self.total = max(total_bytes, 1)
        self.stream = stream
        self.terminal = stream is not None and (stream.isatty() if terminal is None else terminal)
        self.what = what
        self.triples = 0
        self.read = 0
        self.started = self.shown = time.monotonic()
        self._drawn = False

    def advance(self, triples: int, read: int) -> None:
        """``triples`` more were sent; ``read`` bytes of the inputs have been read in all."""
        self.triples += triples
        self.read = max(self.read, min(read, self.total))
        now = time.monotonic()
        if self.stream is not None and now - self.shown >= (TERMINAL_EVERY if self.terminal else LINE_EVERY):
            self.shown = now
            self._show(now)

    def rate(self, now: float | None = None) -> float:
        elapsed = (now or time.monotonic()) - self.started
        return self.triples / elapsed if elapsed > 0 else 0.0

    def line(self, now: float | None = None) -> str:
        """The state in words: triples sent, their rate, and the time left."""
        now = now or time.monotonic()
        share = self.read / self.total
        elapsed = now - self.started
        left = elapsed * (1 - share) / share if share > 0 else None
        return (f"{self.what}: {self.triples:,} triples sent, {self.rate(now):,.0f} triples/s, "
                + (f"{_duration(left)} left" if left is not None else "time left unknown"))

    def _show(self, now: float) -> None:
        assert self.stream is not None
        if not self.terminal:
            print(self.line(now), file=self.stream, flush=True)
            return
        filled = int(BAR_WIDTH * self.read / self.total)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(f"\r{int(100 * self.read / self.total):3d}% [{bar}] {self.line(now)}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def step(self, text: str) -> None:
        """A step after the sending (counting, switching, cleaning up), on a line of its own; in plain lines only
        once the publish has run for ``LINE_EVERY`` seconds, so that a short publish says nothing but its result."""
        if self.stream is None or (not self.terminal and time.monotonic() - self.started < LINE_EVERY):
            return
        self._end_bar()
        print(f"{self.what}: {text}", file=self.stream, flush=True)

    def done(self) -> None:
        """The sending is over: the final figures, once."""
        if self.stream is None:
            return
        self.read = self.total
        if self.terminal:
            self._show(time.monotonic())
            self._end_bar()
        elif time.monotonic() - self.started >= LINE_EVERY:
            print(self.line(), file=self.stream, flush=True)

    def _end_bar(self) -> None:
        if self._drawn and self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def for_command_line(total_bytes: int) -> Progress:
    """What ``pfocr-rdf publish`` shows on standard error: a bar on a terminal, a line now and then otherwise."""
    return Progress(total_bytes, sys.stderr)
