"""The SHACL constraint components the shapes may use: one class each, its SPARQL form beside its streaming test.

Grouped as the SHACL specification groups them (section 4): value type, cardinality, value range, string-based,
logical and other components; the property pair and shape-based ones are not used by the shapes, and
:func:`converter.validate.shape.read_shapes` refuses them. Each class reads its parameter from the shapes graph,
writes the SPARQL the ``sparql`` engine runs in a store, and tests terms in Python for the ``stream`` engine and
``convert --validate``. The two forms sit side by side so that a change to one is made next to the other; the tests
hold both to pySHACL's results, constraint by constraint.

There are two kinds, by what a result is about:

- a :class:`ValueConstraint` tests each value node on its own (for a node shape, the focus node itself) and gives
  one result per failing value, with ``sh:value``;
- a :class:`FocusConstraint` (cardinality, ``sh:hasValue``) tests a focus node's values as a whole and gives one
  result per failing focus node, without ``sh:value``.

    >>> MinCount(1).violated_by({})  # a focus node with no value on the path
    True
    >>> Pattern(("^PMC[0-9]+$", "")).violates(Literal("pmc12"), {})
    True
    >>> print(Pattern(("^PMC[0-9]+$", "")).sparql("?v"))
    isBlank(?v) || !REGEX(STR(?v), "^PMC[0-9]+$")
    >>> print(MaxInclusive('"1"^^<http://www.w3.org/2001/XMLSchema#decimal>').sparql("?v"))
    !COALESCE(?v <= "1"^^<http://www.w3.org/2001/XMLSchema#decimal>, false)
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from ..rdf.terms import Literal, Term, quote_string
from ..rdf.vocab import RDF_TYPE, XSD
from .report import ValidationError
from .terms import LEXICAL, SH, SUBCLASS, nt_of_rdflib, number, parse_nt

if TYPE_CHECKING:
    from rdflib import Graph
    from rdflib.term import Node

Types = Mapping[str, Collection[Term]]  # node -> its classes (with their superclasses when the data declares any)
Values = Collection[Term]  # a focus node's values on a shape's path


class Constraint(ABC):
    """A constraint of a shape: a SHACL constraint component with its parameter (``param``, as in the shapes graph:
    a count, a pattern and its flags, a term or terms in N-Triples form)."""

    parameter: ClassVar[str]  # the SHACL parameter that selects the component, e.g. "minCount"
    component: ClassVar[str]  # the component's local name in sh:, e.g. "MinCountConstraintComponent"

    @property
    def iri(self) -> str:
        """The component's IRI in N-Triples form, as results give it."""
        return f"<{SH}{self.component}>"

    @classmethod
    @abstractmethod
    def read(cls, graph: Graph, shape: Node, value: Node) -> Constraint:
        """The constraint that ``shape`` states with ``value`` for this parameter in the shapes graph."""

    @abstractmethod
    def select(self, focus: str, values: str) -> str:
        """A SPARQL SELECT giving ``?f`` for every failing focus node (and ``?v`` for every failing value, for a
        value constraint), given the pattern binding ``?f`` to the focus nodes and the one binding ``?v`` to their
        values."""


class ValueConstraint(Constraint):
    """A test on each value node: one result per failing value."""

    @property
    def value_class(self) -> str | None:
        """The class a value must have, when the test needs the value's types (which another part of a dump may
        hold: the stream engine then decides once it knows them)."""
        return None

    @abstractmethod
    def sparql(self, var: str) -> str:
        """A SPARQL expression that is true when the term in ``var`` fails the constraint."""

    @abstractmethod
    def violates(self, value: Term, types: Types) -> bool:
        """True when ``value`` fails the constraint (``types`` gives the classes of the nodes at hand)."""

    def select(self, focus: str, values: str) -> str:
        return f"SELECT DISTINCT ?f ?v WHERE {{ {focus} {values} FILTER({self.sparql('?v')}) }}"

    def select_focus(self, focus: str) -> str:
        """The SELECT for a node shape, whose value node is the focus node itself."""
        return f"SELECT DISTINCT ?f WHERE {{ {focus} FILTER({self.sparql('?f')}) }}"


