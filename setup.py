"""Packaging that pyproject.toml cannot say on its own.

- ``shapes/`` and ``queries/`` stay at the top of the repository, their single source, and are shipped inside the
  package as ``converter.data.shapes`` and ``converter.data.queries`` (a file mapping of the build backend), so an
  installed package, an editable install and a checkout read the same files through ``importlib.resources``.
- The SPARQL editor's front-end files (``converter/static/vendor/``) are built with npm (``web/build.py``) when they
  are missing; an sdist carries them built, so installing from it needs no npm.
"""

import runpy
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
MAPPED = {"converter.data.shapes": "shapes", "converter.data.queries": "queries"}


class BuildPy(build_py):
    def run(self):
        web = runpy.run_path(str(HERE / "web" / "build.py"))
        if not web["built"]():
            web["build"]()
        super().run()


setup(
    cmdclass={"build_py": BuildPy},
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
