"""The mapping table of docs/mapping.md, from typed values: a hand-built ``Figure`` in, the exact triples out.

tests/test_mapping.py checks each row from record text through ``convert()``; this file checks the mapping
alone (:mod:`converter.rdf.mapping`), one case per converted row of the "Figure fields" and "Article fields"
tables: a base figure, one field set, and the triples that field adds, nothing more.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from converter.rdf.mapping import EntityIndex, figure_blocks
from converter.rdf.terms import Literal, Triple
from converter.records.identifiers import Registry
from converter.records.model import Article, Entity, Figure, Mention, Taxon

S = "https://schema.org/"
P = "https://pfocr.wikipathways.org/vocab#"
XSD = "http://www.w3.org/2001/XMLSchema#"
FIG = "https://pfocr.wikipathways.org/figures/PMC1__f1.html"
ART = "https://identifiers.org/pmc/PMC1"
MAPPING_DOC = Path(__file__).resolve().parents[1] / "docs" / "mapping.md"

BASE = Figure(figid="PMC1__f1", file="f1.md", layout="tsv", title="T", article=Article(pmcid="PMC1"))


def triples(fig: Figure) -> set[Triple]:
    index = EntityIndex(Registry("slash"))
    index.add_figure(fig)
    return {t for block in [*figure_blocks(fig, index.ids), *index.blocks()] for t in block.triples}


HUMAN = Taxon("9606", "Homo sapiens")
TAX = "https://identifiers.org/taxonomy/9606"
HUMAN_TRIPLES = {(TAX, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", S + "Taxon"),
                 (TAX, S + "identifier", Literal("ncbitaxon:9606")),
                 (TAX, S + "sameAs", "https://identifiers.org/taxonomy:9606"),
                 (TAX, S + "name", Literal("Homo sapiens"))}

# row of docs/mapping.md (its first code span) -> (the fields set on the figure or its article, the triples added)
FIGURE_CASES: dict[str, tuple[dict[str, Any], set[Triple]]] = {
    "caption": ({"caption": "A\ncaption"}, {(FIG, S + "caption", Literal("A\ncaption"))}),
    "filename": ({"image_file": "f 1.jpg", "image_pmcid": "PMC1"},
                 {(FIG, S + "contentUrl", "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC1/bin/f%201.jpg")}),
    "figlink": ({"figlink": "/pmc/articles/PMC1/figure/F1/"},
                {(FIG, S + "url", "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC1/figure/F1/")}),
    "number": ({"number": "Figure 1"}, {(FIG, P + "figureNumber", Literal("Figure 1"))}),
    "figtype": ({"figtype": "Figure"}, {(FIG, P + "figureType", Literal("Figure"))}),
    "figid_alias": ({"alias": "PMC1__F1"}, {(FIG, S + "alternateName", Literal("PMC1__F1"))}),
    "pathway_score": ({"score": "0.93"}, {(FIG, P + "pathwayScore", Literal("0.93", XSD + "decimal"))}),
    "pmc_ranked_result_index": ({"rank_index": 7}, {(FIG, P + "pmcRankedResultIndex", Literal("7", XSD + "integer"))}),
    "organisms": ({"organisms": (HUMAN,)}, {(FIG, S + "about", TAX), *HUMAN_TRIPLES}),
    "organisms_ner": ({"organisms_ner": (HUMAN,)}, {(FIG, S + "mentions", TAX), *HUMAN_TRIPLES}),
    "keywords": ({"keywords": ("apoptosis", "p53")},
                 {(FIG, S + "keywords", Literal("apoptosis")), (FIG, S + "keywords", Literal("p53"))}),
    "ndex": ({"ndex": "9f5d3b1e-0000-11ee-be56-0242ac120002"},
             {(FIG, P + "ndexNetwork", "https://www.ndexbio.org/viewer/networks/9f5d3b1e-0000-11ee-be56-0242ac120002")}),
}
JOURNAL = "https://pfocr.wikipathways.org/journals/Cell%20Rep"
PUBLISHER = "https://pfocr.wikipathways.org/publishers/Cell%20Press"
ARTICLE_CASES: dict[str, tuple[dict[str, Any], set[Triple]]] = {
    "papertitle": ({"title": "A paper"}, {(ART, S + "name", Literal("A paper"))}),
    "year": ({"year": "2021"}, {(ART, S + "datePublished", Literal("2021", XSD + "gYear"))}),
    "reftext": ({"citation": "Cell Rep. 2021"}, {(ART, S + "creditText", Literal("Cell Rep. 2021"))}),
    "doi": ({"doi": "10.1016/j.celrep.2021.1"}, {(ART, S + "sameAs", "https://doi.org/10.1016/j.celrep.2021.1")}),
    "journal_title": ({"journal_title": "Cell reports", "journal_abbrev": "Cell Rep"},
                      {(ART, S + "isPartOf", JOURNAL),
                       (JOURNAL, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", S + "Periodical"),
                       (JOURNAL, S + "name", Literal("Cell reports")),
                       (JOURNAL, S + "alternateName", Literal("Cell Rep"))}),
    "publisher_name": ({"publisher": "Cell Press"},
                       {(ART, S + "publisher", PUBLISHER),
                        (PUBLISHER, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", S + "Organization"),
                        (PUBLISHER, S + "name", Literal("Cell Press"))}),
}
# rows whose field adds nothing a case above could show: required fields (in the base), the licence, and the
# fields not converted
NOT_A_CASE = {"figid", "figtitle", "pmcid", "redirect_from", "annotations", "seo", "year"}


def test_the_base_figure():
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    assert triples(BASE) == {
        (FIG, rdf_type, S + "ImageObject"), (FIG, rdf_type, S + "Dataset"),
        (FIG, S + "identifier", Literal("PMC1__f1")),
        (FIG, S + "name", Literal("T")), (FIG, S + "license", "https://creativecommons.org/publicdomain/zero/1.0/"),
        (FIG, S + "isPartOf", ART), (ART, rdf_type, S + "ScholarlyArticle"), (ART, S + "identifier", Literal("PMC1")),
        (ART, S + "sameAs", "https://identifiers.org/pmc:PMC1")}


@pytest.mark.parametrize("row", sorted(FIGURE_CASES))
def test_figure_field(row):
    fields, added = FIGURE_CASES[row]
    assert triples(dataclasses.replace(BASE, **fields)) - triples(BASE) == added


@pytest.mark.parametrize("row", sorted(ARTICLE_CASES))
def test_article_field(row):
    fields, added = ARTICLE_CASES[row]
    fig = dataclasses.replace(BASE, article=dataclasses.replace(BASE.article, **fields))
    assert triples(fig) - triples(BASE) == added


def test_a_gene_mention():
    gene = Entity("gene", "ncbigene", "7157", "TP53", HUMAN)
    fig = dataclasses.replace(BASE, mentions=(Mention("gene", "p53", "TP53", "hgnc_alias_symbol", gene,
                                                      (("count_direct", 2),)),))
    added = triples(fig) - triples(BASE)
    g = "https://identifiers.org/ncbigene/7157"
    mention = next(o for s, p, o in added if p == P + "hasMention")
    assert isinstance(mention, str) and re.fullmatch(re.escape(FIG) + "#mention-[0-9a-f]{16}", mention)
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    assert added == {
        (FIG, S + "mentions", g), (FIG, P + "hasMention", mention),
        (mention, rdf_type, P + "Mention"), (mention, rdf_type, P + "GeneMention"),
        (mention, P + "word", Literal("p53")),
        (mention, P + "matchedSymbol", Literal("TP53")), (mention, P + "matchSource", Literal("hgnc_alias_symbol")),
        (mention, P + "entity", g), (mention, P + "countDirect", Literal("2", XSD + "integer")),
        (g, rdf_type, S + "Gene"), (g, S + "identifier", Literal("ncbigene:7157")), (g, S + "name", Literal("TP53")),
        (g, S + "taxonomicRange", TAX), (g, S + "sameAs", "https://identifiers.org/ncbigene:7157"), *HUMAN_TRIPLES}


def _rows(section: str) -> set[str]:
    text = MAPPING_DOC.read_text(encoding="utf-8").split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return {m[1] for line in text.splitlines() if (m := re.match(r"\| `([\w-]+)`", line))}


def test_every_converted_row_has_a_case():
    missing = (_rows("Figure fields") - set(FIGURE_CASES) - NOT_A_CASE - {"schema-jsonld"}) | \
        (_rows("Article fields") - set(ARTICLE_CASES) - {"pmcid"})
    assert not missing, f"rows of docs/mapping.md without a case here: {sorted(missing)}"
