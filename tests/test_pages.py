"""The pages a biologist or a knowledge-graph engineer reads, on the real PFOCR sample, in real Chromium at a desktop
width (1280 px) and a phone's (390 px).

The sample and the seed record are converted (every dump and ``void.ttl``) into a folder, loaded into ``store``
beside the dumps as ``pfocr-rdf load`` does, and served by ``pfocr-rdf serve``. What each page must show is read
from the records themselves (YAML front matter, companion TSVs, with :mod:`_support`) or from the dumps, not from
the pages' own queries. The network is closed here: a figure image the page asks PMC for is requested (so the
policy allowed it) and then fails to load; every other console error, policy violation or foreign request fails.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox
import pytest
import requests

from _browser_support import Visit, answer, origin
from _server_support import start_cli_server
from _support import SAMPLE, SAMPLE_DATA, SAMPLE_FIGURES, SEED, front_matter, is_missing, read_tsv

from converter import convert
from converter.store.load import load
from converter.web.terms import IMAGE_HOSTS

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = "https://schema.org/"
PFOCR = "https://pfocr.wikipathways.org/vocab#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
FIGURES = "https://pfocr.wikipathways.org/figures/"
WIDTHS = [1280, 390]
MANY_GENES = "PMC2919048__pone.0012016.g008"  # 200 genes, inline layout, with figid_alias
NEW_LAYOUT = "PMC10031279__gr8"  # companion TSVs, DOI, journal, publisher, a disease with no identifier
UNNAMED_CHEMICAL = "PMC10034375__fphar-14-1136779-g005"  # a chemical whose TSV row has NA for match and name
# what the precomputed graphs say; never a statement about a figure in a page or a document
PRECOMPUTED = {PFOCR + p for p in ("figureCount", "rank", "geneCount", "searchText", "nameKey", "idKey", "aboutCount",
                                   "namedCount")}


@pytest.fixture(scope="module")
def built(pfocr_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pages") / "output"
    convert([str(SAMPLE), str(SEED)], output=str(out), jobs=1)
    load([str(out / "pfocr.nt")], str(out / "store"))  # output/store beside output/pfocr.*, as `make run` has it
    return out


@pytest.fixture(scope="module")
def site(built):
    running = start_cli_server(built / "store")
    yield f"http://{running.host}:{running.port}"
    running.stop()


@pytest.fixture
def visit(browser, site):
    opened: list[Visit] = []

    def make(width: int = 1280, **options) -> Visit:
        v = Visit(browser, site, width=width, images_from=IMAGE_HOSTS, **options)
        opened.append(v)
        return v

    yield make
    for v in opened:
        v.close()


def spo(quads) -> set[tuple[str, str, str]]:
    return {(q.subject.value, q.predicate.value, q.object.value) for q in quads}


def record(figid: str) -> dict:
    return front_matter(SAMPLE_FIGURES / f"{figid}.md")


def image_of(figid: str) -> str:
    fm = record(figid)
    pmcid = re.search(r"PMC\d+", fm.get("figlink") or "") or re.search(r"PMC\d+", fm["pmcid"])
    return f"https://www.ncbi.nlm.nih.gov/pmc/articles/{pmcid.group()}/bin/{fm['filename']}"


# --- the figure page --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_figure_image_is_shown_and_allowed_by_the_policy(visit, site, width):
    v = visit(width)
    page = v.open(f"/figures/{MANY_GENES}.html")
    image = page.locator(".figure-image img")
    assert image.get_attribute("src") == image_of(MANY_GENES)
    assert image.get_attribute("alt") == record(MANY_GENES)["figtitle"]
    box = image.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
    policy = requests.get(f"{site}/figures/{MANY_GENES}.html", timeout=30).headers["content-security-policy"]
    img_src = next(d.split()[1:] for d in policy.split(";") if d.split()[0] == "img-src")
    assert origin(image_of(MANY_GENES)) in img_src
    assert set(img_src) <= {"'self'", "data:", *IMAGE_HOSTS}  # PMC's hosts and nothing else
    page.wait_for_function("() => document.querySelector('.figure-image img').complete")
    assert v.images == [image_of(MANY_GENES)]  # asked for (the policy let it through), and nothing else
    assert v.violations() == []
    v.shot(f"figure-page-{width}")


def test_figures_lists_show_thumbnails(visit, site, built):
    entity = "https://identifiers.org/ncbigene/2254"  # FGF9, in several figures of the sample
    v = visit()
    page = v.open("/figures?" + urlencode({"mentions": entity}))
    dump = ox.Store()
    dump.load(path=str(built / "pfocr.nt"), format=ox.RdfFormat.N_TRIPLES)
    images = {str(r["f"].value): r["i"].value for r in dump.query(
        f"SELECT ?f ?i WHERE {{ ?f <{SCHEMA}mentions> <{entity}> ; <{SCHEMA}contentUrl> ?i }}")}
    assert len(images) >= 2
    items = page.locator(".figure-list li")
    assert items.count() == len(images)
    for i in range(items.count()):
        href = items.nth(i).locator("a.figure-link").get_attribute("href")
        assert items.nth(i).locator("img").get_attribute("src") == images[FIGURES + href.removeprefix("/figures/")]
    page.wait_for_function("() => [...document.images].every((i) => i.complete)")
    assert sorted(v.images) == sorted(images.values())


def test_article_block_gives_title_year_journal_publisher_doi_pmc_pubmed(visit):
    fm = record(NEW_LAYOUT)
    v = visit()
    page = v.open(f"/figures/{NEW_LAYOUT}.html")
    article = page.locator("section.article")
    assert article.locator(".article-title").inner_text() == fm["papertitle"]
    assert fm["year"] in article.inner_text()
    assert article.locator("a.journal").inner_text() == fm["journal_title"]
    assert article.locator("a.publisher").inner_text() == fm["publisher_name"]
    doi = article.locator("a.doi")
    assert doi.get_attribute("href") == "https://doi.org/" + fm["doi"] and doi.inner_text() == fm["doi"]
    assert article.locator("a.article-link").get_attribute("href").rstrip("/").endswith("/" + fm["pmcid"])
    assert fm["pmcid"] in article.locator("a.pubmed").get_attribute("href")
    assert "pubmed.ncbi.nlm.nih.gov" in article.locator("a.pubmed").get_attribute("href")


def test_every_mention_shows_its_word_match_and_source(visit):
    """Inline layout: each gene of the record has its row with the OCR word, the matched symbol and the source, and
    links to NCBI Gene, HGNC (human) and identifiers.org."""
    genes = record(MANY_GENES)["genes"]
    v = visit()
    page = v.open(f"/figures/{MANY_GENES}.html")
    rows = page.evaluate("""() => [...document.querySelectorAll('#genes-table tbody')].map((body) => ({
        id: body.id, links: [...body.querySelectorAll('td.links a')].map((a) => a.href),
        mentions: [...body.querySelectorAll('tr')].map((tr) => ['word', 'matched', 'source'].map(
            (c) => tr.querySelector('td.' + c).textContent.trim()))}))""")
    by_id = {r["id"].removeprefix("gene-"): r for r in rows}
    assert len(by_id) == len({str(g["entrez"]) for g in genes if not is_missing(g.get("entrez"))}) >= 150
    for g in genes:
        row = by_id[str(g["entrez"])]
        assert [g["word"], g["symbol"], g["source"]] in row["mentions"], g
        assert f"https://www.ncbi.nlm.nih.gov/gene/{g['entrez']}" in row["links"]
        assert f"https://identifiers.org/ncbigene/{g['entrez']}" in row["links"]
        assert any(link.startswith("https://www.genenames.org/") and link.endswith("/" + g["hgnc_symbol"])
                   for link in row["links"])
    # 200 genes are a compact list, and the table is folded away until asked for
    assert page.locator("#genes-list li").count() == len(by_id)
    assert page.locator("#genes details").get_attribute("open") is None
    assert page.locator("#genes-list").bounding_box()["height"] < 900
    # a symbol leads to its row, which the browser unfolds (no script needed: the same holds with JavaScript off)
    for js in (True, False):
        w = visit(java_script_enabled=js)
        p = w.open(f"/figures/{MANY_GENES}.html")
        chip = p.locator("#genes-list a").nth(10)
        target = chip.get_attribute("href")
        chip.click()
        p.wait_for_function("() => document.querySelector('#genes details').open")
        assert p.locator(target).is_visible() and p.locator(target).locator("td.name").inner_text().startswith(
            chip.inner_text())


def test_tsv_mentions_and_names_the_record_does_not_give(visit):
    """Companion-TSV layout: words, matches and sources of genes; a chemical whose row has no name shows its OCR
    word, labelled as such; a named one shows the name."""
    v = visit()
    page = v.open(f"/figures/{NEW_LAYOUT}.html")
    for row in read_tsv(SAMPLE_DATA / f"{NEW_LAYOUT}-genes.tsv"):
        body = page.locator(f"#gene-{row['ncbigene_id']}")
        text = body.inner_text()
        assert row["word"] in text and row["match"] in text and row["source"] in text, row
    page = v.open(f"/figures/{UNNAMED_CHEMICAL}.html")
    for row in read_tsv(SAMPLE_DATA / f"{UNNAMED_CHEMICAL}-chemicals.tsv"):
        if is_missing(row["mesh"]):
            continue
        body = page.locator(f"#chemical-{row['mesh'].split(':', 1)[1]}")
        name = body.locator("td.name")
        if is_missing(row["match"]) and is_missing(row["name"]):
            words = {r["word"] for r in read_tsv(SAMPLE_DATA / f"{UNNAMED_CHEMICAL}-chemicals.tsv")
                     if r["mesh"] == row["mesh"]}
            assert name.locator(".ocr-word").inner_text() in words
            assert "OCR word" in name.inner_text()
        else:
            # the dataset's name for the entity: this row's, or (first record wins) another record's for it
            assert name.locator(".entity-name").inner_text().strip()
            assert name.locator(".ocr-word").count() == 0
        assert row["word"] in body.locator("td.word").all_inner_texts()


@pytest.mark.parametrize("width", WIDTHS)
def test_gene_list_filters_copies_and_downloads(visit, width):
    genes = record(MANY_GENES)["genes"]
    symbols = {g["hgnc_symbol"] for g in genes}
    ids = {str(g["entrez"]) for g in genes}
    v = visit(width)
    v.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = v.open(f"/figures/{MANY_GENES}.html")
    page.locator("#genes-filter").fill("fgf")
    shown = page.locator("#genes-list li:visible").all_inner_texts()
    assert shown and set(shown) == {s for s in symbols if "fgf" in s.lower()}
    page.locator("#genes-filter").fill("")
    assert page.locator("#genes-list li:visible").count() == len(ids)
    page.locator("#genes button.copy").click()
    page.wait_for_function("() => document.querySelector('#genes .status').textContent.startsWith('Copied')")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert set(copied.split()) == symbols
    with page.expect_download() as download:
        page.locator("#genes a.download[href$='-genes.tsv']").click()
    table = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8")),
                                delimiter="\t"))
    assert download.value.suggested_filename == f"{MANY_GENES}-genes.tsv"
    assert {r["ncbigene_id"] for r in table} == ids and {r["symbol"] for r in table} == symbols
    assert {r["taxon_id"] for r in table} == {"9606"}
    with page.expect_download() as download:
        page.locator("#genes a.download[href$='-genes.txt']").click()
    assert set(Path(download.value.path()).read_text(encoding="utf-8").split()) == symbols


# --- layout -----------------------------------------------------------------------------------------------------
LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const wide = document.documentElement.scrollWidth > width ? [document.documentElement.scrollWidth] : [];
  const broken = [];
  for (const el of document.querySelectorAll('main .token, main td.num, main .symbols a')) {
    if (!el.offsetParent) continue;  // folded away
    const lines = new Set([...el.getClientRects()].map((r) => Math.round(r.top)));
    if (lines.size > 1) broken.push(el.textContent.trim());
  }
  return { wide, broken: broken.slice(0, 10) };
}"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", ["/", "/dataset", f"/figures/{MANY_GENES}.html", f"/figures/{NEW_LAYOUT}.html",
                                  "/figures/PMC10028837__nihpp-2023.03.03.530734v1-f0001.html",
                                  "/figures?mentions=https%3A%2F%2Fidentifiers.org%2Fncbigene%2F2254", "/queries",
                                  "/queries/figures-for-gene?gene=FGF9", "/api", "/sparql", "/vocab",
                                  "/journals/Front%20Immunol"])
def test_nothing_is_wider_than_the_screen_and_no_token_breaks(visit, path, width):
    v = visit(width)
    page = v.open(path)
    page.wait_for_load_state("networkidle")
    for details in page.locator("main details").all():  # the folded tables too
        details.evaluate("(d) => { d.open = true; }")
    found = page.evaluate(LAYOUT)
    assert found == {"wide": [], "broken": []}, (path, width)


def test_chart_labels_are_whole(visit):
    v = visit()
    page = v.open("/dataset")
    for chart in page.locator("figure.chart").all():
        svg = chart.locator("svg").bounding_box()
        labels = chart.locator("text.label").all()
        table = chart.locator("details tbody tr td:first-child").all_text_contents()
        assert labels
        for label, full in zip(labels, table):
            assert label.text_content() == full.strip()  # not shortened
            box = label.bounding_box()
            assert box["x"] >= svg["x"] - 0.5, label.text_content()  # not cut at the left edge


# --- the editor ---------------------------------------------------------------------------------------------------
def test_every_example_finds_rows_in_this_store(visit, site):
    v = visit()
    page = v.open("/")
    page.wait_for_selector(".yasqe .CodeMirror")
    examples = page.evaluate("""() => [...document.querySelectorAll('form.example')].map((f) => ({
        name: f.dataset.query, missing: !!f.querySelector('.missing'),
        params: Object.fromEntries(new FormData(f))}))""")
    assert len(examples) == 24
    counts = {}
    for example in examples:
        counts[example["name"]] = page.evaluate("""async ([name, params]) => {
            const r = await fetch(`/queries/${name}?` + new URLSearchParams(params),
                                  { headers: { Accept: 'application/sparql-results+json, application/n-triples' } });
            const type = r.headers.get('content-type');
            const text = await r.text();
            return type.startsWith('application/sparql-results') ? JSON.parse(text).results.bindings.length
                                                                : text.split('\\n').filter((l) => l).length;
        }""", [example["name"], example["params"]])
    missing = {e["name"] for e in examples if e["missing"]}
    # the one example whose data is not in a PFOCR store (WikiPathways) says so, and is the only one that finds none
    assert missing == {"wikipathways-shared-genes"} == {name for name, n in counts.items() if n == 0}
    assert answer(site, "SELECT ?p WHERE { ?p a <http://vocabularies.wikipathways.org/wp#Pathway> } LIMIT 1") == []


def test_results_are_prefixed_plain_and_link_to_local_pages(visit, site):
    v = visit()
    page = v.open("/")
    page.wait_for_selector(".yasqe .CodeMirror")
    form = page.locator('form.example[data-query="figures-for-gene"]')
    gene = form.locator("input").input_value()
    form.get_by_role("button", name="Open in editor").click()
    page.wait_for_selector(".yasr table.dataTable tbody tr a")
    table = page.locator(".yasr table.dataTable")
    text = table.inner_text()
    assert "^^" not in text and "<http" not in text and "http://www.w3.org/2001/XMLSchema" not in text
    assert "ncbigene:" in text and "figure:" in text
    figure_links = [a.get_attribute("href") for a in table.locator("a").all() if "figure:" in a.inner_text()]
    assert figure_links and all(h.startswith("/figures/") and h.endswith(".html") for h in figure_links)
    rows = answer(site, page.evaluate("() => window.pfocrEditor.getTab().getQuery()"))
    assert gene and table.locator("tbody tr").count() == len(rows) > 0
    assert page.locator(".yasr .tableControls input[type=checkbox]").first.is_checked()  # "Simple view"


@pytest.mark.parametrize("width", WIDTHS)
def test_editor_buttons_do_not_cover_the_query(visit, width):
    v = visit(width)
    page = v.open("/")
    page.wait_for_selector(".yasqe .CodeMirror")
    page.evaluate("() => { window.pfocrEditor.getTab().setQuery('# ' + 'a long comment line '.repeat(12) + "
                  "'\\nSELECT * WHERE { ?s ?p ?o } LIMIT 1'); }")
    overlap = page.evaluate("""() => {
      const buttons = [...document.querySelectorAll('.yasqe .yasqe_buttons > *')].map((b) => b.getBoundingClientRect())
        .filter((r) => r.width > 0);
      const range = document.createRange();
      const hits = [];
      for (const line of document.querySelectorAll('.yasqe .CodeMirror-line')) {
        range.selectNodeContents(line);
        for (const t of range.getClientRects()) for (const b of buttons)
          if (t.left < b.right && b.left < t.right && t.top < b.bottom && b.top < t.bottom)
            hits.push(line.textContent.slice(0, 20));
      }
      return { buttons: buttons.length, hits };
    }""")
    assert overlap["buttons"] >= 2 and overlap["hits"] == []


# --- HTML for browsers, data for machines ----------------------------------------------------------------------
def test_canned_query_gives_a_table_to_a_browser_and_data_one_click_away(visit, site):
    query = "/queries/figures-for-gene?gene=FGF9"
    expected = requests.get(site + query, headers={"Accept": "application/sparql-results+json"}, timeout=30).json()
    assert requests.get(site + query, timeout=30).headers["content-type"].startswith(
        "application/sparql-results+json")  # */* keeps the machine format
    v = visit()
    page = v.open(query)
    assert page.locator("table.results tbody tr").count() == len(expected["results"]["bindings"]) > 0
    assert page.locator("table.results thead th").all_inner_texts() == expected["head"]["vars"]
    for kind, media in (("csv", "text/csv"), ("json", "application/sparql-results+json")):
        href = page.locator(f"a.format[type='{media}']").get_attribute("href")
        response = requests.get(site + href, headers={"Accept": "text/html,*/*;q=0.8"}, timeout=30)
        assert response.headers["content-type"].startswith(media), kind
    csv_rows = list(csv.reader(io.StringIO(requests.get(
        site + page.locator("a.format[type='text/csv']").get_attribute("href"), timeout=30).text)))
    assert len(csv_rows) - 1 == len(expected["results"]["bindings"])


def test_errors_are_pages_with_the_menu(visit, site):
    v = visit()
    v.expected_statuses = {"Failed to load resource: the server responded with a status of 404 (Not Found)"}
    page = v.open("/figures/PMC0__missing.html", status=404)
    assert page.locator("nav a[href='/dataset']").count() == 1 and "Not found" in page.locator("h1").inner_text()
    plain = requests.get(site + "/figures/PMC0__missing.html", timeout=30)
    assert plain.status_code == 404 and plain.headers["content-type"].startswith("text/plain")


def test_api_page_renders_openapi_offline(visit, site):
    document = requests.get(site + "/openapi.json", timeout=30).json()
    v = visit()
    page = v.open("/api")
    assert page.locator("a[href='/openapi.json']").count() >= 1
    page.wait_for_selector("#swagger .opblock")
    shown = {page.locator("#swagger .opblock").nth(i).get_attribute("id") for i in
             range(page.locator("#swagger .opblock").count())}
    operations = sum(len(methods) for methods in document["paths"].values())
    assert len(shown) == operations
    no_js = visit(java_script_enabled=False)
    plain = no_js.open("/api")
    assert plain.locator("section.operations tbody tr").count() == operations


def test_service_description_and_vocabulary_are_pages(visit, site):
    v = visit()
    page = v.open("/sparql")
    assert "SPARQL11Query" in page.locator("main").inner_text()
    turtle = requests.get(site + "/sparql", timeout=30)
    assert turtle.headers["content-type"].startswith("text/turtle")
    page = v.open("/vocab")
    for term in ("Mention", "word", "matchedSymbol", "matchSource"):
        assert page.locator(f"dt#{term}").count() == 1


def test_canonical_link_on_every_page(visit, site):
    v = visit()
    expected = {f"/figures/{MANY_GENES}.html": FIGURES + f"{MANY_GENES}.html",
                "/dataset": "https://pfocr.wikipathways.org/dataset",
                "/vocab": "https://pfocr.wikipathways.org/vocab",
                "/": site + "/", "/api": site + "/api", "/queries": site + "/queries",
                "/queries/figures-for-gene?gene=FGF9": site + "/queries/figures-for-gene?gene=FGF9"}
    for path, canonical in expected.items():
        page = v.open(path)
        assert page.locator("link[rel=canonical]").count() == 1
        assert page.locator("link[rel=canonical]").get_attribute("href") == canonical, path


# --- linked data --------------------------------------------------------------------------------------------------
def test_vocab_and_a_figure_dereference_as_turtle_with_labels(site, built):
    vocab = requests.get(site + "/vocab", headers={"Accept": "text/turtle"}, timeout=30)
    assert vocab.headers["content-type"].startswith("text/turtle")
    served = spo(ox.parse(vocab.content, format=ox.RdfFormat.TURTLE))
    shipped = spo(ox.parse(path=str(ROOT / "converter" / "data" / "vocab.ttl"), format=ox.RdfFormat.TURTLE))
    assert served == shipped
    assert (PFOCR + "word", RDFS + "label", "OCR word") in served

    fm = record(MANY_GENES)
    figure = requests.get(f"{site}/figures/{MANY_GENES}.html", headers={"Accept": "text/turtle"}, timeout=30)
    triples = spo(ox.parse(figure.content, format=ox.RdfFormat.TURTLE))
    names = {(s, o) for s, p, o in triples if p == SCHEMA + "name"}
    for g in fm["genes"]:
        assert (f"https://identifiers.org/ncbigene/{g['entrez']}", g["hgnc_symbol"]) in names
    assert (f"https://identifiers.org/pmc/{fm['pmcid']}", fm["papertitle"]) in names
    assert {p for _, p, _ in triples} & PRECOMPUTED == set()
    assert (FIGURES + f"{MANY_GENES}.html", SCHEMA + "name", fm["figtitle"]) in triples


def test_dumps_are_served_beside_the_store_and_linked(visit, site, built):
    v = visit()
    page = v.open("/dataset")
    links = {a.get_attribute("href") for a in page.locator("a.dump").all()}
    assert links == {"/pfocr.nt", "/pfocr.ttl", "/pfocr.nq", "/pfocr.jsonld"}
    void = ox.Store()
    void.load(path=str(built / "void.ttl"), format=ox.RdfFormat.TURTLE, base_iri="https://pfocr.wikipathways.org/dataset")
    sums = {r["u"].value.rsplit("/", 1)[-1]: r["s"].value for r in void.query(
        f"SELECT ?u ?s WHERE {{ ?d <http://www.w3.org/ns/dcat#downloadURL> ?u ; <{PFOCR}sha256> ?s }}")}
    for link in sorted(links):
        response = requests.get(site + link, timeout=60)
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == sums[link.lstrip("/")], link
    assert requests.head(site + "/pfocr.nt", timeout=30).headers["content-length"] == str(
        (built / "pfocr.nt").stat().st_size)
    assert requests.get(site + "/void.ttl", timeout=30).content == (built / "void.ttl").read_bytes()
    assert requests.get(site + "/report.json", timeout=30).status_code == 404  # only the dumps


def test_old_pfocr_addresses_redirect_to_the_figure_page(site):
    records = [front_matter(p) for p in sorted(SAMPLE_FIGURES.glob("*.md"))]
    aliased = [r for r in records if not is_missing(r.get("redirect_from"))]
    assert len(aliased) >= 20
    for r in aliased:
        response = requests.get(site + r["redirect_from"], allow_redirects=False, timeout=30)
        assert response.status_code == 301, r["redirect_from"]
        assert urlsplit(response.headers["location"]).path == f"/figures/{r['figid']}.html"
    followed = requests.get(site + aliased[0]["redirect_from"], timeout=30)
    assert followed.status_code == 200 and followed.url.endswith(f"/figures/{aliased[0]['figid']}.html")
    assert requests.get(site + "/figures/PMC0__F1", allow_redirects=False, timeout=30).status_code == 404
