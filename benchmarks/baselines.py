#!/usr/bin/env python3
"""The baselines of the benchmark: what users would otherwise write or run to get the converter's graph.

    python benchmarks/baselines.py rdflib CORPUS OUT.nt [--processes N]   # PyYAML + csv, Graph.add, serialize
    python benchmarks/baselines.py morph CORPUS OUT.nt [--processes N]    # PyYAML + csv to CSV tables, Morph-KGC
    python benchmarks/baselines.py install-morph                          # Morph-KGC into benchmarks/.venv-morph

Both read the records ``pfocr-rdf convert CORPUS`` reads (``CORPUS/_figures/*.md``, both layouts: entity lists
inline in the front matter, or in the companion TSVs of ``CORPUS/_data``) and write the converter's graph: the same
triples, as ``docs/mapping.md`` describes them (``tests/test_baselines.py`` compares the graphs on the real
sample). Each command is one run, timed whole by ``bench_convert.py``: reading the pages and TSVs, parsing the
YAML, normalising, mapping and writing N-Triples.

Neither uses the converter's code. The front matter is read with PyYAML's libyaml loader (the converter has a
reader of its own for the block YAML PFOCR writes, with PyYAML behind it), the TSVs with :mod:`csv`, and the rules
of the mapping (sentinels, identifier patterns, the IRI of each node, mention hashes, which of two records with one
figid is kept, the first name of an entity in figid order) are written out again below. The one thing read from the
converter's folder is data: ``converter/data/taxa.tsv``, the organism names with known NCBI Taxonomy ids, which the
mapping names as the source of taxon ids.

``--processes N`` (default: one per CPU, as the converter's ``--jobs``) splits the records into N shares in
figid order, each handled by a process of its own; the parent merges what figures share (articles, journals,
publishers, entities, taxa) first-seen-first in figid order, as the converter does, and writes it.

* ``rdflib``: each process adds its figures' triples to an ``rdflib.Graph`` and serialises it; the parent adds the
  shared nodes to a graph of its own, serialises it and concatenates the parts.
* ``morph``: each process writes its figures, mentions, keywords and organisms as CSV tables; the parent writes the
  shared nodes' tables, then runs Morph-KGC (in ``benchmarks/.venv-morph``, with ``number_of_processes`` = N) with
  the RML mapping ``benchmarks/pfocr.rml.ttl``, which builds every triple. Morph-KGC reads neither YAML nor Markdown,
  and RML has no conditionals, no hash function and one escaping for template IRIs, so this Python step (timed
  with the rest) parses the records, drops sentinels, checks identifiers, dedupes, merges, and computes the terms
  the mapping cannot: the mention IRIs (a SHA-1 of the mention's fields; Morph-KGC could call a Python function for
  it, which would be the same Python work inside Morph-KGC), and the IRIs whose escaping is not RML's template
  escaping (figure pages, image and figure links and DOIs keep ``/``, ``:`` and sub-delimiters as the converter
  does). Every other IRI comes from an RML template, and a row's namespace (MeSH, else ChEBI or DOID; a taxon by
  id, else by name) from the column that holds its id.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import multiprocessing
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from contextlib import ExitStack
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MORPH_VENV = HERE / ".venv-morph"  # Morph-KGC pins an old pyoxigraph, so it lives in its own environment
MORPH_PYTHON = MORPH_VENV / "bin" / "python"
INSTALL_MORPH = "make morph-kgc"
RML_MAPPING = HERE / "pfocr.rml.ttl"

SCHEMA = "https://schema.org/"
PFOCR = "https://pfocr.wikipathways.org/vocab#"
SITE = "https://pfocr.wikipathways.org/"
FIGURES = SITE + "figures/"
IDORG = "https://identifiers.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
CC0 = "https://creativecommons.org/publicdomain/zero/1.0/"
PMC_SITE = "https://www.ncbi.nlm.nih.gov"
NDEX = "https://www.ndexbio.org/viewer/networks/"
DOI_RESOLVER = "https://doi.org/"

SENTINELS = frozenset({"", "NA", ".na.character", "NaN", "nan"})
MAX_TEXT = 1 << 20  # longer values are not converted (docs/mapping.md, "Missing values and bad values")
KINDS = {"genes": "gene", "chemicals": "chemical", "diseases": "disease"}
ENTITY_CLASS = {"gene": "Gene", "chemical": "ChemicalSubstance", "disease": "MedicalCondition"}
MENTION_CLASS = {"gene": "GeneMention", "chemical": "ChemicalMention", "disease": "DiseaseMention"}
COUNTS = {"count_direct": "countDirect", "count_synonym": "countSynonym", "count_match": "countMatch"}


class Namespace(NamedTuple):
    pattern: re.Pattern[str]
    banana: str | None  # the prefix the local id itself carries (CHEBI:15422)
    idorg: str  # the identifiers.org prefix


# The Bioregistry entries of the namespaces the mapping mints IRIs in (docs/mapping.md).
NAMESPACES = {
    "ncbigene": Namespace(re.compile(r"\d+", re.ASCII), None, "ncbigene"),
    "mesh": Namespace(re.compile(r"(C|D|Q)\d+", re.ASCII), None, "mesh"),
    "chebi": Namespace(re.compile(r"\d+", re.ASCII), "CHEBI", "chebi"),
    "doid": Namespace(re.compile(r"\d+", re.ASCII), "DOID", "doid"),
    "ncbitaxon": Namespace(re.compile(r"(\d+)|([a-zA-Z_]+)", re.ASCII), None, "taxonomy"),
    "pmc": Namespace(re.compile(r"PMC\d+(\.\d+)?", re.ASCII), None, "pmc"),
    "doi": Namespace(re.compile(r"10.\d{2,9}/.*", re.ASCII), "doi", "doi"),
}
FIGID = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-]+")
FENCE = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
FIGID_LINE = re.compile(r"""^(?:figid|'figid'|"figid")[ \t]*:[ \t]*(.*?)[ \t]*\r?$""", re.MULTILINE)
STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# --- the records, normalised ---------------------------------------------------------------------------------------
class Taxon(NamedTuple):
    taxid: str | None
    name: str | None
    group: str | None = None


class Entity(NamedTuple):
    kind: str
    prefix: str
    local: str
    name: str | None = None
    taxon: Taxon | None = None
    xrefs: tuple[tuple[str, str], ...] = ()


class Mention(NamedTuple):
    kind: str
    word: str | None
    matched: str | None
    source: str | None
    entity: Entity | None
    counts: tuple[tuple[str, int], ...] = ()


class Article(NamedTuple):
    pmcid: str
    title: str | None
    year: str | None
    doi: str | None
    journal_title: str | None
    journal_abbrev: str | None
    publisher: str | None
    citation: str | None


class Figure(NamedTuple):
    figid: str
    file: str
    tsv_layout: bool
    title: str
    article: Article
    caption: str | None
    number: str | None
    figtype: str | None
    alias: str | None
    content_url: str | None
    url: str | None
    score: str | None
    rank: str | None
    ndex: str | None
    keywords: tuple[str, ...]
    organisms: tuple[Taxon, ...]
    organisms_ner: tuple[Taxon, ...]
    mentions: tuple[tuple[str, Mention], ...]  # (IRI, mention), one per IRI
    entities: tuple[Entity, ...]


class Shared(NamedTuple):
    """What a figure adds to the nodes figures share, merged by the parent in figid order."""

    figid: str
    article: Article
    entities: list[Entity]
    taxa: list[Taxon]


def text(value: Any) -> str | None:
    """A scalar as text, or None when missing (a sentinel, a null, a collection, a boolean, too long)."""
    if value.__class__ is str:
        return None if len(value) > MAX_TEXT or value.strip() in SENTINELS else value
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        value = repr(value)
    elif isinstance(value, int):
        value = str(value)
    else:
        return None
    return None if len(value) > MAX_TEXT or value.strip() in SENTINELS else value


def local_id(prefix: str, value: str | None) -> str | None:
    """The local id of a bare id or a CURIE in any case, or None when it does not match the namespace's pattern."""
    if value is None:
        return None
    ns = NAMESPACES[prefix]
    value = value.strip()
    head, colon, tail = value.partition(":")
    if colon and head.lower() in (prefix, ns.idorg):
        value = tail
    if ns.banana and value.upper().startswith(ns.banana.upper() + ":"):
        value = value[len(ns.banana) + 1:]
    return value if value and ns.pattern.fullmatch(value) else None


