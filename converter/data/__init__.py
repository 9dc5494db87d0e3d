"""The data the package reads, kept in files rather than in code: vocabulary, JSON-LD contexts, identifier
patterns, taxa, store layouts, and the SHACL shapes and canned queries.

The shapes and the queries have their single source at the top of the repository (``shapes/``, ``queries/``); the
package build ships them as ``converter.data.shapes`` and ``converter.data.queries`` (``setup.py``). :func:`folder`
finds them the same way in an installed package, an editable install and a plain checkout::

    >>> sorted(p.name for p in folder("shapes").iterdir() if p.name.endswith(".ttl"))
    ['bioschemas.ttl', 'identifiers.ttl', 'pfocr.ttl']
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


def folder(name: str) -> Traversable:
    """The shipped folder ``name`` (``shapes`` or ``queries``)."""
    try:
        return resources.files(f"{__name__}.{name}")
    except ModuleNotFoundError:  # a checkout, or an editable install, whose build mapped nothing here
        return Path(__file__).resolve().parents[2] / name
