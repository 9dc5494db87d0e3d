"""``pfocr-rdf publish`` into a real Oxigraph server and a real Virtuoso, by each protocol each supports; the
Virtuoso bulk-load recipe of docs/triplestores.md; and the faults: a server stopped mid-publish, a batch answered
with HTTP 500, wrong or missing credentials, nobody listening. After every fault the target graph is the old one.

The published data is the real sample with the seed and the examples, plus a WikiPathways-shaped graph, as in
tests/test_queries.py: every canned query must give the embedded store's rows, in its order, on each store.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from requests.auth import HTTPDigestAuth

from _support import PROJECT, cli_command
from _triplestores import VIRTUOSO_PASSWORD, VIRTUOSO_USER, oxigraph_server, virtuoso_server
from test_queries import (  # noqa: F401 - fixtures, shared with the query tests
    CROSS_PARAMS,
    EXAMPLES,
    LIBRARY,
    corpus,
    query_dump,
    wikipathways,
    wikipathways_turtle,
    wp_store,
)

from converter.publish import PublishError, publish
from converter.rdf.vocab import GRAPH
from converter.store.chunks import write_chunks
from converter.store.derived import DERIVED_GRAPHS, STATISTICS_GRAPH
from converter.store.queries import csv_rows, run

# the data as the default graph, the precomputed graphs by name: what the canned queries read
DATASET = {"default-graph-uri": GRAPH, "named-graph-uri": list(DERIVED_GRAPHS)}
DBA = HTTPDigestAuth(VIRTUOSO_USER, VIRTUOSO_PASSWORD)
STAGING = GRAPH + "-staging-"


# --- the stores and the data ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory):
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph") / "store") as server:
        yield server


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory):
    with virtuoso_server(tmp_path_factory.mktemp("virtuoso")) as server:
        yield server


class Store:
    """One external store as ``publish`` and a reader see it."""

    def __init__(self, server, gsp: str, update: str, query: str, auth=None):
        self.server, self.auth = server, auth
        self.gsp, self.update, self.query = (server.url + p for p in (gsp, update, query))
        self.credentials = {"user": VIRTUOSO_USER, "password": VIRTUOSO_PASSWORD} if auth else {}

    def endpoint(self, protocol: str) -> str:
        return self.gsp if protocol == "gsp" else self.update

    def select(self, text: str, dataset: dict | None = None) -> list[dict[str, str]]:
        response = requests.post(self.query, params=dataset or {}, data={"query": text}, auth=self.auth,
                                 headers={"Accept": "application/sparql-results+json"}, timeout=120)
        assert response.status_code == 200, response.text[:1000]
        body = response.json()
        names = body["head"]["vars"]
        return [{n: b[n]["value"] if n in b else "" for n in names} for b in body["results"]["bindings"]]

    def construct(self, text: str) -> set[tuple[str, str, str]]:
        response = requests.post(self.query, params=DATASET, data={"query": text}, auth=self.auth,
                                 headers={"Accept": "application/n-triples"}, timeout=120)
        assert response.status_code == 200, response.text[:1000]
        return {tuple(t.value for t in (q.subject, q.predicate, q.object))
                for q in ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES)}

    def count(self, graph: str) -> int:
        """Triples a reader sees in ``graph`` as its default graph (on Virtuoso, the published IRI is a graph group,
        which ``FROM`` expands and ``GRAPH <...>`` does not: docs/triplestores.md)."""
        return int(self.select(f"SELECT (COUNT(*) AS ?n) FROM <{graph}> WHERE {{ ?s ?p ?o }}")[0]["n"])

    def graphs(self, prefix: str) -> list[str]:
        rows = self.select(f'SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} '
                           f'FILTER(STRSTARTS(STR(?g), "{prefix}")) }}')
        return [r["g"] for r in rows]


def oxigraph_store(server) -> Store:
    return Store(server, "/store", "/update", "/query")


def virtuoso_store(server) -> Store:
    return Store(server, "/sparql-graph-crud-auth", "/sparql-auth", "/sparql", auth=DBA)


@pytest.fixture(scope="module")
def inputs(query_dump, wikipathways, tmp_path_factory) -> list[str]:  # noqa: F811 - fixtures
    """What ``wp_store`` holds, as files: the N-Triples dump and the WikiPathways-shaped Turtle."""
    ttl = tmp_path_factory.mktemp("wikipathways") / "wikipathways.ttl"
    ttl.write_text(wikipathways_turtle(wikipathways), encoding="utf-8")
    return [str(query_dump), str(ttl)]


@pytest.fixture(scope="module")
def old(tmp_path_factory) -> list[str]:
    """A smaller graph to replace: the examples alone."""
    out = tmp_path_factory.mktemp("old")
    from converter import convert

    convert([str(EXAMPLES)], output=str(out), formats=["nt"], jobs=1)
    return [str(out / "pfocr.nt")]


def triple_count(paths: list[str]) -> int:
    formats = {".nt": ox.RdfFormat.N_TRIPLES, ".ttl": ox.RdfFormat.TURTLE}
    return len({q.triple for p in paths for q in ox.parse(path=p, format=formats[Path(p).suffix])})


# --- publishing, and the same answers -------------------------------------------------------------------------------
STORES = {"oxigraph": oxigraph_store, "virtuoso": virtuoso_store}


@pytest.mark.parametrize("protocol", ["gsp", "update"])
@pytest.mark.parametrize("name", sorted(STORES))
def test_publish_answers_every_canned_query_like_the_embedded_store(name, protocol, inputs, old, wp_store,  # noqa: F811 - fixtures
                                                                  request):
    store = STORES[name](request.getfixturevalue(name))
    first = publish(old, store.endpoint(protocol), protocol=protocol, **store.credentials)
    assert first.verified and store.count(GRAPH) == triple_count(old)

    report = publish(inputs, store.endpoint(protocol), protocol=protocol, **store.credentials)
    expected = triple_count(inputs)
    assert (report.triples, report.counted) == (expected, expected) and report.verified
    assert report.batches > 1 and report.retries == 0
    assert store.count(GRAPH) == expected  # replaced, not added to
    # the precomputed graphs, as the embedded store has them
    published = {(g, r["s"], r["p"], r["o"]) for g in DERIVED_GRAPHS for r in store.select(
        f"SELECT ?s ?p ?o WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")}
    local = {(g, q.subject.value, q.predicate.value, q.object.value) for g in DERIVED_GRAPHS
             for q in wp_store.quads_for_pattern(None, None, None, ox.NamedNode(g))}
    assert published == local and report.statistics == len(local) > 0
    assert store.graphs(STAGING) == [] and all(store.graphs(g + "-staging-") == [] for g in DERIVED_GRAPHS)

    problems, empty = [], []
    for query_name, query in sorted(LIBRARY.items()):
        text = query.render(CROSS_PARAMS.get(query_name, {}))
        ours = run(wp_store, text)
        if isinstance(ours, ox.QueryTriples):
            mine = {tuple(t.value for t in (tr.subject, tr.predicate, tr.object)) for tr in ours}
            if store.construct(text) != mine:
                problems.append(f"{query_name}: other triples")
            continue
        rows, theirs = csv_rows(ours), store.select(text, DATASET)
        if "sources" in (rows[0] if rows else {}):  # GROUP_CONCAT order is the engine's choice
            for r in rows + theirs:
                r["sources"] = sorted(r["sources"].split(", "))
        if rows != theirs:
            padded = zip(rows + [None] * len(theirs), theirs + [None] * len(rows))
            problems.append(f"{query_name}: {len(rows)} rows here, {len(theirs)} there; first differing: "
                            f"{next((a, b) for a, b in padded if a != b)}")
        if not rows:
            empty.append(query_name)
    assert not problems, "\n".join(problems)
    assert len(empty) <= 2, f"too many canned queries without rows to compare: {empty}"


def test_records_publish_straight_into_the_store(oxigraph, tmp_path):
    """Records are converted first, like ``pfocr-rdf load`` does."""
    store = oxigraph_store(oxigraph)
    report = publish([str(EXAMPLES)], store.gsp, graph="https://example.org/records")
    out = tmp_path / "out"
    from converter import convert

    convert([str(EXAMPLES)], output=str(out), formats=["nt"], jobs=1)
    assert report.verified and report.triples == triple_count([str(out / "pfocr.nt")])
    assert store.count("https://example.org/records") == report.triples


def test_append_adds_beside_the_data(oxigraph, inputs, old):
    store = oxigraph_store(oxigraph)
    graph = "https://example.org/appended"
    publish(old, store.gsp, graph=graph, append=True)
    publish(inputs[1:], store.gsp, graph=graph, append=True)
    assert store.count(graph) == triple_count(old) + triple_count(inputs[1:])


# --- bulk loading ---------------------------------------------------------------------------------------------------
def recipe() -> list[str]:
    """The isql statements of docs/triplestores.md's Virtuoso bulk-load recipe."""
    text = (PROJECT / "docs" / "triplestores.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- virtuoso-bulk-load[^>]*-->\s*```sql\n(.*?)```", text, re.DOTALL)
    assert block, "the Virtuoso recipe block is missing from docs/triplestores.md"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_virtuoso_bulk_load_recipe_gives_the_same_counts(query_dump, tmp_path_factory, wp_store):  # noqa: F811 - fixtures
    chunks = tmp_path_factory.mktemp("bulk") / "chunks"
    names = write_chunks(str(query_dump), str(chunks), 10_000)
    assert len(names) > 2
    with virtuoso_server(tmp_path_factory.mktemp("virtuoso-bulk"), [chunks]) as server:
        statements = recipe()
        assert statements[0].startswith("ld_dir('CHUNKS'") and "rdf_loader_run();" in statements
        for statement in statements[:-1]:
            server.isql(statement.replace("CHUNKS", str(chunks)))
        failed = server.isql(statements[-1])
        assert failed.strip() == "", f"files failed to load:\n{failed}"
        store = virtuoso_store(server)
        assert store.count(GRAPH) == triple_count([str(query_dump)])
        local = sum(1 for _ in wp_store.quads_for_pattern(None, None, None, ox.NamedNode(STATISTICS_GRAPH)))
        assert store.count(STATISTICS_GRAPH) == local


