"""The canned queries, rewritten for the engine (selective patterns first, parameters resolved through the store's
precomputed lookup keys, counts and search text), give the rows of their earlier text, which computed everything
from the data: on the real sample and on a generated corpus, with the default parameters and with values taken from
the data in several spellings.

``tests/queries-before/`` holds the earlier text of every canned query, verbatim: the oracle. Both run on the same
store (``pfocr-rdf load``), the earlier text reading only the data, the new one the precomputed graphs too."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from _support import HAVE_PFOCR, PFOCR, PROJECT, SAMPLE, SEED, SKIP_REASON

from converter.store.load import load, open_store
from converter.store.queries import library, parse_query_file

BEFORE = Path(__file__).resolve().parent / "queries-before"
LIBRARY = library()
S = "https://schema.org/"
P = "https://pfocr.wikipathways.org/vocab#"


def test_every_canned_query_has_its_earlier_text():
    assert sorted(p.stem for p in BEFORE.glob("*.rq")) == sorted(LIBRARY)


def _rows(store: ox.Store, text: str) -> list:
    """Rows as comparable tuples; a GROUP_CONCAT'ed list (", "-separated) compares as a sorted list, as its order
    follows the evaluation's."""
    results = store.query(text)
    if isinstance(results, ox.QueryBoolean):
        return [bool(results)]
    if isinstance(results, ox.QueryTriples):
        return sorted(str(t) for t in results)

    def cell(term):
        if isinstance(term, ox.Literal) and ", " in term.value and term.datatype.value.endswith("#string"):
            return ("list", tuple(sorted(term.value.split(", "))))
        return None if term is None else str(term)

    return [tuple(cell(t) for t in row) for row in results]


def _params(store: ox.Store) -> dict[str, list[dict[str, str]]]:
    """Parameter values found in the store, in several spellings, for each canned query."""

    def one(query: str) -> list[str]:
        return [row[0].value for row in store.query(query)]

    genes = one(f"SELECT ?name WHERE {{ {{ SELECT ?g (COUNT(*) AS ?n) WHERE {{ ?f <{S}mentions> ?g . ?g a <{S}Gene> }} "
                f"GROUP BY ?g }} ?g <{S}name> ?name }} ORDER BY DESC(?n) ?name LIMIT 3")
    gene_ids = one(f"SELECT ?id WHERE {{ ?g a <{S}Gene> ; <{S}name> \"{genes[0]}\" ; <{S}identifier> ?id }}")
    chemical = one(f"SELECT ?name WHERE {{ {{ SELECT ?c (COUNT(*) AS ?n) WHERE {{ ?f <{S}mentions> ?c . "
                   f"?c a <{S}ChemicalSubstance> }} GROUP BY ?c }} ?c <{S}name> ?name }} ORDER BY DESC(?n) ?name "
                   "LIMIT 1")
    chemical_id = one(f"SELECT ?id WHERE {{ ?c a <{S}ChemicalSubstance> ; <{S}name> \"{chemical[0]}\" ; "
                      f"<{S}identifier> ?id }} LIMIT 1") if chemical else []
    chemical_word = one(f"SELECT ?w WHERE {{ ?m a <{P}ChemicalMention> ; <{P}word> ?w }} ORDER BY ?w LIMIT 1")
    disease = one(f"SELECT ?name WHERE {{ ?f <{S}mentions> ?d . ?d a <{S}MedicalCondition> ; <{S}name> ?name }} "
                  "GROUP BY ?name ORDER BY DESC(COUNT(*)) ?name LIMIT 1")
    disease_word = one(f"SELECT ?w WHERE {{ ?m a <{P}DiseaseMention> ; <{P}word> ?w }} ORDER BY ?w LIMIT 1")
    article = one(f"SELECT ?id WHERE {{ ?a a <{S}ScholarlyArticle> ; <{S}identifier> ?id ; <{S}sameAs> ?doi "
                  "FILTER(STRSTARTS(STR(?doi), \"https://doi.org/\")) } ORDER BY ?id LIMIT 1")
    doi = one(f"SELECT ?doi WHERE {{ ?a <{S}identifier> \"{article[0]}\" ; <{S}sameAs> ?doi "
              "FILTER(STRSTARTS(STR(?doi), \"https://doi.org/\")) }") if article else []
    figure = one(f"SELECT ?id WHERE {{ ?f a <{S}ImageObject> ; <{S}identifier> ?id }} ORDER BY ?id LIMIT 1")
    entity = one(f"SELECT ?g WHERE {{ ?g a <{S}Gene> ; <{S}name> \"{genes[0]}\" }} LIMIT 1")
    title_word = one(f"SELECT ?t WHERE {{ ?f a <{S}ImageObject> ; <{S}name> ?t }} ORDER BY ?t LIMIT 1")[0].split()
    word = max(title_word, key=len).strip(".,;:()")
    gene, other = genes[0], genes[1]
    out: dict[str, list[dict[str, str]]] = {name: [{}] for name in LIBRARY}
    gene_values = [gene, gene.lower(), gene.upper(), *(i.removeprefix("ncbigene:") for i in gene_ids)]
    for name in ("figures-for-gene", "co-mentioned-genes", "gene-mentions-by-match-source"):
        out[name] += [{"gene": g} for g in gene_values]
    out["figures-for-gene-by-match"] += [{"gene": g, "match": m} for g in gene_values[:2]
                                         for m in ("exact", "synonym", "family", "FAMILY")]
    out["figures-with-all-genes"] += [{"genes": f"{gene},{other}"}, {"genes": f"{gene.lower()},{gene}"}]
    out["figures-ranked-by-gene-list"] += [{"genes": ",".join(genes)}, {"genes": f"{gene.lower()},nosuchgene"}]
    for kind, values in (("chemical", chemical + chemical_id + chemical_word),
                         ("disease", disease + disease_word)):
        spelled = values + [v.swapcase() for v in values] + [i.removeprefix("mesh:") for i in values
                                                                 if i.lower().startswith("mesh:")]
        out[f"figures-for-{kind}"] += [{kind: v} for v in spelled]
        out[f"genes-for-{kind}"] += [{kind: v} for v in spelled]
    for pmcid in article:
        out["figures-of-article"] += [{"article": pmcid}, {"article": pmcid.lower()},
                                      {"article": pmcid.removeprefix("PMC")}]
    for iri in doi:
        out["figures-of-article"] += [{"article": iri}, {"article": iri.upper().replace("HTTPS://DOI.ORG/", "")}]
    out["figure-card"] += [{"figid": figure[0]}]
    out["figure-bioschemas"] += [{"figid": figure[0]}]
    out["figures-mentioning"] += [{"entity": entity[0]}]
    out["resource"] += [{"iri": f"https://pfocr.wikipathways.org/figures/{figure[0]}.html"}]
    out["search-figures"] += [{"text": t} for t in (word, word.upper(), word[1:-1], f"{word} ", "signaling pathway",
                                                     "TNF-α", "-")]
    for name in ("most-mentioned-genes", "most-mentioned-chemicals", "most-mentioned-diseases"):
        out[name] += [{"min_figures": "1"}, {"min_figures": "3"}]
    out["wikipathways-shared-genes"] += [{"min_shared": "1"}]
    return out


