"""Test helpers that read PFOCR records and RDF dumps without going through the converter.

The expectations computed here are deliberately independent of ``converter/``: the front matter is read with
``yaml.safe_load``, companion TSVs with :mod:`csv`, and ``NA``, ``.na.character`` and ``''`` count as missing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import shutil
import sys
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
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
                             r"`([^`]+)` ->", section, re.MULTILINE):
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


# --- the whole-graph oracle ----------------------------------------------------------------------------------------
# What docs/mapping.md says a set of records becomes, every triple of it, derived from the raw files alone: the
# front matter read with yaml.safe_load, companion TSVs with csv, identifiers checked with the published patterns
# written out below. Nothing here comes from converter/, so a mapping bug cannot hide behind a shared helper.
SITE = "https://pfocr.wikipathways.org/"
PMC_SITE = "https://www.ncbi.nlm.nih.gov"
CC0 = "https://creativecommons.org/publicdomain/zero/1.0/"
NDEX_VIEWER = "https://www.ndexbio.org/viewer/networks/"
DOI_RESOLVER = "https://doi.org/"
KINDS = ("genes", "chemicals", "diseases")
KIND_OF_LIST = {"genes": "gene", "chemicals": "chemical", "diseases": "disease"}
ENTITY_TYPE = {"gene": SCHEMA + "Gene", "chemical": SCHEMA + "ChemicalSubstance",
               "disease": SCHEMA + "MedicalCondition"}
MENTION_TYPE = {"gene": PFOCR_NS + "GeneMention", "chemical": PFOCR_NS + "ChemicalMention",
                "disease": PFOCR_NS + "DiseaseMention"}
COUNT_COLUMNS = {"count_direct": "countDirect", "count_synonym": "countSynonym", "count_match": "countMatch"}
# docs/mapping.md, "Missing values and bad values": what counts as no value at all
DOC_SENTINELS = frozenset({"", "NA", ".na.character", "NaN"})
MAX_VALUE = 1 << 20  # a value over 1,048,576 characters is not converted
# Bioregistry's pattern, banana and identifiers.org prefix of each namespace the mapping mints IRIs in, as
# Bioregistry publishes them (the converter keeps its own copy; tests/test_identifiers.py compares that copy).
NAMESPACES: dict[str, tuple[str, str | None, str]] = {
    "ncbigene": (r"\d+", None, "ncbigene"),
    "mesh": (r"(C|D|Q)\d+", None, "mesh"),
    "chebi": (r"\d+", "CHEBI", "chebi"),
    "doid": (r"\d+", "DOID", "doid"),
    "ncbitaxon": (r"\d+|[a-zA-Z_]+", None, "taxonomy"),
    "pmc": (r"PMC\d+(\.\d+)?", None, "pmc"),
    "doi": (r"10.\d{2,9}/.*", "doi", "doi"),
}
# A figid is an IRI path segment and a file name: RFC 3986 pchar without '%' (docs/mapping.md, figure fields).
FIGID_CHARS = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-]+")
_FENCE = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
_URI_KEEP = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/")
_UUID = re.compile(r"(?:urn:uuid:)?\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?",
                   re.IGNORECASE)


def local_id(prefix: str, value: str) -> str | None:
    """The local id of a bare id, a CURIE (any case of the prefix) or a banana, when it fits the pattern."""
    pattern, banana, idorg = NAMESPACES[prefix]
    text = value.strip()
    head, sep, tail = text.partition(":")
    if sep and head.lower() in {prefix, idorg}:
        text = tail
    if banana and text.upper().startswith(banana.upper() + ":"):
        text = text[len(banana) + 1:]
    return text if text and re.fullmatch(pattern, text, re.ASCII) else None


def uri_escape(text: str) -> str:
    """Percent-encode what may not stand in a URI path (UTF-8 bytes); keep existing %XX escapes, escape a stray %."""
    out = []
    for i, char in enumerate(text):
        if char in _URI_KEEP or (char == "%" and re.fullmatch(r"[0-9A-Fa-f]{2}", text[i + 1:i + 3])):
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
    return "".join(out)


def segment_escape(text: str) -> str:
    """Percent-encode a name that becomes one path segment (journal, publisher, organism): only unreserved kept."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-._~") else
                   "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass")) for c in text)