# --- faults -------------------------------------------------------------------------------------------------------
def cli(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*cli_command(), "publish", *map(str, args)], capture_output=True, text=True,
                          timeout=600, check=False, **kwargs)


def one_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_server_stopped_mid_publish_leaves_the_old_graph(tmp_path, inputs, old):
    with oxigraph_server(tmp_path / "store") as server:
        store = oxigraph_store(server)
        publish(old, store.gsp)
        before = store.count(GRAPH)
        child = subprocess.Popen([*cli_command(), "publish", *inputs, "--endpoint", store.gsp, "--batch-size",
                                  "100", "--retries", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not store.graphs(STAGING):  # batches are arriving in the staging graph
            assert child.poll() is None and time.monotonic() < deadline, "the publish ended before it could be cut"
            time.sleep(0.05)
        server.stop()
        out, err = child.communicate(timeout=120)
        message = one_error(subprocess.CompletedProcess(child.args, child.returncode, out, err))
        assert "unreachable" in message and store.gsp in message
        server.start()
        assert store.count(GRAPH) == before  # the old graph, whole
        assert len(store.graphs(STAGING)) == 1  # the part sent, where nobody reads it
        publish(old, store.gsp)  # the next publish clears it away
        assert store.graphs(STAGING) == [] and store.count(GRAPH) == before


def test_batch_answered_500_leaves_the_old_graph(virtuoso, old, tmp_path):
    """Virtuoso refuses an update request over 10 MB with HTTP 500: a caption of 11 MB does it."""
    store = virtuoso_store(virtuoso)
    publish(old, store.update, protocol="update", **store.credentials)
    before = store.count(GRAPH)
    huge = tmp_path / "huge.nt"
    huge.write_text(Path(old[0]).read_text(encoding="utf-8")
                    + '<https://pfocr.wikipathways.org/figures/X.html> <https://schema.org/caption> '
                    + f'"{"x" * (11 << 20)}" .\n',
                    encoding="utf-8")
    message = one_error(cli(huge, "--endpoint", store.update, "--protocol", "update", "--user", VIRTUOSO_USER,
                            "--password", VIRTUOSO_PASSWORD, "--retries", "1"))
    assert "HTTP 500" in message and "sending a batch" in message
    assert store.count(GRAPH) == before
    assert store.graphs(STAGING) == []  # dropped: the store still answered


def test_wrong_or_missing_credentials_leave_the_old_graph(virtuoso, old):
    store = virtuoso_store(virtuoso)
    publish(old, store.gsp, **store.credentials)
    before = store.count(GRAPH)
    wrong = one_error(cli(old[0], "--endpoint", store.gsp, "--user", VIRTUOSO_USER, "--password", "not-it"))
    assert "refused the credentials (HTTP 401)" in wrong
    missing = one_error(cli(old[0], "--endpoint", store.gsp))
    assert "needs credentials (HTTP 401)" in missing
    from_env = cli(old[0], "--endpoint", store.gsp, "--user", VIRTUOSO_USER,
                   env={**os.environ, "PFOCR_RDF_PASSWORD": VIRTUOSO_PASSWORD})
    assert from_env.returncode == 0, from_env.stderr
    assert store.count(GRAPH) == before


def test_nobody_listening_is_a_clear_error(old):
    from _triplestores import free_port

    base = f"http://127.0.0.1:{free_port()}"
    message = one_error(cli(old[0], "--endpoint", base + "/store", "--retries", "0"))
    assert "unreachable" in message and base in message
    with pytest.raises(PublishError, match="no query service known"):
        publish(old, "http://127.0.0.1:9/unknown-layout")


def test_virtuoso_bulk_replaces_like_the_upload(virtuoso, inputs, old):
    """``--bulk DIR``: the server's bulk loader reads what publish writes under DIR (here a folder in the server's
    own, which it may always read); the same count, precomputed graphs, switch and clean-up."""
    store = virtuoso_store(virtuoso)
    shared = virtuoso.cwd / "shared"
    shared.mkdir(exist_ok=True)
    publish(old, store.gsp, **store.credentials)
    report = publish(inputs, store.gsp, bulk=str(shared), **store.credentials)
    expected = triple_count(inputs)
    assert report.verified and report.triples == expected and report.kind == "virtuoso"
    assert store.count(GRAPH) == expected
    assert sum(store.count(g) for g in DERIVED_GRAPHS) == report.statistics > 0
    assert list(shared.iterdir()) == []  # its folder removed
    left = virtuoso.isql("SELECT COUNT(*) FROM DB.DBA.LOAD_LIST;").split()
    assert left == ["0"], left


def test_virtuoso_first_publish_of_a_graph_has_no_previous_version_to_wait_for(virtuoso, old):
    """Nobody can be reading a graph that held nothing: the first publish switches and ends, with no grace period
    for readers of a previous version; the next one waits it before dropping that version."""
    import io

    from converter.publish.progress import Progress

    store = virtuoso_store(virtuoso)
    graph = "https://example.org/first-publish"
    steps = []
    for _ in range(2):
        log = io.StringIO()
        report = publish(old, store.gsp, graph=graph, progress=Progress(1, log, terminal=True), grace=2,
                         **store.credentials)
        assert report.verified and store.count(graph) == report.triples
        steps.append(log.getvalue())
    assert "dropping the previous version" not in steps[0]
    assert "dropping the previous version, after 2 s" in steps[1]
    assert store.graphs(graph + "-version-") == [report.version]  # the first version is gone


def test_virtuoso_append_goes_into_the_current_version_with_the_counts_of_the_whole(virtuoso, inputs, old):
    store = virtuoso_store(virtuoso)
    publish(old, store.gsp, **store.credentials)
    report = publish(inputs[1:], store.gsp, append=True, **store.credentials)
    assert store.count(GRAPH) == triple_count(old) + triple_count(inputs[1:])
    whole = publish(old + inputs[1:], store.gsp, graph="https://example.org/whole", **store.credentials)
    assert report.statistics == whole.statistics > 0  # computed for the whole graph, not for the part appended


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise(monkeypatch):
    import io

    from converter.publish import progress as progress_module
    from converter.publish.progress import Progress

    bar = io.StringIO()
    shown = Progress(1000, bar, terminal=True)
    shown.advance(50_000, 250)
    monkeypatch.setattr(progress_module, "TERMINAL_EVERY", 0.0)
    shown.advance(50_000, 500)
    shown.done()
    text = bar.getvalue()
    assert "\r" in text and "[" in text and "100,000 triples sent" in text and "triples/s" in text
    assert " left" in text and text.endswith("\n")

    log = io.StringIO()
    plain = Progress(1000, log, terminal=False)
    plain.advance(10, 100)
    plain.step("counting")
    assert log.getvalue() == ""  # a short publish says nothing but its result
    monkeypatch.setattr(progress_module, "LINE_EVERY", 0.0)
    plain.advance(10, 500)
    plain.step("counting")
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and lines[0].startswith("publishing: 20 triples sent") and \
        lines[1] == "publishing: counting"
