"""The web face of the endpoint: the SPARQL editor, figure and resource pages, the ``/dataset`` overview, and the
pages that show the endpoint's own documents to people (canned-query results, the API, the service description,
the vocabulary, errors).

Every page is drawn from the live store through the canned queries of ``queries/`` (the ones the CLI runs and
``docs/queries.md`` lists) plus the few small look-ups of :data:`LOOKUPS`, and rendered by the Jinja templates in
``converter/templates``, which escape every value taken from the data. ``run`` is how the site reaches the store,
so the endpoint's time and size limits hold for pages too::

    >>> site = Site(run=lambda query, accept: store_answer(query, accept), queries=library())  # doctest: +SKIP
    >>> html = site.figure_page("PMC7957022__fcell-09-641469-g005", FIGURES + "...")          # doctest: +SKIP

Figure IRIs are pages: ``https://pfocr.wikipathways.org/figures/{figid}.html`` is served at
``/figures/{figid}.html``, as HTML to browsers and as Turtle, N-Triples or JSON-LD to machines
(:data:`RDF_TYPES`); so is every other IRI of the dataset's namespace that the store holds statements about, and
the vocabulary (``/vocab``, from ``converter/data/vocab.ttl``).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from threading import Lock
from typing import Any, cast
from urllib.parse import urlencode

import jinja2
import pyoxigraph as ox
from pyld import jsonld

from .. import __version__
from ..rdf.vocab import DATASET, PFOCR, PREFIXES, RDF_TYPE, SCHEMA, SITE
from ..store.queries import CannedQuery
from .assets import _data, script_json
from .entries import Entity, Entry, Mention, _match_kind, _unique
from .lookups import LOOKUPS
from .terms import (
    _DCAT,
    _RDFS,
    _SAFE_IRI,
    _VOID,
    API_VENDOR_FILES,
    DUMP_FILES,
    DUMP_TYPES,
    ENTITY_KINDS,
    FIGURES_BASE,
    MENTION_KINDS,
    VENDOR_FILES,
    VOCAB,
    VOCAB_FILE,
    OxTerm,
    Runner,
    Statement,
    _Bar,
    _cell,
    _cell_term,
    _no_remote_documents,
    _Node,
    _number,
    _rows,
    _short,
    _text_width,
    _values,
    breakable,
    dump_folder,
    local_path,
    web_link,
)


class Site:
    """The pages, drawn from the store through ``run``. ``store_path``: the store's folder, beside which the dumps
    it was loaded from may be served (``/pfocr.nt``, ...)."""

    def __init__(self, run: Runner, queries: dict[str, CannedQuery], store_path: str | None = None) -> None:
        self.run = run
        self.queries = queries
        self.store_path = store_path
        self.env = jinja2.Environment(loader=jinja2.PackageLoader("converter", "templates"),
                                      autoescape=True, undefined=jinja2.StrictUndefined,
                                      trim_blocks=True, lstrip_blocks=True)
        self.env.filters["query_link"] = self._query_link
        self.env.filters["local"] = local_path
        self.env.filters["short"] = _short
        self.env.filters["number"] = _number
        self.env.filters["breakable"] = breakable
        self.env.tests["web"] = web_link
        self.env.globals.update(version=__version__, site=SITE)
        vendor = resources.files("converter") / "static" / "vendor"
        self.vendor = all((vendor / f).is_file() for f in VENDOR_FILES)
        self.api_vendor = all((vendor / f).is_file() for f in API_VENDOR_FILES)
        self._lock = Lock()
        self._examples: dict[str, dict[str, str]] | None = None
        self._dumps: dict[str, tuple[str, str]] | None = None

    # -- reaching the store
    def select(self, name: str, **params: str) -> list[dict[str, str]]:
        """Rows of a canned SELECT, each value as its lexical form ('' for unbound)."""
        return _rows(self.run(self.queries[name].render(params), "application/sparql-results+json"))

    def construct(self, name: str, **params: str) -> list[Statement]:
        body = self.run(self.queries[name].render(params), "application/n-triples")
        return cast("list[Statement]", list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES)))

    def lookup(self, name: str, values: Iterable[str | OxTerm]) -> list[dict[str, str]]:
        """Rows of one of :data:`LOOKUPS` with ``values`` in its VALUES block."""
        return _rows(self.run(LOOKUPS[name].replace("{values}", _values(values)), "application/sparql-results+json"))

    def describe(self, iri: str) -> list[Statement]:
        """What the store says about one of the dataset's own IRIs (``queries/resource.rq``); [] when nothing."""
        return sorted(set(self.construct("resource", iri=iri)), key=str)

    def labels(self, triples: Sequence[Statement]) -> list[Statement]:
        """The names (``schema:name``) of the IRIs these triples link to, so that a linked-data browser shows a
        document's genes, chemicals, article, journal and taxa by name."""
        linked = sorted({t.object.value for t in triples if isinstance(t.object, ox.NamedNode)
                         and t.predicate.value != RDF_TYPE} - {t.subject.value for t in triples})
        out: list[Statement] = []
        for start in range(0, len(linked), 500):  # bounded VALUES blocks, whatever a figure mentions
            body = self.run(LOOKUPS["labels"].replace("{values}", _values(ox.NamedNode(i) for i in
                                                                             linked[start:start + 500]
                                                                             if _SAFE_IRI.fullmatch(i))),
                            "application/n-triples")
            out += cast("Iterable[Statement]", ox.parse(body, format=ox.RdfFormat.N_TRIPLES))
        return sorted(set(out), key=str)

    def document(self, iri: str) -> list[Statement]:
        """A dereferenced IRI as data: its statements (:meth:`describe`) and the names of what they link to."""
        triples = self.describe(iri)
        known = set(triples)
        return triples + [t for t in self.labels(triples) if t not in known] if triples else []

    def alias(self, name: str) -> str | None:
        """The figid of the figure an old PFOCR address names (its ``figid_alias``, kept as ``schema:alternateName``,
        or the figid itself without ``.html``); None when there is none."""
        rows = self.lookup("alias", [ox.Literal(name)])
        return rows[0]["figid"] if rows else None

    # -- pages
    def render(self, template: str, *, title: str, canonical: str, **context: Any) -> str:
        return self.env.get_template(template).render(title=title, canonical=canonical, **context)

    def editor_page(self, canonical: str = "/") -> str:
        defaults = self.examples()
        examples = [{"name": q.name, "title": q.title, "description": q.description,
                     "missing": defaults.get(q.name, {}).get("", ""),
                     "params": [{"name": p.name, "type": p.type, "description": p.description,
                                 "default": defaults.get(q.name, {}).get(p.name, p.default)} for p in q.params]}
                    for q in self.queries.values()]
        return self.render(
            "editor.html", title="SPARQL editor", canonical=canonical, examples=examples, vendor=self.vendor,
            config={"endpoint": "/sparql", "prefixes": "/prefixes.json", "prefixMap": PREFIXES, "site": SITE,
                    "default": self.queries["figures-per-year"].render({}) if "figures-per-year" in self.queries
                    else ""})

    def examples(self) -> dict[str, dict[str, str]]:
        """Parameter values for the editor's examples, taken from the loaded store so that each example finds
        something: query name -> parameter -> value. An example the store has no data for gets the reason under
        the key ''."""
        with self._lock:
            if self._examples is None:
                self._examples = self._pick_examples()
            return self._examples

    def _pick_examples(self) -> dict[str, dict[str, str]]:
        picked: dict[str, str] = {}
        per_query: dict[str, dict[str, str]] = defaultdict(dict)
        top: dict[str, dict[str, str]] = {}
        for kind, cls in (("gene", "Gene"), ("chemical", "ChemicalSubstance"), ("disease", "MedicalCondition")):
            rows = (self.lookup("top-gene", ["hgnc_symbol", "ncbigene_symbol"]) if kind == "gene"
                    else self.lookup("top-with-genes", [ox.NamedNode(SCHEMA + cls)]))
            rows = rows or self.lookup("top-entities", [ox.NamedNode(SCHEMA + cls)])
            if rows:
                top[kind] = rows[0]
                picked[kind] = rows[0]["name"]
                # a ranking lists what is in this many figures at least: 2 where anything is, else 1
                per_query[f"most-mentioned-{kind}s"]["min_figures"] = "2" if int(rows[0]["figures"]) >= 2 else "1"
        gene = top.get("gene")
        if gene:
            figures = self.lookup("figure-of", [ox.NamedNode(gene["entity"])])
            if figures:
                first = figures[0]
                picked.update(figid=first["figid"], article=first["pmcid"], entity=gene["entity"],
                              iri=FIGURES_BASE + first["figid"] + ".html")
                others = list(dict.fromkeys(r["other"] for r in figures if r["other"] and r["figid"] == first["figid"]
                                            and r["other"].lower() != gene["name"].lower()))
                picked["genes"] = ",".join([gene["name"], *others[:1]])
                per_query["figures-ranked-by-gene-list"]["genes"] = ",".join([gene["name"], *others[:5]])
                words = [w.strip(".,;:()[]'\"") for w in first["title"].split()]
                picked["text"] = max(words, key=len).lower() if words else ""
            sources = self.lookup("match-source", [ox.NamedNode(gene["entity"])])
            if sources:
                picked["match"] = _match_kind(sources[0]["source"])
        if not self.run(LOOKUPS["has-class"].replace("{values}", "<http://vocabularies.wikipathways.org/wp#Pathway>"),
                        "application/sparql-results+json").count(b"true"):
            per_query["wikipathways-shared-genes"][""] = ("needs WikiPathways RDF loaded into the same store; "
                                                          "this store has none")
        out: dict[str, dict[str, str]] = {}
        for q in self.queries.values():
            values = {p.name: picked[p.name] for p in q.params if picked.get(p.name)}
            out[q.name] = {**values, **per_query.get(q.name, {})}
        return out

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
        organisms = sorted(_unique(Entity(e, names.get(e, "")) for e in linked if SCHEMA + "Taxon" in types[e]),
                           key=lambda e: (e.name.lower(), e.iri))
        about = set(figure.values(SCHEMA + "about"))
        groups = self._entries(figid)
        # an entity linked from the figure but found by no mention node still gets a row
        listed = {e.iri for entries in groups.values() for e in entries}
        for cls, heading in ENTITY_KINDS[:3]:
            kind = heading.lower()
            for e in linked:
                if cls in types[e] and e not in listed:
                    groups.setdefault(kind, []).append(Entry(kind, e, names.get(e, ""), ""))
        for entries in groups.values():
            entries.sort(key=lambda e: (not e.iri, e.label.lower(), e.iri))
        article_iri = next(iter(figure.values(SCHEMA + "isPartOf")), None)
        article = _Node(article_iri, triples) if article_iri else None
        related = [v for v in (article.values(SCHEMA + "isPartOf") + article.values(SCHEMA + "publisher")
                               if article else [])]
        related_names = {t.subject.value: t.object.value for t in self.labels(cast("list[Statement]", [
            ox.Triple(ox.NamedNode(iri), ox.NamedNode(SCHEMA + "isPartOf"), ox.NamedNode(v)) for v in related
            if _SAFE_IRI.fullmatch(v)]))}
        title = figure.first(SCHEMA + "name") or figid
        sections = [{"kind": kind, "heading": heading, "entries": groups.get(kind.lower(), [])}
                    for kind, heading in (("genes", "Genes"), ("chemicals", "Chemicals"), ("diseases", "Diseases"))]
        return self.render(
            "figure.html", title=title, canonical=iri, figure=figure, figid=figid, article=article,
            journal=[(v, related_names.get(v, _short(v))) for v in article.values(SCHEMA + "isPartOf")]
            if article else [],
            publisher=[(v, related_names.get(v, _short(v))) for v in article.values(SCHEMA + "publisher")]
            if article else [],
            doi=[v for v in (article.values(SCHEMA + "sameAs") if article else []) if v.startswith("https://doi.org/")],
            sections=[s for s in sections if s["entries"]], organisms=organisms, about=about,
            markup=script_json(self.markup(figid, iri)))

    def _entries(self, figid: str) -> dict[str, list[Entry]]:
        """The figure's genes, chemicals and diseases with their mentions (word, matched symbol, source)."""
        groups: dict[str, dict[str, Entry]] = defaultdict(dict)
        for row in self.lookup("mentions", [ox.Literal(figid)]):
            kind = MENTION_KINDS[row["kind"]]
            key = row["entity"] or "mention:" + row["mention"]
            entry = groups[kind].get(key)
            if entry is None:
                entry = groups[kind][key] = Entry(kind, row["entity"], row["name"], row["identifier"], row["taxon"],
                                                  row["taxon_name"])
            mention = Mention(row["word"], row["symbol"], row["source"])
            if mention not in entry.mentions:
                entry.mentions.append(mention)
        for entries in groups.values():
            for entry in entries.values():
                entry.mentions.sort(key=lambda m: (m.word, m.symbol, m.source))
        return {kind: list(entries.values()) for kind, entries in groups.items()}

    def figure_genes(self, figid: str) -> list[Entry] | None:
        """The genes a figure mentions, sorted by symbol (None when there is no such figure)."""
        if not self.lookup("alias", [ox.Literal(figid)]):
            return None
        genes = [e for e in self._entries(figid).get("genes", []) if e.iri]
        return sorted(genes, key=lambda e: (e.label.lower(), e.iri))

    def markup(self, figid: str, iri: str) -> dict[str, Any]:
        """The figure's schema.org/Bioschemas JSON-LD (``queries/figure-bioschemas.rq``), framed on the figure."""
        triples = self.construct("figure-bioschemas", figid=figid)
        nquads = "".join(f"{t} .\n" for t in triples)
        expanded = jsonld.from_rdf(nquads, {"format": "application/n-quads"})
        context = _data("markup-context.jsonld")
        framed: dict[str, Any] = jsonld.frame(expanded, {**context, "@id": iri, "@embed": "@once"},
                                              {"omitGraph": True, "documentLoader": _no_remote_documents})
        return framed

    def figures_page(self, entity: str, canonical: str) -> str:
        rows = self.select("figures-mentioning", entity=entity)
        name = next((r["entity_name"] for r in rows if r["entity_name"]), "")
        images: dict[str, str] = {}
        figures = [r["figure"] for r in rows if _SAFE_IRI.fullmatch(r["figure"])]
        for start in range(0, len(figures), 500):
            for image in self.lookup("images", [ox.NamedNode(f) for f in figures[start:start + 500]]):
                images.setdefault(image["figure"], image["image"])
        return self.render("figures.html", title=f"Figures mentioning {name or entity}", canonical=canonical,
                           entity=Entity(entity, name), rows=rows, images=images)

    def resource_page(self, iri: str, triples: list[Statement]) -> str:
        subjects: dict[str, list[tuple[str, ox.NamedNode | ox.BlankNode | ox.Literal]]] = defaultdict(list)
        for t in triples:
            subjects[t.subject.value].append((t.predicate.value, t.object))
        ordered = sorted(subjects.items(), key=lambda item: (item[0] != iri, item[0]))
        names = {t.subject.value: t.object.value for t in self.labels(triples)}
        name = _Node(iri, triples).first(SCHEMA + "name")
        return self.render("resource.html", title=name or _short(iri), canonical=iri, iri=iri, subjects=ordered,
                           short=_short, names=names)

    def dataset_page(self) -> str:
        described = self.describe(DATASET)
        void = _Node(DATASET, described)
        partitions, linksets, dumps = [], [], []
        for node in void.values(_VOID + "classPartition"):
            part = _Node(node, described)
            partitions.append({"class": part.first(_VOID + "class"), "short": _short(part.first(_VOID + "class")),
                               "entities": int(part.first(_VOID + "entities") or 0)})
        for node in void.values(_VOID + "subset"):
            subset = _Node(node, described)
            linksets.append({"name": node.rsplit("#links-", 1)[-1],
                             "triples": int(subset.first(_VOID + "triples") or 0)})
        served = self.dump_files()
        for node in void.values(_DCAT + "distribution"):
            dist = _Node(node, described)
            url = dist.first(_DCAT + "downloadURL")
            dumps.append({"url": url, "local": local_path(url) if local_path(url) in served else "",
                          "name": url.rsplit("/", 1)[-1], "media": dist.first(_DCAT + "mediaType"),
                          "bytes": int(dist.first(_DCAT + "byteSize") or 0), "sha256": dist.first(PFOCR + "sha256")})
        charts = []
        for spec in _data("charts.json")["charts"]:
            rows = self.select(spec["query"], **spec["params"])
            link = spec.get("link")
            bars: list[_Bar] = [{"label": r[spec["label"]] or _short(r.get(link, "")) or spec.get("empty_label", ""),
                     "value": int(float(r[spec["value"]] or 0)), "link": r.get(link, "")} for r in rows]
            shown = bars[:spec["rows"]]
            # the label column is as wide as the longest label shown, so that no label is cut
            label_width = max([60, *(_text_width(b["label"]) for b in shown)]) + 12
            charts.append({**spec, "bars": bars, "shown": shown, "label_width": label_width,
                           "max": max((b["value"] for b in bars), default=0)})
        return self.render("dataset.html", title="The PFOCR dataset", canonical=DATASET, void=void, charts=charts,
                           partitions=partitions, linksets=linksets, dumps=dumps,
                           local_void="/void.ttl" if "/void.ttl" in served else "")

    def vocab_triples(self) -> list[Statement]:
        text = resources.files("converter.data").joinpath(VOCAB_FILE).read_bytes()
        return cast("list[Statement]", list(ox.parse(text, format=ox.RdfFormat.TURTLE)))

    def vocab_page(self) -> str:
        triples = self.vocab_triples()
        nodes: dict[str, _Node] = {}
        for t in triples:
            if t.subject.value.startswith(PFOCR) and t.subject.value != PFOCR:
                nodes.setdefault(t.subject.value, _Node(t.subject.value, triples))
        terms = [{"iri": iri, "name": iri[len(PFOCR):], "node": node,
                  "is_class": _RDFS + "Class" in node.values(RDF_TYPE)} for iri, node in nodes.items()]
        ontology = _Node(PFOCR, triples)
        return self.render("vocab.html", title="The PFOCR vocabulary", canonical=VOCAB, ontology=ontology,
                           classes=[t for t in terms if t["is_class"]],
                           properties=[t for t in terms if not t["is_class"]],
                           rdfs=_RDFS)

    def results_page(self, name: str, params: dict[str, str], body: bytes, content_type: str, canonical: str,
                     links: dict[str, str]) -> str:
        """A canned query's answer as a page: a table of the rows (or of the triples), with the query and the
        machine formats one click away."""
        query = self.queries[name]
        columns: list[str] = []
        rows: list[list[tuple[str, str]]] = []
        boolean: bool | None = None
        if content_type.startswith("application/sparql-results+json"):
            results = json.loads(body)
            if "boolean" in results:
                boolean = bool(results["boolean"])
            else:
                columns = results["head"]["vars"]
                rows = [[_cell(b.get(v)) for v in columns] for b in results["results"]["bindings"]]
        else:
            columns = ["subject", "predicate", "object"]
            for t in ox.parse(body, format=ox.RdfFormat.N_TRIPLES):
                rows.append([_cell_term(t.subject), _cell_term(t.predicate), _cell_term(t.object)])
        values = {p.name: params.get(p.name, p.default) for p in query.params}
        return self.render("results.html", title=query.title, canonical=canonical, query=query, values=values,
                           columns=columns, rows=rows, boolean=boolean, links=links,
                           editor=self._query_link(name, params))

    def queries_page(self, canonical: str) -> str:
        return self.render("queries.html", title="Canned queries", canonical=canonical,
                           queries=list(self.queries.values()), examples=self.examples())

    def service_page(self, turtle: str, endpoint: str, canonical: str) -> str:
        triples = cast("list[Statement]", list(ox.parse(turtle.encode("utf-8"), format=ox.RdfFormat.TURTLE)))
        node = _Node(endpoint, triples)
        return self.render("service.html", title="SPARQL service description", canonical=canonical,
                           endpoint=endpoint, node=node, turtle=turtle,
                           sd="http://www.w3.org/ns/sparql-service-description#")

    def api_page(self, document: dict[str, Any], canonical: str) -> str:
        operations = []
        for path, methods in document.get("paths", {}).items():
            for method, op in methods.items():
                operations.append({"path": path, "method": method.upper(), "summary": op.get("summary", ""),
                                   "params": [p["name"] for p in op.get("parameters", [])],
                                   "statuses": sorted(op.get("responses", {}))})
        return self.render("api.html", title="API", canonical=canonical, info=document.get("info", {}),
                           operations=operations, vendor=self.api_vendor)

    def error_page(self, status: int, message: str, canonical: str) -> str:
        titles = {400: "Bad request", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
                  406: "Not acceptable", 408: "Request timeout", 413: "Too large", 415: "Unsupported media type",
                  500: "Server error", 502: "Bad gateway", 503: "Busy"}
        return self.render("error.html", title=titles.get(status, f"Error {status}"), canonical=canonical,
                           status=status, message=message)

    # -- the dumps the store was loaded from, when they sit beside it
    def dump_files(self) -> dict[str, tuple[str, str]]:
        """Request path -> (file, media type) of the dump files the dataset description lists and that lie beside
        the store with the size it gives (so a dump converted again since the store was loaded is not offered as
        the store's). Worked out once: the store of a server does not change."""
        with self._lock:
            if self._dumps is None:
                self._dumps = self._find_dumps()
            return self._dumps

    def _find_dumps(self) -> dict[str, tuple[str, str]]:
        folder = dump_folder(self.store_path) if self.store_path else None
        if folder is None:
            return {}
        described = self.describe(DATASET)
        found: dict[str, tuple[str, str]] = {}
        for node in _Node(DATASET, described).values(_DCAT + "distribution"):
            dist = _Node(node, described)
            url, size = dist.first(_DCAT + "downloadURL"), dist.first(_DCAT + "byteSize")
            name = url[len(SITE):] if url.startswith(SITE) else ""
            path = os.path.join(folder, name)
            if name in DUMP_FILES and size.isdigit() and os.path.isfile(path) and os.path.getsize(path) == int(size):
                found["/" + name] = (path, DUMP_TYPES[name])
        void = os.path.join(folder, "void.ttl")
        if found and os.path.isfile(void):  # the description itself, when its dumps are here
            found["/void.ttl"] = (void, DUMP_TYPES["void.ttl"])
        return found

    # -- helpers the templates use
    def _query_link(self, name: str, params: Mapping[str, object] | None = None) -> str:
        """A link that opens a canned query in the editor."""
        query = self.queries[name].render({k: str(v) for k, v in (params or {}).items()})
        return "/?" + urlencode({"query": query, "endpoint": "/sparql"})
