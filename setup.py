"""Packaging that pyproject.toml cannot say on its own.

- ``shapes/`` and ``queries/`` stay at the top of the repository, their single source, and are shipped inside the
  package as ``converter.data.shapes`` and ``converter.data.queries`` (a file mapping of the build backend), so an
  installed package, an editable install and a checkout read the same files through ``importlib.resources``.
- The SPARQL editor's front-end files (``converter/static/vendor/``) are built with npm (``web/build.py``) when they
  are missing; an sdist carries them built, so installing from it needs no npm.
- The per-record path of the conversion (``COMPILED`` below) is compiled to C extensions by mypyc when a wheel is
  built, from the same strictly typed source. Without a C compiler, with ``PFOCR_RDF_PURE=1``, and for an editable
  install (whose source must stay the code that runs) the package is pure Python; both give the same bytes.
"""

import os
import runpy
import sys
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
MAPPED = {"converter.data.shapes": "shapes", "converter.data.queries": "queries"}


class BuildPy(build_py):
    def run(self):
        web = runpy.run_path(str(HERE / "web" / "build.py"))
        if not web["built"]():
            web["build"]()
        if not self.distribution.ext_modules:  # a pure build must not ship what an earlier one compiled here
            for stale in Path(self.build_lib).glob("**/*__mypyc*.so"):
                stale.unlink()
            for stale in Path(self.build_lib).glob("converter/**/*.so"):
                stale.unlink()
        super().run()


# reading records, the model, the mapping, the dump writers, the workers' tasks and the parent's assembly
COMPILED = [
    "converter/records/identifiers.py", "converter/records/sources.py", "converter/records/yaml_subset.py",
    "converter/records/model.py", "converter/rdf/vocab.py", "converter/rdf/kinds.py", "converter/rdf/terms.py",
    "converter/rdf/mapping.py", "converter/rdf/writers.py", "converter/rdf/jsonlines.py",
    "converter/pipeline/tasks.py", "converter/pipeline/convert.py",
]


def _say(text):
    print(f"pfocr-rdf: {text}", file=sys.stderr)


def _compiled():
    """mypyc's extensions of ``COMPILED``, when this command builds a wheel or installs; else none."""
    if os.environ.get("PFOCR_RDF_PURE") == "1":
        return []
    if not {"bdist_wheel", "build_ext", "build", "install"} & set(sys.argv[1:]) or "editable_wheel" in sys.argv:
        return []
    try:
        from mypyc.build import mypycify

        return mypycify(COMPILED, opt_level="3")
    except (ImportError, SystemExit) as err:  # no mypyc, or its type check failed (it exits)
        _say(f"not compiling ({type(err).__name__}: {err}): building the pure-Python package")
        return []


class BuildExt(build_ext):
    """Falls back to the pure-Python package when the extensions cannot be compiled (no C compiler)."""

    def run(self):
        try:
            super().run()
        except Exception as err:  # whatever stopped the compiler, the sources still work
            _say(f"compiling failed ({str(err)[:200]}): building the pure-Python package")
            for built in self.get_outputs():  # all or nothing: no half-compiled package
                Path(built).unlink(missing_ok=True)
            self.extensions = []


setup(
    cmdclass={"build_py": BuildPy, "build_ext": BuildExt},
    ext_modules=_compiled(),
    packages=find_namespace_packages(include=["converter", "converter.*"], exclude=["*.__pycache__"]) + list(MAPPED),
    package_dir=MAPPED,
    package_data={
        "converter.data": ["*.json", "*.jsonld", "*.tsv", "*.ttl", "derived/*.rq"],
        "converter.data.shapes": ["*.ttl"],
        "converter.data.queries": ["*.rq"],
        "converter.static": ["*.js", "*.css"],
        "converter.static.vendor": ["*"],
        "converter.templates": ["*.html"],
    },
)
