"""The canned SPARQL queries in ``queries/``, each checked against an answer computed without SPARQL.

The real PFOCR sample (every page of ``../shared/pfocr/sample/_figures`` plus the seed record) and the bundled
examples are loaded into one embedded store per session. Every query of the library is run with parameter values
that give non-empty answers on that data, and its whole answer (every row, in order when the query orders rows
completely) is compared with what this module computes from the records themselves: the front matter read with
``yaml.safe_load`` and the companion TSVs read with :mod:`csv` (see ``_support.py``), never the converter.

Adding a query to ``queries/`` without adding its check to ``CHECKS`` below fails the suite.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pytest

from _support import (
    HAVE_PFOCR,
    PROJECT,
    SAMPLE_FIGURES,
    SEED,
    SKIP_REASON,
    cli_command,
    front_matter,
    is_missing,
    minimal_record,
    rdflib_term,
    read_tsv,
    write_record,
)

from converter import convert
from converter.store.derived import STATISTICS_GRAPH
from converter.store.load import load, open_store
from converter.store.queries import QueryError, csv_rows, library, parse_query_file, run

EXAMPLES = PROJECT / "examples" / "pfocr"
DOCS = PROJECT / "docs" / "queries.md"
IDORG = "https://identifiers.org/"
FIGURES = "https://pfocr.wikipathways.org/figures/"
SCHEMA = "https://schema.org/"
PFOCR = "https://pfocr.wikipathways.org/vocab#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
NDEX = "https://www.ndexbio.org/viewer/networks/"
WP = "http://vocabularies.wikipathways.org/wp#"
DC_TITLE = "http://purl.org/dc/elements/1.1/title"
DCTERMS_IS_PART_OF = "http://purl.org/dc/terms/isPartOf"
EXACT = {"hgnc_symbol", "ncbigene_symbol"}
FAMILY = {"bioentities_symbol", "famplex_relations"}
LIBRARY = library()


# --- the records, read independently --------------------------------------------------------------------------
PATTERNS = {"ncbigene": r"\d+", "mesh": r"[CDQ]\d+", "chebi": r"\d+", "doid": r"\d+", "ncbitaxon": r"\d+"}
BAD_FIGID = re.compile(r'[\x00-\x20<>"{}|^`\\/%?#]')
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _value(value) -> str | None:
    """A field as text, or None when it is one of PFOCR's missing-value spellings."""
    if is_missing(value):
        return None
    return str(value)


def _local(value: str | None, prefix: str) -> str | None:
    """The local part of ``value`` (bare or CURIE) when it fits the namespace's pattern, else None."""
    if value is None:
        return None
    value = value.strip()
    if ":" in value:
        value = value.split(":", 1)[1]
    return value if re.fullmatch(PATTERNS[prefix], value) else None


def gene_iri(ncbigene_id) -> str | None:
    local = _local(_value(ncbigene_id), "ncbigene")
    return f"{IDORG}ncbigene/{local}" if local else None


@dataclass(frozen=True)
class Mention:
    kind: str  # gene, chemical, disease
    word: str | None
    symbol: str | None
    source: str | None
    entity: str | None  # the identifiers.org IRI, None when the record has no valid identifier
    counts: tuple = ()


@dataclass
class Figure:
    figid: str
    title: str
    caption: str | None
    pmcid: str
    year: str | None
    doi: str | None
    papertitle: str | None
    keywords: list[str]
    ndex: str | None
    organisms: list[str]
    organisms_ner: list[str]
    number: str | None = None
    mentions: list[Mention] = field(default_factory=list)

    @property
    def iri(self) -> str:
        return f"{FIGURES}{self.figid}.html"

    @property
    def article(self) -> str:
        return f"{IDORG}pmc/{self.pmcid}"

    def entities(self, kind: str) -> set[str]:
        return {m.entity for m in self.mentions if m.kind == kind and m.entity}

    @property
    def genes(self) -> set[str]:
        return self.entities("gene")


