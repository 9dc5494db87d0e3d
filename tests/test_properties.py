"""Property tests: any text survives the trip through YAML, the converter and an RDF parser, and no text can make
the dumps invalid."""

from __future__ import annotations

import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml
from hypothesis import HealthCheck, assume, currently_in_test_context, example, given, settings
from hypothesis import strategies as st

from _support import OX_FORMAT, PFOCR_NS, SCHEMA, bad_iri_chars, figure_iri, minimal_record, write_record

from converter import convert

# derandomize: the same examples on every run, so the suite's outcome does not depend on the run
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
SENTINELS = {"", "NA", ".na.character", "NaN", "nan"}  # what docs/mapping.md calls missing
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Lone surrogates cannot be written as UTF-8, so no YAML file can carry them; everything else is fair game.
any_text = st.text(st.characters(blacklist_categories=("Cs",)))
tricky = st.sampled_from(['"', "\\", ">", "<", "\n", "\r\n", "\r", "\t", "\x00", "\x1f", "\x7f", "\x85", "\u2028",
                          "\ufeff", "'", "#", "---", "\n---\n", "%", "%zz", "{", "}", "|", "^", "`", " ", "\ufffe",
                          "\U0001f600", "NA", ".na.character"])
text_with_tricks = st.lists(st.one_of(any_text, tricky), max_size=6).map("".join)


def _yaml_carries(record: dict) -> bool:
    """PyYAML can write the record and read it back unchanged (the converter uses the same safe loader)."""
    return yaml.load(yaml.safe_dump(record, allow_unicode=True), Loader=_LOADER) == record


def _carried(record: dict) -> None:
    """Under hypothesis, a record YAML cannot carry is drawn again; a hand-picked one must be carried."""
    if currently_in_test_context():
        assume(_yaml_carries(record))  # a limitation of YAML, not of the converter
    else:
        assert _yaml_carries(record), record


@contextmanager
def _run(record: dict, formats: list[str]):
    """Write the record with yaml.safe_dump, convert it with the Python API; yields (report, output folder)."""
    with tempfile.TemporaryDirectory(prefix="pfocr-prop-") as tmp:
        folder = Path(tmp)
        write_record(folder / "in" / "record.md", record)
        report = convert([str(folder / "in")], output=str(folder / "out"), formats=formats, jobs=1)
        yield report, folder / "out"


def _parse(out: Path, fmt: str) -> list[ox.Triple]:
    name = {"nt": "pfocr.nt", "ttl": "pfocr.ttl", "jsonld": "pfocr.jsonld"}[fmt]
    return [q.triple for q in ox.parse(path=str(out / name), format=OX_FORMAT[fmt])]


def _literal(triples, subject: str, predicate: str) -> list[str]:
    return [t.object.value for t in triples
            if t.subject == ox.NamedNode(subject) and t.predicate == ox.NamedNode(predicate)]


def check_title_and_caption(title: str, caption: str) -> None:
    record = minimal_record("PMC1__prop-f1", figtitle=title, caption=caption)
    _carried(record)
    with _run(record, ["nt", "ttl", "jsonld"]) as (report, out):
        if title.strip() in SENTINELS:  # a missing title: the record is rejected, with a reason
            assert report.records_rejected == 1 and report.rejected[0].field == "figtitle"
            return
        assert report.records_converted == 1, report.rejected
        fig = figure_iri("PMC1__prop-f1")
        graphs = {fmt: _parse(out, fmt) for fmt in ("nt", "ttl", "jsonld")}
    expected_caption = [] if caption.strip() in SENTINELS else [caption]
    for fmt, triples in graphs.items():
        assert _literal(triples, fig, SCHEMA + "name") == [title], fmt
        assert _literal(triples, fig, SCHEMA + "caption") == expected_caption, fmt
    assert set(graphs["nt"]) == set(graphs["ttl"]) == set(graphs["jsonld"])


