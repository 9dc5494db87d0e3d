"""What a new user meets at the command line: the same format names in every command, a store and default values
that are said out loud, rejected inputs listed by ``load``, query syntax errors with a caret, I/O errors that name
the file, a busy port and a closed pipe handled as one line (or quietly), and the user's own queries and shapes
beside the built-in ones. Each runs the real ``pfocr-rdf`` console script on the bundled example records."""

from __future__ import annotations

import resource
import signal
import socket
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest

from _server_support import EXAMPLES, build_store, http_request, start_cli_server
from _support import cli_command, minimal_record, write_record

ALIASES = {"ttl": "turtle", "nt": "ntriples", "nq": "nquads", "jsonld": "json-ld"}
OX = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS,
      "jsonld": ox.RdfFormat.JSON_LD}
FIGID = "PMC1852397__pbio.0050121.g004"  # an example record that mentions AKT1
CONSTRUCT = (f"CONSTRUCT {{ ?f <https://schema.org/name> ?t }} WHERE {{ "
             f"<https://pfocr.wikipathways.org/figures/{FIGID}.html> <https://schema.org/name> ?t "
             f"BIND(<https://pfocr.wikipathways.org/figures/{FIGID}.html> AS ?f) }}")


def run(*args, stdin: str | None = None, cwd=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*cli_command(), *map(str, args)], input=stdin, capture_output=True, text=True, cwd=cwd,
                          timeout=300, **kwargs)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("cli-store") / "store")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, store) -> Path:
    """A folder whose output/store is the example store: what 'query' reads when --store is left out."""
    folder = tmp_path_factory.mktemp("cwd")
    (folder / "output").mkdir()
    (folder / "output" / "store").symlink_to(store)
    return folder


# --- one set of format names ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,alias", sorted(ALIASES.items()))
def test_convert_takes_each_format_name_and_alias(name, alias, tmp_path):
    for spelled in (name, alias, alias.upper()):
        out = tmp_path / spelled
        proc = run("convert", EXAMPLES, "-o", out, "--format", spelled)
        assert proc.returncode == 0, proc.stderr
        dump = out / f"pfocr.{name}"
        assert dump.is_file() and len(list(ox.parse(path=str(dump), format=OX[name]))) > 1000


@pytest.mark.parametrize("name,alias", sorted(ALIASES.items()))
def test_query_writes_a_graph_in_each_format_name_and_alias(name, alias, store):
    answers = set()
    for spelled in (name, alias):
        proc = run("query", "-", "--store", store, "--format", spelled, stdin=CONSTRUCT)
        assert proc.returncode == 0, proc.stderr
        triples = {q.triple for q in ox.parse(proc.stdout.encode(), format=OX[name])}
        assert len(triples) == 1
        answers.add(frozenset(triples))
    assert len(answers) == 1  # both spellings wrote the same graph


def test_an_unknown_format_is_refused_the_same_way_by_every_command(store, tmp_path):
    convert = run("convert", EXAMPLES, "-o", tmp_path / "o", "--format", "rdfxml")
    query = run("query", "-", "--store", store, "--format", "rdfxml", stdin=CONSTRUCT)
    for proc in (convert, query):
        assert proc.returncode == 2 and "'rdfxml' is not" in proc.stderr, proc.stderr
        assert "ttl (turtle)" in proc.stderr and "jsonld (json-ld)" in proc.stderr, proc.stderr


def test_served_resources_take_the_same_names(store):
    server = start_cli_server(store)
    try:
        path = f"/figures/{FIGID}.html"
        bodies = {}
        for spelled in ("ttl", "turtle", "nt", "ntriples", "jsonld", "json-ld"):
            response = http_request(server.host, server.port, "GET", f"{path}?format={spelled}")
            assert response.status == 200, (spelled, response.body[:200])
            bodies[spelled] = response.media
        assert bodies["ttl"] == bodies["turtle"] == "text/turtle"
        assert bodies["nt"] == bodies["ntriples"] == "application/n-triples"
        assert bodies["jsonld"] == bodies["json-ld"] == "application/ld+json"
        refused = http_request(server.host, server.port, "GET", f"{path}?format=rdfxml")
        assert refused.status == 400 and b"turtle (ttl)" in refused.body
    finally:
        server.stop()