class FocusConstraint(Constraint):
    """A test on a focus node's values as a whole: one result per failing focus node, with no value."""

    @abstractmethod
    def violated_by(self, values: Values) -> bool:
        """True when a focus node with these values fails the constraint."""


def _count(value: Node) -> int:
    return int(str(value))


# --- value type (SHACL 4.1) ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Class(ValueConstraint):
    """sh:class: the value is an instance of the class or of a subclass of it."""

    parameter: ClassVar[str] = "class"
    component: ClassVar[str] = "ClassConstraintComponent"
    param: str
    cls: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cls", self.param.strip("<>"))

    @classmethod
    def read(cls, graph: Graph, shape: Node, value: Node) -> Class:
        return cls(nt_of_rdflib(value))

    @property
    def value_class(self) -> str:
        return self.cls

    def sparql(self, var: str) -> str:
        return f"NOT EXISTS {{ {var} <{RDF_TYPE}>/<{SUBCLASS}>* {self.param} }}"

    def violates(self, value: Term, types: Types) -> bool:
        return not isinstance(value, str) or self.cls not in types.get(value, ())


@dataclass(frozen=True)
class Datatype(ValueConstraint):
    """sh:datatype: a literal of the datatype, well-formed (an ill-typed literal fails, as in pySHACL); xsd:string
    excludes language-tagged strings."""

    parameter: ClassVar[str] = "datatype"
    component: ClassVar[str] = "DatatypeConstraintComponent"
    param: str
    datatype: str = field(init=False, repr=False, compare=False)
    string: bool = field(init=False, repr=False, compare=False)  # xsd:string, which the reader leaves unwritten
    lexical: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        datatype = self.param.strip("<>")
        object.__setattr__(self, "datatype", datatype)
        object.__setattr__(self, "string", datatype == XSD + "string")
        object.__setattr__(self, "lexical", re.compile(LEXICAL[datatype]) if datatype in LEXICAL else None)

    @classmethod
    def read(cls, graph: Graph, shape: Node, value: Node) -> Datatype:
        return cls(nt_of_rdflib(value))

    def sparql(self, var: str) -> str:
        test = f"!isLiteral({var}) || datatype({var}) != {self.param}"
        if self.lexical is not None:
            test += f" || !REGEX(STR({var}), {quote_string(self.lexical.pattern)})"
        if self.string:
            test += f' || langMatches(lang({var}), "*")'
        return test

    def violates(self, value: Term, types: Types) -> bool:
        if type(value) is not Literal:
            return True
        if self.string:  # a plain string has no datatype in converter.rdf terms
            return value.datatype is not None or bool(value.language)
        return value.datatype != self.datatype or (self.lexical is not None and
                                                   self.lexical.search(value.lexical) is None)


_NODE_KINDS = {  # sh:nodeKind -> the kinds it allows: IRI, Literal, Blank node
    "IRI": "i", "Literal": "l", "BlankNode": "b", "BlankNodeOrIRI": "bi", "IRIOrLiteral": "il",
    "BlankNodeOrLiteral": "bl"}
_NODE_KIND_TESTS = {  # sh:nodeKind -> what a failing term is, in SPARQL
    "IRI": "!isIRI({})", "Literal": "!isLiteral({})", "BlankNode": "!isBlank({})", "BlankNodeOrIRI": "isLiteral({})",
    "IRIOrLiteral": "isBlank({})", "BlankNodeOrLiteral": "isIRI({})"}


@dataclass(frozen=True)
class NodeKind(ValueConstraint):
    """sh:nodeKind: the value is an IRI, a literal, a blank node, or one of two of them."""

    parameter: ClassVar[str] = "nodeKind"
    component: ClassVar[str] = "NodeKindConstraintComponent"
    param: str
    kind: str = field(init=False, repr=False, compare=False)
    allowed: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kind = self.param.strip("<>").removeprefix(SH)
        if kind not in _NODE_KINDS:
            raise ValidationError(f"sh:nodeKind {self.param} is not a node kind")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "allowed", _NODE_KINDS[kind])

    @classmethod
    def read(cls, graph: Graph, shape: Node, value: Node) -> NodeKind:
        return cls(nt_of_rdflib(value))

    def sparql(self, var: str) -> str:
        return _NODE_KIND_TESTS[self.kind].format(var)

    def violates(self, value: Term, types: Types) -> bool:
        return ("l" if type(value) is Literal else "b" if value[:2] == "_:" else "i") not in self.allowed