@SETTINGS
@given(title=text_with_tricks, caption=text_with_tricks)
@example(title='a "quoted" \\ back > slash', caption="line one\nline two\r\n\ttab")
@example(title="\x00\x01\x1f\x7f control", caption="\u2028\u2029\x85 separators")
@example(title="---", caption="\n---\nnot the end of the front matter\n---\n")
@example(title="TNF-α МЕTTL3 ΜΑΡΚ 🧬", caption="\ufeffBOM inside")
def test_title_and_caption_survive(title, caption):
    check_title_and_caption(title, caption)


def _check_valid_output(report, out: Path, formats=("nt",)) -> list[ox.Triple]:
    """The report adds up, rejections have reasons, every dump parses and no IRI holds a forbidden character."""
    assert report.records_read == report.records_converted + report.records_rejected == 1
    for issue in report.rejected:
        assert issue.field and issue.reason
    triples: list[ox.Triple] = []
    for fmt in formats:
        triples = _parse(out, fmt)  # raises SyntaxError on invalid output, e.g. an invalid IRI
        for t in triples:
            for term in (t.subject, t.predicate, t.object):
                if isinstance(term, ox.NamedNode):
                    assert not bad_iri_chars(term.value), term.value
    return triples


def check_figid(figid: str) -> None:
    record = minimal_record(figid)
    _carried(record)
    with _run(record, ["nt", "ttl", "jsonld"]) as (report, out):
        triples = _check_valid_output(report, out, ("nt", "ttl", "jsonld"))
    if report.records_converted:
        assert _literal(triples, figure_iri(figid), SCHEMA + "identifier") == [figid]
    else:
        assert report.rejected[0].field == "figid"


@SETTINGS
@given(figid=text_with_tricks)
@example(figid="PMC1__a b")
@example(figid="PMC1__<x>")
@example(figid="PMC1__50%")
def test_any_figid_gives_valid_rdf_or_rejection(figid):
    check_figid(figid)


@pytest.mark.parametrize("figid", [
    "PMC1__f1\ue000",  # private use: RFC 3987 allows it only in a query, not in a path
    "PMC1__f1\ufffe",  # a noncharacter
    "PMC1__f1\ufdd0",  # a noncharacter
    "PMC1__f1\ufff0",  # not a ucschar (specials block)
    "PMC1__f1\U000e0001",  # a tag character
], ids=["private-use", "U+FFFE", "U+FDD0", "U+FFF0", "tag"])
def test_figid_outside_iri_characters(figid):
    """Characters RFC 3987 does not allow in an IRI path: the figid must be rejected, not minted."""
    check_figid(figid)


def check_filename_and_figlink(filename: str, figlink: str) -> None:
    record = minimal_record("PMC1__prop-f2", filename=filename, figlink=figlink)
    _carried(record)
    with _run(record, ["nt"]) as (report, out):
        triples = _check_valid_output(report, out)
    assert report.records_converted == 1  # optional fields: a bad value is a warning, not a rejection
    assert any(t.subject == ox.NamedNode(figure_iri("PMC1__prop-f2")) for t in triples)


@SETTINGS
@given(filename=text_with_tricks, figlink=text_with_tricks)
@example(filename="fig 1.jpg", figlink="/pmc/articles/PMC1/figure/F1/")
@example(filename='a"b<c>{d}|e^f`g\\h.jpg', figlink='pmc/articles/PMC1/"<>{}|^`\\')
def test_any_filename_and_figlink_give_valid_iris(filename, figlink):
    check_filename_and_figlink(filename, figlink)


@pytest.mark.parametrize("filename,figlink", [
    ("100%.jpg", "/pmc/articles/PMC1/figure/F1/"),
    ("f1.jpg", "/pmc/articles/PMC1/figure/%zz/"),
    ("f1.jpg", "/pmc/articles/PMC1/figure/F1/%"),
], ids=["percent-in-filename", "bad-escape-in-figlink", "trailing-percent-in-figlink"])
def test_percent_signs_give_valid_iris(filename, figlink):
    """A '%' not followed by two hex digits is not a percent-encoding: it must be escaped as %25."""
    check_filename_and_figlink(filename, figlink)


