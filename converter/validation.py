"""SHACL validation of the dumps: pySHACL as the reference engine, and the same shapes evaluated faster.

Every engine gives the same results (the tests check this on the real sample and on one small graph per
constraint)::

    >>> from converter.validation import validate
    >>> report = validate(["output/pfocr.nt"])                     # doctest: +SKIP
    >>> report.conforms, report.count("Violation"), report.engine  # doctest: +SKIP
    (True, 0, 'stream')

Every shape is local to a node, its values and their types. ``engine="stream"`` (the default) therefore reads an
N-Triples or N-Quads dump in blocks, one part of the file per core, without building a graph; other input goes to
``engine="sparql"``, which runs one query per constraint inside a pyoxigraph store. ``engine="python"`` evaluates
the constraints on batches read from a store, and ``engine="pyshacl"`` validates such batches with pySHACL in
parallel processes: batches give the results of one whole-graph run.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any, cast
from typing import Literal as Lit

import pyoxigraph as ox

from .rdf.formats import OXIGRAPH, of_file
from .rdf.terms import Literal as RdfLiteral
from .rdf.terms import Term, Triple, quote_string, read_line
from .records.identifiers import IRIStyle

if TYPE_CHECKING:
    from decimal import Decimal
    from multiprocessing.connection import Connection

    import rdflib
    from rdflib.term import Identifier, Node

SH = "http://www.w3.org/ns/shacl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
Engine = Lit["stream", "sparql", "python", "pyshacl"]
SEVERITIES = ("Violation", "Warning", "Info")
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple  # a term as pyoxigraph gives it

# Lexical forms of the datatypes the shapes use: an ill-typed literal fails sh:datatype, as in pySHACL.
# Surrounding whitespace is allowed: these datatypes collapse it (XSD whiteSpace facet), as pySHACL does.
_LEXICAL = {
    XSD + "integer": r"^\s*[+-]?[0-9]+\s*$",
    XSD + "decimal": r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$",
    XSD + "gYear": r"^\s*-?[0-9]{4,}(Z|[+-][0-9]{2}:[0-9]{2})?\s*$",
    XSD + "double": r"^\s*([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN)\s*$",
    XSD + "float": r"^\s*([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN)\s*$",
}


class ValidationError(Exception):
    """The dumps or the shapes cannot be read."""


@dataclass(frozen=True, order=True)
class Result:
    """One SHACL validation result. Terms are in N-Triples form (IRIs in angle brackets)."""

    severity: str
    shape: str
    component: str
    focus: str
    path: str | None = None  # "<p>" or "^<p>" for an inverse path
    value: str | None = None
    message: str = ""

    def key(self) -> tuple[str, str, str, str, str | None, str | None]:
        """Everything but the message: what must agree between engines."""
        return (self.severity, self.shape, self.component, self.focus, self.path, self.value)


@dataclass
class ValidationReport:
    results: list[Result] = field(default_factory=list)
    engine: str = "sparql"
    figures: int = 0
    seconds: float = 0.0
    located: Mapping[str, str | None] = field(default_factory=dict, repr=False)  # focus -> figid, when known upfront
    store: ox.Store | None = field(default=None, repr=False, compare=False)  # the graph checked, for locating

    @property
    def conforms(self) -> bool:
        """True when there are no violations (warnings are allowed)."""
        return self.count("Violation") == 0

    def count(self, severity: str) -> int:
        return sum(r.severity == severity for r in self.results)

    def to_turtle(self) -> str:
        """The standard SHACL validation report (``sh:conforms`` is false when there is any result)."""
        lines = [
            f"@prefix sh: <{SH}> .",
            "",
            "[] a sh:ValidationReport ;",
            f"    sh:conforms {'false' if self.results else 'true'}" + (" ;" if self.results else " ."),
        ]
        for i, r in enumerate(self.results):
            parts = [
                "a sh:ValidationResult",
                f"sh:resultSeverity <{SH}{r.severity}>",
                f"sh:sourceShape {r.shape}",
                f"sh:sourceConstraintComponent {r.component}",
                f"sh:focusNode {r.focus}",
            ]
            if r.path:
                parts.append(f"sh:resultPath [ sh:inversePath {r.path[1:]} ]" if r.path.startswith("^")
                             else f"sh:resultPath {r.path}")
            if r.value:
                parts.append(f"sh:value {r.value}")
            if r.message:
                parts.append(f"sh:resultMessage {quote_string(r.message)}")
            end = " ;" if i < len(self.results) - 1 else " ."
            lines.append("    sh:result [\n        " + " ;\n        ".join(parts) + "\n    ]" + end)
        return "\n".join(lines) + "\n"


# --- the shapes, read once into plain Python ---------------------------------------------------------------------
@dataclass
class Constraint:
    component: str  # local name of the constraint component, e.g. "MinCountConstraintComponent"
    # what the component takes: an int (sh:minCount, sh:maxCount, sh:minLength), a (pattern, flags) pair
    # (sh:pattern), a list of terms (sh:in, sh:not [ sh:in ]) or one term (the others), terms in N-Triples form
    param: Any


@dataclass
class Shape:
    iri: str
    target_class: str
    path: str | None  # "<p>" or "^<p>" for property shapes, None for node shapes
    severity: str
    message: str
    constraints: list[Constraint]


_COMPONENTS = {
    "minCount": "MinCountConstraintComponent", "maxCount": "MaxCountConstraintComponent",
    "datatype": "DatatypeConstraintComponent", "nodeKind": "NodeKindConstraintComponent",
    "class": "ClassConstraintComponent", "pattern": "PatternConstraintComponent",
    "minInclusive": "MinInclusiveConstraintComponent", "maxInclusive": "MaxInclusiveConstraintComponent",
    "minLength": "MinLengthConstraintComponent", "in": "InConstraintComponent",
    "hasValue": "HasValueConstraintComponent", "not": "NotConstraintComponent",
}
_SHAPE_KEYS = {"targetClass", "path", "severity", "message", "property", "flags", "deactivated"}


def _nt(term: Node | None) -> str:
    """N-Triples form of an rdflib term, written by pyoxigraph like every other term in results."""
    import rdflib

    if isinstance(term, rdflib.Literal):
        if term.language:
            return str(ox.Literal(str(term), language=term.language))
        return str(ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)) if term.datatype else None))
    if isinstance(term, rdflib.BNode):
        return f"_:{term}"
    return f"<{term}>"


def read_shapes(style: IRIStyle = "slash", extra: Sequence[str] = ()) -> list[Shape]:
    """The shapes of ``shapes/`` (and the shape files in ``extra``) as plain objects; refuses any SHACL feature
    the SPARQL engine cannot run."""
    import rdflib
    from rdflib.collection import Collection

    from .shapes import ShapesError, load_shapes

    try:
        g = load_shapes(style, extra)
    except ShapesError as err:
        raise ValidationError(str(err)) from None
    sh = rdflib.Namespace(SH)
    shapes: list[Shape] = []

    def constraints_of(node: Identifier) -> list[Constraint]:
        out = []
        for p, o in sorted(cast("Iterable[tuple[Identifier, Identifier]]", g.predicate_objects(node))):
            name = str(p).removeprefix(SH)
            if not str(p).startswith(SH) or name in _SHAPE_KEYS:
                continue
            if name not in _COMPONENTS:
                raise ValidationError(f"shape {node}: sh:{name} is not supported by the SPARQL engine")
            if name == "in":
                param: Any = [_nt(x) for x in Collection(g, o)]
            elif name == "not":
                inner = list(g.predicate_objects(o))
                if [str(p2) for p2, _ in inner] != [SH + "in"]:
                    raise ValidationError(f"shape {node}: only sh:not [ sh:in (...) ] is supported")
                param = [_nt(x) for x in Collection(g, inner[0][1])]
            elif name in ("minCount", "maxCount", "minLength"):
                param = int(o)
            elif name == "pattern":
                flags = g.value(node, sh.flags)
                param = (str(o), str(flags) if flags else "")
            else:
                param = _nt(o)
            out.append(Constraint(_COMPONENTS[name], param))
        return out

    def severity_of(node: Identifier) -> str:
        value = g.value(node, sh.severity)
        return str(value).removeprefix(SH) if value is not None else "Violation"

    # the shapes graph's nodes and terms are IRIs, blank nodes and literals: rdflib Identifiers, which sort
    for node in sorted(set(cast("Iterable[Identifier]", g.subjects(sh.targetClass, None)))):
        target = g.value(node, sh.targetClass)
        shapes.append(Shape(_nt(node), _nt(target), None, severity_of(node), str(g.value(node, sh.message) or ""),
                            constraints_of(node)))
        for prop in sorted(cast("Iterable[Identifier]", g.objects(node, sh.property))):
            path = g.value(prop, sh.path)
            if isinstance(path, rdflib.BNode):
                inverse = g.value(path, sh.inversePath)
                if inverse is None:
                    raise ValidationError(f"shape {prop}: only predicate and inverse paths are supported")
                path_text = "^" + _nt(inverse)
            else:
                path_text = _nt(path)
            shapes.append(Shape(_nt(prop), _nt(target), path_text, severity_of(prop),
                                str(g.value(prop, sh.message) or ""), constraints_of(prop)))
    return shapes


# --- the SPARQL engine ---------------------------------------------------------------------------------------------
def _value_pattern(path: str) -> str:
    return f"?v {path[1:]} ?f ." if path.startswith("^") else f"?f {path} ?v ."


def _any_same(var: str, terms: list[str]) -> str:
    return "(" + " || ".join(f"sameTerm({var}, {t})" for t in terms) + ")" if terms else "false"


def compile_constraint(shape: Shape, c: Constraint) -> tuple[str, bool]:
    """A SELECT query returning ``?f`` (and ``?v`` when the second item is true) for every violation."""
    focus = f"?f <{RDF_TYPE}>/<http://www.w3.org/2000/01/rdf-schema#subClassOf>* {shape.target_class} ."
    name, param = c.component, c.param
    if shape.path is None:  # node shape: the focus node is the value
        test = {
            "NodeKindConstraintComponent": lambda: _node_kind_test("?f", str(param)),
            "PatternConstraintComponent": lambda: _pattern_test("?f", *param),
        }.get(name)
        if test is None:
            raise ValidationError(f"{shape.iri}: {name} on a node shape is not supported")
        return f"SELECT DISTINCT ?f WHERE {{ {focus} FILTER({test()}) }}", False
    values = _value_pattern(shape.path)
    if name == "MinCountConstraintComponent":
        if param == 1:
            return f"SELECT DISTINCT ?f WHERE {{ {focus} FILTER NOT EXISTS {{ {values} }} }}", False
        return (f"SELECT ?f WHERE {{ {focus} OPTIONAL {{ {values} }} }} GROUP BY ?f "
                f"HAVING (COUNT(DISTINCT ?v) < {param})"), False
    if name == "MaxCountConstraintComponent":
        if param == 0:
            return f"SELECT DISTINCT ?f WHERE {{ {focus} {values} }}", False
        return (f"SELECT ?f WHERE {{ {focus} {values} }} GROUP BY ?f "
                f"HAVING (COUNT(DISTINCT ?v) > {param})"), False
    if name == "HasValueConstraintComponent":
        pattern = values.replace("?v", str(param))
        return f"SELECT DISTINCT ?f WHERE {{ {focus} FILTER NOT EXISTS {{ {pattern} }} }}", False
    tests = {
        "DatatypeConstraintComponent": lambda: _datatype_test(str(param)),
        "NodeKindConstraintComponent": lambda: _node_kind_test("?v", str(param)),
        "ClassConstraintComponent": lambda: (
            f"NOT EXISTS {{ ?v <{RDF_TYPE}>/<http://www.w3.org/2000/01/rdf-schema#subClassOf>* {param} }}"),
        "PatternConstraintComponent": lambda: _pattern_test("?v", *param),
        "MinInclusiveConstraintComponent": lambda: f"!COALESCE(?v >= {param}, false)",
        "MaxInclusiveConstraintComponent": lambda: f"!COALESCE(?v <= {param}, false)",
        "MinLengthConstraintComponent": lambda: f"isBlank(?v) || STRLEN(STR(?v)) < {param}",
        "InConstraintComponent": lambda: "!" + _any_same("?v", param),
        "NotConstraintComponent": lambda: _any_same("?v", param),
    }
    return f"SELECT DISTINCT ?f ?v WHERE {{ {focus} {values} FILTER({tests[name]()}) }}", True


def _datatype_test(datatype: str) -> str:
    test = f"!isLiteral(?v) || datatype(?v) != {datatype}"
    lexical = _LEXICAL.get(datatype.strip("<>"))
    if lexical:
        test += f" || !REGEX(STR(?v), {quote_string(lexical)})"
    if datatype.strip("<>") == XSD + "string":
        test += " || langMatches(lang(?v), \"*\")"
    return test


def _node_kind_test(var: str, kind: str) -> str:
    return {
        f"<{SH}IRI>": f"!isIRI({var})",
        f"<{SH}Literal>": f"!isLiteral({var})",
        f"<{SH}BlankNode>": f"!isBlank({var})",
        f"<{SH}BlankNodeOrIRI>": f"isLiteral({var})",
        f"<{SH}IRIOrLiteral>": f"isBlank({var})",
        f"<{SH}BlankNodeOrLiteral>": f"isIRI({var})",
    }[kind]


def _pattern_test(var: str, pattern: str, flags: str) -> str:
    args = f"STR({var}), {quote_string(pattern)}" + (f", {quote_string(flags)}" if flags else "")
    return f"isBlank({var}) || !REGEX({args})"


def _term_nt(term: OxTerm) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return str(term)  # pyoxigraph prints literals in N-Triples form


def _sparql_results(store: ox.Store, shapes: list[Shape]) -> list[Result]:
    results = []
    for shape in shapes:
        for c in shape.constraints:
            query, has_value = compile_constraint(shape, c)
            for row in cast("ox.QuerySolutions", store.query(query, use_default_graph_as_union=True)):
                focus = _term_nt(row["f"])
                value = _term_nt(row["v"]) if has_value else (focus if shape.path is None else None)
                results.append(Result(shape.severity, shape.iri, f"<{SH}{c.component}>",
                                      focus, shape.path, value, shape.message))
    return results


# --- the Python engine: the same constraints evaluated on triples in memory ------------------------------------
_NUMERIC = {XSD + t for t in ("integer", "decimal", "double", "float", "int", "long", "short", "byte",
                              "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
                              "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}
_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"


def _is_blank(term: Term) -> bool:
    return isinstance(term, str) and term.startswith("_:")


def _fmt(term: Term) -> str:
    """N-Triples form of a term of :mod:`converter.rdf.terms` (blank nodes are ``_:`` strings), as pyoxigraph
    writes it."""
    if isinstance(term, RdfLiteral):
        if term.language:
            return str(ox.Literal(term.lexical, language=term.language))
        return str(ox.Literal(term.lexical, datatype=ox.NamedNode(term.datatype) if term.datatype else None))
    return term if _is_blank(term) else f"<{term}>"


def _lexical(term: Term) -> str:
    return term.lexical if isinstance(term, RdfLiteral) else term


@functools.lru_cache(maxsize=1 << 16)  # scores and ranks repeat across figures
def _number(term: Term) -> Decimal | None:
    from decimal import Decimal, InvalidOperation

    if not isinstance(term, RdfLiteral) or term.datatype not in _NUMERIC:
        return None
    lexical = _LEXICAL.get(term.datatype, _LEXICAL[XSD + "integer"] if "nteger" in term.datatype or
                           term.datatype.endswith(("long", "short", "byte", "int")) else None)
    if lexical is not None and re.search(lexical, term.lexical) is None:
        return None  # an ill-typed literal compares with nothing, as in SPARQL
    try:
        number = Decimal(term.lexical.strip().replace("INF", "Infinity"))
    except InvalidOperation:
        return None
    return None if number.is_nan() else number


def _parse_nt_term(text: str) -> Term:
    """A term in N-Triples form (a shape parameter) as a :mod:`converter.rdf.terms` term."""
    if text.startswith("<"):
        return text[1:-1]
    for triple in ox.parse(f"<x:s> <x:p> {text} .", format=ox.RdfFormat.N_TRIPLES):
        return _from_ox(triple.object)
    raise ValueError(text)


def _from_ox(term: OxTerm) -> Term:
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    literal = cast("ox.Literal", term)  # RDF 1.2 triple terms are not read
    dt = literal.datatype.value
    if literal.language:
        return RdfLiteral(literal.value, None, literal.language)
    return RdfLiteral(literal.value, None if dt == XSD + "string" else dt)


# A node's classes, and a constraint's test: (value, node -> classes) -> whether the value violates it (for
# sh:hasValue, the value is the whole {value: None} of the property); the tests read values with .__class__ checks
_Types = Mapping[str, Collection[Term]]
_Test = Callable[[Any, _Types], bool]
_Count = tuple[str, int | None, int | None]  # component, sh:minCount, sh:maxCount
_Check = tuple[str, str, _Test, str | None]  # component IRI, its local name, the test, the sh:class it asks for
# a shape of a class: the shape, its path's IRI (None: a node shape), whether the path is inverse, its tests
_ShapeEntry = tuple[Shape, str | None, bool, list[_Count], list[_Check]]
_Nodes = dict[str, dict[str, dict[Term, None]]]  # subject -> predicate -> {object: None}
# (value, class) -> (shape, component, focus node) of each sh:class test left for the caller to decide
_Pending = dict[tuple[str, str], list[tuple[Shape, str, str]]]


class Evaluator:
    """The shapes evaluated in Python on a closed batch of triples (no store, no parsing).

    A batch holds the focus nodes' triples, the rdf:type triples of their values and the inverse-path links; as in
    the pySHACL engine, only results on the batch's own focus nodes count. Each constraint is compiled once into a
    small test, so checking a node costs a few dictionary lookups per property shape.
    """

    def __init__(self, shapes: list[Shape]) -> None:
        # class -> [(shape, path key, inverse?, [(component, min, max)], [(component, test)], [node tests])]
        self.by_class: dict[Term, list[_ShapeEntry]] = defaultdict(list)  # keyed by class IRIs
        for shape in shapes:
            counts: list[_Count] = []
            tests: list[_Check] = []
            for c in shape.constraints:
                component = f"<{SH}{c.component}>"
                if c.component == "MinCountConstraintComponent":
                    counts.append((component, c.param, None))
                elif c.component == "MaxCountConstraintComponent":
                    counts.append((component, None, c.param))
                else:
                    cls = c.param.strip("<>") if c.component == "ClassConstraintComponent" else None
                    tests.append((component, c.component, _compile_test(c), cls))
            key = None if shape.path is None else shape.path.lstrip("^")[1:-1]
            inverse = bool(shape.path and shape.path.startswith("^"))
            self.by_class[shape.target_class.strip("<>")].append((shape, key, inverse, counts, tests))
        # the IRIs of the inverse paths (a path has an IRI)
        self.inverse = cast("set[str]", {key for entries in self.by_class.values()
                                       for _, key, inverse, _, _ in entries if inverse})

    def check(self, triples: Iterable[Triple], focus: Iterable[str] | None = None,
              pending: _Pending | None = None) -> list[Result]:
        """Results on the focus nodes (by default every typed subject) of a batch of triples.

        With ``pending``, an ``sh:class`` test on a value the batch holds no type for is not decided here: it is
        added to ``pending[(value, class)]`` as ``(shape, component, focus)``, for the caller to decide once the
        value's types are known.
        """
        nodes: _Nodes = {}
        for s, p, o in triples:
            nodes.setdefault(s, {}).setdefault(p, {})[o] = None
        return self.check_nodes(nodes, focus, pending)

    def check_nodes(self, nodes: _Nodes, focus: Iterable[str] | None = None,
                    pending: _Pending | None = None) -> list[Result]:
        """:meth:`check` on triples grouped as subject -> predicate -> {object: None}."""
        types: dict[str, Collection[Term]] = {s: props[RDF_TYPE] for s, props in nodes.items() if RDF_TYPE in props}
        in_values: dict[tuple[Term, str], dict[Term, None]] = {}
        for p in self.inverse:
            for s, props in nodes.items():
                for o in props.get(p, ()):
                    in_values.setdefault((o, p), {})[s] = None
        supers: dict[Term, dict[Term, None]] = {s: props[_SUBCLASS] for s, props in nodes.items() if _SUBCLASS in props}
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
        empty: dict[Any, Any] = {}  # no properties, no values
        by_class = self.by_class
        for node in (list(types) if focus is None else focus):
            props = nodes.get(node, empty)
            for cls in types.get(node, ()):
                for shape, key, inverse, counts, tests in by_class.get(cls, ()):
                    if key is None:  # a node shape: the focus node is the value
                        results.extend(_result(shape, component, node, node) for component, name, test, _ in tests
                                       if test(node, types))
                        continue
                    values = in_values.get((node, key), empty) if inverse else props.get(key, empty)
                    for component, low, high in counts:
                        if (low is not None and len(values) < low) or (high is not None and len(values) > high):
                            results.append(_result(shape, component, node, None))
                    for component, name, test, value_class in tests:
                        if name == "HasValueConstraintComponent":
                            if not test(values, types):
                                results.append(_result(shape, component, node, None))
                            continue
                        for v in values:
                            if value_class is not None and pending is not None and type(v) is str \
                                    and v not in types:
                                pending.setdefault((v, value_class), []).append((shape, component, node))
                            elif test(v, types):
                                results.append(_result(shape, component, node, v))
        return results


def _result(shape: Shape, component: str, node: str, value: Term | None) -> Result:
    return Result(shape.severity, shape.iri, component, _fmt(node), shape.path,
                  None if value is None else _fmt(value), shape.message)


def _compile_test(c: Constraint) -> _Test:
    """A function (value, types) -> True when the value violates the constraint (for sh:hasValue: when the value
    list holds the required value)."""
    name, param = c.component, c.param
    if name == "DatatypeConstraintComponent":
        datatype = param.strip("<>")
        if datatype == XSD + "string":
            return lambda v, types: v.__class__ is not RdfLiteral or v.datatype is not None or bool(v.language)
        lexical = re.compile(_LEXICAL[datatype]) if datatype in _LEXICAL else None
        return lambda v, types: (v.__class__ is not RdfLiteral or v.datatype != datatype
                                 or (lexical is not None and lexical.search(v.lexical) is None))
    if name == "NodeKindConstraintComponent":
        kind = param.strip("<>").removeprefix(SH)
        allowed = {"IRI": "i", "Literal": "l", "BlankNode": "b", "BlankNodeOrIRI": "bi", "IRIOrLiteral": "il",
                   "BlankNodeOrLiteral": "bl"}[kind]
        return lambda v, types: ("l" if v.__class__ is RdfLiteral else "b" if v[:2] == "_:" else "i") not in allowed
    if name == "ClassConstraintComponent":
        cls = param.strip("<>")
        return lambda v, types: v.__class__ is not str or cls not in types.get(v, ())
    if name == "PatternConstraintComponent":
        pattern, flags = param
        regex = re.compile(pattern, sum(getattr(re, f.upper()) for f in flags if f.upper() in "IMSX"))
        return lambda v, types: (regex.search(v.lexical) is None if v.__class__ is RdfLiteral
                                 else v[:2] == "_:" or regex.search(v) is None)
    if name in ("MinInclusiveConstraintComponent", "MaxInclusiveConstraintComponent"):
        bound = _number(_parse_nt_term(param))
        low = name.startswith("Min")

        def out_of_range(v: Term, types: _Types) -> bool:
            n = _number(v)
            return n is None or bound is None or (n < bound if low else n > bound)
        return out_of_range
    if name == "MinLengthConstraintComponent":
        return lambda v, types: _is_blank(v) or len(_lexical(v)) < param
    if name in ("InConstraintComponent", "NotConstraintComponent"):
        terms = frozenset(_parse_nt_term(t) for t in param)
        if name == "InConstraintComponent":
            return lambda v, types: v not in terms
        return lambda v, types: v in terms
    if name == "HasValueConstraintComponent":
        required = _parse_nt_term(param)
        return lambda values, types: required in values
    raise ValidationError(f"{name} is not supported by the Python engine")


def _python_results(store: ox.Store, shapes: list[Shape], batch_size: int) -> list[Result]:
    evaluator = Evaluator(shapes)
    results: list[Result] = []
    for triples, batch in _batch_triples(store, shapes, batch_size):
        keep = set(batch)
        results.extend(r for r in evaluator.check(triples, [_parse_focus(f) for f in batch]) if r.focus in keep)
    return results


def _parse_focus(text: str) -> str:
    return text[1:-1] if text.startswith("<") else text


# --- the pySHACL engine ---------------------------------------------------------------------------------------------
def _pyshacl_batch(args: tuple[list[Triple], IRIStyle, Sequence[str], list[str]]) -> list[Result]:
    """Validate one batch with pySHACL; keep the results whose focus node is in the batch."""
    import pyshacl
    import rdflib

    from .shapes import load_shapes

    triples, style, extra, focus = args

    def term(t: Term) -> rdflib.term.Identifier:  # blank nodes keep their labels: results name the batch's nodes
        if isinstance(t, RdfLiteral):
            return rdflib.Literal(t.lexical, lang=t.language,
                                  datatype=rdflib.URIRef(t.datatype) if t.datatype else None, normalize=False)
        return rdflib.BNode(t[2:]) if _is_blank(t) else rdflib.URIRef(t)

    graph = rdflib.Graph()
    for s, p, o in triples:
        graph.add((term(s), term(p), term(o)))

    _conforms, report, _text = pyshacl.validate(graph, shacl_graph=load_shapes(style, extra), inference="none",
                                                advanced=False, allow_warnings=True)
    return [r for r in results_from_graph(report) if r.focus in set(focus)]


def results_from_graph(report: rdflib.Graph) -> list[Result]:
    """Results of a SHACL validation report given as an rdflib graph (pySHACL's output)."""
    import rdflib

    sh = rdflib.Namespace(SH)
    out = []
    for node in report.subjects(rdflib.RDF.type, sh.ValidationResult):
        path = report.value(node, sh.resultPath)
        if isinstance(path, rdflib.BNode):
            path_text: str | None = "^" + _nt(report.value(path, sh.inversePath))
        else:
            path_text = _nt(path) if path is not None else None
        value = report.value(node, sh.value)
        message = report.value(node, sh.resultMessage)
        out.append(Result(
            str(report.value(node, sh.resultSeverity)).removeprefix(SH),
            _nt(report.value(node, sh.sourceShape)),
            _nt(report.value(node, sh.sourceConstraintComponent)),
            _nt(report.value(node, sh.focusNode)),
            path_text,
            _nt(value) if value is not None else None,
            str(message) if message is not None else "",
        ))
    return out


def _batch_triples(store: ox.Store, shapes: list[Shape], batch_size: int) -> Iterator[tuple[list[Triple], list[str]]]:
    """Batches of focus nodes with their triples, the types of their values, inverse-path links, and every
    rdfs:subClassOf triple of the data (targets and sh:class follow subclasses)."""
    rdf_type, subclass = ox.NamedNode(RDF_TYPE), ox.NamedNode(_SUBCLASS)
    inverse = sorted({s.path[2:-1] for s in shapes if s.path and s.path.startswith("^")})
    hierarchy = {(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, subclass, None)}
    focus: dict[str, ox.NamedNode | ox.BlankNode] = {}
    for target in sorted({s.target_class for s in shapes if s.target_class}):
        query = f"SELECT DISTINCT ?f WHERE {{ ?f <{RDF_TYPE}>/<{_SUBCLASS}>* {target} }}"
        for row in cast("ox.QuerySolutions", store.query(query, use_default_graph_as_union=True)):
            focus.setdefault(_term_nt(row["f"]), row["f"])
    nodes = sorted(focus.items())
    for start in range(0, len(nodes), batch_size):
        batch = nodes[start:start + batch_size]
        found = set(hierarchy)
        for _, f in batch:
            for q in store.quads_for_pattern(f, None, None):
                found.add((q.subject, q.predicate, q.object))
                if not isinstance(q.object, ox.Literal):
                    found.update((t.subject, t.predicate, t.object)
                                 for t in store.quads_for_pattern(q.object, rdf_type, None))
            for p in inverse:
                for q in store.quads_for_pattern(None, ox.NamedNode(p), f):
                    found.add((q.subject, q.predicate, q.object))
                    found.update((t.subject, t.predicate, t.object)
                                 for t in store.quads_for_pattern(q.subject, rdf_type, None))
        triples = sorted((tuple(_from_ox(t) for t in triple) for triple in found), key=repr)
        # subjects and predicates are IRIs or blank nodes: strings
        yield cast("list[Triple]", triples), [name for name, _ in batch]


def _pyshacl_results(store: ox.Store, shapes: list[Shape], style: IRIStyle, extra: Sequence[str],
                     batch_size: int, jobs: int) -> list[Result]:
    work = ((triples, style, extra, batch) for triples, batch in _batch_triples(store, shapes, batch_size))
    if jobs <= 1:
        return [r for part in map(_pyshacl_batch, work) for r in part]
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return [r for part in pool.imap(_pyshacl_batch, work) for r in part]


# --- the stream engine: N-Triples and N-Quads dumps read in blocks, on every core ---------------------------------
class NotStreamable(Exception):
    """The dump's layout does not let blocks be checked alone; a store-based engine must read it."""


_IMAGE_OBJECT = "https://schema.org/ImageObject"
_STREAMED = ("nt", "nq")
_CHUNK = 1 << 23
_PART_BYTES = 1 << 24  # smaller dumps are read in one process
_BATCH = 4000  # triples per evaluator call: whole blocks, so every subject's triples are checked together


def _root(term: str) -> str:
    """Nodes with one root (an IRI up to its fragment; a blank node alone) must sit together in a dump."""
    return term.partition("#")[0]


def _lines(path: str, start: int, end: int) -> Iterator[str]:
    """The lines in bytes [start, end) of a file that has line breaks at both ends of the range."""
    with open(path, "rb") as fh:
        fh.seek(start)
        left, carry = end - start, b""
        while left > 0:
            chunk = fh.read(min(_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            chunk = carry + chunk
            cut = chunk.rfind(b"\n") + 1 if left > 0 else len(chunk)
            carry = chunk[cut:]
            try:
                text = chunk[:cut].decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValidationError(f"{path}: invalid UTF-8 near byte {start + err.start}") from None
            start += cut
            yield from text.split("\n")


def _split(path: str, parts: int) -> list[tuple[int, int]]:
    """Byte ranges of about equal size, each starting at a line whose root differs from the line before."""
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as fh:
        for i in range(1, parts):
            fh.seek(max(size * i // parts, cuts[-1]))
            fh.readline()
            before = None
            while True:
                at, line = fh.tell(), fh.readline()
                if not line:
                    at = size
                    break
                root = _root(line.split(b" ", 1)[0].decode("utf-8", "replace").strip("<>"))
                if before is not None and root != before:
                    break
                before = root
            cuts.append(at)
    cuts.append(size)
    return [(a, b) for a, b in pairwise(cuts) if b > a]


class _Part:
    """One byte range of one dump: its own results, and the class tests it needs other parts' types for."""

    def __init__(self, evaluator: Evaluator, path: str, start: int, end: int) -> None:
        self.evaluator, self.path, self.start, self.end = evaluator, path, start, end
        self.types: dict[str, frozenset[Term]] = {}
        self.pending: _Pending = {}
        self.refs: dict[str, str] = {}  # node -> the first node of another root linking to it

    def scan(self) -> tuple[list[Result], set[tuple[str, str]], set[str], int]:
        """Checks every block; returns the results, the (value, class) tests left open, the roots and the figure
        count. Raises NotStreamable when a root comes back after another or a link needs another root's node."""
        evaluator, pending, refs = self.evaluator, self.pending, self.refs
        inverse = evaluator.inverse
        fmt = OXIGRAPH[of_file(self.path) or "nt"]
        results: list[Result] = []
        roots: set[str] = set()
        nodes: _Nodes = {}
        props: dict[str, dict[Term, None]] = {}
        root = last = ""  # no node yet: a node's root is never empty
        size = 0
        for line in _lines(self.path, self.start, self.end):
            triple = read_line(line)
            if triple is None:
                triple = self._parse(line, fmt)
                if triple is None:
                    continue
            s, p, o = triple
            if s != last:
                last = s
                here = _root(s)
                if here != root:
                    if here in roots:
                        raise NotStreamable(f"the triples of <{here}> are not together")
                    if size >= _BATCH:
                        results.extend(self._check(nodes))
                        nodes, size = {}, 0
                    roots.add(here)
                    root = here
                found = nodes.get(s)
                if found is None:
                    found = nodes[s] = {}
                props = found
            objects = props.get(p)
            if objects is None:
                props[p] = {o: None}
            else:
                objects[o] = None
            size += 1
            if type(o) is str and p != RDF_TYPE:
                if p == _SUBCLASS:
                    raise NotStreamable("the data declares subclasses")
                if p in inverse and _root(o) != root:
                    raise NotStreamable(f"<{p}> links <{s}> to a node with another root")
                if o not in refs and not o.startswith(root):
                    refs[o] = s
        results.extend(self._check(nodes))
        results.extend(self.decide(self.types))
        figures = sum(_IMAGE_OBJECT in t for t in self.types.values())
        return results, {key for key in pending if key[0] not in self.types}, roots, figures

    def _check(self, nodes: _Nodes) -> list[Result]:
        shared: dict[frozenset[Term], frozenset[Term]] = {}
        for s, props in nodes.items():
            if RDF_TYPE in props:
                t = frozenset(o for o in props[RDF_TYPE] if o.__class__ is str)
                self.types[s] = shared.setdefault(t, t)
        return self.evaluator.check_nodes(nodes, pending=self.pending)

    def _parse(self, line: str, fmt: ox.RdfFormat) -> Triple | None:
        try:
            for quad in ox.parse(line, format=fmt):
                # its subject and predicate are IRIs or blank nodes: strings
                return cast("Triple", tuple(_from_ox(t) for t in (quad.subject, quad.predicate, quad.object)))
        except SyntaxError as err:
            raise ValidationError(f"{self.path}: {err}: {line[:200]}") from None
        return None

    def types_of(self, values: list[str]) -> dict[str, frozenset[Term]]:
        return {v: self.types[v] for v in values if v in self.types}

    def decide(self, known: dict[str, frozenset[Term]]) -> list[Result]:
        """Results of the open class tests whose value's types are in ``known`` (all of them, at the end: a value
        no part has types for has none)."""
        return [_result(shape, component, node, value) for (value, cls), uses in self.pending.items()
                if value in known and cls not in known[value] for shape, component, node in uses]

    def referrers(self, values: set[str]) -> dict[str, str]:
        """A node of another root linking to each value, for locating results on nodes outside any figure."""
        return {value: self.refs[value] for value in values if value in self.refs}


def _serve_part(conn: Connection, part: _Part) -> None:
    try:
        while True:
            method, args = conn.recv()
            if method == "close":
                break
            conn.send(("ok", getattr(part, method)(*args)))
    except (NotStreamable, ValidationError) as err:
        conn.send(("error", err))
    finally:
        conn.close()
        os._exit(0)  # the part's tables are thrown away whole, not freed object by object


def _figid(node: str) -> str | None:
    iri = node.strip("<>").partition("#")[0]
    if iri.startswith(FIGURES) and iri.endswith(".html"):
        return iri[len(FIGURES):-len(".html")]
    return None


def _stream(paths: list[str], shapes: list[Shape], jobs: int) -> ValidationReport:
    """Validates N-Triples/N-Quads dumps whose nodes sit together by root, as pfocr-rdf writes them: every shape is
    local to a node, its values and their types, so each part checks its blocks alone and the parts then settle the
    class tests on values another part holds."""
    evaluator = Evaluator(shapes)
    ranges = [(path, a, b) for path in paths
              for a, b in _split(path, max(1, min(jobs, os.path.getsize(path) // _PART_BYTES)))]
    parts = [_Part(evaluator, *r) for r in ranges]
    workers = [_Local(p) for p in parts] if len(parts) == 1 or jobs <= 1 else [_Worker(p) for p in parts]
    try:
        return _settle(workers)
    finally:
        for worker in workers:
            worker.close()


def _settle(workers: Sequence[_Local | _Worker]) -> ValidationReport:
    def everyone(method: str, *args: Any) -> list[Any]:
        for worker in workers:
            worker.ask(method, *args)
        return [worker.answer() for worker in workers]

    results: list[Result] = []
    roots: set[str] = set()
    wanted: set[str] = set()
    figures = 0
    for found, open_tests, part_roots, count in everyone("scan"):
        if roots & part_roots:
            raise NotStreamable("a root's triples are in two places")
        results += found
        roots |= part_roots
        wanted.update(value for value, _ in open_tests)
        figures += count
    known: dict[str, frozenset[Term]] = {}
    for types in everyone("types_of", sorted(wanted)):
        known.update(types)
    known.update((value, frozenset()) for value in wanted - known.keys())
    for found in everyone("decide", known):
        results += found
    located: dict[str, str | None] = {r.focus: _figid(r.focus) for r in results if _figid(r.focus)}
    # A node outside every figure is located by the figure linking to it, or to a node linking to it (a taxon:
    # through a gene); a few hops at most.
    chase = {r.focus[1:-1]: r.focus for r in results if r.focus not in located and r.focus.startswith("<")}
    for _hop in range(3):
        if not chase:
            break
        found_refs: dict[str, str] = {}
        for refs in everyone("referrers", set(chase)):
            for value, node in refs.items():
                found_refs.setdefault(value, node)
        chase_next: dict[str, str] = {}
        for value, node in found_refs.items():
            if _figid(node):
                located.setdefault(chase[value], _figid(node))
            else:
                chase_next[node] = chase[value]
        chase = chase_next
    return ValidationReport(sorted(set(results)), "stream", figures, located=located)


class _Local:
    """A part checked in this process."""

    def __init__(self, part: _Part) -> None:
        self.part = part

    def ask(self, method: str, *args: Any) -> None:
        self.value = getattr(self.part, method)(*args)

    def answer(self) -> Any:
        return self.value

    def close(self) -> None:
        pass


class _Worker:
    """A part checked in a forked process that keeps its state between questions."""

    def __init__(self, part: _Part) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.path = part.path
        self.conn, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_serve_part, args=(theirs, part), daemon=True)
        self.process.start()
        theirs.close()

    def ask(self, method: str, *args: Any) -> None:
        self.conn.send((method, args))

    def answer(self) -> Any:
        try:
            status, value = self.conn.recv()
        except EOFError:
            raise ValidationError(f"{self.path}: a validation worker stopped") from None
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        with suppress(OSError):
            self.conn.send(("close", ()))
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


# --- loading and the public function ---------------------------------------------------------------------------------
def load_dumps(paths: Iterable[str]) -> ox.Store:
    """An in-memory store holding the given dumps."""
    store = ox.Store()
    for path in paths:
        fmt = of_file(path)
        if fmt is None:
            raise ValidationError(f"{path}: not a dump (expected .nt, .nq, .ttl or .jsonld)")
        try:
            store.bulk_load(path=path, format=OXIGRAPH[fmt])
        except (OSError, SyntaxError, ValueError) as err:
            raise ValidationError(f"{path}: {err}") from None
    return store


def validate(
    dumps: Iterable[str] = (),
    *,
    store: ox.Store | None = None,
    engine: Engine = "sparql",
    iri_style: IRIStyle = "slash",
    batch_size: int = 2000,
    jobs: int | None = None,
    shapes: Sequence[str] = (),
) -> ValidationReport:
    """Validate dumps (or an open store) against the shapes in ``shapes/`` and the shape files in ``shapes``;
    returns the results, sorted."""
    started = time.perf_counter()
    extra = list(shapes)
    checked = read_shapes(iri_style, extra)
    dumps = list(dumps)
    if engine == "stream":
        if store is None and dumps and all(of_file(d) in _STREAMED for d in dumps):
            try:
                report = _stream(dumps, checked, jobs or os.cpu_count() or 1)
            except NotStreamable:
                pass
            else:
                report.seconds = time.perf_counter() - started
                return report
        engine = "sparql"
    if store is None:
        store = load_dumps(dumps)
    if engine == "sparql":
        results = _sparql_results(store, checked)
    elif engine == "python":
        results = _python_results(store, checked, batch_size)
    elif engine == "pyshacl":
        results = _pyshacl_results(store, checked, iri_style, extra, batch_size, jobs or os.cpu_count() or 1)
    else:
        raise ValidationError(f"unknown engine {engine!r}; choose sparql, python or pyshacl")
    report = ValidationReport(sorted(set(results)), engine, store=store)
    report.figures = _count(store, "<https://schema.org/ImageObject>")
    report.seconds = time.perf_counter() - started
    return report


def _count(store: ox.Store, cls: str) -> int:
    rows = cast("ox.QuerySolutions", store.query(f"SELECT (COUNT(DISTINCT ?f) AS ?n) WHERE {{ ?f <{RDF_TYPE}> {cls} }}",
                                               use_default_graph_as_union=True))
    return int(next(iter(rows))["n"].value)


# --- what a curator reads -----------------------------------------------------------------------------------------
FIGURES = "https://pfocr.wikipathways.org/figures/"


def figure_of(store: ox.Store, focus: str) -> str | None:
    """The figid of a figure the focus node belongs to or is linked from (for locating a problem)."""
    iri = focus.strip("<>").split("#", 1)[0]
    if iri.startswith(FIGURES) and iri.endswith(".html"):
        return iri[len(FIGURES):-len(".html")]
    if not focus.startswith("<"):
        return None
    query = f"""PREFIX schema: <https://schema.org/>
        SELECT ?fig WHERE {{
          {{ ?fig schema:isPartOf|schema:mentions|schema:about {focus} }}
          UNION {{ ?a schema:isPartOf|schema:publisher {focus} . ?fig schema:isPartOf ?a }}
          UNION {{ ?g schema:taxonomicRange {focus} . ?fig schema:mentions ?g }}
          FILTER(STRSTARTS(STR(?fig), "{FIGURES}"))
        }} ORDER BY ?fig LIMIT 1"""
    for row in cast("ox.QuerySolutions", store.query(query, use_default_graph_as_union=True)):
        return figure_of(store, _term_nt(row["fig"]))
    return None


def summary(report: ValidationReport, sources: dict[str, str], examples: int = 3) -> str:
    """Results grouped by shape and constraint, with counts and the first examples located by figid and file."""
    store = report.store
    groups: dict[tuple[str, str, str, str], list[Result]] = defaultdict(list)
    for r in report.results:
        groups[(r.severity, r.shape, r.component, r.message)].append(r)
    lines = [f"{report.figures} figures checked ({report.engine}): {report.count('Violation')} violations, "
             f"{report.count('Warning')} warnings, {report.seconds:.1f} s"]
    order = {s: i for i, s in enumerate(SEVERITIES)}
    for (severity, shape, component, message), items in sorted(groups.items(), key=lambda kv: (
            order.get(kv[0][0], 9), kv[0][1], kv[0][2])):
        name = shape.strip("<>").rsplit("#", 1)[-1]
        lines.append(f"{severity} {name} ({component.strip('<>').removeprefix(SH)}): {len(items)}")
        lines.append(f"    {message}")
        for r in items[:examples]:
            figid = report.located.get(r.focus) or (figure_of(store, r.focus) if store is not None else None)
            where = f"figure {figid}" + (f" in {sources[figid]}" if figid in sources else "") if figid else "no figure"
            shown = f" value {r.value}" if r.value and r.value != r.focus else ""
            lines.append(f"    - {r.focus}{shown} ({where})")
    return "\n".join(lines)