def slash_iri(prefix: str, local: str) -> str:
    ns = NAMESPACES[prefix]
    shown = f"{ns.banana}:{local}" if ns.banana and ns.banana != prefix else local
    return f"{IDORG}{ns.idorg}/{shown}"


def colon_iri(prefix: str, local: str) -> str:
    ns = NAMESPACES[prefix]
    return f"{IDORG}{ns.banana}:{local}" if ns.banana and ns.banana != prefix else f"{IDORG}{ns.idorg}:{local}"


def iri_escape(value: str) -> str:
    """Percent-encoding that keeps ``/``, ``:``, ``@``, sub-delimiters and existing ``%XX`` escapes."""
    return quote(STRAY_PERCENT.sub("%25", value), safe="/:@!$&'()*+,;=-._~%")


def taxon_iri(taxon: Taxon) -> str:
    return f"{IDORG}taxonomy/{taxon.taxid}" if taxon.taxid else f"{SITE}organisms/{quote(taxon.name or '', safe='')}"


def entity_iri(entity: Entity) -> str:
    return slash_iri(entity.prefix, entity.local)


def mention_iri(figure: str, m: Mention) -> str:
    """The figure's IRI and a hash of the fields that tell mentions apart (docs/mapping.md, "mention")."""
    counts = ",".join(f"{k}={v}" for k, v in m.counts)
    key = "\x1f".join((m.kind, f"{m.entity.prefix}:{m.entity.local}" if m.entity else "", m.word or "",
                       m.matched or "", m.source or "", counts))
    return f"{figure}#mention-{hashlib.sha1(key.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"


