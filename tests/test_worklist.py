"""What a build keeps on disk instead of in memory: the work list (pages in figid order, keys written) and the spool
of converted records behind report.json. Both must give exactly what the in-memory forms they replace gave."""

import json
from itertools import groupby

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _support import ALT_VERSIONS, HAVE_PFOCR, SAMPLE, SKIP_REASON

from converter.pipeline.report import Report, Spool
from converter.pipeline.worklist import WorkList
from converter.records.sources import Source, discover, peek_figid

# file names and figids as they may come: any text, lone surrogates included (file names that are not UTF-8)
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)) | st.sampled_from(["\udc80", "\udcff", "\ud800"]),
                max_size=12)


def _expected(pages: dict[str, str | None]) -> list[tuple[str | None, list[str]]]:
    """The order the in-memory grouping gave: figids sorted, paths sorted within; unreadable figids last, alone."""
    known = sorted((figid, path) for path, figid in pages.items() if figid is not None)
    out = [(figid, [path for _, path in rows]) for figid, rows in groupby(known, key=lambda r: r[0])]
    return out + [(None, [path]) for path in sorted(p for p, f in pages.items() if f is None)]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_TEXT, st.none() | _TEXT, max_size=30))
def test_groups_come_in_the_order_python_sorts_them(pages):
    with WorkList() as work:
        for path, figid in pages.items():
            work.add(Source(path), figid)
        got = [(figid, [s.path for s in sources]) for sources, figid in work.groups()]
        assert got == _expected(pages)
        assert len(work) == len(pages)
        assert work.group_count() == len(got)


def test_a_page_given_twice_counts_once_and_standard_input_keeps_its_text():
    with WorkList() as work:
        work.add(Source("a.md", ("_data",)), "F1")
        work.add(Source("a.md", ("_data",)), "F1")
        work.add(Source("-", (), "---\nfigid: F0\n---\n"), "F0")
        groups = list(work.groups())
    assert len(groups) == 2
    (stdin,), _ = groups[0]
    assert stdin.text == "---\nfigid: F0\n---\n"
    (page,), _ = groups[1]
    assert page == Source("a.md", ("_data",)) and page.text is None


def test_claims_note_keys_once_and_a_group_with_one_taken_key_notes_none():
    with WorkList() as work:
        assert work.claim("figid", ["F1"])
        assert not work.claim("figid", ["F1"])
        assert work.claim("shared", ["F1"])  # another table: an article IRI is not a figid
        assert not work.claim("figid", ["F2", "F1"])
        assert work.claim("figid", ["F2", "F3"])  # F2 was not noted by the refused claim
        assert work.claim("figid", [])
        assert not work.claim("figid", ["F3"])


@pytest.mark.skipif(not HAVE_PFOCR, reason=SKIP_REASON)
def test_the_real_records_group_as_before():
    sources, _ = discover([str(SAMPLE), str(ALT_VERSIONS)])
    figids = {s.path: peek_figid(s) for s in sources}
    with WorkList() as work:
        for source in reversed(sources):  # the order pages are found in does not matter
            work.add(source, figids[source.path])
        got = [(figid, [s.path for s in group]) for group, figid in work.groups()]
    assert got == _expected(figids)
    assert len(got) < len(sources)  # other versions of some pages share their figids


@settings(max_examples=100, deadline=None)
@given(st.lists(st.fixed_dictionaries({"figid": _TEXT, "file": _TEXT}), max_size=20))
def test_a_spool_is_the_list_it_was_given(items):
    spool = Spool(items[:3])
    spool.extend(items[3:])
    assert len(spool) == len(items)
    assert list(spool) == items and spool == items
    assert spool[1:4] == items[1:4]
    if items:
        assert spool[-1] == items[-1] and spool[0] == items[0]
    with pytest.raises(IndexError):
        spool[len(items)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.fixed_dictionaries({"figid": _TEXT, "file": _TEXT}), max_size=5))
def test_report_json_is_what_json_dumps_writes(items):
    report = Report(records_read=len(items))
    report.converted.extend(items)
    data = {"records_read": len(items), "records_converted": 0, "records_rejected": 0, "triples": 0, "outputs": {},
            "rejected": [], "warnings": [], "converted": items, "statistics": {}}
    assert report.to_json() == json.dumps(data, ensure_ascii=False, indent=1) + "\n"
