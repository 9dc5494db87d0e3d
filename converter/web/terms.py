"""How the site names, links and prints the dataset's terms: the formats a dereferenced IRI is offered in, the
page kinds of each class, site paths of IRIs, table cells of query results, and numbers and long words for
people."""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypedDict, cast

import pyoxigraph as ox
from markupsafe import Markup
from pyld import jsonld

from ..rdf.formats import MEDIA_TYPES, OXIGRAPH
from ..rdf.kinds import KINDS
from ..rdf.terms import quote_string
from ..rdf.vocab import PREFIXES, SITE
from .protocol import negotiate

DEREFERENCED = ("ttl", "nt", "jsonld")  # the formats a dereferenced IRI is offered in
RDF_TYPES = {MEDIA_TYPES[fmt]: OXIGRAPH[fmt] for fmt in DEREFERENCED}  # media type -> pyoxigraph format
ENTITY_KINDS = [(kind.classes[0], kind.heading) for kind in KINDS.values() if kind.heading]  # a figure page's lists
MENTION_KINDS = {kind.mention_class: kind.list for kind in KINDS.values() if kind.mention_class and kind.list}
# The figure images are PMC's (schema:contentUrl). PMC answers those addresses by redirecting to its new site and
# its CDN, and a Content-Security-Policy checks every hop, so pages may load images from these NCBI hosts and no
# other; the server itself never fetches them.
IMAGE_HOSTS = ("https://www.ncbi.nlm.nih.gov", "https://pmc.ncbi.nlm.nih.gov", "https://cdn.ncbi.nlm.nih.gov")
VOCAB = SITE + "vocab"
VOCAB_FILE = "vocab.ttl"
DUMP_FILES = ("pfocr.nt", "pfocr.nq", "pfocr.ttl", "pfocr.jsonld", "void.ttl")  # what may be served beside a store
DUMP_TYPES = {**{f"pfocr.{fmt}": media for fmt, media in MEDIA_TYPES.items()}, "void.ttl": "text/turtle"}
_VOID = "http://rdfs.org/ns/void#"
_DCAT = "http://www.w3.org/ns/dcat#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_STATISTICS = SITE + "graph/statistics"
VENDOR_FILES = ("yasgui.min.js", "yasgui.min.css", "chart.umd.min.js")
API_VENDOR_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
_HUMAN = "https://identifiers.org/taxonomy/9606"
_NCBIGENE = "https://identifiers.org/ncbigene/"
_SAFE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|^`\\]*")

Runner = Callable[[str, str], bytes]  # (query, Accept) -> the endpoint's answer
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple  # a term as pyoxigraph gives it


class Statement(Protocol):
    """A triple of the dataset as pyoxigraph parses it (an ``ox.Quad`` in the default graph, or an ``ox.Triple``).
    The data holds no RDF 1.2 triple terms, which pyoxigraph's types allow as any subject or object: statements
    are typed as this where they are parsed."""

    @property
    def subject(self) -> ox.NamedNode | ox.BlankNode: ...

    @property
    def predicate(self) -> ox.NamedNode: ...

    @property
    def object(self) -> ox.NamedNode | ox.BlankNode | ox.Literal: ...


class _Bar(TypedDict):
    """One bar of a chart on the dataset page."""

    label: str
    value: int
    link: str
FIGURES_BASE = SITE + "figures/"


def dump_folder(store_path: str) -> str | None:
    """The folder a store was loaded beside: ``output/`` for ``output/store``, whose real path is
    ``output/.stores/store-...`` (``pfocr-rdf load`` switches a link to each new store)."""
    real = os.path.realpath(store_path)
    parent = os.path.dirname(real)
    folder = os.path.dirname(parent) if os.path.basename(parent) == ".stores" else parent
    return folder if os.path.isdir(folder) else None


def rdf_document(triples: list[Statement], media: str) -> bytes:
    """Triples in one of :data:`RDF_TYPES`, with the dataset's prefixes where the format has them."""
    fmt = RDF_TYPES[media]
    parsed = cast("list[ox.Quad]", triples)  # as parsed
    if fmt == ox.RdfFormat.TURTLE:
        return cast("bytes", ox.serialize(parsed, format=fmt, prefixes=PREFIXES))
    return cast("bytes", ox.serialize(parsed, format=fmt))


def web_link(value: str | None) -> bool:
    """Whether a value from the data or a request may be a link: a path of this site or an http(s) IRI, never
    ``javascript:`` or ``data:`` (the pages' CSP would stop those too; they are not drawn as links at all)."""
    if not value:
        return False
    if value.startswith("/"):
        return not value.startswith("//")
    return value.lower().startswith(("http://", "https://"))


def local_path(iri: str) -> str:
    """Where this server answers for an IRI of the dataset's namespace (``/figures/...``); other IRIs as they are."""
    return "/" + iri[len(SITE):] if iri.startswith(SITE) else iri


def site_iri(path: str) -> str:
    """The IRI of the dataset's namespace that a request path stands for."""
    return SITE + path.lstrip("/")


def wants_html(accept: str, offered: list[str]) -> bool:
    """True when the Accept header asks for HTML before any of the ``offered`` machine formats: what a browser
    sends. ``*/*`` alone (curl, scripts) keeps the machine format."""
    return negotiate(accept, [*offered, "text/html"]) == "text/html"


class _Node:
    """The statements about one subject among some triples."""

    def __init__(self, iri: str, triples: Iterable[Statement]) -> None:
        self.iri = iri
        self.props: dict[str, list[str]] = defaultdict(list)
        for t in triples:
            if t.subject.value == iri:
                self.props[t.predicate.value].append(t.object.value)
        for values in self.props.values():
            values.sort()

    def values(self, predicate: str) -> list[str]:
        return self.props.get(predicate, [])

    def first(self, predicate: str) -> str:
        values = self.props.get(predicate)
        return values[0] if values else ""

    def __getitem__(self, local: str) -> list[str]:  # in templates: node["schema:name"]
        prefix, _, name = local.partition(":")
        return self.values(PREFIXES[prefix] + name)


def _rows(body: bytes) -> list[dict[str, str]]:
    results = json.loads(body)
    names = results["head"]["vars"]
    return [{v: row[v]["value"] if v in row else "" for v in names} for row in results["results"]["bindings"]]


def _values(values: Iterable[str | OxTerm]) -> str:
    """Terms for a VALUES block: strings are quoted, terms written as SPARQL reads them."""
    out = [quote_string(v) if isinstance(v, str) else str(v) for v in values]
    return " ".join(out) or "UNDEF"


def _cell(term: dict[str, str] | None) -> tuple[str, str]:
    """A result cell as (text, link): IRIs short where a prefix fits, and linked to this server's page for the
    dataset's own IRIs."""
    if not term:
        return ("", "")
    if term["type"] == "uri":
        return (_short(term["value"]), local_path(term["value"]))
    return (term["value"], "")


def _cell_term(term: OxTerm) -> tuple[str, str]:
    if isinstance(term, ox.NamedNode):
        return (_short(term.value), local_path(term.value))
    return (term.value if isinstance(term, ox.Literal) else str(term), "")


def _text_width(text: str) -> int:
    """How wide a chart label is drawn, in px at 13px, erring wide (fonts differ): capitals and m, w count more
    than narrow letters and punctuation."""
    narrow = sum(ch in "iljtf.,;:!|' ()[]" for ch in text)
    wide = sum(ch.isupper() or ch in "mwMW" for ch in text)
    return int(8.2 * (len(text) - narrow - wide) + 4.8 * narrow + 11 * wide)


def breakable(text: str) -> Markup:
    """An id, escaped, that may wrap after its separators (``__``, ``.``, ``-``, ``/``) and nowhere else."""
    escaped = str(Markup.escape(text))
    return Markup(re.sub(r"(__|[./]|-(?!-))", r"\1<wbr>", escaped))


def _number(value: object) -> str:
    try:
        return f"{int(str(value)):,}"
    except ValueError:
        return str(value)


def _short(iri: str) -> str:
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


def _no_remote_documents(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    raise jsonld.JsonLdError(f"remote documents are not loaded ({url})", "loading document failed")
