"""The outputs are a function of the input records only: not of the run, the input order or the worker count."""

from __future__ import annotations

import gc
import multiprocessing
import re
import shutil
import subprocess

import pytest

from _support import ALL_FILES, SAMPLE, SAMPLE_DATA, SEED, cli_command, sample_records
from conftest import run_convert

pytestmark = pytest.mark.usefixtures("pfocr_data")


def _assert_same_files(a, b, names=ALL_FILES):
    for name in names:
        left, right = (a / name).read_bytes(), (b / name).read_bytes()
        assert left == right, f"{name} differs between {a.name} and {b.name}"


def test_two_runs_are_byte_identical(sample_run, tmp_path):
    again = run_convert([SAMPLE, SEED], tmp_path / "again", jobs=1)
    _assert_same_files(sample_run.out, again.out)


def test_input_order_does_not_matter(sample_run, tmp_path):
    """Individual .md files given in two different orders to the CLI, written to two folders."""
    files = [str(p) for p in sample_records()]
    forward = files
    shuffled = files[::-1]
    shuffled = shuffled[1::2] + shuffled[0::2]  # reversed and interleaved: far from sorted
    assert shuffled != forward and sorted(shuffled) == sorted(forward)
    outs = []
    for name, order in (("forward", forward), ("shuffled", shuffled)):
        out = tmp_path / name
        proc = subprocess.run([*cli_command(), "convert", *order, "-o", str(out), "--jobs", "1"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        outs.append(out)
    _assert_same_files(*outs)
    # the same records given as a checkout and a folder give the same dumps too
    _assert_same_files(sample_run.out, outs[0])


def test_folder_order_does_not_matter(sample_run, tmp_path):
    reordered = run_convert([SEED, SAMPLE], tmp_path / "reordered", jobs=1)
    _assert_same_files(sample_run.out, reordered.out)


_FIGID_LINE = re.compile(r"^figid: .*$", re.M)


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """A second checkout with every sample record (and its companion TSVs) under a new figid."""
    root = tmp_path_factory.mktemp("copies")
    (root / "_figures").mkdir()
    (root / "_data").mkdir()
    for md in sample_records():
        text = md.read_text(encoding="utf-8")
        match = _FIGID_LINE.search(text)
        figid = match.group(0).split(":", 1)[1].strip()
        new = f"{figid}-copy"
        (root / "_figures" / f"{new}.md").write_text(text[: match.start()] + f"figid: {new}" + text[match.end():],
                                                     encoding="utf-8")
        for tsv in SAMPLE_DATA.glob(f"{figid}-*.tsv"):
            shutil.copyfile(tsv, root / "_data" / (new + tsv.name[len(figid):]))
    return root


def test_jobs_do_not_matter(copies, tmp_path, monkeypatch):
    """--jobs 1 and --jobs 2 give the same bytes, with enough figids (>= 64) that the worker pool is used."""
    pools = []
    real_get_context = multiprocessing.get_context

    def spy(method=None):
        pools.append(method)
        return real_get_context(method)

    one = run_convert([SAMPLE, SEED, copies], tmp_path / "one", jobs=1)
    assert pools == []
    monkeypatch.setattr(multiprocessing, "get_context", spy)
    two = run_convert([SAMPLE, SEED, copies], tmp_path / "two", jobs=2)
    assert pools, "the pipeline did not start a worker pool"
    assert one.report.records_read == 2 * len(sample_records()) >= 64
    assert one.report.records_converted == one.report.records_read
    _assert_same_files(one.out, two.out)
    assert gc.isenabled(), "the parent paused the garbage collector while the workers ran, and left it off"


def test_a_pooled_run_leaves_the_garbage_collector_as_it_was(copies, tmp_path):
    gc.disable()
    try:
        run_convert([SAMPLE, copies], tmp_path / "out", jobs=2)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_dumps_flushed_to_the_disk_as_they_grow_are_the_same_bytes(sample_run, tmp_path, monkeypatch):
    """Writers hand each dump to the disk every so often (so that the final fsync is short); a small step makes
    that happen many times on the sample."""
    import os

    from converter.rdf import writers

    synced = []
    real = os.fdatasync
    monkeypatch.setattr(writers, "_SYNC_EVERY", 4096)
    monkeypatch.setattr(os, "fdatasync", lambda fd: synced.append(fd) or real(fd))
    again = run_convert([SAMPLE, SEED], tmp_path / "again", jobs=1)
    assert len(synced) > 10
    _assert_same_files(sample_run.out, again.out)
