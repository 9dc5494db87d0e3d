"""Test helpers that read PFOCR records and RDF dumps without going through the converter.

The expectations computed here are deliberately independent of ``converter/``: the front matter is read with
``yaml.safe_load``, companion TSVs with :mod:`csv`, and ``NA``, ``.na.character`` and ``''`` count as missing.
"""

from __future__ import annotations

import csv
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import yaml

PROJECT = Path(__file__).resolve().parents[1]
PFOCR = PROJECT.parent / "shared" / "pfocr"  # the real records, beside the project, never copied into it
SAMPLE = PFOCR / "sample"
SEED = PFOCR / "seed"
SAMPLE_FIGURES = SAMPLE / "_figures"
SAMPLE_DATA = SAMPLE / "_data"
ALT_VERSIONS = SAMPLE / "alt-versions"
INVENTORY = SAMPLE / "INVENTORY.md"
HAVE_PFOCR = SAMPLE_FIGURES.is_dir() and SEED.is_dir()
SKIP_REASON = "real PFOCR data not found at ../shared/pfocr (relative to the project root)"

SCHEMA = "https://schema.org/"
PFOCR_NS = "https://pfocr.wikipathways.org/vocab#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
IDORG = "https://identifiers.org/"
FIGURE_BASE = "https://pfocr.wikipathways.org/figures/"
GRAPH = "https://pfocr.wikipathways.org/graph"
ENTITY_IRI = re.compile(r"^https://identifiers\.org/(ncbigene|mesh|chebi|doid)/")

MISSING = frozenset({"", "NA", ".na.character"})
SENTINEL_LITERALS = frozenset({"NA", ".na.character", ""})
DUMP_FILES = {"ttl": "pfocr.ttl", "nt": "pfocr.nt", "nq": "pfocr.nq", "jsonld": "pfocr.jsonld"}  # RDF parsers read
JSON_LINES = "pfocr.jsonl"  # a JSON-LD document per line: tests/test_json.py reads it
ALL_FILES = (*DUMP_FILES.values(), JSON_LINES, "context.jsonld", "void.ttl", "report.json")
OX_FORMAT = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS,
             "jsonld": ox.RdfFormat.JSON_LD}


def sample_records() -> list[Path]:
    """Every figure page of the sample and the seed record (empty when the data is absent)."""
    if not HAVE_PFOCR:
        return []
    return sorted(SAMPLE_FIGURES.glob("*.md")) + sorted(SEED.glob("*.md"))


def alt_version_records() -> list[Path]:
    if not ALT_VERSIONS.is_dir():
        return []
    return sorted(ALT_VERSIONS.glob("*/_figures/*.md"))


# --- reading records independently ---------------------------------------------------------------------------------
def is_missing(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in MISSING)


def front_matter(path: Path) -> dict:
    """The YAML between the first two ``---`` lines, read with ``yaml.safe_load``."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines and lines[0].rstrip() == "---", f"{path} does not start with ---"
    for end in range(1, len(lines)):
        if lines[end].rstrip() == "---":
            return yaml.safe_load("".join(lines[1:end]))
    raise AssertionError(f"{path}: front matter not closed")


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def _local(value: str) -> str:
    value = value.strip()
    return value.split(":", 1)[1] if ":" in value else value


def figure_iri(figid: str) -> str:
    return f"{FIGURE_BASE}{figid}.html"


@dataclass
class Expected:
    """What the RDF should say about one record."""

    path: Path
    figid: str
    title: str
    caption: str | None
    year: str
    pmcid: str
    papertitle: str | None
    doi: str | None
    layout: str
    entities: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    companions: list[Path] = field(default_factory=list)

    @property
    def iri(self) -> str:
        return figure_iri(self.figid)

    @property
    def article(self) -> str:
        return f"{IDORG}pmc/{self.pmcid}"


def companion_dirs(md: Path) -> list[Path]:
    """Where a page's ``<figid>-genes.tsv`` and friends live: ``_data`` beside ``_figures``."""
    if md.parent.name == "_figures":
        return [md.parent.parent / "_data"]
    return [md.parent / "_data", md.parent]


