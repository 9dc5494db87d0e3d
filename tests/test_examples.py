"""The bundled example records in ``examples/pfocr`` convert as their own files say they should.

The expectations are computed here, from the example files themselves (YAML front matter parsed with PyYAML,
companion TSVs with :mod:`csv`), without using any of the converter's parsing code; then the converter's
N-Triples dump is loaded into pyoxigraph and queried.

What the examples are and which PFOCR traps each one exercises is listed in ``examples/pfocr/README.md``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml

from _support import OracleGraph, graph_difference, oracle_graph

from converter import convert

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "pfocr"

IDORG = "https://identifiers.org/"
SCHEMA = "https://schema.org/"
PFOCR = "https://pfocr.wikipathways.org/vocab#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
MENTIONS = SCHEMA + "mentions"
SAME_AS = SCHEMA + "sameAs"
HAS_MENTION = PFOCR + "hasMention"
WORD = PFOCR + "word"
# PFOCR's spellings of "no value": R's NA and .na.character, and empty cells.
MISSING = {"", "NA", ".na.character"}
ENTITY_IRI = re.compile(r"^https://identifiers\.org/(ncbigene|mesh|chebi|doid)/")


def figure_iri(figid: str) -> str:
    return f"https://pfocr.wikipathways.org/figures/{figid}.html"


def id_iri(prefix: str, value: str) -> str | None:
    """The identifiers.org IRI of a bare or CURIE identifier, or None when it is not a valid one."""
    local = value.strip()
    if ":" in local:
        head, local = local.split(":", 1)
        assert head.lower() == prefix, f"{value!r} is not a {prefix} CURIE"
    if prefix == "ncbigene" and re.fullmatch(r"\d+", local):
        return f"{IDORG}ncbigene/{local}"
    if prefix == "mesh" and re.fullmatch(r"[CD]\d+", local):
        return f"{IDORG}mesh/{local}"
    if prefix == "chebi" and re.fullmatch(r"\d+", local):
        return f"{IDORG}chebi/CHEBI:{local}"
    if prefix == "doid" and re.fullmatch(r"\d+", local):
        return f"{IDORG}doid/DOID:{local}"
    return None


@dataclass
class Expected:
    """What one example record should become."""

    path: Path
    figid: str
    pmcid: str | None
    layout: str
    mentioned: set[str] = field(default_factory=set)  # IRIs the figure must schema:mentions
    linked: set[tuple[str, str]] = field(default_factory=set)  # (mentioned IRI, IRI it must be sameAs)
    words: set[str] = field(default_factory=set)  # OCR words, byte for byte
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (field, value) of each invalid identifier


def front_matter(path: Path) -> dict:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "---", f"{path} does not start with a front matter fence"
    end = lines.index("---", 1)
    data = yaml.safe_load("\n".join(lines[1:end]))
    assert isinstance(data, dict)
    return data


def tsv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    header, body = rows[0], rows[1:]
    assert all(len(r) == len(header) for r in body), f"{path}: ragged rows"
    return [dict(zip(header, r)) for r in body]


def expected_record(path: Path) -> Expected:
    fm = front_matter(path)
    pmcid = fm.get("pmcid") or None
    inline = any(k in fm for k in ("genes", "chemicals", "diseases"))
    exp = Expected(path, fm["figid"], pmcid, "inline" if inline else "tsv")

    def word(value: str | None) -> None:
        if value is not None and value.strip() not in MISSING:
            exp.words.add(value)

    if inline:
        for i, gene in enumerate(fm.get("genes") or []):
            word(gene.get("word"))
            entrez = str(gene.get("entrez") or "")
            if entrez.strip() in MISSING:
                continue
            iri = id_iri("ncbigene", entrez)
            if iri is None:
                exp.invalid.append((f"genes[{i}].entrez", entrez))
            else:
                exp.mentioned.add(iri)
        for list_name in ("chemicals", "diseases"):
            for i, item in enumerate(fm.get(list_name) or []):
                word(item.get("word"))
                identifier = str(item.get("identifier") or "")
                if identifier.strip() in MISSING:
                    continue
                iri = id_iri("mesh", identifier)  # the old layout's identifiers are bare MeSH ids
                if iri is None:
                    exp.invalid.append((f"{list_name}[{i}].identifier", identifier))
                else:
                    exp.mentioned.add(iri)
        return exp

    data = path.parent.parent / "_data"
    genes = data / f"{exp.figid}-genes.tsv"
    if genes.exists():
        for row in tsv_rows(genes):
            word(row["word"])
            if row["ncbigene_id"] not in MISSING:
                exp.mentioned.add(id_iri("ncbigene", row["ncbigene_id"]))
    for kind, other in (("chemicals", "chebi"), ("diseases", "doid")):
        companion = data / f"{exp.figid}-{kind}.tsv"
        if not companion.exists():
            continue
        for row in tsv_rows(companion):
            word(row["word"])
            mesh = id_iri("mesh", row["mesh"]) if row["mesh"] not in MISSING else None
            xref = id_iri(other, row[other]) if row[other] not in MISSING else None
            if mesh:
                exp.mentioned.add(mesh)
                if xref:  # the ChEBI / DOID id names the same entity as the MeSH id
                    exp.linked.add((mesh, xref))
            elif xref:
                exp.mentioned.add(xref)
    return exp


RECORDS = [expected_record(p) for p in sorted((EXAMPLES / "_figures").glob("*.md"))]
GOOD = [r for r in RECORDS if r.pmcid]
BROKEN = [r for r in RECORDS if not r.pmcid]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = tmp_path_factory.mktemp("examples-out")
    report = convert([str(EXAMPLES)], output=str(out), formats=["nt"], jobs=1)
    store = ox.Store()
    store.bulk_load(path=str(out / "pfocr.nt"), format=ox.RdfFormat.N_TRIPLES)
    return report, store


def objects(store: ox.Store, subject: str, predicate: str) -> set[str]:
    return {q.object.value for q in store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None)}


def test_examples_cover_the_traps():
    """The example set itself: both layouts, one broken record, look-alike letters, sentinels, duplicates."""
    assert len(RECORDS) >= 8
    assert {r.layout for r in RECORDS} == {"inline", "tsv"}
    assert len(BROKEN) == 1
    assert sum(len(r.invalid) for r in RECORDS) >= 1
    words = set().union(*(r.words for r in RECORDS))
    assert any(re.search("[\u0400-\u04ff]", w) for w in words), "no Cyrillic look-alike word"
    assert any(re.search("[\u0370-\u03ff]", w) for w in words), "no Greek letter in a gene word"
    texts = {p: p.read_text(encoding="utf-8") for p in (EXAMPLES / "_figures").glob("*.md")}
    assert any(".na.character" in t for t in texts.values())
    assert any("\n- NA\n" in t for t in texts.values())
    assert any("\nyear: ''\n" in t for t in texts.values())
    assert any("\nfiglink: pmc/" in t for t in texts.values())
    tsvs = [tsv_rows(p) for p in (EXAMPLES / "_data").glob("*.tsv")]
    assert any(len({tuple(r.items()) for r in rows}) < len(rows) for rows in tsvs), "no duplicate TSV row"
    figids = {r.figid for r in RECORDS}
    for tsv in (EXAMPLES / "_data").glob("*.tsv"):
        assert tsv.name.rsplit("-", 1)[0] in figids, f"{tsv.name} has no figure page"


def test_counts(converted):
    report, _ = converted
    assert report.records_read == len(RECORDS)
    assert report.records_read == report.records_converted + report.records_rejected
    assert report.records_converted == len(GOOD)
    assert report.records_rejected == len(BROKEN) == 1
    assert {c["figid"] for c in report.converted} == {r.figid for r in GOOD}
    assert report.triples > 0


def test_broken_record_rejected_for_pmcid(converted):
    report, store = converted
    (broken,) = BROKEN
    (issue,) = report.rejected
    assert issue.field == "pmcid"
    assert Path(issue.file).resolve() == broken.path.resolve()
    assert not list(store.quads_for_pattern(ox.NamedNode(figure_iri(broken.figid)), None, None))


def test_invalid_identifiers_are_warnings(converted):
    report, store = converted
    located = {(Path(w.file).resolve(), w.field) for w in report.warnings}
    mentioned = {q.object.value for q in store.quads_for_pattern(None, ox.NamedNode(MENTIONS), None)}
    for record in RECORDS:
        for field_name, value in record.invalid:
            assert (record.path.resolve(), field_name) in located, f"no warning for {record.path.name} {field_name}"
            assert not any(iri.endswith("/" + value) for iri in mentioned), f"{value!r} was linked"


@pytest.mark.parametrize("record", GOOD, ids=lambda r: r.figid)
def test_entities_are_mentioned(converted, record):
    """The genes, chemicals and diseases the figure mentions are exactly the valid ids of its lists: none missing,
    none extra (organisms, which the figure also mentions, are left to the whole-graph check)."""
    _, store = converted
    fig = figure_iri(record.figid)
    assert SCHEMA + "ImageObject" in objects(store, fig, RDF_TYPE)
    mentioned = {iri for iri in objects(store, fig, MENTIONS) if ENTITY_IRI.match(iri)}
    missing, extra = record.mentioned - mentioned, mentioned - record.mentioned
    assert not missing and not extra, f"{record.figid}: missing {sorted(missing)}, unexpected {sorted(extra)}"
    targets = set()
    for mention in objects(store, fig, HAS_MENTION):
        targets |= objects(store, mention, PFOCR + "entity")
    assert targets == record.mentioned, f"{record.figid}: mentions point at {sorted(targets ^ record.mentioned)}"
    for mesh, xref in record.linked:
        assert xref in objects(store, mesh, SAME_AS), f"{xref} not linked from {mesh}"


@pytest.fixture(scope="module")
def example_oracle() -> OracleGraph:
    return oracle_graph([EXAMPLES])


def test_examples_give_the_oracle_graph(converted, example_oracle):
    """The whole dump, as a set, is what the oracle derives from the example files: nothing missing, nothing
    extra, and the broken record is the one the oracle rejects."""
    report, store = converted
    assert {Path(i.file).resolve() for i in report.rejected} == {p.resolve() for p in example_oracle.rejected}
    actual = {q.triple for q in store}
    difference = graph_difference(example_oracle.triples, actual, example_oracle.owner)
    assert not difference, difference
    assert len(actual) > 1000


@pytest.mark.parametrize("record", GOOD, ids=lambda r: r.figid)
def test_each_example_gives_its_oracle_triples(converted, example_oracle, record):
    _, store = converted
    nodes = example_oracle.subjects_of(record.figid)
    actual = {q.triple for q in store if q.subject.value in nodes}
    expected = {t for t in example_oracle.triples if t.subject.value in nodes}
    difference = graph_difference(expected, actual, example_oracle.owner, per_record=8)
    assert not difference, difference
    assert not example_oracle.undecided


@pytest.mark.parametrize("record", GOOD, ids=lambda r: r.figid)
def test_words_are_kept_unchanged(converted, record):
    """OCR words, look-alike letters (Cyrillic АКТ, Greek ΜΑΡΚ, TNF-α) and odd spacing included, stay as written."""
    _, store = converted
    words = set()
    for mention in objects(store, figure_iri(record.figid), HAS_MENTION):
        words |= objects(store, mention, WORD)
    assert words == record.words


def test_no_sentinel_leaks_into_literals(converted):
    _, store = converted
    leaked = {q.object.value for q in store if isinstance(q.object, ox.Literal) and q.object.value.strip() in MISSING}
    assert not leaked


def test_invalid_ids_the_oracle_finds_are_warned_about(converted, example_oracle):
    """docs/mapping.md: an invalid id is not minted, and report.json names the file, the field and the value."""
    report, _ = converted
    warned = {(Path(w.file).resolve(), w.field) for w in report.warnings}
    invalid = [(rec.path.resolve(), name, value) for rec in example_oracle.records.values()
               for name, value in rec.invalid]
    assert invalid, "the examples hold an invalid id"
    for path, name, value in invalid:
        assert (path, name) in warned, f"no warning for {value!r} in {path.name} {name}"
        assert any(value in w.reason for w in report.warnings if w.field == name), f"the warning omits {value!r}"
