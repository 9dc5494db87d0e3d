"""pySHACL, the reference the two validation engines are held to, and the reader of SHACL validation reports.

pySHACL is not part of the product: the tests run it directly on a whole rdflib graph, as a user would without this
project, and compare its results with those of ``converter.validate`` (``stream`` and ``sparql``). Its report, and
the ``shacl-report.ttl`` the converter writes, are read here into :class:`converter.validate.Result` objects, with
every term in N-Triples form as pyoxigraph writes it, so that results compare equal as plain values.
"""

from __future__ import annotations

import pyshacl
import rdflib

from converter.validate import Result
from converter.validate.sources import load_shapes
from converter.validate.terms import nt_of_rdflib as nt

SH = "http://www.w3.org/ns/shacl#"


def results_from_graph(report: rdflib.Graph) -> list[Result]:
    """The results of a SHACL validation report given as an rdflib graph (pySHACL's, or ``shacl-report.ttl``)."""
    sh = rdflib.Namespace(SH)
    out = []
    for node in report.subjects(rdflib.RDF.type, sh.ValidationResult):
        path = report.value(node, sh.resultPath)
        if isinstance(path, rdflib.BNode):
            path_text: str | None = "^" + nt(report.value(path, sh.inversePath))
        else:
            path_text = nt(path) if path is not None else None
        value = report.value(node, sh.value)
        message = report.value(node, sh.resultMessage)
        out.append(Result(
            str(report.value(node, sh.resultSeverity)).removeprefix(SH),
            nt(report.value(node, sh.sourceShape)),
            nt(report.value(node, sh.sourceConstraintComponent)),
            nt(report.value(node, sh.focusNode)),
            path_text,
            nt(value) if value is not None else None,
            str(message) if message is not None else "",
        ))
    return out


def pyshacl_results(data: rdflib.Graph, shapes: rdflib.Graph | None = None) -> list[Result]:
    """pySHACL's results on the whole graph, sorted, with the built-in shapes unless ``shapes`` is given."""
    _conforms, report, _text = pyshacl.validate(data, shacl_graph=load_shapes() if shapes is None else shapes,
                                                inference="none", allow_warnings=True)
    return sorted(set(results_from_graph(report)))
