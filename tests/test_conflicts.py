"""The same figid in two files: one figure node; the other file rejected, naming the kept file.

The documented rule (docs/mapping.md): the newer layout (no inline genes/chemicals/diseases keys, entity lists in
companion TSVs) wins over the older inline layout; then the first path in sorted order. Input order does not matter.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from _support import (
    ENTITY_IRI,
    SCHEMA,
    alt_version_records,
    expected_record,
    figure_iri,
    iri_values,
    load_store,
    minimal_record,
    objects,
    write_record,
)
from conftest import run_convert


def figure_nodes(store: ox.Store, figid: str) -> set[str]:
    """Every node typed schema:ImageObject whose schema:identifier is ``figid``."""
    query = f"""SELECT DISTINCT ?f WHERE {{ ?f a <{SCHEMA}ImageObject> ; <{SCHEMA}identifier> ?id
                FILTER(STR(?id) = {_sparql_string(figid)}) }}"""
    return {row["f"].value for row in store.query(query)}


def _sparql_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_counts(report) -> None:
    assert report.records_read == report.records_converted + report.records_rejected
    assert len(report.rejected) == report.records_rejected
    assert len(report.converted) == report.records_converted


# --- the real alternative versions --------------------------------------------------------------------------------
ALT = alt_version_records()


def test_real_alt_versions_counts(conflict_run):
    report = conflict_run.report
    _check_counts(report)
    assert len(ALT) == 2
    assert report.records_read == 60 + len(ALT)
    assert report.records_rejected == len(ALT)
    assert report.records_converted == 60


@pytest.mark.parametrize("alt", ALT, ids=lambda p: p.stem)
def test_real_alt_version_newer_layout_wins(alt, conflict_run, conflict_store):
    kept = expected_record(alt)
    other = alt.parents[3] / "_figures" / alt.name  # the same figid in the sample's own _figures
    loser = expected_record(other)
    assert kept.figid == loser.figid
    assert (kept.layout, loser.layout) == ("tsv", "inline")
    assert str(other) < str(alt)  # the older file sorts first: the layout rule, not path order, decides

    assert figure_nodes(conflict_store, kept.figid) == {figure_iri(kept.figid)}
    converted = [c["file"] for c in conflict_run.report_json["converted"] if c["figid"] == kept.figid]
    assert converted == [str(alt)]
    rejected = [i for i in conflict_run.report.rejected if i.file == str(other)]
    assert len(rejected) == 1
    assert rejected[0].field == "figid"
    assert str(alt) in rejected[0].reason
    assert rejected[0].figid == kept.figid

    fig = figure_iri(kept.figid)
    assert [n.value for n in objects(conflict_store, fig, SCHEMA + "name")] == [kept.title]
    assert [n.value for n in objects(conflict_store, fig, SCHEMA + "caption")] == \
        ([kept.caption] if kept.caption is not None else [])
    mentioned = {iri for iri in iri_values(objects(conflict_store, fig, SCHEMA + "mentions")) if ENTITY_IRI.match(iri)}
    assert mentioned == kept.entities  # nothing of the rejected inline version leaks in


# --- constructed conflicts -----------------------------------------------------------------------------------------
FIGID = "PMC1__dup-f1"


def _inline(title: str) -> dict:
    return minimal_record(FIGID, figtitle=title,
                          genes=[{"word": title, "symbol": "TP53", "source": "hgnc_symbol", "hgnc_symbol": "TP53",
                                  "entrez": "7157"}],
                          chemicals=[], diseases=[])


def _tsv(title: str) -> dict:
    return minimal_record(FIGID, figtitle=title, doi=".na.character", organisms_ner=["NA"])


def _convert(tmp_path, paths, name="out"):
    run = run_convert(paths, tmp_path / name, formats=["nt"], jobs=1)
    return run, load_store(run.path("pfocr.nt"), "nt")


def _check_winner(run, store, files, winner, title) -> None:
    """One figure node, from ``winner`` (with ``title``); every other file rejected on figid, naming the winner."""
    _check_counts(run.report)
    assert run.report.records_read == len(files)
    assert run.report.records_converted == 1
    assert figure_nodes(store, FIGID) == {figure_iri(FIGID)}
    kept = run.report.converted[0]["file"]
    names = [n.value for n in objects(store, figure_iri(FIGID), SCHEMA + "name")]
    assert (kept, names) == (str(winner), [title])
    rejected = {i.file: i for i in run.report.rejected}
    assert set(rejected) == {str(f) for f in files} - {kept}
    for issue in rejected.values():
        assert issue.field == "figid"
        assert issue.figid == FIGID
        assert kept in issue.reason, issue.reason


@pytest.mark.parametrize("reverse", [False, True], ids=["sorted-input", "reversed-input"])
def test_same_layout_first_sorted_path_wins(tmp_path, reverse):
    a = write_record(tmp_path / "a" / "x.md", _tsv("from a"))
    b = write_record(tmp_path / "b" / "x.md", _tsv("from b"))
    paths = [tmp_path / "b", tmp_path / "a"] if reverse else [tmp_path / "a", tmp_path / "b"]
    _check_winner(*_convert(tmp_path, paths), [a, b], a, "from a")


@pytest.mark.parametrize("reverse", [False, True], ids=["sorted-input", "reversed-input"])
def test_both_inline_first_sorted_path_wins(tmp_path, reverse):
    a = write_record(tmp_path / "a.md", _inline("from a"))
    b = write_record(tmp_path / "b.md", _inline("from b"))
    _check_winner(*_convert(tmp_path, [b, a] if reverse else [a, b]), [a, b], a, "from a")


@pytest.mark.parametrize("reverse", [False, True], ids=["sorted-input", "reversed-input"])
def test_newer_layout_wins_over_earlier_path(tmp_path, reverse):
    old = write_record(tmp_path / "a-old.md", _inline("old inline"))
    new = write_record(tmp_path / "z-new.md", _tsv("new tsv"))
    run, store = _convert(tmp_path, [new, old] if reverse else [old, new])
    _check_winner(run, store, [old, new], new, "new tsv")
    # the inline gene of the rejected version is not mentioned
    assert not iri_values(objects(store, figure_iri(FIGID), SCHEMA + "mentions"))
    assert not list(store.quads_for_pattern(None, None, ox.Literal("old inline")))


def test_three_files_two_layouts(tmp_path):
    files = [write_record(tmp_path / "1.md", _inline("one")), write_record(tmp_path / "2.md", _tsv("two")),
             write_record(tmp_path / "3.md", _tsv("three"))]
    _check_winner(*_convert(tmp_path, [tmp_path]), files, files[1], "two")


def test_companion_tsvs_follow_the_kept_record(tmp_path):
    """The kept newer-layout page takes its entities from its own checkout's _data."""
    old = write_record(tmp_path / "old" / "_figures" / f"{FIGID}.md", _inline("old"))
    new = write_record(tmp_path / "new" / "_figures" / f"{FIGID}.md", _tsv("new"))
    (tmp_path / "new" / "_data").mkdir()
    (tmp_path / "new" / "_data" / f"{FIGID}-genes.tsv").write_text(
        "organism_id\torganism_name\torganism_group\tword\tmatch\tncbigene_symbol\tncbigene_id\tsource\t"
        "count_direct\tcount_synonym\tcount_match\n"
        "9606\tHomo sapiens\tPrimates\tTNFa\tTNF\tTNF\t7124\tncbigene_symbol\t1\tNA\t1\n", encoding="utf-8")
    run, store = _convert(tmp_path, [tmp_path / "old", tmp_path / "new"])
    _check_winner(run, store, [old, new], new, "new")
    assert iri_values(objects(store, figure_iri(FIGID), SCHEMA + "mentions")) == \
        {"https://identifiers.org/ncbigene/7124"}