def _names(value) -> list[str]:
    """``organisms``/``organisms_ner``: a list, one name, or a comma-joined string; NA items dropped."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    out = []
    for item in items:
        text = _value(item)
        if text is not None and text.strip() and text.strip() not in out:
            out.append(text.strip())
    return out


def _keywords(value) -> list[str]:
    text = _value(value)
    out = []
    for item in (text or "").split("|"):
        item = " ".join(item.split())
        if item and item not in out:
            out.append(item)
    return out


def _count(value):
    text = _value(value)
    return int(text) if text is not None and text.strip().lstrip("-").isdigit() else None


def _companion(md: Path, figid: str, kind: str) -> Path | None:
    folders = [md.parent.parent / "_data"] if md.parent.name == "_figures" else [md.parent / "_data", md.parent]
    return next((d / f"{figid}-{kind}.tsv" for d in folders if (d / f"{figid}-{kind}.tsv").is_file()), None)


class Corpus:
    """Figures, genes, chemicals and diseases as the records state them."""

    def __init__(self, pages: list[Path]):
        self.figures: dict[str, Figure] = {}
        self._facts: dict[str, list] = {}  # figid -> (entity, name, taxon) in record order
        self._genes_matching: dict[str, set[str]] = {}
        for md in pages:
            figure = self._read(md)
            if figure is not None:
                assert figure.figid not in self.figures, f"figid {figure.figid} twice in the test inputs"
                self.figures[figure.figid] = figure
        self.names: dict[str, str] = {}  # entity IRI -> the first name, in figid order
        self.taxon: dict[str, str] = {}  # gene IRI -> the first taxon IRI, in figid order
        self.kinds: dict[str, set[str]] = defaultdict(set)
        for figid in sorted(self.figures):
            for m in self.figures[figid].mentions:
                if m.entity:
                    self.kinds[m.entity].add(m.kind)
            for entity, name, taxon in self._facts[figid]:
                if name is not None:
                    self.names.setdefault(entity, name)
                if taxon is not None:
                    self.taxon.setdefault(entity, taxon)

    def _read(self, md: Path) -> Figure | None:
        fm = front_matter(md)
        figid, pmcid, title = (_value(fm.get(k)) for k in ("figid", "pmcid", "figtitle"))
        if figid is None or BAD_FIGID.search(figid) or title is None or not re.fullmatch(r"PMC\d+", pmcid or ""):
            return None  # rejected by the converter (tested elsewhere)
        year = _value(fm.get("year"))
        ndex = _value(fm.get("ndex"))
        figure = Figure(
            figid=figid, title=title, caption=_value(fm.get("caption")), pmcid=pmcid,
            year=year.strip() if year and re.fullmatch(r"\d{4}", year.strip()) else None,
            doi=_value(fm.get("doi")), papertitle=_value(fm.get("papertitle")),
            keywords=_keywords(fm.get("keywords")),
            ndex=ndex.strip() if ndex and UUID.fullmatch(ndex.strip()) else None,
            organisms=_names(fm.get("organisms")), organisms_ner=_names(fm.get("organisms_ner")),
            number=_value(fm.get("number")),
        )
        facts = []  # (entity, name, taxon) in record order
        for kind, key in (("gene", "genes"), ("chemical", "chemicals"), ("disease", "diseases")):
            if key in fm:  # the older layout: inline lists
                for item in fm[key] or []:
                    word, source = _value(item.get("word")), _value(item.get("source"))
                    if kind == "gene":
                        entity = gene_iri(item.get("entrez"))
                        figure.mentions.append(Mention(kind, word, _value(item.get("symbol")), source, entity))
                        if entity:
                            facts.append((entity, _value(item.get("hgnc_symbol")), f"{IDORG}taxonomy/9606"))
                    else:
                        local = _local(_value(item.get("identifier")), "mesh")
                        entity = f"{IDORG}mesh/{local}" if local else None
                        figure.mentions.append(Mention(kind, word, None, source, entity))
                continue
            tsv = _companion(md, figid, key)
            for row in read_tsv(tsv) if tsv else []:
                word = _value(row.get("word"))
                if kind == "gene":
                    entity = gene_iri(row.get("ncbigene_id"))
                    counts = tuple(_count(row.get(c)) for c in ("count_direct", "count_synonym", "count_match"))
                    figure.mentions.append(Mention(kind, word, _value(row.get("match")), _value(row.get("source")),
                                                   entity, counts))
                    taxid = _local(_value(row.get("organism_id")), "ncbitaxon")
                    if entity:
                        facts.append((entity, _value(row.get("ncbigene_symbol")),
                                      f"{IDORG}taxonomy/{taxid}" if taxid else None))
                    continue
                other = "chebi" if kind == "chemical" else "doid"
                mesh, xref = _local(_value(row.get("mesh")), "mesh"), _local(_value(row.get(other)), other)
                if mesh:
                    entity, name = f"{IDORG}mesh/{mesh}", _value(row.get("match"))
                elif xref:
                    entity, name = f"{IDORG}{other}/{other.upper()}:{xref}", _value(row.get("name"))
                else:
                    entity, name = None, None
                figure.mentions.append(Mention(kind, word, _value(row.get("match")), None, entity))
                if entity:
                    facts.append((entity, name, None))
        self._facts[figid] = facts
        return figure

    # --- derived views ------------------------------------------------------------------------------------------
    def identifier(self, entity: str) -> str:
        namespace, local = entity[len(IDORG):].split("/", 1)
        if namespace in ("chebi", "doid"):
            local = local.split(":", 1)[1]
        return f"{namespace}:{local}"

    def figures_mentioning(self, entity: str) -> set[str]:
        return {f.iri for f in self.figures.values() if entity in f.entities("gene") | f.entities("chemical")
                | f.entities("disease")}

    def figure_count(self) -> Counter:
        """Figures per gene, chemical and disease: what the statistics graph should hold for them."""
        counts = Counter()
        for f in self.figures.values():
            for entity in f.entities("gene") | f.entities("chemical") | f.entities("disease"):
                counts[entity] += 1
        return counts

    def genes_matching(self, text: str) -> set[str]:
        """Genes whose name is ``text`` (any case) or whose NCBI Gene id is ``text``."""
        if text not in self._genes_matching:
            all_genes = {g for f in self.figures.values() for g in f.genes}
            self._genes_matching[text] = {
                g for g in all_genes
                if self.names.get(g, "\0").lower() == text.lower() or self.identifier(g) == f"ncbigene:{text}"}
        return self._genes_matching[text]

    def resolve(self, kind: str, text: str) -> set[str]:
        """Entities used as ``kind`` that ``text`` names: by identifier or name (any case), or by an OCR word they
        were found by as that kind (exactly)."""
        out = set()
        for f in self.figures.values():
            for m in f.mentions:
                if m.entity is None or kind not in self.kinds[m.entity]:
                    continue
                keys = {self.identifier(m.entity).lower(), (self.names.get(m.entity) or "\0").lower()}
                if text.lower() in keys or f"mesh:{text.lower()}" in keys or (m.kind == kind and m.word == text):
                    out.add(m.entity)
        return out

    def figures_for(self, kind: str, text: str) -> set[tuple[str, str | None]]:
        """(figure IRI, entity or None) for figures-for-chemical and figures-for-disease: figures mentioning a
        resolved entity, and figures with a ``kind`` mention of exactly that word and no identifier."""
        entities = self.resolve(kind, text)
        out = set()
        for f in self.figures.values():
            for m in f.mentions:
                if m.entity in entities:
                    out.add((f.iri, m.entity))
                elif m.entity is None and m.kind == kind and m.word == text:
                    out.add((f.iri, None))
        return out

    def by_iri(self, iri: str) -> Figure:
        return self.figures[iri[len(FIGURES):-len(".html")]]


def match_kind(source: str) -> str:
    return "exact" if source in EXACT else "family" if source in FAMILY else "synonym"


# --- fixtures ---------------------------------------------------------------------------------------------------
def inputs() -> list[Path]:
    return [SAMPLE_FIGURES, SEED, EXAMPLES]


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    if not HAVE_PFOCR:
        pytest.skip(SKIP_REASON)
    pages = sorted(SAMPLE_FIGURES.glob("*.md")) + sorted(SEED.glob("*.md")) + sorted(EXAMPLES.glob("_figures/*.md"))
    return Corpus(pages)


@pytest.fixture(scope="session")
def query_dump(tmp_path_factory) -> Path:
    if not HAVE_PFOCR:
        pytest.skip(SKIP_REASON)
    out = tmp_path_factory.mktemp("query-dump")
    convert([str(p) for p in inputs()], output=str(out), formats=["nt"], jobs=1)
    return out / "pfocr.nt"


@pytest.fixture(scope="session")
def store_path(query_dump, tmp_path_factory) -> Path:
    """The embedded store of the sample, the seed and the examples, built as 'pfocr-rdf load' builds it."""
    path = tmp_path_factory.mktemp("query-store") / "store"
    load([str(query_dump)], str(path))
    return path


@pytest.fixture(scope="session")
def store(store_path):
    return open_store(str(store_path))


def select(store, name: str, **params) -> list[dict[str, str]]:
    results = run(store, LIBRARY[name].render({k: str(v) for k, v in params.items()}))
    return csv_rows(results)


def ints(rows, *columns):
    """Rows with the named columns turned into integers (they come back as text)."""
    return [{k: (int(v) if k in columns else v) for k, v in row.items()} for row in rows]


@pytest.fixture(scope="session")
def multi_figure(tmp_path_factory) -> tuple:
    """A store and corpus of small records with several figures per article (none in the sample has two)."""
    folder = tmp_path_factory.mktemp("multi-figure")
    pages = folder / "_figures"
    for figid, pmcid, year, doi in (("PMC900001__a-f1", "PMC900001", "2020", "10.1234/Multi.1"),
                                    ("PMC900001__a-f2", "PMC900001", "2020", "10.1234/Multi.1"),
                                    ("PMC900001__a-f3", "PMC900001", "2020", "10.1234/Multi.1"),
                                    ("PMC900002__b-f1", "PMC900002", "2020", None),
                                    ("PMC900003__c-f1", "PMC900003", "", None),
                                    ("PMC900003__c-f2", "PMC900003", "", None)):
        record = minimal_record(figid, pmcid=pmcid, year=year, figtitle=f"Figure {figid}",
                                papertitle=f"Article {pmcid}", number=figid[-2:].upper(), genes=[], chemicals=[],
                                diseases=[])
        if doi:
            record["doi"] = doi
        write_record(pages / f"{figid}.md", record)
    load([str(pages)], str(folder / "store"))
    return open_store(str(folder / "store")), Corpus(sorted(pages.glob("*.md")))


# --- WikiPathways-shaped data for the join ------------------------------------------------------------------------
def wikipathways_graph(corpus: Corpus) -> dict[str, tuple[str, list[str]]]:
    """Three pathways whose gene products overlap the sample's genes, plus genes PFOCR never mentions."""
    counts = corpus.figure_count()
    genes = sorted((g for g in counts if "/ncbigene/" in g), key=lambda g: (-counts[g], g))
    wnt = sorted(g for g in genes if corpus.names.get(g, "").startswith("WNT"))
    tnf_figure = corpus.by_iri(f"{FIGURES}PMC10112233__fimmu-14-1187720-g006.html")
    pathway = "https://identifiers.org/wikipathways/WP9000"
    return {
        f"{pathway}1": ("Most mentioned genes", [*genes[:8], f"{IDORG}ncbigene/999999991"]),
        f"{pathway}2": ("Wnt signalling", wnt[:10] + wnt[:2]),  # two genes listed twice
        f"{pathway}3": ("Ferroptosis", sorted(tnf_figure.genes)[:6] + genes[:1]),
        f"{pathway}4": ("Nothing in PFOCR", [f"{IDORG}ncbigene/999999992"]),
    }


