"""Shared fixtures: the real PFOCR sample is converted once per session and its outputs reused by every test.

The sample lives beside the project (``../shared/pfocr``); tests that need it are skipped when it is absent.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (  # noqa: E402
    ALT_VERSIONS, HAVE_PFOCR, SAMPLE, SAMPLE_FIGURES, SEED, SKIP_REASON, load_store,
)

from converter import convert  # noqa: E402


@dataclass
class Run:
    """One conversion: the output folder, the returned Report and report.json as written."""

    out: Path
    report: object
    report_json: dict

    def path(self, name: str) -> Path:
        return self.out / name


def run_convert(paths, out: Path, **options) -> Run:
    report = convert([str(p) for p in paths], output=str(out), **options)
    return Run(out, report, json.loads((out / "report.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def pfocr_data() -> None:
    if not HAVE_PFOCR:
        pytest.skip(SKIP_REASON)


@pytest.fixture(scope="session")
def sample_run(pfocr_data, tmp_path_factory) -> Run:
    """The sample checkout plus the seed record, converted once to all four formats."""
    return run_convert([SAMPLE, SEED], tmp_path_factory.mktemp("sample-out"), jobs=1)


@pytest.fixture(scope="session")
def sample_store(sample_run):
    """pfocr.nt of the sample loaded into a pyoxigraph store."""
    return load_store(sample_run.path("pfocr.nt"), "nt")


@pytest.fixture(scope="session")
def conflict_run(pfocr_data, tmp_path_factory) -> Run:
    """The sample's figure pages plus the alternative versions of two of its figids."""
    if not ALT_VERSIONS.is_dir():
        pytest.skip("no alt-versions in the PFOCR sample")
    alt = sorted(ALT_VERSIONS.glob("*/_figures"))
    return run_convert([SAMPLE_FIGURES, *alt], tmp_path_factory.mktemp("conflict-out"), formats=["nt"], jobs=1)


@pytest.fixture(scope="session")
def conflict_store(conflict_run):
    return load_store(conflict_run.path("pfocr.nt"), "nt")
