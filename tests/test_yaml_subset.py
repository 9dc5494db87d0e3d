"""The fast front-matter reader gives what PyYAML gives, or steps aside.

`converter.records.yaml_subset.load` must, for ANY text, either return None (PyYAML then reads it) or return
exactly what ``yaml.load(text, CSafeLoader)`` returns, with the same types and key order; where PyYAML refuses a
text, it must return None. Checked on every real PFOCR page, on pages written the way R's yaml package and PyYAML
write them, and on those pages with YAML-significant pieces spliced in at random places.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from _support import PFOCR, SKIP_REASON

from converter.records.sources import RecordError, parse_yaml, split_front_matter
from converter.records.yaml_subset import load

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ROOT = Path(__file__).resolve().parent.parent


def same(a: object, b: object) -> bool:
    """Equal, with the same types all the way down and the same key order (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def check(text: str) -> bool:
    """The property; True when the fast reader read the text (rather than stepping aside)."""
    fast = load(text)
    try:
        expected = yaml.load(text, Loader=_LOADER)  # a safe loader
    except (yaml.YAMLError, RecursionError, ValueError):
        assert fast is None, f"PyYAML refuses this text, the fast reader gave {fast!r}:\n{text}"
        return False
    if fast is not None:
        assert same(fast, expected), f"fast {fast!r}\nPyYAML {expected!r}\n{text}"
    return fast is not None


def pages(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.md"))


def test_real_pages_are_read_alike_and_mostly_fast():
    texts = []
    for page in pages(PFOCR) + pages(ROOT / "examples") + pages(ROOT / "tests"):
        try:
            texts.append(split_front_matter(page.read_text(encoding="utf-8"), str(page)))
        except Exception:  # a deliberately broken page: nothing to compare
            continue
    if len(texts) < 60:
        pytest.skip(SKIP_REASON)
    fast = sum(check(text) for text in texts)
    # the point of the reader: real pages take the fast path (the others: a byte order mark, a comment...)
    assert fast >= 0.9 * len(texts), f"{fast} of {len(texts)} pages read by the fast reader"


@pytest.mark.parametrize("text", [
    "a: 1\nb: 0x1F\nc: 1_000\nd: 1.5e+3\ne: .inf\nf: .nan\ng: ~\nh: null\ni: yes\nj: Off\nk: '1'\nl: 190:20:30\n",
    "a: 2001-01-01\n",  # a timestamp: PyYAML's
    "a: x\na: y\n",  # a duplicate key: the last wins
    "yes: x\n", "1: x\n", "'yes': x\n", "'it''s': x\n", "<<: x\n", "a: =\n",
    "a:\n- x\n- y\nb:\n  - 1\n  - 2\n",
    "a:\n- k: v\n  l: w\n-   m: 1\n    n: 2\n",
    "a: first\n  second\n   third\n",
    "a: first\n  - second\n  | third\n  [x] {y}\n",
    "a: 'it''s\n  folded ''here''\n  end'\n",
    "a: 'unclosed\nb: x\n",
    "a: x\n  b: y\n",  # a mapping value inside a plain scalar: an error
    "a: x # comment\n", "# comment\na: x\n", "a: x\n\nb: y\n", "a: |\n  literal\n", "a: >\n  folded\n",
    "a: \"dq\"\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: [1, 2]\n", "a: {b: 1}\n", "a: []\nb: {}\n",
    "a:\tx\n", "a: x\r\nb: y\r\n", "a: x\u2028y\n", "a: \ufeffx\n", "- a\n- b\n", "just text\n", "a:x\n",
    "  a: 1\n  b: 2\n", "  a: 1\nb: 2\n", "a:\n    b: 1\n  c: 2\n", "a:\n- x\n -y\n", "a:\n-\n", "a:\n- - x\n",
    "a: x:\n", "a: 'x' y\n", "a: 'x'\n  y\n", "a: x\n: y\n", "a: x\n  #y\n", "a:\n  b:\n  c: 1\n", "",
    "\n\n", "a: - x\n", "a: ? x\n", "a: -1\n", "a: '\n", "a:\n- 'x\n  y'\n- z\n",
    "a: 0x_\n", "a: 0b_\n", "a: 2001-02-30\n", "a: 1e999\n", "a: 0o_\n",
])
def test_edge_cases(text):
    check(text)


# Scalars mixing plain words with every piece YAML reads specially.
SPECIAL = ["'", "''", '"', ": ", ":", " #", "#", "- ", "-", "? ", "|", ">", "&a", "*a", "!!str", "!", "%", "@", "`",
           "[", "]", "{", "}", ",", "~", "null", "yes", "No", "on", "0x1F", "0o17", "017", "1_0", "-1", "+1", ".5",
           "1e3", "1:20", ".inf", ".NaN", "2001-01-01", "<<", "=", "  ", "\t", "\\", "\u2028", "\x85", "\ufeff",
           "\x00", "NA", ".na.character", "Ѕ", "é", "\U0001f600", "---", "..."]
words = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), min_size=1, max_size=12)
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,11}", fullmatch=True)
special = st.sampled_from(SPECIAL)
value_text = st.lists(st.one_of(names, names, words, special), min_size=1, max_size=8).map(" ".join)
scalar = st.one_of(value_text, value_text, special, st.integers(), st.floats(allow_nan=False), st.booleans(),
                   st.none())
