"""The streaming test: the shapes evaluated in Python on a closed batch of nodes, with no store and no parsing.

Every shape is local to a node, its values and their types. So a batch holding some focus nodes' triples, the
rdf:type triples of their values and the inverse-path links to them gives, for those focus nodes, the results a
whole-graph run gives. The ``stream`` engine (:mod:`converter.validate.stream`) checks a dump's blocks this way, and
``convert --validate`` checks each figure's nodes as they are written.

Each constraint tests terms itself (:mod:`converter.validate.components`); this module only finds the values and the
types, so checking a node costs a few dictionary lookups per property shape.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping

from ..rdf.terms import Term, Triple, nt_term
from ..rdf.vocab import RDF_TYPE
from .components import FocusConstraint, Types, ValueConstraint
from .report import Result
from .shape import Shape
from .terms import SUBCLASS

Nodes = dict[str, dict[str, dict[Term, None]]]  # subject -> predicate -> {object: None}, in the order read
# (value, class) -> [(shape, component IRI, focus node)]: sh:class tests waiting for the value's types (the values
# are IRIs and blank nodes: a literal has no types)
Pending = dict[tuple[Term, str], list[tuple[Shape, str, str]]]
_ValueTest = tuple[str, Callable[[Term, Types], bool], str | None]  # (component IRI, test, class the value needs)
_FocusTest = tuple[str, Callable[[Collection[Term]], bool]]  # (component IRI, test)
# a shape as evaluated: (shape, path predicate or None, inverse?, focus tests, value tests)
_Entry = tuple[Shape, str | None, bool, list[_FocusTest], list[_ValueTest]]


class Evaluator:
    """The shapes, compiled once for checking batches of nodes (see the module's documentation)."""

    def __init__(self, shapes: list[Shape]) -> None:
        self.by_class: dict[Term, list[_Entry]] = defaultdict(list)  # target class -> its shapes
        for shape in shapes:
            focus_tests: list[_FocusTest] = []
            value_tests: list[_ValueTest] = []
            for c in shape.constraints:
                if isinstance(c, FocusConstraint):
                    focus_tests.append((c.iri, c.violated_by))
                elif isinstance(c, ValueConstraint):
                    value_tests.append((c.iri, c.violates, c.value_class))
            key = None if shape.path is None else shape.path.lstrip("^")[1:-1]
            inverse = bool(shape.path and shape.path.startswith("^"))
            self.by_class[shape.target_class.strip("<>")].append((shape, key, inverse, focus_tests, value_tests))
        # the predicates of inverse paths: a batch must hold the links to its focus nodes along them
        self.inverse = {key for entries in self.by_class.values() for _, key, inverse, _, _ in entries
                        if inverse and key is not None}

    def check(self, triples: Iterable[Triple], focus: Iterable[str] | None = None,
              pending: Pending | None = None) -> list[Result]:
        """Results on the focus nodes (by default every typed subject) of a batch of triples.

        With ``pending``, an ``sh:class`` test on a value the batch holds no type for is not decided here: it is
        added to ``pending[(value, class)]`` as ``(shape, component, focus)``, for the caller to decide once the
        value's types are known.
        """
        nodes: Nodes = {}
        for s, p, o in triples:
            nodes.setdefault(s, {}).setdefault(p, {})[o] = None
        return self.check_nodes(nodes, focus, pending)

    def check_nodes(self, nodes: Nodes, focus: Iterable[str] | None = None,
                    pending: Pending | None = None) -> list[Result]:
        """:meth:`check` on triples grouped as subject -> predicate -> {object: None}."""
        types: dict[str, Collection[Term]] = {s: props[RDF_TYPE] for s, props in nodes.items() if RDF_TYPE in props}
        in_values: dict[tuple[Term, str], dict[Term, None]] = {}
        for p in self.inverse:
            for s, props in nodes.items():
                for o in props.get(p, ()):
                    in_values.setdefault((o, p), {})[s] = None
        supers: dict[Term, dict[Term, None]] = {s: props[SUBCLASS] for s, props in nodes.items() if SUBCLASS in props}
        if supers:
            for node, direct in list(types.items()):
                seen, todo = set(direct), list(direct)
                while todo:
                    for parent in supers.get(todo.pop(), ()):
                        if parent not in seen:
                            seen.add(parent)
                            todo.append(parent)
                types[node] = seen
        results: list[Result] = []
        empty: dict[Term, None] = {}
        no_props: dict[str, dict[Term, None]] = {}
        by_class = self.by_class
        for node in (list(types) if focus is None else focus):
            props = nodes.get(node, no_props)
            for cls in types.get(node, ()):
                for shape, key, inverse, focus_tests, value_tests in by_class.get(cls, ()):
                    if key is None:  # a node shape: the focus node is the value
                        results.extend(_result(shape, component, node, node) for component, test, _ in value_tests
                                       if test(node, types))
                        continue
                    values = in_values.get((node, key), empty) if inverse else props.get(key, empty)
                    for component, violated_by in focus_tests:
                        if violated_by(values):
                            results.append(_result(shape, component, node, None))
                    for component, test, value_class in value_tests:
                        for v in values:
                            if value_class is not None and pending is not None and v.__class__ is str \
                                    and v not in types:
                                pending.setdefault((v, value_class), []).append((shape, component, node))
                            elif test(v, types):
                                results.append(_result(shape, component, node, v))
        return results


def decide(pending: Pending, known: Mapping[str, Collection[Term]]) -> list[Result]:
    """Results of the open class tests whose value's types are in ``known`` (a value no part has types for has
    none)."""
    return [_result(shape, component, node, value) for (value, cls), uses in pending.items()
            if isinstance(value, str) and value in known and cls not in known[value] for shape, component, node in uses]


def _result(shape: Shape, component: str, node: str, value: Term | None) -> Result:
    return Result(shape.severity, shape.iri, component, nt_term(node), shape.path,
                  None if value is None else nt_term(value), shape.message)
