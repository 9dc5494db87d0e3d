"""Publishing into an external triplestore, in bounded batches, replacing a graph so that readers see the old graph or
the new one, never a part.

    >>> from converter.publish import publish
    >>> report = publish(["output/pfocr.nt"], "http://127.0.0.1:7878/store")       # doctest: +SKIP
    >>> report.triples, report.verified                                              # doctest: +SKIP
    (1650, True)

Two protocols carry the batches: the SPARQL 1.1 Graph Store HTTP Protocol (``gsp``: each batch is an N-Triples
``POST`` to the store's graph store service) and SPARQL 1.1 Update (``update``: each batch is one ``INSERT DATA``).
Both add triples as a set, so a batch sent twice (a retry after a lost answer) changes nothing, and batches go
several at a time (``jobs``).

How a graph is replaced depends on the store (``store_kind``; ``auto`` asks the store its name):

- ``sparql`` (Oxigraph server, Fuseki, GraphDB, any other): the batches go into a staging graph, whose triple count
  must equal what was sent; then one SPARQL Update request, ``MOVE <staging> TO <graph>``, swaps it in, with the
  precomputed graphs the canned queries read (:mod:`converter.store.derived`). A store runs one update request as one
  transaction, so readers see the old graph or the new one.
- ``virtuoso``: a ``MOVE`` of millions of triples overflows a default Virtuoso's transaction log; the data goes into
  a new version graph instead and the graph's IRI is switched to it as a graph group
  (:mod:`converter.publish.virtuoso`).
  ``bulk`` has Virtuoso's own bulk loader read the data from a folder it shares with this machine.

Any failure before the swap drops what was sent and leaves the target as it was. ``append=True`` adds the batches
to the graph directly instead; the precomputed graphs are then computed again from the whole graph and replaced.
The update and query services are found from the endpoint for stores whose layout is known
(``data/triplestores.json``: Oxigraph, Virtuoso, Fuseki, GraphDB) or given explicitly.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from ..rdf.vocab import GRAPH
from ..store.derived import DERIVED_GRAPHS
from ..store.load import StoreError, dump_files
from .progress import Progress

if TYPE_CHECKING:
    pass
from ..store.apart import Apart
from .client import (
    BATCH_SIZE,
    GRACE,
    JOBS,
    STORE_KINDS,
    Protocol,
    PublishError,
    PublishReport,
    StoreKind,
    _Client,
    _layout,
    redact,
    services,
)
from .target import _Job, _Target, precomputed


def _store_kind(requested: StoreKind, endpoint: str, protocol: Protocol, target: _Target, user: str | None) -> str:
    """The kind asked for, or the store's own: Virtuoso by its layout or its Server header, with an account to run
    SQL as (without one, only the standard protocols are open); anything else speaks the standard protocols."""
    if requested != "auto":
        return requested
    if user is None:
        return "sparql"
    layout, _ = _layout(endpoint, protocol)
    if layout is not None:
        kind: str = layout.get("kind", "sparql")
        return kind
    return "virtuoso" if "virtuoso" in target.server().lower() else "sparql"


def _redacted(function: Callable[..., PublishReport]) -> Callable[..., PublishReport]:
    """Errors without the passwords of the URLs they name, whichever step raised them."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> PublishReport:
        try:
            return function(*args, **kwargs)
        except PublishError as err:
            raise PublishError(redact(str(err))) from None

    return run


