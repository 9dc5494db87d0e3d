"""The mapping table of docs/mapping.md, row by row: a hand-written record in, the exact triples out.

Each case is a small input (figure pages and companion TSVs, written as text) and the whole graph its conversion
must give, written out in Turtle: every triple, nothing left to a helper. A case names the row of docs/mapping.md
it checks and the fields the conversion must warn about. Mention IRIs are written out too: docs/mapping.md makes
them a hash of the mention so that they stay the same from one release to the next, so they are pinned here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pyoxigraph as ox
import pytest

from _support import graph_difference

from converter import convert

SCHEMA = "https://schema.org/"
PFOCR = "https://pfocr.wikipathways.org/vocab#"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pfocr"

PREFIXES = """
@base <https://pfocr.wikipathways.org/figures/> .
@prefix schema: <https://schema.org/> .
@prefix pfocr: <https://pfocr.wikipathways.org/vocab#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix pmc: <https://identifiers.org/pmc/> .
@prefix gene: <https://identifiers.org/ncbigene/> .
@prefix mesh: <https://identifiers.org/mesh/> .
@prefix tax: <https://identifiers.org/taxonomy/> .
@prefix idorg: <https://identifiers.org/> .
@prefix cc0: <https://creativecommons.org/publicdomain/zero/1.0/> .
"""


def base(figid: str = "PMC1__t", pmcid: str = "PMC1", title: str = "T") -> str:
    """The triples every converted record has: the figure's types, id, name, licence and article, and the
    article's type, id and colon-form identifiers.org link."""
    return f"""
<{figid}.html> a schema:ImageObject, schema:Dataset ; schema:identifier "{figid}" ; schema:name "{title}" ;
    schema:license cc0: ; schema:isPartOf pmc:{pmcid} .
pmc:{pmcid} a schema:ScholarlyArticle ; schema:identifier "{pmcid}" ;
    schema:sameAs <https://identifiers.org/pmc:{pmcid}> .
"""


def page(body: str = "", figid: str = "PMC1__t", pmcid: str = "PMC1", title: str = "T") -> str:
    return f"---\nfigid: {figid}\npmcid: {pmcid}\nfigtitle: {title}\n{body}---\n"


HUMAN = 'tax:9606 a schema:Taxon ; schema:identifier "ncbitaxon:9606" ; schema:sameAs idorg:taxonomy:9606 ; ' \
        'schema:name "Homo sapiens" .'


@dataclass
class Case:
    id: str
    row: str  # the row of docs/mapping.md
    files: dict[str, str]  # path under the input folder -> text
    expected: str  # Turtle: the whole graph
    warnings: set[str] = field(default_factory=set)  # fields warned about
    rejected: set[str] = field(default_factory=set)  # files listed as rejected


def one(body: str, expected: str, row: str, case_id: str, warnings: set[str] | None = None,
        data: dict[str, str] | None = None) -> Case:
    """A case of one record PMC1__t, its expected graph the base triples plus ``expected``."""
    files = {"_figures/PMC1__t.md": page(body)}
    files.update({f"_data/PMC1__t-{kind}.tsv": text for kind, text in (data or {}).items()})
    return Case(case_id, row, files, base() + expected, warnings or set())


def tsv(*rows: str) -> str:
    return "".join(row.replace("|", "\t") + "\n" for row in rows)


GENE_HEADER = ("organism_id|organism_name|organism_group|word|match|ncbigene_symbol|ncbigene_id|source|count_direct|"
               "count_synonym|count_match")