def known_taxa() -> dict[str, str]:
    with open(ROOT / "converter" / "data" / "taxa.tsv", encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh if line.strip() and not line.startswith("#")]
    return {name: taxid for name, taxid in rows[1:]}


TAXA = known_taxa()


def front_matter(path: str) -> dict | None:
    """The page's YAML front matter, or None when the page cannot be read as one (the converter rejects it)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        page = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    first = FENCE.match(page) if page.startswith("---") else None
    closing = FENCE.search(page, first.end()) if first else None
    if closing is None:
        return None
    try:
        value = yaml.load(page[first.end(): closing.start()], Loader=Loader)  # a safe loader: no tags construct objects
    except (yaml.YAMLError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def read_tsv(path: str) -> tuple[list[str], list[dict[str, str]]] | None:
    """Header and rows of a companion TSV (rows of the wrong width left out), or None when it is not UTF-8."""
    try:
        with open(path, "rb") as fh:
            content = fh.read().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    lines = list(csv.reader(io.StringIO(content), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not lines:
        return [], []
    header = [h.strip() for h in lines[0]]
    rows = [dict(zip(header, row)) for row in lines[1:]
            if len(row) == len(header) and any(cell.strip() for cell in row)]
    return header, rows


def required(fm: dict, name: str) -> str | None:
    value = fm.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int, float, type(None))):
        return None
    value = text(value)
    return value if value is not None and value.strip() else None


def organisms(value: Any, gene_taxa: dict[str, str]) -> tuple[Taxon, ...]:
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    names = [" ".join(t.split()) for t in map(text, items) if t is not None]
    return tuple(Taxon(gene_taxa.get(n) or TAXA.get(n), n) for n in dict.fromkeys(names))


def keywords(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        value = text(value)
        value = value.split("|") if value else []
    return tuple(dict.fromkeys(" ".join(t.split()) for t in map(text, value) if t is not None))


def score(fm: dict) -> str | None:
    for name in ("pathway_score", "automl_pathway"):
        value = fm.get(name)
        if value is None or isinstance(value, bool) or (isinstance(value, str) and value.strip() in SENTINELS):
            continue
        try:
            number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except (InvalidOperation, ValueError, TypeError):
            continue
        if number.is_finite() and 0 <= number <= 1:
            lexical = format(number, "f")
            return lexical if "." in lexical else lexical + ".0"
    return None


def inline_mentions(kind: str, items: Any) -> list[Mention]:
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        word, source = text(item.get("word")), text(item.get("source"))
        if kind == "gene":
            matched = text(item.get("symbol"))
            local = local_id("ncbigene", text(item.get("entrez")))
            # the older pipeline matched human HGNC symbols only
            entity = (Entity("gene", "ncbigene", local, text(item.get("hgnc_symbol")), Taxon("9606", "Homo sapiens"))
                      if local else None)
        else:
            matched = None
            prefix = (source or "").lower()
            prefix = prefix if prefix in ("mesh", "chebi", "doid") else "mesh"
            local = local_id(prefix, text(item.get("identifier")))
            entity = Entity(kind, prefix, local) if local else None
        if word is not None or entity is not None:
            out.append(Mention(kind, word, matched, source, entity))
    return out


def tsv_mentions(kind: str, path: str, gene_taxa: dict[str, str]) -> list[Mention]:
    table = read_tsv(path)
    if table is None:
        return []
    header, rows = table
    if any(c not in header for c in ("word", "ncbigene_id" if kind == "gene" else "mesh")):
        return []
    out = []
    for row in rows:
        word = text(row.get("word"))
        if kind == "gene":
            taxid = local_id("ncbitaxon", text(row.get("organism_id")))
            taxon = Taxon(taxid, text(row.get("organism_name")), text(row.get("organism_group"))) if taxid else None
            if taxon and taxon.name:
                gene_taxa.setdefault(taxon.name, taxid)  # type: ignore[arg-type]  # taxon is made only with a taxid
            local = local_id("ncbigene", text(row.get("ncbigene_id")))
            entity = Entity("gene", "ncbigene", local, text(row.get("ncbigene_symbol")), taxon) if local else None
            counts = []
            for column in COUNTS:
                value = text(row.get(column))
                if value is not None and value.strip().isdigit():
                    counts.append((column, int(value)))
            mention = Mention("gene", word, text(row.get("match")), text(row.get("source")), entity, tuple(counts))
        else:
            other = "chebi" if kind == "chemical" else "doid"
            mesh = local_id("mesh", text(row.get("mesh")))
            xref = local_id(other, text(row.get(other)))
            matched = text(row.get("match"))
            if mesh:  # named by its MeSH term
                entity = Entity(kind, "mesh", mesh, matched, None, ((other, xref),) if xref else ())
            elif xref:
                entity = Entity(kind, other, xref, text(row.get("name")))
            else:
                entity = None
            mention = Mention(kind, word, matched, None, entity)
        if mention.word is not None or mention.entity is not None:
            out.append(mention)
    return out


def companion_folders(page: str) -> list[str]:
    folder = os.path.dirname(page)
    if os.path.basename(folder) == "_figures":
        candidates = [os.path.join(os.path.dirname(folder), "_data")]
    else:
        candidates = [os.path.join(folder, "_data"), folder]
    return [c for c in candidates if os.path.isdir(c)]


def read_figure(path: str) -> Figure | None:
    """One page as the converter normalises it, or None when the converter rejects it."""
    fm = front_matter(path)
    if fm is None:
        return None
    figid, pmcid_text, title = required(fm, "figid"), required(fm, "pmcid"), required(fm, "figtitle")
    pmcid = local_id("pmc", pmcid_text)
    if figid is None or not FIGID.fullmatch(figid) or pmcid is None or title is None:
        return None

    year = text(fm.get("year"))
    year = year.strip() if year is not None and len(year.strip()) == 4 and year.strip().isdigit() else None
    doi = text(fm.get("doi"))
    article = Article(pmcid, text(fm.get("papertitle")), year, local_id("doi", doi) if doi else None,
                      text(fm.get("journal_title")), text(fm.get("journal_nlm_ta")), text(fm.get("publisher_name")),
                      text(fm.get("reftext")))

    figlink = text(fm.get("figlink"))
    image_pmcid = pmcid
    if figlink is not None:
        figlink = "/" + figlink.strip().lstrip("/")
        if figlink.startswith("/pmc/articles/"):  # one real record links another article's figure
            image_pmcid = local_id("pmc", figlink.split("/")[3]) or pmcid
    filename = text(fm.get("filename"))
    if filename is not None and ("/" in filename or "\\" in filename or filename.strip() != filename):
        filename = None
    rank = text(fm.get("pmc_ranked_result_index"))
    ndex = text(fm.get("ndex"))
    if ndex is not None:
        try:
            ndex = str(uuid.UUID(ndex.strip()))
        except ValueError:
            ndex = None

    gene_taxa: dict[str, str] = {}  # organism names in this record's genes TSV, with their ids
    found: list[Mention] = []
    # companions are looked up by the figid as written, when it is text that can be part of a file name
    folders = companion_folders(path) if isinstance(fm.get("figid"), str) and "/" not in figid else []
    for list_name, kind in KINDS.items():
        if list_name in fm:  # an inline list wins over a companion TSV
            found.extend(inline_mentions(kind, fm[list_name]))
            continue
        for folder in folders:
            tsv = os.path.join(folder, f"{figid}-{list_name}.tsv")
            if os.path.isfile(tsv):
                found.extend(tsv_mentions(kind, tsv, gene_taxa))
                break
    iri = f"{FIGURES}{figid}.html"
    found = sorted(set(found), key=_mention_order)
    mentions: dict[str, Mention] = {}
    for m in found:
        mentions.setdefault(mention_iri(iri, m), m)
    # one entity per IRI and figure: the last of the figure's mentions in their order, as the converter passes on
    entities = {entity_iri(m.entity): m.entity for m in found if m.entity}

    return Figure(
        figid=figid, file=path, tsv_layout=not any(k in fm for k in KINDS), title=title, article=article,
        caption=text(fm.get("caption")), number=text(fm.get("number")), figtype=text(fm.get("figtype")),
        alias=text(fm.get("figid_alias")),
        content_url=f"{PMC_SITE}/pmc/articles/{image_pmcid}/bin/{iri_escape(filename)}" if filename else None,
        url=PMC_SITE + iri_escape(figlink) if figlink else None,
        score=score(fm), rank=str(int(rank)) if rank is not None and rank.strip().isdigit() else None,
        ndex=ndex, keywords=keywords(fm.get("keywords")),
        organisms=organisms(fm.get("organisms"), gene_taxa),
        organisms_ner=organisms(fm.get("organisms_ner"), gene_taxa),
        mentions=tuple(mentions.items()), entities=tuple(entities.values()),
    )


def _mention_order(m: Mention) -> tuple:
    return (m.kind, f"{m.entity.prefix}:{m.entity.local}" if m.entity else "", m.word or "", m.matched or "",
            m.source or "", m.counts)


def shared(fig: Figure) -> Shared:
    return Shared(fig.figid, fig.article, list(fig.entities), [*fig.organisms, *fig.organisms_ner])


# --- which records, in which process ------------------------------------------------------------------------------
def pages(corpus: str) -> list[str]:
    root = os.path.join(corpus, "_figures")
    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        found.extend(os.path.join(folder, f) for f in sorted(files) if f.endswith(".md"))
    return sorted(found)


def peek_figid(path: str) -> str:
    """The figid its figid line gives, to keep two files of one figid in one process (else the file name)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.read(1 << 16)
    except OSError:
        head = ""
    match = FIGID_LINE.search(head)
    value = match.group(1).strip("'\"") if match else ""
    return value or Path(path).stem


