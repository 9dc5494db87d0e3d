"""The conversion pipeline: records in, dumps, ``void.ttl`` and ``report.json`` out.

    >>> from converter import convert
    >>> report = convert(["examples/pfocr"], output="output")   # doctest: +SKIP
    >>> report.records_read == report.records_converted + report.records_rejected
    True

Records stream through in figid order: each worker reads, normalises, maps and serialises one figure (or one
group of files sharing a figid) and the parent writes the results in order, so the dumps are byte-identical
whatever the number of workers or the order the inputs were given in.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from itertools import groupby
from typing import Iterable, Iterator, Sequence

from .identifiers import IRIStyle, registry
from .mapping import EntityIndex, entity_iri, figure_blocks, taxon_iri
from .model import Entity, Figure, Taxon, build_figure
from .sources import RecordError, Source, discover, peek_figid, read_record
from .validation import Evaluator, Result, ValidationReport, read_shapes
from .vocab import GRAPH
from .void import void_turtle
from .writers import FILE_NAMES, FORMATS, DumpSet, atomic_write, serialize


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


@dataclass
class Report:
    """What a conversion did. ``records_read == records_converted + records_rejected`` always holds."""

    records_read: int = 0
    records_converted: int = 0
    records_rejected: int = 0
    triples: int = 0
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    rejected: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    converted: list[dict[str, str]] = field(default_factory=list)  # figid and source file of each figure
    statistics: dict[str, object] = field(default_factory=dict)
    validation: ValidationReport | None = None

    def summary(self) -> str:
        return (f"{self.records_read} records read: {self.records_converted} converted, "
                f"{self.records_rejected} rejected; {self.triples} triples; {len(self.warnings)} warnings; "
                f"{self.seconds:.1f} s")

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("seconds")  # the report is deterministic like the dumps; timing is in the summary line
        validation = data.pop("validation")
        if validation is not None:
            data["validation"] = {"violations": self.validation.count("Violation"),
                                  "warnings": self.validation.count("Warning"), "report": "shacl-report.ttl"}
        return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


@dataclass
class _Result:
    """What a worker sends back for one group of files sharing a figid."""

    blocks: list[tuple[str | None, int, dict]]
    figures: list[tuple[str, str]]  # (figid, file) of the converted record
    entities: list[Entity]
    taxa: list[Taxon]
    links: Counter
    rejected: list[Issue]
    warnings: list[Issue]


_OPTIONS: dict[str, object] = {}


def _layout_rank(fig: Figure) -> int:
    return 0 if fig.layout == "tsv" else 1  # the newer (TSV) layout supersedes the older one


def _convert_group(sources: Sequence[Source]) -> _Result:
    formats = _OPTIONS["formats"]
    graph = _OPTIONS["graph"]
    rejected: list[Issue] = []
    warnings: list[Issue] = []
    candidates: list[tuple[Figure, list[RecordError]]] = []
    for source in sources:
        try:
            candidates.append(build_figure(read_record(source)))
        except RecordError as err:
            rejected.append(Issue.of(err, peek_figid(source)))
    result = _Result([], [], [], [], Counter(), rejected, warnings)
    if not candidates:
        return result
    candidates.sort(key=lambda c: (c[0].figid, _layout_rank(c[0]), c[0].file))
    for figid, same in groupby(candidates, key=lambda c: c[0].figid):
        winner, *losers = list(same)
        fig, fig_warnings = winner
        for loser, _ in losers:
            rejected.append(Issue(loser.file, "figid", f"figid {figid} also in {fig.file}, which is kept "
                                  "(the newer TSV layout wins, then the first path in sorted order)", None, figid))
        warnings.extend(Issue.of(w, figid) for w in fig_warnings)
        blocks = figure_blocks(fig)
        checked = _check_blocks(fig, blocks) if _OPTIONS.get("evaluator") else {}
        for block in blocks:
            result.blocks.append((block.key, len(block.triples), serialize(block.triples, formats, graph),
                                  checked.get(block.key, [])))
        result.figures.append((figid, fig.file))
        result.entities.extend(m.entity for m in fig.mentions if m.entity)
        result.taxa.extend((*fig.organisms, *fig.organisms_ner))
        result.links.update({entity_iri(m.entity): m.entity.prefix for m in fig.mentions if m.entity}.values())
    return result


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


def _groups(sources: list[Source]) -> list[list[Source]]:
    """Sources grouped by figid, in figid order; files whose figid cannot be seen come last, alone."""
    keyed: dict[str, list[Source]] = {}
    unknown: list[list[Source]] = []
    for source in sources:
        figid = peek_figid(source)
        if figid is None:
            unknown.append([source])
        else:
            keyed.setdefault(figid, []).append(source)
    return [keyed[k] for k in sorted(keyed)] + unknown


def _run(groups: list[list[Source]], jobs: int) -> Iterator[_Result]:
    if jobs <= 1 or len(groups) < 64:
        yield from map(_convert_group, groups)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs) as pool:
        yield from pool.imap(_convert_group, groups, chunksize=16)


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
    stdout=None,
) -> Report:
    """Convert PFOCR figure records to RDF dumps, ``void.ttl`` and ``report.json`` in ``output``.

    ``paths`` are PFOCR checkouts (folders with ``_figures/`` and ``_data/``), folders of figure pages, single
    ``.md`` files, or ``-`` for one record on standard input. ``output="-"`` streams the single format in
    ``formats`` to standard output and writes nothing else. ``validate=True`` checks every node against the SHACL
    shapes as it is written (``report.validation``; ``shacl-report.ttl`` in ``output``). Returns the :class:`Report`; raises
    :class:`ConvertError` when nothing can be converted at all (a missing path, no records).
    """
    started = time.perf_counter()
    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ConvertError(f"unknown format {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMATS)}")
    if output == "-" and len(formats) != 1:
        raise ConvertError("'-o -' streams one format: pick it with --format (for example --format nt)")
    if iri_style not in ("slash", "colon"):
        raise ConvertError(f"unknown IRI style {iri_style!r}; choose slash or colon")
    paths = list(paths)
    if not paths:
        raise ConvertError("no input given: name a PFOCR checkout, a folder of figure pages, .md files or -")
    for path in paths:
        if path != "-" and not os.path.exists(path):
            raise ConvertError(f"{path}: no such file or folder")

    registry.style = iri_style
    registry.namespaces  # load the Bioregistry data once, before worker processes fork
    _OPTIONS.update(formats=formats, graph=graph, evaluator=Evaluator(read_shapes(iri_style)) if validate else None)
    checked: list[Result] = []
    located: dict[str, str] = {}
    try:
        sources, problems = discover(paths)
    except RecordError as err:
        raise ConvertError(str(err)) from None
    if not sources:
        raise ConvertError(f"no figure records (*.md) found in {', '.join(paths)}")

    report = Report()
    report.warnings.extend(Issue.of(p) for p in problems)
    report.records_read = len(sources)
    groups = _groups(sources)
    index = EntityIndex()
    seen_keys: set[str] = set()
    article_space = registry.namespace_iri("pmc")  # shared blocks keyed by it are articles
    seen_figids: set[str] = set()
    articles = 0
    links: Counter = Counter()
    results = _run(groups, jobs if jobs is not None else (os.cpu_count() or 1))
    if progress:
        from tqdm import tqdm

        results = tqdm(results, total=len(groups), unit="fig", file=sys.stderr, leave=False)
    dumps = DumpSet(output, formats, graph, stdout=stdout)
    try:
        for result in results:
            report.rejected.extend(result.rejected)
            report.warnings.extend(result.warnings)
            figids = {figid for figid, _ in result.figures}
            clash = figids & seen_figids
            if clash:  # only when a file's figid line was unusual enough to escape grouping
                for figid, file in result.figures:
                    report.rejected.append(Issue(file, "figid", f"figid {figid} seen in an earlier file, "
                                                 "which is kept", None, figid))
                continue
            seen_figids |= figids
            report.converted.extend({"figid": figid, "file": file} for figid, file in result.figures)
            for key, count, payload, results in result.blocks:
                if key is not None:
                    if key in seen_keys:
                        continue
                    seen_keys.add(key)
                    articles += key.startswith(article_space)
                dumps.write(payload)
                report.triples += count
                checked.extend(results)
                located.update((r.focus, result.figures[0][0]) for r in results)
            for entity in result.entities:
                if validate:
                    located.setdefault(f"<{entity_iri(entity)}>", result.figures[0][0])
                index.add(entity)
            for taxon in result.taxa:
                if validate:
                    located.setdefault(f"<{taxon_iri(taxon)}>", result.figures[0][0])
                index.add_taxon(taxon)
            links.update(result.links)
        entity_blocks = index.blocks()
        for block in entity_blocks:
            dumps.write(serialize(block.triples, formats, graph))
            report.triples += len(block.triples)
        if validate:
            closure = [t for block in entity_blocks for t in block.triples]
            checked.extend(_OPTIONS["evaluator"].check(closure, [b.key for b in entity_blocks]))
            report.validation = ValidationReport(sorted(set(checked)), "convert", located=located)
    except BaseException:
        dumps.abort()
        raise
    report.records_converted = len(report.converted)
    report.records_rejected = len(report.rejected)
    kinds = Counter(kind for m in index.entities.values() for kind in m.kinds)
    report.statistics = {
        "figures": report.records_converted,
        "articles": articles,
        "genes": kinds["gene"],
        "chemicals": kinds["chemical"],
        "diseases": kinds["disease"],
        "taxa": len(index.taxa),
        "links": dict(sorted(links.items())),
    }
    report.rejected.sort(key=lambda i: (i.file, i.field))
    try:
        finished = dumps.finish()
        if output != "-":
            report.outputs = {**{fmt: FILE_NAMES[fmt] for fmt in formats}, "void": "void.ttl",
                              "report": "report.json"}
            void = void_turtle(report, {fmt: (finished[fmt], FILE_NAMES[fmt]) for fmt in formats})
    except BaseException:
        dumps.abort()
        raise
    dumps.commit()
    if output != "-":
        if report.validation is not None:
            report.validation.figures = report.records_converted
            report.validation.seconds = time.perf_counter() - started
            atomic_write(os.path.join(output, "shacl-report.ttl"), report.validation.to_turtle())
            report.outputs["validation"] = "shacl-report.ttl"
        atomic_write(os.path.join(output, "void.ttl"), void)
        atomic_write(os.path.join(output, "report.json"), report.to_json())
    report.seconds = time.perf_counter() - started
    return report


__all__ = ["convert", "ConvertError", "Report", "Issue"]
