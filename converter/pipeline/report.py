"""What a conversion reports: its counts, the rejected records and the warnings, each located (file, field,
reason), kept on disk past a bound so that memory stays flat, and written out as ``report.json``."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, overload

from ..rdf.void import Statistics
from ..records.sources import RecordError
from ..validate import ValidationReport


class ConvertError(Exception):
    """A usage or input problem that stops the whole conversion (no dumps are replaced)."""


@dataclass
class Issue:
    """One rejected record or one warning, located."""

    file: str
    field: str
    reason: str
    line: int | None = None
    figid: str | None = None

    @classmethod
    def of(cls, err: RecordError, figid: str | None = None) -> Issue:
        return cls(err.file, err.field, err.reason, err.line, figid)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.reason}"


class Spool(Sequence[Any]):
    """A list that lives in an anonymous temporary file: a build lists every record it converted, and a hundred
    thousand of them held as dictionaries would be the largest thing in memory. Items are JSON values::

        >>> spool = Spool()
        >>> spool.extend([{"figid": "a"}, {"figid": "b"}])
        >>> len(spool), spool[-1], [item["figid"] for item in spool]
        (2, {'figid': 'b'}, ['a', 'b'])
    """

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._file = tempfile.TemporaryFile()
        self._ends = array("Q")  # where each item's line ends
        self._size = 0
        self.extend(items)

    def extend(self, items: Iterable[Any]) -> None:
        for item in items:  # the file stays at its end: items are read with pread
            line = json.dumps(item).encode("ascii") + b"\n"  # ASCII: lone surrogates escaped too
            self._file.write(line)
            self._size += len(line)
            self._ends.append(self._size)

    def append(self, item: Any) -> None:
        self.extend([item])

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, n: int) -> Any: ...
    @overload
    def __getitem__(self, n: slice) -> list[Any]: ...

    def __getitem__(self, n: int | slice) -> Any:
        if isinstance(n, slice):
            return [self[i] for i in range(*n.indices(len(self)))]
        n = range(len(self))[n]
        start = self._ends[n - 1] if n else 0
        self._file.flush()
        return json.loads(os.pread(self._file.fileno(), self._ends[n] - start, start))

    def __iter__(self) -> Iterator[Any]:
        self._file.flush()
        fd, at, rest = self._file.fileno(), 0, b""
        while at < self._size:  # with its own position: an item appended meanwhile comes too
            chunk = os.pread(fd, min(1 << 20, self._size - at), at)
            at += len(chunk)
            *lines, rest = (rest + chunk).split(b"\n")
            yield from map(json.loads, lines)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Spool({list(self)!r})"


@dataclass
class Report:
    """What a conversion did. ``records_read == records_converted + records_rejected`` always holds."""

    records_read: int = 0
    records_converted: int = 0
    records_rejected: int = 0
    triples: int = 0
    seconds: float = 0.0
    reused: int = 0  # records whose text came from the last build (not in report.json: a rebuild's is a full one's)
    outputs: dict[str, str] = field(default_factory=dict)
    rejected: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    converted: Spool = field(default_factory=Spool)  # figid and source file of each figure
    statistics: Statistics = field(default_factory=Statistics)
    validation: ValidationReport | None = None

    def summary(self) -> str:
        reused = f" ({self.reused} unchanged since the last build)" if self.reused else ""
        return (f"{self.records_read} records read: {self.records_converted} converted, "
                f"{self.records_rejected} rejected{reused}; {self.triples} triples; {len(self.warnings)} warnings; "
                f"{self.seconds:.1f} s")

    def to_json(self) -> str:
        return "".join(self.json_chunks())

    def json_chunks(self) -> Iterator[str]:
        """The text of ``report.json`` in pieces: the list of converted records, a line per record, is written
        from its spool one record at a time."""
        # deterministic like the dumps: no timing (it is in the summary line)
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in ("seconds", "reused", "validation")}
        data["rejected"] = [asdict(issue) for issue in self.rejected]
        data["warnings"] = [asdict(issue) for issue in self.warnings]
        if self.validation is not None:
            data["validation"] = {"violations": self.validation.count("Violation"),
                                  "warnings": self.validation.count("Warning"), "report": "shacl-report.ttl"}
        data["converted"] = _Streamed(self.converted)
        yield from json.JSONEncoder(ensure_ascii=False, indent=1).iterencode(data)
        yield "\n"


class _Streamed(list[Any]):
    """The converted records, a list to the JSON encoder, read from their spool one at a time (the encoder that
    indents asks a list only its length and its items)."""

    def __init__(self, items: Sequence[Any]) -> None:
        super().__init__()
        self._items = items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)
