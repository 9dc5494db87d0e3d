"""The web pages in a real browser: Debian's Chromium, driven by Playwright (which downloads no browser here).

``pfocr-rdf serve`` runs as a process on the examples plus a hostile record. The tests open the editor and run
canned queries through it, draw a result as a chart, complete a prefix, follow a figure page's gene link to the
figures that mention the gene and on to another figure, read a figure page with JavaScript off, check the
``/dataset`` charts are drawn, and check that nothing the pages load comes from anywhere but the server and that
markup in the data never runs. Screenshots go to ``output/test-artifacts/`` (or ``$PFOCR_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

import pytest

from _browser_support import Visit, answer
from _server_support import HOSTILE, HOSTILE_FIGID, build_site_store, start_cli_server

from converter.store.queries import library

FIGURE = "PMC10112233__fimmu-14-1187720-g006"  # an example figure with genes, chemicals and diseases
PMC_IMAGES = ("https://www.ncbi.nlm.nih.gov",)  # where the examples' figure images are


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _, store = build_site_store(tmp_path_factory.mktemp("browser"))
    running = start_cli_server(store)
    yield f"http://{running.host}:{running.port}"
    running.stop()


@pytest.fixture
def visit(browser, site):
    opened = []

    def make(**options) -> Visit:
        v = Visit(browser, site, images_from=PMC_IMAGES, **options)
        opened.append(v)
        return v

    yield make
    for v in opened:
        v.close()


def run_example(page, name: str, **params: str) -> None:
    form = page.locator(f'form.example[data-query="{name}"]')
    for key, value in params.items():
        form.locator(f'input[name="{key}"]').fill(value)
    form.get_by_role("button", name="Open in editor").click()


# --- the editor -------------------------------------------------------------------------------------------------
def test_editor_runs_a_canned_query_and_shows_the_result_table(visit, site):
    v = visit()
    page = v.open("/")
    page.wait_for_selector(".yasqe .CodeMirror")
    run_example(page, "figures-for-gene", gene="HMOX1")
    query = library()["figures-for-gene"].render({"gene": "HMOX1"})
    page.wait_for_function("q => window.pfocrEditor.getTab().getQuery() === q", arg=query)
    rows = page.locator(".yasr table.dataTable tbody tr")
    expected = answer(site, query)
    assert len(expected) >= 1
    page.wait_for_function("n => document.querySelectorAll('.yasr table.dataTable tbody tr').length === n",
                           arg=len(expected))
    table = page.locator(".yasr table.dataTable").inner_text()
    for row in expected:
        assert row["title"]["value"] in table
        assert row["pmcid"]["value"] in table
    assert rows.count() == len(expected)
    v.shot("editor-figures-for-gene")


def test_editor_draws_a_result_as_a_chart(visit, site):
    v = visit()
    page = v.open("/")
    page.wait_for_selector(".yasqe .CodeMirror")
    run_example(page, "figures-per-year")
    page.wait_for_selector(".yasr table.dataTable tbody tr")
    page.locator(".yasr").get_by_text("Chart", exact=True).click()
    canvas = page.wait_for_selector(".yasr .pfocr-chart canvas")
    box = canvas.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100
    bars = page.evaluate("() => { const c = Chart.getChart(document.querySelector('.pfocr-chart canvas'));"
                         " return c.data.labels.map((l, i) => [l, c.data.datasets[0].data[i]]); }")
    expected = answer(site, library()["figures-per-year"].render({}))
    assert bars == [[r["year"]["value"], int(r["figures"]["value"])] for r in expected]
    v.shot("editor-chart")


def test_editor_completes_the_projects_prefixes_offline(visit):
    v = visit()
    page = v.open("/")
    page.wait_for_selector(".yasqe .CodeMirror")
    page.evaluate("() => { window.pfocrEditor.getTab().setQuery(''); }")
    page.locator(".yasqe .CodeMirror").click()
    page.keyboard.type("PREFIX ncbig")
    hint = page.wait_for_selector(".CodeMirror-hints li")
    assert "ncbigene: <https://identifiers.org/ncbigene/>" in hint.inner_text()
    page.keyboard.press("Enter")
    value = page.evaluate("() => window.pfocrEditor.getTab().getQuery()")
    assert value.startswith("PREFIX ncbigene: <https://identifiers.org/ncbigene/>")
    assert any(u.endswith("/prefixes.json") for u in v.requests)


def test_editor_opens_a_query_given_in_the_address(visit, site):
    query = "SELECT (COUNT(*) AS ?figures) WHERE { ?f a <https://schema.org/ImageObject> }"
    v = visit()
    page = v.open("/?" + urlencode({"query": query, "endpoint": site + "/sparql"}))
    page.wait_for_selector(".yasqe .CodeMirror")
    assert page.evaluate("() => window.pfocrEditor.getTab().getQuery()") == query


# --- figure pages -----------------------------------------------------------------------------------------------
def test_figure_page_links_a_gene_to_the_figures_that_mention_it(visit, site):
    v = visit()
    page = v.open(f"/figures/{FIGURE}.html")
    title = answer(site, f'SELECT ?t WHERE {{ ?f <https://schema.org/identifier> "{FIGURE}" ; '
                         f'<https://schema.org/name> ?t }}')[0]["t"]["value"]
    assert page.locator("h1").inner_text() == title
    markup = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    assert markup["identifier"] == FIGURE and "Dataset" in markup["@type"]
    genes = page.locator("section.entities", has=page.get_by_role("heading", name="Genes"))
    row = genes.locator("tbody", has=page.locator("td.name").get_by_text("TNF", exact=True))
    assert row.locator("a.identifier").get_attribute("href") == "https://identifiers.org/ncbigene/7124"
    v.shot("figure-page")
    row.locator("a.others").click()
    page.wait_for_url(lambda url: "/figures?mentions=" in url)
    assert page.locator("h1").inner_text() == "Figures mentioning TNF"
    listed = page.locator("a.figure-link")
    expected = answer(site, "SELECT DISTINCT ?f WHERE { ?f <https://schema.org/mentions> "
                            "<https://identifiers.org/ncbigene/7124> }")
    assert listed.count() == len(expected) >= 2
    other = next(link for link in listed.all() if link.inner_text() != FIGURE)
    other_figid = other.inner_text()
    other.click()
    page.wait_for_url(f"**/figures/{other_figid}.html")
    assert page.locator("code").first.inner_text() == other_figid
    assert page.locator('a.identifier[href="https://identifiers.org/ncbigene/7124"]').count() == 1


def test_figure_page_reads_without_javascript(visit):
    v = visit(java_script_enabled=False)
    page = v.open(f"/figures/{FIGURE}.html")
    assert page.locator("section.entities table tbody tr").count() >= 10
    assert page.locator("#image-link").get_attribute("href").endswith(".jpg")
    page.locator("a.others").first.click()
    page.wait_for_url(lambda url: "/figures?mentions=" in url)
    assert page.locator("a.figure-link").count() >= 1


def test_pages_work_from_the_keyboard(visit):
    v = visit()
    page = v.open(f"/figures/{FIGURE}.html")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    for _ in range(3):
        page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.tagName") == "A"  # links inside main, in order


def test_markup_in_the_data_is_shown_as_text(visit):
    v = visit()
    page = v.open(f"/figures/{HOSTILE_FIGID}.html")
    assert page.locator("h1").inner_text() == HOSTILE["figtitle"]
    assert page.locator("p.caption").inner_text() == HOSTILE["caption"]
    assert page.title().startswith(HOSTILE["figtitle"])
    assert page.locator("img, svg, b, i").count() == 0
    v.shot("hostile-figure")  # Visit.close asserts no dialog opened and no script error happened


# --- the dataset page ---------------------------------------------------------------------------------------------
def test_dataset_page_draws_its_charts(visit, site):
    v = visit()
    page = v.open("/dataset")
    charts = page.locator("figure.chart")
    assert charts.count() == 6
    for i in range(charts.count()):
        chart = charts.nth(i)
        svg = chart.locator("svg")
        box = svg.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 20, chart.get_attribute("id")
        bars = chart.locator("rect")
        assert bars.count() >= 1
        widths = [bars.nth(j).bounding_box()["width"] for j in range(bars.count())]
        assert max(widths) > 100  # the longest bar is drawn long
    years = answer(site, library()["figures-per-year"].render({}))
    assert page.locator("#chart-per-year rect").count() == len(years)
    v.shot("dataset")
    link = page.locator("#chart-genes a.query-link")
    link.click()
    page.wait_for_selector(".yasqe .CodeMirror")
    assert "pfocr:figureCount" in page.evaluate("() => window.pfocrEditor.getTab().getQuery()")
    assert urlsplit(page.url).path == "/"


CONTRAST = """() => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const worst = [];
  const texts = "main p, main a, main td, main th, main dt, main dd, main h1, main h2, main label, main summary, "
    + "nav a, footer";
  for (const el of document.querySelectorAll(texts)) {
    if (!el.textContent.trim() || !el.offsetParent) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) worst.push([el.tagName, el.textContent.trim().slice(0, 30), ratio.toFixed(2)]);
  }
  return worst;
}"""


@pytest.mark.parametrize("path", ["/", f"/figures/{FIGURE}.html", "/dataset", "/journals/Cells"])
def test_text_contrast_and_labels(visit, path):
    """WCAG AA contrast (4.5:1) for the text of every page, and a label for every form field."""
    v = visit()
    page = v.open(path)
    page.wait_for_load_state("networkidle")
    assert page.evaluate(CONTRAST) == []
    unlabelled = page.evaluate("() => [...document.querySelectorAll('main input, main textarea, main select')]"
                               ".filter((e) => e.offsetParent && !e.labels.length && !e.getAttribute('aria-label'))"
                               ".map((e) => e.outerHTML.slice(0, 80))")
    assert unlabelled == []
    assert page.evaluate("() => document.documentElement.lang") == "en"
