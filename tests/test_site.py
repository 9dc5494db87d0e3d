"""The web face of ``pfocr-rdf serve`` over HTTP: the editor page, figure pages and every other IRI of the dataset's
namespace with content negotiation, the ``/dataset`` overview, the Bioschemas markup, and escaping.

A real endpoint (worker processes and all) serves the bundled examples plus one hostile record whose title,
caption, keywords and gene symbol carry markup. What the pages must show is computed from the store's dump files
or the records, not from the pages' own queries. The same pages in a real browser: test_browser.py.
"""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pyoxigraph as ox
import pytest
import rdflib
from pyld import jsonld

from _server_support import HOSTILE, HOSTILE_FIGID, build_site_store, start_thread_server

from converter.store.queries import library
from converter.web.terms import VENDOR_FILES, local_path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = "https://pfocr.wikipathways.org/figures/"
SCHEMA = "https://schema.org/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_MEDIA = {"text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES,
             "application/ld+json": ox.RdfFormat.JSON_LD}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_site_store(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def dump(built) -> list[ox.Triple]:
    return list(ox.parse(path=str(built[0] / "pfocr.nt"), format=ox.RdfFormat.N_TRIPLES))


@pytest.fixture(scope="module")
def server(built):
    running = start_thread_server(built[1], workers=1)
    yield running
    running.stop()


def figure_iris(dump) -> list[str]:
    return sorted({t.subject.value for t in dump if t.object == ox.NamedNode(SCHEMA + "ImageObject")})


def statements(dump, iri: str) -> set[tuple[str, str, str]]:
    """What a dereferenced IRI should give: its statements and those of its #-nodes it links to."""
    linked = {t.object.value for t in dump if t.subject.value == iri and isinstance(t.object, ox.NamedNode)
              and t.object.value.startswith(iri + "#")}
    return {(t.subject.value, t.predicate.value, str(t.object)) for t in dump
            if t.subject.value == iri or t.subject.value in linked}


def labels(dump, about: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """The names of the IRIs some statements link to, as a dereferenced document adds them."""
    linked = {o[1:-1] for s, p, o in about if o.startswith("<") and p != RDF_TYPE} - {s for s, _, _ in about}
    return {(t.subject.value, t.predicate.value, str(t.object)) for t in dump
            if t.subject.value in linked and t.predicate.value == SCHEMA + "name"}


class Page(HTMLParser):
    """The parts of a page the tests read: links, scripts, text, and the JSON-LD block."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self._script: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "a":
            self.links.append((attrs.get("href", ""), attrs))
        if tag in ("script", "link", "img", "iframe"):
            self.links.append((attrs.get("src") or attrs.get("href") or "", {**attrs, "tag": tag}))
        if tag == "script":
            self._script = attrs

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self.scripts.append((self._script, data))
        else:
            self.text.append(data)

    @property
    def markup(self) -> dict:
        blocks = [text for attrs, text in self.scripts if attrs.get("type") == "application/ld+json"]
        assert len(blocks) == 1
        return json.loads(blocks[0])

    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def get_page(server, path: str, accept: str = "text/html") -> tuple[object, Page]:
    response = server.request("GET", path, headers={"Accept": accept})
    assert response.status == 200, (path, response.body[:300])
    assert response.media == "text/html"
    return response, Page(response.text())


# --- the editor --------------------------------------------------------------------------------------------------
def test_editor_page_lists_every_canned_query_with_its_parameters(server):
    response, page = get_page(server, "/")
    html = response.text()
    for name, query in library().items():
        assert f'data-query="{name}"' in html
        form = html.split(f'data-query="{name}"', 1)[1].split("</form>", 1)[0]
        values = {p.name: re.search(rf'id="{re.escape(name)}-{p.name}" name="{p.name}" value="([^"]*)"', form)
                  for p in query.params}
        assert all(values.values()), name
        # each example finds something in this store with the values the page gives it, or says why it cannot
        answer = server.request("GET", f"/queries/{name}?" + urlencode({k: unescape(v.group(1))
                                                                        for k, v in values.items()}),
                                headers={"Accept": "application/sparql-results+json, application/n-triples"})
        assert answer.status == 200, (name, answer.body[:200])
        found = (answer.json()["results"]["bindings"] if answer.media == "application/sparql-results+json"
                 else answer.text().splitlines())
        assert bool(found) != ('class="notice missing"' in form), name
    loaded = {href for href, attrs in page.links if attrs.get("tag") in ("script", "link") and href
              and not href.startswith("data:") and attrs.get("rel") not in ("canonical", "alternate")}
    assert {f"/static/vendor/{f}" for f in VENDOR_FILES} | {"/static/editor.js", "/static/site.css"} <= loaded
    for href in loaded:  # everything the page loads comes from this server
        assert not urlsplit(href).netloc, href
        asset = server.request("GET", href)
        assert asset.status == 200 and len(asset.body) > 100, href
    assert "default-src 'self'" in response.headers["content-security-policy"]
    plain = server.request("GET", "/", headers={"Accept": "text/plain"})
    assert plain.media == "text/plain" and "/queries/figures-for-gene" in plain.text()


def test_canned_query_text_is_rendered_with_parameters(server):
    response = server.request("GET", "/queries/figures-for-gene.rq?gene=MDM2")
    assert response.status == 200 and response.media == "application/sparql-query"
    assert response.text() == library()["figures-for-gene"].render({"gene": "MDM2"})
    assert server.request("GET", "/queries/no-such.rq").status == 404
    assert server.request("GET", "/queries/figures-mentioning.rq?entity=not%20an%20iri").status == 400


def test_prefixes_for_completion_are_the_projects(server):
    prefixes = server.request("GET", "/prefixes.json").json()
    context = json.loads((ROOT / "converter" / "data" / "context.jsonld").read_text())["@context"]
    # the context's prefixes: its plain entries whose IRI ends in '/' or '#' (the others are terms)
    assert prefixes == {k: v for k, v in context.items() if isinstance(v, str) and v[-1] in "/#"}
    assert prefixes["ncbigene"] == "https://identifiers.org/ncbigene/" and "name" not in prefixes


def test_static_files_do_not_reach_the_file_system(server):
    for path in ("/static/../pyproject.toml", "/static/%2e%2e/pyproject.toml", "/static/vendor/.built",
                 "/static/nope.js", "/static//etc/passwd"):
        assert server.request("GET", path).status == 404, path


# --- figure pages --------------------------------------------------------------------------------------------------
def test_every_figure_page_shows_the_figure_and_links_its_entities(server, dump):
    names = {t.subject.value: t.object.value for t in dump if t.predicate.value == SCHEMA + "name"}
    figures = figure_iris(dump)
    assert len(figures) >= 9
    for iri in figures:
        path = urlsplit(iri).path
        _, page = get_page(server, path)
        about = statements(dump, iri)
        assert any(s == iri and p == SCHEMA + "name" for s, p, _ in about)
        assert names[iri] in page.visible(), iri
        caption = [t.object.value for t in dump if t.subject.value == iri and t.predicate.value == SCHEMA + "caption"]
        if caption:
            assert " ".join(caption[0].split()) in page.visible()
        hrefs = {href for href, _ in page.links}
        image = [t.object.value for t in dump if t.subject.value == iri and t.predicate.value == SCHEMA + "contentUrl"]
        assert set(image) <= hrefs
        linked = {t.object.value for t in dump if t.subject.value == iri
                  and t.predicate.value in (SCHEMA + "mentions", SCHEMA + "about")}
        for entity in linked:
            assert entity in hrefs or local_path(entity) in hrefs, (iri, entity)  # its identifiers.org page or ours
            assert "/figures?mentions=" + quote(entity, safe="/") in hrefs, (iri, entity)


def test_figures_page_lists_every_figure_that_mentions_an_entity(server, dump):
    mentions = {}
    for t in dump:
        if t.predicate.value in (SCHEMA + "mentions", SCHEMA + "about"):
            mentions.setdefault(t.object.value, set()).add(t.subject.value)
    entity = max(sorted(mentions), key=lambda e: len(mentions[e]))
    assert len(mentions[entity]) >= 2
    _, page = get_page(server, "/figures?mentions=" + quote(entity, safe=""))
    shown = {href for href, attrs in page.links if "figure-link" in attrs.get("class", "").split()}
    assert shown == {urlsplit(f).path for f in mentions[entity]}
    assert server.request("GET", "/figures?mentions=not-an-iri").status == 400


@pytest.mark.parametrize("media", sorted(RDF_MEDIA))
def test_figure_iris_dereference_to_their_statements(server, dump, media):
    for iri in [*figure_iris(dump)[:5], "https://pfocr.wikipathways.org/dataset"]:
        path = urlsplit(iri).path
        response = server.request("GET", path, headers={"Accept": media})
        assert response.status == 200, (path, response.body[:200])
        assert response.media == media and response.headers["vary"] == "Accept"
        got = {(t.subject.value, t.predicate.value, str(t.object))
               for t in ox.parse(response.body, format=RDF_MEDIA[media])}
        if iri.endswith("/dataset"):
            assert ("https://pfocr.wikipathways.org/dataset", "http://rdfs.org/ns/void#triples",
                    f'"{len(dump)}"^^<http://www.w3.org/2001/XMLSchema#integer>') in got
        else:
            assert got == statements(dump, iri) | labels(dump, statements(dump, iri)), iri
        fmt = {"text/turtle": "turtle", "application/n-triples": "ntriples", "application/ld+json": "jsonld"}[media]
        override = server.request("GET", f"{path}?format={fmt}")
        assert override.media == media and override.body == response.body


def test_other_own_iris_dereference_and_unknown_ones_do_not(server, dump):
    journals = sorted({t.subject.value for t in dump if t.subject.value.startswith(
        "https://pfocr.wikipathways.org/journals/")})
    assert journals
    for iri in journals:
        path = urlsplit(iri).path
        _, page = get_page(server, path)
        name = next(t.object.value for t in dump if t.subject.value == iri and t.predicate.value == SCHEMA + "name")
        assert name in page.visible()
        turtle = server.request("GET", path, headers={"Accept": "text/turtle"})
        assert {(t.subject.value, t.predicate.value, str(t.object)) for t in
                ox.parse(turtle.body, format=ox.RdfFormat.TURTLE)} == \
            statements(dump, iri) | labels(dump, statements(dump, iri))
    for path in ("/figures/PMC0__none.html", "/journals/None", "/nothing-here", "/figures/%3Cx%3E.html"):
        assert server.request("GET", path).status == 404, path
    assert server.request("GET", urlsplit(figure_iris(dump)[0]).path, headers={"Accept": "image/png"}).status == 406


def test_figure_markup_is_bioschemas_dataset(server, dump):
    import pyshacl

    shapes = rdflib.Graph().parse(ROOT / "shapes" / "bioschemas.ttl")
    for iri in figure_iris(dump):
        _, page = get_page(server, urlsplit(iri).path)
        markup = page.markup
        assert markup["@id"] == iri and {"Dataset", "ImageObject"} <= set(markup["@type"])
        nquads = jsonld.to_rdf(markup, {"format": "application/n-quads",
                                        "documentLoader": _refuse_remote})  # the context is inline
        graph = rdflib.Graph().parse(data=nquads, format="nt")
        conforms, _, text = pyshacl.validate(graph, shacl_graph=shapes)
        assert conforms, (iri, text)
        name = next(t.object.value for t in dump if t.subject.value == iri and t.predicate.value == SCHEMA + "name")
        assert markup["name"] == name


def _refuse_remote(url, options=None):
    raise AssertionError(f"the markup asked for a remote document: {url}")


# --- escaping --------------------------------------------------------------------------------------------------
def test_values_from_the_data_are_escaped(server):
    response, page = get_page(server, f"/figures/{HOSTILE_FIGID}.html")
    html = response.text()
    for raw in ("<script>alert(", "<b>bold</b>", "<img src=x", "<svg onload", "<i>TP53</i>", "</title><script>"):
        assert raw not in html, raw
    assert [attrs.get("src") for attrs, _ in page.scripts if attrs.get("src")] == []  # only data blocks
    assert {tag for tag in page.tags} <= {"html", "head", "meta", "title", "link", "script", "body", "a", "header",
                                          "nav", "main", "footer", "article", "p", "code", "h1", "h2", "dl", "dt",
                                          "dd", "section", "table", "thead", "tbody", "tr", "th", "td", "span", "wbr",
                                          "div", "ul", "li", "details", "summary", "label", "input", "button", "br"}
    text = page.visible()
    assert HOSTILE["figtitle"] in text and '<script>alert("caption")</script>' in text
    markup = page.markup  # the JSON-LD still carries the values exactly
    assert markup["name"] == HOSTILE["figtitle"] and markup["description"] == HOSTILE["caption"]
    assert "</script><script>alert(2)</script>" in markup["keywords"]
    listing, _ = get_page(server, "/figures?mentions=" + quote("https://identifiers.org/ncbigene/7157", safe=""))
    assert HOSTILE_FIGID in listing.text() and "</title><script>" not in listing.text()


# --- the dataset page -----------------------------------------------------------------------------------------------
def test_dataset_page_describes_the_dataset_and_charts_the_store(server, built, dump):
    response, page = get_page(server, "/dataset")
    html = response.text()
    void = rdflib.Graph().parse(built[0] / "void.ttl", publicID="https://pfocr.wikipathways.org/dataset")
    title = str(next(void.objects(None, rdflib.DCTERMS.title)))
    assert title in page.visible()
    assert f"{len(dump):,}" in page.visible()
    charts = re.findall(r'<figure class="chart" id="chart-([a-z-]+)"', html)
    assert charts == ["per-year", "genes", "chemicals", "diseases", "organisms", "sources"]
    figures = figure_iris(dump)
    years = {}
    for iri in figures:
        article = next(t.object.value for t in dump
                       if t.subject.value == iri and t.predicate.value == SCHEMA + "isPartOf")
        year = next((t.object.value for t in dump if t.subject.value == article
                     and t.predicate.value == SCHEMA + "datePublished"), "no year")
        years[year] = years.get(year, 0) + 1
    per_year = html.split('id="chart-per-year"', 1)[1].split("</figure>", 1)[0]
    bars = re.findall(r'<text x="\d+" y="\d+" text-anchor="end" class="label">([^<]*)</text>\s*'
                      r'<rect [^>]*width="([\d.]+)"', per_year)
    values = re.findall(r'class="value">([\d,]+)</text>', per_year)
    assert {label: int(v.replace(",", "")) for (label, _), v in zip(bars, values)} == years
    widths = [float(w) for _, w in bars]
    top = max(years.values())
    for (label, width) in bars:  # bar length is proportional to the count
        assert abs(float(width) - max(1.0, 400 * years[label] / top)) < 0.11
    assert max(widths) == 400.0
    sources = html.split('id="chart-sources"', 1)[1].split("</figure>", 1)[0]
    assert "hgnc_symbol" in sources


def test_unknown_methods_and_paths_keep_their_answers(server):
    assert server.request("POST", "/dataset", "x", {"Content-Type": "text/plain"}).status == 405
    assert server.request("PUT", f"/figures/{HOSTILE_FIGID}.html", "x").status == 405
    assert server.request("GET", "/sparql2").status == 404


def test_openapi_describes_the_pages_as_served(server, dump):
    paths = server.request("GET", "/openapi.json").json()["paths"]
    figid = urlsplit(figure_iris(dump)[0]).path.rsplit("/", 1)[1].removesuffix(".html")
    for path, request in [("/", "/"), ("/dataset", "/dataset"), ("/figures/{figid}.html", f"/figures/{figid}.html"),
                          ("/figures", "/figures?mentions=https://identifiers.org/ncbigene/7157"),
                          ("/queries/figures-for-gene.rq", "/queries/figures-for-gene.rq?gene=TP53")]:
        assert path in paths
        response = server.request("GET", request)
        assert response.status == 200 and response.media in paths[path]["get"]["responses"]["200"]["content"], path


def test_the_package_build_carries_the_pages_and_the_editor(tmp_path):
    """A wheel built from the project holds the templates, the stylesheet and the editor's built scripts."""
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("pfocr_rdf-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"converter/static/vendor/{f}" for f in VENDOR_FILES} | {
        f"converter/templates/{t.name}" for t in (ROOT / "converter" / "templates").glob("*.html")} | {
        "converter/static/editor.js", "converter/static/site.css", "converter/data/charts.json",
        "converter/data/markup-context.jsonld"}
    assert expected <= names, sorted(expected - names)


def test_warm_draws_the_dataset_page_before_its_first_visitor(built):
    from converter.web.endpoint import Endpoint

    endpoint = Endpoint(str(built[1]), workers=1)
    try:
        endpoint.warm()  # what `pfocr-rdf serve` starts in the background
        assert endpoint._dataset_page is not None and "Figures per year" in endpoint._dataset_page[1]
        assert endpoint._dataset_page[0] == endpoint.version  # drawn again for another store version
        assert endpoint.dataset_page() is endpoint._dataset_page[1]
    finally:
        endpoint.close()