def wikipathways_turtle(pathways) -> str:
    lines = ["@prefix wp: <http://vocabularies.wikipathways.org/wp#> .",
             "@prefix dc: <http://purl.org/dc/elements/1.1/> .",
             "@prefix dcterms: <http://purl.org/dc/terms/> .", ""]
    for pathway, (title, genes) in pathways.items():
        lines.append(f'<{pathway}> a wp:Pathway ; dc:title "{title}" .')
        for i, gene in enumerate(genes):
            lines.append(f"<{pathway}/DataNode/{i}> a wp:DataNode, wp:GeneProduct ; dcterms:isPartOf <{pathway}> ;"
                         f" wp:bdbEntrezGene <{gene}> .")
    # a metabolite node with a gene link must not count: only gene products do
    lines.append("<https://identifiers.org/wikipathways/WP90003/DataNode/m> a wp:DataNode, wp:Metabolite ;"
                 " dcterms:isPartOf <https://identifiers.org/wikipathways/WP90003> ;"
                 f" wp:bdbEntrezGene <{IDORG}ncbigene/7157> .")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def wikipathways(corpus):
    return wikipathways_graph(corpus)


@pytest.fixture(scope="session")
def wp_store(query_dump, wikipathways, tmp_path_factory):
    """A copy of the store with the WikiPathways-shaped graph loaded beside PFOCR."""
    folder = tmp_path_factory.mktemp("wp-store")
    ttl = folder / "wikipathways.ttl"
    ttl.write_text(wikipathways_turtle(wikipathways), encoding="utf-8")
    load([str(query_dump), str(ttl)], str(folder / "store"))
    return open_store(str(folder / "store"))


# --- one check per query ------------------------------------------------------------------------------------------
def check_figures_for_gene(store, corpus: Corpus):
    for gene in ("TP53", "tnf", "akt1", "WNT5A"):
        genes = {g for g in corpus.genes_matching(gene) if corpus.names[g].lower() == gene.lower()}
        assert genes, gene
        expected = set()
        for f in corpus.figures.values():
            for g in sorted(f.genes & genes):
                sources = frozenset(m.source for m in f.mentions if m.entity == g and m.source)
                expected.add((f.iri, f.title, f.pmcid, f.year or "", g, sources))
        rows = select(store, "figures-for-gene", gene=gene)
        got = {(r["figure"], r["title"], r["pmcid"], r["year"], r["gene_iri"],
                frozenset(s for s in r["sources"].split(", ") if s)) for r in rows}
        assert got == expected and len(rows) == len(expected), gene
        assert [r["figure"] for r in rows] == sorted(r["figure"] for r in rows)
    assert len(select(store, "figures-for-gene", gene="TP53")) >= 5


def check_co_mentioned_genes(store, corpus: Corpus):
    counts = corpus.figure_count()
    for gene in ("AKT1", "TP53", "7124", "tnf"):
        matched = corpus.genes_matching(gene)
        figures = [f for f in corpus.figures.values() if f.genes & matched]
        shared = Counter(g for f in figures for g in f.genes - matched)
        expected = [{"other": g, "symbol": corpus.names.get(g, ""), "taxon": corpus.taxon.get(g, ""),
                     "figures": n, "gene_figures": counts[g]}
                    for g, n in sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))]
        rows = ints(select(store, "co-mentioned-genes", gene=gene), "figures", "gene_figures")
        assert rows == expected, gene
        assert rows and rows[0]["figures"] >= 2, gene


def check_figures_with_all_genes(store, corpus: Corpus):
    cases = ["AKT1,MTOR", "akt1, AKT2 ,akt3", "TNF,7099", "WNT5A,WNT3A,FGF9", "TP53,TP53", "AKT1,NOSUCHGENE"]
    seen = 0
    for genes in cases:
        items = {g.strip().lower() for g in genes.split(",") if g.strip()}
        expected = []
        for f in sorted(corpus.figures.values(), key=lambda f: f.iri):
            hit = {i for i in items if f.genes & corpus.genes_matching(i)}
            if hit == items:
                expected.append({"figure": f.iri, "title": f.title, "pmcid": f.pmcid, "matched": len(items),
                                 "figure_genes": len(f.genes)})
        rows = ints(select(store, "figures-with-all-genes", genes=genes), "matched", "figure_genes")
        assert rows == expected, genes
        seen += len(rows) >= 2
    assert seen >= 3


def check_figures_ranked_by_gene_list(store, corpus: Corpus):
    for genes in ("TP53,MDM2,AKT1,MTOR,TNF,NFKB1,RELA,7099,tnf", "WNT5A,WNT3A,FGF9,FGF10,IRF6", "MAPK1,MAPK3"):
        items = {g.strip().lower() for g in genes.split(",")}
        expected = []
        for f in corpus.figures.values():
            hits = sum(1 for i in items if f.genes & corpus.genes_matching(i))
            if hits:
                expected.append({"figure": f.iri, "title": f.title, "hits": hits, "figure_genes": len(f.genes)})
        expected.sort(key=lambda r: (-r["hits"], r["figure_genes"], r["figure"]))
        rows = ints(select(store, "figures-ranked-by-gene-list", genes=genes), "hits", "figure_genes")
        assert rows == expected, genes
        assert len(rows) >= 3 and rows[0]["hits"] >= 2, genes


def _check_figures_for(store, corpus: Corpus, kind: str, cases: list[str]):
    for text in cases:
        pairs = corpus.figures_for(kind, text)
        expected = []
        for iri, entity in sorted(pairs, key=lambda p: (p[0], p[1] or "")):
            f = corpus.by_iri(iri)
            expected.append({"figure": iri, "title": f.title, "pmcid": f.pmcid, "entity": entity or "",
                             "name": corpus.names.get(entity, "") if entity else "", "figure_genes": len(f.genes)})
        rows = ints(select(store, f"figures-for-{kind}", **{kind: text}), "figure_genes")
        assert rows == expected, text
        assert rows, text


def _check_genes_for(store, corpus: Corpus, kind: str, cases: list[str]):
    counts = corpus.figure_count()
    for text in cases:
        figures = {iri for iri, _ in corpus.figures_for(kind, text)}
        shared = Counter(g for iri in figures for g in corpus.by_iri(iri).genes)
        expected = [{"gene": g, "symbol": corpus.names.get(g, ""), "taxon": corpus.taxon.get(g, ""), "figures": n,
                     "gene_figures": counts[g]} for g, n in sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))]
        rows = ints(select(store, f"genes-for-{kind}", **{kind: text}), "figures", "gene_figures")
        assert rows == expected, text
        assert rows or not any(corpus.by_iri(iri).genes for iri in figures), text
    assert any(select(store, f"genes-for-{kind}", **{kind: text}) for text in cases)


