"""RDF terms and their text forms: N-Triples/N-Quads lines, Turtle blocks and JSON-LD node objects.

A triple is ``(subject, predicate, object)``; IRIs are plain ``str``, literals are :class:`Literal`. Each
serialiser turns one block of triples (grouped by subject) into text, so blocks can be serialised in worker
processes and concatenated in order::

    >>> t = [("https://ex.org/a", "https://schema.org/name", Literal("A \\"quoted\\" name"))]
    >>> print(nt_lines(t), end="")
    <https://ex.org/a> <https://schema.org/name> "A \\"quoted\\" name" .
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable
from typing import Generic, NamedTuple, TypeGuard, TypeVar

from .vocab import CLASSES, PREFIXES, RDF_TYPE, TERMS, XSD
from .vocab import Term as JsonTerm


class Literal(NamedTuple):
    lexical: str
    datatype: str | None = None  # None: xsd:string
    language: str | None = None  # the converter writes none; validation reads them from other graphs


Term = str | Literal
Triple = tuple[str, str, Term]
Grouped = dict[str, dict[str, list[Term]]]  # subject -> predicate -> objects (:func:`group`)

_NT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f\ud800-\udfff]')


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NT_ESCAPES:
        return _NT_ESCAPES[char]
    if 0xD800 <= ord(char) <= 0xDFFF:  # a lone surrogate cannot be written as UTF-8
        return "\\uFFFD"
    return f"\\u{ord(char):04X}"


def quote_string(text: str) -> str:
    """A double-quoted string valid in N-Triples, Turtle and SPARQL."""
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, text) + '"'


_MEMO_SIZE = 1 << 14  # terms a memo keeps: more, with long terms kept too, cost a worker memory for no speed


_K = TypeVar("_K", bound=Term)
_V = TypeVar("_V")


class _Memo(dict[_K, _V], Generic[_K, _V]):
    """A function of a term, remembered: predicates, classes, entities and short literals (symbols, match
    sources) repeat in every block. Only short terms are kept: the long ones are mostly seen once or twice (mention
    and figure IRIs, titles, captions). Bounded: the memo starts again when full."""

    def __init__(self, make: Callable[[_K], _V]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, term: _K) -> _V:
        value = self.make(term)
        if len(term if term.__class__ is str else term[0]) <= 64:
            if len(self) >= _MEMO_SIZE:
                self.clear()
            self[term] = value
        return value


XSD_STRING = XSD + "string"


def nt_term(term: Term) -> str:
    """The N-Triples text of a term: the one formatter, for dumps and for validation results alike.

    Canonical, so that equal terms are equal strings whichever reader gave them: ``xsd:string`` is left implicit
    and language tags are lower case, as pyoxigraph writes them. A string starting ``_:`` is a blank node.

        >>> nt_term(Literal("12", "http://www.w3.org/2001/XMLSchema#integer"))
        '"12"^^<http://www.w3.org/2001/XMLSchema#integer>'
        >>> nt_term(Literal("Zelle", None, "de-CH")), nt_term("_:b0")
        ('"Zelle"@de-ch', '_:b0')
    """
    if isinstance(term, Literal):
        if term.language:
            return f"{quote_string(term.lexical)}@{term.language.lower()}"
        if term.datatype is None or term.datatype == XSD_STRING:
            return quote_string(term.lexical)
        return f"{quote_string(term.lexical)}^^<{term.datatype}>"
    return term if term.startswith("_:") else f"<{term}>"


_NT_LITERAL: _Memo[Term, str] = _Memo(nt_term)


def nt_heads(triples: Iterable[Triple]) -> list[str]:
    """Each triple as N-Triples without its final `` .``: one list serves N-Triples and N-Quads alike."""
    literal = _NT_LITERAL
    return [f"<{s}> <{p}> <{o}>" if o.__class__ is str else f"<{s}> <{p}> {literal[o]}" for s, p, o in triples]


def nt_lines(triples: Iterable[Triple], graph: str | None = None, heads: list[str] | None = None) -> str:
    """N-Triples (or N-Quads, given a graph IRI) lines for ``triples`` (or for ``heads`` made already)."""
    tail = f" <{graph}> .\n" if graph else " .\n"
    heads = nt_heads(triples) if heads is None else heads
    return tail.join(heads) + tail if heads else ""


# --- Turtle and JSON-LD ------------------------------------------------------------------------------------------
_LOCAL_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.:-]*[A-Za-z0-9_:-])?")
_PREFIX_OF = {ns: prefix for prefix, ns in PREFIXES.items()}


def _compact(iri: str) -> str | None:
    # Every namespace ends in '/' or '#' and a local name holds neither, so the namespace ends at the last one.
    cut = max(iri.rfind("#"), iri.rfind("/")) + 1
    prefix = _PREFIX_OF.get(iri[:cut])
    return f"{prefix}:{iri[cut:]}" if prefix is not None and _LOCAL_NAME.fullmatch(iri, cut) else None


_COMPACT: _Memo[str, str | None] = _Memo(_compact)
_TTL_IRI: _Memo[str, str] = _Memo(lambda iri: _COMPACT[iri] or f"<{iri}>")  # IRI -> its Turtle text
_encode_string = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) writes for a string
# Line breaks JSON leaves as they are but line readers split on (str.splitlines, JavaScript before ES2019):
# escaped, so that a pfocr.jsonl line ends only at its newline
_LINE_BREAKS = re.compile("[\x85\u2028\u2029]")


def _json_string(text: str) -> str:
    encoded = _encode_string(text)
    return _LINE_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded) if _LINE_BREAKS.search(encoded) else encoded

_JSON_ID: _Memo[str, str] = _Memo(lambda iri: _json_string(_COMPACT[iri] or iri))  # IRI -> its (compacted) JSON string


def compact(iri: str) -> str | None:
    """``prefix:local`` when ``iri`` starts with a known namespace and the rest is a safe local name."""
    return _COMPACT[iri]


_TTL_NATIVE = {"http://www.w3.org/2001/XMLSchema#integer"}


def _ttl_literal(term: Literal) -> str:
    if term.datatype is None:
        return quote_string(term.lexical)
    if term.datatype in _TTL_NATIVE:
        return term.lexical
    return f"{quote_string(term.lexical)}^^{_TTL_IRI[term.datatype]}"


_TTL_LITERAL: _Memo[Literal, str] = _Memo(_ttl_literal)


def _ttl_term(term: Term) -> str:
    return _TTL_IRI[term] if isinstance(term, str) else _TTL_LITERAL[term]


def group(triples: Iterable[Triple]) -> Grouped:
    """Subject -> predicate -> objects, in order of first appearance."""
    out: Grouped = {}
    for s, p, o in triples:
        out.setdefault(s, {}).setdefault(p, []).append(o)
    return out


def turtle_prefixes() -> str:
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items()) + "\n"


def turtle_block(triples: Iterable[Triple], grouped: Grouped | None = None) -> str:
    parts = []
    for subject, props in (group(triples) if grouped is None else grouped).items():
        lines = [("a" if predicate == RDF_TYPE else _TTL_IRI[predicate]) + " "
                 + ", ".join([_ttl_term(o) for o in objects]) for predicate, objects in props.items()]
        parts.append(f"{_TTL_IRI[subject]} " + " ;\n    ".join(lines) + " .\n\n")
    return "".join(parts)


# JSON-LD is written compacted with the terms of data/context.jsonld: short keys, values coerced by the context
# (IRIs and typed literals as plain strings, integers as numbers), arrays only for @set terms or several values.
_INTEGER = XSD + "integer"
_CANONICAL_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,15})")  # within what a double holds exactly
_NO_TERM = JsonTerm("", None, False)  # a property the context lacks: written under its compact IRI, nothing coerced
_JSON_KEY: _Memo[str, str] = _Memo(
    lambda iri: _json_string(TERMS[iri].name if iri in TERMS else _COMPACT[iri] or iri) + ":")
_JSON_CLASS: _Memo[str, str] = _Memo(lambda iri: _json_string(CLASSES.get(iri) or _COMPACT[iri] or iri))
Link = tuple[str, Term]  # (property, object): a value written by whoever writes the node it points to


def json_value(term: JsonTerm | None, value: Term) -> str:
    """The JSON text of one value of a property written as ``term`` (None: a property the context lacks)."""
    return _JSON_VALUES[term.coerce if term is not None else None][value]


def _json_value(coerce: str | None, value: Term) -> str:
    if isinstance(value, str):
        return _JSON_ID[value] if coerce == "@id" else '{"@id":' + _JSON_ID[value] + "}"
    if value.language:
        return '{"@value":' + _json_string(value.lexical) + ',"@language":' + _json_string(value.language) + "}"
    if value.datatype == coerce:
        if value.datatype == _INTEGER and _CANONICAL_INTEGER.fullmatch(value.lexical):
            return value.lexical
        return _json_string(value.lexical)
    if value.datatype is None:
        return '{"@value":' + _json_string(value.lexical) + "}"
    return '{"@value":' + _json_string(value.lexical) + ',"@type":' + _JSON_ID[value.datatype] + "}"


class _Values(dict[str | None, _Memo[Term, str]]):
    """Coercion (``@id``, a datatype or None) -> the memo of value texts under it."""

    def __missing__(self, coerce: str | None) -> _Memo[Term, str]:
        memo = self[coerce] = _Memo(lambda value: _json_value(coerce, value))
        return memo


_JSON_VALUES = _Values()  # symbols, sources, entity IRIs and counts repeat in every figure


def json_key(predicate: str) -> tuple[str, bool]:
    """The ``"key":`` text of a property, and whether its values are a set (always an array)."""
    return _JSON_KEY[predicate], TERMS.get(predicate, _NO_TERM).many


def json_member(predicate: str, values: list[str]) -> str:
    """``"key":value`` for a property whose values are written already: an array for a set or several values."""
    if len(values) == 1 and not TERMS.get(predicate, _NO_TERM).many:
        return _JSON_KEY[predicate] + values[0]
    return _JSON_KEY[predicate] + "[" + ",".join(values) + "]"


def _all_iris(objects: list[Term]) -> TypeGuard[list[str]]:
    return all(o.__class__ is str for o in objects)


Embed = Callable[[str], str | None]  # IRI -> the JSON text of its node to embed, or None


def _json_members(subject: str, grouped: Grouped, done: set[str], embed: Embed | None = None,
                  linked: Collection[str] | None = None, links: list[Link] | None = None,
                  moved: set[int] | None = None) -> list[str]:
    """The members of ``subject``'s node. With ``linked``: the properties pointing to ``linked`` nodes are noted
    in ``links`` and their members' places in ``moved`` (their text is made all the same, for JSON-LD)."""
    members = ['"@id":' + _JSON_ID[subject]]
    for predicate, objects in grouped[subject].items():
        if predicate == RDF_TYPE and _all_iris(objects):
            names = [_JSON_CLASS[o] for o in objects]
            members.append('"@type":' + (names[0] if len(names) == 1 else "[" + ",".join(names) + "]"))
            continue
        if linked and any(o in linked for o in objects if o.__class__ is str):
            assert links is not None and moved is not None  # given with linked
            links.extend((predicate, o) for o in objects)  # the whole property, so that its key is written once
            moved.add(len(members))
        term = TERMS.get(predicate, _NO_TERM)
        values = []
        for o in objects:
            if o.__class__ is str and o in grouped and o not in done:
                done.add(o)  # a node of the same block it points to: embedded, once, its links kept as IRIs
                values.append("{" + ",".join(_json_members(o, grouped, done, embed)) + "}")
            elif embed is not None and o.__class__ is str and (text := embed(o)) is not None:
                values.append(text)
            else:
                values.append(json_value(term, o))
        members.append(json_member(predicate, values))
    return members


