"""Shared fixtures: the real PFOCR sample is converted once per session and its outputs reused by every test.

The sample lives beside the project (``../shared/pfocr``, with the W3C protocol suite in ``../shared/w3c``). About a
third of the suite needs it, so a run without it would be green on what is left: the session stops at start, in
one line, unless ``PFOCR_RDF_TESTS_WITHOUT_SHARED=1`` says to go on; then a header line says how many tests were
left out and why.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import ALT_VERSIONS, HAVE_PFOCR, PFOCR, PROJECT, SAMPLE, SAMPLE_FIGURES, SEED, SKIP_REASON, load_store

import converter
from converter import convert

W3C = PROJECT.parent / "shared" / "w3c"
WITHOUT_SHARED = "PFOCR_RDF_TESTS_WITHOUT_SHARED"
_SHARED_FIXTURES = {"pfocr_data", "sample_run", "sample_store", "conflict_run", "conflict_store"}


def _missing_shared() -> list[str]:
    return [str(path) for path, there in ((PFOCR, HAVE_PFOCR), (W3C, W3C.is_dir())) if not there]


def pytest_sessionstart(session: pytest.Session) -> None:
    # tests/test_install.py runs tests on the compiled build: they must not quietly import the source instead
    if os.environ.get("PFOCR_RDF_EXPECT_COMPILED") == "1" and not converter.COMPILED:
        pytest.exit(f"PFOCR_RDF_EXPECT_COMPILED=1, but {converter.__file__} is pure Python", returncode=4)
    missing = _missing_shared()
    if missing and os.environ.get(WITHOUT_SHARED) != "1" and not hasattr(session.config, "workerinput"):
        pytest.exit(f"the shared test data is missing ({', '.join(missing)}): put it beside the project, or set "
                    f"{WITHOUT_SHARED}=1 to run the tests that do without it", returncode=4)


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> str | None:
    missing = _missing_shared()
    if not missing:
        return None
    left_out = [i for i in items if _SHARED_FIXTURES & set(getattr(i, "fixturenames", ()))
                or any(m.name in ("skip", "skipif") for m in i.iter_markers())]
    return (f"{WITHOUT_SHARED}=1: {len(left_out)} of {len(items)} tests are left out, as the shared test data is "
            f"missing ({', '.join(missing)})")


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


@pytest.fixture(scope="module")
def browser():
    """Chromium through Playwright, for the modules that drive the web pages (one browser per module)."""
    from playwright.sync_api import sync_playwright

    from _browser_support import launch_chromium

    with sync_playwright() as p:
        launched = launch_chromium(p)
        yield launched
        launched.close()