CHEMICALS = ["D005947", "mesh:D005947", "glucose", "CHEBI:15345", "chebi:15345", "On", "ATP", "GSH"]
DISEASES = ["Van der Woude syndrome", "C536528", "c536528", "Cancer", "cancer", "DOID:1936", "Melanoma", "lung injury"]


def check_figures_for_chemical(store, corpus):
    assert len(corpus.figures_for("chemical", "glucose")) >= 5
    assert (None in {e for _, e in corpus.figures_for("chemical", "On")})  # a word-only mention
    _check_figures_for(store, corpus, "chemical", CHEMICALS)


def check_genes_for_chemical(store, corpus):
    _check_genes_for(store, corpus, "chemical", [c for c in CHEMICALS if c != "On"])


def check_figures_for_disease(store, corpus):
    assert None in {e for _, e in corpus.figures_for("disease", "Cancer")}  # mentions with no MeSH id
    assert corpus.resolve("disease", "Melanoma") == {f"{IDORG}mesh/D008545"}  # by OCR word: MeSH gives no name
    assert corpus.resolve("disease", "melanoma") == set()  # words are matched exactly
    _check_figures_for(store, corpus, "disease", [*DISEASES, "D008545"])


def check_genes_for_disease(store, corpus):
    _check_genes_for(store, corpus, "disease", ["Van der Woude syndrome", "Cancer", "cancer", "lung injury"])