def slash_iri(prefix: str, local: str) -> str:
    _, banana, idorg = NAMESPACES[prefix]
    shown = f"{banana}:{local}" if banana and banana != prefix else local
    return f"{IDORG}{idorg}/{uri_escape(shown)}"


def colon_iri(prefix: str, local: str) -> str:
    _, banana, idorg = NAMESPACES[prefix]
    if banana and banana != prefix:
        return f"{IDORG}{uri_escape(banana)}:{uri_escape(local)}"
    return f"{IDORG}{idorg}:{uri_escape(local)}"


def mention_hash(kind: str, curie: str, word: str, matched: str, source: str, counts: list[tuple[str, int]]) -> str:
    """The 16 hex digits after ``#mention-``: a SHA-1 over kind, entity CURIE, word, matched symbol, source and
    counts (``count_direct=3,count_match=4`` in column order), joined by U+001F, absent values empty."""
    key = "\x1f".join((kind, curie, word, matched, source, ",".join(f"{k}={v}" for k, v in counts)))
    return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def taxa_table() -> dict[str, str]:
    """Scientific name -> NCBI Taxonomy id, from the data file docs/mapping.md names (converter/data/taxa.tsv)."""
    text = (PROJECT / "converter" / "data" / "taxa.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    return {name: taxid for name, taxid in rows[1:]}


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _lit(value: str, datatype: str | None = None) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(XSD + datatype) if datatype else None)


Triple = ox.Triple


@dataclass(frozen=True)
class OTaxon:
    taxid: str | None
    name: str | None
    group: str | None = None

    @property
    def iri(self) -> str:
        if self.taxid:
            return slash_iri("ncbitaxon", self.taxid)
        return f"{SITE}organisms/{segment_escape(self.name or '')}"


@dataclass(frozen=True)
class OEntity:
    kind: str
    prefix: str
    local: str
    name: str | None = None
    taxon: OTaxon | None = None
    xrefs: frozenset[tuple[str, str]] = frozenset()

    @property
    def iri(self) -> str:
        return slash_iri(self.prefix, self.local)


@dataclass
class OracleRecord:
    """One figure page as the oracle reads it: the figure's own triples, its shared nodes, its entities and taxa."""

    path: Path
    figid: str
    layout: str
    triples: list[ox.Triple] = field(default_factory=list)
    shared: list[tuple[str, list[ox.Triple]]] = field(default_factory=list)  # (node IRI, triples), first one wins
    entities: list[OEntity] = field(default_factory=list)  # in the order the record lists them
    taxa: list[OTaxon] = field(default_factory=list)
    mentions: set[str] = field(default_factory=set)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (field, value) of identifiers not minted

    @property
    def iri(self) -> str:
        return figure_iri(self.figid)


class Rejected(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name


def _as_text(value) -> str | None:
    """A scalar's text, or None when it is missing or not a scalar (docs: wrong types are not converted)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        value = repr(value)
    elif isinstance(value, int):
        value = str(value)
    elif not isinstance(value, str):
        return None
    if len(value) > MAX_VALUE or value.strip() in DOC_SENTINELS:
        return None
    return value


def _required(fm: dict, name: str) -> str:
    value = fm.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int, float, type(None))):
        raise Rejected(name, "wrong type")
    if isinstance(value, str) and len(value) > MAX_VALUE:
        raise Rejected(name, "too long")
    text = _as_text(value)
    if text is None or not text.strip():
        raise Rejected(name, "missing")
    return text


def read_front_matter(path: Path) -> dict:
    """The front matter of a page, or Rejected (not UTF-8, no or unclosed front matter, bad YAML, not a mapping)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected("file", "not UTF-8") from None
    text = text.removeprefix("\ufeff")
    first = _FENCE.match(text)
    closing = _FENCE.search(text, first.end()) if first else None
    if closing is None:
        raise Rejected("front matter", "no front matter")
    try:
        fm = yaml.safe_load(text[first.end():closing.start()])
    except (yaml.YAMLError, ValueError, RecursionError):
        raise Rejected("front matter", "invalid YAML") from None
    if not isinstance(fm, dict):
        raise Rejected("front matter", "not a mapping")
    return fm


def read_table(path: Path, required: tuple[str, ...]) -> list[dict[str, str]] | None:
    """A companion TSV's rows by column name; None when the file is left out (not UTF-8, a needed column missing).
    Blank rows and rows with more or fewer cells than the header are left out."""
    try:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None
    lines = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not lines:
        return []
    header = [h.strip() for h in lines[0]]
    if any(c not in header for c in required):
        return None if len(lines) > 1 or header else []
    return [dict(zip(header, row)) for row in lines[1:]
            if any(cell.strip() for cell in row) and len(row) == len(header)]


def _score(fm: dict) -> str | None:
    """pathway_score (older) or automl_pathway (newer) as an xsd:decimal lexical form, when a number in [0, 1]."""
    for name in ("pathway_score", "automl_pathway"):
        value = fm.get(name)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, str):
            if value.strip() in DOC_SENTINELS:
                continue
            text = value.strip()
        elif isinstance(value, (int, float)):
            text = repr(value)
        else:
            continue
        try:
            number = Decimal(text)
        except InvalidOperation:
            continue
        if not number.is_finite() or not 0 <= number <= 1:
            continue
        plain = format(number, "f")
        return plain if "." in plain else plain + ".0"
    return None