def json_texts(grouped: Grouped, linked: Collection[str] | None = None,
               head: str | None = None) -> tuple[list[str], tuple[str, list[Link]] | None]:
    """The JSON-LD nodes of a block (:func:`jsonld_nodes`) and, given ``head``, the JSON Lines text of its first
    node: without its closing brace, after ``head``, leaving out the properties that point to ``linked`` nodes;
    those come back as links, for the writer who knows the nodes to add them. The members are made once for both."""
    done: set[str] = set()
    nodes = []
    opened = None
    for subject in grouped:
        if subject in done:
            continue
        done.add(subject)
        if head is not None and opened is None:
            links: list[Link] = []
            moved: set[int] = set()
            members = _json_members(subject, grouped, done, None, linked, links, moved)
            kept = [m for n, m in enumerate(members) if n not in moved] if moved else members
            opened = (head + ",".join(kept), links)
        else:
            members = _json_members(subject, grouped, done)
        nodes.append("{" + ",".join(members) + "}")
    return nodes, opened


def jsonld_nodes(triples: Iterable[Triple], grouped: Grouped | None = None) -> list[str]:
    """One compact JSON text per node of a block that no other node of it points to, the others embedded where
    they are pointed to (a figure holds its mentions), with the terms of ``data/context.jsonld``."""
    return json_texts(group(triples) if grouped is None else grouped)[0]