def check_figures_of_article(store, corpus: Corpus, multi=None):
    if multi is not None:  # several figures of one article, which the sample lacks
        check_figures_of_article(*multi)
        assert len(select(multi[0], "figures-of-article", article="PMC900001")) == 3
    by_article = defaultdict(list)
    for f in corpus.figures.values():
        by_article[f.pmcid].append(f)
    with_doi = 0
    for pmcid, figures in sorted(by_article.items()):
        doi = figures[0].doi
        expected = [{"figure": f.iri, "number": f.number or "", "title": f.title,
                     "article_iri": f.article, "pmcid": pmcid, "doi": f"https://doi.org/{doi}" if doi else "",
                     "year": f.year or "", "article_title": f.papertitle or ""}
                    for f in sorted(figures, key=lambda f: f.iri)]
        keys = [pmcid, pmcid.lower(), pmcid[3:]]
        if doi:
            with_doi += 1
            keys += [doi, doi.upper(), f"https://doi.org/{doi}"]
        for key in keys:
            assert select(store, "figures-of-article", article=key) == expected, key
    assert with_doi >= min(5, len(by_article) // 3)
    assert select(store, "figures-of-article", article="PMC0") == []


def check_figures_per_year(store, corpus: Corpus, multi=None):
    if multi is not None:
        check_figures_per_year(*multi)
        assert ints(select(multi[0], "figures-per-year"), "figures", "articles")[-1] == \
            {"year": "2020", "figures": 4, "articles": 2}
    figures, articles = Counter(), defaultdict(set)
    for f in corpus.figures.values():
        figures[f.year or ""] += 1
        articles[f.year or ""].add(f.pmcid)
    expected = [{"year": y, "figures": figures[y], "articles": len(articles[y])} for y in sorted(figures)]
    rows = ints(select(store, "figures-per-year"), "figures", "articles")
    assert rows == expected
    assert rows[0]["year"] == "" and rows[0]["figures"] >= 1


def _check_most_mentioned(store, corpus: Corpus, kind: str, name: str, cases):
    counts = corpus.figure_count()
    entities = [e for e in counts if kind in corpus.kinds[e]]
    for min_figures in cases:
        expected = [{"entity": e, "name": corpus.names.get(e, ""),
                     **({"taxon": corpus.taxon.get(e, "")} if kind == "gene" else {}), "figures": counts[e]}
                    for e in sorted(entities, key=lambda e: (-counts[e], e)) if counts[e] >= min_figures][:500]
        rows = ints(select(store, name, min_figures=min_figures), "figures")
        assert rows == expected, min_figures
        assert rows, min_figures


def check_most_mentioned_genes(store, corpus):
    counts = corpus.figure_count()
    assert sum(1 for e in counts if "/ncbigene/" in e) > 500  # min_figures=1 shows the LIMIT at work
    _check_most_mentioned(store, corpus, "gene", "most-mentioned-genes", [1, 2, 5])


def check_most_mentioned_chemicals(store, corpus):
    _check_most_mentioned(store, corpus, "chemical", "most-mentioned-chemicals", [1, 2, 3])


def check_most_mentioned_diseases(store, corpus):
    _check_most_mentioned(store, corpus, "disease", "most-mentioned-diseases", [1, 2])


def check_figures_per_organism(store, corpus: Corpus):
    about, named = defaultdict(set), defaultdict(set)
    for f in corpus.figures.values():
        for name in f.organisms:
            about[name].add(f.iri)
        for name in f.organisms_ner:
            named[name].add(f.iri)
    expected = Counter((n, len(about[n] | named[n]), len(about[n]), len(named[n])) for n in set(about) | set(named))
    rows = ints(select(store, "figures-per-organism"), "figures", "article_organism", "named_in_figure")
    assert Counter((r["name"], r["figures"], r["article_organism"], r["named_in_figure"]) for r in rows) == expected
    assert [(-r["figures"], r["taxon"]) for r in rows] == sorted((-r["figures"], r["taxon"]) for r in rows)
    human = next(r for r in rows if r["name"] == "Homo sapiens")
    assert human["taxon"] == f"{IDORG}taxonomy/9606" and rows[0] == human


def check_figures_with_ndex(store, corpus: Corpus):
    expected = [{"figure": f.iri, "title": f.title, "network": f"{NDEX}{f.ndex}", "pmcid": f.pmcid,
                 "year": f.year or "", "figure_genes": len(f.genes)}
                for f in sorted(corpus.figures.values(), key=lambda f: f.iri) if f.ndex]
    rows = ints(select(store, "figures-with-ndex"), "figure_genes")
    assert rows == expected
    assert len(rows) >= 10


def check_gene_mentions_by_match_source(store, corpus: Corpus):
    for gene in ("MAPK1", "TNF", "akt1", "7099", "TP53"):
        genes = corpus.genes_matching(gene)
        figures, mentions = defaultdict(set), defaultdict(set)
        for f in corpus.figures.values():
            for m in f.mentions:
                if m.entity in genes and m.source:
                    figures[m.entity, m.source].add(f.iri)
                    mentions[m.entity, m.source].add((f.iri, m))
        expected = [{"gene_iri": g, "symbol": corpus.names[g], "source": s, "match": match_kind(s),
                     "figures": len(figures[g, s]), "mentions": len(mentions[g, s])} for g, s in sorted(figures)]
        rows = ints(select(store, "gene-mentions-by-match-source", gene=gene), "figures", "mentions")
        assert rows == expected, gene
    kinds = {r["match"] for g in ("MAPK1", "TNF", "AKT1") for r in select(store, "gene-mentions-by-match-source",
                                                                             gene=g)}
    assert kinds == {"exact", "synonym", "family"}


def check_figures_for_gene_by_match(store, corpus: Corpus):
    for gene, kind in (("TNF", "exact"), ("AKT1", "family"), ("TP53", "synonym"), ("MTOR", "exact"),
                       ("MAPK1", "FAMILY"), ("TP53", "exact")):
        genes = corpus.genes_matching(gene)
        expected = sorted({(f.iri, f.title, m.entity, corpus.names[m.entity], m.word, m.source)
                           for f in corpus.figures.values() for m in f.mentions
                           if m.entity in genes and m.source and match_kind(m.source) == kind.lower()},
                          key=lambda r: (r[0], r[2], r[4], r[5]))
        rows = select(store, "figures-for-gene-by-match", gene=gene, match=kind)
        assert [tuple(r.values()) for r in rows] == expected, (gene, kind)
        assert rows or (gene, kind) == ("TP53", "exact")


def check_search_figures(store, corpus: Corpus):
    for text in ("ferroptosis", "WNT", "signaling pathway", "insulin"):
        expected = []
        for f in sorted(corpus.figures.values(), key=lambda f: f.iri):
            where = {"title": [f.title], "caption": [f.caption or ""], "keyword": f.keywords}
            for found_in in sorted(where):
                if any(text.lower() in value.lower() for value in where[found_in]):
                    expected.append({"figure": f.iri, "title": f.title, "found_in": found_in, "pmcid": f.pmcid,
                                     "year": f.year or ""})
        rows = select(store, "search-figures", text=text)
        assert rows == expected, text
        assert len({r["figure"] for r in rows}) >= 2, text


def check_figure_card(store, corpus: Corpus):
    for figid in ("PMC7957022__fcell-09-641469-g005", "PMC10112233__fimmu-14-1187720-g006",
                  "PMC1852397__pbio.0050121.g004", "PMC10003241__ijms-24-04893-g003"):
        f = corpus.figures[figid]
        text = LIBRARY["figure-card"].render({"figid": figid})
        triples = {(t.subject.value, t.predicate.value, t.object.value) for t in run(store, text)}
        assert (f.iri, SCHEMA + "name", f.title) in triples
        assert (f.iri, SCHEMA + "identifier", figid) in triples
        assert (f.iri, SCHEMA + "isPartOf", f.article) in triples
        assert (f.article, SCHEMA + "identifier", f.pmcid) in triples
        assert not any(p == PFOCR + "hasMention" for _, p, _ in triples)
        mentioned = {o for s, p, o in triples if s == f.iri and p == SCHEMA + "mentions" and "/taxonomy/" not in o
                     and o.startswith(IDORG)}
        expected = f.entities("gene") | f.entities("chemical") | f.entities("disease")
        assert mentioned == expected and expected
        for gene in f.genes:
            assert (gene, SCHEMA + "name", corpus.names[gene]) in triples
            assert (gene, RDF_TYPE, SCHEMA + "Gene") in triples
        subjects = {s for s, _, _ in triples}
        assert subjects <= {f.iri, f.article} | {o for s, p, o in triples if s == f.iri}
    assert list(run(store, LIBRARY["figure-card"].render({"figid": "PMC0__nothing"}))) == []


def check_wikipathways_shared_genes(store, corpus: Corpus, wp_store=None, wikipathways=None):
    assert select(store, "wikipathways-shared-genes") == []  # no WikiPathways data in the PFOCR store
    pathway_genes = {pw: set(genes) for pw, (_, genes) in wikipathways.items()}
    for min_shared in (1, 2, 3):
        expected = []
        for f in corpus.figures.values():
            for pw, genes in pathway_genes.items():
                shared = len(f.genes & genes)
                if shared >= min_shared:
                    expected.append({"figure": f.iri, "title": f.title, "pathway": pw,
                                     "pathway_title": wikipathways[pw][0], "shared": shared,
                                     "figure_genes": len(f.genes), "pathway_genes": len(genes)})
        expected.sort(key=lambda r: (-r["shared"], r["figure"], r["pathway"]))
        rows = ints(select(wp_store, "wikipathways-shared-genes", min_shared=min_shared),
                    "shared", "figure_genes", "pathway_genes")
        assert rows == expected, min_shared
        assert len({r["pathway"] for r in rows}) >= 2 and len(rows) >= 3, min_shared


def check_figures_mentioning(store, corpus: Corpus):
    counts = corpus.figure_count()
    chosen = [max((e for e in counts if "/ncbigene/" in e), key=lambda e: (counts[e], e)),
              max((e for e in counts if "/mesh/" in e and "chemical" in corpus.kinds[e]), key=lambda e: (counts[e], e)),
              max((e for e in counts if "disease" in corpus.kinds[e]), key=lambda e: (counts[e], e))]
    for entity in chosen:
        figures = [corpus.by_iri(iri) for iri in corpus.figures_mentioning(entity)]
        expected = [{"figure": f.iri, "figid": f.figid, "title": f.title, "year": f.year or "",
                     "entity_name": corpus.names.get(entity, "")}
                    for f in sorted(figures, key=lambda f: f.iri)]
        expected.sort(key=lambda r: r["year"], reverse=True)  # stable: figure order within a year
        rows = select(store, "figures-mentioning", entity=entity)
        assert rows == expected, entity
    assert len(select(store, "figures-mentioning", entity=chosen[0])) >= 2
    assert select(store, "figures-mentioning", entity=f"{IDORG}ncbigene/999999999") == []


def check_resource(store, corpus: Corpus, dump: Path):
    """Against the dump and void.ttl as written, read with pyoxigraph's parser (no SPARQL)."""
    written = list(ox.parse(path=str(dump), format=ox.RdfFormat.N_TRIPLES))
    void = list(ox.parse(path=str(dump.with_name("void.ttl")), format=ox.RdfFormat.TURTLE,
                         base_iri="https://pfocr.wikipathways.org/dataset"))
    for iri, triples in [(f.iri, written) for f in sorted(corpus.figures.values(), key=lambda f: f.iri)[:8]] + [
            ("https://pfocr.wikipathways.org/dataset", void),
            ("https://pfocr.wikipathways.org/journals/Cells", written)]:
        linked = {t.object.value for t in triples if t.subject.value == iri and isinstance(t.object, ox.NamedNode)
                  and t.object.value.startswith(iri + "#")}
        expected = {(t.subject.value, t.predicate.value, str(t.object)) for t in triples
                    if t.subject.value == iri or t.subject.value in linked}
        got = {(t.subject.value, t.predicate.value, str(t.object)) for t in run(store, LIBRARY["resource"].render(
            {"iri": iri}))}
        assert got == expected and expected, iri
    figure = sorted(corpus.figures.values(), key=lambda f: -len(f.mentions))[0]
    got = list(run(store, LIBRARY["resource"].render({"iri": figure.iri})))
    assert sum(1 for t in got if t.predicate.value == PFOCR + "hasMention") == len(set(figure.mentions))
    assert list(run(store, LIBRARY["resource"].render({"iri": FIGURES + "PMC0__nothing.html"}))) == []


def check_figure_bioschemas(store, corpus: Corpus):
    import pyshacl
    import rdflib

    shapes = rdflib.Graph().parse(PROJECT / "shapes" / "bioschemas.ttl")
    union = rdflib.Graph()
    for f in corpus.figures.values():
        triples = {(t.subject.value, t.predicate.value, t.object.value)
                   for t in run(store, LIBRARY["figure-bioschemas"].render({"figid": f.figid}))}
        union += rdflib.Graph().parse(data="".join(f"{t} .\n" for t in run(
            store, LIBRARY["figure-bioschemas"].render({"figid": f.figid}))), format="nt")
        about = {(p, o) for s, p, o in triples if s == f.iri}
        assert (SCHEMA + "name", f.title) in about and (SCHEMA + "identifier", f.figid) in about
        assert (SCHEMA + "description", f.caption or f.title) in about, f.figid
        keywords = {o for p, o in about if p == SCHEMA + "keywords"}
        named = {corpus.names[e] for e in f.entities("gene") | f.entities("chemical") | f.entities("disease")
                 if e in corpus.names}
        assert keywords == {"pathway figure"} | set(f.keywords) | named, f.figid
        assert {o for p, o in about if p == SCHEMA + "mentions"} == \
            f.entities("gene") | f.entities("chemical") | f.entities("disease")
    conforms, _, text = pyshacl.validate(union, shacl_graph=shapes)
    assert conforms, text
    assert len(set(union.subjects(rdflib.RDF.type, rdflib.URIRef(SCHEMA + "Dataset")))) == len(corpus.figures)
    broken = rdflib.Graph().parse(data=union.serialize(format="nt"), format="nt")
    broken.remove((None, rdflib.URIRef(SCHEMA + "description"), None))
    assert not pyshacl.validate(broken, shacl_graph=shapes)[0]  # the shape does check the profile


def check_mentions_by_source(store, corpus: Corpus):
    mentions = Counter()
    for f in corpus.figures.values():
        for m in set(f.mentions):
            mentions[m.source or ""] += 1
    expected = sorted(({"source": s, "mentions": n} for s, n in mentions.items()),
                      key=lambda r: (-r["mentions"], r["source"]))
    assert ints(select(store, "mentions-by-source"), "mentions") == expected
    assert len(expected) >= 5


CHECKS = {
    "co-mentioned-genes": check_co_mentioned_genes,
    "figure-bioschemas": check_figure_bioschemas,
    "figure-card": check_figure_card,
    "figures-for-chemical": check_figures_for_chemical,
    "figures-mentioning": check_figures_mentioning,
    "figures-for-disease": check_figures_for_disease,
    "figures-for-gene": check_figures_for_gene,
    "figures-for-gene-by-match": check_figures_for_gene_by_match,
    "figures-of-article": check_figures_of_article,
    "figures-per-organism": check_figures_per_organism,
    "figures-per-year": check_figures_per_year,
    "figures-ranked-by-gene-list": check_figures_ranked_by_gene_list,
    "figures-with-all-genes": check_figures_with_all_genes,
    "figures-with-ndex": check_figures_with_ndex,
    "gene-mentions-by-match-source": check_gene_mentions_by_match_source,
    "mentions-by-source": check_mentions_by_source,
    "genes-for-chemical": check_genes_for_chemical,
    "genes-for-disease": check_genes_for_disease,
    "most-mentioned-chemicals": check_most_mentioned_chemicals,
    "most-mentioned-diseases": check_most_mentioned_diseases,
    "most-mentioned-genes": check_most_mentioned_genes,
    "resource": check_resource,
    "search-figures": check_search_figures,
    "wikipathways-shared-genes": check_wikipathways_shared_genes,
}


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_query_answers_match_the_records(name, request, store, corpus):
    """Every query of the library against the answer computed from the records (fails for a query with no check)."""
    check = CHECKS.get(name)
    if check is None:
        pytest.fail(f"queries/{name}.rq has no check in tests/test_queries.py CHECKS")
    if name == "wikipathways-shared-genes":
        check(store, corpus, request.getfixturevalue("wp_store"), request.getfixturevalue("wikipathways"))
    elif name == "resource":
        check(store, corpus, request.getfixturevalue("query_dump"))
    elif name in ("figures-of-article", "figures-per-year"):
        check(store, corpus, request.getfixturevalue("multi_figure"))
    else:
        check(store, corpus)


def test_every_query_has_a_check_and_every_check_a_query():
    assert sorted(LIBRARY) == sorted(CHECKS), "queries/ and CHECKS disagree: add or remove a check"
    assert len(LIBRARY) >= 13


# --- the library's headers and portability ------------------------------------------------------------------------
_STRIP = re.compile(r'"(?:[^"\\\n]|\\.)*"|<[^<>"{}|^`\\\x00-\x20]*>|#[^\n]*')
BUILTINS = {  # SPARQL 1.1 functions and aggregates: anything else is an engine extension
    "STR", "LANG", "LANGMATCHES", "DATATYPE", "BOUND", "IRI", "URI", "BNODE", "RAND", "ABS", "CEIL", "FLOOR", "ROUND",
    "CONCAT", "STRLEN", "UCASE", "LCASE", "ENCODE_FOR_URI", "CONTAINS", "STRSTARTS", "STRENDS", "STRBEFORE",
    "STRAFTER", "YEAR", "MONTH", "DAY", "HOURS", "MINUTES", "SECONDS", "TIMEZONE", "TZ", "NOW", "UUID", "STRUUID",
    "MD5", "SHA1", "SHA256", "SHA384", "SHA512", "COALESCE", "IF", "STRLANG", "STRDT", "SAMETERM", "ISIRI", "ISURI",
    "ISBLANK", "ISLITERAL", "ISNUMERIC", "REGEX", "SUBSTR", "REPLACE", "EXISTS", "COUNT", "SUM", "MIN", "MAX", "AVG",
    "SAMPLE", "GROUP_CONCAT", "IN", "AS", "FILTER", "HAVING", "BIND", "VALUES", "ORDER", "BY", "GROUP", "ASC", "DESC",
    "SELECT", "WHERE", "OPTIONAL", "UNION", "MINUS", "GRAPH", "NOT", "DISTINCT", "CONSTRUCT", "LIMIT", "OFFSET",
}


def body_tokens(text: str) -> str:
    """The query without strings, IRIs and comments."""
    return _STRIP.sub(" ", text)


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_header_parses_and_every_default_renders(name, store):
    from rdflib.plugins.sparql import prepareQuery

    query = LIBRARY[name]
    assert query.title and query.title != name, "no '# title:' line"
    assert len(query.description) > 40, "no '# description:' lines"
    assert query.path and Path(query.path).parent == PROJECT / "queries"  # the editable install reads the top folder
    names = [p.name for p in query.params]
    assert len(names) == len(set(names))
    for p in query.params:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", p.name) and p.default and p.description, p
        # the parameter as given, or lower-cased for the store's lookup keys (docs/queries.md)
        assert len(re.findall(r"VALUES\s+\?" + p.name + r"(?:_key)?\s*\{", query.text)) >= 1
    rendered = query.render()
    prepareQuery(rendered)  # rdflib's parser: standard SPARQL 1.1, every prefix declared
    list(run(store, rendered))  # and Oxigraph runs it
    for p in query.params:  # the default is what the body says, so the file runs anywhere as it is
        first = p.default.split(",")[0].strip() if p.type in ("strings", "iris") else p.default
        assert (re.search(r"VALUES\s+\?" + p.name + r"\s*\{[^}]*" + re.escape(first), query.text)
                or re.search(r"VALUES\s+\?" + p.name + r"_key\s*\{[^}]*" + re.escape(first.lower()), query.text)), p
    assert query.render() == query.render({p.name: p.default for p in query.params})


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_query_is_portable_sparql(name):
    """Only SPARQL 1.1 built-ins, no SERVICE, declared prefixes, and a total order on the answer."""
    text = body_tokens(LIBRARY[name].text)
    calls = {m.group(1).upper() for m in re.finditer(r"(?<![?$\w:])([A-Za-z_][\w:.-]*)\s*\(", text)}
    assert calls <= BUILTINS, f"non-standard functions: {sorted(calls - BUILTINS)}"
    assert not re.search(r"<[^>]*>\s*\(", LIBRARY[name].text), "an IRI function call"
    assert "SERVICE" not in text.upper()
    declared = set(re.findall(r"PREFIX\s+([\w-]*):", text))
    used = set(re.findall(r"(?<![\w?$])([A-Za-z][\w-]*):[A-Za-z_]", text)) - {"PREFIX"}
    assert used <= declared, f"undeclared prefixes: {sorted(used - declared)}"
    order = re.findall(r"ORDER\s+BY\s+([^\n]*)", text)
    if re.search(r"\bCONSTRUCT\b", text.split("WHERE")[0], re.I):
        # a graph is a set: pfocr-rdf writes its triples sorted, and ORDER BY would cost a sort of decoded terms
        assert not order, "a CONSTRUCT sorted in the engine"
        return
    assert order, "no ORDER BY"
    if text.lstrip().upper().startswith("PREFIX") and "SELECT" in text.split("WHERE")[0].upper():
        # ?rank: the precomputed order of the entities (docs/mapping.md), one number per entity
        assert re.search(r"\?(figure|entity|other|gene|gene_iri|taxon|year|source|rank)\b", order[-1]), \
            "the last ORDER BY does not end on an identifying column"


NASTY = ['a"b', "back\\slash", "new\nline", 'x" } ?s ?p ?o { "', "tab\tand\r", "}}", "'single'", "\\u0022",
         'end\\"', "# comment"]


@pytest.mark.parametrize("name", sorted(n for n, q in LIBRARY.items() if any(p.type in ("string", "strings")
                                                                          for p in q.params)))
def test_render_escapes_strings(name, store):
    """A parameter with quotes, backslashes, newlines or braces stays one string: the query parses and finds nothing."""
    from rdflib.plugins.sparql import prepareQuery

    query = LIBRARY[name]
    for p in (p for p in query.params if p.type in ("string", "strings")):
        for value in NASTY:
            text = query.render({p.name: value})
            prepareQuery(text)
            results = run(store, text)
            assert list(results) == [], (p.name, value)


def test_render_rejects_bad_values_and_unknown_parameters():
    with pytest.raises(QueryError, match="no parameter"):
        LIBRARY["figures-for-gene"].render({"genes": "TP53"})
    with pytest.raises(QueryError, match="not an integer"):
        LIBRARY["most-mentioned-genes"].render({"min_figures": "2 } ?s ?p ?o {"})
    with pytest.raises(QueryError, match="needs a value"):
        LIBRARY["figures-with-all-genes"].render({"genes": " , "})
    rendered = LIBRARY["figures-with-all-genes"].render({"genes": "A, B,,C"})
    assert 'VALUES ?genes_key { "a" "b" "c" }' in rendered and "akt1" not in rendered  # lower-cased for the keys


def test_render_with_iri_parameter(tmp_path):
    path = tmp_path / "by-iri.rq"
    path.write_text("# title: t\n# description: d\n# param: figure: iri: urn-x: a figure\n"
                    "SELECT ?n WHERE { VALUES ?figure { <urn:x> } ?figure <https://schema.org/name> ?n } ORDER BY ?n\n",
                    encoding="utf-8")
    query = parse_query_file(path)
    assert "<https://example.org/f>" in query.render({"figure": "https://example.org/f"})
    for bad in ("https://example.org/a b", "no-scheme", "https://example.org/>", 'https://example.org/"'):
        with pytest.raises(QueryError, match="absolute IRI"):
            query.render({"figure": bad})


def test_iri_parameter_default_keeps_its_colons(tmp_path):
    path = tmp_path / "by-iri.rq"
    path.write_text("# title: t\n# description: d\n# param: figure: iri: https://example.org/f: a figure\n"
                    "SELECT ?n WHERE { VALUES ?figure { <https://example.org/f> } ?figure ?p ?n } ORDER BY ?n\n",
                    encoding="utf-8")
    query = parse_query_file(path)
    assert query.params[0].default == "https://example.org/f"
    assert "<https://example.org/f>" in query.render()


def test_string_parameter_default_keeps_its_colons(tmp_path):
    path = tmp_path / "curie.rq"
    path.write_text('# title: t\n# description: d\n# param: chemical: string: mesh:D005947: a chemical\n'
                    'SELECT ?x WHERE { VALUES ?chemical { "mesh:D005947" } BIND(?chemical AS ?x) } ORDER BY ?x\n',
                    encoding="utf-8")
    query = parse_query_file(path)
    assert query.params[0].default == "mesh:D005947"
    assert 'VALUES ?chemical { "mesh:D005947" }' in query.render()


def test_render_replaces_a_values_block_holding_a_brace(tmp_path):
    from rdflib.plugins.sparql import prepareQuery

    path = tmp_path / "brace.rq"
    path.write_text('# title: t\n# description: d\n# param: text: string: a}b: text\n'
                    'SELECT ?x WHERE { VALUES ?text { "a}b" } BIND(?text AS ?x) } ORDER BY ?x\n', encoding="utf-8")
    rendered = parse_query_file(path).render({"text": "x"})
    prepareQuery(rendered)
    # the whole block
    assert rendered.endswith('SELECT ?x WHERE { VALUES ?text { "x" } BIND(?text AS ?x) } ORDER BY ?x\n')


# --- the same answers from an independent engine (rdflib) on a small graph -----------------------------------------
CROSS_PARAMS = {"most-mentioned-diseases": {"min_figures": "1"}, "wikipathways-shared-genes": {"min_shared": "1"},
                "figures-with-all-genes": {"genes": "AKT1,PTEN"}}


@pytest.fixture(scope="session")
def small_stores(wikipathways, tmp_path_factory):
    """The examples and the seed with the WikiPathways-shaped graph: in Oxigraph and in an rdflib Dataset."""
    import rdflib

    folder = tmp_path_factory.mktemp("small-store")
    ttl = folder / "wikipathways.ttl"
    ttl.write_text(wikipathways_turtle(wikipathways), encoding="utf-8")
    load([str(EXAMPLES), str(SEED), str(ttl)], str(folder / "store"))
    store = open_store(str(folder / "store"))
    dataset = rdflib.Dataset(default_union=True)
    with warnings.catch_warnings():  # rdflib's own Dataset code uses its deprecated default_context
        warnings.simplefilter("ignore", DeprecationWarning)
        for quad in store.quads_for_pattern(None, None, None, None):
            graph = (dataset.default_graph if isinstance(quad.graph_name, ox.DefaultGraph)
                     else dataset.graph(rdflib.URIRef(quad.graph_name.value)))
            graph.add((rdflib_term(quad.subject), rdflib_term(quad.predicate), rdflib_term(quad.object)))
    return store, dataset


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_rdflib_gives_the_same_answer(name, small_stores):
    """rdflib's SPARQL engine, written independently of Oxigraph, returns the same rows in the same order."""
    store, dataset = small_stores
    text = LIBRARY[name].render(CROSS_PARAMS.get(name, {}))
    ours = run(store, text)
    theirs = dataset.query(text)
    if isinstance(ours, ox.QueryTriples):
        mine = {tuple(t.value for t in (tr.subject, tr.predicate, tr.object)) for tr in ours}
        assert mine == {tuple(str(t) for t in triple) for triple in theirs} and mine
        return
    rows = csv_rows(ours)
    other = [{k: "" if row[k] is None else str(row[k]) for k in rows[0]} for row in theirs] if rows else list(theirs)
    if "sources" in (rows[0] if rows else {}):  # GROUP_CONCAT order is the engine's choice
        for r in rows + other:
            r["sources"] = sorted(r["sources"].split(", "))
    assert rows == other
    assert rows, "choose parameters that give rows on the examples (CROSS_PARAMS)"


# --- the console script -------------------------------------------------------------------------------------------
def cli(*args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*cli_command(), *map(str, args)], input=stdin, capture_output=True, text=True,
                          timeout=300)


