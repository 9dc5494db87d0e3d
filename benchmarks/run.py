#!/usr/bin/env python3
"""The whole benchmark suite in one command, on 20,000 and 100,000 records: conversion (each dump format, all
together, the floor, validation, an incremental rebuild, the rdflib and Morph-KGC baselines) and the local graph
beside Virtuoso and Oxigraph's server (load against ``oxigraph load`` and Virtuoso's bulk loader, every canned query
over HTTP on ``pfocr-rdf serve`` and Virtuoso, endpoint throughput against both and ``oxigraph serve-read-only``).

    python benchmarks/run.py [--sizes 20000,100000] [--seed 1] [--out benchmarks/results]

Each size runs ``bench_convert.py`` twice, on the source and on the compiled wheel (``--build compiled``), and
``bench_query.py`` (their tables are printed as they come) and writes ``OUT/convert-N.json``,
``OUT/convert-compiled-N.json`` and ``OUT/query-N.json``; above 50,000 records the conversion runs only the floor,
N-Triples, all five dumps, validation and the incremental rebuild (single formats and baselines come from the smaller
run; the compiled build, only the floor, N-Triples and all five).
Corpora are generated on first use into ``benchmarks/corpus/``
(git ignores both folders). Nothing here asserts on timings: the figures are for reading and for RESULTS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,100000", help="corpus sizes (default 20000,100000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "results"), help="folder for the JSON results")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        for script, name in (("bench_convert.py", "convert"), ("bench_convert.py", "convert-compiled"),
                             ("bench_query.py", "query")):
            print(f"\n=== {name}, {size:,} records ===", flush=True)
            cmd = [sys.executable, str(HERE / script), "-n", str(size), "--seed", str(args.seed),
                   "--json", str(out / f"{name}-{size}.json")]
            if name == "convert-compiled":  # the wheel as released, beside the source as a checkout runs it
                cmd += ["--build", "compiled", "--runs", "floor,nt,all,jsonld,jsonld+jsonl,validate,baselines"
                        if size <= 50_000 else "floor,nt,all"]
            elif name == "convert" and size > 50_000:  # single formats and baselines: the 20,000-record run has them
                cmd += ["--runs", "floor,nt,all,validate,incremental"]
            if name == "query":
                cmd += ["--repeat", "5" if size <= 50_000 else "3", "--seconds", "10"]
            if subprocess.run(cmd, check=False).returncode != 0:
                failed.append(f"{name} on {size:,} records")
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
