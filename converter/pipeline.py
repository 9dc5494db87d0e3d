"""The conversion pipeline: records in, dumps, ``void.ttl`` and ``report.json`` out.

    >>> from converter import convert
    >>> report = convert(["examples/pfocr"], output="output")   # doctest: +SKIP
    >>> report.records_read == report.records_converted + report.records_rejected   # doctest: +SKIP
    True

Records stream through in figid order: each worker reads, normalises, maps and serialises one figure (or one
group of files sharing a figid) and the parent writes the results in order, so the dumps are byte-identical
whatever the number of workers or the order the inputs were given in.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import itertools
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from array import array
from collections import Counter, deque
from contextlib import ExitStack, closing, contextmanager
from dataclasses import asdict, dataclass, field
from itertools import groupby
from typing import IO, Iterable, Iterator, Sequence

from .build_index import IndexWriter, PreviousBuild
from .formats import CONTEXT_FILE, FILE_NAMES, FORMATS, rdf_format, spelled
from .identifiers import IRIStyle, registry
from .jsonlines import FigureLines
from .mapping import EntityIndex, entity_iri, figure_blocks, taxon_iri
from .model import Entity, Figure, Taxon, build_figure
from .sources import COMPANION_KINDS, RecordError, Source, iter_sources, peek_figid, read_record
from .validate import Evaluator, Result, ValidationError, ValidationReport, read_shapes
from .vocab import CONTEXT, GRAPH
from .void import void_turtle
from .worklist import WorkList
from .writers import DumpSet, atomic_write, context_text, encode, exclusive, named, serialize, sweep


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
    def of(cls, err: RecordError, figid: str | None = None) -> "Issue":
        return cls(err.file, err.field, err.reason, err.line, figid)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.reason}"


class Spool(Sequence):
    """A list that lives in an anonymous temporary file: a build lists every record it converted, and a hundred
    thousand of them held as dictionaries would be the largest thing in memory. Items are JSON values::

        >>> spool = Spool()
        >>> spool.extend([{"figid": "a"}, {"figid": "b"}])
        >>> len(spool), spool[-1], [item["figid"] for item in spool]
        (2, {'figid': 'b'}, ['a', 'b'])
    """

    def __init__(self, items: Iterable = ()) -> None:
        self._file = tempfile.TemporaryFile()
        self._ends = array("Q")  # where each item's line ends
        self._size = 0
        self.extend(items)

    def extend(self, items: Iterable) -> None:
        for item in items:  # the file stays at its end: items are read with pread
            line = json.dumps(item).encode("ascii") + b"\n"  # ASCII: lone surrogates escaped too
            self._file.write(line)
            self._size += len(line)
            self._ends.append(self._size)

    def append(self, item) -> None:
        self.extend([item])

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, n):
        if isinstance(n, slice):
            return [self[i] for i in range(*n.indices(len(self)))]
        n = range(len(self))[n]
        start = self._ends[n - 1] if n else 0
        self._file.flush()
        return json.loads(os.pread(self._file.fileno(), self._ends[n] - start, start))

    def __iter__(self) -> Iterator:
        self._file.flush()
        fd, at, rest = self._file.fileno(), 0, b""
        while at < self._size:  # with its own position: an item appended meanwhile comes too
            chunk = os.pread(fd, min(1 << 20, self._size - at), at)
            at += len(chunk)
            *lines, rest = (rest + chunk).split(b"\n")
            yield from map(json.loads, lines)

    def __eq__(self, other) -> bool:
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
    statistics: dict[str, object] = field(default_factory=dict)
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
        if not self.converted:
            data["converted"] = []
            yield json.dumps(data, ensure_ascii=False, indent=1) + "\n"
            return
        marker = secrets.token_hex(16)  # stands for the list, whose items are written one by one
        data["converted"] = [marker]
        head, tail = json.dumps(data, ensure_ascii=False, indent=1).split(f'  "{marker}"')
        yield head
        string = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) writes for a string
        for n, item in enumerate(self.converted):  # each as json.dumps(item, ensure_ascii=False, indent=1) would
            members = ",\n".join([f"   {string(k)}: {string(v)}" for k, v in item.items()])
            yield f"  {{\n{members}\n  }}" if n == 0 else f",\n  {{\n{members}\n  }}"
        yield tail + "\n"


@dataclass
class _Group:
    """One group of files sharing a figid, converted: what the parent writes, in order, and reports.

    ``items`` are ``("text", ranges, triples, results, links)``: bytes of each dump, ``(start, end)`` per format in a
    shard file a worker wrote (or, in the build index, in the dump of that build); and ``("shared", key, triples,
    text, results, links)``: a block several figures may share (an article, a journal), written by the first that
    has it. Its ``text`` is per format a ``(start, end)`` as for ``"text"`` or, in the build index for a figure that
    did not write it, the encoded bytes (always, for ``jsonl``: it is written inside lines, not alone). ``links``
    (with ``jsonl``, else None): what the block's ``jsonl`` text leaves for the parent to add. In the build index,
    entities and taxa are numbers into the index's tables.
    """

    key: str | None  # digest of the group's input files (None: not reusable by a later build)
    items: list = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (figid, file) of each converted record
    entities: list[tuple] = field(default_factory=list)  # each once, the fields of an Entity (its taxon's too)
    taxa: list[tuple] = field(default_factory=list)  # the fields of each Taxon
    links: Counter = field(default_factory=Counter)
    rejected: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


_OPTIONS: dict[str, object] = {}
# How a pfocr.jsonl line starts: its @context, a reference to the file beside it or a copy of it
_JSONL_CONTEXTS = {
    "file": lambda: '{"@context":' + json.dumps(CONTEXT_FILE) + ",",
    "inline": lambda: '{"@context":' + json.dumps(CONTEXT, ensure_ascii=False, separators=(",", ":")) + ",",
}
_OUTPUT_FILES = (*FILE_NAMES.values(), CONTEXT_FILE, "void.ttl", "report.json", "shacl-report.ttl")
_BUILD_DIR = ".pfocr-build"  # in the output folder: the last build's index, and the workers' shards meanwhile
_TASK_GROUPS = 32  # groups per worker task: each task writes one shard file per format
_WINDOW = 4  # tasks in flight per worker
_LOOKAHEAD = 4096  # groups read ahead of the one being written


def _layout_rank(fig: Figure) -> int:
    return 0 if fig.layout == "tsv" else 1  # the newer (TSV) layout supersedes the older one


def _convert_group(sources: Sequence[Source]) -> tuple[_Group, list]:
    """The group, and its blocks as (shared key or None, triple count, payload, validation results)."""
    formats = _OPTIONS["formats"]
    graph = _OPTIONS["graph"]
    group = _Group(None)
    blocks_out: list = []
    candidates: list[tuple[Figure, list[RecordError]]] = []
    for source in sources:
        try:
            candidates.append(build_figure(read_record(source)))
        except RecordError as err:
            group.rejected.append(Issue.of(err, peek_figid(source)))
    candidates.sort(key=lambda c: (c[0].figid, _layout_rank(c[0]), c[0].file))
    for figid, same in groupby(candidates, key=lambda c: c[0].figid):
        winner, *losers = list(same)
        fig, fig_warnings = winner
        for loser, _ in losers:
            group.rejected.append(Issue(loser.file, "figid", f"figid {figid} also in {fig.file}, which is kept "
                                        "(the newer TSV layout wins, then the first path in sorted order)", None,
                                        figid))
        group.warnings.extend(Issue.of(w, figid) for w in fig_warnings)
        blocks = figure_blocks(fig)
        checked = _check_blocks(fig, blocks) if _OPTIONS.get("evaluator") else {}
        # Each distinct form once: two rows may give one entity different kinds or cross-references, which the
        # parent's merge adds up (docs/mapping.md).
        entities = dict.fromkeys(m.entity for m in fig.mentions if m.entity)
        iris = {entity_iri(e): e for e in entities}
        linked = None
        if "jsonl" in formats:  # the nodes the parent writes into the figure's line (converter/jsonlines.py)
            linked = {block.key for block in blocks if block.key is not None}
            linked.update(iris, map(taxon_iri, (*fig.organisms, *fig.organisms_ner)))
        for block in blocks:
            payload = serialize(block.triples, formats, graph, linked,
                                _OPTIONS["jsonl_head"] if block.key is None else "{")
            blocks_out.append((block.key, len(block.triples), payload, checked.get(block.key, [])))
        group.figures.append((figid, fig.file))
        group.entities.extend(map(_plain_entity, entities))
        group.taxa.extend(map(tuple, (*fig.organisms, *fig.organisms_ner)))
        group.links.update(e.prefix for e in iris.values())  # a link per IRI
    return group, blocks_out


def _plain_entity(entity: Entity) -> tuple:
    """An entity as plain tuples, its taxon too, for the parent: unpickled in C, where a named tuple goes through
    its Python constructor (taxa travel as ``tuple(taxon)``)."""
    return (*entity[:4], entity.taxon and tuple(entity.taxon), entity.xrefs)


def _entity(fields: tuple) -> Entity:
    """The entity :func:`_plain_entity` made ``fields`` of."""
    return Entity(*fields[:4], fields[4] and Taxon(*fields[4]), fields[5])


def _check_blocks(fig: Figure, blocks: list) -> dict[str | None, list[Result]]:
    """Validate the nodes of a figure's blocks, with the figure's own entities and taxa as their context.

    Every shape is local to a node, its values and their types, so this gives the results a whole-graph run gives
    for these nodes; entities and taxa, merged across figures, are validated once at the end.
    """
    local = EntityIndex()
    local.add_figure(fig)
    closure = [t for block in blocks for t in block.triples]
    closure.extend(t for block in local.blocks() for t in block.triples)
    owner = {s: block.key for block in blocks for s, _, _ in block.triples}
    checked: dict[str | None, list[Result]] = {}
    for r in _OPTIONS["evaluator"].check(closure, list(owner)):
        checked.setdefault(owner[r.focus[1:-1]], []).append(r)
    return checked


def _input_key(sources: Sequence[Source], figids: Sequence[str | None] | None = None) -> str | None:
    """What the group reads, as make and git see files: the path, size and modification time of its pages and of
    the companion TSVs their figids (``peek_figid``, when not given) point to. A change to any of them (or a
    companion appearing) changes it."""
    parts = []
    try:
        for n, source in enumerate(sources):
            if source.text is not None:
                return None
            paths = [source.path]
            figid = figids[n] if figids is not None else peek_figid(source)
            if figid:
                paths += [p for kind in COMPANION_KINDS if (p := source.companion(figid, kind)) is not None]
            for path in paths:
                st = os.stat(path)
                parts.append(f"{path}\0{st.st_size}\0{st.st_mtime_ns}")
    except OSError:
        return None  # unreadable now: convert it, and let the reader report why
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _shard(number: int) -> str:
    """The shard files of task ``number`` are this path with each format's extension."""
    return os.path.join(_OPTIONS["shards"], f"{number:07d}")


