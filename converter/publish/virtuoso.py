"""Replacing a graph in Virtuoso at any size, with readers seeing the old graph or the new one, never a part.

Why not the staging graph and one ``MOVE`` that other stores take (``docs/triplestores.md`` has the figures):

- a ``MOVE`` rewrites every index entry of every quad. Logged, a few million triples overflow the transaction's log
  (``SR325``, about 50 MB on a default server); committed row by row (``log-enable 3``) readers see it half moved
  for its whole length, and a default server ends any request after 60 s (``[SPARQL] MaxQueryExecutionTime``).
- Virtuoso's graph groups can: a group's IRI in ``FROM`` (or the protocol's ``default-graph-uri``) stands for its
  members, and which members it has is one entry of an in-memory dictionary that the query compiler reads.

So the data goes into a new graph of its own, ``<GRAPH>-version-<id>``, loaded as fast as the server takes it (no
reader sees it); its triple count is checked; then one call makes ``<GRAPH>`` a group whose one member is the new
graph, in a single write of that dictionary (and of the group tables, logged, so a restart keeps it). The previous
version is dropped after ``grace`` seconds, when the queries that started on it are done. The precomputed graphs
(:mod:`converter.store.derived`, 1-2% of the triples) are read with ``GRAPH <...>``, where groups are not expanded: they
keep their names and are swapped in with one logged ``MOVE`` just before the switch, small enough for the log.

The switch and the bulk loader are SQL; they are reached through ``/sparql-auth`` as ``sql:``/``bif:`` calls, so
publishing needs the ``dba`` account (or one with its rights) and nothing but HTTP. Small procedures named
``DB.DBA.PFOCR_RDF_*`` are (re)defined on each publish. Those that change the log mode set it back before they
return, even on an error: the mode stays with the server's HTTP thread otherwise, for whoever it serves next.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # the publish module imports this one
    from .target import _Job, _Target

VERSION = "-version-"
STAGING = "-staging-"
GROUP_COMMENT = "pfocr-rdf publish: its one member is the current version of the graph"
# Triples per bulk-load file: one file must load well within a default server's 60 s per request
BULK_FILE_TRIPLES = 250_000

# Readers' queries compiled before the switch keep the previous member; the jso_mark_affected calls make the
# server recompile them (the default quad storage, too, the first time: a plain graph's plans do not name a group).
_PROCEDURES = {
    "PFOCR_RDF_SWITCH": f"""
create procedure DB.DBA.PFOCR_RDF_SWITCH (in grp varchar, in memb varchar) returns varchar
{{
  declare gid, mid any;
  declare prev varchar;
  gid := iri_to_id (grp);
  mid := iri_to_id (memb);
  if (exists (select 1 from DB.DBA.RDF_GRAPH_GROUP
              where RGG_IID = gid and coalesce (RGG_COMMENT, '') <> '{GROUP_COMMENT}'))
    signal ('PFOCR', sprintf ('<%s> is a graph group that pfocr-rdf did not make; publish into another graph', grp));
  prev := coalesce ((select top 1 id_to_iri (RGGM_MEMBER_IID) from DB.DBA.RDF_GRAPH_GROUP_MEMBER
                     where RGGM_GROUP_IID = gid), '');
  insert soft DB.DBA.RDF_GRAPH_GROUP (RGG_IID, RGG_IRI, RGG_COMMENT) values (gid, grp, '{GROUP_COMMENT}');
  delete from DB.DBA.RDF_GRAPH_GROUP_MEMBER where RGGM_GROUP_IID = gid;
  insert into DB.DBA.RDF_GRAPH_GROUP_MEMBER (RGGM_GROUP_IID, RGGM_MEMBER_IID) values (gid, mid);
  commit work;
  DB.DBA.RDF_GRAPH_CACHE_IID (gid);
  DB.DBA.RDF_GRAPH_CACHE_IID (mid);
  DB.DBA.SECURITY_CL_EXEC_AND_LOG ('dict_put (__rdf_graph_group_dict(), ?, vector (?))', vector (gid, mid));
  jso_mark_affected (grp);
  log_text ('jso_mark_affected (?)', grp);
  if (prev = '')
    {{
      jso_mark_affected ('http://www.openlinksw.com/schemas/virtrdf#DefaultQuadStorage');
      log_text ('jso_mark_affected (?)', 'http://www.openlinksw.com/schemas/virtrdf#DefaultQuadStorage');
    }}
  return prev;
}}""",
    "PFOCR_RDF_GRAPHS": """