def expected_record(md: Path) -> Expected:
    fm = front_matter(md)
    figid = fm["figid"]
    inline = any(k in fm for k in ("genes", "chemicals", "diseases"))
    exp = Expected(
        path=md,
        figid=figid,
        title=fm["figtitle"],
        caption=None if is_missing(fm.get("caption")) else fm["caption"],
        year="" if is_missing(fm.get("year")) else str(fm["year"]).strip(),
        pmcid=fm["pmcid"],
        papertitle=None if is_missing(fm.get("papertitle")) else fm["papertitle"],
        doi=None if is_missing(fm.get("doi")) else fm["doi"].strip(),
        layout="inline" if inline else "tsv",
    )
    for kind in ("genes", "chemicals", "diseases"):
        if kind in fm:  # an inline list wins, even when a companion TSV exists
            for item in fm[kind] or []:
                if not is_missing(item.get("word")):
                    exp.words.add(item["word"])
                if kind == "genes":
                    if not is_missing(item.get("entrez")):
                        exp.entities.add(f"{IDORG}ncbigene/{str(item['entrez']).strip()}")
                elif not is_missing(item.get("identifier")):
                    exp.entities.add(f"{IDORG}mesh/{_local(item['identifier'])}")
            continue
        tsv = next((d / f"{figid}-{kind}.tsv" for d in companion_dirs(md) if (d / f"{figid}-{kind}.tsv").is_file()),
                   None)
        if tsv is None:
            continue
        exp.companions.append(tsv)
        other = {"chemicals": "chebi", "diseases": "doid"}.get(kind)
        for row in read_tsv(tsv):
            if not is_missing(row.get("word")):
                exp.words.add(row["word"])
            if kind == "genes":
                if not is_missing(row.get("ncbigene_id")):
                    exp.entities.add(f"{IDORG}ncbigene/{row['ncbigene_id'].strip()}")
            elif not is_missing(row.get("mesh")):
                exp.entities.add(f"{IDORG}mesh/{_local(row['mesh'])}")
            elif not is_missing(row.get(other)):
                exp.entities.add(f"{IDORG}{other}/{other.upper()}:{_local(row[other])}")
    return exp


def lookalike_words() -> list[tuple[str, str]]:
    """(figid, word) pairs from the look-alike section of INVENTORY.md."""
    if not INVENTORY.is_file():
        return []
    text = INVENTORY.read_text(encoding="utf-8")
    section = text.split("## Non-ASCII characters in gene words", 1)[-1].split("\n## ", 1)[0]
    out = []
    for match in re.finditer(r"^\* (_figures|_data)/(\S+?)(?:\.md|-genes\.tsv|-chemicals\.tsv|-diseases\.tsv): "
                             r"`([^`]+)` ->", section, re.M):
        out.append((match.group(2), match.group(3)))
    return out


# --- RDF -----------------------------------------------------------------------------------------------------------
def load_store(path: Path, fmt: str = "nt", base_iri: str | None = None) -> ox.Store:
    store = ox.Store()
    store.bulk_load(path=str(path), format=OX_FORMAT[fmt], base_iri=base_iri)
    return store


def triples_of(path: Path, fmt: str) -> set[ox.Triple]:
    """The triples of a dump (for N-Quads the graph name is dropped) as pyoxigraph terms."""
    return {q.triple for q in ox.parse(path=str(path), format=OX_FORMAT[fmt])}


def objects(store: ox.Store, subject: str, predicate: str) -> list:
    return [q.object for q in store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None)]


def iri_values(terms) -> set[str]:
    return {t.value for t in terms if isinstance(t, ox.NamedNode)}


_BAD_IRI_CHARS = set(' <>"{}|^`\\') | {chr(c) for c in range(0x21)}


def bad_iri_chars(iri: str) -> set[str]:
    return {c for c in iri if c in _BAD_IRI_CHARS}


# --- running the converter -----------------------------------------------------------------------------------------
def cli_command() -> list[str]:
    """The ``pfocr-rdf`` console script (this interpreter's folder first, then PATH), else ``python -m converter``."""
    found = shutil.which("pfocr-rdf", path=str(Path(sys.executable).parent)) or shutil.which("pfocr-rdf")
    return [found] if found else [sys.executable, "-m", "converter"]


def minimal_record(figid: str = "PMC1__test-f1", **fields) -> dict:
    record = {"figid": figid, "pmcid": "PMC1", "figtitle": "A test figure", "year": "2020"}
    record.update(fields)
    return record


def write_record(path: Path, record: dict, body: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n" + yaml.safe_dump(record, allow_unicode=True, sort_keys=False) + "---\n" + body,
                    encoding="utf-8")
    return path


def rdflib_term(term):
    """The rdflib term for a pyoxigraph term (a plain literal stays plain, as rdflib reads "..." in N-Triples)."""
    import rdflib

    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    if term.datatype.value == "http://www.w3.org/2001/XMLSchema#string":
        return rdflib.Literal(term.value)
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))