def _convert_task(task: tuple[int, list[tuple[list[Source], str | None, str | None]]]) -> tuple[int, list[_Group]]:
    """Convert groups; their text goes to this task's shard files, one per format (worker side)."""
    number, groups = task
    formats = _OPTIONS["formats"]
    shard = _shard(number)
    out: list[_Group] = []
    files = {fmt: open(f"{shard}.{fmt}", "wb") for fmt in formats}
    sizes = dict.fromkeys(formats, 0)
    try:
        _write_groups(groups, formats, files, sizes, out)
        for fh in files.values():
            fh.flush()
    except OSError as err:
        raise named(err, os.path.dirname(shard)) from None
    finally:
        for fh in files.values():
            try:
                fh.close()
            except OSError:  # its text could not be written either: the error above says why
                pass
    return number, out


def _write_groups(groups: list[tuple[list[Source], str | None, str | None]], formats: list[str],
                  files: dict[str, IO[bytes]], sizes: dict[str, int], out: list[_Group]) -> None:
    """Convert ``groups`` into the shard ``files``, noting where each block's text sits (worker side)."""
    for sources, key, figid in groups:
        group, blocks = _convert_group(sources)
        peeked = [figid] * len(sources)  # the parent grouped them by it
        group.key = key if key is not None else _input_key(sources, peeked)
        converted = {figid for figid, _ in group.figures}
        if converted and any(figid not in converted for figid in peeked):
            group.key = None  # a figid line read differently than the front matter: no safe reuse
        for shared, count, payload, results in blocks:
            # shared blocks go to the shard too, so that the parent copies long runs (and skips a shared one
            # an earlier figure wrote)
            ranges = {}
            for fmt in formats:
                data = encode(fmt, payload[fmt])
                files[fmt].write(data)
                ranges[fmt] = (sizes[fmt], sizes[fmt] + len(data))
                sizes[fmt] += len(data)
            links = payload["jsonl"][1] if "jsonl" in payload else None
            group.items.append(("text", ranges, count, results, links) if shared is None
                               else ("shared", shared, count, ranges, results, links))
        out.append(group)


