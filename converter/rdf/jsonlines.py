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
from collections.abc import Callable
from typing import Any, Final, Literal, Protocol, cast
from urllib.parse import urljoin

from ..records.model import Taxon
from .formats import CONTEXT_FILE
from .mapping import EntityIndex, taxon_iri
from .terms import Link, json_key, json_node, json_value
from .vocab import TERMS
from .writers import context_text

_MEMO = 1 << 16  # nodes kept as text (about 16 MiB of them); past that the memo starts again
_NODE: Final = 0  # what a remembered text is: a node pointing to no taxon,
_TAXON: Final = 1  # or a taxon
_Kind = Literal[0, 1] | str  # _NODE, _TAXON, or the IRI of the taxon an entity names
_Text = tuple[bytes, Taxon | None, _Kind]  # a node's text, the Taxon it was made of (a taxon's), and its kind


class Keeper(Protocol):
    """Where the lines keep the shared nodes' text past the memo (:class:`converter.pipeline.worklist.WorkList`)."""

    def keep(self, key: str, value: bytes) -> None: ...

    def kept(self, key: str) -> bytes | None: ...


class FigureLines:
    """Completes lines: remembers the shared nodes (articles, journals, publishers) as first written, renders the
    entities and taxa of ``entities`` as merged so far, and writes what a figure's line points to.

    An entity names its taxon by IRI; the line carries each taxon its entities name once, where the figure names
    it (``about``, ``mentions``) or else in ``@included``. Embedded in every entity, the taxa were more than a third
    of the text the lines embed."""

    def __init__(self, entities: EntityIndex, work: Keeper) -> None:
        self.entities = entities
        self.work = work
        self._shared: dict[str, tuple[str, list[Link]]] = {}  # key -> open text and links, most recent ones
        # IRI -> the node's text, and what it depends on besides the merges :meth:`changed` reports: a taxon's text
        # is good while the index holds the same Taxon (add_taxon replaces one it learns more of); an entity's
        # names its taxon's IRI (or _NODE), which the line must then carry
        self._texts: dict[str, _Text] = {}
        self._taxon_iris: dict[Taxon, str] = {}
        self._keys: dict[str, tuple[bytes, bool]] = {}  # property -> its key's text, and whether it is a @set

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
        named: dict[str, None] = {}  # the taxa its entities name, in order
        embedded: set[str] = set()  # the taxa the figure itself names, written where it names them
        parts = self._members(links, named, embedded)
        included = [self._written(iri) for iri in named if iri not in embedded]
        if included:
            parts.append(b',"@included":[' + b",".join(included) + b"]")
        parts.append(b"}\n")
        return b"".join(parts)

    def _members(self, links: list[Link], named: dict[str, None], embedded: set[str]) -> list[bytes]:
        by_property: dict[str, list[bytes]] = {}
        for predicate, target in links:
            node = self._node(target) if target.__class__ is str else None
            if node is None:
                text = json_value(TERMS.get(predicate), target).encode("utf-8")
            else:
                text, kind = node[0], node[2]
                if kind == _TAXON:
                    embedded.add(cast("str", target))  # a node: an IRI
                elif kind != _NODE:
                    named[kind] = None
            values = by_property.get(predicate)
            if values is None:
                by_property[predicate] = [text]
            else:
                values.append(text)
        parts: list[bytes] = []
        for predicate, values in by_property.items():
            key = self._keys.get(predicate)
            if key is None:
                name, many = json_key(predicate)
                key = self._keys[predicate] = (b"," + name.encode("utf-8"), many)
            if len(values) == 1 and not key[1]:
                parts += (key[0], values[0])
            else:
                parts += (key[0], b"[", b",".join(values), b"]")
        return parts

    def _written(self, iri: str) -> bytes:
        """The text of a node written here (a taxon an entity names)."""
        node = self._node(iri)
        assert node is not None, iri
        return node[0]

    def _node(self, iri: str) -> _Text | None:
        """The text of the node ``iri`` as the dump has it, and what it is (:data:`_TAXON`, :data:`_NODE` or the
        IRI of the taxon an entity names), or None when no one here writes it."""
        memo = self._texts.get(iri)
        entities = self.entities
        if memo is not None and (memo[2] is not _TAXON or memo[1] is entities.taxa.get(iri)):
            return memo
        merged = entities.entities.get(iri)
        if merged is not None:
            text = json_node(entities.entity_triples(iri))
            kind: _Kind = self._iri(merged.taxon) if merged.taxon else _NODE
            stamp = None
        elif (taxon := entities.taxa.get(iri)) is not None:
            text, kind, stamp = json_node(entities.taxon_triples(iri)), _TAXON, taxon
        else:
            value = self._shared.get(iri)
            if value is None:
                kept = self.work.kept(iri)
                if kept is None:
                    return None  # written by no one here: the line gives its IRI
                value = pickle.loads(kept)  # kept by this process: trusted (what shared() dumped)
            text = value[0] + b"".join(self._members(value[1], {}, set())).decode("utf-8") + "}"
            kind, stamp = _NODE, None
        if len(self._texts) >= _MEMO:
            self._texts.clear()
        memo = self._texts[iri] = (text.encode("utf-8"), stamp, kind)
        return memo

    def _iri(self, taxon: Taxon) -> str:
        iri = self._taxon_iris.get(taxon)
        if iri is None:
            if len(self._taxon_iris) >= _MEMO:
                self._taxon_iris.clear()
            iri = self._taxon_iris[taxon] = taxon_iri(self.entities.ids, taxon)
        return iri


def context_loader(base: str) -> Callable[[str, dict[str, Any] | None], dict[str, Any]]:
    """A pyld document loader that serves ``context.jsonld`` beside ``base`` (the IRI a line is read from), from
    the package, and refuses any other document: reading the dumps fetches nothing from the network."""
    from pyld import jsonld  # only readers need it: a build does not load it

    served = urljoin(base, CONTEXT_FILE)

    def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        if url != served:
            raise jsonld.JsonLdError(f"only {served} is loaded, not {url}", "loading document failed")
        return {"contextUrl": None, "documentUrl": url, "document": json.loads(context_text())}

    return load
