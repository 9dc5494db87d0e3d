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
import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack, closing
from typing import IO, cast

from ..files import atomic_write, exclusive, sweep
from ..rdf.formats import CONTEXT_FILE, FILE_NAMES, FORMATS, rdf_format, spelled
from ..rdf.jsonlines import FigureLines
from ..rdf.mapping import EntityIndex, entity_iri, taxon_iri
from ..rdf.vocab import GRAPH
from ..rdf.void import void_turtle
from ..rdf.writers import DumpSet, context_text, serialize
from ..records.identifiers import IRIStyle, Registry
from ..records.model import PlainEntity, PlainTaxon, Taxon
from ..records.sources import RecordError, iter_sources, peek_figid
from ..validate import Evaluator, Result, ValidationError, ValidationReport, read_shapes
from .index import Header, IndexWriter, PreviousBuild
from .report import ConvertError, Issue, Report
from .schedule import _plan, _schedule
from .tasks import (
    _BUILD_DIR,
    _JSONL_CONTEXTS,
    _OUTPUT_FILES,
    Reused,
    Settings,
    _entity,
    _Event,
    _Group,
    _Range,
    _shard,
    configure,
)
from .worklist import WorkList


def _fingerprint(formats: list[str], iri_style: str, graph: str, validate: bool, shapes: list[str],
                 jsonl_context: str) -> str:
    """What a build's output depends on besides the records: this code, its data, the shapes, the options."""
    h = hashlib.sha256(repr((sorted(formats), iri_style, graph, validate, jsonl_context)).encode())
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if validate:
        from ..validate.sources import shape_sources

        for name, text in shape_sources(shapes):
            h.update(name.encode() + b"\0" + text.encode())
    for root, folders, names in sorted(os.walk(package)):  # the code of every layer and its data; not the web assets
        folders[:] = sorted(f for f in folders if f not in ("static", "templates", "__pycache__"))
        for name in sorted(names):
            if not name.endswith(".pyc"):
                with open(os.path.join(root, name), "rb") as fh:
                    h.update(os.path.relpath(os.path.join(root, name), package).encode() + b"\0" + fh.read())
    return h.hexdigest()


def _header(output: str, fingerprint: str, formats: list[str]) -> Header:
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
    stdout: IO[bytes] | None = None,
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

    ids = Registry(iri_style)
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
            settings = Settings(tuple(formats), graph, build, evaluator, _JSONL_CONTEXTS[jsonl_context](), ids)
            configure(settings)  # for the tasks this process runs itself
            schedule: Iterable[_Event] = stack.enter_context(closing(_schedule(
                _plan(work, previous), jobs if jobs is not None else (os.cpu_count() or 1), settings)))
            if progress:
                from tqdm import tqdm

                schedule = tqdm(schedule, total=work.group_count(), unit="figure", file=sys.stderr, leave=False)
            entities, taxa = _assemble(report, output, settings, work, schedule, previous, index, stdout)
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


def _assemble(report: Report, output: str, settings: Settings, work: WorkList, schedule: Iterable[_Event],
              previous: PreviousBuild | None, index: IndexWriter | None,
              stdout: IO[bytes] | None) -> tuple[list[PlainEntity], list[PlainTaxon]]:
    """Write the dumps in group order from reused and newly converted groups; fill ``report``; add each group to
    the index of this build (with ranges in the new dumps); returns the index's tables of entities and taxa."""
    entity_ids: dict[PlainEntity, int] = {}  # the build index's tables: each distinct entity and taxon once
    taxon_ids: dict[PlainTaxon, int] = {}
    formats, graph, evaluator, ids = list(settings.formats), settings.graph, settings.evaluator, settings.ids
    validate = evaluator is not None
    entities = EntityIndex(ids)
    article_space = ids.namespace_iri("pmc")  # shared blocks keyed by it are articles
    articles = 0
    links: Counter[str] = Counter()
    checked: list[Result] = []
    located: dict[str, str] = {}
    shard_files: dict[str, IO[bytes]] = {}
    source: Mapping[str, IO[bytes]]
    shard = None
    dumps = DumpSet(output, formats, graph, stdout=stdout)
    lines = FigureLines(entities, work) if "jsonl" in formats else None
    try:
        for event in schedule:
            if isinstance(event, Reused):
                where, pages = event.where, event.pages
                assert previous is not None  # what it reuses
                group, source = previous.group(where), previous.files
                report.reused += pages
                group = dataclasses.replace(group, entities=[previous.entities[n] for n in group.entities],
                                            taxa=[previous.taxa[n] for n in group.taxa])
            else:
                number, group, last = event.number, event.group, event.last
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
                    shared: dict[str, _Range | bytes] = {
                        fmt: dumps.copy(fmt, source[fmt], *where) if isinstance(where, tuple)
                        else dumps.put(fmt, where) for fmt, where in text.items() if fmt != "jsonl"}
                    if lines is not None:
                        jsonl = shared["jsonl"] = _bytes({"jsonl": text["jsonl"]}, source)["jsonl"]
                        assert node_links is not None  # made with jsonl
                        lines.shared(key, jsonl, node_links)
                    kept.items.append(("shared", key, count, shared, results, node_links))
                report.triples += count
                checked.extend(results)
                located.update((r.focus, group.figures[0][0]) for r in results)
            for fields in group.entities:
                ref = entity_ids.get(fields)
                if ref is None:  # merging an entity seen in this form before changes nothing
                    ref = entity_ids[fields] = len(entity_ids)
                    entity = _entity(fields)
                    if entities.add(entity) and lines is not None:
                        lines.changed(entity_iri(ids, entity))
                    if validate:
                        located.setdefault(f"<{entity_iri(ids, entity)}>", group.figures[0][0])
                kept.entities.append(ref)
            for fields in group.taxa:
                ref = taxon_ids.get(fields)
                if ref is None:
                    ref = taxon_ids[fields] = len(taxon_ids)
                    taxon = Taxon(*fields)
                    entities.add_taxon(taxon)
                    if validate:
                        located.setdefault(f"<{taxon_iri(ids, taxon)}>", group.figures[0][0])
                kept.taxa.append(ref)
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
        if evaluator is not None:
            closure = [t for block in entity_blocks for t in block.triples]
            checked.extend(evaluator.check(closure, [cast("str", b.key) for b in entity_blocks]))  # keyed by IRI
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
            void = void_turtle(report, {fmt: (FILE_NAMES[fmt], *digests[fmt]) for fmt in formats}, ids)
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


def _bytes(text: Mapping[str, _Range | bytes], source: Mapping[str, IO[bytes]]) -> dict[str, bytes]:
    """A shared block's text as bytes, read back from ``source`` where it is a range there."""
    return {fmt: os.pread(source[fmt].fileno(), where[1] - where[0], where[0]) if isinstance(where, tuple) else where
            for fmt, where in text.items()}


__all__ = ["ConvertError", "Issue", "Report", "convert"]