# --- cardinality (SHACL 4.2) -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MinCount(FocusConstraint):
    """sh:minCount: at least so many distinct values."""

    parameter: ClassVar[str] = "minCount"
    component: ClassVar[str] = "MinCountConstraintComponent"
    param: int

    @classmethod
    def read(cls, graph: Graph, shape: Node, value: Node) -> MinCount:
        return cls(_count(value))

    def select(self, focus: str, values: str) -> str:
        if self.param == 1:
            return f"SELECT DISTINCT ?f WHERE {{ {focus} FILTER NOT EXISTS {{ {values} }} }}"
        return (f"SELECT ?f WHERE {{ {focus} OPTIONAL {{ {values} }} }} GROUP BY ?f "
                f"HAVING (COUNT(DISTINCT ?v) < {self.param})")

    def violated_by(self, values: Values) -> bool:
        return len(values) < self.param


@dataclass(frozen=True)
class MaxCount(FocusConstraint):
    """sh:maxCount: at most so many distinct values."""

    parameter: ClassVar[str] = "maxCount"
    component: ClassVar[str] = "MaxCountConstraintComponent"
    param: int

    @classmethod
    def read(cls, graph: Graph, shape: Node, value: Node) -> MaxCount:
        return cls(_count(value))

    def select(self, focus: str, values: str) -> str:
        if self.param == 0:
            return f"SELECT DISTINCT ?f WHERE {{ {focus} {values} }}"
        return (f"SELECT ?f WHERE {{ {focus} {values} }} GROUP BY ?f "
                f"HAVING (COUNT(DISTINCT ?v) > {self.param})")

    def violated_by(self, values: Values) -> bool:
        return len(values) > self.param


# --- value range (SHACL 4.3) -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Bound(ValueConstraint):
    """A bound on numeric values: a value that is not a number of a numeric datatype, or is ill-typed, fails (it
    compares with nothing, as in SPARQL)."""

    param: str
    bound: Decimal | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bound", number(parse_nt(self.param)))

    @classmethod
    def read(cls, graph: Graph, shape: Node, value: Node) -> _Bound:
        return cls(nt_of_rdflib(value))


@dataclass(frozen=True)
class MinInclusive(_Bound):
    """sh:minInclusive: a number at least the bound."""

    parameter: ClassVar[str] = "minInclusive"
    component: ClassVar[str] = "MinInclusiveConstraintComponent"

    def sparql(self, var: str) -> str:
        return f"!COALESCE({var} >= {self.param}, false)"

    def violates(self, value: Term, types: Types) -> bool:
        n = number(value)
        return n is None or self.bound is None or n < self.bound


@dataclass(frozen=True)
class MaxInclusive(_Bound):
    """sh:maxInclusive: a number at most the bound."""

    parameter: ClassVar[str] = "maxInclusive"
    component: ClassVar[str] = "MaxInclusiveConstraintComponent"

    def sparql(self, var: str) -> str:
        return f"!COALESCE({var} <= {self.param}, false)"

    def violates(self, value: Term, types: Types) -> bool:
        n = number(value)
        return n is None or self.bound is None or n > self.bound


# --- string-based (SHACL 4.4) ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MinLength(ValueConstraint):
    """sh:minLength: the string form of an IRI or literal has at least so many characters (a blank node fails)."""

    parameter: ClassVar[str] = "minLength"
    component: ClassVar[str] = "MinLengthConstraintComponent"
    param: int

    @classmethod
    def read(cls, graph: Graph, shape: Node, value: Node) -> MinLength:
        return cls(_count(value))

    def sparql(self, var: str) -> str:
        return f"isBlank({var}) || STRLEN(STR({var})) < {self.param}"

    def violates(self, value: Term, types: Types) -> bool:
        if isinstance(value, Literal):
            return len(value.lexical) < self.param
        return value.startswith("_:") or len(value) < self.param


