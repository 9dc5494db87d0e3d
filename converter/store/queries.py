"""The library of canned SPARQL queries in ``queries/``, their parameters, and running queries on the store.

Each ``queries/NAME.rq`` starts with a header the CLI, the endpoint and the docs all read::

    # title: Figures mentioning a gene
    # description: Every figure in which PFOCR found the gene, with the OCR word and how it matched.
    # param: gene: string: TP53: gene symbol (case-insensitive)

Every parameter has a ``VALUES ?name { default }`` block in the query body, so the file is a plain SPARQL query
that runs anywhere as it is; :meth:`CannedQuery.render` replaces the block's values, escaped as RDF terms::

    >>> from converter.store.queries import library
    >>> q = library()["figures-for-gene"]                         # doctest: +SKIP
    >>> print(q.render({"gene": "MDM2"}))                         # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, cast

import pyoxigraph as ox

from ..data import folder
from ..rdf.formats import OXIGRAPH, RESULT_NAMES, RESULT_TYPES, rdf_format, spelled
from ..rdf.terms import quote_string
from .load import data_in_named_graphs

PARAM_TYPES = ("string", "iri", "integer", "strings", "iris")  # the plural types take comma-separated lists
# A VALUES block of the parameter's name plus this takes its value lower-cased: the form the store's lookup keys have
# (converter/data/derived/lookup-keys.rq), so that the value is a constant the engine looks up, not an expression.
KEY_SUFFIX = "_key"
RESULT_FORMATS = ("table", "csv", "tsv", "json", "xml")  # SELECT and ASK (RESULT_NAMES and a table); graphs: RDF names


class QueryError(Exception):
    """A query that cannot be found, rendered or run; the message says which and why."""


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str
    description: str = ""


@dataclass
class CannedQuery:
    name: str
    title: str
    description: str
    text: str
    params: list[Param] = field(default_factory=list)
    path: str | None = None

    def defaults_used(self, values: dict[str, str] | None = None) -> list[Param]:
        """The parameters :meth:`render` fills with their default value, as ``values`` does not name them."""
        return [p for p in self.params if p.name not in (values or {})]

    def render(self, values: dict[str, str] | None = None) -> str:
        """The query with parameter values (defaults for the ones not given) in its ``VALUES`` blocks."""
        values = dict(values or {})
        unknown = sorted(set(values) - {p.name for p in self.params})
        if unknown:
            known = ", ".join(p.name for p in self.params) or "none"
            raise QueryError(f"query {self.name} has no parameter {', '.join(unknown)} (parameters: {known})")
        text = self.text
        for p in self.params:
            raw = values.get(p.name, p.default)
            for name, given in ((p.name, raw), (p.name + KEY_SUFFIX, raw.lower())):
                terms = _terms(p, given)
                block = re.compile(r"VALUES\s+\?" + re.escape(name) + _VALUES_BODY)

                def filled(_m: re.Match[str], name: str = name, terms: str = terms) -> str:
                    return f"VALUES ?{name} {{ {terms} }}"

                text = block.sub(filled, text)
        return text


# The { ... } of a VALUES block; a '}' inside a string or an IRI does not close it.
_VALUES_BODY = r"""\s*\{(?:[^}"'<]|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|<[^>]*>)*\}"""


def _terms(p: Param, raw: str) -> str:
    items = [v.strip() for v in raw.split(",")] if p.type in ("strings", "iris") else [raw]
    items = [v for v in items if v]
    if not items:
        raise QueryError(f"parameter {p.name} needs a value")
    out = []
    for item in items:
        if p.type in ("string", "strings"):
            out.append(quote_string(item))
        elif p.type in ("iri", "iris"):
            if re.search(r'[\x00-\x20<>"{}|^`\\]', item) or ":" not in item:
                raise QueryError(f"parameter {p.name}: {item!r} is not an absolute IRI")
            out.append(f"<{item}>")
        elif p.type == "integer":
            if not re.fullmatch(r"[+-]?[0-9]+", item):
                raise QueryError(f"parameter {p.name}: {item!r} is not an integer")
            out.append(item)
    return " ".join(out)


_HEADER = re.compile(r"^#\s*(title|description|param):\s*(.*)$")


def parse_query_file(path: Path | Traversable) -> CannedQuery:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise QueryError(f"{path}: not UTF-8 text") from None
    query_name = path.name.removesuffix(".rq")
    title, description, params = query_name, [], []
    for line in text.splitlines():
        match = _HEADER.match(line)
        if not line.startswith("#"):
            break
        if match is None:
            continue
        key, value = match.groups()
        if key == "title":
            title = value.strip()
        elif key == "description":
            description.append(value.strip())
        else:
            # name and type end at the first colons; the default (which may hold colons, as IRIs and CURIEs do)
            # ends at the first ": " after it
            name, _, rest = value.partition(":")
            kind, _, rest = rest.partition(":")
            default, _, about = rest.strip().partition(": ")
            if not name.strip() or kind.strip() not in PARAM_TYPES or not default.strip():
                raise QueryError(f"{path}: parameter line must be 'name: type: default: description', "
                                 f"type one of {', '.join(PARAM_TYPES)}")
            params.append(Param(name.strip(), kind.strip(), default.strip(), about.strip()))
    query = CannedQuery(query_name, title, " ".join(description), text, params, str(path))
    for p in params:
        if not re.search(r"VALUES\s+\?" + re.escape(p.name) + f"(?:{KEY_SUFFIX})?" + r"\s*\{", text):
            raise QueryError(f"{path}: parameter {p.name} has no 'VALUES ?{p.name} {{ ... }}' "
                             f"(or ?{p.name}{KEY_SUFFIX}) block")
    return query


def library(extra: str | os.PathLike[str] | None = None) -> dict[str, CannedQuery]:
    """Every canned query by name (the file name without ``.rq``): the built-in library, and over it the ``.rq``
    files of the folder ``extra``, whose queries are added or replace the built-in ones of the same name::

        >>> library()["figures-for-gene"].params[0].name
        'gene'
    """
    files = sorted((p for p in folder("queries").iterdir() if p.name.endswith(".rq")), key=lambda p: p.name)
    if extra is not None:
        if not os.path.isdir(extra):
            raise QueryError(f"{os.fspath(extra)}: no such folder of queries")
        files += sorted(Path(extra).glob("*.rq"))
    queries = {q.name: q for q in map(parse_query_file, files)}
    return dict(sorted(queries.items()))


def resolve(name_or_file: str, stdin_text: str | None = None, extra: str | None = None) -> CannedQuery:
    """A canned query by name (from :func:`library` with ``extra``), a ``.rq`` file, or ``-`` (the text given as
    ``stdin_text``)."""
    if name_or_file == "-":
        return CannedQuery("-", "standard input", "", stdin_text or "")
    path = Path(name_or_file)
    if path.is_file():
        return parse_query_file(path)
    queries = library(extra)
    if name_or_file in queries:
        return queries[name_or_file]
    raise QueryError(f"no canned query or file {name_or_file!r}; 'pfocr-rdf query --list' shows the library")


# --- running and formatting -----------------------------------------------------------------------------------
# --- reading SPARQL text ------------------------------------------------------------------------------------------
# A lexer for the few decisions the endpoint takes before the store parses a request: does it call a remote
# service, does it name its own dataset, where do USING clauses go. Strings, IRIs, comments and prefixed names
# (whose local part may hide a '#' or a quote behind a backslash) are whole tokens, so a keyword inside them is no
# keyword; anything the lexer does not know is one character on its own, so nothing is hidden by mistake.
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?\#@%]"
_PN_CHAR = r"[\w\-\u00B7\u0300-\u036F\u203F-\u2040]"
_TOKEN = re.compile(rf"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
               |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
  | (?P<iri><(?:[^<>"{{}}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{{4}}|\\U[0-9A-Fa-f]{{8}})*>)
  | (?P<var>[?$]{_PN_CHAR}+)
  | (?P<pname>(?:[^\W\d_](?:[\w.\-\u00B7]*[\w\-\u00B7])?)?:
               (?:(?:[\w:]|{_PLX})(?:(?:{_PN_CHAR}|[.:]|{_PLX})*(?:{_PN_CHAR}|:|{_PLX}))?)?)
  | (?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)
  | (?P<word>\w+)
  | (?P<open>\{{)
  | (?P<close>\}})
  | (?P<other>.)
""", re.X | re.S)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    end: int
    depth: int  # braces open before the token


def tokens(text: str) -> list[Token]:
    out: list[Token] = []
    depth = 0
    for m in _TOKEN.finditer(text):
        kind = cast("str", m.lastgroup)  # every alternative of _TOKEN is a named group
        if kind in ("ws", "comment"):
            continue
        if kind == "close":
            depth = max(0, depth - 1)
        out.append(Token(kind, m.group(), m.start(), m.end(), depth))
        if kind == "open":
            depth += 1
    return out


def calls_remote(tokens: list[Token], update: bool) -> bool:
    """True when a request may fetch from the network: a federated SERVICE, or (updates) LOAD. Cautious: a word
    or a prefix that merely contains the keyword counts too."""
    keywords = ("SERVICE", "LOAD") if update else ("SERVICE",)
    for t in tokens:
        if t.kind == "word" or t.kind == "pname":
            name = (t.text if t.kind == "word" else t.text.split(":", 1)[0]).upper()
            if any(k in name for k in keywords):
                return True
    return False


def query_form(tokens: list[Token]) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the form of a query (None when it has none of them)."""
    for t in tokens:
        if t.kind == "word" and t.depth == 0 and t.text.upper() in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE"):
            return t.text.upper()
    return None


def names_dataset(tokens: list[Token]) -> bool:
    """True when a query has its own FROM or FROM NAMED clause."""
    return any(t.kind == "word" and t.text.upper() == "FROM" for t in tokens)


Results = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples  # what a query gives, by its form


def run(store: ox.Store, query: str, *, allow_service: bool = False, **options: Any) -> Results:
    """Run a query on the store. Unless the query or ``options`` name a dataset, the default graph is the store's
    default graph, or the union of all graphs when the data lives in named graphs."""
    found = tokens(query)
    if not allow_service and calls_remote(found, update=False):
        raise QueryError("federated SERVICE calls are not allowed here")
    if "default_graph" not in options and not names_dataset(found):
        options.setdefault("use_default_graph_as_union", data_in_named_graphs(store))
    try:
        return store.query(query, **options)
    except SyntaxError as err:
        raise QueryError(syntax_message("query", query, err)) from None


_POSITION = re.compile(r"error at (\d+):(\d+): (.*)", re.S)


def syntax_message(kind: str, text: str, err: SyntaxError) -> str:
    """Oxigraph's ``error at LINE:COLUMN: ...`` as a message that shows the line of ``text`` with a caret under
    the column, as Jena and Virtuoso users expect::

        invalid query at line 1, column 9: expected one of DESCRIBE, [_]
          SELEC ?x
                  ^
    """
    found = _POSITION.match(str(err))
    if found is None:
        return f"invalid {kind}: {err}"
    line_no, column = int(found[1]), int(found[2])
    reason = " ".join(found[3].split())  # Oxigraph's list of what it expected may span lines
    if len(reason) > 160:
        reason = reason[:159] + "…"
    lines = text.splitlines() or [""]
    if line_no > len(lines):  # the parser ran past the last line: the query ended too soon
        line_no, column = len(lines), len(lines[-1]) + 1
    line = lines[max(line_no, 1) - 1].replace("\t", " ")
    caret = " " * min(max(column - 1, 0), len(line)) + "^"
    return f"invalid {kind} at line {line_no}, column {column}: {reason}\n  {line}\n  {caret}"


def _text(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> str:
    if term is None:
        return ""
    if isinstance(term, (ox.NamedNode, ox.BlankNode)):
        return term.value
    return term.value


_RESULT_MEDIA = {name: RESULT_TYPES[media] for name, media in RESULT_NAMES.items()}


def output_format(name: str) -> str:
    """The canonical name of an output format: a result format (``table``, ``csv``, ...) or an RDF format under
    any of its names (``ttl`` and ``turtle`` alike)."""
    key = name.strip().lower()
    if key in RESULT_FORMATS:
        return key
    try:
        return rdf_format(key)
    except ValueError:
        raise QueryError(f"{name!r} is not an output format; choose from {', '.join(RESULT_FORMATS)} (results) "
                         f"or {spelled(OXIGRAPH)} (graphs)") from None


def format_results(results: Results, fmt: str | None, terminal: bool = False) -> str:
    """Results as text: an aligned ``table``, ``csv``, ``tsv``, SPARQL ``json``/``xml``; graphs in any RDF format
    (``ttl``, ``nt``, ``nq``, ``jsonld`` or their aliases). ``fmt=None`` picks the usual form: a table on a
    ``terminal`` (TSV otherwise), Turtle for graphs."""
    if fmt is None:
        fmt = "ttl" if isinstance(results, ox.QueryTriples) else "table" if terminal else "tsv"
    fmt = output_format(fmt)
    if isinstance(results, ox.QueryBoolean):
        value = bool(results)
        if fmt == "json":
            return json.dumps({"head": {}, "boolean": value}) + "\n"
        return ("true" if value else "false") + "\n"
    if isinstance(results, ox.QueryTriples):
        fmt = "ttl" if fmt == "table" else fmt
        if fmt not in OXIGRAPH:
            raise QueryError(f"a graph result is written in an RDF format ({spelled(OXIGRAPH)}), not {fmt}")
        # a graph is a set, which the engine gives in no set order: sorted, the same graph gives the same text
        return cast("bytes", ox.serialize(sorted(results, key=str), format=OXIGRAPH[fmt])).decode("utf-8")
    if fmt in _RESULT_MEDIA:
        return cast("bytes", results.serialize(format=_RESULT_MEDIA[fmt])).decode("utf-8")
    if fmt != "table":
        raise QueryError(f"SELECT results can be written as {', '.join(RESULT_FORMATS)}, not {fmt}")
    names = [v.value for v in results.variables]
    rows = [[_text(s[n]) for n in names] for s in results]
    return aligned_table(names, rows)


def aligned_table(header: list[str], rows: Iterable[list[str]]) -> str:
    rows = [[c.replace("\n", " ") for c in row] for row in rows]
    widths = [min(60, max([len(h)] + [len(r[i]) for r in rows])) for i, h in enumerate(header)]

    def clip(c: str, w: int) -> str:
        return c if len(c) <= w else c[: w - 1] + "…"

    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(clip(c, w).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(line.rstrip() for line in out) + f"\n({len(rows)} rows)\n"


def csv_rows(results: ox.QuerySolutions) -> list[dict[str, str]]:
    """SELECT results as plain dicts of strings (for tests and scripts)."""
    names = [v.value for v in results.variables]
    return [{n: _text(s[n]) for n in names} for s in results]


__all__ = ["CannedQuery", "Param", "QueryError", "calls_remote", "csv_rows", "format_results", "library",
           "names_dataset", "output_format", "resolve", "run", "syntax_message", "tokens"]