def test_cli_lists_every_query():
    proc = cli("query", "--list")
    assert proc.returncode == 0, proc.stderr
    for name, query in LIBRARY.items():
        assert f"{name}: {query.title}" in proc.stdout.splitlines()
        for p in query.params:
            assert f"--param {p.name}=VALUE  ({p.type}, default {p.default})" in proc.stdout


@pytest.fixture(scope="module")
def co_mentioned(store):
    return csv_rows(run(store, LIBRARY["co-mentioned-genes"].render({"gene": "AKT1"})))


def test_cli_query_csv_tsv_json_table(store_path, co_mentioned):
    args = ("query", "co-mentioned-genes", "--store", store_path, "--param", "gene=AKT1")
    assert len(co_mentioned) > 20
    proc = cli(*args, "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    assert list(csv.DictReader(io.StringIO(proc.stdout))) == co_mentioned

    proc = cli(*args, "--format", "tsv")
    lines = proc.stdout.rstrip("\n").split("\n")
    assert lines[0].split("\t") == ["?" + k for k in co_mentioned[0]]
    assert len(lines) == len(co_mentioned) + 1
    assert lines[1].split("\t")[0] == f"<{co_mentioned[0]['other']}>"

    proc = cli(*args, "--format", "json")
    data = json.loads(proc.stdout)
    assert data["head"]["vars"] == list(co_mentioned[0])
    got = [{k: v["value"] for k, v in b.items()} for b in data["results"]["bindings"]]
    assert got == [{k: v for k, v in row.items() if v != ""} for row in co_mentioned]

    proc = cli(*args, "-p", "gene=akt1", "--format", "table")
    lines = proc.stdout.splitlines()
    assert lines[0].split() == list(co_mentioned[0]) and set(lines[1]) <= {"-", " "}
    assert lines[-1] == f"({len(co_mentioned)} rows)" and len(lines) == len(co_mentioned) + 3
    assert lines[2].split()[0] == co_mentioned[0]["other"]


def test_cli_query_from_stdin_and_from_a_file(store_path, store, tmp_path):
    text = LIBRARY["figures-per-year"].text
    expected = csv_rows(run(store, text))
    proc = cli("query", "-", "--store", store_path, "--format", "csv", stdin=text)
    assert proc.returncode == 0, proc.stderr
    assert list(csv.DictReader(io.StringIO(proc.stdout))) == expected
    copy = tmp_path / "my-query.rq"
    copy.write_text(LIBRARY["figures-for-gene"].text, encoding="utf-8")
    proc = cli("query", copy, "--store", store_path, "--param", "gene=MTOR", "--format", "csv")
    assert list(csv.DictReader(io.StringIO(proc.stdout))) == csv_rows(
        run(store, LIBRARY["figures-for-gene"].render({"gene": "MTOR"})))


def test_cli_construct_file_prints_turtle_and_ntriples(store_path, store, tmp_path):
    path = tmp_path / "genes.rq"
    path.write_text("# title: Gene names\n# description: Every gene and its name.\n"
                    "PREFIX schema: <https://schema.org/>\n"
                    "CONSTRUCT { ?gene schema:name ?name } WHERE { ?gene a schema:Gene ; schema:name ?name }\n",
                    encoding="utf-8")
    expected = {(t.subject, t.predicate, t.object) for t in run(store, path.read_text(encoding="utf-8"))}
    assert len(expected) > 100
    for fmt, rdf_format in (("turtle", ox.RdfFormat.TURTLE), ("ntriples", ox.RdfFormat.N_TRIPLES)):
        proc = cli("query", path, "--store", store_path, "--format", fmt)
        assert proc.returncode == 0, proc.stderr
        got = {(t.subject, t.predicate, t.object) for t in ox.parse(proc.stdout.encode("utf-8"), format=rdf_format)}
        assert got == expected, fmt
    proc = cli("query", "figure-card", "--store", store_path, "-p", "figid=PMC1852397__pbio.0050121.g004",
               "--format", "ntriples")
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) > 20


