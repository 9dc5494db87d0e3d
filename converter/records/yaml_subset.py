"""A fast reader for the block YAML that PFOCR figure pages are written in; PyYAML reads everything else.

Front matter, as R's yaml package and PyYAML write it, is a mapping of plain and single-quoted scalars (long ones
folded over several lines), nested mappings, indentless sequences of scalars or mappings, and empty ``[]`` and
``{}``. Read line by line, that subset costs a fraction of PyYAML's event-by-event construction, which was the
largest single cost of a conversion. :func:`load` returns exactly what ``yaml.load(text, CSafeLoader)`` returns
(the same types: YAML 1.1's ints, floats, booleans and nulls are resolved by PyYAML's own resolver and
constructor), or ``None`` for any text it does not read, so that the caller falls back to PyYAML, which then
also gives the error message::

    >>> from converter.records.yaml_subset import load
    >>> load("figid: PMC1__f1\\nyear: '2001'\\nscore: 0.5\\ngenes:\\n- word: TP53\\n  entrez: '7157'\\n")
    {'figid': 'PMC1__f1', 'year': '2001', 'score': 0.5, 'genes': [{'word': 'TP53', 'entrez': '7157'}]}
    >>> load("caption: \\"double-quoted\\"\\n") is None   # outside the subset: ask PyYAML
    True

Outside the subset: double quotes, block scalars (``|``, ``>``), anchors, aliases, tags, comments, non-empty flow
collections, tabs, blank lines, complex keys, and scalars whose reading depends on finer rules (a plain scalar
holding ``': '`` or ``' #'``, or starting with an indicator character).
"""

from __future__ import annotations

import re
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

__all__ = ["load"]

# Characters YAML reads differently from plain text (tabs, non-printables, a byte order mark, the other line
# breaks) send the whole text to PyYAML.
_OUTSIDE = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_PLAIN_STOP = re.compile(r": | #|:$")  # where YAML would end a plain scalar (a key, a comment)
_RESOLVERS = Resolver.yaml_implicit_resolvers  # first character -> [(tag, regexp)]
_CONSTRUCTORS = SafeConstructor.yaml_constructors
_SIMPLE = frozenset(f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "null"))
_constructor = SafeConstructor()
_keys: dict[str, str] = {}
# One-line scalars and their values (strings, numbers, booleans, None: immutable, so shared): symbols, sources
# and sentinels recur in most pages (86% of one-line scalars in the generated corpus)
_ONE_LINE: dict[str, object] = {}
_UNSEEN = object()


class _Outside(Exception):
    """The text is not in the subset."""


def load(text: str) -> dict[str, Any] | None:
    """The front matter ``text`` (the lines between the ``---`` fences) as a mapping, or None when it is not in
    the subset read here (the caller then asks PyYAML)."""
    if _OUTSIDE.search(text):
        return None
    if " \n" in text or text.endswith(" "):
        text = _TRAILING.sub("", text)  # never part of a value; the row pattern is faster without them
    rows = _LINE.findall(text)
    while rows and not rows[-1][1]:
        rows.pop()
    start = 0
    while start < len(rows) and not rows[start][1]:
        start += 1
    rows = rows[start:]
    if not rows or not all(row[1] for row in rows):
        return None  # empty, or blank lines, which fold into line breaks inside scalars
    reader = _Reader(rows)
    try:
        value = reader.mapping(len(rows[0][0]))
    except (_Outside, ValueError):  # PyYAML says how deep is too deep, or what "0x_" is
        return None
    return value if reader.i == len(rows) else None


# Each line as (indentation, text, dash of a sequence item, key, the rest), without trailing spaces
_LINE = re.compile(r"^( *)((- +)?(?:([A-Za-z_$][\w$.-]*|'(?:[^'\n]|'')*'):(?: +|$))?(.*))$", re.M)
_TRAILING = re.compile(" +$", re.M)
_Row = tuple[str, str, str, str, str]
_DEEPEST = 100  # columns of indentation: pages use a few


def _key(token: str) -> str:
    key = _keys.get(token)
    if key is None:
        if token[0] == "'":
            key = token[1:-1].replace("''", "'")
        elif len(token) > 1000 or any(r.match(token) for _, r in _RESOLVERS.get(token[0], ())):
            raise _Outside  # a key YAML reads as a boolean, null or number, or one longer than libyaml allows
        else:
            key = token
        if len(_keys) < 4096:
            _keys[token] = key
    return key


