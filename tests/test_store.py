"""The embedded store: loads from dumps or records, atomic rebuilds, precomputed counts, the default graph."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from converter import convert
from converter.rdf.vocab import DATASET
from converter.store.derived import STATISTICS_GRAPH
from converter.store.load import VOID_GRAPH, StoreError, load, open_store
from converter.store.queries import run

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pfocr"
MENTIONS = "https://schema.org/mentions"
COUNT = "https://pfocr.wikipathways.org/vocab#figureCount"


@pytest.fixture(scope="module")
def dumps(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dumps")
    convert([str(EXAMPLES)], output=str(out), formats=["nt", "nq", "ttl"], jobs=1)
    return out


def _count(store: ox.Store, query: str) -> int:
    return int(next(iter(run(store, query)))["n"].value)


def test_load_from_dump_and_from_records_hold_the_same_graph(dumps, tmp_path):
    from_dump = load([str(dumps / "pfocr.nt")], str(tmp_path / "a" / "store"))
    from_records = load([str(EXAMPLES)], str(tmp_path / "b" / "store"))
    lines = len((dumps / "pfocr.nt").read_text(encoding="utf-8").splitlines())
    assert from_dump.triples == from_records.triples == lines
    a, b = open_store(str(tmp_path / "a" / "store")), open_store(str(tmp_path / "b" / "store"))
    void = ox.NamedNode(VOID_GRAPH)  # describes the dumps beside it, which differ: compared apart
    assert {q for q in a if q.graph_name != void} == {q for q in b if q.graph_name != void}
    dataset, triples = ox.NamedNode(DATASET), ox.NamedNode("http://rdfs.org/ns/void#triples")
    count = ox.Literal(str(lines), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))
    for store in (a, b):
        assert [q.object for q in store.quads_for_pattern(dataset, triples, None, void)] == [count]


def test_precomputed_counts_equal_the_mentions_in_the_dump(dumps, tmp_path):
    load([str(dumps / "pfocr.nt")], str(tmp_path / "store"))
    store = open_store(str(tmp_path / "store"))
    pairs = set()  # a figure may both mention an organism and be about it: it counts once
    for line in (dumps / "pfocr.nt").read_text(encoding="utf-8").splitlines():
        s, p, o = line.split(" ", 2)
        if p in (f"<{MENTIONS}>", "<https://schema.org/about>"):
            pairs.add((s, o.rstrip(" .")))
    expected = Counter(o for _, o in pairs)
    found = {f"<{q.subject.value}>": int(q.object.value) for q in store.quads_for_pattern(
        None, ox.NamedNode(COUNT), None, ox.NamedNode(STATISTICS_GRAPH))
        if not q.subject.value.startswith(STATISTICS_GRAPH + "#")}  # the per-year rows count figures too
    assert found == dict(expected) and found


def test_rebuilding_is_idempotent_and_keeps_two_versions(dumps, tmp_path):
    path = tmp_path / "store"
    first = load([str(dumps / "pfocr.nt")], str(path))
    for _ in range(3):
        again = load([str(dumps / "pfocr.nt")], str(path))
        assert (again.triples, again.statistics) == (first.triples, first.statistics)
    assert path.is_symlink()
    assert len([n for n in os.listdir(tmp_path / ".stores") if n != ".lock"]) <= 2  # .lock: files.exclusive


def test_a_failed_load_leaves_the_previous_store_usable(dumps, tmp_path):
    path = tmp_path / "store"
    load([str(dumps / "pfocr.nt")], str(path))
    before = len(open_store(str(path)))
    broken = tmp_path / "broken.nt"
    broken.write_text((dumps / "pfocr.nt").read_text(encoding="utf-8") + "<a> <b> \"unterminated .\n",
                      encoding="utf-8")
    target = os.readlink(path)
    with pytest.raises(StoreError, match=r"broken\.nt"):
        load([str(broken)], str(path))
    assert os.readlink(path) == target
    assert len(open_store(str(path))) == before
    assert len([d for d in os.listdir(tmp_path / ".stores") if not d.startswith(("tmp", ".lock"))]) == 1


def test_stores_side_by_side_keep_their_versions(dumps, tmp_path):
    """Two stores in one folder share .stores/: building one must not remove the other's versions (nor those of
    a store whose name starts with the same letters and a dash)."""
    for _ in range(3):
        for name in ("a", "b", "a-b"):
            load([str(dumps / "pfocr.nt")], str(tmp_path / name))
    for name in ("a", "b", "a-b"):
        assert len(open_store(str(tmp_path / name))) > 1000
    versions = [n for n in os.listdir(tmp_path / ".stores") if n != ".lock" and not n.endswith(".lease")]
    # nothing holds a lease on the older versions: each store keeps the one it points to
    assert sorted(os.path.realpath(tmp_path / name) for name in ("a", "b", "a-b")) == \
        sorted(str(tmp_path / ".stores" / n) for n in versions)


def test_a_leased_version_outlives_loads(dumps, tmp_path):
    """A version a reader holds a lease on (as a server does on the version it serves) is not removed by later
    loads; once the lease is released, the next load removes it."""
    from converter.store.versions import Lease, current_version

    path = str(tmp_path / "store")
    load([str(dumps / "pfocr.nt")], path)
    first = current_version(path)
    lease = Lease.take(first)
    assert lease is not None
    for _ in range(2):
        load([str(dumps / "pfocr.nt")], path)
    assert os.path.isdir(first) and current_version(path) != first
    assert len(open_store(first)) > 1000  # whole, and readable
    second = current_version(path)
    lease.release()
    load([str(dumps / "pfocr.nt")], path)
    assert not os.path.exists(first) and not os.path.exists(second)
    left = sorted(n for n in os.listdir(tmp_path / ".stores") if n != ".lock")
    assert left == [os.path.basename(current_version(path))]  # and no lease file left behind


def test_data_in_named_graphs_is_queried_as_the_union(dumps, tmp_path):
    load([str(dumps / "pfocr.nq")], str(tmp_path / "q" / "store"))
    load([str(dumps / "pfocr.nt")], str(tmp_path / "t" / "store"))
    figures = "SELECT (COUNT(*) AS ?n) WHERE { ?f a <https://schema.org/ImageObject> }"
    from_quads = _count(open_store(str(tmp_path / "q" / "store")), figures)
    from_triples = _count(open_store(str(tmp_path / "t" / "store")), figures)
    assert from_quads == from_triples == 9


def test_cli_load_errors_are_one_line(tmp_path):
    cmd = [sys.executable, "-m", "converter", "load", str(tmp_path / "missing.nt"), "--store", str(tmp_path / "s")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("Error:") == 1 and "missing.nt" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "converter", "query", "figures-for-gene", "--store",
                           str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert proc.returncode == 2 and "pfocr-rdf load" in proc.stderr and "Traceback" not in proc.stderr