@dataclass(frozen=True)
class Pattern(ValueConstraint):
    """sh:pattern (with sh:flags): the string form of an IRI or literal matches the regular expression (a blank node
    fails)."""

    parameter: ClassVar[str] = "pattern"
    component: ClassVar[str] = "PatternConstraintComponent"
    param: tuple[str, str]  # the pattern and its flags
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern, flags = self.param
        options = 0
        for flag in flags.upper():
            if flag in "IMSX":
                options |= getattr(re, flag)
        object.__setattr__(self, "regex", re.compile(pattern, options))

    @classmethod
    def read(cls, graph: Graph, shape: Node, value: Node) -> Pattern:
        from rdflib import URIRef

        flags = graph.value(shape, URIRef(SH + "flags"))
        return cls((str(value), str(flags) if flags else ""))

    def sparql(self, var: str) -> str:
        pattern, flags = self.param
        args = f"STR({var}), {quote_string(pattern)}" + (f", {quote_string(flags)}" if flags else "")
        return f"isBlank({var}) || !REGEX({args})"

    def violates(self, value: Term, types: Types) -> bool:
        if isinstance(value, Literal):
            return self.regex.search(value.lexical) is None
        return value.startswith("_:") or self.regex.search(value) is None


# --- logical (SHACL 4.6) ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _TermList(ValueConstraint):
    """A constraint holding a list of terms (N-Triples form), compared term by term (``sameTerm``), not by value."""

    param: tuple[str, ...]
    terms: frozenset[Term] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", frozenset(parse_nt(t) for t in self.param))

    def any_same(self, var: str) -> str:
        return "(" + " || ".join(f"sameTerm({var}, {t})" for t in self.param) + ")" if self.param else "false"


@dataclass(frozen=True)
class Not(_TermList):
    """sh:not, in the one form the shapes use: ``sh:not [ sh:in (...) ]``, a value none of the listed terms (the
    missing-value sentinels)."""

    parameter: ClassVar[str] = "not"
    component: ClassVar[str] = "NotConstraintComponent"

    @classmethod
    def read(cls, graph: Graph, shape: Node, value: Node) -> Not:
        inner = list(graph.predicate_objects(value))
        if [str(p) for p, _ in inner] != [SH + "in"]:
            raise ValidationError(f"shape {shape}: only sh:not [ sh:in (...) ] is supported")
        return cls(_term_list(graph, inner[0][1]))

    def sparql(self, var: str) -> str:
        return self.any_same(var)

    def violates(self, value: Term, types: Types) -> bool:
        return value in self.terms


# --- other (SHACL 4.8) -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class In(_TermList):
    """sh:in: the value is one of the listed terms."""

    parameter: ClassVar[str] = "in"
    component: ClassVar[str] = "InConstraintComponent"

    @classmethod
    def read(cls, graph: Graph, shape: Node, value: Node) -> In:
        return cls(_term_list(graph, value))

    def sparql(self, var: str) -> str:
        return "!" + self.any_same(var)

    def violates(self, value: Term, types: Types) -> bool:
        return value not in self.terms


@dataclass(frozen=True)
class HasValue(FocusConstraint):
    """sh:hasValue: the term is among the focus node's values."""

    parameter: ClassVar[str] = "hasValue"
    component: ClassVar[str] = "HasValueConstraintComponent"
    param: str
    required: Term = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "required", parse_nt(self.param))

    @classmethod
    def read(cls, graph: Graph, shape: Node, value: Node) -> HasValue:
        return cls(nt_of_rdflib(value))

    def select(self, focus: str, values: str) -> str:
        return f"SELECT DISTINCT ?f WHERE {{ {focus} FILTER NOT EXISTS {{ {values.replace('?v', self.param)} }} }}"

    def violated_by(self, values: Values) -> bool:
        return self.required not in values


def _term_list(graph: Graph, head: Node) -> tuple[str, ...]:
    """The members of an RDF list, in N-Triples form."""
    from rdflib.collection import Collection as RdfList

    return tuple(nt_of_rdflib(term) for term in RdfList(graph, head))


COMPONENTS: dict[str, type[Constraint]] = {c.parameter: c for c in (
    Class, Datatype, NodeKind, MinCount, MaxCount, MinInclusive, MaxInclusive, MinLength, Pattern, Not, In, HasValue)}