def _plan(work: WorkList, previous: PreviousBuild | None) -> Iterator[tuple[list[Source], str | None, str | None,
                                                                          int | None]]:
    """Each group of pages, in figid order: its pages, input key, figid, and where the last build's index has it
    (None: convert it)."""
    reusable = previous is not None and not previous.empty
    for sources, figid in work.groups():
        key = _input_key(sources, [figid] * len(sources)) if reusable else None
        yield sources, key, figid, previous.find(key) if key is not None else None


class _Later:
    """A task run when its result is asked for: the serial stand-in for a pool's ``AsyncResult``."""

    def __init__(self, task) -> None:
        self.task = task

    def get(self):
        return _convert_task(self.task)


def _schedule(plan: Iterator, jobs: int) -> Iterator[tuple]:
    """The plan's groups in order, each as ``("reuse", where, pages)`` or ``("new", task number, converted group,
    whether it is its task's last)``; the new ones converted in ``jobs`` worker processes.

    Groups to convert go to the workers in tasks of ``_TASK_GROUPS``, a window of tasks ahead of the group being
    yielded (imap would run ahead without bound, its results and their shard files piling up while the parent
    copies). At most ``_LOOKAHEAD`` groups are read ahead of it: a rebuild's long runs of reused groups stay on
    disk too. Both bounds keep memory and disk flat with corpus size."""
    import multiprocessing

    with ExitStack() as stack:
        pool = None

        def submit(task):
            nonlocal pool
            if pool is None:
                if jobs <= 1 or (exhausted and not tasks):  # one task in all (a record, or a small rebuild)
                    return _Later(task)
                pool = stack.enter_context(multiprocessing.get_context("fork").Pool(jobs))
                stack.enter_context(_collector_paused())
            return pool.apply_async(_convert_task, (task,))

        order: deque = deque()  # groups read from the plan and not yielded: (where, pages) or None (a task has it)
        tasks: deque = deque()  # tasks submitted and not yet taken
        batch: list = []  # the groups of the next task
        numbers = itertools.count()
        current: deque = deque()  # the converted groups of the task being yielded
        plan = iter(plan)
        exhausted = False

        def submit_batch() -> None:
            if batch:
                tasks.append(submit((next(numbers), batch.copy())))
                batch.clear()

        while True:
            while not exhausted and len(tasks) < _WINDOW * jobs and len(order) < _LOOKAHEAD:
                entry = next(plan, None)
                if entry is None:
                    exhausted = True
                    submit_batch()
                    break
                sources, key, figid, where = entry
                if where is not None:
                    order.append((where, len(sources)))
                    continue
                order.append(None)
                batch.append((sources, key, figid))
                if len(batch) >= _TASK_GROUPS:
                    submit_batch()
            if not order:
                return
            entry = order.popleft()
            if entry is not None:
                yield ("reuse", *entry)
                continue
            if not current:
                if not tasks:
                    submit_batch()  # the group is in the batch not yet sent: read-ahead stopped before it filled
                number, groups = tasks.popleft().get()
                current.extend(groups)
            group = current.popleft()
            yield "new", number, group, not current


