"""What validation gives back: results, the report (and its standard SHACL Turtle form), and the summary a curator
reads.

A result holds its terms in N-Triples text (:mod:`converter.validate.terms`), so results from either engine compare
equal, sort the same way and are written to ``shacl-report.ttl`` byte for byte the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyoxigraph as ox

from ..rdf.terms import quote_string
from .terms import SH, nt_of_ox

SEVERITIES = ("Violation", "Warning", "Info")
FIGURES = "https://pfocr.wikipathways.org/figures/"


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
    """The results, sorted, and how they were found: the engine ("stream", "sparql", or "convert" for
    ``convert --validate``), the figures checked and the time taken."""

    results: list[Result] = field(default_factory=list)
    engine: str = "stream"
    figures: int = 0
    seconds: float = 0.0
    located: Mapping[str, str] = field(default_factory=dict, repr=False)  # focus -> figid, when known upfront
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


# --- what a curator reads -----------------------------------------------------------------------------------------
def figid_of(node: str) -> str | None:
    """The figid of a figure's node (the figure or one of its ``#`` nodes), from its IRI alone."""
    iri = node.strip("<>").partition("#")[0]
    if iri.startswith(FIGURES) and iri.endswith(".html"):
        return iri[len(FIGURES):-len(".html")]
    return None


def figure_of(store: ox.Store, focus: str) -> str | None:
    """The figid of a figure the focus node belongs to or is linked from (for locating a problem)."""
    figid = figid_of(focus)
    if figid is not None or not focus.startswith("<"):
        return figid
    query = f"""PREFIX schema: <https://schema.org/>
        SELECT ?fig WHERE {{
          {{ ?fig schema:isPartOf|schema:mentions|schema:about {focus} }}
          UNION {{ ?a schema:isPartOf|schema:publisher {focus} . ?fig schema:isPartOf ?a }}
          UNION {{ ?g schema:taxonomicRange {focus} . ?fig schema:mentions ?g }}
          FILTER(STRSTARTS(STR(?fig), "{FIGURES}"))
        }} ORDER BY ?fig LIMIT 1"""
    rows = store.query(query, use_default_graph_as_union=True)
    assert isinstance(rows, ox.QuerySolutions)
    for row in rows:
        return figure_of(store, nt_of_ox(row["fig"]))
    return None


def summary(report: ValidationReport, sources: Mapping[str, str], examples: int = 3) -> str:
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
