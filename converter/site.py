"""The web face of the endpoint: the SPARQL editor, figure and resource pages, and the ``/dataset`` overview.

Every page is drawn from the live store through the canned queries of ``queries/`` (the ones the CLI runs and
``docs/queries.md`` lists) and rendered by the Jinja templates in ``converter/templates``, which escape every value
taken from the data. ``run`` is how the site reaches the store, so the endpoint's time and size limits hold for
pages too::

    >>> site = Site(run=lambda query, accept: store_answer(query, accept), queries=library())  # doctest: +SKIP
    >>> html = site.figure_page("PMC7957022__fcell-09-641469-g005")                              # doctest: +SKIP

Figure IRIs are pages: ``https://pfocr.wikipathways.org/figures/{figid}.html`` is served at
``/figures/{figid}.html``, as HTML to browsers and as Turtle, N-Triples or JSON-LD to machines
(:data:`RDF_TYPES`); so is every other IRI of the dataset's namespace that the store holds statements about.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from typing import Callable, Iterable
from urllib.parse import urlencode

import jinja2
import pyoxigraph as ox
from markupsafe import Markup
from pyld import jsonld

from . import __version__
from .formats import MEDIA_TYPES, OXIGRAPH
from .queries import CannedQuery
from .vocab import DATASET, PREFIXES, RDF_TYPE, SCHEMA, SITE

DEREFERENCED = ("ttl", "nt", "jsonld")  # the formats a dereferenced IRI is offered in
RDF_TYPES = {MEDIA_TYPES[fmt]: OXIGRAPH[fmt] for fmt in DEREFERENCED}  # media type -> pyoxigraph format
ENTITY_KINDS = [  # class -> heading on a figure page, in page order
    (SCHEMA + "Gene", "Genes"),
    (SCHEMA + "ChemicalSubstance", "Chemicals"),
    (SCHEMA + "MedicalCondition", "Diseases"),
    (SCHEMA + "Taxon", "Organisms"),
]
_VOID = "http://rdfs.org/ns/void#"
VENDOR_FILES = ("yasgui.min.js", "yasgui.min.css", "chart.umd.min.js")

Runner = Callable[[str, str], bytes]  # (query, Accept) -> the endpoint's answer


def _data(name: str) -> dict:
    return json.loads(resources.files("converter.data").joinpath(name).read_text(encoding="utf-8"))


def static_files() -> dict[str, tuple[bytes, str]]:
    """The files served under ``/static/``: name -> (content, media type). Only files present at start are served,
    so a request path never reaches the file system."""
    types = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "svg": "image/svg+xml"}
    root = resources.files("converter") / "static"
    files: dict[str, tuple[bytes, str]] = {}

    def walk(folder, prefix: str) -> None:
        for entry in folder.iterdir():
            media = types.get(entry.name.rsplit(".", 1)[-1])
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif media is not None:
                files[prefix + entry.name] = (entry.read_bytes(), media)

    if root.is_dir():
        walk(root, "")
    return files


def script_json(value: object) -> Markup:
    """JSON safe inside a ``<script>`` element: no ``</script>``, no HTML comment, no ``&`` entity can form."""
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


@dataclass
class Entity:
    iri: str
    name: str

    @property
    def curie(self) -> str:
        return _short(self.iri)


class Site:
    """The pages, drawn from the store through ``run``."""

    def __init__(self, run: Runner, queries: dict[str, CannedQuery]) -> None:
        self.run = run
        self.queries = queries
        self.env = jinja2.Environment(loader=jinja2.PackageLoader("converter", "templates"),
                                      autoescape=True, undefined=jinja2.StrictUndefined,
                                      trim_blocks=True, lstrip_blocks=True)
        self.env.filters["query_link"] = self._query_link
        self.env.filters["local"] = local_path
        self.env.tests["web"] = web_link
        self.env.globals.update(version=__version__, site=SITE)
        self.vendor = all((resources.files("converter") / "static" / "vendor" / f).is_file() for f in VENDOR_FILES)

    # -- reaching the store
    def select(self, name: str, **params: str) -> list[dict[str, str]]:
        """Rows of a canned SELECT, each value as its lexical form ('' for unbound)."""
        body = self.run(self.queries[name].render(params), "application/sparql-results+json")
        results = json.loads(body)
        names = results["head"]["vars"]
        return [{v: row[v]["value"] if v in row else "" for v in names} for row in results["results"]["bindings"]]

    def construct(self, name: str, **params: str) -> list[ox.Triple]:
        body = self.run(self.queries[name].render(params), "application/n-triples")
        return list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))

    def describe(self, iri: str) -> list[ox.Triple]:
        """What the store says about one of the dataset's own IRIs (``queries/resource.rq``); [] when nothing."""
        return sorted(set(self.construct("resource", iri=iri)), key=str)

    # -- pages
    def editor_page(self) -> str:
        examples = [{"name": q.name, "title": q.title, "description": q.description,
                     "params": [{"name": p.name, "type": p.type, "default": p.default, "description": p.description}
                                for p in q.params]}
                    for q in self.queries.values()]
        return self.env.get_template("editor.html").render(
            title="SPARQL editor", examples=examples, vendor=self.vendor,
            config={"endpoint": "/sparql", "prefixes": "/prefixes.json",
                    "default": self.queries["figures-per-year"].render({}) if "figures-per-year" in self.queries
                    else ""})

    def figure_page(self, figid: str, iri: str) -> str | None:
        """The HTML page of a figure, or None when the store has no figure ``figid``."""
        triples = self.construct("figure-card", figid=figid)
        figure = _Node(iri, triples)
        if not figure.values(RDF_TYPE):
            return None
        names: dict[str, str] = {}
        types: dict[str, set[str]] = defaultdict(set)
        for t in triples:
            if t.predicate.value == SCHEMA + "name":
                names.setdefault(t.subject.value, t.object.value)
            elif t.predicate.value == RDF_TYPE:
                types[t.subject.value].add(t.object.value)
        linked = figure.values(SCHEMA + "mentions") + figure.values(SCHEMA + "about")
        groups = []
        for cls, heading in ENTITY_KINDS:
            members = sorted(_unique(Entity(e, names.get(e, "")) for e in linked if cls in types[e]),
                             key=lambda e: (e.name.lower(), e.iri))
            if members:
                groups.append({"heading": heading, "entities": members})
        article_iri = next(iter(figure.values(SCHEMA + "isPartOf")), None)
        article = _Node(article_iri, triples) if article_iri else None
        return self.env.get_template("figure.html").render(
            title=figure.first(SCHEMA + "name") or figid, figure=figure, figid=figid, article=article,
            groups=groups, markup=script_json(self.markup(figid, iri)))

    def markup(self, figid: str, iri: str) -> dict:
        """The figure's schema.org/Bioschemas JSON-LD (``queries/figure-bioschemas.rq``), framed on the figure."""
        triples = self.construct("figure-bioschemas", figid=figid)
        nquads = "".join(f"{t} .\n" for t in triples)
        expanded = jsonld.from_rdf(nquads, {"format": "application/n-quads"})
        context = _data("markup-context.jsonld")
        framed = jsonld.frame(expanded, {**context, "@id": iri, "@embed": "@once"},
                              {"omitGraph": True, "documentLoader": _no_remote_documents})
        return framed

    def figures_page(self, entity: str) -> str:
        rows = self.select("figures-mentioning", entity=entity)
        name = next((r["entity_name"] for r in rows if r["entity_name"]), "")
        return self.env.get_template("figures.html").render(
            title=f"Figures mentioning {name or entity}", entity=Entity(entity, name), rows=rows)

    def resource_page(self, iri: str, triples: list[ox.Triple]) -> str:
        subjects: dict[str, list[tuple[str, ox.Term]]] = defaultdict(list)
        for t in triples:
            subjects[t.subject.value].append((t.predicate.value, t.object))
        ordered = sorted(subjects.items(), key=lambda item: (item[0] != iri, item[0]))
        name = _Node(iri, triples).first(SCHEMA + "name")
        return self.env.get_template("resource.html").render(title=name or _short(iri), iri=iri, subjects=ordered,
                                                             short=_short)

    def dataset_page(self) -> str:
        described = self.describe(DATASET)
        void = _Node(DATASET, described)
        partitions, linksets = [], []
        for node in void.values(_VOID + "classPartition"):
            part = _Node(node, described)
            partitions.append({"class": part.first(_VOID + "class"), "short": _short(part.first(_VOID + "class")),
                               "entities": int(part.first(_VOID + "entities") or 0)})
        for node in void.values(_VOID + "subset"):
            subset = _Node(node, described)
            linksets.append({"name": node.rsplit("#links-", 1)[-1],
                             "triples": int(subset.first(_VOID + "triples") or 0)})
        charts = []
        for spec in _data("charts.json")["charts"]:
            rows = self.select(spec["query"], **spec["params"])
            link = spec.get("link")
            bars = [{"label": r[spec["label"]] or _short(r.get(link, "")) or spec.get("empty_label", ""),
                     "value": int(float(r[spec["value"]] or 0)), "link": r.get(link, "")} for r in rows]
            charts.append({**spec, "bars": bars, "shown": bars[:spec["rows"]],
                           "max": max((b["value"] for b in bars), default=0)})
        return self.env.get_template("dataset.html").render(title="The PFOCR dataset", void=void, charts=charts,
                                                            partitions=partitions, linksets=linksets)

    # -- helpers the templates use
    def _query_link(self, name: str, params: dict | None = None) -> str:
        """A link that opens a canned query in the editor."""
        query = self.queries[name].render({k: str(v) for k, v in (params or {}).items()})
        return "/?" + urlencode({"query": query, "endpoint": "/sparql"})


