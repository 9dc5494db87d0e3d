"""The precomputed data of a dump computed apart from the embedded store (``publish``, chunks): from only the lines
the derived queries match, and still exactly what the embedded store precomputes from the whole graph."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from converter.rdf.vocab import RDF_TYPE, SCHEMA
from converter.store.derived import DERIVED_GRAPHS, what_derived_reads
from converter.store.load import StoreError, _triples_read, derived_from, load, open_store


def _expected(dump: str, tmp_path) -> set[ox.Quad]:
    load([dump], str(tmp_path / "store"))
    store = open_store(str(tmp_path / "store"))
    return {q for g in DERIVED_GRAPHS for q in store.quads_for_pattern(None, None, None, ox.NamedNode(g))}


def _written_otherwise(dump: str, target) -> None:
    """The same triples in N-Triples written as other writers may: tabs, comments, blank lines, and IRIs with
    escapes (a class and a predicate the derived queries read, which the cut must not lose)."""
    lines = open(dump, encoding="utf-8").read().splitlines()
    out = ["# written by another tool", ""]
    for n, line in enumerate(lines):
        if f"<{RDF_TYPE}> <{SCHEMA}Gene>" in line:
            line = line.replace(f"<{SCHEMA}Gene>", f"<{SCHEMA}G\\u0065ne>")
        elif f"<{SCHEMA}name>" in line and n % 2:
            line = line.replace(f"<{SCHEMA}name>", f"<{SCHEMA}n\\u0061me>")
        out.append(line.replace(" ", "\t", 1) if n % 3 == 0 else line)
    target.write_text("\n".join(out) + "\n", encoding="utf-8")


def test_the_derived_queries_name_what_they_read():
    reads = what_derived_reads()
    assert reads is not None and reads.classes is not None  # else the whole dump is loaded to compute them
    assert {RDF_TYPE, SCHEMA + "mentions", SCHEMA + "name"} <= reads.predicates
    assert SCHEMA + "Gene" in reads.classes and SCHEMA + "ImageObject" in reads.classes


def test_derived_from_the_lines_read_equals_the_store(sample_run, tmp_path):
    dump = str(sample_run.path("pfocr.nt"))
    cut = _triples_read([dump], str(tmp_path))
    whole = sum(1 for _ in open(dump, "rb"))
    kept = sum(1 for _ in open(cut[0], "rb"))
    assert cut != [dump] and 0 < kept < 0.6 * whole  # the mentions' own triples stay out
    with derived_from([dump], str(tmp_path)) as quads:
        derived = set(quads)
    assert {q.graph_name.value for q in derived} == set(DERIVED_GRAPHS)
    assert derived == _expected(dump, tmp_path)


def test_derived_from_a_dump_written_otherwise(sample_run, tmp_path):
    dump = str(sample_run.path("pfocr.nt"))
    other = tmp_path / "other.nt"
    _written_otherwise(dump, other)
    with derived_from([str(other)], str(tmp_path)) as quads:
        assert set(quads) == _expected(dump, tmp_path)


def test_a_syntax_error_names_the_dump_and_its_line(sample_run, tmp_path):
    lines = open(sample_run.path("pfocr.nt"), encoding="utf-8").read().splitlines()
    lines.insert(3, f"<https://example.org/x> <{SCHEMA}name> \"unterminated .")
    broken = tmp_path / "broken.nt"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(StoreError, match=r"broken\.nt: .*(line 4|4:)"), derived_from([str(broken)], str(tmp_path)):
        pass


def test_the_computation_apart_ends_with_the_process_that_started_it(tmp_path):
    """A publish killed while the precomputed graphs are computed leaves no process behind. The dump here is a pipe
    nobody writes to, so the computation would wait for ever on its own."""
    import os
    import subprocess
    import sys
    import time

    fifo = tmp_path / "never.nt"
    os.mkfifo(fifo)
    starter = ("import os, sys; from converter.store.apart import Apart; "
               f"a = Apart([{str(fifo)!r}], {str(tmp_path)!r}); print(a._process.pid, flush=True); os._exit(0)")
    started = subprocess.run([sys.executable, "-c", starter], capture_output=True, text=True, timeout=60, check=True)
    child = int(started.stdout.split()[0])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(child, 9)
        pytest.fail("the computation went on after the process that started it had ended")
