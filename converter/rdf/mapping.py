"""The mapping from the typed model to RDF: the one place where record fields become triples.

``docs/mapping.md`` documents this module row by row. A figure maps to blocks of triples::

    >>> blocks = figure_blocks(figure, Registry("slash"))    # doctest: +SKIP
    >>> blocks[0].key is None and blocks[0].triples[0][0]    # doctest: +SKIP
    'https://pfocr.wikipathways.org/figures/PMC7957022__fcell-09-641469-g005.html'

The first block holds the figure and its mentions. The others are nodes shared between figures (the article,
its journal and publisher), keyed by IRI so the writer emits each once. Genes, chemicals, diseases and taxa are
merged across the whole dataset by :class:`EntityIndex` and written at the end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import quote

from ..records.identifiers import Registry, iri_escape
from ..records.model import Entity, Figure, Mention, Taxon
from .kinds import ENTITY_KINDS, KINDS
from .terms import Literal, Triple
from .vocab import CC0, DOI_RESOLVER, FIGURES, NDEX_NETWORK, PMC_SITE, RDF_TYPE, SITE, pfocr, schema, xsd

ENTITY_CLASS = {kind: KINDS[kind].classes[0] for kind in ENTITY_KINDS}
MENTION_CLASS = {kind: cast("str", KINDS[kind].mention_class) for kind in ENTITY_KINDS}
_FIGURE_CLASSES, _MENTION = KINDS["figure"].classes, KINDS["mention"].classes[0]
_ARTICLE, _JOURNAL, _PUBLISHER, _TAXON = (KINDS[k].classes[0] for k in ("article", "journal", "publisher", "taxon"))
_HAS_MENTION, _WORD, _MATCHED, _SOURCE, _ENTITY = (
    pfocr(name) for name in ("hasMention", "word", "matchedSymbol", "matchSource", "entity"))
_INTEGER = xsd("integer")
COUNT_PROPERTY = {"count_direct": pfocr("countDirect"), "count_synonym": pfocr("countSynonym"),
                  "count_match": pfocr("countMatch")}


@dataclass
class Block:
    """Triples about one or more subjects; ``key`` names a shared node to write once per dataset."""

    key: str | None
    triples: list[Triple]


def figure_iri(figid: str) -> str:
    return f"{FIGURES}{figid}.html"


def article_iri(ids: Registry, pmcid: str) -> str:
    return ids.iri("pmc", pmcid)


def taxon_iri(ids: Registry, taxon: Taxon) -> str:
    if taxon.taxid:
        return ids.iri("ncbitaxon", taxon.taxid)
    return f"{SITE}organisms/{quote(taxon.name or '', safe='')}"


def entity_iri(ids: Registry, entity: Entity) -> str:
    return ids.iri(entity.prefix, entity.local)


def mention_iri(fig_iri: str, m: Mention) -> str:
    counts = ",".join([f"{k}={v}" for k, v in m.counts]) if m.counts else ""
    key = "\x1f".join((m.kind, m.entity.curie if m.entity else "", m.word or "", m.matched or "", m.source or "",
                       counts))
    return f"{fig_iri}#mention-{hashlib.sha1(key.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"


def _text(s: str, p: str, value: str | None, out: list[Triple]) -> None:
    if value is not None:
        out.append((s, p, Literal(value)))


def figure_blocks(fig: Figure, ids: Registry) -> list[Block]:
    """The figure block first, then the article's shared blocks; identifiers.org IRIs are minted by ``ids``."""
    s = figure_iri(fig.figid)
    art = article_iri(ids, fig.article.pmcid)
    t: list[Triple] = [(s, RDF_TYPE, cls) for cls in _FIGURE_CLASSES]
    t += [
        (s, schema("identifier"), Literal(fig.figid)),
        (s, schema("name"), Literal(fig.title)),
    ]
    _text(s, schema("caption"), fig.caption, t)
    _text(s, schema("alternateName"), fig.alias, t)
    _text(s, pfocr("figureNumber"), fig.number, t)
    _text(s, pfocr("figureType"), fig.figtype, t)
    if fig.image_file:
        t.append((s, schema("contentUrl"),
                  f"{PMC_SITE}/pmc/articles/{fig.image_pmcid}/bin/{iri_escape(fig.image_file)}"))
    if fig.figlink:
        t.append((s, schema("url"), PMC_SITE + iri_escape(fig.figlink)))
    t.append((s, schema("license"), CC0))
    t.append((s, schema("isPartOf"), art))
    for keyword in fig.keywords:
        t.append((s, schema("keywords"), Literal(keyword)))
    if fig.score is not None:
        t.append((s, pfocr("pathwayScore"), Literal(fig.score, xsd("decimal"))))
    if fig.rank_index is not None:
        t.append((s, pfocr("pmcRankedResultIndex"), Literal(str(fig.rank_index), xsd("integer"))))
    if fig.ndex:
        t.append((s, pfocr("ndexNetwork"), NDEX_NETWORK + fig.ndex))
    for taxon in fig.organisms:
        t.append((s, schema("about"), taxon_iri(ids, taxon)))
    for taxon in fig.organisms_ner:
        t.append((s, schema("mentions"), taxon_iri(ids, taxon)))
    targets = [entity_iri(ids, m.entity) if m.entity else None for m in fig.mentions]
    t.extend((s, schema("mentions"), e) for e in dict.fromkeys(e for e in targets if e))

    mention_triples: list[Triple] = []
    add = mention_triples.append
    seen: set[str] = set()
    for m, target in zip(fig.mentions, targets):  # a figure's mentions are most of the graph: the short way
        mi = mention_iri(s, m)
        if mi in seen:  # the same mention again: the same IRI and the same triples
            continue
        seen.add(mi)
        t.append((s, _HAS_MENTION, mi))
        add((mi, RDF_TYPE, _MENTION))
        add((mi, RDF_TYPE, MENTION_CLASS[m.kind]))
        if m.word is not None:
            add((mi, _WORD, Literal(m.word)))
        if m.matched is not None:
            add((mi, _MATCHED, Literal(m.matched)))
        if m.source is not None:
            add((mi, _SOURCE, Literal(m.source)))
        if target:
            add((mi, _ENTITY, target))
        for name, value in m.counts:
            add((mi, COUNT_PROPERTY[name], Literal(str(value), _INTEGER)))
    blocks = [Block(None, list(dict.fromkeys(t)) + mention_triples)]
    blocks.extend(_article_blocks(fig, art, ids))
    return blocks