def plan(corpus: str, processes: int) -> list[list[list[str]]]:
    """The pages grouped by figid (in figid order), split into ``processes`` shares of about equal size."""
    groups: dict[str, list[str]] = {}
    for page in pages(corpus):
        groups.setdefault(peek_figid(page), []).append(page)
    ordered = [groups[k] for k in sorted(groups)]
    size = -(-len(ordered) // max(1, processes))
    return [ordered[i: i + size] for i in range(0, len(ordered), size)] or [[]]


def kept(group: list[str]) -> Iterable[Figure]:
    """The figures of one group of pages: of two files with one figid, the newer TSV layout, then the first path."""
    figures = sorted((f for f in map(read_figure, group) if f is not None),
                     key=lambda f: (f.figid, not f.tsv_layout, f.file))
    last = None
    for fig in figures:
        if fig.figid != last:
            last = fig.figid
            yield fig


def run_shares(worker, shares: list, processes: int) -> list:
    if processes <= 1 or len(shares) <= 1:
        return [worker(share) for share in shares]
    pool = multiprocessing.get_context("fork").Pool(processes)
    try:
        return pool.map(worker, shares, chunksize=1)
    finally:
        pool.close()  # workers that exit and are waited for count in the run's CPU time
        pool.join()


class Merged:
    """The nodes figures share, first seen first in figid order: the first figure of an article writes it (and its
    journal and publisher); an entity or taxon keeps the first name, taxon and group, and adds up cross-references."""

    def __init__(self, shares: list[list[Shared]]) -> None:
        self.articles: dict[str, Article] = {}
        self.journals: dict[str, tuple[str, str | None]] = {}
        self.publishers: dict[str, str] = {}
        self.entities: dict[str, tuple[set[str], Entity, set[tuple[str, str]]]] = {}
        self.taxa: dict[str, Taxon] = {}
        for item in sorted((s for share in shares for s in share), key=lambda s: s.figid):
            self.add_article(item.article)
            for entity in item.entities:
                self.add_entity(entity)
            for taxon in item.taxa:
                self.add_taxon(taxon)

    def add_article(self, a: Article) -> None:
        self.articles.setdefault(a.pmcid, a)
        name = a.journal_abbrev or a.journal_title
        if name:
            # name is one of the two: the first item is text
            self.journals.setdefault(name, (a.journal_title or a.journal_abbrev,  # type: ignore[arg-type]
                                            a.journal_abbrev if a.journal_title else None))
        if a.publisher:
            self.publishers.setdefault(a.publisher, a.publisher)

    def add_entity(self, e: Entity) -> None:
        iri = entity_iri(e)
        known = self.entities.get(iri)
        if known is None:
            self.entities[iri] = ({e.kind}, e, set(e.xrefs))
        else:
            kinds, first, xrefs = known
            kinds.add(e.kind)
            xrefs.update(e.xrefs)
            if first.name is None or first.taxon is None:
                self.entities[iri] = (kinds, first._replace(name=first.name or e.name, taxon=first.taxon or e.taxon),
                                      xrefs)
        if e.taxon:
            self.add_taxon(e.taxon)

    def add_taxon(self, taxon: Taxon) -> None:
        iri = taxon_iri(taxon)
        known = self.taxa.get(iri)
        if known is None:
            self.taxa[iri] = taxon
        elif (known.name is None and taxon.name) or (known.group is None and taxon.group):
            self.taxa[iri] = Taxon(known.taxid, known.name or taxon.name, known.group or taxon.group)


def concatenate(parts: list[str], out: str) -> None:
    with open(out, "wb") as target:
        for part in parts:
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, target, 1 << 20)