create procedure DB.DBA.PFOCR_RDF_GRAPHS (in prefix varchar) returns varchar
{
  declare acc any;
  acc := string_output ();
  for (select id_to_iri (REC_GRAPH_IID) as g from DB.DBA.RDF_EXPLICITLY_CREATED_GRAPH) do
    if (starts_with (g, prefix))
      http (g || '\\n', acc);
  for (select id_to_iri (RGGM_MEMBER_IID) as m from DB.DBA.RDF_GRAPH_GROUP_MEMBER
       where RGGM_GROUP_IID = iri_to_id (prefix)) do
    http ('member ' || m || '\\n', acc);
  return string_output_string (acc);
}""",
    "PFOCR_RDF_LOAD": """
create procedure DB.DBA.PFOCR_RDF_LOAD (in folder varchar) returns varchar
{
  declare failed, done varchar;
  declare exit handler for sqlstate '*' { log_enable (1, 1); resignal; };
  done := 'wait';
  if (exists (select 1 from DB.DBA.LOAD_LIST where starts_with (LL_FILE, folder) and LL_STATE = 0))
    {
      rdf_loader_run (1);
      done := 'ran';
    }
  log_enable (1, 1);
  failed := coalesce ((select top 1 LL_FILE || ': ' || LL_ERROR from DB.DBA.LOAD_LIST
                       where starts_with (LL_FILE, folder) and LL_ERROR is not null), '');
  if (failed <> '')
    return 'failed ' || failed;
  return sprintf ('%s %d', done, (select count (*) from DB.DBA.LOAD_LIST
                                  where starts_with (LL_FILE, folder) and LL_STATE <> 2));
}""",
    "PFOCR_RDF_DROP": """
create procedure DB.DBA.PFOCR_RDF_DROP (in graph varchar) returns integer
{
  declare gid any;
  declare n integer;
  declare exit handler for sqlstate '*' { log_enable (1, 1); resignal; };
  gid := iri_to_id (graph);
  log_enable (2, 1);
  delete from DB.DBA.RDF_QUAD where G = gid;
  n := row_count ();
  log_enable (1, 1);
  delete from DB.DBA.RDF_EXPLICITLY_CREATED_GRAPH where REC_GRAPH_IID = gid;
  commit work;
  return n;
}""",
    "PFOCR_RDF_FORGET": """
