#!/usr/bin/env python3
"""Measure the local graph beside Virtuoso 7 and Oxigraph's own server, on the same data and the same query text.

    python benchmarks/bench_query.py [-n 20000] [--seed 1] [--repeat 5] [--clients 4] [--seconds 10] [--json FILE]

Builds the corpus (as ``bench_convert.py`` does) and its N-Triples dump when missing, then, in one run:

* load: ``pfocr-rdf load`` of the dump (with its load-time precomputation) next to ``oxigraph load`` followed by
  ``oxigraph optimize`` of the same file (the Oxigraph CLI, PyPI ``oxigraph``), and Virtuoso's bulk loader
  (``ld_dir`` + ``rdf_loader_run`` + ``checkpoint``) on the same file into a fresh database, for reference;
* Virtuoso beside the project: a throw-away Virtuoso (Debian's ``virtuoso-opensource``) on loopback ports holding
  the dump in the data graph and every named graph of the loaded store (the precomputed ones), triple counts
  checked graph by graph;
* every canned query of ``queries/``, rendered with parameter values taken from this corpus, sent as the same text
  to ``pfocr-rdf serve`` and to Virtuoso over HTTP (one keep-alive connection each, one warm-up, ``--repeat``
  timed runs): p50 and p95, the ratio project/Virtuoso, their geometric mean, and the rows each engine returned
  (a difference is flagged: the comparison is not fair on that query);
* throughput: ``--clients`` keep-alive clients sending ``figures-for-gene`` with rotating genes for ``--seconds``
  to ``pfocr-rdf serve``, Virtuoso and ``oxigraph serve-read-only`` on the same store.

Everything binds 127.0.0.1; every server started here is stopped at the end, on error and on Ctrl-C too, and the
temporary Virtuoso database is removed. Nothing here asserts on timings: it prints tables (and JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))  # the launcher the tests start their throw-away servers with

import pyoxigraph as ox

from _triplestores import HOST, Server, Virtuoso, find_binary, free_port, oxigraph_server, running, virtuoso_server

from converter.rdf.vocab import GRAPH, SCHEMA
from converter.store.queries import CannedQuery, Param, library, tokens

JSON_RESULTS = "application/sparql-results+json"
TURTLE = "text/turtle"
THROUGHPUT_QUERY = "figures-for-gene"
THROUGHPUT_GENES = 64
# Virtuoso's own bulk-loading advice for about 4 GB of free memory (8 KB pages); --virtuoso-buffers changes it.
VIRTUOSO_BUFFERS = 340_000


# --- the machine and the tools ----------------------------------------------------------------------------------
def _version(command: list[str], pattern: str) -> str:
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except OSError as err:
        return f"unknown ({err})"
    found = re.search(pattern, run.stdout + run.stderr)
    return found.group(1).strip() if found else "unknown"


def machine(virtuoso: str, oxigraph: str) -> dict[str, Any]:
    """What moves the figures: cores, interpreter, the two servers' versions, and how busy the machine was."""
    return {
        "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "virtuoso": _version([virtuoso, "-?"], r"Version\s+(\S+)"),
        "oxigraph": _version([oxigraph, "--version"], r"oxigraph\s+(\S+)"),
        "pyoxigraph": getattr(ox, "__version__", "unknown"),
        "loadavg_start": list(os.getloadavg()),
    }


# --- load ---------------------------------------------------------------------------------------------------------
def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def virtuoso_bulk_load(server: Virtuoso, folder: Path, mask: str, graph: str) -> float:
    """Seconds for Virtuoso's bulk loader to load ``folder/mask`` (triples into ``graph``, quads into their own
    graphs) and checkpoint; raises when the loader recorded an error for a file."""
    started = time.perf_counter()
    server.isql(f"ld_dir({_sql_string(str(folder))}, {_sql_string(mask)}, {_sql_string(graph)});")
    server.isql("rdf_loader_run();", timeout=6 * 3600)
    server.isql("checkpoint;", timeout=3600)
    seconds = time.perf_counter() - started
    failed = server.isql("SELECT ll_file, ll_error FROM DB.DBA.LOAD_LIST WHERE ll_error IS NOT NULL;").strip()
    if failed:
        raise RuntimeError(f"Virtuoso's bulk loader failed on {folder / mask}:\n{failed}")
    return seconds