CASES = [
    # --- figure fields -----------------------------------------------------------------------------------------
    one("", "", "figid, figtitle, pmcid, (always) license", "required-fields-only"),
    one("caption: |-\n  line one\n    indented two\n", '<PMC1__t.html> schema:caption "line one\\n  indented two" .',
        "caption: kept exactly, newlines included", "caption"),
    one("filename: f3.jpg\nfiglink: /pmc/articles/PMC9/figure/F3/\n", """
<PMC1__t.html> schema:contentUrl <https://www.ncbi.nlm.nih.gov/pmc/articles/PMC9/bin/f3.jpg> ;
    schema:url <https://www.ncbi.nlm.nih.gov/pmc/articles/PMC9/figure/F3/> .""",
        "filename: {PMC} is the PMC id in figlink (another article's figure)", "image-of-another-article"),
    one("filename: f3.jpg\n",
        "<PMC1__t.html> schema:contentUrl <https://www.ncbi.nlm.nih.gov/pmc/articles/PMC1/bin/f3.jpg> .",
        "filename: else pmcid", "image-without-figlink"),
    one("figlink: pmc/articles/PMC1/figure/F1/\n",
        "<PMC1__t.html> schema:url <https://www.ncbi.nlm.nih.gov/pmc/articles/PMC1/figure/F1/> .",
        "figlink: a missing leading slash is added", "figlink-without-slash"),
    one("number: 'Figure 6:'\nfigtype: Scheme\n",
        '<PMC1__t.html> pfocr:figureNumber "Figure 6:" ; pfocr:figureType "Scheme" .',
        "number, figtype", "number-and-type"),
    one("figid_alias: PMC1__F1\nredirect_from: /figures/PMC1__F1\n", '<PMC1__t.html> schema:alternateName "PMC1__F1" .',
        "figid_alias; redirect_from not converted", "alias"),
    one("pathway_score: 0.9537671\n", '<PMC1__t.html> pfocr:pathwayScore "0.9537671"^^xsd:decimal .',
        "pathway_score (older)", "pathway-score"),
    one("automl_pathway: 1\n", '<PMC1__t.html> pfocr:pathwayScore "1.0"^^xsd:decimal .',
        "automl_pathway (newer)", "automl-score"),
    one("pathway_score: 1.5\n", "", "pathway_score outside [0, 1]: warning", "score-out-of-range",
        {"pathway_score"}),
    one("automl_pathway: high\n", "", "automl_pathway not a number: warning", "score-not-a-number",
        {"automl_pathway"}),
    one("pmc_ranked_result_index: '14449'\n", '<PMC1__t.html> pfocr:pmcRankedResultIndex "14449"^^xsd:integer .',
        "pmc_ranked_result_index: a quoted string in the records", "rank-index"),
    one("pmc_ranked_result_index: '0'\n", '<PMC1__t.html> pfocr:pmcRankedResultIndex "0"^^xsd:integer .',
        "pmc_ranked_result_index: the first result", "rank-index-zero"),
    one("pmc_ranked_result_index: 12a\n", "", "pmc_ranked_result_index not a whole number: warning",
        "rank-index-bad", {"pmc_ranked_result_index"}),
    one("year: '2001'\n", 'pmc:PMC1 schema:datePublished "2001"^^xsd:gYear .', "year", "year"),
    one("year: ''\n", "", "year: empty in some records: no triple", "year-empty"),
    one("year: '20x1'\n", "", "year: not four digits: warning", "year-bad", {"year"}),
    one("organisms: Homo sapiens, Mus musculus\n", """
<PMC1__t.html> schema:about tax:9606, tax:10090 .
""" + HUMAN + """
tax:10090 a schema:Taxon ; schema:identifier "ncbitaxon:10090" ; schema:sameAs idorg:taxonomy:10090 ;
    schema:name "Mus musculus" .""", "organisms: comma-joined string", "organisms-string"),
    one("organisms:\n- NA\n- Dysidea avara\n", """
<PMC1__t.html> schema:about <https://pfocr.wikipathways.org/organisms/Dysidea%20avara> .
<https://pfocr.wikipathways.org/organisms/Dysidea%20avara> a schema:Taxon ; schema:name "Dysidea avara" .""",
        "organisms: list, NA dropped; a name without a known id", "organisms-list"),
    one("organisms_ner:\n- Homo sapiens\n- NA\n", "<PMC1__t.html> schema:mentions tax:9606 .\n" + HUMAN,
        "organisms_ner", "organisms-ner"),
    one("keywords: 'osteoblasts | metabolism |  glutamine\n  \n  | metabolism | NA'\n", """
<PMC1__t.html> schema:keywords "osteoblasts", "metabolism", "glutamine" .""",
        "keywords: pipe-separated, whitespace collapsed, duplicates dropped", "keywords"),
    one("ndex: 55E81D3E-DF0F-11EA-99DA-0AC135E8BACF\n",
        "<PMC1__t.html> pfocr:ndexNetwork\n"
        "    <https://www.ndexbio.org/viewer/networks/55e81d3e-df0f-11ea-99da-0ac135e8bacf> .",
        "ndex", "ndex"),
    one("ndex: ''\n", "", "ndex: empty in most records", "ndex-empty"),
    one("ndex: network-7\n", "", "ndex: not a UUID: warning", "ndex-bad", {"ndex"}),
    one("annotations: []\nseo: CreativeWork\nschema-jsonld:\n  name: x\ncomment: hello\n", "",
        "annotations, seo, schema-jsonld not converted; any other field: warning", "not-converted", {"comment"}),
    one("caption:\n- a list\nnumber: NA\nfigtype: .na.character\nfigid_alias: ' '\n", "",
        "missing values; a value of the wrong type: warning", "sentinels-and-wrong-type", {"caption"}),
    # --- article fields ----------------------------------------------------------------------------------------
    one("papertitle: A paper\nreftext: Li-Fen Lee, et al. Mol Cell Biol. 2001 Dec;21(24):8385-97.\n", """
pmc:PMC1 schema:name "A paper" ;
    schema:creditText "Li-Fen Lee, et al. Mol Cell Biol. 2001 Dec;21(24):8385-97." .""",
        "papertitle; reftext (the citation text)", "article-title-and-citation"),
    one("doi: 10.3390/ijms24054893\n", "pmc:PMC1 schema:sameAs <https://doi.org/10.3390/ijms24054893> .", "doi",
        "doi"),
    one("doi: .na.character\n", "", "doi: missing", "doi-missing"),
    one("doi: 3390/ijms\n", "", "doi: checked against the Bioregistry pattern", "doi-bad", {"doi"}),
    one("journal_title: Frontiers in Plant Science\njournal_nlm_ta: Front Plant Sci\n"
        "publisher_name: Frontiers Media S.A.\n", """
pmc:PMC1 schema:isPartOf <https://pfocr.wikipathways.org/journals/Front%20Plant%20Sci> ;
    schema:publisher <https://pfocr.wikipathways.org/publishers/Frontiers%20Media%20S.A.> .
<https://pfocr.wikipathways.org/journals/Front%20Plant%20Sci> a schema:Periodical ;
    schema:name "Frontiers in Plant Science" ; schema:alternateName "Front Plant Sci" .
<https://pfocr.wikipathways.org/publishers/Frontiers%20Media%20S.A.> a schema:Organization ;
    schema:name "Frontiers Media S.A." .""", "journal_title, journal_nlm_ta, publisher_name", "journal"),
    one("journal_title: .na.character\njournal_nlm_ta: .na.character\npublisher_name: ''\n", "",
        "journal and publisher missing", "journal-missing"),
    # --- entity lists ------------------------------------------------------------------------------------------
    one("""genes:
- {word: p53, symbol: TP53, source: hgnc_symbol, hgnc_symbol: TP53, entrez: '7157'}
- {word: p53, symbol: TP53, source: hgnc_symbol, hgnc_symbol: TP53, entrez: '7157'}
- {word: AKT, symbol: AKT, source: bioentities_symbol, hgnc_symbol: AKT2, entrez: '208'}
""", """
<PMC1__t.html> schema:mentions gene:7157, gene:208 ;
    pfocr:hasMention <PMC1__t.html#mention-2b2dbe9309eca993>, <PMC1__t.html#mention-99caff0bdfc0cec9> .
<PMC1__t.html#mention-2b2dbe9309eca993> a pfocr:Mention, pfocr:GeneMention ; pfocr:word "p53" ;
    pfocr:matchedSymbol "TP53" ; pfocr:matchSource "hgnc_symbol" ; pfocr:entity gene:7157 .
<PMC1__t.html#mention-99caff0bdfc0cec9> a pfocr:Mention, pfocr:GeneMention ; pfocr:word "AKT" ;
    pfocr:matchedSymbol "AKT" ; pfocr:matchSource "bioentities_symbol" ; pfocr:entity gene:208 .
gene:7157 a schema:Gene ; schema:identifier "ncbigene:7157" ; schema:name "TP53" ; schema:taxonomicRange tax:9606 ;
    schema:sameAs idorg:ncbigene:7157 .
gene:208 a schema:Gene ; schema:identifier "ncbigene:208" ; schema:name "AKT2" ; schema:taxonomicRange tax:9606 ;
    schema:sameAs idorg:ncbigene:208 .
""" + HUMAN, "inline genes[]: word, symbol, source, entrez, hgnc_symbol; duplicates become one mention",
        "inline-genes"),
    one("""genes:
- {word: FOXOЗ, symbol: FOXO3, source: hgnc_symbol, hgnc_symbol: FOXO3, entrez: 12x4}
""", """
<PMC1__t.html> pfocr:hasMention <PMC1__t.html#mention-03d70b74e6bb2f37> .
<PMC1__t.html#mention-03d70b74e6bb2f37> a pfocr:Mention, pfocr:GeneMention ; pfocr:word "FOXOЗ" ;
    pfocr:matchedSymbol "FOXO3" ; pfocr:matchSource "hgnc_symbol" .""",
        "invalid id: not minted, warning, the mention keeps its word (look-alike letters kept)", "invalid-entrez",
        {"genes[0].entrez"}),
    one("""chemicals:
- {word: Glucose, source: MESH, identifier: D005947}
- {word: 'On', source: '', identifier: ''}
diseases:
- {word: Cancer, source: MESH, identifier: mesh:D009369}
""", """
<PMC1__t.html> schema:mentions mesh:D005947, mesh:D009369 ;
    pfocr:hasMention <PMC1__t.html#mention-f5f4449e98dd4561>, <PMC1__t.html#mention-72ac99a0acddc4f1>,
        <PMC1__t.html#mention-cf6bb922d4d4a317> .
<PMC1__t.html#mention-f5f4449e98dd4561> a pfocr:Mention, pfocr:ChemicalMention ; pfocr:word "Glucose" ;
    pfocr:matchSource "MESH" ; pfocr:entity mesh:D005947 .
<PMC1__t.html#mention-72ac99a0acddc4f1> a pfocr:Mention, pfocr:ChemicalMention ; pfocr:word "On" .
<PMC1__t.html#mention-cf6bb922d4d4a317> a pfocr:Mention, pfocr:DiseaseMention ; pfocr:word "Cancer" ;
    pfocr:matchSource "MESH" ; pfocr:entity mesh:D009369 .
mesh:D005947 a schema:ChemicalSubstance ; schema:identifier "mesh:D005947" ; schema:sameAs idorg:mesh:D005947 .
mesh:D009369 a schema:MedicalCondition ; schema:identifier "mesh:D009369" ; schema:sameAs idorg:mesh:D009369 .""",
        "inline chemicals[], diseases[]: bare MeSH id; empty identifier and source: the word only",
        "inline-chemicals-and-diseases"),
    one("", """
<PMC1__t.html> schema:mentions gene:41957 ; pfocr:hasMention
    <PMC1__t.html#mention-7b0870d98b9c3b2a> .
<PMC1__t.html#mention-7b0870d98b9c3b2a> a pfocr:Mention,
    pfocr:GeneMention ; pfocr:word "AKT," ; pfocr:matchedSymbol "AKT" ; pfocr:matchSource "ncbigene_symbol" ;
    pfocr:entity gene:41957 ; pfocr:countDirect 5 ; pfocr:countMatch 14 .
gene:41957 a schema:Gene ; schema:identifier "ncbigene:41957" ; schema:name "Akt" ; schema:taxonomicRange tax:7227 ;
    schema:sameAs idorg:ncbigene:41957 .
tax:7227 a schema:Taxon ; schema:identifier "ncbitaxon:7227" ; schema:sameAs idorg:taxonomy:7227 ;
    schema:name "Drosophila melanogaster" ; pfocr:organismGroup "Invertebrates" .""",
        "genes TSV: word, match, source, ncbigene_id, ncbigene_symbol, organism_*, counts (NA: none); exact "
        "duplicate rows: one mention", "genes-tsv",
        data={"genes": tsv(GENE_HEADER, "7227|Drosophila melanogaster|Invertebrates|AKT,|AKT|Akt|41957|"
                                        "ncbigene_symbol|5|NA|14",
                           "7227|Drosophila melanogaster|Invertebrates|AKT,|AKT|Akt|41957|ncbigene_symbol|5|NA|14")}),
    one("organisms:\n- Drosophila melanogaster\n", """
<PMC1__t.html> schema:about tax:7227 ; schema:mentions gene:41957 ;
    pfocr:hasMention <PMC1__t.html#mention-9e07f1a70fe59364> .
<PMC1__t.html#mention-9e07f1a70fe59364> a pfocr:Mention,
    pfocr:GeneMention ; pfocr:word "Akt" ; pfocr:matchedSymbol "AKT" ; pfocr:matchSource "ncbigene_symbol" ;
    pfocr:entity gene:41957 ; pfocr:countDirect 1 ; pfocr:countSynonym 0 ; pfocr:countMatch 2 .
gene:41957 a schema:Gene ; schema:identifier "ncbigene:41957" ; schema:taxonomicRange tax:7227 ;
    schema:sameAs idorg:ncbigene:41957 .
tax:7227 a schema:Taxon ; schema:identifier "ncbitaxon:7227" ; schema:sameAs idorg:taxonomy:7227 ;
    schema:name "Drosophila melanogaster" ; pfocr:organismGroup "Invertebrates" .""",
        "genes TSV with its columns in another order, an NA symbol; the organism's id", "genes-tsv-reordered",
        data={"genes": tsv("ncbigene_id|word|source|match|ncbigene_symbol|organism_id|organism_name|organism_group|"
                           "count_direct|count_synonym|count_match",
                           "41957|Akt|ncbigene_symbol|AKT|NA|7227|Drosophila melanogaster|Invertebrates|1|0|2")}),
    one("", """
<PMC1__t.html> schema:mentions mesh:D012211, <https://identifiers.org/chebi/CHEBI:15422> ;
    pfocr:hasMention <PMC1__t.html#mention-97fd6c39a3203df2>, <PMC1__t.html#mention-53277970950fe8d4>,
        <PMC1__t.html#mention-bbd5f1ee119cfedf> .
<PMC1__t.html#mention-97fd6c39a3203df2> a pfocr:Mention, pfocr:ChemicalMention ; pfocr:word "Re" ;
    pfocr:matchedSymbol "Rhenium" ; pfocr:entity mesh:D012211 .
<PMC1__t.html#mention-53277970950fe8d4> a pfocr:Mention, pfocr:ChemicalMention ; pfocr:word "ATP" ;
    pfocr:entity <https://identifiers.org/chebi/CHEBI:15422> .
<PMC1__t.html#mention-bbd5f1ee119cfedf> a pfocr:Mention, pfocr:ChemicalMention ; pfocr:word "Me  Me  OH " .
mesh:D012211 a schema:ChemicalSubstance ; schema:identifier "mesh:D012211" ; schema:name "Rhenium" ;
    schema:sameAs idorg:mesh:D012211, <https://identifiers.org/chebi/CHEBI:49882> .
<https://identifiers.org/chebi/CHEBI:15422> a schema:ChemicalSubstance ; schema:identifier "chebi:15422" ;
    schema:name "ATP" ; schema:sameAs <https://identifiers.org/CHEBI:15422> .""",
        "chemicals TSV: mesh with chebi cross-reference; no mesh: the ChEBI IRI, named by name; neither: the word",
        "chemicals-tsv",
        data={"chemicals": tsv("word|mesh|match|name|chebi", "Re|mesh:D012211|Rhenium|rhenium atom|chebi:49882",
                               "ATP|NA|NA|ATP|CHEBI:15422", "Me  Me  OH |NA|NA|NA|NA")}),
    one("", """
<PMC1__t.html> schema:mentions mesh:D009369, <https://identifiers.org/doid/DOID:0060239> ;
    pfocr:hasMention <PMC1__t.html#mention-32014f7dc71a76ee>,
        <PMC1__t.html#mention-379fdc4b182a6fb5> .
<PMC1__t.html#mention-32014f7dc71a76ee> a pfocr:Mention, pfocr:DiseaseMention ; pfocr:word "cancer" ;
    pfocr:entity mesh:D009369 .
<PMC1__t.html#mention-379fdc4b182a6fb5> a pfocr:Mention, pfocr:DiseaseMention ;
    pfocr:word "VWS" ; pfocr:matchedSymbol "Van der Woude syndrome" ;
    pfocr:entity <https://identifiers.org/doid/DOID:0060239> .
mesh:D009369 a schema:MedicalCondition ; schema:identifier "mesh:D009369" ; schema:sameAs idorg:mesh:D009369 .
<https://identifiers.org/doid/DOID:0060239> a schema:MedicalCondition ; schema:identifier "doid:0060239" ;
    schema:name "Van der Woude syndrome" ; schema:sameAs <https://identifiers.org/DOID:0060239> .""",
        "diseases TSV: as chemicals, doid in place of chebi", "diseases-tsv",
        data={"diseases": tsv("word|mesh|match|name|doid", "cancer|mesh:D009369|NA|NA|NA",
                              "VWS|NA|Van der Woude syndrome|Van der Woude syndrome|doid:0060239",
                              "cancer|mesh:D009369|NA|NA|NA")}),
    one("genes: []\n", "", "a list given inline wins over a companion TSV (reported as ignored)",
        "inline-wins-over-tsv", {"genes"},
        data={"genes": tsv(GENE_HEADER, "9606|Homo sapiens|Primates|p53|TP53|TP53|7157|ncbigene_symbol|1|1|1")}),
    one("", "", "a TSV whose header lacks the columns its kind needs is left out", "tsv-without-header",
        {"word, ncbigene_id"}, data={"genes": tsv("9606|Homo sapiens|Primates|p53|TP53|TP53|7157|x|1|1|1")}),
    one("", """
<PMC1__t.html> schema:mentions mesh:D005947 ; pfocr:hasMention <PMC1__t.html#mention-76b9cf7250a9f60d> .
<PMC1__t.html#mention-76b9cf7250a9f60d> a pfocr:Mention, pfocr:ChemicalMention ; pfocr:word "glc" ;
    pfocr:matchedSymbol "Glucose" ; pfocr:entity mesh:D005947 .
mesh:D005947 a schema:ChemicalSubstance ; schema:identifier "mesh:D005947" ; schema:name "Glucose" ;
    schema:sameAs idorg:mesh:D005947 .""",
        "a TSV row with more or fewer cells than its header is left out with a warning", "tsv-ragged-row", {"row"},
        data={"chemicals": tsv("word|mesh|match|name|chebi", "glc|mesh:D005947|Glucose|glucose|NA",
                               "bad|mesh:D000001|x")}),
    # --- shared nodes and the same figid twice -----------------------------------------------------------------
    Case("same-figid-twice", "the same figid in two files: the newer (TSV) layout wins",
         {"a/_figures/PMC1__t.md": page("genes: []\ncaption: old\n"),
          "b/_figures/PMC1__t.md": page("caption: new\n")},
         base() + '<PMC1__t.html> schema:caption "new" .', rejected={"a/_figures/PMC1__t.md"}),
    Case("same-figid-same-layout", "the same figid in two files of one layout: the first path in sorted order",
         {"a/_figures/PMC1__t.md": page("caption: first\n"), "b/_figures/PMC1__t.md": page("caption: second\n")},
         base() + '<PMC1__t.html> schema:caption "first" .', rejected={"b/_figures/PMC1__t.md"}),
    Case("entity-in-two-records", "entities: the first name and taxon in figid order win; cross-references add "
         "up; a MeSH id used as chemical and disease has both types; articles and journals written once",
         {"_figures/PMC2__b.md": page("journal_nlm_ta: J\njournal_title: Second\nchemicals: []\ndiseases:\n"
                                      "- {word: x, source: MESH, identifier: D005947}\n", "PMC2__b", "PMC2"),
          "_figures/PMC1__a.md": page("journal_nlm_ta: J\njournal_title: First\npapertitle: P\n", "PMC1__a", "PMC1"),
          "_figures/PMC1__c.md": page("papertitle: Q\n", "PMC1__c", "PMC1"),
          "_data/PMC1__a-chemicals.tsv": tsv("word|mesh|match|name|chebi", "glc|mesh:D005947|Glucose|g|chebi:4167"),
          "_data/PMC1__c-chemicals.tsv": tsv("word|mesh|match|name|chebi", "g|mesh:D005947|D-Glucose|g|chebi:17234")},
         base("PMC1__a") + base("PMC1__c") + base("PMC2__b", "PMC2") + """
pmc:PMC1 schema:name "P" ; schema:isPartOf <https://pfocr.wikipathways.org/journals/J> .
pmc:PMC2 schema:isPartOf <https://pfocr.wikipathways.org/journals/J> .
<https://pfocr.wikipathways.org/journals/J> a schema:Periodical ; schema:name "First" ; schema:alternateName "J" .
<PMC1__a.html> schema:mentions mesh:D005947 ; pfocr:hasMention <PMC1__a.html#mention-76b9cf7250a9f60d> .
<PMC1__a.html#mention-76b9cf7250a9f60d> a pfocr:Mention, pfocr:ChemicalMention ; pfocr:word "glc" ;
    pfocr:matchedSymbol "Glucose" ; pfocr:entity mesh:D005947 .
<PMC1__c.html> schema:mentions mesh:D005947 ; pfocr:hasMention <PMC1__c.html#mention-8ea16fd969463447> .
<PMC1__c.html#mention-8ea16fd969463447> a pfocr:Mention, pfocr:ChemicalMention ; pfocr:word "g" ;
    pfocr:matchedSymbol "D-Glucose" ; pfocr:entity mesh:D005947 .
<PMC2__b.html> schema:mentions mesh:D005947 ; pfocr:hasMention <PMC2__b.html#mention-215786b2e3a2a0b1> .
<PMC2__b.html#mention-215786b2e3a2a0b1> a pfocr:Mention, pfocr:DiseaseMention ; pfocr:word "x" ;
    pfocr:matchSource "MESH" ; pfocr:entity mesh:D005947 .
mesh:D005947 a schema:ChemicalSubstance, schema:MedicalCondition ; schema:identifier "mesh:D005947" ;
    schema:name "Glucose" ; schema:sameAs idorg:mesh:D005947, <https://identifiers.org/chebi/CHEBI:4167>,
    <https://identifiers.org/chebi/CHEBI:17234> .
"""),
]


