"""Isolation of the endpoint's requests, on real servers and stores: the memory limit, the cap on each client's
queries and the reserved lane, requests ended when their client leaves, updates that are killed and rolled back,
loads into the store being served, and a server that stops (non-zero) when its workers cannot start.

Clients at different loopback addresses (127.0.0.2, ...) are different clients to the server. Waits are bounded
loops on what the server says (``/health``), never on the clock, except for the targets' own bounds: an abandoned
update leaves room for an ``INSERT DATA`` answered within 2 s, and a load is served within 5 s.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from _server_support import (
    EXAMPLES,
    PASSWORD,
    Hostile,
    build_store,
    descendants,
    http_request,
    start_cli_server,
    start_thread_server,
)

from converter.store.load import load
from converter.store.versions import current_version
from converter.web.endpoint import Endpoint

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # hours of CPU, no memory
ORDER_BY = "SELECT ?a ?c WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1"  # gigabytes within seconds
FIGURES = "SELECT (COUNT(*) AS ?n) WHERE { ?f a <https://schema.org/ImageObject> }"
UPDATE = {"Content-Type": "application/sparql-update"}


def until(condition, seconds: float = 20.0, every: float = 0.05):
    """Poll ``condition()`` until it is truthy (its value) or ``seconds`` pass (None)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    return None


def alive(pid: int) -> bool:
    try:
        return "\tZ (zombie)" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def health(running) -> dict:
    return http_request(running.host, running.port, "GET", "/health").json()


def count(running, text: str = FIGURES, source: str | None = None, timeout: float = 30.0) -> int:
    response = running.request("GET", "/sparql?query=" + quote(text), headers={"Accept": "application/json"},
                               source=source, timeout=timeout)
    assert response.status == 200, response.body
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def ask(running, text: str) -> bool:
    response = running.request("GET", "/sparql?query=" + quote(text), headers={"Accept": "application/json"})
    assert response.status == 200, response.body
    return bool(response.json()["boolean"])


def abandon(running, body: str, headers: dict[str, str], source: str = "127.0.0.5") -> socket.socket:
    """Send a POST and leave it waiting; closing the socket is the client leaving."""
    sock = socket.create_connection((running.host, running.port), timeout=30, source_address=(source, 0))
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    data = body.encode()
    sock.sendall(f"POST /sparql HTTP/1.1\r\nHost: {running.host}:{running.port}\r\n{head}Content-Length: "
                 f"{len(data)}\r\n\r\n".encode() + data)
    return sock


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("isolation") / "store")