def _organism_names(value) -> list[str]:
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list):
        items = value
    else:
        return []
    names = [" ".join(t.split()) for t in map(_as_text, items) if t is not None]
    return list(dict.fromkeys(n for n in names if n))


def _keywords(value) -> list[str]:
    if isinstance(value, list):
        items = value
    else:
        text = _as_text(value)
        items = text.split("|") if text else []
    words = [" ".join(t.split()) for t in map(_as_text, items) if t is not None]
    return list(dict.fromkeys(w for w in words if w.strip() not in DOC_SENTINELS))


def _companion(md: Path, figid: str, kind: str) -> Path | None:
    if not figid or "/" in figid:
        return None
    return next((d / f"{figid}-{kind}.tsv" for d in companion_dirs(md) if (d / f"{figid}-{kind}.tsv").is_file()),
                None)


def oracle_record(md: Path, taxa: dict[str, str] | None = None) -> OracleRecord:
    """Everything one page says, per docs/mapping.md; raises Rejected when the page is not converted."""
    taxa = taxa_table() if taxa is None else taxa
    human = next(name for name, taxid in taxa.items() if taxid == "9606")
    fm = read_front_matter(md)
    figid = _required(fm, "figid")
    if not FIGID_CHARS.fullmatch(figid):
        raise Rejected("figid", "characters not allowed in an IRI path")
    pmcid = local_id("pmc", _required(fm, "pmcid"))
    if pmcid is None:
        raise Rejected("pmcid", "not a PMC id")
    title = _required(fm, "figtitle")
    inline = any(k in fm for k in KINDS)
    rec = OracleRecord(md, figid, "inline" if inline else "tsv")
    fig, art = _n(figure_iri(figid)), _n(f"{IDORG}pmc/{pmcid}")
    add = rec.triples.append

    def text(name: str) -> str | None:
        return _as_text(fm.get(name))

    add(Triple(fig, _n(RDF_TYPE), _n(SCHEMA + "ImageObject")))
    add(Triple(fig, _n(RDF_TYPE), _n(SCHEMA + "Dataset")))
    add(Triple(fig, _n(SCHEMA + "identifier"), _lit(figid)))
    add(Triple(fig, _n(SCHEMA + "name"), _lit(title)))
    add(Triple(fig, _n(SCHEMA + "license"), _n(CC0)))
    add(Triple(fig, _n(SCHEMA + "isPartOf"), art))
    for name, predicate in (("caption", SCHEMA + "caption"), ("number", PFOCR_NS + "figureNumber"),
                            ("figtype", PFOCR_NS + "figureType"), ("figid_alias", SCHEMA + "alternateName")):
        if text(name) is not None:
            add(Triple(fig, _n(predicate), _lit(text(name))))
    figlink = text("figlink")
    image_pmcid = pmcid
    if figlink is not None:
        figlink = "/" + figlink.strip().lstrip("/")  # a missing leading slash is added
        add(Triple(fig, _n(SCHEMA + "url"), _n(PMC_SITE + uri_escape(figlink))))
        parts = figlink.split("/")
        if figlink.startswith("/pmc/articles/") and local_id("pmc", parts[3]):
            image_pmcid = local_id("pmc", parts[3])  # the figure's own article, which may not be the record's
    filename = text("filename")
    if filename is not None and "/" not in filename and "\\" not in filename and filename.strip() == filename:
        add(Triple(fig, _n(SCHEMA + "contentUrl"),
                   _n(f"{PMC_SITE}/pmc/articles/{image_pmcid}/bin/{uri_escape(filename)}")))
    score = _score(fm)
    if score is not None:
        add(Triple(fig, _n(PFOCR_NS + "pathwayScore"), _lit(score, "decimal")))
    rank = text("pmc_ranked_result_index")
    if rank is not None and re.fullmatch(r"[0-9]+", rank.strip()):
        add(Triple(fig, _n(PFOCR_NS + "pmcRankedResultIndex"), _lit(str(int(rank.strip())), "integer")))
    ndex = text("ndex")
    found = _UUID.fullmatch(ndex.strip()) if ndex is not None else None
    if found:
        add(Triple(fig, _n(PFOCR_NS + "ndexNetwork"), _n(NDEX_VIEWER + "-".join(found.groups()).lower())))
    for keyword in _keywords(fm.get("keywords")):
        add(Triple(fig, _n(SCHEMA + "keywords"), _lit(keyword)))

    # entity lists: inline wins over the companion TSV of the same kind
    found_mentions: list[tuple[str, str | None, str | None, str | None, OEntity | None, tuple]] = []
    gene_taxa: dict[str, str] = {}
    for list_name in KINDS:
        kind = KIND_OF_LIST[list_name]
        if list_name in fm:
            items = fm[list_name] if isinstance(fm[list_name], list) else []
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    continue
                where = f"{list_name}[{i}]"
                word, source = _as_text(item.get("word")), _as_text(item.get("source"))
                entity: OEntity | None = None
                if kind == "gene":
                    matched = _as_text(item.get("symbol"))
                    entrez = _as_text(item.get("entrez"))
                    local = local_id("ncbigene", entrez) if entrez is not None else None
                    if entrez is not None and local is None:
                        rec.invalid.append((f"{where}.entrez", entrez))
                    if local:  # the older pipeline matched human HGNC symbols only
                        entity = OEntity("gene", "ncbigene", local, _as_text(item.get("hgnc_symbol")),
                                         OTaxon("9606", human))
                else:
                    matched = None
                    prefix = {"mesh": "mesh", "chebi": "chebi", "doid": "doid"}.get((source or "").lower(), "mesh")
                    value = _as_text(item.get("identifier"))
                    local = local_id(prefix, value) if value is not None else None
                    if value is not None and local is None:
                        rec.invalid.append((f"{where}.identifier", value))
                    if local:
                        entity = OEntity(kind, prefix, local)
                if word is not None or entity is not None:
                    found_mentions.append((kind, word, matched, source, entity, ()))
            continue
        tsv = _companion(md, figid, list_name)
        if tsv is None:
            continue
        rows = read_table(tsv, ("word", "ncbigene_id") if kind == "gene" else ("word", "mesh"))
        for row in rows or []:
            def cell(column: str, row: dict[str, str] = row) -> str | None:
                return _as_text(row.get(column))

            word = cell("word")
            entity = None
            if kind == "gene":
                taxid = local_id("ncbitaxon", cell("organism_id")) if cell("organism_id") is not None else None
                taxon = OTaxon(taxid, cell("organism_name"), cell("organism_group")) if taxid else None
                if taxon and taxon.name:
                    gene_taxa.setdefault(taxon.name, taxid)  # organisms by name take their id from these rows
                gene = cell("ncbigene_id")
                local = local_id("ncbigene", gene) if gene is not None else None
                if gene is not None and local is None:
                    rec.invalid.append(("ncbigene_id", gene))
                if local:
                    entity = OEntity("gene", "ncbigene", local, cell("ncbigene_symbol"), taxon)
                counts = tuple((c, int(cell(c).strip())) for c in COUNT_COLUMNS
                               if cell(c) is not None and re.fullmatch(r"[0-9]+", cell(c).strip()))
                mention = ("gene", word, cell("match"), cell("source"), entity, counts)
            else:
                other = "chebi" if kind == "chemical" else "doid"
                mesh = local_id("mesh", cell("mesh")) if cell("mesh") is not None else None
                xref = local_id(other, cell(other)) if cell(other) is not None else None
                for column, value, ok in (("mesh", cell("mesh"), mesh), (other, cell(other), xref)):
                    if value is not None and ok is None:
                        rec.invalid.append((column, value))
                if mesh:
                    entity = OEntity(kind, "mesh", mesh, cell("match"), None,
                                     frozenset({(other, xref)}) if xref else frozenset())
                elif xref:
                    entity = OEntity(kind, other, xref, cell("name"))
                mention = (kind, word, cell("match"), None, entity, ())
            if word is not None or entity is not None:
                found_mentions.append(mention)

    # organisms: the article's (schema:about) and those named in the figure (schema:mentions)
    for name, predicate in (("organisms", SCHEMA + "about"), ("organisms_ner", SCHEMA + "mentions")):
        for organism in _organism_names(fm.get(name)):
            taxon = OTaxon(gene_taxa.get(organism) or taxa.get(organism), organism)
            rec.taxa.append(taxon)
            add(Triple(fig, _n(predicate), _n(taxon.iri)))

    for kind, word, matched, source, entity, counts in found_mentions:
        if entity is not None:
            rec.entities.append(entity)
            if entity.taxon:
                rec.taxa.append(entity.taxon)
            add(Triple(fig, _n(SCHEMA + "mentions"), _n(entity.iri)))
        curie = f"{entity.prefix}:{entity.local}" if entity else ""
        mention = _n(f"{figure_iri(figid)}#mention-"
                     f"{mention_hash(kind, curie, word or '', matched or '', source or '', list(counts))}")
        rec.mentions.add(mention.value)
        add(Triple(fig, _n(PFOCR_NS + "hasMention"), mention))
        add(Triple(mention, _n(RDF_TYPE), _n(PFOCR_NS + "Mention")))
        add(Triple(mention, _n(RDF_TYPE), _n(MENTION_TYPE[kind])))
        for predicate, value in (("word", word), ("matchedSymbol", matched), ("matchSource", source)):
            if value is not None:
                add(Triple(mention, _n(PFOCR_NS + predicate), _lit(value)))
        if entity is not None:
            add(Triple(mention, _n(PFOCR_NS + "entity"), _n(entity.iri)))
        for column, value in counts:
            add(Triple(mention, _n(PFOCR_NS + COUNT_COLUMNS[column]), _lit(str(value), "integer")))

    # the article, its journal and publisher: shared nodes, written by the first figure (in figid order)
    article = [Triple(art, _n(RDF_TYPE), _n(SCHEMA + "ScholarlyArticle")),
               Triple(art, _n(SCHEMA + "identifier"), _lit(pmcid)),
               Triple(art, _n(SCHEMA + "sameAs"), _n(colon_iri("pmc", pmcid)))]
    if text("papertitle") is not None:
        article.append(Triple(art, _n(SCHEMA + "name"), _lit(text("papertitle"))))
    if text("reftext") is not None:
        article.append(Triple(art, _n(SCHEMA + "creditText"), _lit(text("reftext"))))
    year = text("year")
    if year is not None and re.fullmatch(r"[0-9]{4}", year.strip()):
        article.append(Triple(art, _n(SCHEMA + "datePublished"), _lit(year.strip(), "gYear")))
    doi = local_id("doi", text("doi").strip()) if text("doi") is not None else None
    if text("doi") is not None and doi is None:
        rec.invalid.append(("doi", text("doi")))
    if doi:
        article.append(Triple(art, _n(SCHEMA + "sameAs"), _n(DOI_RESOLVER + uri_escape(doi))))
    title_j, abbrev_j = text("journal_title"), text("journal_nlm_ta")
    shared: list[tuple[str, list[ox.Triple]]] = []
    if title_j or abbrev_j:
        journal = _n(f"{SITE}journals/{segment_escape(abbrev_j or title_j)}")  # the NLM abbreviation is the key
        article.append(Triple(art, _n(SCHEMA + "isPartOf"), journal))
        block = [Triple(journal, _n(RDF_TYPE), _n(SCHEMA + "Periodical")),
                 Triple(journal, _n(SCHEMA + "name"), _lit(title_j or abbrev_j))]
        if title_j and abbrev_j:
            block.append(Triple(journal, _n(SCHEMA + "alternateName"), _lit(abbrev_j)))
        shared.append((journal.value, block))
    publisher_name = text("publisher_name")
    if publisher_name:
        publisher = _n(f"{SITE}publishers/{segment_escape(publisher_name)}")
        article.append(Triple(art, _n(SCHEMA + "publisher"), publisher))
        shared.append((publisher.value, [Triple(publisher, _n(RDF_TYPE), _n(SCHEMA + "Organization")),
                                         Triple(publisher, _n(SCHEMA + "name"), _lit(publisher_name))]))
    rec.shared = [(art.value, article), *shared]
    return rec


