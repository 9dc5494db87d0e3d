"""The ``pfocr-rdf`` command line: each command is a thin wrapper over a documented function of the package.

User errors become one clear message on standard error and a non-zero exit status, never a traceback.
Exit status: 0 success, 1 the command ran but found problems (``--strict``), 2 usage or input error.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import COMPILED, __version__
from .files import atomic_write
from .pipeline.convert import ConvertError, Issue, convert
from .rdf.formats import FILE_NAMES, FORMATS, rdf_format
from .rdf.vocab import GRAPH
from .records.identifiers import IRIStyle
from .store.load import DEFAULT_STORE, StoreError
from .store.queries import QueryError, output_format
from .validate import DEFAULT_ENGINE, ENGINES, Engine, ValidationError, summary

if TYPE_CHECKING:
    from .publish import Protocol, StoreKind

    # click's ParamType is generic in (value, input) in its annotations, and at run time from click 8.2 on
    _FormatsType = click.ParamType[list[str], Any]
    _OutputFormatType = click.ParamType[str, Any]
else:
    _FormatsType = _OutputFormatType = click.ParamType

_MEMORY_LIMIT_MIB = 384  # endpoint.MEMORY_LIMIT; importing it would load the server for every command

class _Formats(_FormatsType):
    """Comma-separated RDF format names, aliases allowed (``ttl,nt`` or ``turtle,ntriples``)."""

    name = "FORMATS"

    def convert(self, value: str | list[str], param: click.Parameter | None, ctx: click.Context | None) -> list[str]:
        if isinstance(value, list):
            return value
        try:
            items = [rdf_format(v) for v in value.split(",") if v.strip()]
        except ValueError as err:
            self.fail(str(err), param, ctx)
        if not items:
            self.fail("name at least one format", param, ctx)
        return list(dict.fromkeys(items))


class _OutputFormat(_OutputFormatType):
    """A result format (table, csv, tsv, json, xml) or an RDF format under any of its names."""

    name = "FORMAT"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return output_format(value)
        except QueryError as err:
            self.fail(str(err), param, ctx)


def _fail(message: str, status: int = 2) -> NoReturn:
    """A user error: one message on standard error, no traceback."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(status)


def _os_error(err: OSError, fallback: str = "") -> str:
    """An I/O error as 'FILE: reason'; the file is named whenever the system said which."""
    where = err.filename or fallback
    reason = err.strerror or str(err)
    return f"{where}: {reason}" if where else reason


