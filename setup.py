"""The package build also builds the SPARQL editor's front-end files (web/build.py) when they are missing, so a
wheel or an install from source carries them."""

import runpy
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WEB_BUILD = Path(__file__).resolve().parent / "web" / "build.py"


class BuildPy(build_py):
    def run(self):
        web = runpy.run_path(str(WEB_BUILD))
        if not web["built"]():
            web["build"]()
        super().run()


setup(cmdclass={"build_py": BuildPy})