# How the figid key is spelled in YAML must not change which file wins.
SPELLINGS = {
    "plain": "figid: {figid}",
    "single-quoted": "figid: '{figid}'",
    "double-quoted": 'figid: "{figid}"',
    "trailing-spaces": "figid: {figid}   ",
    "trailing-comment": "figid: {figid}  # the figure id",
    "quoted-key": '"figid": {figid}',
}


def _page(figid_line: str, title: str, inline: bool) -> str:
    lines = [figid_line, "pmcid: PMC1", f"figtitle: {title}", "year: '2020'"]
    if inline:
        lines += ["genes: []", "chemicals: []", "diseases: []"]
    return "---\n" + "\n".join(lines) + "\n---\n"


@pytest.mark.parametrize("spelling", SPELLINGS, ids=list(SPELLINGS))
def test_rule_holds_whatever_the_figid_spelling(tmp_path, spelling):
    """The newer-layout page spells its figid line differently from the older page; it still wins."""
    old = tmp_path / "a-old.md"
    old.write_text(_page(SPELLINGS["plain"].format(figid=FIGID), "old inline", True), encoding="utf-8")
    new = tmp_path / "b-new.md"
    new.write_text(_page(SPELLINGS[spelling].format(figid=FIGID), "new tsv", False), encoding="utf-8")
    _check_winner(*_convert(tmp_path, [tmp_path]), [old, new], new, "new tsv")