key = st.one_of(st.sampled_from(["figid", "caption", "genes", "schema-jsonld", "@context", "word", "entrez", "yes",
                                 "on", "1", "a b", "x:y"]), names, names, words)
mapping = st.dictionaries(key, scalar, min_size=1, max_size=5)
front = st.dictionaries(key, st.one_of(scalar, st.lists(st.one_of(scalar, mapping), max_size=4), mapping),
                        min_size=1, max_size=6)


def _corpus_writer():
    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "benchmarks" / "make_corpus.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.emit


EMIT = _corpus_writer()


def r_style(data: dict) -> str:
    """The pages' own style: what the corpus generator writes, which follows R's yaml package."""
    return "\n".join(EMIT(data)) + "\n"


@SETTINGS
@given(data=front, width=st.integers(20, 120))
def test_written_pages_are_read_alike(data, width):
    check(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=width))
    check(r_style(data))


@SETTINGS
@given(data=front, splices=st.lists(st.tuples(st.floats(0, 1), st.sampled_from([*SPECIAL, "\n", "\n  ", "\n- ",
                                                                                  " ", "    "])), max_size=4))
@example(data={"a": "x y z"}, splices=[(0.5, "\n- ")])
def test_damaged_pages_are_read_alike_or_left_to_pyyaml(data, splices):
    text = r_style(data)
    for where, piece in splices:
        at = int(where * len(text))
        text = text[:at] + piece + text[at:]
    check(text)


@pytest.mark.parametrize("value", ["0x_", "0b_", "2001-02-30"])
def test_a_number_or_date_that_cannot_be_built_rejects_the_record(value):
    with pytest.raises(RecordError, match="invalid YAML value"):
        parse_yaml(f"figid: PMC1__f1\nfigtitle: {value}\n", "page.md")


def test_deep_nesting_is_left_to_pyyaml():
    deep = "".join(" " * i + "a:\n" for i in range(5000))
    assert load(deep) is None
    with pytest.raises(RecordError, match="front matter"):
        parse_yaml(deep, "deep.md")


def test_the_fast_path_is_taken_for_the_pages_style():
    record = {"figid": "PMC1__f1", "caption": "word " * 60, "year": "2001", "pathway_score": 0.5,
              "organisms": ["Homo sapiens"], "schema-jsonld": {"@context": "https://schema.org/", "keywords": ["A"]},
              "genes": [{"word": "TP53", "entrez": "7157"}, {"word": "it's", "entrez": "NA"}], "chemicals": []}
    text = r_style(record)
    assert re.search(r"\n  \S", text), "the caption is folded over lines"
    assert load(text) == record


def test_values_remembered_across_pages_are_never_shared_mutable_ones():
    # one-line scalars are remembered between calls; empty collections must still be new objects each time
    first, second = load("a: []\nb: {}\nc: TP53\n"), load("a: []\nb: {}\nc: TP53\n")
    first["a"].append(1)
    first["b"]["k"] = 1
    assert second == {"a": [], "b": {}, "c": "TP53"}
    assert load("c: 'TP53'\nd: TP53\ne: '7157'\nf: 7157\n") == {"c": "TP53", "d": "TP53", "e": "7157", "f": 7157}
