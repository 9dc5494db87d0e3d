"""``pfocr-rdf publish`` at scale into a real Oxigraph server: the dump of 2,000 generated records (a tenth of the
Virtuoso test's, about 630,000 triples) replaces a graph twice while a reader polls the graph's triple count, and the
reader only ever sees a whole graph. A tenth, because Oxigraph runs the one ``MOVE`` request in one transaction held
in memory: the server grew past 15 GB on the second replace of the whole 20,000-record graph
(docs/triplestores.md)."""

from __future__ import annotations

from _publish_scale import check, generated_dump, replace_twice, small_graphs
from _triplestores import oxigraph_server


def test_oxigraph_server_replaces_a_corpus_twice_and_readers_see_whole_graphs(tmp_path):
    dump = generated_dump(tmp_path / "corpus", 2_000)
    with oxigraph_server(tmp_path / "oxigraph") as server:
        reader, reports = replace_twice(server.url + "/store", server.url + "/query", dump,
                                        small_graphs(tmp_path / "small"))
    check(reader, reports, 500_000)
    assert all(r.kind == "sparql" for r in reports)
