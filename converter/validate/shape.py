"""The shapes, read once from the shapes graph into plain objects that both engines run.

:mod:`converter.validate.sources` assembles the graph (``shapes/`` and the user's shape files); this module turns
each node shape and each of its property shapes into a :class:`Shape` holding its constraints, one object of
:mod:`converter.validate.components` each. Reading refuses any SHACL feature the engines do not run, so a shape is
never silently skipped: a constraint component without a class, a path other than a predicate or an inverse
predicate, a cardinality (ill-formed in SHACL) or ``sh:hasValue`` on a node shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from ..records.identifiers import IRIStyle
from .components import COMPONENTS, Constraint, FocusConstraint
from .report import ValidationError
from .terms import SH, nt_of_rdflib

if TYPE_CHECKING:
    from rdflib.term import Identifier, Node

# sh: properties of a shape that are not constraint parameters (sh:flags is read with sh:pattern)
_SHAPE_KEYS = {"targetClass", "path", "severity", "message", "property", "flags", "deactivated"}


@dataclass
class Shape:
    """A node shape (``path`` None: its focus nodes are the values) or a property shape, with the target class it
    applies to (its own, or its node shape's). Terms are in N-Triples form."""

    iri: str
    target_class: str
    path: str | None  # "<p>" or "^<p>" for property shapes, None for node shapes
    severity: str
    message: str
    constraints: list[Constraint]


def read_shapes(style: IRIStyle = "slash", extra: Sequence[str] = ()) -> list[Shape]:
    """The shapes of ``shapes/`` (and the shape files in ``extra``) as plain objects; refuses any SHACL feature the
    engines cannot run."""
    import rdflib

    from .sources import ShapesError, load_shapes

    try:
        g = load_shapes(style, extra)
    except ShapesError as err:
        raise ValidationError(str(err)) from None
    sh = rdflib.Namespace(SH)

    def constraints_of(node: Node) -> list[Constraint]:
        out = []
        # the shapes graph's terms are rdflib Identifiers, which sort
        for p, o in sorted(cast("Iterable[tuple[Identifier, Identifier]]", g.predicate_objects(node))):
            name = str(p).removeprefix(SH)
            if not str(p).startswith(SH) or name in _SHAPE_KEYS:
                continue
            if name not in COMPONENTS:
                raise ValidationError(f"shape {node}: sh:{name} is not supported by the SPARQL engine")
            out.append(COMPONENTS[name].read(g, node, o))
        return out

    def severity_of(node: Node) -> str:
        value = g.value(node, sh.severity)
        return str(value).removeprefix(SH) if value is not None else "Violation"

    shapes: list[Shape] = []
    for node in sorted(set(cast("Iterable[Identifier]", g.subjects(sh.targetClass, None)))):
        target = nt_of_rdflib(g.value(node, sh.targetClass))
        constraints = constraints_of(node)
        for c in constraints:
            if isinstance(c, FocusConstraint):
                raise ValidationError(f"{nt_of_rdflib(node)}: {c.component} on a node shape is not supported")
        shapes.append(Shape(nt_of_rdflib(node), target, None, severity_of(node),
                            str(g.value(node, sh.message) or ""), constraints))
        for prop in sorted(cast("Iterable[Identifier]", g.objects(node, sh.property))):
            path = g.value(prop, sh.path)
            if isinstance(path, rdflib.BNode):
                inverse = g.value(path, sh.inversePath)
                if inverse is None:
                    raise ValidationError(f"shape {prop}: only predicate and inverse paths are supported")
                path_text = "^" + nt_of_rdflib(inverse)
            else:
                path_text = nt_of_rdflib(path)
            shapes.append(Shape(nt_of_rdflib(prop), target, path_text, severity_of(prop),
                                str(g.value(prop, sh.message) or ""), constraints_of(prop)))
    return shapes
