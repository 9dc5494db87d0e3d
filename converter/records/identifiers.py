"""Identifier checking and IRI minting, driven by a copy of the Bioregistry data (``data/identifiers.json``).

Every CURIE is checked against its prefix's Bioregistry pattern before an IRI is minted::

    >>> from converter.records.identifiers import registry
    >>> registry.iri("ncbigene", "7099")
    'https://identifiers.org/ncbigene/7099'
    >>> registry.iri("chebi", "chebi:15422")
    'https://identifiers.org/chebi/CHEBI:15422'
    >>> registry.alternate_iri("ncbigene", "7099")
    'https://identifiers.org/ncbigene:7099'
    >>> registry.normalize("mesh", "X123") is None  # not a MeSH id (MeSH ids are C, D or Q and digits)
    True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal
from urllib.parse import quote

IRIStyle = Literal["slash", "colon"]
IDENTIFIERS_ORG = "https://identifiers.org/"

# Characters allowed in an IRI without escaping (RFC 3987 iunreserved/sub-delims plus '/', ':', '@', '%').
_IRI_SAFE = "/:@!$&'()*+,;=-._~%"


_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def iri_escape(text: str) -> str:
    """Percent-encode everything that could break an IRI in N-Triples, Turtle or a file path.

    Existing ``%XX`` escapes are kept; a stray ``%`` becomes ``%25``.
    """
    return quote(_STRAY_PERCENT.sub("%25", text), safe=_IRI_SAFE)


@dataclass(frozen=True)
class Namespace:
    """One identifier namespace: its Bioregistry prefix, pattern and identifiers.org spelling."""

    prefix: str
    pattern: re.Pattern[str] | None
    banana: str | None
    idorg_prefix: str

    def local_id(self, value: str) -> str | None:
        """The local identifier of ``value`` (a bare id or a CURIE in any case), or None when invalid."""
        text = value.strip()
        head, sep, tail = text.partition(":")
        if sep and head.lower() in {self.prefix, self.idorg_prefix.lower()}:
            text = tail
        if self.banana and text.upper().startswith(self.banana.upper() + ":"):
            text = text[len(self.banana) + 1 :]
        if not text:
            return None
        if self.pattern is not None and not self.pattern.fullmatch(text):
            return None
        return text

    def curie(self, local: str) -> str:
        return f"{self.prefix}:{local}"

    def slash_iri(self, local: str) -> str:
        shown = f"{self.banana}:{local}" if self.banana and self.banana != self.prefix else local
        return f"{IDENTIFIERS_ORG}{self.idorg_prefix}/{iri_escape(shown)}"

    def colon_iri(self, local: str) -> str:
        if self.banana and self.banana != self.prefix:
            return f"{IDENTIFIERS_ORG}{iri_escape(self.banana)}:{iri_escape(local)}"
        return f"{IDENTIFIERS_ORG}{self.idorg_prefix}:{iri_escape(local)}"


class Registry:
    """The namespaces listed in ``data/identifiers.json``, with patterns from Bioregistry."""

    def __init__(self, style: IRIStyle = "slash") -> None:
        self._style: IRIStyle = style
        self._minted: dict[tuple[str, str, bool], str] = {}  # ids repeat across figures: mint each IRI once
        self.namespaces = _namespaces()  # a small file, read when the registry is made (before workers fork)

    @property
    def style(self) -> IRIStyle:
        """How primary IRIs are spelled; fixed for the registry's life (a conversion makes its own)."""
        return self._style

    def namespace(self, prefix: str) -> Namespace:
        return self.namespaces[prefix]

    def normalize(self, prefix: str, value: str) -> str | None:
        """The validated local id of ``value`` in namespace ``prefix``, or None when it is invalid."""
        return self.namespaces[prefix].local_id(value)

    def iri(self, prefix: str, value: str) -> str:
        """The primary identifiers.org IRI, in the registry's style; ``value`` must be valid."""
        iri = self._minted.get((prefix, value, self.style == "slash"))  # nearly always there: no second call
        return iri if iri is not None else self._mint(prefix, value, self.style == "slash")

    def alternate_iri(self, prefix: str, value: str) -> str:
        """The other identifiers.org form, linked to the primary IRI with ``schema:sameAs``."""
        return self._mint(prefix, value, self.style != "slash")

    def _mint(self, prefix: str, value: str, slash: bool) -> str:
        key = (prefix, value, slash)
        iri = self._minted.get(key)
        if iri is None:
            ns = self.namespaces[prefix]
            local = ns.local_id(value)
            if local is None:
                raise ValueError(f"{value!r} is not a valid {prefix} identifier")
            if len(self._minted) >= 1 << 16:  # articles are new in nearly every figure: bounded, like the rdf memos
                self._minted.clear()
            iri = self._minted[key] = ns.slash_iri(local) if slash else ns.colon_iri(local)
        return iri

    def local_id_prefix(self, prefix: str) -> str:
        """Everything a primary IRI of this namespace holds before the local id (the banana included)."""
        ns = self.namespaces[prefix]
        return ns.slash_iri("") if self.style == "slash" else ns.colon_iri("")

    def namespace_iri(self, prefix: str) -> str:
        """The IRI prefix every primary IRI of this namespace starts with (for VoID linksets and shapes)."""
        ns = self.namespaces[prefix]
        if self.style == "slash":
            return f"{IDENTIFIERS_ORG}{ns.idorg_prefix}/"
        if ns.banana and ns.banana != prefix:
            return f"{IDENTIFIERS_ORG}{ns.banana}:"
        return f"{IDENTIFIERS_ORG}{ns.idorg_prefix}:"


def _namespaces() -> dict[str, Namespace]:
    return {
        prefix: Namespace(
            prefix=prefix,
            pattern=re.compile(entry["pattern"], re.ASCII) if entry["pattern"] else None,  # \d: ASCII digits only
            banana=entry["banana"],
            idorg_prefix=entry["identifiers_org"],
        )
        for prefix, entry in _listed()["namespaces"].items()
    }


def _listed() -> dict[str, Any]:
    listed: dict[str, Any] = json.loads(resources.files("converter.data").joinpath("identifiers.json").read_text())
    return listed


def snapshot() -> dict[str, Any]:
    """``data/identifiers.json`` as the installed Bioregistry gives it: each listed namespace's pattern, banana and
    identifiers.org prefix. The file keeps a copy because importing Bioregistry takes over a second, on every run
    of every command; tests/test_identifiers.py checks that the copy still matches (``make identifiers`` renews
    it)::

        >>> snapshot()["namespaces"]["chebi"]["banana"]   # doctest: +SKIP
        'CHEBI'
    """
    from importlib.metadata import version

    import bioregistry

    listed = _listed()
    for prefix, entry in listed["namespaces"].items():
        resource = bioregistry.get_resource(prefix)
        if resource is None:
            raise LookupError(f"Bioregistry has no prefix {prefix!r}")
        entry.update(pattern=resource.get_pattern(), banana=resource.get_banana(),
                     identifiers_org=bioregistry.get_identifiers_org_prefix(prefix) or prefix)
    listed["bioregistry"] = version("bioregistry")
    return listed


# Checking ids does not depend on the IRI style: the model checks with this one. What mints IRIs is handed the
# conversion's own Registry (docs/mapping.md: the IRI style is a conversion's option, never the process's).
registry = Registry()
