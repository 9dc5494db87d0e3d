"""Dumps cut into request-sized batches of whole lines (or of parsed triples, when lines cannot be trusted),
counting the bytes read for the progress; a dump with blank nodes is refused, since batches would split them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, cast

import pyoxigraph as ox

from ..store.load import dump_format

if TYPE_CHECKING:
    pass
from .client import MAX_BATCH_BYTES, PublishError


class _Counting:
    """A binary file that tells how many bytes have been read from it, for the progress."""

    def __init__(self, path: str) -> None:
        self.raw = open(path, "rb")  # closed by the generator that reads it, in its finally
        self.done = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.done += len(data)
        return data

    def close(self) -> None:
        self.raw.close()


# A blank node as subject, or as object at the end of a line; a candidate line is parsed to be sure
_BLANK = re.compile(rb"(?m)^[ \t]*_:|[>\"'][ \t]+_:[A-Za-z0-9_.\-:]+[ \t]*\.[ \t]*\r?$")


def _blank_node(dump: str, text: bytes) -> None:
    if b"_:" not in text:  # a plain search first: the pattern is much slower, and most batches have no blank node
        return
    for match in _BLANK.finditer(text):
        start = text.rfind(b"\n", 0, match.start()) + 1
        end = text.find(b"\n", match.end())
        line = text[start:end if end >= 0 else len(text)]
        for quad in ox.parse(line, format=ox.RdfFormat.N_TRIPLES):
            if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
                raise PublishError(f"{dump}: a blank node in {quad}: batches are separate documents, so "
                                   "blank nodes cannot be published in parts; give it an IRI")


def batches(dumps: list[str], size: int, max_bytes: int = MAX_BATCH_BYTES) -> Iterator[tuple[bytes, int, int]]:
    """(N-Triples text of at most ``size`` triples and about ``max_bytes``, its triples, bytes of the dumps read so
    far) from dumps of any format, graph names dropped. N-Triples dumps pass through as they are, line by line (the
    store checks their syntax); other formats are parsed and written again."""
    before = 0
    for dump in dumps:
        reader = _Counting(dump)
        try:
            if dump_format(dump) == ox.RdfFormat.N_TRIPLES:
                yield from _lines(dump, reader, size, max_bytes, before)
            else:
                yield from _parsed(dump, reader, size, max_bytes, before)
        except SyntaxError as err:
            raise PublishError(f"{dump}: {err}") from None
        finally:
            before += reader.done
            reader.close()


# A line that may be no triple (blank, a comment) or may not start with one: such blocks go line by line. One
# literal character class after a line end, because a multi-line pattern is much slower.
_ODD_LINE = re.compile(rb"\n[\n\r\t #]")


def _lines(dump: str, reader: _Counting, size: int, max_bytes: int, before: int) -> Iterator[tuple[bytes, int, int]]:
    """Blocks of whole lines cut at line ends, without looking at each line: splitting six million lines one by one
    took as long as half of Virtuoso's bulk loader. Blocks holding a comment or a blank line go line by line."""
    rest = b""
    while True:
        block = reader.read(max(max_bytes - len(rest), 1 << 20))  # a line longer than a batch goes alone
        if not block:
            break
        text = rest + block
        cut = text.rfind(b"\n") + 1
        text, rest = text[:cut], text[cut:]
        if not text:
            continue
        _blank_node(dump, text)
        if _ODD_LINE.search(text) or text[:1] in b"\r\t #":
            yield from _line_by_line(text, size, max_bytes, before + reader.done)
            continue
        start = 0
        while start < len(text):
            end = start
            for _ in range(size):  # the end of the size-th line, or of the block
                end = text.find(b"\n", end) + 1
                if end == 0:
                    end = len(text)
                    break
                if end == len(text):
                    break
            piece = text[start:end]
            yield (piece if piece.endswith(b"\n") else piece + b"\n"), piece.count(b"\n") or 1, \
                before + reader.done
            start = end
    if rest.strip():
        _blank_node(dump, rest)
        yield from _line_by_line(rest + b"\n", size, max_bytes, before + reader.done)


def _line_by_line(text: bytes, size: int, max_bytes: int, read: int) -> Iterator[tuple[bytes, int, int]]:
    lines: list[bytes] = []
    length = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if not stripped or stripped.startswith(b"#"):
            continue
        if lines and (len(lines) == size or length + len(line) > max_bytes):
            yield b"".join(lines), len(lines), read
            lines, length = [], 0
        lines.append(line if line.endswith(b"\n") else line + b"\n")
        length += len(line)
    if lines:
        yield b"".join(lines), len(lines), read


def _parsed(dump: str, reader: _Counting, size: int, max_bytes: int, before: int) -> Iterator[tuple[bytes, int, int]]:
    lines: list[str] = []
    length = 0
    for quad in ox.parse(cast("IO[bytes]", reader), format=dump_format(dump)):  # reader reads as a binary file does
        if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
            raise PublishError(f"{dump}: a blank node in {quad}: batches are separate documents, so "
                               "blank nodes cannot be published in parts; give it an IRI")
        line = f"{quad.triple} .\n"
        if lines and (len(lines) == size or length + len(line) > max_bytes):
            yield "".join(lines).encode("utf-8"), len(lines), before + reader.done
            lines, length = [], 0
        lines.append(line)
        length += len(line)
    if lines:
        yield "".join(lines).encode("utf-8"), len(lines), before + reader.done