def _article_blocks(fig: Figure, art: str, ids: Registry) -> list[Block]:
    a = fig.article
    t: list[Triple] = [
        (art, RDF_TYPE, _ARTICLE),
        (art, schema("identifier"), Literal(a.pmcid)),
    ]
    _text(art, schema("name"), a.title, t)
    if a.year:
        t.append((art, schema("datePublished"), Literal(a.year, xsd("gYear"))))
    _text(art, schema("creditText"), a.citation, t)
    t.append((art, schema("sameAs"), ids.alternate_iri("pmc", a.pmcid)))
    if a.doi:
        t.append((art, schema("sameAs"), DOI_RESOLVER + iri_escape(a.doi)))
    blocks = []
    journal_name = a.journal_abbrev or a.journal_title
    if journal_name:
        journal = f"{SITE}journals/{quote(journal_name, safe='')}"
        t.append((art, schema("isPartOf"), journal))
        j: list[Triple] = [(journal, RDF_TYPE, _JOURNAL)]
        _text(journal, schema("name"), a.journal_title or a.journal_abbrev, j)
        if a.journal_title and a.journal_abbrev:
            j.append((journal, schema("alternateName"), Literal(a.journal_abbrev)))
        blocks.append(Block(journal, j))
    if a.publisher:
        publisher = f"{SITE}publishers/{quote(a.publisher, safe='')}"
        t.append((art, schema("publisher"), publisher))
        blocks.append(Block(publisher, [(publisher, RDF_TYPE, _PUBLISHER),
                                        (publisher, schema("name"), Literal(a.publisher))]))
    return [Block(art, t), *blocks]


