"""Real triplestores for the ``pfocr-rdf publish`` tests and ``benchmarks/bench_query.py``: an Oxigraph server
and a Virtuoso Open Source server, each in a throw-away folder on free loopback ports, started and stopped within a
test (or a benchmark run).

Why real servers: publishing speaks HTTP (Graph Store Protocol, SPARQL Update) and, for Virtuoso, the bulk loader,
and each store has its own quirks (parameter names, size limits, status codes) that only the real thing shows.

Usage from a fixture::

    with oxigraph_server(tmp_path / "oxigraph") as ox:      # ox.url == "http://127.0.0.1:PORT"
        yield ox
    with virtuoso_server(tmp_path / "virtuoso", [load_dir]) as vt:
        vt.isql("checkpoint;")

A missing binary fails the test with what to install (`make test` installs both); outside pytest it raises
MissingTool. Every wait is bounded. The module needs nothing but the standard library, so the benchmarks import it
(with ``tests/`` on ``sys.path``) rather than keeping a second launcher.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
START_TIMEOUT = 90.0  # seconds a server may take to answer HTTP: Virtuoso needs about 2 s alone, and took over 30 s
# on two cores shared with three other test runs and a benchmark
STOP_TIMEOUT = 15.0  # seconds between SIGTERM and SIGKILL
VIRTUOSO_USER = VIRTUOSO_PASSWORD = "dba"  # the account of a fresh Virtuoso database (HTTP digest auth and isql)
VIRTUOSO_SERVER_ROOT = "/var/lib/virtuoso-opensource-7/vsp"  # where the Debian package puts the HTTP root


def free_port() -> int:
    """A loopback port nobody listens on right now (the system picks it when binding port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class MissingTool(RuntimeError):
    """A server binary is not installed (raised outside pytest; a test fails instead)."""


def find_binary(name: str) -> str:
    """``name`` beside the running interpreter (the virtualenv's bin) or on PATH; fails the test when absent."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        message = f"{name} is not installed (looked beside {sys.executable} and on PATH); 'make test' installs it"
        if "pytest" in sys.modules:  # imported lazily: the benchmarks use this module without pytest
            import pytest

            pytest.fail(message)
        raise MissingTool(message)
    return found


def _answers(url: str) -> bool:
    """True when ``url`` answers HTTP 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
        return True
    return False


@dataclass
class Server:
    """A server process that can be stopped and started again on the same data and ports.

    ``start()`` waits until ``ready_path`` answers 200 (and every port in ``ports`` accepts connections);
    ``stop()`` sends ``stop_signal`` (SIGTERM unless the server stops cleanly on another, as ``pfocr-rdf serve`` on
    SIGINT), waits, and kills after ``STOP_TIMEOUT``. Output goes to ``log`` (a file, so no pipe can fill up and
    block the server). With ``own_group`` the server runs in a process group of its own, which ``stop()`` kills
    last, so worker processes it started cannot outlive it.
    """

    name: str
    command: list[str]
    cwd: Path
    port: int  # the HTTP port
    ready_path: str
    ports: list[int] = field(default_factory=list)
    log: Path | None = None
    stop_signal: int = signal.SIGTERM
    own_group: bool = False
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """HTTP base without a trailing slash, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        log = self.log or self.cwd / f"{self.name}.out"
        with open(log, "ab") as out:  # the child keeps its own handle
            self.process = subprocess.Popen(self.command, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=self.own_group)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if _answers(self.url + self.ready_path) and all(_listening(p) for p in self.ports):
                return
            time.sleep(0.1)
        self.stop()
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{self.name} did not answer {self.url + self.ready_path} within {START_TIMEOUT} s:\n{tail}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(self.stop_signal)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if self.own_group:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # the group's id is the server's pid (start_new_session)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """Starts ``server`` and stops it when the block ends, however it ends."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def oxigraph_server(location: Path, *, read_only: bool = False,
                    log: Path | None = None) -> contextlib.AbstractContextManager[Server]:
    """``oxigraph serve --location LOCATION --bind 127.0.0.1:PORT``: ``/query``, ``/update``, ``/store`` (GSP);
    with ``read_only``, ``oxigraph serve-read-only`` on an existing store (``/query`` only).

    ``.start()`` after ``.stop()`` reopens the same store on the same port (tests of a server that goes away in
    the middle of a publish). The server's output goes to ``log``, by default ``LOCATION.log`` beside the store.
    """
    binary = find_binary("oxigraph")
    if not read_only:
        location.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [binary, "serve-read-only" if read_only else "serve", "--location", str(location),
               "--bind", f"{HOST}:{port}"]
    return running(Server("oxigraph", command, location.parent, port, "/query?query=ASK%7B%7D",
                          log=log or location.parent / f"{location.name}.log"))


