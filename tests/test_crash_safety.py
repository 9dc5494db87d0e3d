"""Crash safety: ``pfocr-rdf convert`` and ``pfocr-rdf load`` killed with SIGKILL at random points.

A corpus of about 1,300 records (the bundled examples, copied under new figids) is converted and loaded once; then
an edited and larger version of it is converted into the same folder (and loaded into the same store) by processes
killed at seeded random moments, as the kernel's OOM killer or a power cut would: no clean-up runs. After each
kill the previous dumps and store must still be there, whole and usable (each file either the previous build's or,
when the kill came after its switch, the new one's; the store answering queries), the killed process's workers
must go away, and the next run must complete and give exactly what an undisturbed build gives.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _support import cli_command

from converter.store.load import open_store
from converter.store.queries import library, run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "pfocr"
COPIES = 120
KILLS = 6
OUTPUTS = ("pfocr.nt", "pfocr.ttl", "pfocr.nq", "pfocr.jsonld", "pfocr.jsonl", "void.ttl", "report.json")


def make_corpus(folder: Path, copies: int, edited: int = 0) -> Path:
    """The examples ``copies`` times under new figids; the titles of the first ``edited`` copies changed."""
    figures, data = folder / "_figures", folder / "_data"
    figures.mkdir(parents=True)
    data.mkdir()
    pages = sorted((EXAMPLES / "_figures").glob("*.md"))
    for k in range(copies):
        for page in pages:
            text = page.read_text(encoding="utf-8")
            figid = page.stem
            new = f"{figid}c{k}"
            text = text.replace(figid, new)
            if k < edited:
                text = re.sub(r"^figtitle: (.*)$", r"figtitle: \1 (edited)", text, count=1, flags=re.M)
            (figures / f"{new}.md").write_text(text, encoding="utf-8")
            for tsv in (EXAMPLES / "_data").glob(f"{figid}-*.tsv"):
                (data / tsv.name.replace(figid, new)).write_bytes(tsv.read_bytes())
    return folder


def digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in OUTPUTS}


def start(*args: str) -> subprocess.Popen:
    # a session of its own: the test can see when every process of the run (the workers too) has gone
    return subprocess.Popen([*cli_command(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def timed(*args: str) -> float:
    started = time.monotonic()
    proc = subprocess.run([*cli_command(), *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return time.monotonic() - started


def kill_after(proc: subprocess.Popen, delay: float) -> None:
    """SIGKILL the main process only (as the OOM killer does), then wait until its whole session is gone."""
    try:
        proc.wait(delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    deadline = time.monotonic() + 60
    while True:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, "the killed run's workers are still running a minute later"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    v1 = make_corpus(root / "v1", COPIES)
    v2 = make_corpus(root / "v2", COPIES + 20, edited=COPIES // 10)
    return root, v1, v2


def test_a_killed_build_leaves_the_previous_dumps_and_the_next_build_completes(corpora):
    root, v1, v2 = corpora
    out, reference = root / "out", root / "reference"
    timed("convert", str(v1), "-o", str(out))
    before = digests(out)
    seconds = timed("convert", str(v2), "-o", str(reference))  # what an undisturbed build of v2 gives
    after = digests(reference)
    assert all(before[n] != after[n] for n in OUTPUTS)
    rng = random.Random(20261126)
    states = []
    for _ in range(KILLS):
        delay = rng.uniform(0.02, 1.0) * seconds
        kill_after(start("convert", str(v2), "-o", str(out)), delay)
        now = digests(out)
        # each file whole: the previous build's, or the new one's if the kill came after its switch
        for name in OUTPUTS:
            assert now[name] in (before[name], after[name]), (name, delay)
        json.loads((out / "report.json").read_text(encoding="utf-8"))
        states.append(sum(now[n] == after[n] for n in OUTPUTS))
    assert 0 in states, "no kill landed before the dumps were switched: the test did not test"
    timed("convert", str(v2), "-o", str(out))
    assert digests(out) == after
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".pfocr-shards-") or p.name.endswith(".tmp")]
    assert leftovers == [], "the next build removes what the killed ones left"
    assert [p.name for p in (out / ".pfocr-build").iterdir() if p.name.startswith(".index-")] == []


def test_a_failed_write_stops_the_build_and_leaves_the_previous_dumps(corpora):
    """A dump that cannot be written whole (here a file-size limit, as a full disk would) stops the conversion with
    one line naming the dump, and leaves the previous build's files as they were."""
    root, v1, v2 = corpora
    out = root / "failed-write"
    timed("convert", str(v1), "-o", str(out))
    before = digests(out)
    limit = (out / "pfocr.nt").stat().st_size // 2  # above any worker's shard, below the dumps
    code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
            "from converter.cli import main; sys.argv[0] = 'pfocr-rdf'; main()")
    proc = subprocess.run([sys.executable, "-c", code, "convert", str(v2), "-o", str(out)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert re.search(r"pfocr\.(nt|nq): File too large", proc.stderr), proc.stderr
    assert digests(out) == before
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".pfocr-shards-")] == []