def json_node(triples: Iterable[Triple], embed: Embed | None = None) -> str:
    """The JSON text of the block's first node, the nodes ``embed`` (IRI -> text or None) knows embedded in it."""
    grouped = group(triples)
    subject = next(iter(grouped))
    return "{" + ",".join(_json_members(subject, grouped, {subject}, embed)) + "}"


# --- reading N-Triples and N-Quads lines -------------------------------------------------------------------------
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]|%(?![0-9A-Fa-f]{2})|#.*#')


_GOOD_IRIS: dict[str, None] = {}  # tokens already checked: predicates, classes and entities repeat on every line


def _iri(token: str) -> str | None:
    """The IRI of an N-Triples ``<...>`` token, or None when it is not a plain absolute IRI."""
    if token in _GOOD_IRIS:
        return token[1:-1]
    if token[:1] != "<" or token[-1:] != ">" or ":" not in token or _BAD_IRI.search(token, 1, len(token) - 1):
        return None
    if len(_GOOD_IRIS) > 1 << 16:
        _GOOD_IRIS.clear()
    _GOOD_IRIS[token] = None
    return token[1:-1]


def read_line(line: str) -> Triple | None:
    """The triple of one N-Triples or N-Quads line (without its line break) in the form this module writes
    (``<s> <p> o [<g>] .``), or None for any other line (a comment, other spacing, an escape sequence, a language
    tag), which a full parser must read. Blank nodes come back as ``_:label`` strings; the graph is dropped.

        >>> read_line('<https://ex.org/a> <https://schema.org/name> "A" .')
        ('https://ex.org/a', 'https://schema.org/name', Literal(lexical='A', datatype=None, language=None))
    """
    s: str | None
    p: str | None
    o: Term | None
    datatype: str | None
    parts = line.split(" ", 2)
    if len(parts) != 3:
        return None
    s, p, rest = parts
    if rest[-2:] != " ." or not s:
        return None
    good = _GOOD_IRIS
    if s in good:
        s = s[1:-1]
    elif s[0] == "<":
        s = _iri(s)
        if s is None:
            return None
    elif not s.startswith("_:") or not s[2:].isalnum():
        return None
    if p in good:
        p = p[1:-1]
    else:
        p = _iri(p)
        if p is None:
            return None
    first = rest[:1]
    if first == "<":
        o, _, graph = rest[:-2].partition(" ")
        if o in good:
            o = o[1:-1]
        else:
            o = _iri(o)
            if o is None:
                return None
    elif first == '"':
        end = rest.rfind('"')
        if end == 0:
            return None
        lexical, tail = rest[1:end], rest[end + 1:-2]
        if '"' in lexical or "\\" in lexical or "\r" in lexical:
            return None
        datatype, _, graph = tail.partition(" ")
        if datatype.startswith("^^<"):
            datatype = _iri(datatype[2:])
            if datatype is None:
                return None
            o = Literal(lexical, None if datatype == XSD_STRING else datatype)
        elif not datatype:
            o = Literal(lexical)
        else:
            return None
    elif rest.startswith("_:"):
        o, _, graph = rest[:-2].partition(" ")
        if not o[2:].isalnum():
            return None
    else:
        return None
    if graph and (" " in graph or _iri(graph) is None):
        return None
    return s, p, o
