"""Records in: find figure pages and their companion TSVs, split and parse the YAML front matter.

Nothing here knows about RDF. A figure page becomes a :class:`RawRecord`: the front matter as PyYAML's safe
loader returns it (read by :mod:`.yaml_subset` where it can), plus the rows of any companion TSV
(``_data/<figid>-genes.tsv`` and friends)::

    >>> from converter.records.sources import discover, read_record
    >>> sources = discover(["examples/pfocr"])            # doctest: +SKIP
    >>> raw = read_record(sources[0])                      # doctest: +SKIP
    >>> raw.front_matter["figid"]                          # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..records import yaml_subset

COMPANION_KINDS = ("genes", "chemicals", "diseases")
STDIN = "-"


class RecordError(Exception):
    """A record that cannot be converted: names the file, the field and the reason."""

    def __init__(self, file: str, field: str, reason: str, line: int | None = None) -> None:
        super().__init__(f"{file}{f':{line}' if line else ''}: {field}: {reason}")
        self.file, self.field, self.reason, self.line = file, field, reason, line


@dataclass(frozen=True, order=True, slots=True)  # one per page, all held while the pages are sorted
class Source:
    """One figure page on disk (or standard input) and where its companion TSVs would be."""

    path: str
    data_dirs: tuple[str, ...] = ()
    text: str | None = field(default=None, compare=False, repr=False)  # only for standard input

    def __reduce__(self) -> tuple[type[Source], tuple[str, tuple[str, ...], str | None]]:
        # sent to worker processes: mypyc's default unpickling sets fields one by one, which frozen refuses
        return Source, (self.path, self.data_dirs, self.text)

    def companion(self, figid: str, kind: str) -> str | None:
        for folder in self.data_dirs:
            candidate = os.path.join(folder, f"{figid}-{kind}.tsv")
            if os.path.isfile(candidate):
                return candidate
        return None


# A YAML mapping, keys and values as PyYAML reads them (the keys mostly text, the values any YAML value)
FrontMatter = dict[Any, Any]


@dataclass
class RawRecord:
    """A figure page as read: front matter mapping and companion TSV rows, untouched."""

    source: Source
    front_matter: FrontMatter
    companions: dict[str, Table] = field(default_factory=dict)
    warnings: list[RecordError] = field(default_factory=list)


def discover(paths: list[str]) -> tuple[list[Source], list[RecordError]]:
    """Every figure page under ``paths``, sorted, each with its companion folders; plus unusable paths.

    A folder holding ``_figures/`` is a PFOCR checkout: its pages are ``_figures/*.md``, companions in ``_data/``.
    Any other folder is searched recursively for ``*.md``. ``-`` is one record on standard input.
    """
    problems: list[RecordError] = []
    found = {source.path: source for source in iter_sources(paths, problems)}
    return sorted(found.values(), key=lambda s: s.path), problems


def iter_sources(paths: list[str], problems: list[RecordError]) -> Iterator[Source]:
    """The pages :func:`discover` finds, one at a time as they are found (a page given twice comes twice), adding
    unusable paths to ``problems``."""
    folders: dict[Path, tuple[str, ...]] = {}  # the companion folders of each folder, looked up once
    for given in paths:
        if given == STDIN:
            import sys

            data = sys.stdin.buffer.read()
            yield Source(STDIN, (), _decode(data, STDIN))
            continue
        path = Path(given)
        if path.is_file():
            yield _source_for(path, folders)
        elif path.is_dir():
            root = path / "_figures" if (path / "_figures").is_dir() else path
            for page in _walk_md(root, problems):
                yield _source_for(page, folders)
        elif path.exists():
            problems.append(RecordError(given, "path", "not a regular file or a folder"))
        else:
            problems.append(RecordError(given, "path", "no such file or folder"))


def _walk_md(root: Path, problems: list[RecordError]) -> Iterator[Path]:
    seen: set[tuple[int, int]] = set()

    def onerror(err: OSError) -> None:
        problems.append(RecordError(str(err.filename), "path", f"cannot list folder: {err.strerror}"))

    for folder, dirs, files in os.walk(root, onerror=onerror, followlinks=True):
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen:  # a symlink loop: each folder once
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirs.sort()
        yield from (Path(folder) / f for f in sorted(files) if f.endswith(".md"))


def _source_for(page: Path, folders: dict[Path, tuple[str, ...]]) -> Source:
    folder = page.parent
    data_dirs = folders.get(folder)
    if data_dirs is None:
        candidates = [folder.parent / "_data"] if folder.name == "_figures" else [folder / "_data", folder]
        data_dirs = folders[folder] = tuple(str(c) for c in candidates if c.is_dir())
    return Source(str(page), data_dirs)


def _decode(data: bytes, file: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise RecordError(file, "file", f"invalid UTF-8 at byte {err.start}", line) from None


def read_text(source: Source) -> str:
    if source.text is not None:
        return source.text
    return _decode(_read_regular(source.path), source.path)


_FENCE = re.compile(r"^---[ \t]*\r?$", re.M)


def split_front_matter(text: str, file: str) -> str:
    """The YAML between the opening and closing ``---`` lines."""
    if not text.startswith("---"):
        raise RecordError(file, "front matter", "file does not start with a '---' front matter line", 1)
    first = _FENCE.match(text)
    if first is None:
        raise RecordError(file, "front matter", "first line is not '---'", 1)
    closing = _FENCE.search(text, first.end())
    if closing is None:
        raise RecordError(file, "front matter", "front matter is not closed by a '---' line")
    return text[first.end() : closing.start()]


def type_name(value: object) -> str:
    """What a YAML value is, in a message: "a list", "a mapping", "text", "a number"..."""
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number", float: "a number",
            str: "text", type(None): "nothing"}.get(type(value), f"a {type(value).__name__}")


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # never constructs objects from tags

def parse_yaml(text: str, file: str) -> FrontMatter:
    """The front matter as a mapping: what PyYAML's safe loader gives, read by :mod:`.yaml_subset` when the text
    is in the block YAML PFOCR writes, else by PyYAML."""
    fast = yaml_subset.load(text)
    if fast is not None:
        return fast
    try:
        value = yaml.load(text, Loader=_SafeLoader)  # a safe loader
    except yaml.MarkedYAMLError as err:
        # the YAML text starts with the rest of the '---' line: its line n (0-based) is the page's line n + 1
        line = err.problem_mark.line + 1 if err.problem_mark else None
        reason = f"invalid YAML: {err.problem or err}"
        if err.context and err.context_mark and err.context_mark.line + 1 != line:
            reason += f" ({err.context} on line {err.context_mark.line + 1})"
        raise RecordError(file, "front matter", reason, line) from None
    except (yaml.YAMLError, RecursionError) as err:
        raise RecordError(file, "front matter", f"invalid YAML: {err}") from None
    except ValueError as err:  # a scalar YAML 1.1 takes for a number or date but cannot build: 0x_, 2001-02-30
        raise RecordError(file, "front matter", f"invalid YAML value: {err}") from None
    if not isinstance(value, dict):
        kind = "empty" if value is None else type_name(value)
        raise RecordError(file, "front matter", f"front matter is {kind}, not a mapping of fields")
    return value


# A figid line as PFOCR writes it: a plain scalar starting with a letter, which YAML reads as that very text unless
# it is one of YAML 1.1's words for booleans and null.
_PLAIN_FIGID = re.compile(r"figid:[ \t]+([A-Za-z][A-Za-z0-9._-]*)[ \t]*\r?$")
_YAML_WORDS = frozenset("y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF null Null "
                        "NULL".split())
_FIGID_LINE = re.compile(r"""^(?:figid|'figid'|"figid")[ \t]*:.*$""", re.M)


def peek_figid(source: Source) -> str | None:
    """The figid of a page from its figid line alone, without parsing the rest (None when not found)."""
    try:
        text = source.text if source.text is not None else _head(source.path)
    except OSError:
        return None
    match = _FIGID_LINE.search(text)
    if match is None:
        return None
    plain = _PLAIN_FIGID.match(match.group())
    if plain is not None and plain.group(1) not in _YAML_WORDS:
        return plain.group(1)  # what the YAML parser would give, without its start-up cost per call
    try:
        value = yaml.load(match.group(), Loader=_SafeLoader)  # a safe loader
    except yaml.YAMLError:
        return None
    figid = value.get("figid") if isinstance(value, dict) else None
    return figid if isinstance(figid, str) else None


def _head(path: str, size: int = 1 << 16) -> str:
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(f"{path}: not a regular file")
    with open(path, "rb") as fh:
        return fh.read(size).decode("utf-8", "replace")


@dataclass
class Table:
    """A companion TSV: its header, its rows keyed by the header (column order does not matter), and the rows it
    could not read (each a :class:`RecordError` naming the line)."""

    path: str
    header: list[str]
    rows: list[dict[str, str]]
    problems: list[RecordError] = field(default_factory=list)


def read_tsv(path: str) -> Table:
    """A companion TSV. A row whose number of cells differs from the header's is left out and reported; the
    other rows are kept."""
    text = _decode(_read_regular(path), path)
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    lines = list(reader)
    if not lines:
        return Table(path, [], [])
    table = Table(path, [h.strip() for h in lines[0]], [])
    for number, row in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(table.header):
            table.problems.append(RecordError(path, "row", f"has {len(row)} cells, the header has "
                                                           f"{len(table.header)}; row ignored", number))
            continue
        table.rows.append(dict(zip(table.header, row)))
    return table


def _read_regular(path: str) -> bytes:
    """The bytes of a regular file; a FIFO, device or folder is refused before it is opened (reading a FIFO would
    wait forever)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise RecordError(path, "file", "not a regular file")
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as err:
        raise RecordError(path, "file", f"cannot read: {err.strerror}") from None


def read_record(source: Source) -> RawRecord:
    """Read and parse one figure page and its companion TSVs; raises :class:`RecordError`."""
    text = read_text(source)
    front = parse_yaml(split_front_matter(text, source.path), source.path)
    record = RawRecord(source, front)
    figid = front.get("figid")
    if isinstance(figid, str) and figid and "/" not in figid and os.sep not in figid:
        for kind in COMPANION_KINDS:
            path = source.companion(figid, kind)
            if path is None:
                continue
            try:
                table = read_tsv(path)
            except RecordError as err:
                record.warnings.append(err)
                continue
            record.companions[kind] = table
            record.warnings.extend(table.problems)
    return record
