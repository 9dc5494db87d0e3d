"""The benchmark's baselines do the converter's work: on the real sample (both layouts, companion TSVs included),
the rdflib pipeline and Morph-KGC write the converter's graph, triple for triple (``benchmarks/baselines.py``).

They run as the benchmark runs them, as commands, each split over processes as it is there. Speed is not checked
here: ``benchmarks/bench_convert.py --runs baselines`` measures it, and compares the graphs again at 5,000 records.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from _support import HAVE_PFOCR, PROJECT, SAMPLE, SKIP_REASON

from converter import convert

BASELINES = PROJECT / "benchmarks" / "baselines.py"
MORPH_PYTHON = PROJECT / "benchmarks" / ".venv-morph" / "bin" / "python"
INSTALL_MORPH = "make morph-kgc (or: .venv/bin/python benchmarks/baselines.py install-morph)"

pytestmark = pytest.mark.skipif(not HAVE_PFOCR, reason=SKIP_REASON)


def triples(path: Path) -> set[str]:
    """The triples of an N-Triples file, each in one canonical text whatever escaping its writer chose."""
    return {str(t) for t in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES)}


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> tuple[set[str], int]:
    """The converter's graph of the sample, and how many figures it converted."""
    out = tmp_path_factory.mktemp("converter")
    report = convert([str(SAMPLE)], output=str(out), formats=["nt"], jobs=1)
    graph = triples(out / "pfocr.nt")
    # what the old baselines left out must be there to compare: TSV layout counts, ChEBI links, taxa, scores
    for needle in ("#countDirect>", "<https://identifiers.org/chebi/CHEBI:", "<https://schema.org/taxonomicRange>",
                   "#pathwayScore>", "<https://schema.org/keywords>", "#DiseaseMention>"):
        assert any(needle in t for t in graph), f"the sample's graph has no {needle} triple to compare"
    return graph, report.records_converted


def run_baseline(command: str, processes: int, out: Path, *extra: str) -> dict:
    run = subprocess.run([sys.executable, str(BASELINES), command, str(SAMPLE), str(out), "--processes",
                          str(processes), *extra], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, f"baselines.py {command} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return json.loads(run.stdout.strip().splitlines()[-1])


def assert_same_graph(expected: set[str], out: Path, who: str) -> None:
    found = triples(out)
    missing, extra = sorted(expected - found), sorted(found - expected)
    assert not missing and not extra, (
        f"{who} does not write the converter's graph: {len(missing)} of its {len(expected)} triples missing, "
        f"{len(extra)} extra.\nfirst missing:\n  " + "\n  ".join(missing[:10])
        + "\nfirst extra:\n  " + "\n  ".join(extra[:10]))


@pytest.mark.parametrize("processes", [1, 2])
def test_rdflib_pipeline_writes_the_converters_graph_on_the_real_sample(converted, tmp_path, processes):
    expected, figures = converted
    out = tmp_path / "rdflib.nt"
    stats = run_baseline("rdflib", processes, out)
    assert stats["figures"] == figures and stats["processes"] == processes
    assert_same_graph(expected, out, f"the rdflib pipeline on {processes} processes")
    assert stats["triples"] == len(expected)  # and no triple written twice (shared nodes merged across processes)


def test_morph_kgc_writes_the_converters_graph_on_the_real_sample(converted, tmp_path):
    if not MORPH_PYTHON.exists():
        pytest.fail(f"Morph-KGC is not installed in benchmarks/.venv-morph: run {INSTALL_MORPH}")
    expected, figures = converted
    out = tmp_path / "morph.nt"
    stats = run_baseline("morph", 2, out, "--morph-python", str(MORPH_PYTHON))
    assert stats["figures"] == figures
    assert_same_graph(expected, out, "Morph-KGC with benchmarks/pfocr.rml.ttl on 2 processes")
    assert stats["triples"] == len(expected)


def test_baselines_use_none_of_the_converters_code():
    # a baseline that called the converter would measure the converter
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import baselines; "
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'converter'))")
    run = subprocess.run([sys.executable, "-c", script, str(BASELINES.parent)], capture_output=True, text=True,
                         timeout=60, check=True)
    assert run.stdout.strip() == "[]", run.stdout
