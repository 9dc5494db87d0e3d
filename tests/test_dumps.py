"""The four dumps parse with three independent parsers, hold one graph, and void.ttl / report.json describe it."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess

import pyoxigraph as ox
import pytest
import rdflib
from pyld import jsonld

from _support import DUMP_FILES, GRAPH, JSON_LINES, RDF_TYPE, SCHEMA, minimal_record, triples_of, write_record
from conftest import run_convert

FORMATS = list(DUMP_FILES)
RDFLIB_FORMAT = {"ttl": "turtle", "nt": "nt", "nq": "nquads", "jsonld": "json-ld"}
RAPPER_PARSER = {"ttl": "turtle", "nt": "ntriples", "nq": "nquads"}
VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
DATASET = "https://pfocr.wikipathways.org/dataset"
VOID_BASE = "https://pfocr.wikipathways.org/dumps/"

# rdflib's N-Quads parser warns about its own deprecated Dataset API once per triple
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def ox_triples(sample_run) -> dict[str, set]:
    return {fmt: triples_of(sample_run.path(DUMP_FILES[fmt]), fmt) for fmt in FORMATS}


@pytest.fixture(scope="module")
def rdflib_nt(sample_run) -> set:
    return set(rdflib.Graph().parse(sample_run.path("pfocr.nt"), format="nt"))


@pytest.fixture(scope="module")
def pyld_nquads(sample_run) -> str:
    doc = json.loads(sample_run.path("pfocr.jsonld").read_text(encoding="utf-8"))
    return jsonld.to_rdf(doc, {"format": "application/n-quads", "documentLoader": _no_documents})


def _no_documents(url: str, options: dict | None = None) -> dict:
    raise jsonld.JsonLdError(f"the dump made pyld load {url}", "loading document failed")


@pytest.fixture(scope="module")
def void_store(sample_run) -> ox.Store:
    store = ox.Store()
    store.bulk_load(path=str(sample_run.path("void.ttl")), format=ox.RdfFormat.TURTLE, base_iri=VOID_BASE)
    return store


def _one(store, s, p):
    values = [q.object for q in store.quads_for_pattern(ox.NamedNode(s), ox.NamedNode(p), None)]
    assert len(values) == 1, (s, p, values)
    return values[0]


# --- parsing -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_pyoxigraph_parses(fmt, ox_triples, sample_run):
    assert len(ox_triples[fmt]) == sample_run.report.triples


def test_nquads_use_the_dataset_graph(sample_run):
    graphs = {q.graph_name for q in ox.parse(path=str(sample_run.path("pfocr.nq")), format=ox.RdfFormat.N_QUADS)}
    assert graphs == {ox.NamedNode(GRAPH)}


@pytest.mark.parametrize("fmt", FORMATS)
def test_rdflib_parses(fmt, sample_run, rdflib_nt):
    path = sample_run.path(DUMP_FILES[fmt])
    if fmt == "nq":
        ds = rdflib.Dataset()
        ds.parse(path, format="nquads")
        triples = {(s, p, o) for s, p, o, _ in ds.quads((None, None, None, None))}
    else:
        g = rdflib.Graph()
        g.parse(path, format=RDFLIB_FORMAT[fmt])
        triples = set(g)
    assert len(triples) == sample_run.report.triples
    assert triples == rdflib_nt


def _rapper(path, parser: str, base: str = "https://example.org/base/") -> int:
    binary = shutil.which("rapper")
    if binary is None:
        pytest.skip("rapper (raptor2-utils) is not installed")
    proc = subprocess.run([binary, "-i", parser, "-c", str(path), base], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    problems = [line for line in proc.stderr.splitlines() if "Error" in line or "Warning" in line]
    assert not problems, problems[:5]
    match = re.search(r"Parsing returned (\d+) triples?", proc.stderr)
    assert match, proc.stderr
    return int(match.group(1))


@pytest.mark.parametrize("fmt", ["ttl", "nt", "nq"])
def test_rapper_parses(fmt, sample_run):
    assert _rapper(sample_run.path(DUMP_FILES[fmt]), RAPPER_PARSER[fmt]) == sample_run.report.triples


def test_rapper_parses_jsonld_via_pyld(pyld_nquads, sample_run, tmp_path):
    """raptor2 has no JSON-LD parser: it reads the N-Quads pyld makes of the JSON-LD dump instead."""
    path = tmp_path / "from-jsonld.nq"
    path.write_text(pyld_nquads, encoding="utf-8")
    assert _rapper(path, "nquads") == sample_run.report.triples


# --- one graph -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["ttl", "nq", "jsonld"])
def test_same_graph_as_ntriples(fmt, ox_triples):
    nt = ox_triples["nt"]
    other = ox_triples[fmt]
    assert not (nt - other) and not (other - nt), (sorted(map(str, nt - other))[:5], sorted(map(str, other - nt))[:5])


def test_no_blank_nodes(ox_triples):
    assert not any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in ox_triples["nt"])


def test_pyld_expansion_matches_turtle(pyld_nquads, ox_triples):
    from_pyld = {q.triple for q in ox.parse(pyld_nquads, format=ox.RdfFormat.N_QUADS)}
    ttl = ox_triples["ttl"]
    assert from_pyld == ttl, (sorted(map(str, ttl - from_pyld))[:5], sorted(map(str, from_pyld - ttl))[:5])


def test_pyld_expansion_isomorphic_with_rdflib(pyld_nquads, sample_run):
    from rdflib.compare import isomorphic

    ds = rdflib.Dataset()
    ds.parse(data=pyld_nquads, format="nquads")
    expanded = rdflib.Graph()
    for s, p, o, _ in ds.quads((None, None, None, None)):
        expanded.add((s, p, o))
    ttl = rdflib.Graph().parse(sample_run.path("pfocr.ttl"), format="turtle")
    assert isomorphic(expanded, ttl)


def test_jsonld_is_one_document_with_embedded_context(sample_run):
    doc = json.loads(sample_run.path("pfocr.jsonld").read_text(encoding="utf-8"))
    assert set(doc) == {"@context", "@graph"}
    assert isinstance(doc["@context"], dict)  # no remote context to fetch
    assert all(isinstance(node, dict) and "@id" in node for node in doc["@graph"])


# --- void.ttl ------------------------------------------------------------------------------------------------------
def test_void_parses_with_all_parsers(sample_run):
    path = sample_run.path("void.ttl")
    g = rdflib.Graph().parse(path, format="turtle", publicID=VOID_BASE)
    assert len(g) > 0
    assert shutil.which("rapper"), "rapper (Debian's raptor2-utils) is missing: 'make test' installs it"
    assert _rapper(path, "turtle", VOID_BASE) == len(g)


def test_void_triples_equal_report(void_store, sample_run):
    triples = _one(void_store, DATASET, VOID + "triples")
    assert triples.datatype == ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
    assert int(triples.value) == sample_run.report_json["triples"] == sample_run.report.triples


def test_void_dumps_describe_the_files(void_store, sample_run):
    dumps = {q.object.value
             for q in void_store.quads_for_pattern(ox.NamedNode(DATASET), ox.NamedNode(VOID + "dataDump"), None)}
    described = {**DUMP_FILES, "jsonl": JSON_LINES}
    assert dumps == {VOID_BASE + name for name in described.values()}  # relative to void.ttl
    for fmt, name in described.items():
        dist = f"{DATASET}#dump-{fmt}"
        assert _one(void_store, dist, DCAT + "downloadURL").value == VOID_BASE + name
        data = sample_run.path(name).read_bytes()
        assert int(_one(void_store, dist, DCAT + "byteSize").value) == len(data)
        assert _one(void_store, dist, "https://pfocr.wikipathways.org/vocab#sha256").value == \
            hashlib.sha256(data).hexdigest()


def _mention_counts(nt_path) -> dict[str, int]:
    """schema:mentions triples from a figure, per target IRI namespace (text up to the last '/')."""
    store = ox.Store()
    store.bulk_load(path=str(nt_path), format=ox.RdfFormat.N_TRIPLES)
    counts: dict[str, int] = {}
    for q in store.quads_for_pattern(None, ox.NamedNode(SCHEMA + "mentions"), None):
        space = q.object.value.rsplit("/", 1)[0] + "/"
        counts[space] = counts.get(space, 0) + 1
    return counts


def _linksets(void_path) -> dict[str, int]:
    store = ox.Store()
    store.bulk_load(path=str(void_path), format=ox.RdfFormat.TURTLE, base_iri=VOID_BASE)
    out = {}
    for q in store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), ox.NamedNode(VOID + "Linkset")):
        target = _one(store, q.subject.value, VOID + "objectsTarget").value
        space = _one(store, target, VOID + "uriSpace").value
        out[space] = int(_one(store, q.subject.value, VOID + "triples").value)
    return out


def test_void_linksets_count_mentions(sample_run):
    linksets = _linksets(sample_run.path("void.ttl"))
    assert linksets, "the sample links genes and chemicals"
    counts = _mention_counts(sample_run.path("pfocr.nt"))
    assert linksets == {space: counts.get(space, 0) for space in linksets}


def test_void_linkset_counts_each_mentions_triple_once(tmp_path):
    """One chemical named two ways in a companion TSV is one schema:mentions triple, so one link in VoID."""
    write_record(tmp_path / "in" / "_figures" / "PMC1__c.md", minimal_record("PMC1__c"))
    (tmp_path / "in" / "_data").mkdir()
    (tmp_path / "in" / "_data" / "PMC1__c-chemicals.tsv").write_text(
        "word\tmesh\tmatch\tname\tchebi\n"
        "glc\tmesh:D005947\tGlucose\tglucose\tchebi:4167\n"
        "Glucose\tmesh:D005947\tNA\tNA\tNA\n", encoding="utf-8")
    run = run_convert([tmp_path / "in"], tmp_path / "out", formats=["nt"], jobs=1)
    counts = _mention_counts(run.path("pfocr.nt"))
    assert counts == {"https://identifiers.org/mesh/": 1}
    assert _linksets(run.path("void.ttl")) == counts
    assert run.report_json["statistics"]["links"] == {"mesh": 1}


def test_void_class_partitions_count_typed_nodes(void_store, sample_run):
    store = ox.Store()
    store.bulk_load(path=str(sample_run.path("pfocr.nt")), format=ox.RdfFormat.N_TRIPLES)
    partitions = [q.object.value for q in
                  void_store.quads_for_pattern(ox.NamedNode(DATASET), ox.NamedNode(VOID + "classPartition"), None)]
    assert partitions
    for node in partitions:
        cls = _one(void_store, node, VOID + "class")
        declared = int(_one(void_store, node, VOID + "entities").value)
        typed = {q.subject for q in store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), cls)}
        assert declared == len(typed), cls


# --- report.json ---------------------------------------------------------------------------------------------------
def _check_report(data: dict) -> None:
    assert data["records_read"] == data["records_converted"] + data["records_rejected"]
    assert len(data["rejected"]) == data["records_rejected"]
    assert len(data["converted"]) == data["records_converted"]
    for issue in data["rejected"] + data["warnings"]:
        for key in ("file", "field", "reason"):
            assert isinstance(issue.get(key), str) and issue[key].strip(), issue


def test_report_of_sample(sample_run):
    data = sample_run.report_json
    _check_report(data)
    assert data["records_read"] == sample_run.report.records_read
    assert data["triples"] == sample_run.report.triples
    assert set(data["outputs"].values()) == {*DUMP_FILES.values(), JSON_LINES, "context.jsonld", "void.ttl",
                                             "report.json"}
    assert data["warnings"], "the sample has inline records with ignored companion TSVs"


def test_report_of_conflicting_inputs(conflict_run):
    _check_report(conflict_run.report_json)
    assert conflict_run.report_json["records_rejected"] == 2


def test_report_of_broken_records(tmp_path):
    folder = tmp_path / "in"
    write_record(folder / "good.md", minimal_record("PMC1__good"))
    (folder / "unclosed.md").write_text("---\nfigid: PMC1__unclosed\npmcid: PMC1\nfigtitle: x\n", encoding="utf-8")
    (folder / "badyaml.md").write_text("---\nfigid: [PMC1__bad\n---\n", encoding="utf-8")
    (folder / "nofront.md").write_text("# just markdown\n", encoding="utf-8")
    write_record(folder / "nofigid.md", {"pmcid": "PMC1", "figtitle": "t"})
    write_record(folder / "badpmc.md", minimal_record("PMC1__badpmc", pmcid="12x"))
    write_record(folder / "warn.md", minimal_record("PMC1__warn", year="20xx", ndex="nope", surprise="field"))
    (folder / "notutf8.md").write_bytes(b"---\nfigid: PMC1__latin\npmcid: PMC1\nfigtitle: caf\xe9\n---\n")
    run = run_convert([folder], tmp_path / "out", formats=["nt"], jobs=1)
    data = run.report_json
    _check_report(data)
    assert data["records_read"] == 8
    assert data["records_converted"] == 2
    rejected = {issue["file"].rsplit("/", 1)[-1]: issue for issue in data["rejected"]}
    assert set(rejected) == {"unclosed.md", "badyaml.md", "nofront.md", "nofigid.md", "badpmc.md", "notutf8.md"}
    assert rejected["nofigid.md"]["field"] == "figid"
    assert rejected["badpmc.md"]["field"] == "pmcid"
    warned = {issue["field"] for issue in data["warnings"]}
    assert {"year", "ndex", "surprise"} <= warned
    assert len(run.path("pfocr.nt").read_text(encoding="utf-8").splitlines()) == data["triples"]
