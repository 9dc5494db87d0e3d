"""Incremental rebuilds: converting into the same output folder again reconverts only the records whose files
changed, and every output is byte-identical to a full build of the same records."""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from _support import ALL_FILES, SAMPLE
from conftest import run_convert

pytestmark = pytest.mark.usefixtures("pfocr_data")
_FIGID = re.compile(r"^figid: (.*)$", re.M)
_PMCID = re.compile(r"^pmcid: (.*)$", re.M)


def _same(a, b, names=ALL_FILES) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs from a full build"


def _touch_later(path) -> None:
    """A new modification time, as an editor saving the file gives it."""
    later = time.time_ns() + 1_000_000_000
    os.utime(path, ns=(later, later))


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("alt-versions", "*.tsv.orig"))
    return root


def _pages(corpus) -> list:
    return sorted((corpus / "_figures").glob("*.md"))


def test_rebuild_reconverts_only_what_changed(corpus, tmp_path):
    pages = _pages(corpus)
    # Two figures of one article: the second (by figid) shares the first's article block, which the first writes.
    first = pages[0]
    text = first.read_text(encoding="utf-8")
    figid = _FIGID.search(text).group(1).strip()
    sibling = corpus / "_figures" / f"{figid}-b.md"
    sibling.write_text(_FIGID.sub(f"figid: {figid}-b", text, count=1), encoding="utf-8")
    out = tmp_path / "out"
    full = run_convert([corpus], out, jobs=1)
    assert full.report.reused == 0
    records = full.report.records_read

    again = run_convert([corpus], out, jobs=1)
    assert again.report.reused == records  # nothing changed: nothing reconverted
    fresh = run_convert([corpus], tmp_path / "fresh-1", jobs=1)
    _same(fresh.out, out)

    # a caption edited, a page removed (the one that wrote the shared article), a page added, a TSV edited
    edited = pages[3]
    edited.write_text(edited.read_text(encoding="utf-8").replace("caption: ", "caption: Edited. ", 1),
                      encoding="utf-8")
    _touch_later(edited)
    first.unlink()
    added = corpus / "_figures" / "PMC999999__added-f1.md"
    added.write_text(_PMCID.sub("pmcid: PMC999999", _FIGID.sub("figid: PMC999999__added-f1",
                                                               pages[5].read_text(encoding="utf-8"), count=1),
                                count=1), encoding="utf-8")
    kept = {p.stem for p in _pages(corpus)} - {edited.stem}
    tsv = next(t for t in sorted((corpus / "_data").glob("*-genes.tsv")) if t.name[:-len("-genes.tsv")] in kept)
    lines = tsv.read_text(encoding="utf-8").splitlines(keepends=True)
    tsv.write_text("".join(lines[:-1]), encoding="utf-8")
    _touch_later(tsv)

    rebuilt = run_convert([corpus], out, jobs=2)
    fresh = run_convert([corpus], tmp_path / "fresh-2", jobs=1)
    _same(fresh.out, out)
    assert rebuilt.report_json == fresh.report_json
    # reconverted: the edited page, the added one and the TSV's page; the sibling, which now writes the article,
    # kept its own text of it from the last build
    assert rebuilt.report.reused == rebuilt.report.records_read - 3
    assert not list(out.glob(".pfocr-shards-*"))  # the workers' shards are gone


def test_dumps_changed_by_hand_or_other_options_mean_a_full_build(corpus, tmp_path):
    out = tmp_path / "out"
    run_convert([corpus], out, jobs=1)
    with open(out / "pfocr.nt", "a", encoding="utf-8") as fh:
        fh.write("<https://example.org/a> <https://example.org/b> <https://example.org/c> .\n")
    again = run_convert([corpus], out, jobs=1)
    assert again.report.reused == 0
    fresh = run_convert([corpus], tmp_path / "fresh", jobs=1)
    _same(fresh.out, out)
    other = run_convert([corpus], out, jobs=1, formats=["nt"])
    assert other.report.reused == 0
    assert run_convert([corpus], out, jobs=1, formats=["nt"]).report.reused == other.report.records_read


def test_a_broken_index_means_a_full_build(corpus, tmp_path):
    out = tmp_path / "out"
    run_convert([corpus], out, jobs=1)
    (out / ".pfocr-build" / "index.sqlite").write_bytes(b"not a database")
    again = run_convert([corpus], out, jobs=1)
    assert again.report.reused == 0
    _same(run_convert([corpus], tmp_path / "fresh", jobs=1).out, out)


def test_a_damaged_index_means_a_full_build(corpus, tmp_path):
    """Pages in its middle overwritten: its header still reads well, so the rest is checked before anything is
    taken from it."""
    out = tmp_path / "out"
    run_convert([corpus], out, jobs=1)
    index = out / ".pfocr-build" / "index.sqlite"
    data = bytearray(index.read_bytes())
    data[len(data) // 2: len(data) // 2 + 8192] = bytes(8192)
    index.write_bytes(bytes(data))
    again = run_convert([corpus], out, jobs=1)
    assert again.report.reused == 0
    _same(run_convert([corpus], tmp_path / "fresh", jobs=1).out, out)


def test_a_page_sorting_before_all_others_comes_and_goes(corpus, tmp_path):
    """The first JSON-LD node of a dump has no comma before it: copied from the last build after a new first
    page, it gets one; with that page gone again, it loses it."""
    out = tmp_path / "out"
    before = run_convert([corpus], tmp_path / "before", jobs=1)
    run_convert([corpus], out, jobs=1)
    source = _pages(corpus)[0]
    added = corpus / "_figures" / "A0__first-f1.md"
    added.write_text(_FIGID.sub("figid: A0__first-f1", source.read_text(encoding="utf-8"), count=1),
                     encoding="utf-8")
    with_first = run_convert([corpus], out, jobs=1)
    assert with_first.report.reused == with_first.report.records_read - 1
    _same(run_convert([corpus], tmp_path / "fresh", jobs=1).out, out)
    added.unlink()
    run_convert([corpus], out, jobs=1)
    _same(before.out, out)


def test_long_runs_written_piece_by_piece_are_the_same_bytes(corpus, tmp_path, monkeypatch):
    """A rebuild hands each long run of unchanged text to the writers as it grows, not when it ends: with tiny
    pieces, many copies of the last dumps come out of one rebuild, and the dumps are still a full build's."""
    from converter.rdf import writers

    out = tmp_path / "out"
    records = run_convert([corpus], out, jobs=1).report.records_read
    edited = _pages(corpus)[len(_pages(corpus)) // 2]
    edited.write_text(edited.read_text(encoding="utf-8").replace("caption: ", "caption: Edited. ", 1),
                      encoding="utf-8")
    _touch_later(edited)
    copies = []
    real = writers._Writer._copy
    monkeypatch.setattr(writers._Writer, "_copy", lambda self, fd, start, end, name:
                        copies.append(end - start) or real(self, fd, start, end, name))
    monkeypatch.setattr(writers, "_RUN_CHUNK", 4096)
    monkeypatch.setattr(writers._Writer, "_BATCH_BYTES", 8192)
    rebuilt = run_convert([corpus], out, jobs=1)
    assert rebuilt.report.reused == records - 1
    # two runs per dump (before and after the edited figure) would be 8 copies; pieces of about 4 KiB are many more
    assert len(copies) > 80
    monkeypatch.undo()
    fresh = run_convert([corpus], tmp_path / "fresh", jobs=1)
    _same(fresh.out, out)
    assert rebuilt.report_json == fresh.report_json