@contextmanager
def _collector_paused() -> Iterator[None]:
    """While workers convert, the parent only adds small acyclic objects per record (figids, report lines, index
    entries): the cyclic garbage collector would find nothing, yet re-scan that growing state again and again
    (about a tenth of the parent's time at 20,000 records). Workers were forked before, with it running."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def _fingerprint(formats: list[str], iri_style: str, graph: str, validate: bool, shapes: list[str],
                 jsonl_context: str) -> str:
    """What a build's output depends on besides the records: this code, its data, the shapes, the options."""
    h = hashlib.sha256(repr((sorted(formats), iri_style, graph, validate, jsonl_context)).encode())
    package = os.path.dirname(os.path.abspath(__file__))
    if validate:
        from .shapes import shape_sources

        for name, text in shape_sources(shapes):
            h.update(name.encode() + b"\0" + text.encode())
    for root in (package, os.path.join(package, "data")):
        for name in sorted(os.listdir(root)):
            path = os.path.join(root, name)
            if os.path.isfile(path) and not name.endswith(".pyc"):
                with open(path, "rb") as fh:
                    h.update(name.encode() + b"\0" + fh.read())
    return h.hexdigest()


def _header(output: str, fingerprint: str, formats: list[str]) -> dict:
    """What a build index must say to describe the dumps in ``output`` now: their sizes and times, and what they
    were made with. Raises OSError when a dump is missing."""
    stamps = {}
    for fmt in formats:
        st = os.stat(os.path.join(output, FILE_NAMES[fmt]))
        stamps[fmt] = (st.st_size, st.st_mtime_ns)
    return {"fingerprint": fingerprint, "dumps": stamps}


