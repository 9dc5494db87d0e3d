"""The entities of a figure page as its lists show them (one entry per entity, with the words and sources it was
found by), and the gene lists users download from it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from .terms import _HUMAN, _NCBIGENE, _short


@dataclass
class Entity:
    iri: str
    name: str

    @property
    def curie(self) -> str:
        return _short(self.iri)


@dataclass
class Mention:
    word: str
    symbol: str
    source: str


@dataclass
class Entry:
    """One gene, chemical or disease of a figure with the ways it was found there (or, without ``iri``, a mention
    whose identifier was not valid: the word is all there is)."""

    kind: str  # genes, chemicals, diseases
    iri: str
    name: str
    identifier: str
    taxon: str = ""
    taxon_name: str = ""
    mentions: list[Mention] = field(default_factory=list)

    @property
    def curie(self) -> str:
        return _short(self.iri) if self.iri else ""

    @property
    def label(self) -> str:
        """The name the record gives, else the first OCR word (the page says which it is)."""
        return self.name or next((m.word for m in self.mentions if m.word), "") or self.curie

    @property
    def anchor(self) -> str:
        key = self.iri.rsplit("/", 1)[-1] if self.iri else self.label
        return f"{self.kind[:-1]}-" + re.sub(r"[^A-Za-z0-9_.:-]+", "_", key)

    @property
    def gene_id(self) -> str:
        return self.iri[len(_NCBIGENE):] if self.iri.startswith(_NCBIGENE) else ""

    @property
    def links(self) -> list[tuple[str, str]]:
        """Where else to read about it: the source databases, then identifiers.org."""
        out: list[tuple[str, str]] = []
        if self.gene_id:
            out.append(("NCBI Gene", f"https://www.ncbi.nlm.nih.gov/gene/{self.gene_id}"))
            if self.taxon == _HUMAN and self.name:  # HGNC names human genes only
                out.append(("HGNC", "https://www.genenames.org/data/gene-symbol-report/#!/symbol/"
                            + quote(self.name, safe="")))
        elif self.iri.startswith("https://identifiers.org/mesh/"):
            out.append(("MeSH", "https://meshb.nlm.nih.gov/record/ui?ui=" + quote(self.iri.rsplit("/", 1)[-1])))
        if self.iri:
            out.append(("identifiers.org", self.iri))
        return out

    @property
    def terms(self) -> str:
        """What the filter box matches, lower-cased."""
        words = [self.name, self.curie, self.gene_id, *(m.word for m in self.mentions),
                 *(m.symbol for m in self.mentions)]
        return " ".join(w for w in words if w).lower()


def gene_list(genes: list[Entry], fmt: str) -> str:
    """A figure's genes for an enrichment tool: symbols one a line (txt), or a table with NCBI Gene ids (tsv)."""
    if fmt == "txt":
        return "".join(f"{g.label}\n" for g in genes)
    lines = ["symbol\tncbigene_id\ttaxon_id\ttaxon_name\twords\tmatched\tsources"]
    for g in genes:
        cells = [g.label, g.gene_id, g.taxon.rsplit("/", 1)[-1] if g.taxon else "", g.taxon_name,
                 "; ".join(dict.fromkeys(m.word for m in g.mentions if m.word)),
                 "; ".join(dict.fromkeys(m.symbol for m in g.mentions if m.symbol)),
                 "; ".join(dict.fromkeys(m.source for m in g.mentions if m.source))]
        lines.append("\t".join(re.sub(r"[\t\r\n]+", " ", c) for c in cells))
    return "\n".join(lines) + "\n"


def _match_kind(source: str) -> str:
    """The kind of match ``figures-for-gene-by-match`` names a match source by."""
    if source in ("hgnc_symbol", "ncbigene_symbol"):
        return "exact"
    return "family" if source in ("bioentities_symbol", "famplex_relations") else "synonym"


def _unique(entities: Iterable[Entity]) -> list[Entity]:
    return list({e.iri: e for e in entities}.values())
