"""The copy of the Bioregistry data the converter reads (converter/data/identifiers.json) against the installed
Bioregistry, and IRIs minted from it."""

import json
from importlib import resources

import pytest

from converter.records.identifiers import Registry, snapshot


def test_the_copied_namespaces_match_the_installed_bioregistry():
    copied = json.loads(resources.files("converter.data").joinpath("identifiers.json").read_text())
    assert copied["namespaces"] == snapshot()["namespaces"], (
        "Bioregistry changed a pattern, banana or identifiers.org prefix: run `make identifiers` and review the diff")


@pytest.mark.parametrize("prefix, value, slash, colon", [
    ("ncbigene", "7157", "https://identifiers.org/ncbigene/7157", "https://identifiers.org/ncbigene:7157"),
    ("chebi", "CHEBI:15422", "https://identifiers.org/chebi/CHEBI:15422", "https://identifiers.org/CHEBI:15422"),
    ("ncbitaxon", "9606", "https://identifiers.org/taxonomy/9606", "https://identifiers.org/taxonomy:9606"),
    ("doid", "doid:1612", "https://identifiers.org/doid/DOID:1612", "https://identifiers.org/DOID:1612"),
])
def test_iris_come_from_the_copy(prefix, value, slash, colon):
    registry = Registry()
    assert registry.iri(prefix, value) == slash
    assert registry.alternate_iri(prefix, value) == colon
    colon_style = Registry("colon")
    assert colon_style.iri(prefix, value) == colon
    assert colon_style.alternate_iri(prefix, value) == slash
    assert registry.iri(prefix, value) == slash  # one registry's style is not another's


@pytest.mark.parametrize("prefix, value", [("ncbigene", "TP53"), ("mesh", "X0001"), ("pmc", "12345"),
                                           ("ncbigene", "٣٤"), ("chebi", "")])
def test_values_outside_the_pattern_are_refused(prefix, value):
    assert Registry().normalize(prefix, value) is None
