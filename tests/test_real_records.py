"""Every real record says in RDF exactly what its YAML and TSVs say, computed here without the converter."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from _support import (
    ENTITY_IRI, PFOCR_NS, RDF_TYPE, SCHEMA, SENTINEL_LITERALS, XSD, expected_record, figure_iri,
    iri_values, lookalike_words, objects, sample_records,
)

RECORDS = sample_records()
XSD_STRING = ox.NamedNode(XSD + "string")


@pytest.fixture(scope="module")
def converted_figids(sample_run) -> dict[str, str]:
    return {item["figid"]: item["file"] for item in sample_run.report_json["converted"]}


def test_sample_is_complete(sample_run):
    assert len(RECORDS) == 61  # 60 sample pages and the seed
    assert sample_run.report.records_read == len(RECORDS)
    assert sample_run.report.records_rejected == 0, sample_run.report.rejected


@pytest.mark.parametrize("md", RECORDS, ids=lambda p: p.stem)
def test_record_maps_exactly(md, sample_store, converted_figids):
    exp = expected_record(md)
    fig = exp.iri
    assert converted_figids.get(exp.figid) == str(md)

    types = iri_values(objects(sample_store, fig, RDF_TYPE))
    assert {SCHEMA + "ImageObject", SCHEMA + "Dataset"} <= types

    identifiers = [o.value for o in objects(sample_store, fig, SCHEMA + "identifier")]
    assert identifiers == [exp.figid]

    names = objects(sample_store, fig, SCHEMA + "name")
    assert [(n.value, n.datatype) for n in names] == [(exp.title, XSD_STRING)]

    captions = [c.value for c in objects(sample_store, fig, SCHEMA + "caption")]
    assert captions == ([exp.caption] if exp.caption is not None else [])

    # schema:mentions to genes, chemicals and diseases: exactly the ids in the record (organisms are left out)
    mentioned = {iri for iri in iri_values(objects(sample_store, fig, SCHEMA + "mentions")) if ENTITY_IRI.match(iri)}
    missing, extra = exp.entities - mentioned, mentioned - exp.entities
    assert not missing and not extra, f"missing {sorted(missing)}, unexpected {sorted(extra)}"

    # the article
    assert iri_values(objects(sample_store, fig, SCHEMA + "isPartOf")) == {exp.article}
    art = exp.article
    assert SCHEMA + "ScholarlyArticle" in iri_values(objects(sample_store, art, RDF_TYPE))
    dates = objects(sample_store, art, SCHEMA + "datePublished")
    if exp.year:
        assert [(d.value, d.datatype.value) for d in dates] == [(exp.year, XSD + "gYear")]
    else:
        assert dates == []
    titles = [t.value for t in objects(sample_store, art, SCHEMA + "name")]
    assert titles == ([exp.papertitle] if exp.papertitle is not None else [])
    same_as = iri_values(objects(sample_store, art, SCHEMA + "sameAs"))
    dois = {iri for iri in same_as if iri.startswith("https://doi.org/")}
    assert dois == ({f"https://doi.org/{exp.doi}"} if exp.doi else set())


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