def discover_pages(paths: list[Path]) -> list[Path]:
    """The figure pages under ``paths``: a PFOCR checkout's ``_figures/``, else every ``*.md`` below a folder."""
    pages: set[Path] = set()
    for path in map(Path, paths):
        if path.is_file():
            pages.add(path)
        elif path.is_dir():
            root = path / "_figures" if (path / "_figures").is_dir() else path
            pages.update(p for p in root.rglob("*.md") if p.is_file())
    return sorted(pages, key=str)


@dataclass
class OracleGraph:
    """The graph a set of inputs must give, and which record each of its subjects belongs to."""

    triples: set[ox.Triple]
    records: dict[str, OracleRecord]  # figid -> the record kept
    rejected: dict[Path, str]  # page -> field, for pages not converted (a duplicate figid: "figid")
    owner: dict[str, str]  # subject IRI -> figid of the first record that gives it
    # Entities whose name the first record naming them gives twice, differently: docs/mapping.md says which record
    # wins, not which row of one record, so the name of these is left open.
    undecided: set[str] = field(default_factory=set)

    def subjects_of(self, figid: str) -> set[str]:
        """The nodes one record's triples are about: its figure, mentions, article, journal, publisher, and the
        entities and taxa it names."""
        rec = self.records[figid]
        nodes = {rec.iri, *rec.mentions, *(key for key, _ in rec.shared)}
        nodes |= {e.iri for e in rec.entities} | {t.iri for t in rec.taxa}
        return nodes


