"""The JSON dumps (docs/json.md): pfocr.jsonld framed by figure and pfocr.jsonl, a document per figure, both with
the terms of context.jsonld. A JSON-LD processor (pyld, which may fetch nothing) turns each into the graph of the
N-Triples dump; a JSON tool reads short keys and unwrapped values; the JSON Schema and the jq one-liners of the
docs hold on the real sample."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from pyld import jsonld

from _support import PFOCR, PROJECT, SCHEMA, minimal_record, write_record
from conftest import run_convert

from converter.rdf.jsonlines import context_loader
from converter.rdf.vocab import CONTEXT, PREFIXES, TERMS

BASE = "https://pfocr.wikipathways.org/dumps/pfocr.jsonl"  # where a line is read from: context.jsonld is beside it
SCHEMA_FILE = PROJECT / "converter" / "data" / "figure.schema.json"
DOCS = PROJECT / "docs" / "json.md"
NAMES = {term.name: term for term in TERMS.values()}
CLASS_NAMES = {name for name, value in CONTEXT.items() if isinstance(value, str) and name[:1].isupper()}


def _expand(doc: dict) -> set:
    nquads = jsonld.to_rdf(doc, {"format": "application/n-quads", "base": BASE, "documentLoader": context_loader(BASE)})
    return {q.triple for q in ox.parse(nquads, format=ox.RdfFormat.N_QUADS)}


def _nt(out: Path) -> set:
    return {t.triple for t in ox.parse(path=str(out / "pfocr.nt"), format=ox.RdfFormat.N_TRIPLES)}


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "pfocr.jsonl").read_text(encoding="utf-8").splitlines()]


def _check_graphs(out: Path) -> None:
    """pfocr.jsonld, and the lines of pfocr.jsonl together, expand to the N-Triples dump; each line to part of it."""
    nt = _nt(out)
    from_jsonld = _expand(json.loads((out / "pfocr.jsonld").read_text(encoding="utf-8")))
    assert from_jsonld == nt, (sorted(map(str, nt - from_jsonld))[:3], sorted(map(str, from_jsonld - nt))[:3])
    union: set = set()
    for n, line in enumerate(_lines(out)):
        triples = _expand(line)
        assert triples <= nt, (n, line["identifier"], sorted(map(str, triples - nt))[:3])
        union |= triples
    assert union == nt, sorted(map(str, nt - union))[:3]


# --- the graph -------------------------------------------------------------------------------------------------------
def test_sample_json_dumps_expand_to_the_ntriples_graph(sample_run):
    _check_graphs(sample_run.out)


@pytest.fixture(scope="module")
def corpus_run(pfocr_data, tmp_path_factory):
    """A generated corpus of 300 records (benchmarks/make_corpus.py): both layouts, shared articles and journals,
    entities named differently by different figures."""
    folder = tmp_path_factory.mktemp("json-corpus")
    subprocess.run([sys.executable, str(PROJECT / "benchmarks" / "make_corpus.py"), str(folder / "corpus"), "-n",
                    "300", "--seed", "5", "--shared", str(PFOCR)], check=True, capture_output=True, timeout=300)
    return run_convert([folder / "corpus"], folder / "out", formats=["nt", "jsonld", "jsonl"], jobs=2)


def test_generated_corpus_json_dumps_expand_to_the_ntriples_graph(corpus_run):
    _check_graphs(corpus_run.out)


def test_a_line_embeds_shared_nodes_and_entities_as_the_dump_has_them(tmp_path):
    """The second figure of an article that its first figure described otherwise, and of a gene the first named
    otherwise: its line carries what the dump says (the first figure's), not its own record's."""
    genes = [{"word": "p53", "symbol": "TP53", "source": "hgnc_symbol", "hgnc_symbol": "TP53", "entrez": "7157"}]
    write_record(tmp_path / "in" / "PMC1__a.md", minimal_record("PMC1__a", papertitle="First title", genes=genes))
    renamed = [{**genes[0], "hgnc_symbol": "TRP53"}]
    write_record(tmp_path / "in" / "PMC1__b.md", minimal_record("PMC1__b", papertitle="Other title", genes=renamed))
    run = run_convert([tmp_path / "in"], tmp_path / "out", formats=["nt", "jsonl"], jobs=1)
    first, second = _lines(run.out)
    assert first["isPartOf"]["name"] == second["isPartOf"]["name"] == "First title"
    assert [e["name"] for e in second["mentions"]] == ["TP53"]
    _check_graphs_lines_only(run.out)


def _check_graphs_lines_only(out: Path) -> None:
    nt = _nt(out)
    union: set = set()
    for line in _lines(out):
        triples = _expand(line)
        assert triples <= nt
        union |= triples
    assert union == nt


def test_inline_context_gives_the_same_graph(tmp_path):
    examples = PROJECT / "examples" / "pfocr"
    by_file = run_convert([examples], tmp_path / "file", formats=["nt", "jsonl"], jobs=1)
    inline = run_convert([examples], tmp_path / "inline", formats=["jsonl"], jobs=1, jsonl_context="inline")
    lines = _lines(inline.out)
    assert lines and all(line["@context"] == CONTEXT for line in lines)
    offline = {"format": "application/n-quads", "documentLoader": _refuse}
    for inline_line, file_line in zip(lines, _lines(by_file.out), strict=True):
        nquads = jsonld.to_rdf(inline_line, offline)
        assert {q.triple for q in ox.parse(nquads, format=ox.RdfFormat.N_QUADS)} == _expand(file_line)


def _refuse(url: str, options: dict | None = None) -> dict:
    raise jsonld.JsonLdError(f"no document is loaded ({url})", "loading document failed")


def test_the_context_loader_serves_only_the_context():
    load = context_loader(BASE)
    assert load("https://pfocr.wikipathways.org/dumps/context.jsonld")["document"]["@context"] == CONTEXT
    for url in ("https://schema.org/", "https://example.org/context.jsonld", "file:///etc/passwd"):
        with pytest.raises(jsonld.JsonLdError):
            load(url)


# --- the context ---------------------------------------------------------------------------------------------------
def test_context_is_written_beside_the_dumps_and_shipped(sample_run):
    written = sample_run.path("context.jsonld").read_text(encoding="utf-8")
    assert written == (PROJECT / "converter" / "data" / "context.jsonld").read_text(encoding="utf-8")
    assert sample_run.report_json["outputs"]["context"] == "context.jsonld"
    assert json.loads((sample_run.out / "pfocr.jsonld").read_text(encoding="utf-8"))["@context"] == CONTEXT


def test_context_keeps_the_prefixes_and_names_every_property_used(sample_store):
    assert PREFIXES["ncbigene"] == "https://identifiers.org/ncbigene/" and PREFIXES["schema"] == SCHEMA
    used = {q.predicate.value for q in sample_store.quads_for_pattern(None, None, None)}
    used.discard("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    assert used <= set(TERMS), sorted(used - set(TERMS))
    classes = {q.object.value for q in sample_store.quads_for_pattern(
        None, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), None)}
    names = {CONTEXT[name].replace("schema:", SCHEMA).replace("pfocr:", PREFIXES["pfocr"]) for name in CLASS_NAMES}
    assert classes <= names, sorted(classes - names)


# --- what a JSON reader sees ---------------------------------------------------------------------------------------
def _objects(value):
    """Every JSON object in ``value``, nested ones included."""
    if isinstance(value, dict):
        yield value
        for member in value.values():
            yield from _objects(member)
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item)


def _check_plain(node: dict) -> None:
    for obj in _objects(node):
        if "@context" in obj and obj is not node:
            raise AssertionError("a nested @context")
        for key, value in obj.items():
            if key == "@context":
                continue
            if key == "@included":  # a line's taxa that only its entities name (a keyword, not a property)
                assert obj is node and isinstance(value, list) and value, value
                continue
            if key.startswith("@"):
                assert key in ("@id", "@type"), key
                if key == "@type":  # class names, not IRIs
                    assert all(t in CLASS_NAMES for t in ([value] if isinstance(value, str) else value)), value
                    assert not isinstance(value, list) or len(value) > 1, value
                continue
            assert ":" not in key and "/" not in key and key in NAMES, key  # a term, not a CURIE or IRI
            if NAMES[key].many:
                assert isinstance(value, list) and value, (key, value)
            else:
                assert not isinstance(value, list), (key, value)  # a single value, unwrapped
            for item in value if isinstance(value, list) else [value]:
                if NAMES[key].coerce == "@id":
                    assert isinstance(item, (str, dict)), (key, item)
                else:
                    assert not isinstance(item, dict), (key, item)  # no typed-value objects


def test_keys_are_terms_and_single_values_are_not_arrays(sample_run):
    lines = _lines(sample_run.out)
    assert len(lines) == sample_run.report.records_converted
    for line in lines:
        assert line["@context"] == "context.jsonld"
        _check_plain(line)
    doc = json.loads(sample_run.path("pfocr.jsonld").read_text(encoding="utf-8"))
    assert set(doc) == {"@context", "@graph"}
    for node in doc["@graph"]:
        _check_plain(node)


def test_jsonld_holds_one_node_per_figure_with_its_mentions(sample_run):
    graph = json.loads(sample_run.path("pfocr.jsonld").read_text(encoding="utf-8"))["@graph"]
    figures = [node for node in graph if node["@type"] == ["ImageObject", "Dataset"]]
    assert [f["identifier"] for f in figures] == [line["identifier"] for line in _lines(sample_run.out)]
    ids = Counter(node["@id"] for node in graph)
    assert max(ids.values()) == 1  # articles and entities once each
    mentioned = {m["entity"] for f in figures for m in f.get("hasMention", []) if "entity" in m}
    assert mentioned and mentioned <= set(ids)  # an entity is a node of its own, with its name
    assert all(isinstance(f["isPartOf"], str) and f["isPartOf"] in ids for f in figures)
    assert not any("#mention-" in node["@id"] for node in graph)  # mentions live inside their figure


def test_schema_validates_every_line_of_the_sample(sample_run):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    lines = _lines(sample_run.out)
    assert lines
    for line in lines:
        errors = [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(line)]
        assert not errors, (line["identifier"], errors[:3])
    broken = dict(lines[0], figureNumber=["F5"])
    assert list(validator.iter_errors(broken)), "the schema refuses an array where one value goes"


# --- the jq one-liners of docs/json.md -------------------------------------------------------------------------------
def _one_liners() -> list[str]:
    return re.findall(r"^ {3}(jq .*output/pfocr\.jsonl.*)$", DOCS.read_text(encoding="utf-8"), re.MULTILINE)


def test_docs_have_five_jq_one_liners():
    assert len(_one_liners()) == 5


def _sparql(store: ox.Store, query: str) -> list[tuple[str, ...]]:
    prefixes = f"PREFIX schema: <{SCHEMA}> PREFIX pfocr: <{PREFIXES['pfocr']}> "
    return [tuple(term.value if term is not None else "" for term in row) for row in store.query(prefixes + query)]


def test_jq_one_liners_give_what_the_graph_says(sample_run, sample_store, tmp_path):
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    (tmp_path / "output").symlink_to(sample_run.out)
    out = []
    for line in _one_liners():
        proc = subprocess.run(["sh", "-c", line], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
                              env={"PATH": os.environ["PATH"], "LC_ALL": "C"})  # sort as Python does
        assert proc.returncode == 0, (line, proc.stderr)
        out.append(proc.stdout.splitlines())
    genes_of, figures_of, per_year, top_genes, mentions = out

    figure = "<https://pfocr.wikipathways.org/figures/PMC7957022__fcell-09-641469-g005.html>"
    expected = _sparql(sample_store, f"SELECT DISTINCT ?n WHERE {{ {figure} schema:mentions ?g . ?g a schema:Gene ; "
                                     "schema:name ?n }")
    assert genes_of and sorted(genes_of) == sorted(n for n, in expected)

    expected = _sparql(sample_store, "SELECT ?id WHERE { ?f schema:identifier ?id ; schema:mentions ?g . "
                                     "?g schema:name 'RAB10' }")
    assert figures_of and sorted(figures_of) == sorted(i for i, in expected)

    rows = _sparql(sample_store, "SELECT ?f ?y WHERE { ?f a schema:ImageObject ; schema:isPartOf ?a . "
                                 "OPTIONAL { ?a schema:datePublished ?y } }")
    assert Counter(dict(line.split("\t") for line in per_year)) == \
        Counter({k: str(v) for k, v in Counter(y or "unknown" for _, y in rows).items()})

    rows = _sparql(sample_store, "SELECT ?id (COUNT(?f) AS ?n) WHERE { ?f a schema:ImageObject ; schema:mentions ?g . "
                                 "?g a schema:Gene ; schema:identifier ?id } GROUP BY ?id")
    counts = sorted(((-int(n), i) for i, n in rows))[:10]
    assert [line.split() for line in top_genes] == [[str(-n), i] for n, i in counts]

    rows = _sparql(sample_store, "SELECT ?id ?w ?s ?e WHERE { ?f schema:identifier ?id ; pfocr:hasMention ?m . "
                                 "?m pfocr:entity ?e . OPTIONAL { ?m pfocr:word ?w } "
                                 "OPTIONAL { ?m pfocr:matchedSymbol ?s } ?f a schema:ImageObject }")
    curie = {ns: p for p, ns in PREFIXES.items()}
    expected = Counter("\t".join((i, w, s, next(f"{curie[ns]}:{e[len(ns):]}" for ns in curie if e.startswith(ns))))
                       for i, w, s, e in rows)
    assert mentions and Counter(mentions) == expected


# --- taxa: each once per line ----------------------------------------------------------------------------------------
def _check_taxa_once(lines: list[dict]) -> int:
    """Every taxon a line's entities name is a node of that line, in ``about``, ``mentions`` or ``@included``; what
    ``@included`` holds is named by an entity and not already in ``about`` or ``mentions``. Returns how many lines
    needed ``@included``."""
    needed = 0
    for line in lines:
        own = [n for n in (*line.get("about", []), *line.get("mentions", [])) if n["@type"] == "Taxon"]
        included = line.get("@included", [])
        assert all(node["@type"] == "Taxon" and "identifier" in node for node in included)
        taxa = {node["@id"] for node in own}
        extra = [node["@id"] for node in included]
        assert len(set(extra)) == len(extra) and not taxa & set(extra), line["identifier"]
        named = {e["taxonomicRange"] for e in line.get("mentions", []) if "taxonomicRange" in e}
        assert all(isinstance(iri, str) for iri in named)
        assert named <= taxa | set(extra), (line["identifier"], named - taxa - set(extra))
        assert set(extra) <= named, line["identifier"]
        needed += bool(included)
    return needed


def test_a_line_carries_each_taxon_its_entities_name(sample_run, corpus_run):
    _check_taxa_once(_lines(sample_run.out))
    assert _check_taxa_once(_lines(corpus_run.out)), "the generated corpus has entities of taxa their figure omits"
