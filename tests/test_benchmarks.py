"""The stage benchmark runs on real records and accounts for every page it was given."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from _support import HAVE_PFOCR, PROJECT, SAMPLE, SAMPLE_FIGURES, SKIP_REASON

STAGES = ["read", "model", "mapping", "serialise ttl", "serialise nt", "serialise nq", "serialise jsonld",
          "serialise ttl+nt+nq+jsonld"]


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