def oracle_graph(paths: list[Path]) -> OracleGraph:
    """The whole graph of converting ``paths``: per docs/mapping.md, the same figid twice keeps the newer layout,
    then the first path; shared nodes come from the first figure in figid order; entities and taxa take the
    first name, taxon and organism group in figid order, and their cross-references add up."""
    taxa = taxa_table()
    records: dict[str, list[OracleRecord]] = {}
    rejected: dict[Path, str] = {}
    for page in discover_pages(paths):
        try:
            rec = oracle_record(page, taxa)
        except Rejected as err:
            rejected[page] = err.field
            continue
        records.setdefault(rec.figid, []).append(rec)
    kept: dict[str, OracleRecord] = {}
    for figid in sorted(records):
        winner, *losers = sorted(records[figid], key=lambda r: (r.layout != "tsv", str(r.path)))
        kept[figid] = winner
        rejected.update((loser.path, "figid") for loser in losers)

    triples: set[ox.Triple] = set()
    owner: dict[str, str] = {}
    entities: dict[str, dict] = {}
    taxon_facts: dict[str, dict] = {}
    undecided: set[str] = set()

    def add_taxon(taxon: OTaxon, figid: str) -> None:
        known = taxon_facts.setdefault(taxon.iri, {"taxid": taxon.taxid, "name": None, "group": None})
        known["name"] = known["name"] or taxon.name
        known["group"] = known["group"] or taxon.group
        owner.setdefault(taxon.iri, figid)

    for figid, rec in kept.items():
        triples.update(rec.triples)
        owner.update((t.subject.value, figid) for t in rec.triples)
        for key, block in rec.shared:
            if key not in owner:  # written once, by its first figure
                owner[key] = figid
                triples.update(block)
        for taxon in rec.taxa:
            add_taxon(taxon, figid)
        names: dict[str, set[str]] = {}
        for entity in rec.entities:
            if entity.name is not None:
                names.setdefault(entity.iri, set()).add(entity.name)
        undecided.update(iri for iri, given in names.items()
                         if len(given) > 1 and (iri not in entities or entities[iri]["name"] is None))
        for entity in rec.entities:
            merged = entities.setdefault(entity.iri, {"kinds": set(), "prefix": entity.prefix,
                                                      "local": entity.local, "name": None, "taxon": None,
                                                      "xrefs": set()})
            owner.setdefault(entity.iri, figid)
            merged["kinds"].add(entity.kind)
            merged["name"] = merged["name"] or entity.name
            merged["taxon"] = merged["taxon"] or entity.taxon
            merged["xrefs"] |= entity.xrefs

    for iri, m in entities.items():
        node = _n(iri)
        triples.update(Triple(node, _n(RDF_TYPE), _n(ENTITY_TYPE[kind])) for kind in m["kinds"])
        triples.add(Triple(node, _n(SCHEMA + "identifier"), _lit(f"{m['prefix']}:{m['local']}")))
        triples.add(Triple(node, _n(SCHEMA + "sameAs"), _n(colon_iri(m["prefix"], m["local"]))))
        if m["name"] is not None:
            triples.add(Triple(node, _n(SCHEMA + "name"), _lit(m["name"])))
        if m["taxon"] is not None:
            triples.add(Triple(node, _n(SCHEMA + "taxonomicRange"), _n(m["taxon"].iri)))
        triples.update(Triple(node, _n(SCHEMA + "sameAs"), _n(slash_iri(p, x))) for p, x in m["xrefs"])
    for iri, t in taxon_facts.items():
        node = _n(iri)
        triples.add(Triple(node, _n(RDF_TYPE), _n(SCHEMA + "Taxon")))
        if t["taxid"]:
            triples.add(Triple(node, _n(SCHEMA + "identifier"), _lit(f"ncbitaxon:{t['taxid']}")))
            triples.add(Triple(node, _n(SCHEMA + "sameAs"), _n(colon_iri("ncbitaxon", t["taxid"]))))
        if t["name"] is not None:
            triples.add(Triple(node, _n(SCHEMA + "name"), _lit(t["name"])))
        if t["group"] is not None:
            triples.add(Triple(node, _n(PFOCR_NS + "organismGroup"), _lit(t["group"])))
    return OracleGraph(triples, kept, rejected, owner, undecided)