# --- the rdflib pipeline --------------------------------------------------------------------------------------------
def _rdflib_share(job: tuple[list[list[str]], str]) -> list[Shared]:
    """Figures of one share into an rdflib graph, serialised to ``part``; returns what they share."""
    import rdflib
    from rdflib.namespace import RDF

    groups, part = job
    U, L = rdflib.URIRef, rdflib.Literal
    s, p = rdflib.Namespace(SCHEMA), rdflib.Namespace(PFOCR)
    integer, decimal = U(XSD + "integer"), U(XSD + "decimal")
    graph = rdflib.Graph()
    add = graph.add
    out = []
    for group in groups:
        for fig in kept(group):
            f = U(f"{FIGURES}{fig.figid}.html")
            add((f, RDF.type, s.ImageObject))
            add((f, RDF.type, s.Dataset))
            add((f, s.identifier, L(fig.figid)))
            add((f, s.name, L(fig.title)))
            for prop, value in ((s.caption, fig.caption), (s.alternateName, fig.alias),
                                (p.figureNumber, fig.number), (p.figureType, fig.figtype)):
                if value is not None:
                    add((f, prop, L(value)))
            if fig.content_url:
                add((f, s.contentUrl, U(fig.content_url)))
            if fig.url:
                add((f, s.url, U(fig.url)))
            add((f, s.license, U(CC0)))
            add((f, s.isPartOf, U(slash_iri("pmc", fig.article.pmcid))))
            for keyword in fig.keywords:
                add((f, s.keywords, L(keyword)))
            if fig.score is not None:  # normalize=False: rdflib would rewrite lexical forms
                add((f, p.pathwayScore, L(fig.score, datatype=decimal, normalize=False)))
            if fig.rank is not None:
                add((f, p.pmcRankedResultIndex, L(fig.rank, datatype=integer, normalize=False)))
            if fig.ndex:
                add((f, p.ndexNetwork, U(NDEX + fig.ndex)))
            for taxon in fig.organisms:
                add((f, s.about, U(taxon_iri(taxon))))
            for taxon in fig.organisms_ner:
                add((f, s.mentions, U(taxon_iri(taxon))))
            for iri, m in fig.mentions:
                node = U(iri)
                add((f, p.hasMention, node))
                add((node, RDF.type, p.Mention))
                add((node, RDF.type, p[MENTION_CLASS[m.kind]]))
                if m.word is not None:
                    add((node, p.word, L(m.word)))
                if m.matched is not None:
                    add((node, p.matchedSymbol, L(m.matched)))
                if m.source is not None:
                    add((node, p.matchSource, L(m.source)))
                if m.entity:
                    entity = U(entity_iri(m.entity))
                    add((node, p.entity, entity))
                    add((f, s.mentions, entity))
                for name, value in m.counts:
                    add((node, p[COUNTS[name]], L(str(value), datatype=integer, normalize=False)))
            out.append(shared(fig))
    graph.serialize(destination=part, format="nt", encoding="utf-8")
    return out


