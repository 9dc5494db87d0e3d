"""Who may write to the endpoint and which pages may read it, on ``pfocr-rdf serve`` as users run it: the password
of ``--writable``, writes refused from other origins (the cross-site form of the issue), CORS on reads, the
command line's refusals, the service description's ``Vary``, links in the pages, and ``publish`` keeping a password
written into a URL out of what it prints.
"""

from __future__ import annotations

import base64
import os
import subprocess
from urllib.parse import quote, urlencode

import pytest

from _server_support import BASIC, BEARER, EXAMPLES, PASSWORD, ROOT, build_store, cli_command, start_cli_server

UPDATE = {"Content-Type": "application/sparql-update"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NAMES = "SELECT (COUNT(*) AS ?n) WHERE { ?s <https://schema.org/name> ?o }"
INSERT = 'INSERT DATA { <http://example.org/s> <http://example.org/p> "written" }'
WRITTEN = 'ASK { <http://example.org/s> <http://example.org/p> "written" }'


@pytest.fixture(scope="module")
def writable(tmp_path_factory):
    running = start_cli_server(build_store(tmp_path_factory.mktemp("security") / "store"), "--writable",
                               password=PASSWORD)
    running.headers = {}  # each test says which credentials it sends
    yield running
    running.stop()


def names(running) -> int:
    response = running.request("GET", "/sparql?query=" + quote(NAMES), headers={"Accept": "application/json"})
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def written(running) -> bool:
    return running.request("GET", "/sparql?query=" + quote(WRITTEN), headers={"Accept": "application/json"}
                           ).json()["boolean"]


def test_updates_need_the_password(writable):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + base64.b64encode(
            f"root:{PASSWORD}".encode()).decode()}, {"Authorization": "Basic !!"}, {"Authorization": PASSWORD}):
        for body, kind in ((INSERT, UPDATE), (urlencode({"update": INSERT}), FORM)):
            response = writable.request("POST", "/sparql", body, {**kind, **headers})
            assert response.status == 401, (headers, response.body)
            assert response.headers["www-authenticate"].startswith("Basic realm=")
            assert "access-control-allow-origin" not in response.headers
    assert not written(writable)
    for credentials in (BASIC, BEARER):
        response = writable.request("POST", "/sparql", INSERT, {**UPDATE, **credentials})
        assert response.status == 204, response.body
        assert "access-control-allow-origin" not in response.headers
    assert written(writable)
    assert writable.request("POST", "/sparql", urlencode({"update": f"DELETE {INSERT[len('INSERT '):]}"}),
                            {**FORM, **BASIC}).status == 204
    assert not written(writable)


def test_a_cross_site_write_is_refused_whatever_credentials_it_carries(writable):
    """The issue's attack: a page elsewhere submits a form that deletes every schema:name. A browser may attach
    the Basic credentials it holds for the endpoint; the Origin it sends gives the form away."""
    before = names(writable)
    assert before > 0
    delete = urlencode({"update": "DELETE WHERE { ?s <https://schema.org/name> ?o }"})
    for origin in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                   {"Origin": f"http://{writable.host}:{writable.port + 1}"}):
        response = writable.request("POST", "/sparql", delete, {**FORM, **BASIC, **origin})
        assert response.status == 403, (origin, response.body)
        assert "access-control-allow-origin" not in response.headers
    assert names(writable) == before
    own = {"Origin": f"http://{writable.host}:{writable.port}", "Sec-Fetch-Site": "same-origin"}
    assert writable.request("POST", "/sparql", INSERT, {**UPDATE, **BEARER, **own}).status == 204
    assert writable.request("POST", "/sparql", f"DELETE {INSERT[len('INSERT '):]}",
                            {**UPDATE, **BEARER, **own}).status == 204