def show_triple(t: ox.Triple) -> str:
    """A triple on one line, predicates shortened, long literals cut."""
    p = t.predicate.value
    for ns, short in ((SCHEMA, "schema:"), (PFOCR_NS, "pfocr:")):
        if p.startswith(ns):
            p = short + p[len(ns):]
    if p == RDF_TYPE:
        p = "rdf:type"
    o = str(t.object)
    if len(o) > 100:
        o = o[:97] + "..."
    return f"{t.subject} {p} {o}"


def graph_difference(expected: set[ox.Triple], actual: set[ox.Triple], owner: dict[str, str] | None = None,
                     per_record: int = 4) -> str:
    """A readable account of two graphs' difference: counts per predicate, then the first few missing and extra
    triples of each record (by the record its subject belongs to); empty when the graphs are equal."""
    missing, extra = expected - actual, actual - expected
    if not missing and not extra:
        return ""
    owner = owner or {}

    def record_of(t: ox.Triple) -> str:
        s = t.subject.value if isinstance(t.subject, ox.NamedNode) else str(t.subject)
        return owner.get(s) or owner.get(s.split("#", 1)[0]) or (
            s[len(FIGURE_BASE):-len(".html")] if s.startswith(FIGURE_BASE) and s.endswith(".html") else "(no record)")

    def predicate(t: ox.Triple) -> str:
        return show_triple(ox.Triple(ox.NamedNode("s:"), t.predicate, ox.Literal(""))).split(" ")[1]

    lines = [f"the converter's graph differs from the oracle's: {len(missing)} triples missing, {len(extra)} extra"]
    by_predicate: dict[str, list[int]] = {}
    for index, triples in enumerate((missing, extra)):
        for t in triples:
            by_predicate.setdefault(predicate(t), [0, 0])[index] += 1
    lines.append("by predicate: " + "; ".join(f"{p}: {m} missing, {e} extra"
                                              for p, (m, e) in sorted(by_predicate.items())))
    records = sorted({record_of(t) for t in missing | extra})
    for figid in records:
        lines.append(f"{figid}:")
        for label, triples in (("missing", missing), ("extra", extra)):
            mine = sorted((t for t in triples if record_of(t) == figid), key=str)
            for t in mine[:per_record]:
                lines.append(f"  {label}: {show_triple(t)}")
            if len(mine) > per_record:
                lines.append(f"  ... and {len(mine) - per_record} more {label}")
    return "\n".join(lines)