def _previous(output: str, fingerprint: str, formats: list[str]) -> PreviousBuild | None:
    """The last build into ``output``, when its index still describes the dumps there; with those dumps open."""
    try:
        previous = PreviousBuild.open(os.path.join(output, _BUILD_DIR), _header(output, fingerprint, formats))
    except OSError:
        return None
    if previous is not None:
        try:
            for fmt in formats:
                previous.files[fmt] = open(os.path.join(output, FILE_NAMES[fmt]), "rb")
        except OSError:
            previous.close()
            return None
    return previous


def convert(
    paths: Iterable[str],
    output: str = "output",
    formats: Iterable[str] = FORMATS,
    *,
    iri_style: IRIStyle = "slash",
    graph: str = GRAPH,
    jobs: int | None = None,
    progress: bool = False,
    validate: bool = False,
    shapes: Sequence[str] = (),
    jsonl_context: str = "file",
    stdout=None,
) -> Report:
    """Convert PFOCR figure records to RDF dumps, ``void.ttl`` and ``report.json`` in ``output``.

    ``paths`` are PFOCR checkouts (folders with ``_figures/`` and ``_data/``), folders of figure pages, single
    ``.md`` files, or ``-`` for one record on standard input. ``output="-"`` streams the single format in
    ``formats`` to standard output and writes nothing else. ``validate=True`` checks every node against the SHACL
    shapes as it is written (``report.validation``; ``shacl-report.ttl`` in ``output``), with the shape files in
    ``shapes`` added to the built-in ones. Each line of ``pfocr.jsonl`` refers to ``context.jsonld`` beside it
    (``jsonl_context="file"``) or carries a copy of it (``"inline"``). Returns the :class:`Report`;
    raises :class:`ConvertError` when nothing can be converted at all (a missing path, no records).

    A rebuild into the same ``output`` converts only the records whose files changed: ``output/.pfocr-build``
    keeps an index of the last build, and the text of every unchanged record is copied from the last dumps. The
    dumps are byte-identical to a full build's; deleting that folder forces one.
    """
    started = time.perf_counter()
    try:
        formats = list(dict.fromkeys(rdf_format(f) for f in formats))
    except ValueError as err:
        raise ConvertError(str(err)) from None
    if not formats:
        raise ConvertError(f"no format given; choose from {spelled()}")
    if output == "-" and len(formats) != 1:
        raise ConvertError("'-o -' streams one format: pick it with --format (for example --format nt)")
    if iri_style not in ("slash", "colon"):
        raise ConvertError(f"unknown IRI style {iri_style!r}; choose slash or colon")
    if jsonl_context not in _JSONL_CONTEXTS:
        raise ConvertError(f"unknown JSON Lines context {jsonl_context!r}; choose file or inline")
    paths = list(paths)
    if not paths:
        raise ConvertError("no input given: name a PFOCR checkout, a folder of figure pages, .md files or -")
    for path in paths:
        if path != "-" and not os.path.exists(path):
            raise ConvertError(f"{path}: no such file or folder")
    shapes = list(shapes)
    try:
        evaluator = Evaluator(read_shapes(iri_style, shapes)) if validate else None
    except ValidationError as err:
        raise ConvertError(str(err)) from None

    registry.style = iri_style
    registry.namespaces  # read data/identifiers.json once, before worker processes fork
    with ExitStack() as stack:
        work = stack.enter_context(WorkList())
        problems: list[RecordError] = []
        try:
            for source in iter_sources(paths, problems):
                work.add(source, peek_figid(source))
        except RecordError as err:
            raise ConvertError(str(err)) from None
        report = Report()
        report.records_read = len(work)
        if not report.records_read:
            raise ConvertError(f"no figure records (*.md) found in {', '.join(paths)}")
        report.warnings.extend(Issue.of(p) for p in problems)
        fingerprint = _fingerprint(formats, iri_style, graph, validate, shapes, jsonl_context)
        if output != "-":
            os.makedirs(output, exist_ok=True)
            stack.enter_context(exclusive(os.path.join(output, _BUILD_DIR), "conversion", ConvertError))
            # what a killed build left: its shards and temporary dumps (safe to remove: the folder is ours now)
            sweep(output, [".pfocr-shards-*", *(f".{name}.*.tmp" for name in _OUTPUT_FILES)])
            sweep(os.path.join(output, _BUILD_DIR), [".index-*"])
        build = tempfile.mkdtemp(prefix=".pfocr-shards-", dir=output if output != "-" else None)
        stack.callback(shutil.rmtree, build, ignore_errors=True)
        previous = _previous(output, fingerprint, formats) if output != "-" else None
        if previous is not None:
            stack.callback(previous.close)
        index = IndexWriter(os.path.join(output, _BUILD_DIR)) if output != "-" else None
        try:
            _OPTIONS.update(formats=formats, graph=graph, shards=build, evaluator=evaluator,
                            jsonl_head=_JSONL_CONTEXTS[jsonl_context]())
            schedule = stack.enter_context(closing(_schedule(
                _plan(work, previous), jobs if jobs is not None else (os.cpu_count() or 1))))
            if progress:
                from tqdm import tqdm

                schedule = tqdm(schedule, total=work.group_count(), unit="figure", file=sys.stderr, leave=False)
            entities, taxa = _assemble(report, output, formats, graph, validate, work, schedule, previous, index,
                                       stdout)
            if index is not None:  # after the dumps, stamped with their sizes and times
                index.commit(_header(output, fingerprint, formats), entities, taxa)
        except BaseException:
            if index is not None:
                index.abort()
            raise
    report.seconds = time.perf_counter() - started
    if report.validation is not None:
        report.validation.seconds = report.seconds
    return report