def test_a_query_over_the_memory_limit_is_ended_and_says_so(store):
    served = start_cli_server(store, "--memory-limit", "128")
    try:
        response = served.request("POST", "/sparql", urlencode({"query": ORDER_BY}),
                                  {"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status == 503, response.body
        assert b"memory limit of a query worker (128 MiB)" in response.body
        assert count(served) == 9  # the others go on
        assert health(served)["peak_worker_mib"] >= 128
    finally:
        served.stop()


def test_a_client_has_its_cap_and_cheap_requests_their_lane(store):
    """One client fills its share of the general lane with runaway queries: its next one waits, another client's
    query takes a free slot, and the canned queries, pages and ASK go to the reserved lane. When the greedy client
    leaves, its queries are ended (not left to run to their time limit)."""
    served = start_cli_server(store, "--workers", "3", "--client-queries", "2")
    held = [abandon(served, urlencode({"query": COUNT}), {"Content-Type": "application/x-www-form-urlencoded"},
                    source="127.0.0.2") for _ in range(3)]
    try:
        state = until(lambda: (h := health(served))["lanes"]["general"]["running"] == 2 and h["waiting"] == 1 and h)
        assert state, health(served)  # two run, the third waits for its client's turn
        assert count(served, source="127.0.0.3") == 9  # another client: the third general slot
        for path in ("/queries/figures-per-year", "/figures/PMC6512345__nihms-1029384-f0003.html",
                     "/sparql?query=" + quote("ASK { ?s ?p ?o }")):
            assert served.request("GET", path, source="127.0.0.2").status == 200, path  # the reserved lane
        assert health(served)["lanes"]["general"]["running"] == 2
    finally:
        for sock in held:
            sock.close()
    assert until(lambda: health(served)["lanes"]["general"]["running"] == 0 and health(served)["waiting"] == 0), \
        health(served)  # well before the 30 s time limit would have ended them
    served.stop()


@pytest.fixture
def writable(tmp_path):
    running = start_cli_server(build_store(tmp_path / "store"), "--writable", password=PASSWORD)
    yield running
    running.stop()


def test_an_abandoned_update_is_stopped_and_rolled_back(writable):
    """The issue's case: a cartesian update whose client gave up after 3 s. It is stopped (here by the memory
    limit or by its client leaving, whichever comes first), nothing of it stays, and an INSERT DATA that follows is
    answered within 2 s."""
    before = count(writable, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    cartesian = "INSERT { ?a <http://x/p> ?f } WHERE { ?a ?b ?c . ?d ?e ?f }"
    sock = abandon(writable, cartesian, {**UPDATE, **writable.headers})
    time.sleep(3)  # the client of the issue gave up after 3 s
    sock.close()
    insert = 'INSERT DATA { <http://x/after> <http://x/p> "1" }'
    left = time.monotonic()
    response = writable.request("POST", "/sparql", insert, UPDATE, timeout=2.0)
    assert response.status == 204, response.body
    print(f"\nINSERT DATA answered {time.monotonic() - left:.3f} s after the cartesian update's client left")
    assert not ask(writable, "ASK { ?a <http://x/p> ?f FILTER(?a != <http://x/after>) }")
    assert count(writable, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }") == before + 1


def test_an_update_whose_client_leaves_is_ended_at_once(writable):
    """A long update that uses no memory: only its client leaving can end it before its 30 s limit. The update
    lock is free again as soon as it has gone: an INSERT DATA sent right after is answered within 2 s."""
    slow = f"INSERT {{ <http://x/s> <http://x/n> ?n }} WHERE {{ {{ {COUNT} }} }}"
    sock = abandon(writable, slow, {**UPDATE, **writable.headers})
    assert until(lambda: health(writable)["lanes"]["general"]["running"] == 1)
    sock.close()
    left = time.monotonic()
    response = writable.request("POST", "/sparql", 'INSERT DATA { <http://x/t> <http://x/p> "2" }', UPDATE,
                                timeout=2.0)
    assert response.status == 204, response.body
    print(f"\nINSERT DATA answered {time.monotonic() - left:.3f} s after the long update's client left")
    assert not ask(writable, "ASK { <http://x/s> <http://x/n> ?n }")  # never committed
    assert ask(writable, 'ASK { <http://x/t> <http://x/p> "2" }')


def test_an_update_over_the_memory_limit_is_rolled_back(tmp_path):
    # time enough for the memory limit to be the one it meets, however busy the machine
    writable = start_cli_server(build_store(tmp_path / "store"), "--writable", "--timeout", "300", password=PASSWORD)
    try:
        _over_memory(writable)
    finally:
        writable.stop()


def _over_memory(writable) -> None:
    before = count(writable, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    response = writable.request("POST", "/sparql", "INSERT { ?a <http://x/q> ?f } WHERE { ?a ?b ?c . ?d ?e ?f }",
                                UPDATE, timeout=300)
    assert response.status == 503, response.body
    assert b"update went over the memory limit" in response.body and b"rolled back" in response.body
    assert count(writable, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }") == before
    assert writable.request("POST", "/sparql", 'INSERT DATA { <http://x/u> <http://x/p> "3" }', UPDATE).status == 204


def _marked(folder: Path, n: int) -> Path:
    marker = folder / f"marker-{n}.nt"
    marker.write_text(f'<https://example.org/round> <https://example.org/n> "{n}" .\n', encoding="utf-8")
    return marker


def test_loads_into_the_served_store_are_served_while_runaway_queries_recycle_workers(tmp_path):
    """Three loads into the store being served, while runaway queries keep killing workers: cheap requests are
    answered throughout, each load is served within 5 s, a version a server still reads is never removed, and
    the versions nobody reads go."""
    path = tmp_path / "store"
    load([str(EXAMPLES), str(_marked(tmp_path, 0))], str(path))
    served = start_cli_server(path)
    clients = [Hostile(served, f"127.0.0.{2 + i}", [ORDER_BY]) for i in range(4)]
    probes: list[int | str] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            try:
                probes.append(served.request("GET", "/queries/figures-per-year", timeout=10).status)
            except OSError as err:
                probes.append(type(err).__name__)
            stop.wait(0.2)

    prober = threading.Thread(target=probe, daemon=True)
    delays = []
    try:
        for client in clients:
            client.start()
        prober.start()
        # The loads start once a runaway query has cost a worker its life, so that they overlap the recycling.
        assert until(lambda: any(isinstance(k, tuple) for c in clients for k in c.answers), 60), \
            "no runaway query was stopped within 60 s"
        for n in (1, 2, 3):
            load([str(EXAMPLES), str(_marked(tmp_path, n))], str(path))
            switched = time.monotonic()
            seen = until(lambda n=n: ask(served, f'ASK {{ ?s <https://example.org/n> "{n}" }}'), 5.0)
            assert seen, f"load {n} was not served within 5 s"
            delays.append(time.monotonic() - switched)
            assert health(served)["version"] == Path(current_version(str(path))).name
    finally:
        stop.set()
        for client in clients:
            client.halt()
        for client in clients:
            client.join(30)
        prober.join(30)
    print(f"\nloads served after {', '.join(f'{d:.2f}' for d in delays)} s; {len(probes)} probes, "
          f"{probes.count(200)} answered 200; hostile answers {[dict(c.answers) for c in clients]}")
    assert probes and all(status == 200 for status in probes), probes
    answers = [k for c in clients for k in c.answers if isinstance(k, tuple)]
    assert answers and all(k == (503, "the query went over the memory limit of a query worker") for k in answers)
    versions = [n for n in (tmp_path / ".stores").iterdir() if n.is_dir()]
    assert Path(current_version(str(path))) in versions
    served.stop()  # its leases go with it: the next load removes every older version
    load([str(EXAMPLES), str(_marked(tmp_path, 4))], str(path))
    assert [n.name for n in (tmp_path / ".stores").iterdir() if n.is_dir()] == [Path(current_version(str(path))).name]


def test_a_server_whose_workers_cannot_start_stops_with_an_error(store, tmp_path):
    """The issue's dead end: the version being served is removed from under the server (here by hand, which load no
    longer does), and a worker ended at its time limit cannot be replaced. The server says so and exits non-zero,
    for a supervisor to restart it, instead of answering 503 for ever."""
    copy = tmp_path / "copy"
    shutil.copytree(store.parent, copy, symlinks=True)
    served = start_cli_server(copy / "store", "--timeout", "1")
    assert health(served)["status"] == "ok"
    shutil.rmtree(current_version(str(copy / "store")))
    response = served.request("GET", "/sparql?query=" + quote(COUNT))
    assert response.status == 503, response.body  # out of time, or its worker fell over the missing files
    try:
        code = served.process.wait(60)
    except subprocess.TimeoutExpired:
        served.stop()
        raise AssertionError("the server did not stop") from None
    errors = [line for line in served.log if line.startswith("Error:")]
    assert code != 0 and len(errors) == 1 and "a query worker could not start" in errors[0], served.log
    assert not any("Traceback" in line for line in served.log)


def test_a_query_that_finds_every_worker_busy_is_told_when_to_come_back(store, monkeypatch):
    """The general lane full and the queue wait over: 503 with Retry-After, in words that say why."""
    monkeypatch.setattr(Endpoint, "queue_wait", property(lambda self: 1.0))  # 30 s by default
    served = start_thread_server(store, workers=1)
    held = abandon(served, urlencode({"query": COUNT}), {"Content-Type": "application/x-www-form-urlencoded"},
                   source="127.0.0.2")
    try:
        assert until(lambda: health(served)["lanes"]["general"]["running"] == 1), health(served)
        response = served.request("GET", "/sparql?query=" + quote(COUNT), source="127.0.0.3")
        assert response.status == 503, response.body
        assert response.headers.get("retry-after") == "5"
        assert b"all query workers are busy; try again" in response.body
    finally:
        held.close()
        served.stop()


def test_sigterm_stops_the_server_cleanly_while_a_query_runs(store):
    """A supervisor's SIGTERM ends the server with status 0 and no traceback, a running query's worker with it."""
    served = start_cli_server(store)
    held = abandon(served, urlencode({"query": COUNT}), {"Content-Type": "application/x-www-form-urlencoded"})
    try:
        assert until(lambda: health(served)["lanes"]["general"]["running"] == 1), health(served)
        workers = descendants(served.process.pid)
        assert len(workers) >= 3, workers  # the fork server, its workers and the resource tracker
        served.process.terminate()
        assert served.process.wait(60) == 0, served.log
    finally:
        held.close()
        served.stop()
    assert not any("Traceback" in line or line.startswith("Error:") for line in served.log), served.log
    with socket.socket() as probe:
        assert probe.connect_ex((served.host, served.port)) != 0  # nothing listens any more
    # the helpers see their parent's pipes close and leave (within a second or two)
    assert until(lambda: not [pid for pid in workers if alive(pid)], 30), "a query worker outlived the server"
