"""The typed model of a PFOCR figure, and the normalisation of a raw record into it.

All the knowledge of PFOCR's layouts and traps lives here: missing-value sentinels, the inline and TSV entity
lists, organisms as a list or a comma-joined string, bare and prefixed identifiers. The mapping to RDF only sees
clean :class:`Figure` objects::

    >>> from converter.records.sources import discover, read_record
    >>> from converter.records.model import build_figure
    >>> figure, warnings = build_figure(read_record(source))   # doctest: +SKIP
    >>> [m.entity.curie for m in figure.mentions if m.entity]  # doctest: +SKIP
    ['ncbigene:7099', ...]
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, NamedTuple

from .identifiers import registry
from .sources import COMPANION_KINDS, RawRecord, RecordError, Table, type_name

Kind = Literal["gene", "chemical", "disease"]
SENTINELS = frozenset({"", "NA", ".na.character", "NaN", "nan"})

# Fields of both layouts that are read, and those deliberately not converted (docs/mapping.md says why).
MAPPED_FIELDS = frozenset(
    """figid figlink number caption pmcid papertitle reftext pmc_ranked_result_index pathway_score automl_pathway
    filename figtitle year organisms organisms_ner ndex annotations genes chemicals diseases figid_alias figtype
    doi journal_title journal_nlm_ta publisher_name keywords""".split()
)
IGNORED_FIELDS = frozenset({"seo", "schema-jsonld", "redirect_from"})
_KIND_OF_LIST: dict[str, Kind] = {"genes": "gene", "chemicals": "chemical", "diseases": "disease"}
_SOURCE_PREFIX = {"mesh": "mesh", "chebi": "chebi", "doid": "doid"}
_WHOLE = re.compile(r"[0-9]+")


def _whole(text: str) -> bool:
    """Whether ``text`` is a whole number in ASCII digits (``str.isdigit`` also takes '²' and '٢', which int()
    refuses or xsd:integer does not allow)."""
    return _WHOLE.fullmatch(text) is not None


# Taxa, entities and mentions are named tuples: hashed and compared in C, and pickled small, as the parent merges
# and the build index keeps some millions of them.
class Taxon(NamedTuple):
    """An organism: its NCBI Taxonomy id when known, and its name as PFOCR writes it."""

    taxid: str | None
    name: str | None
    group: str | None = None


class Entity(NamedTuple):
    """A gene, chemical or disease, identified by a validated id in a Bioregistry namespace."""

    kind: Kind
    prefix: str
    local: str
    name: str | None = None
    taxon: Taxon | None = None
    xrefs: tuple[tuple[str, str], ...] = ()  # other (prefix, local id) pairs naming the same entity

    @property
    def curie(self) -> str:
        return f"{self.prefix}:{self.local}"


# A Taxon and an Entity as plain tuples (its taxon's fields too): how workers hand them to the parent and how the
# build index keeps them (see pipeline._plain_entity)
PlainTaxon = tuple[str | None, str | None, str | None]
PlainEntity = tuple[Kind, str, str, str | None, PlainTaxon | None, tuple[tuple[str, str], ...]]


class Mention(NamedTuple):
    """How one entity was found in the figure: the OCR word, the matched symbol, the match source, counts."""

    kind: Kind
    word: str | None
    matched: str | None
    source: str | None
    entity: Entity | None
    counts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Article:
    pmcid: str
    title: str | None = None
    year: str | None = None
    doi: str | None = None
    journal_title: str | None = None
    journal_abbrev: str | None = None
    publisher: str | None = None
    citation: str | None = None


@dataclass
class Figure:
    """One PFOCR figure record, normalised: no sentinels, no duplicates, only valid identifiers."""

    figid: str
    file: str
    layout: Literal["inline", "tsv"]
    title: str
    article: Article
    caption: str | None = None
    number: str | None = None
    figtype: str | None = None
    alias: str | None = None
    image_file: str | None = None
    image_pmcid: str | None = None
    figlink: str | None = None
    score: str | None = None
    rank_index: int | None = None
    ndex: str | None = None
    keywords: tuple[str, ...] = ()
    organisms: tuple[Taxon, ...] = ()
    organisms_ner: tuple[Taxon, ...] = ()
    mentions: tuple[Mention, ...] = ()
    companions: tuple[str, ...] = field(default=())


@lru_cache(maxsize=1)
def known_taxa() -> dict[str, str]:
    """Scientific name -> NCBI Taxonomy id, from ``data/taxa.tsv``."""
    text = resources.files("converter.data").joinpath("taxa.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    return {name: taxid for name, taxid in rows[1:]}


class _Builder:
    """Collects warnings while normalising one record."""

    def __init__(self, raw: RawRecord) -> None:
        self.raw = raw
        self.file = raw.source.path
        self.fm = raw.front_matter
        self.warnings: list[RecordError] = list(raw.warnings)

    def warn(self, field: str, reason: str, file: str | None = None, line: int | None = None) -> None:
        self.warnings.append(RecordError(file or self.file, field, reason, line))

    # -- scalar fields -------------------------------------------------------------------------------------------
    def text(self, value: Any, field: str, file: str | None = None, line: int | None = None) -> str | None:
        """A string value, or None for missing-value sentinels; numbers are taken as their text."""
        if value.__class__ is str and len(value) <= MAX_TEXT:  # nearly every value: the short way
            return None if value.strip() in SENTINELS else value
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.warn(field, f"expected text, found {type_name(value)}; ignored", file, line)
            return None
        if isinstance(value, float):
            if math.isnan(value):
                return None
            value = repr(value)
        value = str(value)
        if len(value) > MAX_TEXT:
            self.warn(field, f"{_too_long(value)}; ignored", file, line)
            return None
        return None if value.strip() in SENTINELS else value

    def field(self, name: str) -> str | None:
        return self.text(self.fm.get(name), name)

    def required(self, name: str) -> str:
        """A field the record cannot be converted without."""
        value = self.fm.get(name)
        if isinstance(value, bool) or not isinstance(value, (str, int, float, type(None))):
            raise RecordError(self.file, name, f"expected text, found {type_name(value)}")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise RecordError(self.file, name, _too_long(value))
        text = self.text(value, name)
        if text is None or not text.strip():
            raise RecordError(self.file, name, "missing")
        return text

    def identifier(self, prefix: str, value: str | None, field: str, file: str | None = None,
                   line: int | None = None) -> str | None:
        if value is None:
            return None
        local = registry.normalize(prefix, value)
        if local is None:
            self.warn(field, f"{value!r} is not a valid {prefix} identifier; not linked", file, line)
        return local

    # -- the record -----------------------------------------------------------------------------------------------
    def build(self) -> Figure:
        fm = self.fm
        figid = self.required("figid")
        if not _is_iri_safe(figid):
            raise RecordError(self.file, "figid", f"{figid!r} contains characters not allowed in a figure IRI")
        pmcid_text = self.required("pmcid")
        pmcid = registry.normalize("pmc", pmcid_text)
        if pmcid is None:
            raise RecordError(self.file, "pmcid", f"{pmcid_text!r} is not a valid PMC id")
        title = self.required("figtitle")

        for key in fm:
            if key not in MAPPED_FIELDS and key not in IGNORED_FIELDS:
                self.warn(str(key), "unknown field; not converted")

        year = self.field("year")
        if year is not None and not (len(year.strip()) == 4 and _whole(year.strip())):
            self.warn("year", f"{year!r} is not a four-digit year; not converted")
            year = None
        doi = self.field("doi")
        if doi is not None:
            doi = self.identifier("doi", doi.strip(), "doi")

        article = Article(
            pmcid=pmcid,
            title=self.field("papertitle"),
            year=year.strip() if year else None,
            doi=doi,
            journal_title=self.field("journal_title"),
            journal_abbrev=self.field("journal_nlm_ta"),
            publisher=self.field("publisher_name"),
            citation=self.field("reftext"),
        )
        figlink = self.field("figlink")
        if figlink is not None:
            figlink = "/" + figlink.strip().lstrip("/")
        image_pmcid = pmcid
        if figlink and figlink.startswith("/pmc/articles/"):
            linked = registry.normalize("pmc", figlink.split("/")[3])
            image_pmcid = linked or pmcid
        filename = self.field("filename")
        if filename is not None and ("/" in filename or "\\" in filename or filename.strip() != filename):
            self.warn("filename", f"{filename!r} is not a plain file name; no image link")
            filename = None

        gene_taxa: dict[str, str] = {}
        mentions: list[Mention] = []
        companions: list[str] = []
        for list_name in COMPANION_KINDS:
            kind = _KIND_OF_LIST[list_name]
            companion = self.raw.companions.get(list_name)
            if list_name in fm:
                if companion is not None:
                    self.warn(list_name, "record lists them inline; companion file ignored", companion.path)
                mentions.extend(self.inline_mentions(kind, list_name, fm[list_name]))
            elif companion is not None:
                companions.append(companion.path)
                mentions.extend(self.tsv_mentions(kind, companion, gene_taxa))

        return Figure(
            figid=figid,
            file=self.file,
            layout="inline" if any(k in fm for k in COMPANION_KINDS) else "tsv",
            title=title,
            article=article,
            caption=self.field("caption"),
            number=self.field("number"),
            figtype=self.field("figtype"),
            alias=self.field("figid_alias"),
            image_file=filename,
            image_pmcid=image_pmcid,
            figlink=figlink,
            score=self.score(),
            rank_index=self.rank_index(),
            ndex=self.ndex(),
            keywords=self.keywords(),
            organisms=self.organisms("organisms", gene_taxa),
            organisms_ner=self.organisms("organisms_ner", gene_taxa),
            mentions=tuple(sorted(set(mentions), key=_mention_key)),
            companions=tuple(companions),
        )

    def score(self) -> str | None:
        for name in ("pathway_score", "automl_pathway"):
            value = self.fm.get(name)
            if value is None or (isinstance(value, str) and value.strip() in SENTINELS):
                continue
            try:
                if isinstance(value, bool):
                    raise InvalidOperation
                number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
            except (InvalidOperation, ValueError, TypeError):
                self.warn(name, f"{value!r} is not a number; not converted")
                continue
            if not number.is_finite() or not 0 <= number <= 1:
                self.warn(name, f"{value!r} is not a score between 0 and 1; not converted")
                continue
            text = format(number, "f")
            return text if "." in text else text + ".0"
        return None

    def rank_index(self) -> int | None:
        value = self.field("pmc_ranked_result_index")
        if value is None:
            return None
        if not _whole(value.strip()):
            self.warn("pmc_ranked_result_index", f"{value!r} is not a whole number; not converted")
            return None
        return int(value)

    def ndex(self) -> str | None:
        value = self.field("ndex")
        if value is None:
            return None
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            self.warn("ndex", f"{value!r} is not an NDEx network UUID; not converted")
            return None

    def keywords(self) -> tuple[str, ...]:
        value = self.fm.get("keywords")
        if value is None:
            return ()
        items = value if isinstance(value, list) else None
        if items is None:
            text = self.text(value, "keywords")
            items = text.split("|") if text else []
        out = []
        for i, item in enumerate(items):
            text = self.text(item, f"keywords[{i}]")
            if text is not None and text.strip() not in SENTINELS:
                out.append(" ".join(text.split()))
        return tuple(dict.fromkeys(out))

    def organisms(self, name: str, gene_taxa: dict[str, str]) -> tuple[Taxon, ...]:
        value = self.fm.get(name)
        if value is None:
            return ()
        if isinstance(value, str):
            items: list[Any] = value.split(",")
        elif isinstance(value, list):
            items = value
        else:
            self.warn(name, f"expected a list or text, found {type_name(value)}; ignored")
            return ()
        names = []
        for i, item in enumerate(items):
            text = self.text(item, f"{name}[{i}]")
            if text is not None and text.strip() not in SENTINELS:
                names.append(" ".join(text.split()))
        taxa = known_taxa()
        return tuple(Taxon(gene_taxa.get(n) or taxa.get(n), n) for n in dict.fromkeys(names))

    # -- entity lists ---------------------------------------------------------------------------------------------
    def inline_mentions(self, kind: Kind, list_name: str, items: Any) -> list[Mention]:
        if items is None:
            return []
        if not isinstance(items, list):
            self.warn(list_name, f"expected a list, found {type_name(items)}; ignored")
            return []
        out = []
        for i, item in enumerate(items):
            where = f"{list_name}[{i}]"
            if not isinstance(item, dict):
                self.warn(where, f"expected a mapping, found {type_name(item)}; ignored")
                continue
            word = self.text(item.get("word"), f"{where}.word")
            source = self.text(item.get("source"), f"{where}.source")
            if kind == "gene":
                matched = self.text(item.get("symbol"), f"{where}.symbol")
                local = self.identifier("ncbigene", self.text(item.get("entrez"), f"{where}.entrez"),
                                        f"{where}.entrez")
                name = self.text(item.get("hgnc_symbol"), f"{where}.hgnc_symbol")
                entity = (Entity("gene", "ncbigene", local, name, Taxon("9606", "Homo sapiens"))
                          if local else None)
            else:
                matched = None
                value = self.text(item.get("identifier"), f"{where}.identifier")
                prefix = _SOURCE_PREFIX.get((source or "").lower(), "mesh")
                local = self.identifier(prefix, value, f"{where}.identifier")
                entity = Entity(kind, prefix, local) if local else None
            if word is None and entity is None:
                self.warn(where, "neither a word nor an identifier; ignored")
                continue
            out.append(Mention(kind, word, matched, source, entity))
        return out

    def tsv_mentions(self, kind: Kind, table: Table, gene_taxa: dict[str, str]) -> list[Mention]:
        required = {"gene": ("word", "ncbigene_id"), "chemical": ("word", "mesh"), "disease": ("word", "mesh")}[kind]
        path, rows = table.path, table.rows
        missing = [c for c in required if c not in table.header]
        if missing and (rows or table.header):
            self.warn(", ".join(missing), "column missing from the header (is the header row missing?); file "
                                          "ignored", path, 1)
            return []
        out = []
        for number, row in enumerate(rows, start=2):
            def cell(column: str, row: dict[str, str] = row, number: int = number) -> str | None:
                return self.text(row.get(column), column, path, number)

            word = cell("word")
            if kind == "gene":
                taxid = self.identifier("ncbitaxon", cell("organism_id"), "organism_id", path, number)
                taxon = Taxon(taxid, cell("organism_name"), cell("organism_group")) if taxid else None
                if taxon and taxon.name:
                    gene_taxa.setdefault(taxon.name, taxid)  # type: ignore[arg-type]  # taxon is made only with a taxid
                local = self.identifier("ncbigene", cell("ncbigene_id"), "ncbigene_id", path, number)
                entity = Entity("gene", "ncbigene", local, cell("ncbigene_symbol"), taxon) if local else None
                counts = []
                for column in ("count_direct", "count_synonym", "count_match"):
                    value = cell(column)
                    if value is not None and _whole(value.strip()):
                        counts.append((column, int(value)))
                    elif value is not None:
                        self.warn(column, f"{value!r} is not a whole number; not converted", path, number)
                mention = Mention("gene", word, cell("match"), cell("source"), entity, tuple(counts))
            else:
                other = "chebi" if kind == "chemical" else "doid"
                mesh = self.identifier("mesh", cell("mesh"), "mesh", path, number)
                xref = self.identifier(other, cell(other), other, path, number)
                matched, name = cell("match"), cell("name")
                if mesh:
                    entity = Entity(kind, "mesh", mesh, matched, None, ((other, xref),) if xref else ())
                elif xref:
                    entity = Entity(kind, other, xref, name)
                else:
                    entity = None
                mention = Mention(kind, word, matched, None, entity)
            if mention.word is None and mention.entity is None:
                self.warn("word", "neither a word nor an identifier; row ignored", path, number)
                continue
            out.append(mention)
        return out


def build_figure(raw: RawRecord) -> tuple[Figure, list[RecordError]]:
    """Normalise a raw record; raises :class:`RecordError` when it cannot become a figure."""
    builder = _Builder(raw)
    figure = builder.build()
    return figure, builder.warnings


def _mention_key(m: Mention) -> tuple[str, str, str, str, str, tuple[tuple[str, int], ...]]:
    return (m.kind, m.entity.curie if m.entity else "", m.word or "", m.matched or "", m.source or "", m.counts)


# Characters a value may have: far above any real PFOCR field (captions run to a few thousand), and it keeps every
# literal within what parsers and stores read (Oxigraph reads a line of at most 16 MiB; Virtuoso takes 10 MB in
# one request).
MAX_TEXT = 1 << 20


def _too_long(value: str) -> str:
    return f"{len(value):,} characters, over the {MAX_TEXT:,} a value may have"


FIGID_PATTERN = r"[A-Za-z0-9._~!$&'()*+,;=:@-]+"
_FIGID = re.compile(FIGID_PATTERN)


def _is_iri_safe(text: str) -> bool:
    """A figid becomes an IRI path segment and a file name: printable ASCII without delimiters or spaces."""
    return _FIGID.fullmatch(text) is not None