def test_cli_construct_without_format_when_piped(store_path):
    proc = cli("query", "figure-card", "--store", store_path)
    assert proc.returncode == 0, proc.stderr
    assert ox.parse(proc.stdout.encode("utf-8"), format=ox.RdfFormat.TURTLE)


@pytest.mark.parametrize("args", [
    ("query", "no-such-query"),
    ("query", "figures-for-gene", "--param", "genes=TP53"),
    ("query", "figures-for-gene", "--param", "gene"),
    ("query", "most-mentioned-genes", "--param", "min_figures=many"),
    ("query", "-"),
], ids=["unknown-query", "unknown-parameter", "parameter-without-value", "bad-integer", "invalid-sparql"])
def test_cli_errors_are_one_line_with_status_2(args, store_path):
    proc = cli(*args, "--store", store_path, stdin="SELECT ?x WHERE { ?x }")
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    if args[-1] == "-":  # a syntax error: its message, then the query's line and a caret under the column
        assert len(lines) == 3 and lines[0].startswith("Error: invalid query at line 1"), proc.stderr
        assert lines[1] == "  SELECT ?x WHERE { ?x }" and lines[2].strip() == "^", proc.stderr
    else:
        assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert proc.stdout == ""


# --- the documentation ----------------------------------------------------------------------------------------------
def test_docs_list_every_query_with_its_parameters():
    text = DOCS.read_text(encoding="utf-8")
    for name, query in LIBRARY.items():
        assert f"`{name}`" in text, f"docs/queries.md does not mention {name}"
        section = text.split(f"`{name}`", 1)[1].split("\n### ", 1)[0]
        assert query.title in text
        for p in query.params:
            assert f"`{p.name}`" in section, (name, p.name)


@pytest.mark.parametrize("name", ["most-mentioned-genes", "most-mentioned-chemicals", "most-mentioned-diseases"])
def test_rankings_read_the_precomputed_counts(name, query_dump, store):
    """The rankings read pfocr:figureCount from the statistics graph: without that graph they find nothing."""
    assert f"GRAPH <{STATISTICS_GRAPH}>" in LIBRARY[name].text and "pfocr:figureCount" in LIBRARY[name].text
    bare = ox.Store()
    bare.bulk_load(path=str(query_dump), format=ox.RdfFormat.N_TRIPLES)
    text = LIBRARY[name].render({"min_figures": "1"})
    assert select(store, name, min_figures=1)
    assert list(run(bare, text)) == []