def _rdflib_shared(merged: Merged, part: str) -> None:
    import rdflib
    from rdflib.namespace import RDF

    U, L = rdflib.URIRef, rdflib.Literal
    s, p = rdflib.Namespace(SCHEMA), rdflib.Namespace(PFOCR)
    graph = rdflib.Graph()
    add = graph.add
    for a in merged.articles.values():
        node = U(slash_iri("pmc", a.pmcid))
        add((node, RDF.type, s.ScholarlyArticle))
        add((node, s.identifier, L(a.pmcid)))
        if a.title is not None:
            add((node, s.name, L(a.title)))
        if a.year:
            add((node, s.datePublished, L(a.year, datatype=U(XSD + "gYear"), normalize=False)))
        if a.citation is not None:
            add((node, s.creditText, L(a.citation)))
        add((node, s.sameAs, U(colon_iri("pmc", a.pmcid))))
        if a.doi:
            add((node, s.sameAs, U(DOI_RESOLVER + iri_escape(a.doi))))
        if a.journal_abbrev or a.journal_title:
            add((node, s.isPartOf, U(f"{SITE}journals/{quote(a.journal_abbrev or a.journal_title, safe='')}")))
        if a.publisher:
            add((node, s.publisher, U(f"{SITE}publishers/{quote(a.publisher, safe='')}")))
    for key, (name, alternate) in merged.journals.items():
        node = U(f"{SITE}journals/{quote(key, safe='')}")
        add((node, RDF.type, s.Periodical))
        add((node, s.name, L(name)))
        if alternate:
            add((node, s.alternateName, L(alternate)))
    for name in merged.publishers:
        node = U(f"{SITE}publishers/{quote(name, safe='')}")
        add((node, RDF.type, s.Organization))
        add((node, s.name, L(name)))
    for iri, (kinds, e, xrefs) in merged.entities.items():
        node = U(iri)
        for kind in kinds:
            add((node, RDF.type, s[ENTITY_CLASS[kind]]))
        add((node, s.identifier, L(f"{e.prefix}:{e.local}")))
        if e.name is not None:
            add((node, s.name, L(e.name)))
        if e.taxon:
            add((node, s.taxonomicRange, U(taxon_iri(e.taxon))))
        add((node, s.sameAs, U(colon_iri(e.prefix, e.local))))
        for prefix, local in xrefs:
            add((node, s.sameAs, U(slash_iri(prefix, local))))
    for iri, taxon in merged.taxa.items():
        node = U(iri)
        add((node, RDF.type, s.Taxon))
        if taxon.taxid:
            add((node, s.identifier, L(f"ncbitaxon:{taxon.taxid}")))
            add((node, s.sameAs, U(colon_iri("ncbitaxon", taxon.taxid))))
        if taxon.name is not None:
            add((node, s.name, L(taxon.name)))
        if taxon.group is not None:
            add((node, p.organismGroup, L(taxon.group)))
    graph.serialize(destination=part, format="nt", encoding="utf-8")


