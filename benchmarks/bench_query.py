#!/usr/bin/env python3
"""Measure the local graph on a large generated corpus: store load, canned-query latency, endpoint throughput.

    python benchmarks/bench_query.py [-n 20000] [--seed 1] [--clients 4] [--seconds 10] [--json FILE]

Builds the corpus (as ``bench_convert.py`` does) and its N-Triples dump when missing, then, in one run:

* ``pfocr-rdf load`` of the dump, next to ``oxigraph load`` of the same file (the Oxigraph CLI, PyPI ``oxigraph``),
  alone and followed by ``oxigraph optimize`` (``pfocr-rdf load`` compacts its store too);
* every canned query of ``queries/`` with its default parameters, run repeatedly in the store: p50 and p95 latency;
* endpoint throughput: ``--clients`` concurrent clients sending the single-gene query for ``--seconds`` to
  ``pfocr-rdf serve`` and then to ``oxigraph serve-read-only`` on the same store, and the ratio of the two.

Everything runs on 127.0.0.1. Nothing here asserts on timings: it prints a table (and JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))


def _tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    if not os.access(path, os.X_OK):
        found = shutil.which(name)
        if found is None:
            sys.exit(f"bench_query: {name} not found; install it (pip install {name})")
        return found
    return str(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(port: int, path: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def latency(store_path: str, repeat: int) -> list[dict]:
    import pyoxigraph as ox

    from converter.queries import library, run
    from converter.store import open_store

    store = open_store(store_path)
    rows = []
    for q in library().values():
        text = q.render()
        samples, count = [], 0
        for _ in range(repeat):
            started = time.perf_counter()
            results = run(store, text)
            count = 1 if isinstance(results, ox.QueryBoolean) else len(list(results))
            samples.append(time.perf_counter() - started)
        samples.sort()
        rows.append({"query": q.name, "rows": count, "p50_ms": 1000 * statistics.median(samples),
                     "p95_ms": 1000 * samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]})
    return rows


def throughput(port: int, path: str, body_param: str, query: str, clients: int, seconds: float) -> dict:
    """Requests per second from ``clients`` keep-alive clients sending the same query for ``seconds``."""
    target = f"{path}?{urlencode({body_param: query})}"
    done, errors = [0] * clients, [0] * clients
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            conn.request("GET", target, headers={"Accept": "application/sparql-results+json"})
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                done[i] += 1
            else:
                errors[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    return {"requests": sum(done), "errors": sum(errors), "seconds": wall, "qps": sum(done) / wall}


def serve_and_measure(cmd: list[str], port: int, path: str, query: str, clients: int, seconds: float) -> dict:
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(port, f"{path}?query=ASK%7B%7D")
        throughput(port, path, "query", query, clients, min(2.0, seconds))  # warm-up
        return throughput(port, path, "query", query, clients, seconds)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--records", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", help="corpus folder (default benchmarks/corpus/pfocr-n<N>-s<SEED>)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=20, help="runs of each canned query for the latency")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    args = parser.parse_args()

    import bench_convert

    corpus = Path(args.corpus) if args.corpus else HERE / "corpus" / f"pfocr-n{args.records}-s{args.seed}"
    bench_convert.ensure_corpus(corpus, args.records, args.seed, None)
    work = HERE / "corpus" / f"graph-n{args.records}-s{args.seed}"
    dump = work / "pfocr.nt"
    pfocr = _tool("pfocr-rdf")
    if not dump.is_file():
        print("converting the corpus ...", file=sys.stderr)
        subprocess.run([pfocr, "convert", str(corpus), "-o", str(work), "--format", "nt"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    oxigraph = _tool("oxigraph")
    store = work / "store"
    print("loading ...", file=sys.stderr)
    ours = timed([pfocr, "load", str(dump), "--store", str(store)])
    reference_store = work / "oxigraph-store"
    shutil.rmtree(reference_store, ignore_errors=True)
    theirs = timed([oxigraph, "load", "--location", str(reference_store), "--file", str(dump)])
    # pfocr-rdf load also compacts the store (queries run 3-4x faster after it): the same work in the Oxigraph CLI
    compact = timed([oxigraph, "optimize", "--location", str(reference_store)])
    shutil.rmtree(reference_store, ignore_errors=True)

    print("canned-query latency ...", file=sys.stderr)
    rows = latency(str(store), args.repeat)

    from converter.queries import library

    single_gene = library()["figures-for-gene"].render()
    print("endpoint throughput ...", file=sys.stderr)
    port = _free_port()
    ours_qps = serve_and_measure([pfocr, "serve", "--store", str(store), "--port", str(port)], port, "/sparql",
                                 single_gene, args.clients, args.seconds)
    port = _free_port()
    theirs_qps = serve_and_measure([oxigraph, "serve-read-only", "--location", str(store), "--bind",
                                    f"127.0.0.1:{port}"], port, "/query", single_gene, args.clients, args.seconds)

    print(f"corpus: {args.records} records (seed {args.seed}); {os.cpu_count()} CPUs")
    print(f"load: pfocr-rdf load {ours:.1f} s (compacted, with precomputed counts), oxigraph load {theirs:.1f} s "
          f"(ratio {ours / theirs:.2f}), oxigraph load + optimize {theirs + compact:.1f} s "
          f"(ratio {ours / (theirs + compact):.2f})")
    print()
    width = max(len(r["query"]) for r in rows)
    print(f"{'canned query'.ljust(width)}  {'rows':>6}  {'p50 ms':>8}  {'p95 ms':>8}")
    print(f"{'-' * width}  {'-' * 6}  {'-' * 8}  {'-' * 8}")
    for r in rows:
        print(f"{r['query'].ljust(width)}  {r['rows']:>6}  {r['p50_ms']:>8.1f}  {r['p95_ms']:>8.1f}")
    all_p50 = sorted(r["p50_ms"] for r in rows)
    print(f"all canned queries: p50 of p50s {statistics.median(all_p50):.1f} ms, slowest p95 "
          f"{max(r['p95_ms'] for r in rows):.1f} ms")
    print()
    print(f"endpoint, {args.clients} clients, single-gene query, {args.seconds:g} s:")
    print(f"  pfocr-rdf serve           {ours_qps['qps']:8.1f} queries/s ({ours_qps['errors']} errors)")
    print(f"  oxigraph serve-read-only  {theirs_qps['qps']:8.1f} queries/s ({theirs_qps['errors']} errors)")
    print(f"  ratio {ours_qps['qps'] / theirs_qps['qps']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "records": args.records, "load_s": ours, "oxigraph_load_s": theirs, "oxigraph_optimize_s": compact, "latency": rows,
            "throughput": {"pfocr": ours_qps, "oxigraph": theirs_qps}}, indent=1) + "\n")


if __name__ == "__main__":
    main()