def _write(case: Case, root: Path) -> Path:
    for name, text in case.files.items():
        path = root / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "in"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_mapping_row(case: Case, tmp_path):
    folder = _write(case, tmp_path)
    inputs = sorted({str(folder / Path(name).parts[0]) for name in case.files if name.count("/") == 2}) or [
        str(folder)]
    report = convert(inputs, output=str(tmp_path / "out"), formats=["nt"], jobs=1)
    expected = {q.triple for q in ox.parse(PREFIXES + case.expected, format=ox.RdfFormat.TURTLE)}
    actual = {q.triple for q in ox.parse(path=str(tmp_path / "out" / "pfocr.nt"), format=ox.RdfFormat.N_TRIPLES)}
    difference = graph_difference(expected, actual)
    assert not difference, f"docs/mapping.md row {case.row!r}:\n{difference}"
    assert {w.field for w in report.warnings} == case.warnings, [str(w) for w in report.warnings]
    rejected = {Path(i.file).relative_to(folder).as_posix() for i in report.rejected}
    assert rejected == case.rejected, [str(i) for i in report.rejected]


def test_every_mapping_row_has_a_case():
    """Each record field of the figure and article tables of docs/mapping.md is the subject of some case."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "mapping.md").read_text(encoding="utf-8")
    fields = set()
    for table in ("## Figure fields", "## Article fields"):
        section = docs.split(table, 1)[1].split("\n## ", 1)[0]
        for line in section.splitlines():
            cells = line.split("|")
            if len(cells) > 2 and "`" in cells[1]:
                fields.update(part.split("`")[1] for part in cells[1].split(",") if "`" in part)
    covered = " ".join(case.row for case in CASES)
    assert len(fields) > 20
    assert not {f for f in fields if f not in covered}, sorted(f for f in fields if f not in covered)


def test_a_mesh_id_used_as_chemical_and_disease_has_both_types(tmp_path):
    figures = tmp_path / "in" / "_figures"
    figures.mkdir(parents=True)
    (figures / "PMC1__a.md").write_text(page("chemicals: [{word: x, source: MESH, identifier: D007333}]\n",
                                             "PMC1__a", "PMC1"))
    (figures / "PMC2__b.md").write_text(page("diseases: [{word: x, source: MESH, identifier: D007333}]\n",
                                             "PMC2__b", "PMC2"))
    report = convert([str(tmp_path / "in")], output=str(tmp_path / "out"), formats=["nt"], jobs=1)
    store = ox.Store()
    store.bulk_load(path=str(tmp_path / "out" / "pfocr.nt"), format=ox.RdfFormat.N_TRIPLES)
    types = {q.object.value for q in store.quads_for_pattern(
        ox.NamedNode("https://identifiers.org/mesh/D007333"), ox.NamedNode(
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), None)}
    assert types == {SCHEMA + "ChemicalSubstance", SCHEMA + "MedicalCondition"}
    assert report.statistics["chemicals"] == 1 and report.statistics["diseases"] == 1


def test_every_project_term_in_the_dumps_is_defined_in_the_vocabulary(tmp_path):
    convert([str(EXAMPLES)], output=str(tmp_path), formats=["nt"], jobs=1)
    vocab = ox.Store()
    vocab.load(resources.files("converter.data").joinpath("vocab.ttl").read_bytes(), format=ox.RdfFormat.TURTLE)
    defined = {q.subject.value for q in vocab.quads_for_pattern(None, None, None) if
               isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(PFOCR)}
    used = set()
    store = ox.Store()
    store.bulk_load(path=str(tmp_path / "pfocr.nt"), format=ox.RdfFormat.N_TRIPLES)
    for q in store.quads_for_pattern(None, None, None):
        for term in (q.predicate, q.object):
            if isinstance(term, ox.NamedNode) and term.value.startswith(PFOCR):
                used.add(term.value)
    assert used, "the examples use project terms"
    assert used <= defined, f"undefined: {sorted(used - defined)}"
    for term in defined - {PFOCR}:
        labels = list(vocab.quads_for_pattern(ox.NamedNode(term), ox.NamedNode(
            "http://www.w3.org/2000/01/rdf-schema#comment"), None))
        assert labels, f"{term} has no rdfs:comment"


@pytest.mark.parametrize("body,chemicals,iri,predicate,expected", [
    ("", tsv("word|mesh|match|name|chebi", "glc|mesh:D005947|Glucose|glucose|chebi:4167",
             "GLC|mesh:D005947|Glucose|glucose|chebi:17234"), "https://identifiers.org/mesh/D005947", "sameAs",
     {"https://identifiers.org/mesh:D005947", "https://identifiers.org/chebi/CHEBI:4167",
      "https://identifiers.org/chebi/CHEBI:17234"}),
    ("chemicals: [{word: x, source: MESH, identifier: C000000}]\n"
     "diseases: [{word: x, source: MESH, identifier: C000000}]\n", None, "https://identifiers.org/mesh/C000000",
     "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", {SCHEMA + "ChemicalSubstance", SCHEMA + "MedicalCondition"}),
], ids=["two-chebi-ids-of-one-mesh-id", "chemical-and-disease"])
def test_kinds_and_cross_references_add_up_within_one_record(body, chemicals, iri, predicate, expected, tmp_path):
    """docs/mapping.md: cross-references add up, and a MeSH id used as chemical and disease has both types; here
    two rows of one record give them."""
    folder = _write(one(body, "", "", "within", data={"chemicals": chemicals} if chemicals else None), tmp_path)
    convert([str(folder)], output=str(tmp_path / "out"), formats=["nt"], jobs=1)
    graph = {q.triple for q in ox.parse(path=str(tmp_path / "out" / "pfocr.nt"), format=ox.RdfFormat.N_TRIPLES)}
    if predicate == "sameAs":
        predicate = SCHEMA + "sameAs"
    found = {t.object.value for t in graph if t.subject == ox.NamedNode(iri) and t.predicate == ox.NamedNode(predicate)}
    assert found == expected


def test_a_year_of_other_digits_is_a_warning(tmp_path):
    case = one("year: '٢٠٢٠'\n", "", "year: not four digits: warning", "year-arabic-indic-digits", {"year"})
    test_mapping_row(case, tmp_path)


@pytest.mark.parametrize("body,data,warned", [
    ("pmc_ranked_result_index: '²'\n", None, "pmc_ranked_result_index"),
    ("", {"genes": tsv(GENE_HEADER, "9606|Homo sapiens|Primates|p53|TP53|TP53|7157|ncbigene_symbol|²|1|1")},
     "count_direct"),
], ids=["rank-index", "count"])
def test_a_superscript_digit_is_a_warning(body, data, warned, tmp_path):
    folder = _write(one(body, "", "", "superscript", data=data), tmp_path)
    report = convert([str(folder)], output=str(tmp_path / "out"), formats=["nt"], jobs=1)
    assert report.records_converted == 1 and warned in {w.field for w in report.warnings}
