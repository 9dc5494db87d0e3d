"""What a worker process does: read a group of record files sharing a figid, build the figure, map it, check it
against the shapes, and write each dump's text of it to shard files; the parent gets back where each block's
text is."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import groupby
from typing import IO, Any, Literal

from ..files import named
from ..rdf.formats import CONTEXT_FILE, FILE_NAMES
from ..rdf.mapping import Block, EntityIndex, entity_iri, figure_blocks, taxon_iri
from ..rdf.terms import Link
from ..rdf.vocab import CONTEXT
from ..rdf.writers import Payload, encode, serialize
from ..records.identifiers import Registry, registry
from ..records.model import Entity, Figure, PlainEntity, Taxon, build_figure
from ..records.sources import COMPANION_KINDS, RecordError, Source, peek_figid, read_record
from ..validate import Evaluator, Result
from .report import Issue

_Range = tuple[int, int]  # where a block's text is in a file: [start, end)
_TextItem = tuple[Literal["text"], dict[str, _Range], int, list[Result], list[Link] | None]
_SharedItem = tuple[Literal["shared"], str, int, Mapping[str, _Range | bytes], list[Result], list[Link] | None]
_Item = _TextItem | _SharedItem


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
    items: list[_Item] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (figid, file) of each converted record
    # each once, the fields of an Entity, its taxon's too (a PlainEntity); in the build index, numbers (int)
    entities: list[Any] = field(default_factory=list)
    taxa: list[Any] = field(default_factory=list)  # the fields of each Taxon (a PlainTaxon); in the index, numbers
    links: Counter[str] = field(default_factory=Counter)
    rejected: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


@dataclass(frozen=True)
class Settings:
    """The settings of a conversion, handed to each worker process as it starts (:func:`configure`)."""

    formats: tuple[str, ...]
    graph: str
    shards: str  # the folder of the workers' shard files
    evaluator: Evaluator | None  # the shapes, when the conversion validates
    jsonl_head: str  # how a pfocr.jsonl line starts
    ids: Registry  # mints identifiers.org IRIs in the conversion's style


_SETTINGS = Settings((), "", "", None, "", registry)  # this process's: set by configure() before any task runs


def configure(settings: Settings) -> None:
    """Give this process the conversion's settings: a pool's initializer, and the parent's for serial tasks."""
    global _SETTINGS
    _SETTINGS = settings

_Block = tuple[str | None, int, Payload, list[Result]]  # a block converted: shared key, triples, text, results
_Planned = tuple[list[Source], str | None, str | None]  # pages of a group to convert, input key, figid
_Task = tuple[int, list[_Planned]]
_TaskResult = tuple[int, list[_Group]]


# What _schedule yields for each group: reused from the last build, or newly converted
@dataclass(frozen=True, slots=True)
class Reused:
    """A group the last build wrote, unchanged: where its text starts in that build's dumps, and its pages."""

    where: int
    pages: int


@dataclass(frozen=True, slots=True)
class Converted:
    """A group a task converted: the task's number, the group, and whether it is the task's last."""

    number: int
    group: _Group
    last: bool


_Event = Reused | Converted
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


def _convert_group(sources: Sequence[Source]) -> tuple[_Group, list[_Block]]:
    """The group, and its blocks as (shared key or None, triple count, payload, validation results)."""
    formats = _SETTINGS.formats
    graph = _SETTINGS.graph
    group = _Group(None)
    blocks_out: list[_Block] = []
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
        ids = _SETTINGS.ids
        blocks = figure_blocks(fig, ids)
        checked = _check_blocks(fig, blocks) if _SETTINGS.evaluator else {}
        # Each distinct form once: two rows may give one entity different kinds or cross-references, which the
        # parent's merge adds up (docs/mapping.md).
        entities = dict.fromkeys(m.entity for m in fig.mentions if m.entity)
        iris = {entity_iri(ids, e): e for e in entities}
        linked = None
        if "jsonl" in formats:  # the nodes the parent writes into the figure's line (converter/rdf/jsonlines.py)
            linked = {block.key for block in blocks if block.key is not None}
            linked.update(iris, (taxon_iri(ids, t) for t in (*fig.organisms, *fig.organisms_ner)))
        for block in blocks:
            payload = serialize(block.triples, formats, graph, linked,
                                _SETTINGS.jsonl_head if block.key is None else "{")
            blocks_out.append((block.key, len(block.triples), payload, checked.get(block.key, [])))
        group.figures.append((figid, fig.file))
        group.entities.extend(map(_plain_entity, entities))
        group.taxa.extend(map(tuple, (*fig.organisms, *fig.organisms_ner)))
        group.links.update(e.prefix for e in iris.values())  # a link per IRI
    return group, blocks_out


def _plain_entity(entity: Entity) -> PlainEntity:
    """An entity as plain tuples, its taxon too, for the parent: unpickled in C, where a named tuple goes through
    its Python constructor (taxa travel as plain tuples too)."""
    return (*entity[:4], entity.taxon and (*entity.taxon,), entity.xrefs)


def _entity(fields: PlainEntity) -> Entity:
    """The entity :func:`_plain_entity` made ``fields`` of."""
    return Entity(*fields[:4], fields[4] and Taxon(*fields[4]), fields[5])


def _check_blocks(fig: Figure, blocks: list[Block]) -> dict[str | None, list[Result]]:
    """Validate the nodes of a figure's blocks, with the figure's own entities and taxa as their context.

    Every shape is local to a node, its values and their types, so this gives the results a whole-graph run gives
    for these nodes; entities and taxa, merged across figures, are validated once at the end.
    """
    local = EntityIndex(_SETTINGS.ids)
    local.add_figure(fig)
    closure = [t for block in blocks for t in block.triples]
    closure.extend(t for block in local.blocks() for t in block.triples)
    owner = {s: block.key for block in blocks for s, _, _ in block.triples}
    checked: dict[str | None, list[Result]] = {}
    evaluator = _SETTINGS.evaluator
    assert evaluator is not None  # checked only when validating
    for r in evaluator.check(closure, list(owner)):
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
    return os.path.join(_SETTINGS.shards, f"{number:07d}")


def _convert_task(task: _Task) -> _TaskResult:
    """Convert groups; their text goes to this task's shard files, one per format (worker side)."""
    number, groups = task
    formats = _SETTINGS.formats
    shard = _shard(number)
    out: list[_Group] = []
    files: dict[str, IO[bytes]] = {fmt: open(f"{shard}.{fmt}", "wb") for fmt in formats}
    sizes = dict.fromkeys(formats, 0)
    try:
        _write_groups(groups, formats, files, sizes, out)
        for fh in files.values():
            fh.flush()
    except OSError as err:
        raise named(err, os.path.dirname(shard)) from None
    finally:
        for fh in files.values():
            with suppress(OSError):  # its text could not be written either: the error above says why
                fh.close()
    return number, out


def _write_groups(groups: list[_Planned], formats: Sequence[str],
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
            ranges: dict[str, _Range] = {}
            for fmt in formats:
                data = encode(fmt, payload[fmt])
                files[fmt].write(data)
                ranges[fmt] = (sizes[fmt], sizes[fmt] + len(data))
                sizes[fmt] += len(data)
            links = payload["jsonl"][1] if "jsonl" in payload else None
            group.items.append(("text", ranges, count, results, links) if shared is None
                               else ("shared", shared, count, ranges, results, links))
        out.append(group)
