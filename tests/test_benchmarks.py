"""The benchmarks run end to end: the stage benchmark on real records accounts for every page it was given, and
the query benchmark compares every canned query on the project's endpoint and a real Virtuoso with the same rows."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from _support import HAVE_PFOCR, PFOCR, PROJECT, SAMPLE, SAMPLE_FIGURES, SKIP_REASON

from converter.store.queries import library

HAVE_BULK = (PFOCR / "bulk").is_dir()  # what benchmarks/make_corpus.py builds its corpus from

STAGES = ["read", "model", "mapping", "serialise ttl", "serialise nt", "serialise nq", "serialise jsonld",
          "serialise jsonl", "serialise ttl+nt+nq+jsonld+jsonl"]


@pytest.mark.skipif(not HAVE_PFOCR, reason=SKIP_REASON)
def test_stage_benchmark_times_every_stage_of_the_real_sample(tmp_path):
    out = tmp_path / "stages.json"
    run = subprocess.run([sys.executable, str(PROJECT / "benchmarks" / "bench_stages.py"), "--corpus", str(SAMPLE),
                          "--records", "1000", "--json", str(out)], capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["pages"] == len(list(SAMPLE_FIGURES.glob("*.md")))  # fewer pages than asked for: all of them
    assert list(result["ms_per_record"]) == STAGES
    assert all(ms > 0 for ms in result["ms_per_record"].values())
    for stage in STAGES:
        assert stage in run.stdout


@pytest.mark.skipif(not HAVE_BULK, reason="the bulk PFOCR tables are not at ../shared/pfocr/bulk")
def test_query_benchmark_runs_every_canned_query_on_the_project_and_virtuoso_with_the_same_rows(tmp_path):
    out = tmp_path / "query.json"
    # a small Virtuoso (the benchmark's default buffers are for millions of triples); everything in tmp_path, so
    # the test can run beside a benchmark or another test
    run = subprocess.run([sys.executable, str(PROJECT / "benchmarks" / "bench_query.py"), "-n", "300",
                          "--corpus", str(tmp_path / "corpus"), "--work", str(tmp_path / "graph"),
                          "--repeat", "1", "--seconds", "1", "--virtuoso-buffers", "20000", "--json", str(out)],
                         capture_output=True, text=True, timeout=240, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))

    assert all(c["loaded"] == c["expected"] > 0 for c in result["virtuoso_graphs"].values()), result["virtuoso_graphs"]
    assert len(result["virtuoso_graphs"]) >= 2  # the data graph and at least the precomputed counts
    by_name = {r["query"]: r for r in result["queries"]}
    assert sorted(by_name) == sorted(library())
    for name, row in by_name.items():
        assert isinstance(row["pfocr"]["rows"], int) and isinstance(row["virtuoso"]["rows"], int), (name, row)
        assert row["pfocr"]["rows"] == row["virtuoso"]["rows"], (name, row)
        assert row["rows_agree"], (name, row)
        assert row["pfocr"]["p50_ms"] > 0 and row["virtuoso"]["p50_ms"] > 0
    # parameters come from the corpus: the single-gene query finds figures, as the defaults might not here
    assert by_name["figures-for-gene"]["pfocr"]["rows"] > 0
    for engine in ("pfocr", "virtuoso", "oxigraph"):
        assert result["throughput"][engine]["requests"] > 0, result["throughput"][engine]
    assert result["machine"]["cpus"] and result["machine"]["virtuoso"] != "unknown"
    assert "ROWS DIFFER" not in run.stdout and "geometric mean" in run.stdout
