#!/usr/bin/env python3
"""``pfocr-rdf publish`` against each store's own bulk loader, on the N-Triples dump of a generated corpus.

    python benchmarks/bench_publish.py [-n 20000] [--seed 1] [--runs virtuoso,bulk,oxigraph] [--json FILE]

Builds the corpus and its dump as ``bench_query.py`` does (``benchmarks/corpus/``) when missing, then, each on a
fresh store with the same settings (Virtuoso: the tests' small buffers and Debian's default ``[SPARQL]`` limits,
the server users start from):

* ``virtuoso``: Virtuoso's bulk loader (``ld_dir`` + ``rdf_loader_run`` + ``checkpoint``, in isql) on the dump,
  then ``publish`` into another fresh server, then ``publish`` again on that server (a replace: the previous
  version is dropped too);
* ``bulk``: ``publish --bulk DIR`` into a fresh server (its bulk loader reads what publish writes under DIR);
* ``oxigraph``: ``oxigraph load`` into a fresh store, then ``publish`` into a fresh ``oxigraph serve`` (and again
  with ``oxigraph-again``).

Every publish includes computing and sending the precomputed graphs. The ratios are publish time over the bulk
loader's. Nothing here asserts on timings: it prints a table (and JSON with ``--json``). Servers are stopped and
their folders removed at the end, on error and on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))  # the launcher the tests start their throw-away servers with

from _triplestores import VIRTUOSO_PASSWORD, VIRTUOSO_USER, find_binary, oxigraph_server, virtuoso_server

from converter.publish import PublishReport, publish

GRAPH = "https://example.org/bench-publish"
# Debian's virtuoso.ini [SPARQL] limits: publishing must work on the server as users install it
VIRTUOSO_DEFAULTS = {"SPARQL": {"ResultSetMaxRows": 10_000, "MaxQueryCostEstimationTime": 400,
                                "MaxQueryExecutionTime": 60}}


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``action`` took (said on standard error at once, so a run cut short keeps its figures) and its
    value."""
    started = time.perf_counter()
    value = action()
    seconds = time.perf_counter() - started
    print(f"  {seconds:.1f} s", file=sys.stderr, flush=True)
    return seconds, value


def virtuoso_runs(dump: Path, tmp: Path, runs: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with virtuoso_server(tmp / "vt-bulk", [dump.parent], settings=VIRTUOSO_DEFAULTS) as server:
        print("Virtuoso: bulk loader ...", file=sys.stderr, flush=True)

        def load() -> None:
            server.isql(f"ld_dir({_sql_string(str(dump.parent))}, {_sql_string(dump.name)}, {_sql_string(GRAPH)});")
            server.isql("rdf_loader_run();", timeout=6 * 3600)
            server.isql("checkpoint;", timeout=3600)

        out["virtuoso bulk loader"], _ = timed(load)
    credentials = {"user": VIRTUOSO_USER, "password": VIRTUOSO_PASSWORD}
    if "virtuoso" in runs:
        with virtuoso_server(tmp / "vt-publish", settings=VIRTUOSO_DEFAULTS) as server:
            for name in ("virtuoso publish", "virtuoso publish again"):
                print(f"{name} ...", file=sys.stderr, flush=True)
                out[name], report = timed(lambda s=server: publish([str(dump)], s.url + "/sparql-graph-crud-auth",
                                                                   graph=GRAPH, **credentials))
                out["triples"], out["statistics"] = report.triples, report.statistics
    if "bulk" in runs:
        shared = tmp / "shared"
        shared.mkdir()
        with virtuoso_server(tmp / "vt-bulk-publish", [shared], settings=VIRTUOSO_DEFAULTS) as server:
            print("virtuoso publish --bulk ...", file=sys.stderr, flush=True)
            out["virtuoso publish --bulk"], report = timed(lambda: publish(
                [str(dump)], server.url + "/sparql-graph-crud-auth", graph=GRAPH, bulk=str(shared), **credentials))
            out["triples"], out["statistics"] = report.triples, report.statistics
    return out


def oxigraph_runs(dump: Path, tmp: Path, again: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    print("oxigraph load ...", file=sys.stderr, flush=True)
    out["oxigraph load"], _ = timed(lambda: subprocess.run(
        [find_binary("oxigraph"), "load", "--location", str(tmp / "ox-load"), "--file", str(dump)], check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    with oxigraph_server(tmp / "ox-publish") as server:
        for name in ("oxigraph publish", "oxigraph publish again")[:2 if again else 1]:
            print(f"{name} ...", file=sys.stderr, flush=True)
            out[name], report = timed(lambda: publish([str(dump)], server.url + "/store", graph=GRAPH))
            assert isinstance(report, PublishReport) and report.verified
    return out


def table(result: dict[str, Any]) -> str:
    t = result["times"]
    rows = [("Virtuoso bulk loader (isql: ld_dir, rdf_loader_run, checkpoint)", "virtuoso bulk loader", None),
            ("publish into a fresh Virtuoso", "virtuoso publish", "virtuoso bulk loader"),
            ("publish again (replace; previous version dropped)", "virtuoso publish again", "virtuoso bulk loader"),
            ("publish --bulk into a fresh Virtuoso", "virtuoso publish --bulk", "virtuoso bulk loader"),
            ("oxigraph load (CLI, fresh store)", "oxigraph load", None),
            ("publish into a fresh Oxigraph server", "oxigraph publish", "oxigraph load"),
            ("publish again (replace)", "oxigraph publish again", "oxigraph load")]
    head = (f"{result['records']:,} records: {t.get('triples', 0):,} triples, {t.get('statistics', 0):,} precomputed "
            f"triples; {os.cpu_count()} CPUs")
    lines = [head, "", "| run | seconds | x bulk loader |", "|---|---:|---:|"]
    for label, key, against in rows:
        if key in t:
            ratio = f"{t[key] / t[against]:.2f}" if against and against in t else ""
            lines.append(f"| {label} | {t[key]:.1f} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--records", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", default="virtuoso,bulk,oxigraph",
                        help="any of virtuoso, bulk, oxigraph, oxigraph-again (a second publish into the Oxigraph "
                             "server: its MOVE of a whole 20,000-record graph took over 15 GB there)")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args(argv)
    runs = {r.strip() for r in args.runs.split(",") if r.strip()}

    import bench_convert

    corpus = HERE / "corpus" / f"pfocr-n{args.records}-s{args.seed}"
    work = HERE / "corpus" / f"graph-n{args.records}-s{args.seed}"
    dump = (work / "pfocr.nt").resolve()
    if not dump.is_file():
        bench_convert.ensure_corpus(corpus, args.records, args.seed, None)
        print("converting the corpus ...", file=sys.stderr)
        subprocess.run([find_binary("pfocr-rdf"), "convert", str(corpus), "-o", str(work), "--format", "nt"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pfocr-bench-publish-")))
        if runs & {"virtuoso", "bulk"}:
            times.update(virtuoso_runs(dump, tmp, runs))
        if "oxigraph" in runs:
            times.update(oxigraph_runs(dump, tmp, "oxigraph-again" in runs))
    result = {"records": args.records, "seed": args.seed, "times": times}
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