def _check(store: ox.Store, name: str, params: dict[str, str]) -> None:
    before = parse_query_file(BEFORE / f"{name}.rq").render(params)
    now = LIBRARY[name].render(params)
    expected, got = _rows(store, before), _rows(store, now)
    if name == "resource":  # "in any graph" took in the precomputed graphs too, which are not the IRI's statements
        expected = [t for t in expected if not any(f"<{P}{p}>" in t for p in ("geneCount", "searchText"))]
    assert Counter(got) == Counter(expected), (
        f"{name} {params}: {len(got)} rows, the earlier text gives {len(expected)}; only now: "
        f"{list(Counter(got) - Counter(expected))[:3]}; only before: {list(Counter(expected) - Counter(got))[:3]}")
    assert got == expected, f"{name} {params}: the same rows in another order"


@pytest.fixture(scope="module")
def sample_loaded(pfocr_data, tmp_path_factory) -> ox.Store:
    path = tmp_path_factory.mktemp("rewrite-sample") / "store"
    load([str(SAMPLE), str(SEED)], str(path))
    return open_store(str(path))


@pytest.fixture(scope="module")
def corpus_loaded(pfocr_data, tmp_path_factory) -> ox.Store:
    """A generated corpus of 1,500 records (benchmarks/make_corpus.py, from the bulk PFOCR tables): hub genes,
    shared captions, both layouts and their traps, at a size where every query has many rows."""
    folder = tmp_path_factory.mktemp("rewrite-corpus")
    subprocess.run([sys.executable, str(PROJECT / "benchmarks" / "make_corpus.py"), str(folder / "corpus"), "-n",
                    "1500", "--seed", "3", "--shared", str(PFOCR)], check=True, capture_output=True, timeout=300)
    load([str(folder / "corpus")], str(folder / "store"))
    return open_store(str(folder / "store"))


@pytest.mark.skipif(not HAVE_PFOCR, reason=SKIP_REASON)
@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_rewritten_query_gives_the_earlier_rows_on_the_real_sample(name, sample_loaded):
    for params in _params(sample_loaded)[name]:
        _check(sample_loaded, name, params)


@pytest.mark.skipif(not HAVE_PFOCR, reason=SKIP_REASON)
@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_rewritten_query_gives_the_earlier_rows_on_a_generated_corpus(name, corpus_loaded):
    cases = _params(corpus_loaded)[name]
    for params in cases:
        _check(corpus_loaded, name, params)
    if name not in ("figure-card", "figure-bioschemas", "resource", "wikipathways-shared-genes"):
        assert any(_rows(corpus_loaded, LIBRARY[name].render(p)) for p in cases), f"{name}: no case has rows"