# --- query says what it chose for the user ----------------------------------------------------------------------
def test_query_without_store_says_which_store_it_read(workdir):
    proc = run("query", "figures-for-gene", "-p", "gene=AKT1", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == ["store: output/store (the default; choose another with --store)"]
    assert FIGID in proc.stdout


def test_query_with_store_says_nothing_about_it(store):
    proc = run("query", "figures-for-gene", "-p", "gene=AKT1", "--store", store)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_query_says_which_defaults_it_filled_in(store):
    proc = run("query", "figures-for-gene", "--store", store)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == ["figures-for-gene: gene=TP53 (the default; set it with -p gene=VALUE)"]
    two = run("query", "figures-of-article", "--store", store, "-p", "article=PMC1852397")
    assert two.returncode == 0 and "default" not in two.stderr, two.stderr


# --- load lists what it rejected --------------------------------------------------------------------------------
def test_load_lists_rejected_inputs_and_exits_1_when_nothing_loads(tmp_path, store):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a PFOCR page\n", encoding="utf-8")
    target = tmp_path / "store"
    proc = run("load", notes, "--store", target)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith(f"rejected: {notes}") and "front matter" in lines[0], lines
    assert lines[-1].startswith("Error: nothing loaded"), lines
    assert not target.exists(), "an empty store was built"


def test_load_keeps_the_previous_store_when_nothing_loads(tmp_path):
    target = build_store(tmp_path / "store")
    before = len(ox.Store.read_only(str(target)))
    bad = write_record(tmp_path / "bad.md", {"title": "no figid"})
    proc = run("load", bad, "--store", target)
    assert proc.returncode == 1 and f"rejected: {bad}: figid" in proc.stderr, proc.stderr
    assert len(ox.Store.read_only(str(target))) == before


def test_load_lists_rejected_records_beside_the_ones_it_loads(tmp_path):
    folder = tmp_path / "records"
    write_record(folder / "good.md", minimal_record("PMC1__good-f1"))
    write_record(folder / "bad.md", {"figid": "PMC2__bad-f1"})
    proc = run("load", folder, "--store", tmp_path / "store")
    assert proc.returncode == 0, proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith("rejected:")] == [
        f"rejected: {folder / 'bad.md'}: pmcid: missing"]
    assert "triples from 1 input(s)" in proc.stdout


# --- errors a user can act on -----------------------------------------------------------------------------------
def test_query_syntax_error_shows_the_line_and_a_caret(store):
    text = "PREFIX s: <https://schema.org/>\nSELECT ?x WHERE {\n  ?x s:name ?y FILTER(?y > ) }\n"
    proc = run("query", "-", "--store", store, stdin=text)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("Error: invalid query at line 3, column "), lines
    column = int(lines[0].split("column ")[1].split(":")[0])
    shown = "  ?x s:name ?y FILTER(?y > ) }"
    assert lines[1] == "  " + shown
    assert lines[2] == "  " + " " * min(column - 1, len(shown)) + "^"
    assert "Traceback" not in proc.stderr


def test_a_query_that_ends_too_soon_points_at_its_end(store):
    proc = run("query", "-", "--store", store, stdin="SELEC ?x\n")
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2 and lines[0].startswith("Error: invalid query at line 1, column "), lines
    assert lines[1:] == ["  SELEC ?x", "  " + " " * len("SELEC ?x") + "^"], lines


def test_endpoint_syntax_errors_show_the_caret_too(store):
    server = start_cli_server(store)
    try:
        from urllib.parse import quote

        response = http_request(server.host, server.port, "GET", "/sparql?query=" + quote("SELECT ?x WHERE { ?x"))
        assert response.status == 400
        lines = response.text().splitlines()
        assert lines[0].startswith("invalid SPARQL query at line 1, column "), lines
        assert lines[1] == "  SELECT ?x WHERE { ?x" and lines[2].strip() == "^", lines
    finally:
        server.stop()


def _small_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))