def check_word(word: str, symbol: str) -> None:
    record = minimal_record("PMC1__prop-f3", genes=[{"word": word, "symbol": symbol, "source": "hgnc_symbol",
                                                     "hgnc_symbol": "TP53", "entrez": "7157"}])
    _carried(record)
    with _run(record, ["nt"]) as (report, out):
        triples = _check_valid_output(report, out)
    assert report.records_converted == 1
    words = [t.object.value for t in triples if t.predicate == ox.NamedNode(PFOCR_NS + "word")]
    assert words == ([] if word.strip() in SENTINELS else [word])
    mentions = {t.subject.value for t in triples if t.predicate == ox.NamedNode(PFOCR_NS + "word")}
    assert all(m.startswith(figure_iri("PMC1__prop-f3") + "#") for m in mentions)


@SETTINGS
@given(word=text_with_tricks, symbol=text_with_tricks)
@example(word="FOXOЗ", symbol="FOXO3")
@example(word='"quoted"\\', symbol="a\nb")
def test_any_word_gives_valid_rdf_and_survives(word, symbol):
    check_word(word, symbol)


# --- the stream engine's N-Triples reader -----------------------------------------------------------------------
iri_text = st.lists(st.one_of(st.text("abc:/#%-._~", min_size=1), tricky, any_text), max_size=4).map("".join)


# IRI and literal text that needs no escape: a line of these is in the form the converter writes, which
# read_line is there to read without the full parser.
PLAIN_IRI = re.compile(r"[A-Za-z0-9:/#._~-]*")
PLAIN_LITERAL = re.compile(r"[A-Za-z0-9:/#._~ -]*")


def _invalid_iri(text: str) -> bool:
    try:
        ox.NamedNode(text)
    except ValueError:
        return True
    return False


@SETTINGS
@given(subject=iri_text, obj=st.one_of(iri_text, text_with_tricks), literal=st.booleans(),
       datatype=st.sampled_from([None, "http://www.w3.org/2001/XMLSchema#integer",
                                 "http://www.w3.org/2001/XMLSchema#string"]), graph=st.booleans())
@example(subject="https://ex.org/a", obj='say "hi"\n', literal=True, datatype=None, graph=False)
@example(subject="https://ex.org/a b", obj="x", literal=False, datatype=None, graph=True)
@example(subject="a/b#c", obj="plain words", literal=True, datatype=None, graph=False)
@example(subject="a", obj="12", literal=True, datatype="http://www.w3.org/2001/XMLSchema#integer", graph=True)
@example(subject="a", obj="b", literal=False, datatype=None, graph=False)
def test_read_line_agrees_with_pyoxigraph(subject, obj, literal, datatype, graph):
    """``read_line`` returns what pyoxigraph parses from a line, or None (the full parser then reads it); it never
    accepts a line pyoxigraph rejects, and it reads every line in the plain form the converter writes."""
    from converter.rdf.terms import read_line
    from converter.validate.terms import from_ox

    s, o = f"<https://ex.org/{subject}>", f"<https://ex.org/{obj}>"
    if literal:
        o = str(ox.Literal(obj, datatype=ox.NamedNode(datatype) if datatype else None))
    line = f"{s} <https://schema.org/name> {o}" + (" <https://ex.org/g>" if graph else "") + " ."
    fmt = ox.RdfFormat.N_QUADS if graph else ox.RdfFormat.N_TRIPLES
    try:
        expected = [tuple(from_ox(t) for t in (q.subject, q.predicate, q.object)) for q in ox.parse(line, format=fmt)]
    except SyntaxError:
        expected = None
    found = read_line(line)
    if expected is None:
        if found is not None and any(_invalid_iri(iri) for iri in re.findall(r"<([^>]*)>", line)):
            return  # a known bug, pinned by test_read_line_refuses_invalid_iris below
        assert found is None, line
        return
    plain = PLAIN_IRI.fullmatch(subject) and (PLAIN_LITERAL if literal else PLAIN_IRI).fullmatch(obj)
    if plain:
        assert found is not None, f"read_line left a plain line to the full parser: {line}"
    if found is not None:
        assert [found] == expected, line


