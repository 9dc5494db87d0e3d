"""SHACL validation of the real PFOCR sample: no violations, only the warnings the records explain, pySHACL's results
from both engines (``stream`` and ``sparql``), every dump format and the streaming check of ``convert --validate``;
and ``pfocr-rdf validate`` as a user runs it.

The expected warnings are computed here from the raw records (YAML front matter and companion TSVs, read with
``yaml`` and ``csv``) and from ``converter/data/taxa.tsv`` read as a plain table, never through the converter.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest
import rdflib
from _reference import pyshacl_results, results_from_graph

from _support import (
    DUMP_FILES,
    IDORG,
    PROJECT,
    SAMPLE,
    SEED,
    cli_command,
    expected_record,
    figure_iri,
    front_matter,
    is_missing,
    minimal_record,
    read_tsv,
    sample_records,
    write_record,
)
from conftest import run_convert

from converter.validate import load_dumps, validate

SH = "http://www.w3.org/ns/shacl#"
PFSH = "https://pfocr.wikipathways.org/shapes#"
ORGANISMS = "https://pfocr.wikipathways.org/organisms/"
TAXA_TSV = PROJECT / "converter" / "data" / "taxa.tsv"
EXAMPLES = PROJECT / "examples" / "pfocr"
MISSING = {"", "NA", ".na.character", "NaN", "nan"}
SUMMARY = re.compile(r"^(\d+) figures.* \((\w+)\): (\d+) violations, (\d+) warnings", re.M)

# rdflib's N-Quads parser warns about its own deprecated Dataset API once per triple
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def local(iri: str) -> str:
    return iri.strip("<>").rsplit("#", 1)[-1]


# --- the warnings the sample should give, from the raw records ------------------------------------------------------
def known_taxa() -> dict[str, str]:
    with open(TAXA_TSV, encoding="utf-8", newline="") as fh:
        rows = [line for line in fh if not line.startswith("#")]
    return {row["name"]: row["ncbitaxon"] for row in csv.DictReader(rows, delimiter="\t")}


def organism_names(fm: dict, field: str) -> list[str]:
    """organisms / organisms_ner: a list, or a (comma-joined) string; missing-value items dropped."""
    value = fm.get(field)
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    return [" ".join(str(item).split()) for item in items
            if item is not None and str(item).strip() not in MISSING]


@cache
def expected_warnings() -> dict[str, set[str]]:
    """Shape name -> focus IRIs, each a legitimate warning about the sample:

    - Article-hasDate: the article's record has ``year: ''`` (PFOCR left it empty), so no publication year can be
      stated; an article is written from its first figure in figid order.
    - Figure-hasSomeMention: the figure has no gene, chemical or disease list inline and no companion TSV with a
      row, so PFOCR found nothing in it.
    - Taxon-hasIdentifier: an organism named in ``organisms``/``organisms_ner`` whose NCBI Taxonomy id is neither in
      ``converter/data/taxa.tsv`` nor in the genes TSV of the same record, so it is named by its name only.
    """
    taxa = known_taxa()
    out: dict[str, set[str]] = {"Article-hasDate": set(), "Figure-hasSomeMention": set(),
                                "Taxon-hasIdentifier": set()}
    first_of_article: dict[str, tuple[str, str]] = {}
    for md in sample_records():
        fm = front_matter(md)
        exp = expected_record(md)
        year = "" if is_missing(fm.get("year")) else str(fm["year"]).strip()
        if exp.pmcid not in first_of_article or exp.figid < first_of_article[exp.pmcid][0]:
            first_of_article[exp.pmcid] = (exp.figid, year)
        if not exp.words and not exp.entities:
            out["Figure-hasSomeMention"].add(figure_iri(exp.figid))
        gene_taxa = {}
        for tsv in exp.companions:
            if tsv.name.endswith("-genes.tsv"):
                gene_taxa.update({row["organism_name"]: row["organism_id"] for row in read_tsv(tsv)
                                  if not is_missing(row.get("organism_id"))})
        for name in organism_names(fm, "organisms") + organism_names(fm, "organisms_ner"):
            if name not in gene_taxa and name not in taxa:
                out["Taxon-hasIdentifier"].add(ORGANISMS + name)
    out["Article-hasDate"] = {f"{IDORG}pmc/{pmcid}" for pmcid, (_, year) in first_of_article.items() if not year}
    return out


def warning_foci(results) -> dict[str, set[str]]:
    """Shape name -> focus IRIs of the warnings (organism IRIs decoded to compare them with names)."""
    out: dict[str, set[str]] = {}
    for r in results:
        assert r.severity == "Warning", r
        iri = r.focus.strip("<>")
        if iri.startswith(ORGANISMS):
            iri = ORGANISMS + unquote(iri[len(ORGANISMS):])
        out.setdefault(local(r.shape), set()).add(iri)
    return out


# --- fixtures: each engine runs once per session --------------------------------------------------------------------
@pytest.fixture(scope="module")
def nt(sample_run) -> Path:
    return sample_run.path(DUMP_FILES["nt"])


@pytest.fixture(scope="module")
def store(nt):
    return load_dumps([str(nt)])


@pytest.fixture(scope="module")
def sparql(store):
    return validate(store=store, engine="sparql")


@pytest.fixture(scope="module")
def direct(nt):
    """pySHACL, the reference, on the whole rdflib graph, as a user would run it without this project."""
    return pyshacl_results(rdflib.Graph().parse(nt, format="nt"))


# --- the sample -----------------------------------------------------------------------------------------------------
def test_sample_has_no_violations_and_only_the_expected_warnings(sparql):
    assert sparql.conforms and sparql.count("Violation") == 0, [r for r in sparql.results if r.severity == "Violation"]
    expected = expected_warnings()
    # the sample as committed: 5 records with year '', 8 figures without entities, 59 organisms without a taxon id
    assert {shape: len(foci) for shape, foci in expected.items()} == {
        "Article-hasDate": 5, "Figure-hasSomeMention": 8, "Taxon-hasIdentifier": 59}
    found = warning_foci(sparql.results)
    for shape in sorted(set(found) | set(expected)):
        missing = expected.get(shape, set()) - found.get(shape, set())
        extra = found.get(shape, set()) - expected.get(shape, set())
        assert not missing and not extra, f"{shape}: missing {sorted(missing)}, unexpected {sorted(extra)}"
    assert sparql.count("Warning") == sum(len(v) for v in expected.values())
    assert sparql.figures == len(sample_records())


def test_warned_figures_really_have_no_entity_lists(pfocr_data):
    """The reason given for Figure-hasSomeMention, checked on the records themselves."""
    warned = expected_warnings()["Figure-hasSomeMention"]
    for md in sample_records():
        exp = expected_record(md)
        if figure_iri(exp.figid) in warned:
            fm = front_matter(md)
            assert not any(fm.get(kind) for kind in ("genes", "chemicals", "diseases")), md
            assert all(not read_tsv(tsv) for tsv in exp.companions), md


@pytest.mark.parametrize("engine", ["stream", "sparql"])
def test_both_engines_give_the_pyshacl_results(engine, nt, sparql, direct):
    """Each engine gives exactly the results of pySHACL run on the whole graph, messages included."""
    found = sparql if engine == "sparql" else validate([str(nt)], engine="stream")
    assert found.engine == engine
    assert found.results == direct


@pytest.mark.parametrize("parts", [1, 4])
def test_stream_engine_gives_the_sparql_results(parts, nt, sparql, monkeypatch):
    """The stream engine reads the N-Triples dump in blocks, in one process or split into parts checked in worker
    processes that settle the links between parts (a mention's gene is in another part) at the end."""
    import converter.validate.stream

    monkeypatch.setattr(converter.validate.stream, "_PART_BYTES", nt.stat().st_size // parts + 1)
    ranges = converter.validate.stream._split(str(nt), parts)
    assert len(ranges) == parts and ranges[0][0] == 0 and ranges[-1][1] == nt.stat().st_size
    report = validate([str(nt)], engine="stream", jobs=parts)
    assert report.engine == "stream"
    assert report.results == sparql.results and report.figures == sparql.figures
    assert {r.focus for r in report.results} == set(report.located)  # each located by figure, with no store


def test_every_dump_format_gives_the_same_results(sample_run, sparql):
    for fmt, name in DUMP_FILES.items():
        report = validate([str(sample_run.path(name))])
        assert report.results == sparql.results, fmt
        assert report.figures == sparql.figures, fmt


def test_convert_validate_gives_the_same_results(sparql, tmp_path):
    """The streaming check of ``convert(validate=True)`` agrees with validating the dump afterwards."""
    run = run_convert([SAMPLE, SEED], tmp_path, formats=["nt"], jobs=1, validate=True)
    assert [r.key() for r in run.report.validation.results] == [r.key() for r in sparql.results]
    assert run.report_json["validation"]["violations"] == 0
    assert run.report_json["validation"]["warnings"] == sparql.count("Warning")
    report = rdflib.Graph().parse(tmp_path / "shacl-report.ttl", format="turtle")
    assert sorted(r.key() for r in results_from_graph(report)) == [r.key() for r in sparql.results]


def test_report_turtle_round_trips(sparql):
    """``to_turtle()`` is a standard SHACL report: read back by rdflib it holds the same results."""
    graph = rdflib.Graph().parse(data=sparql.to_turtle(), format="turtle")
    sh = rdflib.Namespace(SH)
    reports = list(graph.subjects(rdflib.RDF.type, sh.ValidationReport))
    assert len(reports) == 1
    # SHACL: conforms is true if and only if there are no results at all, warnings included
    assert graph.value(reports[0], sh.conforms).toPython() is (not sparql.results)
    assert sorted(set(results_from_graph(graph))) == sparql.results


# --- converter and shapes agree -------------------------------------------------------------------------------------
# Records the converter accepts (converts, does not reject) must give a graph with no violations.
ACCEPTED_RECORDS = {
    "plain": minimal_record("PMC12__plain-f1", pmcid="PMC12", papertitle="T", genes=[
        {"word": "TLR4", "symbol": "TLR4", "source": "hgnc_symbol", "hgnc_symbol": "TLR4", "entrez": "7099"}]),
    # Bioregistry's pmc pattern allows a version suffix, so the converter accepts and mints it
    "versioned-pmcid": minimal_record("PMC12__versioned-f1", pmcid="PMC12.1", papertitle="T", genes=[
        {"word": "TLR4", "symbol": "TLR4", "source": "hgnc_symbol", "hgnc_symbol": "TLR4", "entrez": "7099"}]),
    # Python's \d matches any Unicode digit, so Bioregistry's ^\d+$ accepts Arabic-Indic digits
    "unicode-digit-entrez": minimal_record("PMC12__digits-f1", pmcid="PMC12", papertitle="T", genes=[
        {"word": "TLR4", "symbol": "TLR4", "source": "hgnc_symbol", "hgnc_symbol": "TLR4",
         "entrez": "\u0667\u0660\u0669\u0669"}]),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED_RECORDS))
def test_records_the_converter_accepts_have_no_violations(name, tmp_path):
    write_record(tmp_path / "in" / f"{name}.md", ACCEPTED_RECORDS[name])
    run = run_convert([tmp_path / "in"], tmp_path / "out", formats=["nt"], jobs=1)
    assert run.report.records_converted == 1, run.report.rejected
    report = validate([str(tmp_path / "out" / "pfocr.nt")])
    violations = [(local(r.shape), r.focus, r.value) for r in report.results if r.severity == "Violation"]
    assert not violations, f"the converter wrote what the shapes reject: {violations}"


def test_colon_style_dumps_validate_with_colon_shapes(tmp_path):
    run = run_convert([EXAMPLES], tmp_path, formats=["nt"], jobs=1, iri_style="colon")
    assert run.report.records_converted == 9  # the tenth example is broken on purpose (examples/pfocr/README.md)
    colon = validate([str(tmp_path / "pfocr.nt")], iri_style="colon")
    assert colon.conforms, [r for r in colon.results if r.severity == "Violation"]
    slash = validate([str(tmp_path / "pfocr.nt")])  # the slash shapes reject colon-style identifiers.org IRIs
    assert {local(r.shape) for r in slash.results if r.severity == "Violation"} >= {"GeneIRIShape", "ArticleIRIShape"}


# --- the command line -----------------------------------------------------------------------------------------------
def run(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*cli_command(), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture
def dump_copy(sample_run, tmp_path) -> Path:
    """pfocr.nt and report.json of the sample in a fresh folder (the shared output folder stays untouched)."""
    for name in ("pfocr.nt", "report.json"):
        shutil.copy(sample_run.path(name), tmp_path / name)
    return tmp_path / "pfocr.nt"


def test_cli_validate_conforms_and_writes_the_report(dump_copy, sparql):
    proc = run("validate", dump_copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    match = SUMMARY.search(proc.stdout)
    assert match and match.groups()[1:] == ("stream", "0", str(sparql.count("Warning"))), proc.stdout
    report_path = dump_copy.parent / "shacl-report.ttl"
    assert f"SHACL report: {report_path}" in proc.stdout
    graph = rdflib.Graph().parse(report_path, format="turtle")
    sh = rdflib.Namespace(SH)
    (report,) = graph.subjects(rdflib.RDF.type, sh.ValidationReport)
    assert graph.value(report, sh.conforms) is not None
    assert sorted(set(results_from_graph(graph))) == sparql.results


def test_cli_fail_on_warning(dump_copy, tmp_path):
    proc = run("validate", dump_copy, "--fail-on", "warning", "--report", tmp_path / "elsewhere.ttl")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (tmp_path / "elsewhere.ttl").is_file()
    assert "Warning Taxon-hasIdentifier" in proc.stdout


def test_cli_names_shape_figure_and_file_of_a_violation(dump_copy, sample_run):
    converted = sample_run.report_json["converted"]
    figid, source = converted[len(converted) // 2]["figid"], converted[len(converted) // 2]["file"]
    name_line = f"<{figure_iri(figid)}> <https://schema.org/name> "
    lines = dump_copy.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(name_line)]
    assert len(kept) == len(lines) - 1
    dump_copy.write_text("".join(kept), encoding="utf-8")

    proc = run("validate", dump_copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert SUMMARY.search(proc.stdout).group(3) == "1"
    block = proc.stdout.split("Violation Figure-name (MinCountConstraintComponent): 1\n", 1)
    assert len(block) == 2, proc.stdout
    examples = [line for line in block[1].splitlines() if line.startswith("    - ")]
    assert examples and figid in examples[0] and source in examples[0], proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("engine", ["stream", "sparql"])
def test_cli_broken_dump_is_an_input_error(engine, dump_copy):
    """A dump with a line no N-Triples parser accepts: one error naming the file, exit 2, no report."""
    lines = dump_copy.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(len(lines) // 2, "<https://ex.org/a b> <https://schema.org/name> \"x\" .\n")
    dump_copy.write_text("".join(lines), encoding="utf-8")
    proc = run("validate", dump_copy, "--engine", engine)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith(f"Error: {dump_copy}"), proc.stderr
    assert not (dump_copy.parent / "shacl-report.ttl").exists()


def test_cli_missing_dump_is_a_usage_error(tmp_path):
    proc = run("validate", tmp_path / "missing.nt")
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error:") and "missing.nt" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "shacl-report.ttl").exists()


def test_cli_convert_validate(tmp_path):
    out = tmp_path / "out"
    proc = run("convert", EXAMPLES, "-o", out, "--validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[0].startswith("10 records read: 9 converted, 1 rejected")  # one broken on purpose
    match = SUMMARY.search(proc.stdout)
    assert match, proc.stdout
    figures, _engine, violations, warnings = match.groups()
    assert (int(figures), int(violations)) == (9, 0)
    assert f"SHACL report: {out / 'shacl-report.ttl'}" in proc.stdout
    assert (out / "shacl-report.ttl").is_file()
    # the streaming check agrees with validating the written dump
    again = validate([str(out / "pfocr.nt")])
    assert (again.count("Violation"), again.count("Warning")) == (0, int(warnings))


def test_cli_validate_store_gives_the_dump_results(dump_copy, sparql, tmp_path):
    """A store built by 'pfocr-rdf load' (the data, its precomputed graphs and the dataset description) validates as
    the dump it was loaded from: the same results, and the report beside the store. The default engine, stream,
    cannot read a store: it hands over to sparql, and the summary says so."""
    store = tmp_path / "built" / "store"
    assert run("load", dump_copy, "--store", store).returncode == 0
    for engine in ("stream", "sparql"):
        report = tmp_path / f"store-{engine}.ttl"
        engine_option = ("--engine", engine) if engine == "sparql" else ()  # stream: the default
        proc = run("validate", "--store", store, *engine_option, "--report", report)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        match = SUMMARY.search(proc.stdout)
        assert match and match.groups()[1:] == ("sparql", "0", str(sparql.count("Warning"))), proc.stdout
        assert sorted(set(results_from_graph(rdflib.Graph().parse(report, format="turtle")))) == sparql.results
    missing = run("validate", "--store", tmp_path / "nowhere")
    assert missing.returncode == 2 and "no such store" in missing.stderr
