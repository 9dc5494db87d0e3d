"""Mapping details that the real sample does not exercise: shared entities, the vocabulary file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pyoxigraph as ox

from converter import convert

SCHEMA = "https://schema.org/"
PFOCR = "https://pfocr.wikipathways.org/vocab#"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pfocr"


def _page(folder: Path, figid: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{figid}.md").write_text(f"---\nfigid: {figid}\npmcid: {figid.split('__')[0]}\nfigtitle: T\n{body}---\n")


def _store(path: Path) -> ox.Store:
    store = ox.Store()
    store.bulk_load(path=str(path), format=ox.RdfFormat.N_TRIPLES)
    return store


def test_a_mesh_id_used_as_chemical_and_disease_has_both_types(tmp_path):
    figures = tmp_path / "in" / "_figures"
    _page(figures, "PMC1__a", "chemicals: [{word: x, source: MESH, identifier: D007333}]\n")
    _page(figures, "PMC2__b", "diseases: [{word: x, source: MESH, identifier: D007333}]\n")
    report = convert([str(tmp_path / "in")], output=str(tmp_path / "out"), formats=["nt"], jobs=1)
    store = _store(tmp_path / "out" / "pfocr.nt")
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
    for q in _store(tmp_path / "pfocr.nt").quads_for_pattern(None, None, None):
        for term in (q.predicate, q.object):
            if isinstance(term, ox.NamedNode) and term.value.startswith(PFOCR):
                used.add(term.value)
    assert used, "the examples use project terms"
    assert used <= defined, f"undefined: {sorted(used - defined)}"
    for term in defined - {PFOCR}:
        labels = list(vocab.quads_for_pattern(ox.NamedNode(term), ox.NamedNode(
            "http://www.w3.org/2000/01/rdf-schema#comment"), None))
        assert labels, f"{term} has no rdfs:comment"
