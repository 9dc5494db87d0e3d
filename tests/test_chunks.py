"""Bulk-load chunks (``convert --chunk-size``): bounded, sorted, gzip-compressed N-Quads holding exactly the dump's
triples in the data graph and the embedded store's precomputed counts in the statistics graph, byte-identical on
every run."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest

from _support import cli_command

from converter.rdf.vocab import GRAPH
from converter.store.chunks import write_chunks
from converter.store.derived import DERIVED_GRAPHS
from converter.store.load import load, open_store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pfocr"
SIZE = 7_000  # the real sample has about 30,000 triples: several chunks and a short last one


def _quads(path) -> list[ox.Quad]:
    with gzip.open(path, "rb") as fh:
        return list(ox.parse(fh.read(), format=ox.RdfFormat.N_QUADS))


@pytest.fixture(scope="module")
def chunks(sample_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("chunks") / "chunks"
    names = write_chunks(str(sample_run.path("pfocr.nt")), str(folder), SIZE)
    return folder, names


def test_chunks_hold_the_dump_and_the_counts(chunks, sample_run, tmp_path):
    folder, names = chunks
    assert names[-1] == "pfocr-derived.nq.gz" and sorted(p.name for p in folder.iterdir()) == sorted(names)
    data = [_quads(folder / name) for name in names[:-1]]
    assert all(len(part) == SIZE for part in data[:-1]) and 0 < len(data[-1]) <= SIZE
    triples = {q.triple for part in data for q in part}
    assert sum(map(len, data)) == len(triples)
    assert {q.graph_name for part in data for q in part} == {ox.NamedNode(GRAPH)}
    dump = {q.triple for q in ox.parse(path=str(sample_run.path("pfocr.nt")), format=ox.RdfFormat.N_TRIPLES)}
    assert triples == dump

    # the precomputed data equals what the embedded store precomputes
    load([str(sample_run.path("pfocr.nt"))], str(tmp_path / "store"))
    store = open_store(str(tmp_path / "store"))
    expected = {q for g in DERIVED_GRAPHS for q in store.quads_for_pattern(None, None, None, ox.NamedNode(g))}
    derived = _quads(folder / "pfocr-derived.nq.gz")
    assert {q.graph_name.value for q in derived} == set(DERIVED_GRAPHS) and set(derived) == expected


def test_chunks_are_sorted_across_files_and_deterministic(chunks, sample_run, tmp_path):
    folder, names = chunks
    lines = []
    for name in names[:-1]:
        with gzip.open(folder / name, "rt", encoding="utf-8") as fh:
            lines.extend(fh)
    assert lines == sorted(lines) and len(lines) == len(set(lines))
    again = tmp_path / "again"
    assert write_chunks(str(sample_run.path("pfocr.nt")), str(again), SIZE) == names
    for name in names:
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name


def test_rewriting_replaces_the_folder_whole(sample_run, tmp_path):
    folder = tmp_path / "chunks"
    many = write_chunks(str(sample_run.path("pfocr.nt")), str(folder), 2_000)
    few = write_chunks(str(sample_run.path("pfocr.nt")), str(folder), 50_000)
    assert len(few) == 2 < len(many)
    assert sorted(p.name for p in folder.iterdir()) == sorted(few)
    assert [p.name for p in tmp_path.iterdir()] == ["chunks"]  # no temporary folders left behind


def test_cli_convert_chunk_size(tmp_path):
    out = tmp_path / "out"
    examples = str(EXAMPLES)
    proc = subprocess.run([*cli_command(), "convert", examples, "-o", str(out), "--format", "nt",
                           "--chunk-size", "500"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "bulk-load chunks" in proc.stderr
    assert sorted(p.name for p in (out / "chunks").iterdir())[-1] == "pfocr-derived.nq.gz"
    refused = subprocess.run([*cli_command(), "convert", examples, "-o", str(out), "--format", "ttl",
                              "--chunk-size", "500"], capture_output=True, text=True)
    assert refused.returncode == 2 and "add nt to --format" in refused.stderr