@_redacted
def publish(
    inputs: Iterable[str],
    endpoint: str,
    *,
    graph: str = GRAPH,
    protocol: Protocol = "gsp",
    user: str | None = None,
    password: str | None = None,
    append: bool = False,
    with_statistics: bool = True,
    batch_size: int | None = None,
    update_endpoint: str | None = None,
    query_endpoint: str | None = None,
    retries: int = 4,
    backoff: float = 0.5,
    timeout: float = 300.0,
    progress: bool | Progress = False,
    on_batch: Callable[[int], None] | None = None,
    store_kind: StoreKind = "auto",
    bulk: str | None = None,
    jobs: int = JOBS,
    grace: float = GRACE,
) -> PublishReport:
    """Send dumps (.nt, .nq, .ttl, .jsonld) or PFOCR records into ``graph`` of the store at ``endpoint``.

    ``endpoint`` is the Graph Store Protocol service for ``protocol="gsp"`` (Oxigraph: ``/store``) or the SPARQL
    Update service for ``protocol="update"``. ``bulk`` (Virtuoso) is a folder the store's server can read, where
    its bulk loader finds the data. Raises :class:`PublishError` on any failure, after dropping what was sent; the
    target graph is then the one that was there before.
    """
    started = time.perf_counter()
    inputs = list(inputs)
    if protocol not in BATCH_SIZE:
        raise PublishError(f"unknown protocol {protocol!r}; choose gsp or update")
    if store_kind not in STORE_KINDS:
        raise PublishError(f"unknown store kind {store_kind!r}; choose {', '.join(STORE_KINDS)}")
    if not inputs:
        raise PublishError("nothing to publish: name dump files or PFOCR records")
    try:
        ox.NamedNode(graph)
    except ValueError:
        raise PublishError(f"--graph {graph!r} is not an IRI") from None
    if bulk is not None and not os.path.isdir(bulk):
        raise PublishError(f"--bulk {bulk}: no such folder")
    known_update, known_query = services(endpoint, protocol)
    update = update_endpoint or (endpoint if protocol == "update" else known_update)
    query = query_endpoint or known_query
    client = _Client(user, password, retries, backoff, timeout)
    target = _Target(client, endpoint, protocol, update, query)
    report = PublishReport(redact(endpoint), graph, protocol, inputs=inputs)
    if query is None:
        raise PublishError(f"no query service known for {endpoint} (to count the published triples); "
                           "give --query-endpoint")
    kind = report.kind = _store_kind(store_kind, endpoint, protocol, target, user)
    if update is None and not (append and kind == "sparql"):
        raise PublishError(f"no SPARQL Update service known for {endpoint} (to swap the new graph in); "
                           "give --update-endpoint")
    if bulk is not None and kind != "virtuoso":
        raise PublishError("--bulk hands the data to Virtuoso's bulk loader: it needs a Virtuoso store (and "
                           "--user for its dba account)")
    with tempfile.TemporaryDirectory(prefix="pfocr-publish-") as work:
        try:
            dumps = dump_files(inputs, work, report.rejected)
        except StoreError as err:
            raise PublishError(str(err)) from None
        meter = progress if isinstance(progress, Progress) else Progress(
            sum(os.path.getsize(d) for d in dumps), None)
        if progress is True:
            from .progress import for_command_line

            meter = for_command_line(meter.total)
        job = _Job(target, dumps, work, report, batch_size or BATCH_SIZE[protocol], max(1, jobs), meter, on_batch)
        if kind == "virtuoso":
            from .virtuoso import publish_virtuoso

            publish_virtuoso(job, graph, append, with_statistics, bulk, grace)
        else:
            _publish_standard(job, graph, append, with_statistics)
    report.retries = client.retried
    report.seconds = time.perf_counter() - started
    return report


def _publish_standard(job: _Job, graph: str, append: bool, with_statistics: bool) -> None:
    """Staging graph, count, one ``MOVE`` (or, appending, straight into the graph)."""
    target, report = job.target, job.report
    staging = "-staging-"
    derived = {g: f"{g}{staging}{uuid.uuid4().hex[:12]}" for g in DERIVED_GRAPHS} if with_statistics else {}
    if append:
        job.send(graph)
        if report.triples == 0:
            raise PublishError("nothing to publish: the inputs hold no triples")
        if derived:  # the counts are of the whole graph: read it back, with what was there before
            whole = os.path.join(job.work, "whole.nt")
            target.download(graph, whole)
            with Apart([whole], job.work) as apart:
                files = precomputed(apart)
            _swap_derived(job, files, derived)
        report.counted = report.triples  # a graph added to holds more than was sent: nothing to compare
        return
    data_graph = f"{graph}{staging}{uuid.uuid4().hex[:12]}"
    # left by a publish whose store went away before it could clean up
    stale = [s for g in (graph, *DERIVED_GRAPHS) for s in target.graphs(g + staging)]
    if stale:
        target.update(" ; ".join(f"DROP SILENT GRAPH <{g}>" for g in stale), "dropping old staging graphs")
    with job.deriving(bool(derived)) as derived_files:
        try:
            job.send(data_graph)
            if report.triples == 0:
                raise PublishError("nothing to publish: the inputs hold no triples")
            if derived_files is not None:
                job.progress.step("computing the precomputed graphs")
                job.send_derived(precomputed(derived_files), derived)
            counted = target.count(data_graph)
            if counted != report.triples:
                raise PublishError(f"the staging graph <{data_graph}> holds {counted} triples, "
                                   f"{report.triples} were sent; the target graph is left as it was")
            swaps = [f"MOVE <{data_graph}> TO <{graph}>"] + [
                f"MOVE <{staged}> TO <{g}>" if g in report.sent_graphs else f"DROP SILENT GRAPH <{g}>"
                for g, staged in derived.items()]
            job.progress.step("swapping the new graph in")
            target.update(" ; ".join(swaps), "swapping the new graph in")
        except BaseException:
            _drop_quietly(target, data_graph, *derived.values())
            raise
    report.counted = target.count(graph)
    if not report.verified:
        raise PublishError(f"<{graph}> holds {report.counted} triples after the swap, {report.triples} were sent")


def _swap_derived(job: _Job, files: dict[str, tuple[str, int]], staging: dict[str, str]) -> None:
    """Replace the precomputed graphs by ``files`` through staging graphs and one ``MOVE`` request."""
    try:
        job.send_derived(files, staging)
        job.target.update(" ; ".join(
            f"MOVE <{staged}> TO <{g}>" if g in job.report.sent_graphs else f"DROP SILENT GRAPH <{g}>"
            for g, staged in staging.items()), "swapping the precomputed graphs in")
    except BaseException:
        _drop_quietly(job.target, *staging.values())
        raise


def _drop_quietly(target: _Target, *graphs: str) -> None:
    """Best effort: the store may be the thing that failed."""
    target.client.retries = 0
    with contextlib.suppress(PublishError):
        target.update(" ; ".join(f"DROP SILENT GRAPH <{g}>" for g in graphs), "dropping the staging graph")
