"""Build the editor's and the API page's front-end files into the Python package: ``npm ci`` here (versions locked in
package-lock.json), then copy the built files the pages load into ``converter/static/vendor/``.

Run by ``make setup`` and by the package build (``setup.py``), so a wheel carries the editor and the server loads
nothing from a CDN::

    python web/build.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

WEB = Path(__file__).resolve().parent
VENDOR = WEB.parent / "converter" / "static" / "vendor"
FILES = {  # node_modules path -> name in converter/static/vendor
    "@zazuko/yasgui/build/yasgui.min.js": "yasgui.min.js",
    "@zazuko/yasgui/build/yasgui.min.css": "yasgui.min.css",
    "chart.js/dist/chart.umd.min.js": "chart.umd.min.js",
    "chart.js/LICENSE.md": "chart.js.LICENSE.md",
    "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui.css": "swagger-ui.css",
    "swagger-ui-dist/LICENSE": "swagger-ui.LICENSE",
}


def build() -> None:
    if shutil.which("npm") is None:
        sys.exit("web/build.py: npm is not installed; the SPARQL editor needs Node.js and npm to build")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], cwd=WEB,
                   check=True)
    VENDOR.mkdir(parents=True, exist_ok=True)
    for source, name in FILES.items():
        shutil.copyfile(WEB / "node_modules" / source, VENDOR / name)


def built() -> bool:
    return all((VENDOR / name).is_file() for name in FILES.values())


if __name__ == "__main__":
    build()