def _plain(value: str) -> object:
    for tag, regexp in _RESOLVERS.get(value[0], ()):
        if regexp.match(value):
            if tag not in _SIMPLE:
                raise _Outside  # timestamps, merge keys, '='
            return _CONSTRUCTORS[tag](_constructor, ScalarNode(tag, value))
    return value


class _Reader:
    def __init__(self, rows: list[_Row]) -> None:
        self.rows = rows
        self.i = 0

    def mapping(self, n: int) -> dict[str, Any]:
        """The block mapping whose keys start at column ``n``, from line ``i`` on."""
        out: dict[str, Any] = {}
        rows = self.rows
        end = len(rows)
        while self.i < end:
            indent, _, dash, key, rest = rows[self.i]
            if len(indent) < n:
                break
            if len(indent) > n or dash or not key:
                raise _Outside
            if rest:
                out[_key(key)] = self.scalar(rest, n)
            else:
                self.i += 1
                out[_key(key)] = self.block(n)
        return out

    def block(self, n: int) -> object:
        """The value of a key at column ``n`` written on the lines below it: a nested mapping or a sequence, an
        indentless sequence, or nothing (null)."""
        if self.i == len(self.rows):
            return None
        indent, _, dash, _, _ = self.rows[self.i]
        if len(indent) > _DEEPEST:
            raise _Outside  # levels indent: a bound on depth, judged by PyYAML (compiled, no RecursionError)
        if len(indent) > n:
            return self.sequence(len(indent)) if dash else self.mapping(len(indent))
        if len(indent) == n and dash:
            return self.sequence(n)
        return None

    def sequence(self, n: int) -> list[Any]:
        """The block sequence whose dashes are at column ``n``."""
        out: list[Any] = []
        rows = self.rows
        end = len(rows)
        while self.i < end:
            indent, _, dash, key, rest = rows[self.i]
            if len(indent) < n or (len(indent) == n and not dash and key):
                break  # the end, or the parent mapping's next key after an indentless sequence
            if len(indent) > n or not dash:
                raise _Outside
            if key:
                column = n + len(dash)
                rows[self.i] = (" " * column, "", "", key, rest)  # the item's mapping starts at that column
                out.append(self.mapping(column))
            elif rest:
                out.append(self.scalar(rest, n))
            else:
                raise _Outside
        return out

    def scalar(self, first: str, n: int) -> object:
        """The scalar ``first`` that starts on line ``i``, in a block whose column is ``n``: its further lines, if
        any, are indented deeper than ``n``."""
        self.i += 1
        if first == "[]":
            return []
        if first == "{}":
            return {}
        rows = self.rows
        one_line = self.i == len(rows) or len(rows[self.i][0]) <= n
        if one_line:
            value = _ONE_LINE.get(first, _UNSEEN)
            if value is not _UNSEEN:
                return value
        if first[0] == "'":
            value = self.quoted(first, n)
        elif first[0] in _INDICATORS or _PLAIN_STOP.search(first):
            raise _Outside
        elif one_line:
            value = _plain(first) if first[0] in _RESOLVERS else first
        else:
            return self.folded(first, n)
        if one_line and len(first) <= 64:
            if len(_ONE_LINE) >= 1 << 16:
                _ONE_LINE.clear()
            _ONE_LINE[first] = value
        return value

    def folded(self, first: str, n: int) -> object:
        """A plain scalar over several lines, each break folded to a space."""
        rows = self.rows
        parts = [first]
        while self.i < len(rows) and len(rows[self.i][0]) > n:
            part = rows[self.i][1]
            if part[0] in "#:" or _PLAIN_STOP.search(part):
                raise _Outside  # a comment, or a colon YAML would stop at
            parts.append(part)
            self.i += 1
        return _plain(" ".join(parts))

    def quoted(self, first: str, n: int) -> str:
        """A single-quoted scalar starting with ``first``; each line break in it folds to one space."""
        parts: list[str] = []
        line, pos = first, 1
        while True:
            end = line.find("'", pos)
            while end != -1 and line.startswith("''", end):
                end = line.find("'", end + 2)
            if end != -1:
                if end + 1 < len(line):
                    raise _Outside  # something after the closing quote
                parts.append(line[pos:end])
                break
            parts.append(line[pos:])
            if self.i == len(self.rows) or len(self.rows[self.i][0]) <= n:
                raise _Outside
            line, pos = self.rows[self.i][1], 0
            self.i += 1
        return " ".join(parts).replace("''", "'")