def rdflib_pipeline(corpus: str, out: str, processes: int = 2) -> dict:
    """The rdflib baseline; returns what it read and wrote."""
    shares = plan(corpus, processes)
    with tempfile.TemporaryDirectory(prefix="rdflib-", dir=os.path.dirname(os.path.abspath(out))) as tmp:
        parts = [os.path.join(tmp, f"part-{n}.nt") for n in range(len(shares) + 1)]
        found = run_shares(_rdflib_share, list(zip(shares, parts)), processes)
        _rdflib_shared(Merged(found), parts[-1])
        concatenate(parts, out)
    return {"records_read": sum(len(g) for share in shares for g in share),
            "figures": sum(len(f) for f in found), "triples": count_lines(out), "processes": processes}


def count_lines(path: str) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


# --- Morph-KGC over CSV tables --------------------------------------------------------------------------------------
# The columns of each table the RML mapping reads (benchmarks/pfocr.rml.ttl). An empty cell is a missing value:
# Morph-KGC writes no triple for it, and no value the mapping writes is empty.
ENTITY_COLUMNS = ("ncbigene", "mesh", "chebi", "doid")  # a row fills the one of its namespace
TABLES = {
    "figures": ("figure", "figid", "title", "caption", "alias", "number", "figtype", "content_url", "url", "pmcid",
                "score", "rank", "ndex"),
    "keywords": ("figure", "keyword"),
    "organisms": ("figure", "about_taxid", "about_name", "named_taxid", "named_name"),
    "mentions": ("figure", "mention", "kind", "word", "matched", "source", *ENTITY_COLUMNS, *COUNTS),
    "articles": ("pmcid", "title", "year", "citation", "doi", "journal", "publisher"),
    "journals": ("journal", "name", "alternate"),
    "publishers": ("publisher",),
    "entities": (*ENTITY_COLUMNS, "class", "name", "taxid"),
    "xrefs": ("mesh", "chebi", "doid"),
    "taxa": ("taxid", "name_key", "name", "group"),
}
PER_FIGURE = ("figures", "keywords", "organisms", "mentions")

CONFIG = """[CONFIGURATION]
output_file = {out}
output_format = N-TRIPLES
number_of_processes = {processes}
logging_level = WARNING

[PFOCR]
mappings = {mapping}
"""


def _writer(fh) -> Any:
    return csv.writer(fh, lineterminator="\n")


def _entity_cells(e: Entity | None) -> list[str]:
    return [e.local if e and e.prefix == column else "" for column in ENTITY_COLUMNS]


def _morph_share(job: tuple[list[list[str]], str]) -> list[Shared]:
    """Figures of one share as rows of the per-figure tables (``folder/<table>.<n>.csv``, no header)."""
    groups, base = job
    with ExitStack() as stack:
        w = {name: _writer(stack.enter_context(open(f"{base}.{name}.csv", "w", encoding="utf-8", newline="")))
             for name in PER_FIGURE}
        out = []
        for group in groups:
            for fig in kept(group):
                iri = f"{FIGURES}{fig.figid}.html"
                w["figures"].writerow((iri, fig.figid, fig.title, fig.caption, fig.alias, fig.number, fig.figtype,
                                       fig.content_url, fig.url, fig.article.pmcid, fig.score, fig.rank, fig.ndex))
                w["keywords"].writerows((iri, k) for k in fig.keywords)
                # a taxon by id, else by name: the column tells the mapping which IRI template to use
                w["organisms"].writerows((iri, t.taxid, None if t.taxid else t.name, None, None)
                                         for t in fig.organisms)
                w["organisms"].writerows((iri, None, None, t.taxid, None if t.taxid else t.name)
                                         for t in fig.organisms_ner)
                w["mentions"].writerows(
                    (iri, node, m.kind.capitalize(), m.word, m.matched, m.source, *_entity_cells(m.entity),
                     *(dict(m.counts).get(c) for c in COUNTS)) for node, m in fig.mentions)
                out.append(shared(fig))
    return out