@dataclass
class _Merged:
    kinds: set[str]  # a MeSH descriptor may be a chemical in one figure and a disease in another
    prefix: str
    local: str
    name: str | None
    taxon: Taxon | None
    xrefs: set[tuple[str, str]] = field(default_factory=set)


class EntityIndex:
    """Genes, chemicals, diseases and taxa of the whole dataset, each written once.

    Facts are merged in record order (figid order): the first name and taxon seen win; cross-references add up.
    Memory grows with the number of distinct entities, not with the number of figures.
    """

    def __init__(self, ids: Registry) -> None:
        self.ids = ids  # mints the entities' and taxa's IRIs
        self.entities: dict[str, _Merged] = {}
        self.taxa: dict[str, Taxon] = {}

    def add_figure(self, fig: Figure) -> None:
        for taxon in (*fig.organisms, *fig.organisms_ner):
            self.add_taxon(taxon)
        for m in fig.mentions:
            if m.entity:
                self.add(m.entity)

    def add(self, e: Entity) -> bool:
        """Merge ``e``; returns whether that changed what the entity's block says (its taxon's aside)."""
        iri = entity_iri(self.ids, e)
        merged = self.entities.get(iri)
        if merged is None:
            merged = self.entities[iri] = _Merged({e.kind}, e.prefix, e.local, e.name, e.taxon)
            changed = True
        else:
            changed = (e.kind not in merged.kinds or (merged.name is None and e.name is not None)
                       or (merged.taxon is None and e.taxon is not None))
            merged.kinds.add(e.kind)
            merged.name = merged.name or e.name
            merged.taxon = merged.taxon or e.taxon
        if not merged.xrefs.issuperset(e.xrefs):
            merged.xrefs.update(e.xrefs)
            changed = True
        if e.taxon:
            self.add_taxon(e.taxon)
        return changed

    def add_taxon(self, taxon: Taxon) -> None:
        iri = taxon_iri(self.ids, taxon)
        known = self.taxa.get(iri)
        if known is None or (known.name is None and taxon.name) or (known.group is None and taxon.group):
            self.taxa[iri] = Taxon(taxon.taxid, (known and known.name) or taxon.name,
                                   (known and known.group) or taxon.group)

    def entity_triples(self, iri: str) -> list[Triple]:
        """The triples of the entity ``iri``, as merged so far."""
        m = self.entities[iri]
        t: list[Triple] = [(iri, RDF_TYPE, ENTITY_CLASS[kind]) for kind in sorted(m.kinds)]
        t.append((iri, schema("identifier"), Literal(f"{m.prefix}:{m.local}")))
        _text(iri, schema("name"), m.name, t)
        if m.taxon:
            t.append((iri, schema("taxonomicRange"), taxon_iri(self.ids, m.taxon)))
        t.append((iri, schema("sameAs"), self.ids.alternate_iri(m.prefix, m.local)))
        for prefix, local in sorted(m.xrefs):
            t.append((iri, schema("sameAs"), self.ids.iri(prefix, local)))
        return t

    def taxon_triples(self, iri: str) -> list[Triple]:
        """The triples of the taxon ``iri``, as merged so far."""
        taxon = self.taxa[iri]
        t: list[Triple] = [(iri, RDF_TYPE, _TAXON)]
        if taxon.taxid:
            t.append((iri, schema("identifier"), Literal(f"ncbitaxon:{taxon.taxid}")))
            t.append((iri, schema("sameAs"), self.ids.alternate_iri("ncbitaxon", taxon.taxid)))
        _text(iri, schema("name"), taxon.name, t)
        _text(iri, pfocr("organismGroup"), taxon.group, t)
        return t

    def blocks(self) -> Iterator[Block]:
        """A block per entity, then per taxon, each in IRI order; made one at a time, as they are written."""
        for iri in sorted(self.entities):
            yield Block(iri, self.entity_triples(iri))
        for iri in sorted(self.taxa):
            yield Block(iri, self.taxon_triples(iri))
