"""SHACL validation of the dumps, organised as pySHACL organises it: one class per constraint component, and two
engines that run them.

    >>> from converter.validate import validate
    >>> report = validate(["output/pfocr.nt"])                     # doctest: +SKIP
    >>> report.conforms, report.count("Violation"), report.engine  # doctest: +SKIP
    (True, 0, 'stream')

The layers, each module importing only those above it:

- :mod:`~converter.validate.terms`: the N-Triples text of results, and the converter's own terms the streaming test
  reads;
- :mod:`~converter.validate.report`: results, the report and its SHACL Turtle form, the summary a curator reads;
- :mod:`~converter.validate.components`: the constraint components, each with its SPARQL form and its streaming test;
- :mod:`~converter.validate.sources`: the shapes graph: the shipped shapes, the generated IRI patterns, the user's;
- :mod:`~converter.validate.shape`: the shapes graph read into shapes holding those constraints;
- :mod:`~converter.validate.evaluate`: the streaming test run on a batch of nodes (also by ``convert --validate``);
- :mod:`~converter.validate.stream` and :mod:`~converter.validate.sparql`: the two engines;
- :mod:`~converter.validate.engines`: :func:`validate`, which chooses between them (``stream`` by default, ``sparql``
  for what cannot be streamed).
"""

from .components import Constraint
from .engines import DEFAULT_ENGINE, ENGINES, Engine, validate
from .evaluate import Evaluator
from .report import Result, ValidationError, ValidationReport, figure_of, summary
from .shape import Shape, read_shapes
from .sparql import load_dumps

__all__ = [
    "DEFAULT_ENGINE", "ENGINES", "Constraint", "Engine", "Evaluator", "Result", "Shape", "ValidationError",
    "ValidationReport", "figure_of", "load_dumps", "read_shapes", "summary", "validate",
]
