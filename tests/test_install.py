"""The release as users get it: the wheel and the sdist that ``python -m build`` makes from the checkout, each
installed into a fresh virtual environment outside the checkout, run on the bundled example records the way the
README's main job runs them (convert with --validate, validate, load, query, serve).

The wheel carries the per-record path compiled by mypyc (setup.py); the checkout's editable install is the same
source run as Python. Both builds are tested: the compiled one writes the same bytes, and the conversion tests pass
on it."""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from _server_support import EXAMPLES, ROOT, http_request

VENDOR = ROOT / "converter" / "static" / "vendor"
SHIPPED = ["converter/data/shapes/pfocr.ttl", "converter/data/shapes/identifiers.ttl",
           "converter/data/queries/figures-for-gene.rq", "converter/static/vendor/yasgui.min.js"]


def sh(*args, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, args))}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel built from what git tracks in the checkout, with the editor's built files."""
    assert all((VENDOR / name).is_file() for name in ("yasgui.min.js", "chart.umd.min.js")), \
        "the editor's front-end files are not built: run 'make setup'"
    source = tmp_path_factory.mktemp("source")
    tracked = sh("git", "ls-files", "-z", cwd=ROOT).stdout.split("\0")
    for name in [n for n in tracked if n and (ROOT / n).is_file()] + [
            str(p.relative_to(ROOT)) for p in VENDOR.iterdir() if p.is_file()]:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    built = sh(sys.executable, "-m", "build", "--outdir", out, source, cwd=source)
    log = built.stdout + built.stderr
    for warning in ("Deprecat", "deprecated", "is absent from the `packages` configuration", "BuildBackendWarning"):
        assert warning not in log, f"the build warns ({warning}):\n{log[-4000:]}"
    sh(sys.executable, "-m", "twine", "check", "--strict", *out.iterdir(), cwd=out)
    (wheel,), (sdist,) = out.glob("*.whl"), out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_the_distributions_carry_shapes_queries_and_the_editor(dists):
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = set(wheel.namelist())
    assert set(SHIPPED) <= names, set(SHIPPED) - names
    compiled = re.findall(r'"(converter/[\w/]+)\.py"', (ROOT / "setup.py").read_text())
    assert len(compiled) >= 10
    for module in compiled:  # each compiled, its source beside it
        assert {n for n in names if re.fullmatch(re.escape(module) + r"\.cpython-.+\.so", n)}, module
        assert module + ".py" in names
    queries = {n for n in names if n.startswith("converter/data/queries/") and n.endswith(".rq")}
    assert len(queries) == len(list((ROOT / "queries").glob("*.rq")))
    with tarfile.open(dists["sdist"]) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {"shapes/pfocr.ttl", "queries/figures-for-gene.rq", "converter/static/vendor/yasgui.min.js",
            "web/build.py", "LICENSE"} <= members


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_installed_package_runs_the_main_job_outside_the_checkout(kind, dists, tmp_path):
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python, cli = venv / "bin" / "python", venv / "bin" / "pfocr-rdf"
    # no npm on the PATH: an sdist must install from the editor files it carries
    env = {**os.environ, "PATH": str(venv / "bin"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    sh(python, "-m", "pip", "install", "--quiet", dists[kind], cwd=tmp_path, env=env)
    where = sh(python, "-c", "import converter; print(converter.__file__)", cwd=tmp_path, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), f"imported from {where}, not from the installed package"
    # the wheel is compiled; the sdist, built here with no C compiler on the PATH, falls back to the source
    build = "compiled" if kind == "wheel" else "pure Python"
    assert sh(cli, "--version", cwd=tmp_path, env=env).stdout.strip() == f"pfocr-rdf, version 0.1.0 ({build})"

    work = tmp_path / "work"
    work.mkdir()
    convert = subprocess.run([cli, "convert", EXAMPLES, "-o", "output", "--validate"], cwd=work, env=env,
                             capture_output=True, text=True, timeout=300)
    assert convert.returncode == 0, convert.stderr
    assert "figures checked" in convert.stdout and (work / "output" / "shacl-report.ttl").is_file()
    validated = sh(cli, "validate", cwd=work, env=env)
    assert "0 violations" in validated.stdout
    sh(cli, "load", "output/pfocr.nt", cwd=work, env=env)
    listed = sh(cli, "query", "--list", cwd=work, env=env).stdout
    assert len([line for line in listed.splitlines() if not line.startswith(" ")]) == \
        len(list((ROOT / "queries").glob("*.rq")))
    answered = sh(cli, "query", "figures-for-gene", "-p", "gene=AKT1", "--format", "csv", cwd=work, env=env)
    assert "PMC1852397__pbio.0050121.g004" in answered.stdout

    server = subprocess.Popen([cli, "serve", "--port", "0"], cwd=work, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        port = int(line.split("/sparql")[0].rsplit(":", 1)[1])
        sparql = http_request("127.0.0.1", port, "GET", "/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D",
                              headers={"Accept": "application/sparql-results+json"})
        assert sparql.status == 200 and sparql.json()["boolean"] is True
        page = http_request("127.0.0.1", port, "GET", "/", headers={"Accept": "text/html"})
        assert page.status == 200 and b"yasgui.min.js" in page.body  # the editor, not the plain fallback form
        script = http_request("127.0.0.1", port, "GET", "/static/vendor/yasgui.min.js")
        assert script.status == 200 and len(script.body) > 100_000
    finally:
        server.terminate()
        server.wait(15)


@pytest.fixture(scope="module")
def compiled(dists, tmp_path_factory) -> dict[str, str]:
    """The environment of a Python running the compiled wheel: its package alone in a folder ahead of this
    environment's libraries (``PYTHONSAFEPATH``: no Python started with it puts the checkout on its path)."""
    site = tmp_path_factory.mktemp("compiled") / "site"
    sh(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, dists["wheel"], cwd=ROOT)
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1", "PFOCR_RDF_EXPECT_COMPILED": "1"}
    probe = sh(sys.executable, "-c", "import converter; print(converter.COMPILED, converter.__file__)", cwd=ROOT,
               env=env).stdout.split()
    assert probe[0] == "True" and Path(probe[1]).is_relative_to(site), probe
    return env


def test_the_compiled_build_writes_the_bytes_of_the_source(compiled, pfocr_data, tmp_path):
    """Every output file, byte for byte, on the bundled examples, the real sample and a generated corpus."""
    from _support import PFOCR, SAMPLE, SEED

    corpus = tmp_path / "corpus"
    sh(sys.executable, str(ROOT / "benchmarks" / "make_corpus.py"), corpus, "-n", "2000", "--seed", "3",
       "--shared", PFOCR, cwd=ROOT)
    pure = {**os.environ, "PYTHONSAFEPATH": "1"}
    pure.pop("PYTHONPATH", None)
    for name, inputs in [("examples", [EXAMPLES]), ("sample", [SAMPLE, SEED]), ("corpus", [corpus])]:
        outputs = {}
        for build, env in (("pure", pure), ("compiled", compiled)):
            outputs[build] = tmp_path / build / name
            sh(sys.executable, "-m", "converter", "convert", *inputs, "-o", outputs[build], "--validate", cwd=ROOT,
               env=env)
        files = sorted(p.name for p in outputs["pure"].iterdir() if p.is_file() and not p.name.startswith("."))
        assert len(files) >= 8 and files == sorted(
            p.name for p in outputs["compiled"].iterdir() if p.is_file() and not p.name.startswith("."))
        _, differ, errors = filecmp.cmpfiles(outputs["pure"], outputs["compiled"], files, shallow=False)
        assert not differ and not errors, f"{name}: the builds differ in {differ + errors}"


# writing through monkeypatched constants and classes: compiled code reads neither
_SOURCE_ONLY = ["tests/test_determinism.py::test_dumps_flushed_to_the_disk_as_they_grow_are_the_same_bytes",
                "tests/test_incremental.py::test_long_runs_written_piece_by_piece_are_the_same_bytes"]


def test_the_conversion_tests_pass_on_the_compiled_build(compiled):
    files = ["test_mapping_figures.py", "test_mapping.py", "test_dumps.py", "test_determinism.py",
             "test_real_records.py", "test_incremental.py", "test_yaml_subset.py", "test_worklist.py",
             "test_hostile_input.py", "test_json.py", "test_properties.py"]
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                          *(f"tests/{f}" for f in files), *(f"--deselect={t}" for t in _SOURCE_ONLY)],
                         cwd=ROOT, env=compiled, capture_output=True, text=True, timeout=900)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, f"{summary}\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
    assert re.search(r"\b([3-9]\d\d|\d{4,}) passed", summary), summary