def export_named_graphs(store: ox.Store, target: Path) -> dict[str, int]:
    """Every named graph of ``store`` as N-Quads in ``target``; the triples in each, by graph IRI."""
    counts: dict[str, int] = {}
    with open(target, "wb") as out:
        for graph in sorted(store.named_graphs(), key=str):
            quads = list(store.quads_for_pattern(None, None, None, graph))
            ox.serialize(quads, out, format=ox.RdfFormat.N_QUADS)
            counts[graph.value if isinstance(graph, ox.NamedNode) else str(graph)] = len(quads)
    return counts


def count_default_graph(store: ox.Store) -> int:
    return int(next(iter(store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")))["n"].value)


# --- parameter values from the corpus -----------------------------------------------------------------------------
_RANKED = """PREFIX schema: <https://schema.org/>
SELECT ?entity ?name (COUNT(DISTINCT ?figure) AS ?figures) WHERE {
  ?entity a <%s> ; schema:name ?name .
  ?figure schema:mentions ?entity ; a schema:ImageObject .
} GROUP BY ?entity ?name ORDER BY DESC(?figures) ?name ?entity"""

_BUSIEST_FIGURE = """PREFIX schema: <https://schema.org/>
SELECT ?figure ?figid ?pmcid (COUNT(DISTINCT ?entity) AS ?entities) WHERE {
  ?figure a schema:ImageObject ; schema:identifier ?figid ; schema:isPartOf ?article ; schema:mentions ?entity .
  ?article a schema:ScholarlyArticle ; schema:identifier ?pmcid .
  FILTER(STRSTARTS(STR(?pmcid), "PMC"))
} GROUP BY ?figure ?figid ?pmcid ORDER BY DESC(?entities) ?figid ?pmcid LIMIT 1"""

_TITLES = """PREFIX schema: <https://schema.org/>
SELECT ?title WHERE { ?figure a schema:ImageObject ; schema:name ?title }"""


@dataclass
class Corpus:
    """Values that exist in this corpus, chosen deterministically (most figures first, ties by name)."""

    genes: list[tuple[str, str]]  # (IRI, symbol), distinct symbols regardless of case
    chemical: str | None
    disease: str | None
    figure: str | None  # IRI
    figid: str | None
    pmcid: str | None
    title_word: str | None


def _ranked(store: ox.Store, rdf_type: str) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for row in store.query(_RANKED % rdf_type):
        iri, name = row["entity"].value, row["name"].value
        if iri not in seen and name.lower() not in seen:
            seen.update((iri, name.lower()))
            out.append((iri, name))
    return out


def corpus_values(store: ox.Store) -> Corpus:
    genes = _ranked(store, SCHEMA + "Gene")
    chemicals = _ranked(store, SCHEMA + "ChemicalSubstance")
    diseases = _ranked(store, SCHEMA + "MedicalCondition")
    busiest = next(iter(store.query(_BUSIEST_FIGURE)), None)
    words: Counter[str] = Counter()
    for row in store.query(_TITLES):
        words.update({w.lower() for w in re.findall(r"[^\W\d_]{6,}", row["title"].value)})
    word = min(words.items(), key=lambda kv: (-kv[1], kv[0]))[0] if words else None
    return Corpus(genes=genes, chemical=chemicals[0][1] if chemicals else None,
                  disease=diseases[0][1] if diseases else None,
                  figure=busiest["figure"].value if busiest else None,
                  figid=busiest["figid"].value if busiest else None,
                  pmcid=busiest["pmcid"].value if busiest else None, title_word=word)


def choose(param: Param, corpus: Corpus) -> str | None:
    """A value of this corpus for ``param``, by its name and type; None keeps the query's default (a parameter
    with no natural value here, such as a threshold or a match kind)."""
    name = param.name.lower()
    plural = param.type in ("strings", "iris")
    if "gene" in name and corpus.genes:
        if plural:  # as many genes as the default lists, the most mentioned ones
            k = max(2, len([v for v in param.default.split(",") if v.strip()]))
            column = 0 if param.type == "iris" else 1
            return ",".join(g[column] for g in corpus.genes[:k])
        return corpus.genes[0][0] if param.type == "iri" else corpus.genes[0][1]
    if param.type == "iri":
        if "entity" in name and corpus.genes:
            return corpus.genes[0][0]
        return corpus.figure
    if param.type != "string":
        return None
    if "chem" in name:
        return corpus.chemical
    if "disease" in name:
        return corpus.disease
    if "fig" in name:
        return corpus.figid
    if "article" in name or "pmc" in name:
        return corpus.pmcid
    if name in ("text", "word", "search", "q", "keyword"):
        return corpus.title_word
    return None


def render(query: CannedQuery, corpus: Corpus, **fixed: str) -> tuple[str, dict[str, str]]:
    """The query's text with corpus values (``fixed`` overrides), and the values used (defaults marked)."""
    values, shown = {}, {}
    for p in query.params:
        value = fixed.get(p.name) or choose(p, corpus)
        if value is None:
            shown[p.name] = f"{p.default} (default)"
        else:
            values[p.name] = shown[p.name] = value
    return query.render(values), shown


def query_form(text: str) -> str:
    for t in tokens(text):
        if t.kind == "word" and t.text.upper() in ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE"):
            return t.text.upper()
    return "SELECT"


# --- HTTP -----------------------------------------------------------------------------------------------------------
class _Connection(http.client.HTTPConnection):
    """A keep-alive connection that counts how often it had to (re)connect: more than once means the server closed
    it, and the timings then include new TCP handshakes."""

    opened = 0

    def connect(self) -> None:
        self.opened += 1
        super().connect()


@dataclass
class Answer:
    status: int
    body: bytes
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)


class Endpoint:
    """A SPARQL endpoint over one keep-alive connection: queries sent as a form POST (the same for every server)."""

    def __init__(self, name: str, port: int, path: str, timeout: float, source: str | None = None) -> None:
        self.name, self.path = name, path
        self.conn = _Connection(HOST, port, timeout=timeout, source_address=(source, 0) if source else None)

    def ask(self, query: str, accept: str) -> Answer:
        body = urlencode({"query": query}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept}
        while True:
            reused = self.conn.sock is not None
            started = time.perf_counter()
            try:
                self.conn.request("POST", self.path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as err:
                self.conn.close()  # the next request opens a fresh connection
                if reused and isinstance(err, ConnectionError):
                    # the server closed a kept-alive connection that sat idle (Virtuoso after its KeepAliveTimeout,
                    # while the other engine answered): send it again on a new one, as HTTP clients do
                    continue
                return Answer(0, f"{type(err).__name__}: {err}".encode(), time.perf_counter() - started)
            return Answer(response.status, data, time.perf_counter() - started, dict(response.getheaders()))

    def close(self) -> None:
        self.conn.close()


def count_rows(form: str, body: bytes) -> int:
    """Rows of a SELECT, 1 for an ASK, distinct triples of a CONSTRUCT/DESCRIBE (engines may repeat a triple in
    their serialisation; the graph is the set)."""
    if form in ("CONSTRUCT", "DESCRIBE"):
        return len(set(ox.parse(body, format=ox.RdfFormat.TURTLE)))
    data = json.loads(body)
    return 1 if "boolean" in data else len(data["results"]["bindings"])


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(endpoint: Endpoint, text: str, form: str, repeat: int) -> dict[str, Any]:
    """One warm-up then ``repeat`` timed runs of ``text``: p50/p95 in ms and the rows; an error stops early."""
    accept = TURTLE if form in ("CONSTRUCT", "DESCRIBE") else JSON_RESULTS
    opened = endpoint.conn.opened
    samples: list[float] = []
    rows: set[int] = set()
    for attempt in range(repeat + 1):
        answer = endpoint.ask(text, accept)
        if answer.status != 200:
            message = answer.body.decode("utf-8", "replace").strip().replace("\n", " ")[:300]
            return {"rows": None, "error": f"HTTP {answer.status}: {message}"}
        # Virtuoso's "anytime" answer: what it found before its time limit ran out, a cut-off result
        if answer.headers.get("X-SQL-State"):
            return {"rows": count_rows(form, answer.body), "error": f"partial result, X-SQL-State "
                    f"{answer.headers['X-SQL-State']}: {answer.headers.get('X-SQL-Message', '')}"}
        if attempt == 0 or attempt == repeat:  # the warm-up and the last run; they must agree
            rows.add(count_rows(form, answer.body))
        if attempt:
            samples.append(answer.seconds)
    result: dict[str, Any] = {"rows": min(rows), "p50_ms": 1000 * statistics.median(samples),
                              "p95_ms": 1000 * _percentile(samples, 0.95),
                              "samples_ms": [round(1000 * s, 2) for s in samples],
                              "reconnects": endpoint.conn.opened - opened - (1 if opened == 0 else 0)}
    if len(rows) > 1:
        result["error"] = f"row counts changed between runs: {sorted(rows)}"
    return result


def compare_queries(queries: dict[str, CannedQuery], corpus: Corpus, engines: list[Endpoint],
                    repeat: int) -> list[dict[str, Any]]:
    """Every canned query on every engine, the same text, engines taking turns query by query (so a busy moment
    of the machine does not fall on one engine only)."""
    out = []
    for name, query in queries.items():
        text, params = render(query, corpus)
        form = query_form(text)
        print(f"  {name} ...", file=sys.stderr, flush=True)
        row: dict[str, Any] = {"query": name, "form": form, "params": params}
        for engine in engines:
            row[engine.name] = measure(engine, text, form, repeat)
        first, second = (row[e.name] for e in engines[:2])
        row["rows_agree"] = first["rows"] is not None and first["rows"] == second["rows"] and not (
            first.get("error") or second.get("error"))
        row["ratio"] = (first["p50_ms"] / second["p50_ms"]
                        if "p50_ms" in first and "p50_ms" in second and second["p50_ms"] > 0 else None)
        out.append(row)
    return out


def throughput(port: int, path: str, texts: list[str], clients: int, seconds: float) -> dict[str, Any]:
    """Queries per second from ``clients`` keep-alive clients for ``seconds``, each sending ``texts`` in turn
    from its own offset (so the clients do not all ask for the same gene at once)."""
    done, errors, opened = [0] * clients, [0] * clients, [0] * clients
    first_error: list[str] = []
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        # each client from its own loopback address, as separate users would be: a server that shares its query
        # slots fairly between client addresses (pfocr-rdf serve, issue 21) sees four users, not one
        endpoint = Endpoint("client", port, path, timeout=max(60.0, 2 * seconds), source=f"127.0.0.{2 + i}")
        k = i * len(texts) // clients
        while time.monotonic() < stop:
            answer = endpoint.ask(texts[k % len(texts)], JSON_RESULTS)
            k += 1
            if answer.status == 200:
                done[i] += 1
            else:
                errors[i] += 1
                if not first_error:
                    first_error.append(f"HTTP {answer.status}: {answer.body[:200].decode('utf-8', 'replace')}")
        opened[i] = endpoint.conn.opened
        endpoint.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    result = {"requests": sum(done), "errors": sum(errors), "seconds": wall, "qps": sum(done) / wall,
              "connections": sum(opened)}
    if first_error:
        result["first_error"] = first_error[0]
    return result


def measure_throughput(server: Server, path: str, texts: list[str], clients: int, seconds: float) -> dict[str, Any]:
    throughput(server.port, path, texts, clients, min(2.0, seconds))  # warm-up, not counted
    return throughput(server.port, path, texts, clients, seconds)


# --- servers ----------------------------------------------------------------------------------------------------------
def virtuoso_settings(buffers: int, timeout: float) -> dict[str, dict[str, object]]:
    """What a multi-million-triple benchmark needs beyond the tests' small database: buffers for the whole graph
    (Virtuoso's advice for the memory given), and SPARQL limits raised so every answer is complete (the Debian
    defaults cut results at 10,000 rows and refuse queries whose estimated cost is over 400 s)."""
    return {
        "Parameters": {"NumberOfBuffers": buffers, "MaxDirtyBuffers": buffers * 3 // 4, "MaxQueryMem": "2G"},
        "SPARQL": {"ResultSetMaxRows": 100_000_000, "MaxQueryExecutionTime": math.ceil(timeout),
                   "MaxQueryCostEstimationTime": 0},  # 0: no refusal on an estimate
    }


def pfocr_server(pfocr: str, store: Path, timeout: float, log: Path) -> Server:
    port = free_port()
    # the result-size limit lifted as Virtuoso's row limit is: both answer in full
    command = [pfocr, "serve", "--store", str(store), "--port", str(port), "--timeout", f"{timeout:g}",
               "--max-result-bytes", str(1 << 40)]
    # SIGINT is the server's own clean stop (it ends its query workers); its process group is killed last anyway
    return Server("pfocr-rdf serve", command, log.parent, port, "/sparql?query=ASK%7B%7D", log=log,
                  stop_signal=signal.SIGINT, own_group=True)


def virtuoso_count(endpoint: Endpoint, graph: str) -> int:
    answer = endpoint.ask(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", JSON_RESULTS)
    if answer.status != 200:
        raise RuntimeError(f"Virtuoso could not count {graph}: HTTP {answer.status} {answer.body[:300]!r}")
    return int(json.loads(answer.body)["results"]["bindings"][0]["n"]["value"])


# --- report ---------------------------------------------------------------------------------------------------------
def _ms(result: dict[str, Any], key: str) -> str:
    return f"{result[key]:.1f}" if key in result else "-"


def report(result: dict[str, Any]) -> str:
    m, load = result["machine"], result["load"]
    load_average = "; ".join(f"{when} " + ", ".join(f"{x:.2f}" for x in m[f"loadavg_{when}"])
                             for when in ("start", "end"))
    lines = [
        (f"corpus: {result['records']} records (seed {result['seed']}); {m['cpus']} CPUs; Python {m['python']}; "
         f"Virtuoso {m['virtuoso']}; Oxigraph {m['oxigraph']} (pyoxigraph {m['pyoxigraph']})"),
        f"load average (1, 5, 15 min) at {load_average}",
        "",
        (f"load: pfocr-rdf load {load['pfocr_s']:.1f} s (compacted, with its precomputation); "
         f"oxigraph load {load['oxigraph_load_s']:.1f} s + optimize {load['oxigraph_optimize_s']:.1f} s = "
         f"{load['oxigraph_s']:.1f} s (ratio {load['ratio_oxigraph']:.2f})"),
        (f"      Virtuoso bulk loader (ld_dir + rdf_loader_run + checkpoint, fresh database) "
         f"{load['virtuoso_s']:.1f} s (ratio {load['ratio_virtuoso']:.2f}); the store's named graphs after it "
         f"{load['virtuoso_named_s']:.1f} s"),
    ]
    for graph, c in result["virtuoso_graphs"].items():
        flag = "" if c["expected"] == c["loaded"] else "   <<< MISMATCH"
        lines.append(f"      {graph}: {c['loaded']:,} triples in Virtuoso, {c['expected']:,} in the store{flag}")
    lines.append("")
    rows = result["queries"]
    width = max([len("canned query")] + [len(r["query"]) for r in rows])
    lines.append(f"every canned query over HTTP, same text, {result['repeat']} runs after a warm-up (ms):")
    lines.append(f"{'canned query'.ljust(width)}  {'rows':>7}  {'virtuoso':>8}  {'p50':>8}  {'p95':>8}  "
                 f"{'virt p50':>8}  {'virt p95':>8}  {'ratio':>6}")
    lines.append(f"{'-' * width}  {'-' * 7}  {'-' * 8}  {'-' * 8}  {'-' * 8}  {'-' * 8}  {'-' * 8}  {'-' * 6}")
    for r in rows:
        ours, theirs = r["pfocr"], r["virtuoso"]
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        flag = "" if r["rows_agree"] else "  <<< ROWS DIFFER" if ours["rows"] != theirs["rows"] else "  <<< ERROR"
        lines.append(f"{r['query'].ljust(width)}  {_n(ours['rows']):>7}  {_n(theirs['rows']):>8}  "
                     f"{_ms(ours, 'p50_ms'):>8}  {_ms(ours, 'p95_ms'):>8}  {_ms(theirs, 'p50_ms'):>8}  "
                     f"{_ms(theirs, 'p95_ms'):>8}  {ratio:>6}{flag}")
    trip = result["round_trip"]
    lines.append(f"{'(ASK {} round trip)'.ljust(width)}  {'':>7}  {'':>8}  {_ms(trip['pfocr'], 'p50_ms'):>8}  "
                 f"{_ms(trip['pfocr'], 'p95_ms'):>8}  {_ms(trip['virtuoso'], 'p50_ms'):>8}  "
                 f"{_ms(trip['virtuoso'], 'p95_ms'):>8}")
    lines.append(f"geometric mean of the ratios (pfocr-rdf serve / Virtuoso, p50): {_ratio(result['geomean_ratio'])} "
                 f"over {result['geomean_queries']} queries; rows agree on {sum(r['rows_agree'] for r in rows)} "
                 f"of {len(rows)}")
    problems = [r for r in rows if not r["rows_agree"]]
    if problems:
        lines.append("")
        lines.append(f"!!! {len(problems)} QUERIES ARE NOT COMPARED FAIRLY (different rows, or an error):")
        for r in problems:
            for engine in ("pfocr", "virtuoso"):
                if r[engine].get("error"):
                    lines.append(f"!!!   {r['query']} on {engine}: {r[engine]['error']}")
            if r["pfocr"]["rows"] != r["virtuoso"]["rows"]:
                lines.append(f"!!!   {r['query']}: {_n(r['pfocr']['rows'])} rows from pfocr-rdf serve, "
                             f"{_n(r['virtuoso']['rows'])} from Virtuoso")
    reconnects = {e: sum(r[e].get("reconnects", 0) for r in rows) for e in ("pfocr", "virtuoso")}
    if any(reconnects.values()):
        lines.append(f"(connections reopened during the timed runs: {reconnects})")
    lines.append("")
    t = result["throughput"]
    lines.append(f"endpoint, {t['clients']} clients, {t['query']} rotating over {len(t['genes'])} genes, "
                 f"{t['seconds']:g} s:")
    for key, label in (("pfocr", "pfocr-rdf serve"), ("virtuoso", "Virtuoso"),
                       ("oxigraph", "oxigraph serve-read-only")):
        q = t[key]
        lines.append(f"  {label:<26}{q['qps']:8.1f} queries/s ({q['errors']} errors, {q['connections']} connections)"
                     + (f"  first error: {q['first_error']}" if q.get("first_error") else ""))
    lines.append(f"  ratio pfocr-rdf serve / Virtuoso {_ratio(t['ratio_virtuoso'])}, "
                 f"pfocr-rdf serve / oxigraph serve-read-only {_ratio(t['ratio_oxigraph'])}")
    return "\n".join(lines)


def _n(rows: int | None) -> str:
    return "error" if rows is None else str(rows)


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every ``finally``: the servers are stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--records", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", help="corpus folder (default benchmarks/corpus/pfocr-n<N>-s<SEED>)")
    parser.add_argument("--work",
                        help="folder of the dump and the store (default benchmarks/corpus/graph-n<N>-s<SEED>)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each throughput run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each canned query on each engine")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a query may run on either engine")
    parser.add_argument("--virtuoso-buffers", type=int, default=VIRTUOSO_BUFFERS,
                        help=f"Virtuoso's NumberOfBuffers, 8 KB each (default {VIRTUOSO_BUFFERS:,}: about 2.7 GB)")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background, which ignores it

    import bench_convert

    pfocr, oxigraph = find_binary("pfocr-rdf"), find_binary("oxigraph")
    result: dict[str, Any] = {"records": args.records, "seed": args.seed, "repeat": args.repeat,
                              "machine": machine(find_binary("virtuoso-t"), oxigraph)}
    corpus_dir = Path(args.corpus) if args.corpus else HERE / "corpus" / f"pfocr-n{args.records}-s{args.seed}"
    bench_convert.ensure_corpus(corpus_dir, args.records, args.seed, None)
    work = Path(args.work) if args.work else HERE / "corpus" / f"graph-n{args.records}-s{args.seed}"
    dump = (work / "pfocr.nt").resolve()
    if not dump.is_file():
        print("converting the corpus ...", file=sys.stderr)
        subprocess.run([pfocr, "convert", str(corpus_dir), "-o", str(work), "--format", "nt"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store_path = work / "store"

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pfocr-bench-query-")))
        print("loading: pfocr-rdf load, oxigraph load + optimize ...", file=sys.stderr)
        ours = timed([pfocr, "load", str(dump), "--store", str(store_path)])
        reference = tmp / "oxigraph-store"
        theirs = timed([oxigraph, "load", "--location", str(reference), "--file", str(dump)])
        # pfocr-rdf load compacts its store (queries run 3-4x faster after it): the same work in the Oxigraph CLI
        compact = timed([oxigraph, "optimize", "--location", str(reference)])
        shutil.rmtree(reference, ignore_errors=True)

        print("choosing parameter values from the store, exporting its named graphs ...", file=sys.stderr)
        virtuoso_dir = tmp / "virtuoso"
        virtuoso_dir.mkdir()
        store = ox.Store.read_only(str(store_path))
        corpus = corpus_values(store)
        expected = {GRAPH: count_default_graph(store)}
        expected.update(export_named_graphs(store, virtuoso_dir / "named-graphs.nq"))
        del store  # the servers open it on their own

        print("Virtuoso: bulk loading ...", file=sys.stderr)
        virtuoso = stack.enter_context(virtuoso_server(virtuoso_dir, [dump.parent],
                                                       settings=virtuoso_settings(args.virtuoso_buffers,
                                                                                  args.timeout)))
        # the dump in one graph: a query with no FROM sees every graph in Virtuoso, so the data graph plays the
        # part of Oxigraph's default graph, and the precomputed graphs keep their IRIs for GRAPH <...>
        virtuoso_s = virtuoso_bulk_load(virtuoso, dump.parent, dump.name, GRAPH)
        named_s = virtuoso_bulk_load(virtuoso, virtuoso_dir, "named-graphs.nq", GRAPH)
        client_timeout = args.timeout + 60
        theirs_endpoint = Endpoint("virtuoso", virtuoso.port, "/sparql", client_timeout)
        stack.callback(theirs_endpoint.close)
        result["virtuoso_graphs"] = {g: {"expected": n, "loaded": virtuoso_count(theirs_endpoint, g)}
                                     for g, n in expected.items()}
        result["load"] = {"pfocr_s": ours, "oxigraph_load_s": theirs, "oxigraph_optimize_s": compact,
                          "oxigraph_s": theirs + compact, "ratio_oxigraph": ours / (theirs + compact),
                          "ratio_oxigraph_load_only": ours / theirs, "virtuoso_s": virtuoso_s,
                          "virtuoso_named_s": named_s, "ratio_virtuoso": ours / virtuoso_s}

        print("pfocr-rdf serve beside Virtuoso: every canned query ...", file=sys.stderr)
        project = stack.enter_context(running(pfocr_server(pfocr, store_path, args.timeout, tmp / "serve.log")))
        ours_endpoint = Endpoint("pfocr", project.port, "/sparql", client_timeout)
        stack.callback(ours_endpoint.close)
        queries = library()
        # the cost of a request on each server, with no query work: what every row below includes
        result["round_trip"] = {e.name: measure(e, "ASK {}", "ASK", max(args.repeat, 10))
                                for e in (ours_endpoint, theirs_endpoint)}
        rows = compare_queries(queries, corpus, [ours_endpoint, theirs_endpoint], args.repeat)
        result["corpus_values"] = {"genes": [g[1] for g in corpus.genes[:8]], "chemical": corpus.chemical,
                                   "disease": corpus.disease, "figid": corpus.figid, "pmcid": corpus.pmcid,
                                   "title_word": corpus.title_word}
        result["queries"] = rows
        ratios = [r["ratio"] for r in rows if r["ratio"] and r["rows_agree"]]
        result["geomean_ratio"] = math.exp(statistics.fmean(math.log(x) for x in ratios)) if ratios else None
        result["geomean_queries"] = len(ratios)

        print("throughput ...", file=sys.stderr)
        if THROUGHPUT_QUERY not in queries:
            raise SystemExit(f"bench_query: no canned query {THROUGHPUT_QUERY!r} for the throughput runs")
        single = queries[THROUGHPUT_QUERY]
        gene_param = next((p.name for p in single.params if "gene" in p.name.lower()), None)
        if gene_param is None:
            raise SystemExit(f"bench_query: {THROUGHPUT_QUERY} has no gene parameter to rotate")
        genes = spread(corpus.genes, THROUGHPUT_GENES)
        texts = [render(single, corpus, **{gene_param: symbol})[0] for _, symbol in genes]
        ours_endpoint.close()
        theirs_endpoint.close()
        ours_qps = measure_throughput(project, "/sparql", texts, args.clients, args.seconds)
        virtuoso_qps = measure_throughput(virtuoso, "/sparql", texts, args.clients, args.seconds)
        project.stop()  # one server at a time from here on
        virtuoso.stop()
        with oxigraph_server(store_path, read_only=True, log=tmp / "oxigraph.log") as reference_server:
            oxigraph_qps = measure_throughput(reference_server, "/query", texts, args.clients, args.seconds)
        result["throughput"] = {
            "query": THROUGHPUT_QUERY, "clients": args.clients, "seconds": args.seconds,
            "genes": [symbol for _, symbol in genes], "pfocr": ours_qps, "virtuoso": virtuoso_qps,
            "oxigraph": oxigraph_qps,
            "ratio_virtuoso": ours_qps["qps"] / virtuoso_qps["qps"] if virtuoso_qps["qps"] else None,
            "ratio_oxigraph": ours_qps["qps"] / oxigraph_qps["qps"] if oxigraph_qps["qps"] else None}

    result["machine"]["loadavg_end"] = list(os.getloadavg())
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


def spread(genes: list[tuple[str, str]], k: int) -> list[tuple[str, str]]:
    """``k`` genes spread evenly over the ranking, from the most mentioned to rare ones: what a stream of users
    looking up genes would ask for, rather than ``k`` of the heaviest."""
    if len(genes) <= k:
        return list(genes)
    return [genes[i * (len(genes) - 1) // (k - 1)] for i in range(k)]


if __name__ == "__main__":
    sys.exit(main())