def test_a_killed_load_leaves_the_previous_store_and_the_next_load_completes(corpora, tmp_path):
    _, v1, v2 = corpora
    for name, corpus in (("d1", v1), ("d2", v2)):
        timed("convert", str(corpus), "-o", str(tmp_path / name), "--format", "nt")
    store = tmp_path / "store"
    timed("load", str(tmp_path / "d1" / "pfocr.nt"), "--store", str(store))
    count = library()["figures-per-year"]

    def figures() -> int:
        handle = open_store(str(store))
        rows = list(run(handle, count.render({})))
        del handle
        return sum(int(r["figures"].value) for r in rows)

    first = figures()
    second = first // COPIES * (COPIES + 20)
    seconds = timed("load", str(tmp_path / "d2" / "pfocr.nt"), "--store", str(tmp_path / "scratch"))
    rng = random.Random(7)
    seen = set()
    for _ in range(KILLS):
        kill_after(start("load", str(tmp_path / "d2" / "pfocr.nt"), "--store", str(store)),
                   rng.uniform(0.02, 1.0) * seconds)
        now = figures()  # the store opens and answers: the previous one, or the new one if the switch was made
        assert now in (first, second), now
        seen.add(now)
        if now != first:  # switched: load the old dump again so the next kill has something to lose
            timed("load", str(tmp_path / "d1" / "pfocr.nt"), "--store", str(store))
    assert first in seen, "every kill came after the switch: the test did not test"
    timed("load", str(tmp_path / "d2" / "pfocr.nt"), "--store", str(store))
    assert figures() == second
    kept = os.listdir(tmp_path / ".stores")
    assert len([n for n in kept if n.startswith("store-")]) <= 2, kept  # the killed loads' half-built stores went
    assert not [n for n in kept if n.startswith("tmp")], kept
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".store-link-")]


def test_a_second_build_into_a_busy_folder_is_refused(corpora, tmp_path):
    """While a build holds the output folder (here: the test holds its lock), another is refused at once."""
    import fcntl

    _, v1, _ = corpora
    out = tmp_path / "out"
    timed("convert", str(v1), "-o", str(out), "--format", "nt")
    before = digests_of(out, "pfocr.nt")
    fd = os.open(out / ".pfocr-build" / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        busy = subprocess.run([*cli_command(), "convert", str(v1), "-o", str(out), "--format", "nt"],
                              capture_output=True, text=True, timeout=120)
        load = subprocess.run([*cli_command(), "load", str(out / "pfocr.nt"), "--store", str(tmp_path / "s")],
                              capture_output=True, text=True, timeout=120)
    finally:
        os.close(fd)
    assert busy.returncode == 2 and busy.stderr.strip() == f"Error: another conversion is writing to {out}; wait " \
                                                           "for it to finish"
    assert digests_of(out, "pfocr.nt") == before
    assert load.returncode == 0, load.stderr  # the lock is the output folder's, not the store's
    timed("convert", str(v1), "-o", str(out), "--format", "nt")  # free again


def digests_of(folder: Path, name: str) -> str:
    return hashlib.sha256((folder / name).read_bytes()).hexdigest()