def rdf_document(triples: list[ox.Triple], media: str) -> bytes:
    """Triples in one of :data:`RDF_TYPES`, with the dataset's prefixes where the format has them."""
    fmt = RDF_TYPES[media]
    if fmt == ox.RdfFormat.TURTLE:
        return ox.serialize(triples, format=fmt, prefixes=PREFIXES)
    return ox.serialize(triples, format=fmt)


def web_link(value: str) -> bool:
    """Whether a value from the data or a request may be a link: a path of this site or an http(s) IRI, never
    ``javascript:`` or ``data:`` (the pages' CSP would stop those too; they are not drawn as links at all)."""
    if value.startswith("/"):
        return not value.startswith("//")
    return value.lower().startswith(("http://", "https://"))


def local_path(iri: str) -> str:
    """Where this server answers for an IRI of the dataset's namespace (``/figures/...``); other IRIs as they are."""
    return "/" + iri[len(SITE):] if iri.startswith(SITE) else iri


def site_iri(path: str) -> str:
    """The IRI of the dataset's namespace that a request path stands for."""
    return SITE + path.lstrip("/")


class _Node:
    """The statements about one subject among some triples."""

    def __init__(self, iri: str, triples: Iterable[ox.Triple]) -> None:
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


def _unique(entities: Iterable[Entity]) -> list[Entity]:
    return list({e.iri: e for e in entities}.values())


def _short(iri: str) -> str:
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


def _no_remote_documents(url: str, options: dict | None = None) -> dict:
    raise jsonld.JsonLdError(f"remote documents are not loaded ({url})", "loading document failed")