def _user_errors(status: int = 2) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn the package's errors into one clear message and exit ``status`` (I/O errors: 2). A closed pipe
    (``| head``) is left to click, which ends quietly, as Unix tools do."""

    def wrap(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except (ConvertError, StoreError, QueryError, ValidationError) as err:
                _fail(str(err), status)
            except OSError as err:
                if err.errno == errno.EPIPE:
                    raise
                _fail(_os_error(err))

        return run

    return wrap


def _rejected(issues: list[Issue], where: str) -> None:
    for issue in issues[:20]:
        click.echo(f"rejected: {issue}", err=True)
    if len(issues) > 20:
        click.echo(f"... and {len(issues) - 20} more rejected records ({where})", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pfocr-rdf",
                      message=f"%(prog)s, version %(version)s ({'compiled' if COMPILED else 'pure Python'})")
def main() -> None:
    """Publish Pathway Figure OCR (PFOCR) figure records as linked data."""


_SHAPES_OPTION = click.option(
    "--shapes", "extra_shapes", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
    help="A SHACL shapes file (Turtle) of your own, checked besides the built-in shapes (repeatable).")
_QUERIES_OPTION = click.option(
    "--queries", "queries_dir", type=click.Path(file_okay=False), metavar="DIR",
    help="A folder of .rq files of your own, added to the canned queries (a query of the same name replaces the "
         "built-in one).")


@main.command("convert")
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", default="output", show_default=True,
              help="Folder for the dumps, void.ttl and report.json; '-' streams one format to standard output.")
@click.option("-f", "--format", "formats", type=_Formats(), default=",".join(FORMATS), show_default=True,
              help="Comma-separated dumps to write: ttl (turtle), nt (ntriples), nq (nquads), jsonld (json-ld), "
                   "jsonl (json-lines: one JSON-LD document per figure, docs/json.md).")
@click.option("--jsonl-context", type=click.Choice(["file", "inline"]), default="file", show_default=True,
              help="Each line of pfocr.jsonl refers to context.jsonld beside it, or carries a copy of it.")
@click.option("--iri-style", type=click.Choice(["slash", "colon"]), default="slash", show_default=True,
              help="identifiers.org form of entity IRIs (the other form is linked with schema:sameAs).")
@click.option("-j", "--jobs", type=click.IntRange(1), default=None,
              help="Worker processes (default: one per core). Output is identical for any value.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any record is rejected.")
@click.option("--chunk-size", type=click.IntRange(1), default=None, metavar="N",
              help="Also write OUTPUT/chunks/: the N-Triples dump as sorted, gzipped N-Quads files of at most N "
                   "triples each, for parallel bulk loaders (docs/triplestores.md).")
@click.option("--validate", "then_validate", is_flag=True,
              help="Validate every figure against the SHACL shapes as it is written (exit 1 on violations).")
@_SHAPES_OPTION
@_user_errors()
def convert_command(paths: tuple[str, ...], output: str, formats: list[str], jsonl_context: str,
                    iri_style: IRIStyle, jobs: int | None, strict: bool, chunk_size: int | None, then_validate: bool,
                    extra_shapes: tuple[str, ...]) -> None:
    """Convert PFOCR figure records to RDF dumps.

    PATHS are PFOCR checkouts (folders holding _figures/ and _data/), folders of figure pages, single .md files,
    or - for one record on standard input.

    \b
    Examples:
      pfocr-rdf convert examples/pfocr
      pfocr-rdf convert ../pfocr-database -o build --format nt,ttl
      cat PMC7957022__fcell-09-641469-g005.md | pfocr-rdf convert - -o - --format ttl
      pfocr-rdf convert ../pfocr-database --format nt --chunk-size 1000000
      pfocr-rdf convert examples/pfocr --validate --shapes my-rules.ttl
    """
    from .store.chunks import write_chunks

    for flag, wanted in (("--validate", then_validate), ("--chunk-size", chunk_size)):
        if wanted and output == "-":
            _fail(f"{flag} needs an output folder, not '-o -'")
    if chunk_size and "nt" not in formats:
        _fail("--chunk-size splits the N-Triples dump: add nt to --format")
    if extra_shapes and not then_validate:
        _fail("--shapes adds shapes to --validate: add --validate")
    report = convert(paths, output=output, formats=formats, iri_style=iri_style, jobs=jobs,
                     progress=sys.stderr.isatty(), validate=then_validate, shapes=extra_shapes,
                     jsonl_context=jsonl_context)
    if chunk_size:
        names = write_chunks(os.path.join(output, FILE_NAMES["nt"]), os.path.join(output, "chunks"), chunk_size)
        click.echo(f"{len(names)} bulk-load chunks in {os.path.join(output, 'chunks')}", err=True)
    _rejected(report.rejected, "see report.json")
    click.echo(report.summary(), err=output == "-")
    status = 1 if strict and report.records_rejected else 0
    if report.validation is not None:
        click.echo(summary(report.validation, {c["figid"]: c["file"] for c in report.converted}))
        click.echo(f"SHACL report: {os.path.join(output, 'shacl-report.ttl')}")
        status = max(status, 1 if report.validation.count("Violation") else 0)
    sys.exit(status)


@main.command("validate")
@click.argument("dumps", nargs=-1)
@click.option("--store", "store_dir", type=click.Path(file_okay=False),
              help="Validate an embedded store built by 'pfocr-rdf load' instead of dump files.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Where to write the SHACL validation report (Turtle). Default: shacl-report.ttl beside the dumps.")
@click.option("--fail-on", type=click.Choice(["violation", "warning"]), default="violation", show_default=True,
              help="Lowest severity that makes the exit status 1.")
@click.option("--engine", type=click.Choice(ENGINES), default=DEFAULT_ENGINE, show_default=True,
              help="stream: N-Triples/N-Quads dumps read in blocks on every core (Turtle, JSON-LD and --store go to "
                   "sparql); sparql: one SPARQL query per constraint in a store.")
@click.option("--iri-style", type=click.Choice(["slash", "colon"]), default="slash", show_default=True,
              help="The IRI style the dumps were converted with.")
@_SHAPES_OPTION
@_user_errors()
def validate_command(dumps: tuple[str, ...], store_dir: str | None, report_path: str | None, fail_on: str,
                     engine: Engine, iri_style: IRIStyle, extra_shapes: tuple[str, ...]) -> None:
    """Check dumps against the built-in SHACL shapes (and your own, with --shapes) and locate every problem.

    With no DUMPS and no --store, validates output/pfocr.nt. Exit status: 0 conforms, 1 violations (or warnings
    with --fail-on warning), 2 usage or input error.

    \b
    Examples:
      pfocr-rdf validate
      pfocr-rdf validate output/pfocr.ttl --fail-on warning
      pfocr-rdf validate --store output/store --report build/shacl.ttl
      pfocr-rdf validate output/pfocr.nt --shapes my-rules.ttl
    """
    import pyoxigraph as ox

    from .validate import validate

    if not dumps and not store_dir:
        dumps = (os.path.join("output", FILE_NAMES["nt"]),)
    for dump in dumps:
        if not os.path.isfile(dump):
            _fail(f"{dump}: no such dump; run 'pfocr-rdf convert' first or name the dump files")
    if store_dir:
        if not os.path.isdir(store_dir):
            _fail(f"{store_dir}: no such store; build it with 'pfocr-rdf load'")
        report = validate(store=ox.Store.read_only(store_dir), engine=engine, iri_style=iri_style,
                          shapes=extra_shapes)
        folder = os.path.dirname(os.path.abspath(store_dir))
    else:
        report = validate(list(dumps), engine=engine, iri_style=iri_style, shapes=extra_shapes)
        folder = os.path.dirname(dumps[0]) or "."
    report_path = report_path or os.path.join(folder, "shacl-report.ttl")
    atomic_write(report_path, report.to_turtle())
    click.echo(summary(report, _sources(folder)))
    click.echo(f"SHACL report: {report_path}")
    failing = report.count("Violation") + (report.count("Warning") if fail_on == "warning" else 0)
    sys.exit(1 if failing else 0)


@main.command("load")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--store", "store_dir", default=DEFAULT_STORE, show_default=True, type=click.Path(file_okay=False),
              help="Where the embedded store lives.")
@_user_errors()
def load_command(inputs: tuple[str, ...], store_dir: str) -> None:
    """Build the embedded store (Oxigraph) from dumps or straight from PFOCR records.

    Rebuilding is atomic: the previous store stays usable until the new one is complete. Records that cannot be
    converted are listed; when nothing loads, the store is left as it was and the exit status is 1.

    \b
    Examples:
      pfocr-rdf load output/pfocr.nt
      pfocr-rdf load examples/pfocr --store build/store
    """
    from .store.load import NothingLoaded, load

    try:
        report = load(inputs, store_dir)
    except NothingLoaded as err:
        _rejected(err.report.rejected, "convert them for the full list")
        _fail(str(err), 1)
    _rejected(report.rejected, "convert them for the full list")
    click.echo(report.summary())


@main.command("publish")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--endpoint", required=True,
              help="The store's Graph Store Protocol service (gsp; Oxigraph: /store) or SPARQL Update service "
                   "(update).")
@click.option("--graph", default=GRAPH, show_default=True, help="The named graph to replace (or append to).")
@click.option("--protocol", type=click.Choice(["gsp", "update"]), default="gsp", show_default=True,
              help="gsp: SPARQL 1.1 Graph Store HTTP Protocol; update: SPARQL 1.1 Update (INSERT DATA).")
@click.option("--user", default=None, help="User name, when the store asks for one (digest or basic auth).")
@click.option("--password", default=None, envvar="PFOCR_RDF_PASSWORD",
              help="Password (or the PFOCR_RDF_PASSWORD environment variable).")
@click.option("--append", is_flag=True,
              help="Add to the graph directly instead of replacing it through a staging graph.")
@click.option("--with-statistics/--without-statistics", default=True, show_default=True,
              help="Also replace the precomputed graphs the canned queries read (counts, lookup keys, search text; "
                   "docs/mapping.md), computed from the inputs (with --append: from the whole graph afterwards).")
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Triples per request (default: 50,000 for gsp, 10,000 for update).")
@click.option("--update-endpoint", default=None,
              help="SPARQL Update service for the swap, when the store's layout is not known.")
@click.option("--query-endpoint", default=None,
              help="SPARQL query service for the triple count, when the store's layout is not known.")
@click.option("--retries", type=click.IntRange(0), default=4, show_default=True,
              help="Retries of a request after a transient failure (unreachable, HTTP 429/5xx), with backoff.")
@click.option("--store-kind", type=click.Choice(["auto", "sparql", "virtuoso"]), default="auto", show_default=True,
              help="How to replace the graph. virtuoso: a new version graph, then the graph IRI switched to it "
                   "(needs the dba account); sparql: a staging graph and one MOVE (any SPARQL 1.1 store). auto: "
                   "virtuoso for a Virtuoso store when --user is given, sparql otherwise.")
@click.option("--bulk", "bulk", default=None, type=click.Path(file_okay=False),
              help="Virtuoso: write the data as files into a new folder under DIR, which the server can read (same "
                   "machine or shared volume, listed in its DirsAllowed), and have its bulk loader load them.",
              metavar="DIR")
@_user_errors(status=1)
def publish_command(inputs: tuple[str, ...], endpoint: str, graph: str, protocol: Protocol, user: str | None,
                    password: str | None, append: bool, with_statistics: bool, batch_size: int | None,
                    update_endpoint: str | None, query_endpoint: str | None, retries: int, store_kind: StoreKind,
                    bulk: str | None) -> None:
    """Publish dumps or PFOCR records into a triplestore.

    The graph is replaced so that readers see the old graph or the new one, never a part: on Virtuoso the data
    goes into a new version graph and the graph IRI is switched to it; on other stores batches go into a staging
    graph that one SPARQL Update MOVE swaps in. The precomputed graphs the canned queries read are published too,
    in every mode. A progress bar on a terminal, a line now and then otherwise. See docs/triplestores.md.

    \b
    Examples:
      pfocr-rdf publish output/pfocr.nt --endpoint http://127.0.0.1:7878/store
      pfocr-rdf publish examples/pfocr --endpoint http://127.0.0.1:8890/sparql-auth --protocol update \\
          --user dba --password dba
    """
    from .publish import PublishError, publish

    try:
        report = publish(inputs, endpoint, graph=graph, protocol=protocol, user=user, password=password,
                         append=append, with_statistics=with_statistics, batch_size=batch_size,
                         update_endpoint=update_endpoint, query_endpoint=query_endpoint, retries=retries,
                         progress=True, store_kind=store_kind, bulk=bulk)
    except PublishError as err:
        _fail(str(err), 1)
    _rejected(report.rejected, "convert them for the full list")
    click.echo(report.summary())


@main.command("query")
@click.argument("query", required=False)
@click.option("--store", "store_dir", default=None, type=click.Path(file_okay=False),
              help=f"The embedded store to query [default: {DEFAULT_STORE}, which is said on standard error].")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter of a canned query (repeatable); lists are comma-separated. Parameters left out "
                   "take their default value, which is said on standard error.")
@click.option("-f", "--format", "fmt", type=_OutputFormat(), default=None,
              help="table, csv, tsv, json or xml for results; ttl (turtle), nt (ntriples), nq (nquads) or "
                   "jsonld (json-ld) for graphs. Default: an aligned table on a terminal, TSV otherwise; Turtle "
                   "for graphs.")
@click.option("--list", "list_queries", is_flag=True, help="List the canned queries and their parameters.")
@_QUERIES_OPTION
@_user_errors()
def query_command(query: str | None, store_dir: str | None, params: tuple[str, ...], fmt: str | None,
                  list_queries: bool, queries_dir: str | None) -> None:
    """Run a canned query (by NAME), a .rq FILE, or a query on standard input (-) against the store.

    \b
    Examples:
      pfocr-rdf query --list
      pfocr-rdf query figures-for-gene --param gene=TP53
      pfocr-rdf query co-mentioned-genes -p gene=MDM2 --format csv
      pfocr-rdf query my-query --queries my-queries/ --store build/store
      echo 'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }' | pfocr-rdf query -
    """
    from .store.load import open_store
    from .store.queries import format_results, library, resolve, run

    if list_queries:
        for q in library(queries_dir).values():
            click.echo(f"{q.name}: {q.title}")
            if q.description:
                click.echo(f"    {q.description}")
            for p in q.params:
                click.echo(f"    --param {p.name}=VALUE  ({p.type}, default {p.default}) {p.description}")
        return
    if not query:
        _fail("name a canned query, a .rq file or - (see 'pfocr-rdf query --list')")
    values = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep:
            _fail(f"--param {item!r}: write NAME=VALUE")
        values[name.strip()] = value
    canned = resolve(query, sys.stdin.read() if query == "-" else None, queries_dir)
    text = canned.render(values)
    for p in canned.defaults_used(values):
        click.echo(f"{canned.name}: {p.name}={p.default} (the default; set it with -p {p.name}=VALUE)", err=True)
    if store_dir is None:
        store_dir = DEFAULT_STORE
        click.echo(f"store: {store_dir} (the default; choose another with --store)", err=True)
    from .store.versions import leased

    with leased(store_dir) as version:  # a load meanwhile must not remove the version being read
        results = run(open_store(version), text)
        click.echo(format_results(results, fmt, terminal=sys.stdout.isatty()), nl=False)


@main.command("serve")
@click.option("--store", "store_dir", default=DEFAULT_STORE, show_default=True, type=click.Path(file_okay=False),
              help="The embedded store to serve (followed when 'pfocr-rdf load' rebuilds it).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", default=7878, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free).")
@click.option("--writable", is_flag=True,
              help="Accept SPARQL updates, with a password: $PFOCR_RDF_SERVE_PASSWORD or --password-file.")
@click.option("--password-file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="The password for updates (first line of FILE); user admin for HTTP Basic, or Bearer.")
@click.option("--expose-writable", is_flag=True,
              help="Allow --writable on an address other than loopback (updates from the network).")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.01),
              help="Seconds a query or update may run.")
@click.option("--memory-limit", default=_MEMORY_LIMIT_MIB, show_default=True, type=click.IntRange(64),
              metavar="MIB", help="Resident memory one query worker process may use; past it, its query is ended.")
@click.option("--workers", default=None, type=click.IntRange(1), metavar="N",
              help="Query workers of the general lane [default: two per core].")
@click.option("--client-queries", default=2, show_default=True, type=click.IntRange(1), metavar="N",
              help="General-lane queries one client address may run at once; more wait their turn.")
@click.option("--max-result-bytes", default=64 << 20, show_default=True, type=click.IntRange(1),
              help="Largest result the endpoint sends.")
@click.option("--allow-remote", is_flag=True,
              help="Let queries call federated SERVICE endpoints and updates LOAD remote documents.")
@click.option("--cors-origin", "cors_origin", multiple=True, metavar="ORIGIN",
              help="An origin whose pages may read the answers (repeatable or comma-separated; default: *). "
                   "Updates are accepted from the server's own origin only.")
@click.option("--request-timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds a client has to send a whole request; slower ones are cut off.")
@_QUERIES_OPTION
@_user_errors()
def serve_command(store_dir: str, host: str, port: int, writable: bool, password_file: str | None,
                  expose_writable: bool, timeout: float, memory_limit: int, workers: int | None, client_queries: int,
                  max_result_bytes: int, allow_remote: bool, cors_origin: tuple[str, ...], request_timeout: float,
                  queries_dir: str | None) -> None:
    """Serve the store over the SPARQL 1.1 Protocol at /sparql, with the canned queries at /queries/NAME, a
    SPARQL editor at /, the figure pages at /figures/FIGID.html, the dataset overview at /dataset and /health.

    \b
    Examples:
      pfocr-rdf serve
      pfocr-rdf serve --port 8080 --timeout 10
      pfocr-rdf serve --queries my-queries/
      PFOCR_RDF_SERVE_PASSWORD=... pfocr-rdf serve --writable
      curl 'http://127.0.0.1:7878/queries/figures-for-gene?gene=TP53' -H 'Accept: text/csv'
      curl http://127.0.0.1:7878/figures/PMC1852397__pbio.0050121.g004.html -H 'Accept: text/turtle'
    """
    import threading

    from .store.queries import library
    from .web.access import Access, PasswordError, cors_origins, loopback, read_password
    from .web.endpoint import Endpoint
    from .web.server import make_server

    if password_file is not None and not writable:
        _fail("--password-file is the password for updates: add --writable")
    password = None
    if writable:
        try:
            password = read_password(password_file)
        except PasswordError as err:
            _fail(str(err))
        if not loopback(host):
            if not expose_writable:
                _fail(f"--writable on {host} would take updates from the network: bind a loopback address, or add "
                      "--expose-writable if you mean it")
            click.echo(f"warning: --writable on {host}: anyone who reaches this address and has the password can "
                       "change the store, and the password crosses the network in clear unless HTTPS is in front",
                       err=True)
    try:
        access = Access(password, cors_origins(cors_origin))
    except ValueError as err:
        _fail(str(err))
    endpoint = Endpoint(store_dir, writable=writable, timeout=timeout, max_result_bytes=max_result_bytes,
                        allow_remote=allow_remote, queries=library(queries_dir), workers=workers,
                        memory_limit=memory_limit << 20, per_client=client_queries)
    try:
        server = make_server(endpoint, host, port, request_timeout=request_timeout, access=access)
    except OSError as err:
        endpoint.close()
        _fail(f"cannot listen on {host}:{port}: {err.strerror or err}")
    threading.Thread(target=endpoint.warm, daemon=True, name="pfocr-rdf-warm").start()
    mode = "read-write" if writable else "read-only"
    click.echo(f"SPARQL endpoint: http://{host}:{server.server_port}/sparql ({mode}, {timeout:g} s and "
               f"{memory_limit} MiB per query); editor at http://{host}:{server.server_port}/; Ctrl-C stops it",
               err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    if server.failure is not None:
        _fail(f"the endpoint stopped: {server.failure}", 1)


def _sources(folder: str) -> dict[str, str]:
    """figid -> source file, from the report.json the conversion wrote beside the dumps."""
    try:
        with open(os.path.join(folder, "report.json"), encoding="utf-8") as fh:
            return {item["figid"]: item["file"] for item in json.load(fh).get("converted", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


if __name__ == "__main__":  # pragma: no cover
    main()