def _assemble(report: Report, output: str, formats: list[str], graph: str, validate: bool, work: WorkList,
              schedule: Iterator, previous: PreviousBuild | None, index: IndexWriter | None,
              stdout) -> tuple[list[tuple], list[tuple]]:
    """Write the dumps in group order from reused and newly converted groups; fill ``report``; add each group to
    the index of this build (with ranges in the new dumps); returns the index's tables of entities and taxa."""
    entity_ids: dict[tuple, int] = {}  # the build index's tables: each distinct entity and taxon once
    taxon_ids: dict[tuple, int] = {}
    entities = EntityIndex()
    article_space = registry.namespace_iri("pmc")  # shared blocks keyed by it are articles
    articles = 0
    links: Counter = Counter()
    checked: list[Result] = []
    located: dict[str, str] = {}
    shard_files: dict = {}
    shard = None
    dumps = DumpSet(output, formats, graph, stdout=stdout)
    lines = FigureLines(entities, work) if "jsonl" in formats else None
    try:
        for event in schedule:
            if event[0] == "reuse":
                _, where, pages = event
                group, source = previous.group(where), previous.files
                report.reused += pages
                group = dataclasses.replace(group, entities=[previous.entities[n] for n in group.entities],
                                            taxa=[previous.taxa[n] for n in group.taxa])
            else:
                _, number, group, last = event
                if number != shard:
                    dumps.flush()  # copies from the shard files go out before they close
                    for fh in shard_files.values():
                        fh.close()
                    shard = number
                    base = _shard(number)
                    shard_files = {fmt: open(f"{base}.{fmt}", "rb") for fmt in formats}
                source = shard_files
                if last:
                    for fmt in formats:
                        os.unlink(f"{base}.{fmt}")  # read through the open handle; the space goes at close
            report.rejected.extend(group.rejected)
            report.warnings.extend(group.warnings)
            if not work.claim("figid", dict.fromkeys(figid for figid, _ in group.figures)):
                # only when a file's figid line was unusual enough to escape grouping
                for figid, file in group.figures:
                    report.rejected.append(Issue(file, "figid", f"figid {figid} seen in an earlier file, "
                                                 "which is kept", None, figid))
                continue
            report.converted.extend({"figid": figid, "file": file} for figid, file in group.figures)
            kept = _Group(group.key, [], group.figures, [], [], group.links, group.rejected, group.warnings)
            figure_links = None  # the figure's jsonl line is open until what it points to is added
            for item in group.items:
                if item[0] == "text":
                    _, ranges, count, results, node_links = item
                    written = {fmt: dumps.copy(fmt, source[fmt], *ranges[fmt]) for fmt in formats}
                    kept.items.append(("text", written, count, results, node_links))
                    figure_links = node_links
                else:
                    _, key, count, text, results, node_links = item
                    if not work.claim("shared", [key]):
                        # an earlier figure wrote it; keep this one's text for a later build
                        kept.items.append(("shared", key, count, _bytes(text, source), results, node_links))
                        continue
                    articles += key.startswith(article_space)
                    written = {fmt: dumps.copy(fmt, source[fmt], *where) if isinstance(where, tuple)
                               else dumps.put(fmt, where) for fmt, where in text.items() if fmt != "jsonl"}
                    if lines is not None:
                        written["jsonl"] = _bytes({"jsonl": text["jsonl"]}, source)["jsonl"]
                        lines.shared(key, written["jsonl"], node_links)
                    kept.items.append(("shared", key, count, written, results, node_links))
                report.triples += count
                checked.extend(results)
                located.update((r.focus, group.figures[0][0]) for r in results)
            for fields in group.entities:
                number = entity_ids.get(fields)
                if number is None:  # merging an entity seen in this form before changes nothing
                    number = entity_ids[fields] = len(entity_ids)
                    entity = _entity(fields)
                    if entities.add(entity) and lines is not None:
                        lines.changed(entity_iri(entity))
                    if validate:
                        located.setdefault(f"<{entity_iri(entity)}>", group.figures[0][0])
                kept.entities.append(number)
            for fields in group.taxa:
                number = taxon_ids.get(fields)
                if number is None:
                    number = taxon_ids[fields] = len(taxon_ids)
                    taxon = Taxon(*fields)
                    entities.add_taxon(taxon)
                    if validate:
                        located.setdefault(f"<{taxon_iri(taxon)}>", group.figures[0][0])
                kept.taxa.append(number)
            links.update(group.links)
            if lines is not None and figure_links is not None:
                dumps.put("jsonl", lines.tail(figure_links))
            if kept.key is not None and index is not None:
                index.add(kept.key, kept)
        entity_blocks = list(entities.blocks()) if validate else entities.blocks()
        node_formats = [fmt for fmt in formats if fmt != "jsonl"]  # lines embed the entities and taxa
        for block in entity_blocks:
            dumps.write(serialize(block.triples, node_formats, graph))
            report.triples += len(block.triples)
        if validate:
            closure = [t for block in entity_blocks for t in block.triples]
            checked.extend(_OPTIONS["evaluator"].check(closure, [b.key for b in entity_blocks]))
            report.validation = ValidationReport(sorted(set(checked)), "convert", located=located)
        dumps.flush()
        for fh in shard_files.values():
            fh.close()
    except BaseException:
        dumps.abort()
        raise
    report.records_converted = len(report.converted)
    report.records_rejected = len(report.rejected)
    kinds = Counter(kind for m in entities.entities.values() for kind in m.kinds)
    report.statistics = {
        "figures": report.records_converted,
        "articles": articles,
        "genes": kinds["gene"],
        "chemicals": kinds["chemical"],
        "diseases": kinds["disease"],
        "taxa": len(entities.taxa),
        "links": dict(sorted(links.items())),
    }
    report.rejected.sort(key=lambda i: (i.file, i.field))
    try:
        dumps.finish()
        if output != "-":
            report.outputs = {**{fmt: FILE_NAMES[fmt] for fmt in formats}, "void": "void.ttl",
                              "report": "report.json"}
            if {"jsonld", "jsonl"} & set(formats):
                report.outputs["context"] = CONTEXT_FILE
            digests = dumps.digests()
            void = void_turtle(report, {fmt: (FILE_NAMES[fmt], *digests[fmt]) for fmt in formats})
    except BaseException:
        dumps.abort()
        raise
    dumps.commit()
    if output != "-":
        if report.validation is not None:
            report.validation.figures = report.records_converted
            atomic_write(os.path.join(output, "shacl-report.ttl"), report.validation.to_turtle())
            report.outputs["validation"] = "shacl-report.ttl"
        if "context" in report.outputs:
            atomic_write(os.path.join(output, CONTEXT_FILE), context_text())
        atomic_write(os.path.join(output, "void.ttl"), void)
        atomic_write(os.path.join(output, "report.json"), report.json_chunks())
    return list(entity_ids), list(taxon_ids)


def _bytes(text: dict, source: dict) -> dict[str, bytes]:
    """A shared block's text as bytes, read back from ``source`` where it is a range there."""
    return {fmt: os.pread(source[fmt].fileno(), where[1] - where[0], where[0]) if isinstance(where, tuple) else where
            for fmt, where in text.items()}


__all__ = ["convert", "ConvertError", "Report", "Issue"]
