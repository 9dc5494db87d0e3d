"""Every real record says in RDF exactly what its YAML and TSVs say, computed here without the converter."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from _support import (
    ALT_VERSIONS,
    PFOCR_NS,
    SAMPLE,
    SAMPLE_FIGURES,
    SCHEMA,
    SEED,
    SENTINEL_LITERALS,
    OracleGraph,
    expected_record,
    figure_iri,
    graph_difference,
    lookalike_words,
    oracle_graph,
    oracle_record,
    sample_records,
    triples_of,
)

RECORDS = sample_records()


@pytest.fixture(scope="module")
def converted_figids(sample_run) -> dict[str, str]:
    return {item["figid"]: item["file"] for item in sample_run.report_json["converted"]}


@pytest.fixture(scope="module")
def sample_oracle(pfocr_data) -> OracleGraph:
    """The graph the sample and the seed must give, derived from their files alone."""
    return oracle_graph([SAMPLE, SEED])


@pytest.fixture(scope="module")
def sample_triples(sample_run) -> set[ox.Triple]:
    return triples_of(sample_run.path("pfocr.nt"), "nt")


def test_sample_is_complete(sample_run):
    assert len(RECORDS) == 61  # 60 sample pages and the seed
    assert sample_run.report.records_read == len(RECORDS)
    assert sample_run.report.records_rejected == 0, sample_run.report.rejected


def test_the_oracle_covers_every_documented_term(sample_oracle):
    """The oracle's own graph says something in every row of docs/mapping.md the sample has, so the equality
    below compares whole graphs, not two empty ones."""
    predicates = {t.predicate.value for t in sample_oracle.triples}
    documented = {SCHEMA + p for p in (
        "identifier", "name", "caption", "contentUrl", "url", "alternateName", "license", "isPartOf", "keywords",
        "about", "mentions", "sameAs", "datePublished", "creditText", "publisher", "taxonomicRange")}
    documented |= {PFOCR_NS + p for p in (
        "figureNumber", "figureType", "pathwayScore", "pmcRankedResultIndex", "ndexNetwork", "hasMention", "word",
        "matchedSymbol", "matchSource", "entity", "countDirect", "countSynonym", "countMatch", "organismGroup")}
    assert documented <= predicates, f"never derived: {sorted(documented - predicates)}"
    assert len(sample_oracle.triples) > 20_000
    assert len(sample_oracle.records) == len(RECORDS) and not sample_oracle.rejected
    assert not sample_oracle.undecided, "the sample names one entity two ways in one record"


def test_whole_sample_graph_equals_the_oracle(sample_oracle, sample_triples, converted_figids):
    """Every triple the records call for and nothing else: the N-Triples dump of the sample and the seed is, as a
    set, the graph the oracle derives from the files."""
    assert set(converted_figids) == set(sample_oracle.records)
    difference = graph_difference(sample_oracle.triples, sample_triples, sample_oracle.owner)
    assert not difference, difference


@pytest.mark.parametrize("md", RECORDS, ids=lambda p: p.stem)
def test_record_graph_equals_the_oracle(md, sample_oracle, sample_triples, converted_figids):
    """Per record: the triples about its figure, mentions, article, journal, publisher and the entities and taxa it
    names are exactly the oracle's."""
    figid = oracle_record(md).figid
    assert converted_figids.get(figid) == str(md)
    nodes = sample_oracle.subjects_of(figid)
    about = {t for t in sample_triples if t.subject.value in nodes}
    expected = {t for t in sample_oracle.triples if t.subject.value in nodes}
    difference = graph_difference(expected, about, sample_oracle.owner, per_record=8)
    assert not difference, difference


def test_conflicting_versions_give_the_oracle_graph(conflict_run):
    """The same figid in two files (the sample's pages beside their other-layout versions): the kept version's
    graph, whole, and the other file listed as rejected for its figid."""
    alt = sorted(ALT_VERSIONS.glob("*/_figures"))
    expected = oracle_graph([SAMPLE_FIGURES, *alt])
    assert {p for p, f in expected.rejected.items() if f == "figid"}, "the alt-versions hold no figid twice"
    rejected = {(Path(item["file"]).resolve(), item["field"]) for item in conflict_run.report_json["rejected"]}
    assert rejected == {(p.resolve(), f) for p, f in expected.rejected.items()}
    actual = triples_of(conflict_run.path("pfocr.nt"), "nt")
    difference = graph_difference(expected.triples, actual, expected.owner)
    assert not difference, difference


@pytest.mark.parametrize("md", RECORDS, ids=lambda p: p.stem)
def test_mention_words_are_the_ocr_words(md, sample_store):
    """Every OCR word of the record's entity lists is a pfocr:word literal of one of its mentions, unchanged."""
    exp = expected_record(md)
    query = f"""SELECT ?w WHERE {{ <{exp.iri}> <{PFOCR_NS}hasMention> ?m . ?m <{PFOCR_NS}word> ?w }}"""
    words = {row["w"].value for row in sample_store.query(query)}
    assert words == exp.words


def test_inline_record_ignores_its_companion_tsv(sample_run):
    """Old-layout records with a companion TSV in _data use the inline lists; the TSV is reported as ignored."""
    inline_with_companion = []
    for md in RECORDS:
        exp = expected_record(md)
        if exp.layout == "inline" and any((md.parent.parent / "_data").glob(f"{exp.figid}-*.tsv")):
            inline_with_companion.append(exp)
    assert inline_with_companion, "the sample has inline records with a companion TSV"
    warned = {(w["figid"], w["field"]) for w in sample_run.report_json["warnings"]}
    for exp in inline_with_companion:
        for tsv in (exp.path.parent.parent / "_data").glob(f"{exp.figid}-*.tsv"):
            kind = tsv.name[len(exp.figid) + 1 : -len(".tsv")]
            assert (exp.figid, kind) in warned, f"no warning for ignored {tsv.name}"


def test_no_sentinel_literals(sample_store):
    bad = [q for q in sample_store if isinstance(q.object, ox.Literal) and q.object.value in SENTINEL_LITERALS]
    assert not bad, bad[:5]


LOOKALIKES = lookalike_words()


def test_inventory_lists_lookalikes(pfocr_data):
    assert len(LOOKALIKES) >= 8


@pytest.mark.parametrize("figid,word", LOOKALIKES, ids=[f"{f}:{w}" for f, w in LOOKALIKES])
def test_lookalike_word_kept(figid, word, sample_store):
    assert any(ord(c) > 0x7F for c in word)
    query = f"""SELECT ?w WHERE {{ <{figure_iri(figid)}> <{PFOCR_NS}hasMention> ?m . ?m <{PFOCR_NS}word> ?w }}"""
    words = {row["w"].value for row in sample_store.query(query)}
    assert word in words, f"{word!r} not among the words of {figid}: {sorted(words)}"


def test_no_repeated_triples(sample_run):
    for name in ("pfocr.nt", "pfocr.nq"):
        lines = sample_run.path(name).read_text(encoding="utf-8").splitlines()
        assert len(lines) == len(set(lines)), f"{name} repeats {len(lines) - len(set(lines))} lines"
        assert len(lines) == sample_run.report.triples