create procedure DB.DBA.PFOCR_RDF_FORGET (in folder varchar) returns integer
{
  delete from DB.DBA.LOAD_LIST where starts_with (LL_FILE, folder);
  commit work;
  return row_count ();
}""",
}


def _literal(text: str) -> str:
    """A SPARQL string literal holding ``text`` exactly."""
    return '"""' + text.replace("\\", "\\\\").replace('"', '\\"') + '"""'


class Virtuoso:
    """The SQL side of a Virtuoso server, reached through its authenticated SPARQL service."""

    def __init__(self, target: _Target, error: type[Exception]) -> None:
        self.target = target
        self.error = error

    def call(self, expression: str, what: str) -> str:
        """The value of one SQL expression (``sql:PROC(...)`` or ``bif:FUNCTION(...)``), as text."""
        rows = self.target.select(f"SELECT ({expression} AS ?r) WHERE {{}}", what)
        return rows[0]["r"]["value"] if rows and "r" in rows[0] else ""

    def install(self) -> None:
        """(Re)define the procedures; a refusal means an account without the rights of ``dba``."""
        for name, text in _PROCEDURES.items():
            try:
                self.call(f"bif:exec({_literal(text.strip())})", f"defining {name} in Virtuoso")
            except self.error as err:
                raise self.error(f"{err} (the Virtuoso replace runs SQL through /sparql-auth: give the dba account, "
                                 "or --store-kind sparql for the standard protocols)") from None

    def graphs(self, graph: str) -> tuple[str | None, list[str]]:
        """The current version of ``graph`` (None when it is not a group yet) and every graph this tool created for
        it (versions, staging graphs, the current version among them)."""
        current, mine = None, []
        for line in self.call(f"sql:PFOCR_RDF_GRAPHS({_literal(graph)})", "listing the graph's versions").splitlines():
            if line.startswith("member "):
                current = line[len("member "):]
            elif line.startswith((graph + VERSION, graph + STAGING)):
                mine.append(line)
        return current, mine

    def switch(self, graph: str, version: str) -> str | None:
        """Make ``graph`` stand for ``version`` alone; the version it stood for before, if any."""
        previous = self.call(f"sql:PFOCR_RDF_SWITCH({_literal(graph)}, {_literal(version)})",
                             "switching the graph to its new version")
        return previous or None

    def count(self, graph: str) -> int:
        """Triples a reader sees in ``FROM <graph>`` (a group's members, or the graph itself)."""
        return self._count(f"SELECT (COUNT(*) AS ?n) FROM <{graph}> WHERE {{ ?s ?p ?o }}")

    def count_graph(self, graph: str) -> int:
        """Triples in the plain graph ``graph``."""
        return self._count(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")

    def holds(self, graph: str) -> bool:
        """Whether the plain graph ``graph`` has a triple."""
        return self._count(f"SELECT (COUNT(*) AS ?n) WHERE {{ {{ SELECT * WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} "
                           "LIMIT 1 } }") > 0

    def _count(self, query: str) -> int:
        rows = self.target.select(query, "counting the published triples")
        try:
            return int(rows[0]["n"]["value"])
        except (ValueError, KeyError, IndexError):
            raise self.error(f"counting the published triples: {self.target.query_url} gave no count") from None

    def create(self, *graphs: str) -> None:
        """Register graphs as created, so that a later publish finds them if this one leaves them behind."""
        self.target.update(" ; ".join(f"CREATE SILENT GRAPH <{g}>" for g in graphs), "creating the new graphs")

    def drop(self, graphs: Iterable[str], quiet: bool = False) -> None:
        """Drop graphs nobody reads any more, row by row and unlogged: a default server's transaction log could not
        hold millions of deletions at once, and logging them would double the time. A crash before the next
        checkpoint brings some rows back, in a graph nobody reads, which the next publish drops. A drop cut off by
        the server's time limit per request has kept what it deleted, so it is sent again until the graph is gone.

        Not ``DEFINE sql:log-enable 2 DROP GRAPH``: the mode it sets stays with the server's HTTP thread, and a later
        request on that thread (anyone's) then runs row by row: a ``MOVE`` there kept part of its target's old
        triples. ``PFOCR_RDF_DROP`` sets the mode back, whatever happens."""
        for graph in graphs:
            for attempt in range(100):
                try:
                    self.call(f"sql:PFOCR_RDF_DROP({_literal(graph)})", f"dropping <{graph}>")
                    break
                except self.error as err:
                    if "SR171" not in str(err) or attempt == 99:  # SR171: the request's time ran out
                        if quiet:
                            break
                        raise

    def checkpoint(self) -> None:
        """Make what the bulk loader wrote (not logged) durable, before anything logged refers to it."""
        self.call("bif:exec('checkpoint')", "checkpointing after the bulk load")

    @contextlib.contextmanager
    def loading(self, folder: str, graph: str, sessions: int) -> Iterator[Callable[[str], None]]:
        """Load files of ``folder`` (on the server's disk too) into ``graph`` with the server's bulk loader as they
        come: the block gets a function that registers a finished file (``ld_add``); ``sessions`` requests run
        ``rdf_loader_run`` one file each (each well within the server's time limit per request), so the first files
        load while the next are written. The block's end waits until every file is loaded."""
        prefix = folder.rstrip("/") + "/"
        written, stop = threading.Event(), threading.Event()

        def loader() -> None:
            target = self.target.fork()
            while not stop.is_set():
                last = written.is_set()  # read before asking: a file added after it is counted in the answer
                rows = target.select(f"SELECT (sql:PFOCR_RDF_LOAD({_literal(prefix)}) AS ?r) WHERE {{}}",
                                     "running Virtuoso's bulk loader")
                state = rows[0]["r"]["value"] if rows and "r" in rows[0] else ""
                if state.startswith("failed "):
                    raise self.error(f"Virtuoso's bulk loader failed on {state[len('failed '):]}")
                done, _, left = state.partition(" ")
                if left == "0" and last:
                    return
                if done != "ran":  # nothing to load yet, or the last files are loading in the other sessions
                    time.sleep(0.2)

        def add(path: str) -> None:
            for session in running:
                if session.done():  # ended early: on an error, which stops the publish now
                    session.result()
            self.call(f"sql:ld_add({_literal(path)}, {_literal(graph)})", "registering a bulk-load file")

        with ThreadPoolExecutor(sessions) as pool:
            running = [pool.submit(loader) for _ in range(sessions)]
            try:
                yield add
                written.set()
                for session in running:
                    session.result()
            except BaseException:
                stop.set()
                with contextlib.suppress(self.error):  # the error that stopped the load is the one to tell
                    self._forget(prefix)
                raise
            self._forget(prefix)

    def _forget(self, prefix: str) -> None:
        """Clear the bulk loader's list of the files under ``prefix``: it would otherwise grow by a row per file on
        every publish."""
        self.call(f"sql:PFOCR_RDF_FORGET({_literal(prefix)})", "clearing the bulk loader's list")


def version_name(graph: str) -> str:
    """A new version's IRI: the time (for people listing graphs) and a random part (for two publishes at once)."""
    return f"{graph}{VERSION}{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"


class BulkFolder:
    """The N-Triples files the bulk loader reads, in a fresh folder under ``root`` (which the server must be allowed
    to read: ``DirsAllowed``); removed whatever happens."""

    def __init__(self, root: str) -> None:
        if not os.path.isdir(root):
            raise FileNotFoundError(root)
        self.path = tempfile.mkdtemp(prefix="pfocr-publish-", dir=os.path.abspath(root))
        os.chmod(self.path, 0o755)  # the server may run as another user
        self.files: list[str] = []
        self.on_file: Callable[[str], None] = lambda path: None  # each file once it is complete
        self._out: BinaryIO | None = None
        self._lines = 0

    def write(self, ntriples: bytes) -> None:
        """A batch of whole lines; a file is closed once it holds ``BULK_FILE_TRIPLES`` lines or more."""
        if self._out is None or self._lines >= BULK_FILE_TRIPLES:
            self._close()
            name = os.path.join(self.path, f"part-{len(self.files) + 1:05d}.nt")
            self._out = open(name, "wb")  # open across calls; closed by _close
            self.files.append(name)
            self._lines = 0
        self._out.write(ntriples)
        self._lines += ntriples.count(b"\n")

    def _close(self) -> None:
        if self._out is not None:
            self._out.close()
            os.chmod(self._out.name, 0o644)
            self._out = None
            self.on_file(self.files[-1])

    def finish(self) -> None:
        self._close()

    def remove(self) -> None:
        self._close()
        shutil.rmtree(self.path, ignore_errors=True)


def publish_virtuoso(job: _Job, graph: str, append: bool, with_statistics: bool, bulk: str | None,
                     grace: float) -> None:
    """Replace (or, with ``append``, add to) ``graph`` of a Virtuoso server: the data into a new version graph,
    counted, the precomputed graphs swapped in, then ``graph`` switched to the version (module docstring)."""
    from ..store.derived import DERIVED_GRAPHS
    from .client import PublishError
    from .target import precomputed

    target, report, progress = job.target, job.report, job.progress
    server = Virtuoso(target, PublishError)
    server.install()
    current, mine = server.graphs(graph)
    # versions and staging graphs left by a publish whose client or server went away before it cleaned up
    stale = [g for g in mine if g != current]
    for derived in DERIVED_GRAPHS:
        stale += server.graphs(derived)[1]
    if stale:
        progress.step(f"dropping {len(stale)} graphs left by an earlier publish")
        server.drop(stale)
    staging = {g: f"{g}{STAGING}{uuid.uuid4().hex[:12]}" for g in DERIVED_GRAPHS} if with_statistics else {}
    if append:
        _append(job, server, graph, current, staging)
        return
    version = version_name(graph)
    server.create(version, *staging.values())
    with job.deriving(bool(staging)) as files:
        try:
            if bulk is not None:
                _bulk_send(job, server, bulk, version)
            else:
                job.send(version)
            if report.triples == 0:
                raise PublishError("nothing to publish: the inputs hold no triples")
            progress.step("counting the new version")
            counted = server.count_graph(version)
            if counted != report.triples:
                raise PublishError(f"the new version <{version}> holds {counted} triples, {report.triples} were "
                                   "sent; the graph is left as it was")
            if files is not None:
                progress.step("sending the precomputed graphs")
                job.send_derived(precomputed(files), staging)
            progress.step("switching readers to the new version")
            held = current is not None or server.holds(graph)  # else nobody can be reading the graph yet
            _swap_derived(job, staging)
            previous = server.switch(graph, version)
        except BaseException:
            server.drop([version, *staging.values()], quiet=True)
            raise
    report.version = version
    report.counted = server.count(graph)
    if report.counted != report.triples:
        raise PublishError(f"<{graph}> shows {report.counted} triples after the switch, {report.triples} were sent")
    if not held:
        return
    # the triples <graph> held as a plain graph, before it was a group, are out of sight now: dropped the same way
    old = [previous] if previous else [graph]
    progress.step(f"dropping the previous version, after {grace:g} s for the queries still reading it")
    time.sleep(grace)
    server.drop(old)


def _swap_derived(job: _Job, staging: dict[str, str]) -> None:
    """The precomputed graphs, read with ``GRAPH <...>`` where groups are not expanded, keep their names: one logged
    ``MOVE`` request swaps them in (1-2% of the triples, well within a default server's transaction log)."""
    if not staging:
        return
    # MOVE leaves its source registered as a created graph in Virtuoso: the DROP keeps the next publish from
    # taking it for one left behind
    job.target.update(" ; ".join(
        f"MOVE <{staged}> TO <{g}> ; DROP SILENT GRAPH <{staged}>" if g in job.report.sent_graphs
        else f"DROP SILENT GRAPH <{g}> ; DROP SILENT GRAPH <{staged}>"
        for g, staged in staging.items()), "swapping the precomputed graphs in")


def _bulk_send(job: _Job, server: Virtuoso, root: str, version: str) -> None:
    """The data as N-Triples files in a folder under ``root``, which the server's bulk loader reads as they are
    written: one session, which leaves the other core to the precomputed graphs (two were no faster)."""
    folder = BulkFolder(root)
    try:
        with server.loading(folder.path, version, sessions=1) as add:
            folder.on_file = add
            job.pour(folder.write, jobs=1)
            folder.finish()
            job.progress.step(f"Virtuoso's bulk loader is loading the last of {len(folder.files)} files")
        server.checkpoint()
    finally:
        folder.remove()


def _append(job: _Job, server: Virtuoso, graph: str, current: str | None, staging: dict[str, str]) -> None:
    """The batches straight into the graph readers see (its current version, once it is a group); the precomputed
    graphs are computed again for the whole graph (read back first, so that a store that cuts long answers short
    stops the publish before anything is added) and swapped in."""
    from ..store.apart import Apart
    from .client import PublishError
    from .target import precomputed

    into = current or graph
    whole = None
    if staging:
        whole = os.path.join(job.work, "whole.nt")
        job.progress.step(f"reading <{graph}> back, to count the whole graph")
        job.target.download(into, whole)
    job.send(into)
    if job.report.triples == 0:
        raise PublishError("nothing to publish: the inputs hold no triples")
    job.report.counted = job.report.triples  # a graph added to holds more than was sent: nothing to compare
    if staging:
        server.create(*staging.values())
        try:
            with Apart([str(whole), *job.dumps], job.work) as apart:
                job.send_derived(precomputed(apart), staging)
            _swap_derived(job, staging)
        except BaseException:
            server.drop(staging.values(), quiet=True)
            raise