def test_an_io_error_names_the_file(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([*cli_command(), "convert", str(EXAMPLES), "-o", str(out)], capture_output=True, text=True,
                          preexec_fn=_small_files, timeout=300)
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert line.startswith(f"Error: {out}") and line.endswith(": File too large"), line
    assert not [p for p in out.glob("pfocr.*")], "a half-written dump was left"


def test_a_busy_port_is_one_line_and_exit_2(store):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run("serve", "--store", store, "--port", port)
    assert proc.returncode == 2
    assert one_error_line(proc) == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_a_closed_pipe_ends_quietly(tmp_path):
    # more text than a pipe holds, so the writer meets the closed end
    reader = subprocess.Popen([*cli_command(), "convert", str(EXAMPLES), "-o", "-", "--format", "nt"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    first = reader.stdout.readline()
    reader.stdout.close()  # what 'head -1' does once it has its line
    err = reader.stderr.read().decode()
    reader.wait(60)
    assert first.startswith(b"<https://")
    assert "Error" not in err and "Traceback" not in err and "Broken pipe" not in err, err


# --- the user's own queries and shapes --------------------------------------------------------------------------
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?f a <https://schema.org/ImageObject> }"


@pytest.fixture
def mine(tmp_path) -> Path:
    """A user's folder of queries, with one query the library does not have."""
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "figure-count.rq").write_text(
        "# title: How many figures\n# description: The number of figures in the store, as a user's own query.\n"
        f"{COUNT}\n", encoding="utf-8")
    return folder


def test_user_queries_are_merged_over_the_library(tmp_path, mine, store):
    (mine / "figures-per-year.rq").write_text(
        "# title: My figures per year\n# description: A user's own version replaces the built-in query.\n"
        "SELECT ?year WHERE { VALUES ?year { 1999 } }\n", encoding="utf-8")
    listed = run("query", "--list", "--queries", mine)
    assert listed.returncode == 0, listed.stderr
    names = [line.split(":")[0] for line in listed.stdout.splitlines() if not line.startswith(" ")]
    assert "figure-count" in names and "figures-for-gene" in names and names == sorted(names)
    assert "figures-per-year: My figures per year" in listed.stdout
    counted = run("query", "figure-count", "--queries", mine, "--store", store, "--format", "csv")
    figures = ox.Store.read_only(str(store)).query(COUNT)
    assert counted.stdout.splitlines() == ["n", str(next(iter(figures))["n"].value)]
    replaced = run("query", "figures-per-year", "--queries", mine, "--store", store, "--format", "csv")
    assert replaced.stdout.splitlines() == ["year", "1999"]
    missing = run("query", "--list", "--queries", tmp_path / "nowhere")
    assert missing.returncode == 2 and "no such folder of queries" in one_error_line(missing)


def test_served_user_queries(mine, store):
    server = start_cli_server(store, "--queries", str(mine))
    try:
        response = http_request(server.host, server.port, "GET", "/queries/figure-count",
                                headers={"Accept": "text/csv"})
        assert response.status == 200 and response.text().splitlines()[0] == "n"
        builtin = http_request(server.host, server.port, "GET", "/queries/figures-per-year",
                               headers={"Accept": "text/csv"})
        assert builtin.status == 200
    finally:
        server.stop()


RULE = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix schema: <https://schema.org/> .
<urn:my:YearShape> a sh:NodeShape ; sh:targetClass schema:ImageObject ;
  sh:property [ sh:path schema:caption ; sh:maxCount 0 ;
                sh:message "Our own rule: no figure may carry a caption." ] .
"""


def test_user_shapes_are_added_to_the_built_in_ones(tmp_path):
    rule = tmp_path / "mine.ttl"
    rule.write_text(RULE, encoding="utf-8")
    out = tmp_path / "out"
    plain = run("convert", EXAMPLES, "-o", out, "--format", "nt", "--validate")
    assert "Our own rule" not in plain.stdout
    proc = run("convert", EXAMPLES, "-o", out, "--format", "nt", "--validate", "--shapes", rule)
    assert proc.returncode == 1, proc.stderr  # every example figure has a caption: violations
    assert "Our own rule: no figure may carry a caption." in proc.stdout
    validated = run("validate", out / "pfocr.nt", "--shapes", rule)
    assert validated.returncode == 1 and "Our own rule" in validated.stdout, validated.stderr
    # the built-in shapes still run beside it: their result lines are the same with and without the rule
    builtin = [line for line in plain.stdout.splitlines() if "Warning" in line or "Violation" in line]
    assert builtin and all(line in proc.stdout for line in builtin[1:])


def test_unreadable_user_shapes_are_one_line(tmp_path):
    broken = tmp_path / "broken.ttl"
    broken.write_text("this is not turtle", encoding="utf-8")
    assert run("convert", EXAMPLES, "-o", tmp_path / "dumps", "--format", "nt").returncode == 0
    for args in (("convert", EXAMPLES, "-o", tmp_path / "o", "--validate"),
                 ("validate", tmp_path / "dumps" / "pfocr.nt")):
        proc = run(*args, "--shapes", broken)
        assert proc.returncode == 2
        one_error_line(proc)
    missing = run("convert", EXAMPLES, "-o", tmp_path / "o", "--validate", "--shapes", tmp_path / "none.ttl")
    assert missing.returncode == 2 and "none.ttl" in one_error_line(missing)
