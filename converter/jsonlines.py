"""The lines of ``pfocr.jsonl``: one JSON-LD document per figure that needs no other line.

A worker writes the figure's own part of its line, mentions included; what the line embeds of nodes written once
per dataset (its article with journal and publisher, the taxa and entities it mentions) is added here, in the
parent, as the dumps have those nodes: an article as the first figure that has it wrote it, an entity as merged
from the figures up to this one (docs/json.md). That keeps every line's triples a subset of the dump's, and the
line the same whichever worker made the figure's part or whether it came from the last build.
"""

from __future__ import annotations

import json
import pickle
from urllib.parse import urljoin

from .formats import CONTEXT_FILE
from .mapping import EntityIndex, taxon_iri
from .model import Taxon
from .rdf import Link, json_member, json_node, json_value
from .vocab import TERMS
from .worklist import WorkList
from .writers import context_text

_MEMO = 1 << 14  # nodes kept as text; past that the memo starts again (a shared node is then read from the list)


class FigureLines:
    """Completes lines: remembers the shared nodes (articles, journals, publishers) as first written, renders the
    entities and taxa of ``entities`` as merged so far, and writes what a figure's line points to."""

    def __init__(self, entities: EntityIndex, work: WorkList) -> None:
        self.entities = entities
        self.work = work
        self._shared: dict[str, tuple[str, list[Link]]] = {}  # key -> open text and links, most recent ones
        # IRI -> node text, and the taxon it embeds as it was then (add_taxon replaces a taxon it learns more of)
        self._texts: dict[str, tuple[str, object]] = {}
        self._taxon_iris: dict[Taxon, str] = {}

    def shared(self, key: str, text: bytes, links: list[Link]) -> None:
        """The shared node ``key`` as the dump has it: its open text and its links."""
        value = (text.decode("utf-8"), links)
        if len(self._shared) >= _MEMO:
            self._shared.clear()
        self._shared[key] = value
        self.work.keep(key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def changed(self, iri: str) -> None:
        """The entity ``iri`` was merged with more facts."""
        self._texts.pop(iri, None)

    def tail(self, links: list[Link]) -> bytes:
        """The rest of a figure's line after its own part: what it points to, the closing brace and line break."""
        return (self._members(links) + "}\n").encode("utf-8")

    def _members(self, links: list[Link]) -> str:
        by_property: dict[str, list[str]] = {}
        for predicate, target in links:
            text = self._node(target) if target.__class__ is str else None
            if text is None:
                text = json_value(TERMS.get(predicate), target)
            by_property.setdefault(predicate, []).append(text)
        return "".join("," + json_member(predicate, values) for predicate, values in by_property.items())

    def _node(self, iri: str) -> str | None:
        entities = self.entities
        merged = entities.entities.get(iri)
        if merged is not None:
            taxon = merged.taxon and entities.taxa.get(self._taxon_iris.get(merged.taxon) or self._iri(merged.taxon))
        else:
            taxon = entities.taxa.get(iri)
        memo = self._texts.get(iri)
        if memo is not None and memo[1] is taxon:
            return memo[0]
        if merged is not None:
            text = json_node(entities.entity_triples(iri), self._taxon)
        elif taxon is not None:
            text = json_node(entities.taxon_triples(iri))
        else:
            value = self._shared.get(iri)
            if value is None:
                kept = self.work.kept(iri)
                if kept is None:
                    return None  # written by no one here: the line gives its IRI
                value = pickle.loads(kept)  # kept by this process: trusted
            text = value[0] + self._members(value[1]) + "}"
        if len(self._texts) >= _MEMO:
            self._texts.clear()
        self._texts[iri] = (text, taxon)
        return text

    def _iri(self, taxon: Taxon) -> str:
        if len(self._taxon_iris) >= _MEMO:
            self._taxon_iris.clear()
        iri = self._taxon_iris[taxon] = taxon_iri(taxon)
        return iri

    def _taxon(self, iri: str) -> str | None:
        return self._node(iri) if iri in self.entities.taxa else None


def context_loader(base: str):
    """A pyld document loader that serves ``context.jsonld`` beside ``base`` (the IRI a line is read from), from
    the package, and refuses any other document: reading the dumps fetches nothing from the network."""
    from pyld import jsonld  # only readers need it: a build does not load it

    served = urljoin(base, CONTEXT_FILE)

    def load(url: str, options: dict | None = None) -> dict:
        if url != served:
            raise jsonld.JsonLdError(f"only {served} is loaded, not {url}", "loading document failed")
        return {"contextUrl": None, "documentUrl": url, "document": json.loads(context_text())}

    return load