def test_reads_stay_open_to_any_origin_by_default(writable):
    response = writable.request("GET", "/sparql?query=" + quote(NAMES), headers={"Origin": "http://evil.example"})
    assert response.status == 200 and response.headers["access-control-allow-origin"] == "*"
    preflight = writable.request("OPTIONS", "/sparql", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-headers"].lower() == "content-type"  # no credentials invited
    assert "access-control-allow-origin" not in writable.request("POST", "/sparql", INSERT, UPDATE).headers


def test_cors_on_reads_is_configurable(tmp_path):
    running = start_cli_server(build_store(tmp_path / "store"), "--cors-origin", "https://a.example,https://b.example",
                               "--cors-origin", "https://c.example")
    try:
        for origin in ("https://a.example", "https://c.example"):
            response = running.request("GET", "/sparql?query=" + quote(NAMES), headers={"Origin": origin})
            assert response.headers["access-control-allow-origin"] == origin
            assert "Origin" in response.headers["vary"]
        other = running.request("GET", "/sparql?query=" + quote(NAMES), headers={"Origin": "https://d.example"})
        assert other.status == 200 and "access-control-allow-origin" not in other.headers
    finally:
        running.stop()


def serve(store, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "PFOCR_RDF_SERVE_PASSWORD"}
    return subprocess.run([*cli_command(), "serve", "--store", str(store), "--port", "0", *args], cwd=ROOT,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout, check=False,
                          env={**environment, **(env or {})})


def test_the_command_line_refuses_unsafe_writable_servers(tmp_path):
    store = build_store(tmp_path / "store")
    password = {"PFOCR_RDF_SERVE_PASSWORD": PASSWORD}
    cases = [
        ((), None, "PFOCR_RDF_SERVE_PASSWORD"),  # no password at all
        (("--password-file", str(tmp_path / "missing")), None, "missing"),
        (("--host", "0.0.0.0"), password, "--expose-writable"),  # refused before anything listens
        (("--host", "192.0.2.1", "--expose-writable"), password, "cannot listen on 192.0.2.1"),
    ]
    for args, env, message in cases:
        done = serve(store, "--writable", *args, env=env)
        errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
        assert done.returncode == 2 and len(errors) == 1 and message in errors[0], done.stderr
        assert "Traceback" not in done.stderr
    exposed = serve(store, "--writable", "--host", "192.0.2.1", "--expose-writable", env=password)
    assert "warning: --writable on 192.0.2.1" in exposed.stderr  # said before it tried to listen
    given = serve(store, "--writable", "--password", PASSWORD)  # never on the command line
    assert given.returncode == 2 and "No such option" in given.stderr


def test_the_password_may_come_from_a_file(tmp_path):
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    running = start_cli_server(build_store(tmp_path / "store"), "--writable", "--password-file", str(secret))
    try:
        assert running.request("POST", "/sparql", INSERT, {**UPDATE, **BASIC}).status == 204
        assert running.request("POST", "/sparql", INSERT, UPDATE).status == 401
    finally:
        running.stop()


def test_service_description_varies_by_host_and_pages_link_only_web_iris(writable):
    response = writable.request("GET", "/sparql", headers={"Host": "example.org"})
    assert {v.strip() for v in response.headers["vary"].split(",")} >= {"Accept", "Host"}
    assert b"<http://example.org/sparql>" in response.body
    page = writable.request("GET", "/figures?mentions=" + quote("javascript:alert(document.domain)"))
    assert page.status == 200
    assert b"javascript:alert" in page.body and b'href="javascript' not in page.body.lower()


def test_publish_never_prints_a_password_written_into_the_url(tmp_path):
    running = start_cli_server(build_store(tmp_path / "store"), "--writable", password=PASSWORD)
    try:
        url = f"http://admin:{quote(PASSWORD)}@{running.host}:{running.port}/sparql"
        done = subprocess.run([*cli_command(), "publish", str(EXAMPLES), "--endpoint", url, "--protocol", "update",
                               "--update-endpoint", url, "--query-endpoint", url], cwd=ROOT, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert "published" in done.stdout and "***@" in done.stdout
        assert quote(PASSWORD) not in done.stdout + done.stderr and PASSWORD not in done.stdout + done.stderr
    finally:
        running.stop()
    gone = subprocess.run([*cli_command(), "publish", str(EXAMPLES), "--endpoint",
                           "http://bob:SECRET@127.0.0.1:9/store", "--retries", "0"], cwd=ROOT, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120, check=False)
    assert gone.returncode == 1 and "SECRET" not in gone.stdout + gone.stderr, gone.stderr
    assert "Error:" in gone.stderr and "bob" not in gone.stderr