def _morph_tables(merged: Merged, folder: str) -> None:
    def table(name: str, rows: Iterable[Iterable[Any]]) -> None:
        with open(os.path.join(folder, f"{name}.csv"), "w", encoding="utf-8", newline="") as fh:
            w = _writer(fh)
            w.writerow(TABLES[name])
            w.writerows(rows)

    table("articles", ((a.pmcid, a.title, a.year, a.citation, DOI_RESOLVER + iri_escape(a.doi) if a.doi else None,
                        a.journal_abbrev or a.journal_title, a.publisher) for a in merged.articles.values()))
    table("journals", ((key, name, alternate) for key, (name, alternate) in merged.journals.items()))
    table("publishers", ((name,) for name in merged.publishers))
    table("entities", ((*_entity_cells(e), ENTITY_CLASS[kind], e.name, e.taxon.taxid if e.taxon else None)
                       for kinds, e, _ in merged.entities.values() for kind in kinds))
    table("xrefs", ((e.local, *(local if prefix == column else None for column in ("chebi", "doid")))
                    for _, e, xrefs in merged.entities.values() for prefix, local in xrefs))
    table("taxa", ((t.taxid, None if t.taxid else t.name, t.name, t.group) for t in merged.taxa.values()))


def morph_pipeline(corpus: str, out: str, processes: int = 2, python: str | None = None) -> dict:
    """The Morph-KGC baseline; returns what it read and wrote, and the time its Python step took."""
    python = python or str(MORPH_PYTHON)
    if not os.path.exists(python):
        raise SystemExit(f"Morph-KGC is not installed in {MORPH_VENV.relative_to(ROOT)}: run `{INSTALL_MORPH}`")
    started = time.perf_counter()
    shares = plan(corpus, processes)
    with tempfile.TemporaryDirectory(prefix="morph-", dir=os.path.dirname(os.path.abspath(out))) as folder:
        bases = [os.path.join(folder, f"part-{n}") for n in range(len(shares))]
        found = run_shares(_morph_share, list(zip(shares, bases)), processes)
        _morph_tables(Merged(found), folder)
        for name in PER_FIGURE:
            header = os.path.join(folder, f"{name}.header")
            with open(header, "w", encoding="utf-8", newline="") as fh:
                _writer(fh).writerow(TABLES[name])
            concatenate([header, *(f"{base}.{name}.csv" for base in bases)], os.path.join(folder, f"{name}.csv"))
        config = os.path.join(folder, "config.ini")
        with open(config, "w", encoding="utf-8") as fh:
            fh.write(CONFIG.format(out=os.path.abspath(out), processes=processes, mapping=RML_MAPPING))
        prepared = time.perf_counter() - started
        cpu = sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                  for field in ("ru_utime", "ru_stime"))
        if os.path.exists(out):
            os.unlink(out)  # Morph-KGC appends to its output file
        # the mapping names its sources relative to the working folder, where the tables are
        subprocess.run([python, "-m", "morph_kgc", config], cwd=folder, check=True)
    return {"records_read": sum(len(g) for share in shares for g in share), "figures": sum(len(f) for f in found),
            "triples": count_lines(out), "processes": processes, "preprocessing_s": round(prepared, 3),
            "preprocessing_cpu_s": round(cpu, 3)}


def install_morph() -> str:
    """Morph-KGC in its own virtual environment (it pins an old pyoxigraph); returns its interpreter."""
    if not MORPH_PYTHON.exists():
        print(f"installing Morph-KGC into {MORPH_VENV.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(MORPH_VENV)], check=True)
        subprocess.run([str(MORPH_PYTHON), "-m", "pip", "install", "--quiet", "morph-kgc"], check=True)
    return str(MORPH_PYTHON)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("rdflib", "morph", "install-morph"))
    parser.add_argument("corpus", nargs="?", help="a PFOCR checkout: _figures/*.md and _data/*.tsv")
    parser.add_argument("out", nargs="?", help="the N-Triples file to write")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="processes (default: one per CPU, as the converter's --jobs)")
    parser.add_argument("--morph-python", help=f"Morph-KGC's interpreter (default {MORPH_PYTHON.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    if args.command == "install-morph":
        print(install_morph())
        return
    if not args.corpus or not args.out:
        parser.error(f"{args.command} needs CORPUS and OUT")
    if args.command == "rdflib":
        result = rdflib_pipeline(args.corpus, args.out, args.processes)
    else:
        result = morph_pipeline(args.corpus, args.out, args.processes, args.morph_python)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
