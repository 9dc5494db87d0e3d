"""The precomputed data of dumps for another store (``publish``), computed in a process of its own while the dumps
are being sent.

    >>> job = Apart(["output/pfocr.nt"], "work")       # doctest: +SKIP
    >>> job.result()                                   # doctest: +SKIP
    {'https://pfocr.wikipathways.org/graph/statistics': ('work/derived-0.nt', 32968), ...}

A process, not a thread: cutting the dumps down (:func:`converter.store.load.derived_from`) is Python that holds the
GIL, which the sending needs too. A fresh interpreter (``python -m converter.store.apart``), not a fork: a process
with threads (the caller's, the store's) may be forked while one of them holds a lock the child then waits on for
ever.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from contextlib import ExitStack
from typing import cast

import pyoxigraph as ox

from .derived import DERIVED_GRAPHS
from .load import StoreError, derived_from

DerivedFiles = dict[str, tuple[str, int]]  # precomputed graph IRI -> (N-Triples file, triples)


def derived_files(dumps: list[str], work: str) -> DerivedFiles:
    """The precomputed graphs of ``dumps`` as N-Triples files in ``work``: graph IRI -> (file, triples)."""
    files = {g: (os.path.join(work, f"derived-{i}.nt"), 0) for i, g in enumerate(DERIVED_GRAPHS)}
    counts = dict.fromkeys(DERIVED_GRAPHS, 0)
    with ExitStack() as stack:
        outs = {g: stack.enter_context(open(path, "w", encoding="utf-8")) for g, (path, _) in files.items()}
        with derived_from(dumps, work) as quads:
            for quad in quads:
                graph = cast("ox.NamedNode", quad.graph_name).value  # a derived graph
                outs[graph].write(f"{quad.triple} .\n")
                counts[graph] += 1
    return {g: (path, counts[g]) for g, (path, _) in files.items()}


class Apart:
    """:func:`derived_files` running in a process of its own; :meth:`result` waits for it, :meth:`stop` (or the end
    of a ``with`` block) ends it."""

    def __init__(self, dumps: list[str], work: str) -> None:
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)  # this package
        self._errors = tempfile.TemporaryFile()
        # its standard input stays open while this process lives: the child ends when it closes (below)
        self._process = subprocess.Popen([sys.executable, "-m", "converter.store.apart", work, *dumps], env=env,
                                         stdout=subprocess.PIPE, stderr=self._errors, stdin=subprocess.PIPE)

    def result(self) -> DerivedFiles:
        """The files, once written; a :class:`StoreError` saying why when they could not be."""
        assert self._process.stdout is not None and self._process.stdin is not None
        out = self._process.stdout.read()
        self._process.wait()
        self._process.stdin.close()
        self._errors.seek(0)
        said = self._errors.read().decode("utf-8", "replace").strip().splitlines()
        self._errors.close()
        if self._process.returncode != 0:
            raise StoreError(said[-1] if said else f"computing the precomputed graphs stopped "
                                                   f"(exit status {self._process.returncode})")
        return {g: (path, n) for g, (path, n) in json.loads(out).items()}

    def __enter__(self) -> Apart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        for stream in (self._process.stdin, self._process.stdout, self._errors):
            if stream is not None and not stream.closed:
                stream.close()


def _end_with_parent() -> None:
    """Exit once the parent's end of standard input closes: a publish killed, or stopped by an error, leaves no
    computation behind."""
    while os.read(0, 1 << 10):  # the raw descriptor: a buffered reader's lock would stop the interpreter's exit
        pass
    os._exit(1)


def main(argv: list[str]) -> int:
    """``python -m converter.store.apart WORK DUMP...``: the files as JSON on standard output, or one line saying
    why not on standard error."""
    threading.Thread(target=_end_with_parent, daemon=True).start()
    try:
        print(json.dumps(derived_files(argv[1:], argv[0])))
    except StoreError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