@dataclass
class Virtuoso(Server):
    """A Virtuoso server; ``url`` is its HTTP base, ``sql_port`` its SQL port (for ``isql-vt``)."""

    sql_port: int = 0
    isql_binary: str = "isql-vt"

    def isql(self, sql: str, timeout: float = 120.0) -> str:
        """Runs ``sql`` (one or more statements, each ending with ``;``) as dba and returns the bare output
        (no banner, no column headers). isql-vt exits 0 even when a statement fails, so errors are recognised
        by the ``*** Error`` it prints on standard error; they raise RuntimeError with the whole output."""
        result = subprocess.run(
            [self.isql_binary, f"{HOST}:{self.sql_port}", VIRTUOSO_USER, VIRTUOSO_PASSWORD,
             "VERBOSE=OFF", "BANNER=OFF", "PROMPT=OFF", "ECHO=OFF", f"exec={sql}"],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        if result.returncode != 0 or "*** Error" in result.stderr:
            raise RuntimeError(f"isql-vt failed ({result.returncode}) on {sql!r}:\n{result.stdout}{result.stderr}")
        return result.stdout


VIRTUOSO_INI = """\
; Throw-away Virtuoso database written by tests/_triplestores.py.
[Database]
DatabaseFile       = {dir}/virtuoso.db
ErrorLogFile       = {dir}/virtuoso.log
LockFile           = {dir}/virtuoso.lck
TransactionFile    = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = {dir}/virtuoso-temp.db
TransactionFile    = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

; No VADInstallDir: with it, a fresh database tries (and fails) to install the Conductor, costing ~6 s per start.
[Parameters]
ServerPort           = {host}:{sql_port}
DisableUnixSocket    = 1
CheckpointInterval   = 0
DirsAllowed          = {dirs_allowed}
NumberOfBuffers      = 10000
MaxDirtyBuffers      = 6000
MaxQueryMem          = 200M
MaxClientConnections = 10
ThreadsPerQuery      = 2

[HTTPServer]
ServerPort           = {host}:{http_port}
ServerRoot           = {server_root}
ServerThreads        = 10
MaxClientConnections = 10
Charset              = UTF-8
"""


def with_settings(ini: str, settings: Mapping[str, Mapping[str, object]]) -> str:
    """``ini`` with ``settings`` (section -> key -> value) applied: a key already in its section gets the new value
    in place, other keys are added at the end of their section, and sections the file lacks are appended."""
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in ini.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            sections.append((stripped[1:-1], []))
        sections[-1][1].append(line)
    pending = {section: dict(values) for section, values in settings.items()}
    out: list[str] = []
    for name, lines in sections:
        wanted = pending.pop(name, {}) if name is not None else {}
        for i, line in enumerate(lines):
            key = line.split("=", 1)[0].strip()
            if "=" in line and not line.lstrip().startswith(";") and key in wanted:
                lines[i] = f"{key:<20} = {wanted.pop(key)}"
        body_end = len(lines)
        while body_end > 1 and not lines[body_end - 1].strip():  # before the blank lines that end the section
            body_end -= 1
        lines[body_end:body_end] = [f"{key:<20} = {value}" for key, value in wanted.items()]
        out += lines
    for name, values in pending.items():
        out += ["", f"[{name}]", *(f"{key:<20} = {value}" for key, value in values.items())]
    return "\n".join(out) + "\n"


def virtuoso_server(workdir: Path, dirs_allowed: Sequence[Path] = (), *,
                    settings: Mapping[str, Mapping[str, object]] | None = None,
                    ) -> contextlib.AbstractContextManager[Virtuoso]:
    """``virtuoso-t -f -c WORKDIR/virtuoso.ini`` on a fresh database in ``workdir`` (SQL and HTTP on loopback).

    ``dirs_allowed`` are the folders the bulk loader (``ld_dir``) may read; ``workdir`` is always allowed.
    ``settings`` (section -> key -> value) change or add ini entries: the defaults suit a test's few thousand
    triples, a benchmark raises the buffers and the ``[SPARQL]`` limits.
    Virtuoso also always lets the loader read the system temporary folder ($TMPDIR or its default).
    HTTP endpoints: ``/sparql`` (anonymous queries), ``/sparql-auth`` and ``/sparql-graph-crud-auth`` (digest
    auth, ``VIRTUOSO_USER``/``VIRTUOSO_PASSWORD``). ``workdir`` receives virtuoso.ini, the database files
    (virtuoso.db, -temp.db, .trx, .pxa, .lck while running), virtuoso.log and the console output virtuoso.out.
    SIGTERM is a quick shutdown without checkpoint; ``.start()`` again rolls the transaction log forward.
    """
    binary = find_binary("virtuoso-t")
    isql = find_binary("isql-vt")
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    sql_port, http_port = free_port(), free_port()
    while http_port == sql_port:
        http_port = free_port()
    allowed = ", ".join(dict.fromkeys(str(Path(d).resolve()) for d in [workdir, *dirs_allowed]))
    ini = workdir / "virtuoso.ini"
    text = VIRTUOSO_INI.format(dir=workdir, host=HOST, sql_port=sql_port, http_port=http_port,
                               dirs_allowed=allowed, server_root=VIRTUOSO_SERVER_ROOT)
    ini.write_text(with_settings(text, settings or {}))
    server = Virtuoso("virtuoso", [binary, "-f", "-c", str(ini)], workdir, http_port, "/sparql?query=ASK%7B%7D",
                      ports=[sql_port], log=workdir / "virtuoso.out", sql_port=sql_port, isql_binary=isql)
    return running(server)