@pytest.mark.parametrize("iri", ["https://ex.org/%", "https://ex.org/##"], ids=["stray-percent", "two-fragments"])
def test_read_line_refuses_invalid_iris(iri):
    from converter.rdf.terms import read_line

    line = f"<{iri}> <https://schema.org/name> <https://ex.org/> ."
    with pytest.raises(SyntaxError):
        list(ox.parse(line, format=ox.RdfFormat.N_TRIPLES))
    assert read_line(line) is None


@SETTINGS
@given(value=st.one_of(st.text(st.sampled_from("abcXYZ019._-:' \"#!&*@\t\r"), max_size=12),
                       st.sampled_from(["yes", "No", "TRUE", "off", "null", "y", "PMC1__a.b-c", "PMC1__x:y",
                                        "a #c", "'q'", "1e3", "0x1F", "~", "N"])))
def test_peek_figid_reads_the_line_as_yaml_does(value):
    """The figid line's fast path gives what the YAML parser gives (text, or None when it is not text)."""
    from converter.records.sources import Source, peek_figid

    page = f"---\nfigid: {value}\npmcid: PMC1\n---\n"
    try:
        parsed = yaml.load(f"figid: {value}\n", Loader=_LOADER)
        expected = parsed.get("figid") if isinstance(parsed, dict) else None
    except yaml.YAMLError:
        expected = None
    assert peek_figid(Source("-", (), page)) == (expected if isinstance(expected, str) else None)


@SETTINGS
@given(lexical=text_with_tricks, datatype=st.sampled_from(
           [None, "http://www.w3.org/2001/XMLSchema#string", "http://www.w3.org/2001/XMLSchema#integer",
            "http://www.w3.org/2001/XMLSchema#gYear", "https://ex.org/my-type"]),
       language=st.sampled_from([None, "en", "en-GB", "DE-ch"]))
@example(lexical='say "hi"\n\x00\x7f\u2028', datatype=None, language=None)
@example(lexical="Zelle", datatype=None, language="de-CH")
def test_one_formatter_whatever_the_reader(lexical, datatype, language):
    """A term's N-Triples text is the same whether it came from a dump (converter.rdf), pyoxigraph or rdflib, and
    pyoxigraph reads it back as the same term: results of both validation engines and of the pySHACL reference
    compare as strings. (pyoxigraph's own text can differ: it escapes noncharacters such as U+FFFE.)"""
    import rdflib

    from converter.rdf.terms import Literal, nt_term
    from converter.validate.terms import from_ox, nt_of_ox, nt_of_rdflib

    if language is not None:
        ours, oxterm = Literal(lexical, None, language), ox.Literal(lexical, language=language)
        theirs = rdflib.Literal(lexical, lang=language)
    else:
        ours = Literal(lexical, datatype)
        oxterm = ox.Literal(lexical, datatype=ox.NamedNode(datatype) if datatype else None)
        theirs = rdflib.Literal(lexical, datatype=rdflib.URIRef(datatype) if datatype else None)
    text = nt_term(ours)
    assert text == nt_of_ox(oxterm) == nt_of_rdflib(theirs)
    parsed = next(iter(ox.parse(f"<x:s> <x:p> {text} .", format=ox.RdfFormat.N_TRIPLES))).object
    assert parsed == oxterm and nt_term(from_ox(parsed)) == text
    for iri in ("https://ex.org/a", "_:b1"):
        node = ox.BlankNode(iri[2:]) if iri.startswith("_:") else ox.NamedNode(iri)
        assert nt_term(iri) == nt_of_ox(node) == nt_of_rdflib(rdflib.BNode(iri[2:]) if iri.startswith("_:")
                                                              else rdflib.URIRef(iri))
