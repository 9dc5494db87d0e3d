"""Talking to a triplestore: its services (from ``data/triplestores.json`` or given), one HTTP client with
retries, the errors a publish can end with, its report, and user-info redaction in every message."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

import requests

from ..store.derived import DERIVED_GRAPHS

if TYPE_CHECKING:
    from ..pipeline.convert import Issue


Protocol = Literal["gsp", "update"]
StoreKind = Literal["auto", "sparql", "virtuoso"]
STORE_KINDS = ("auto", "sparql", "virtuoso")
# Triples per request. Virtuoso takes at most 4,990 triples in one INSERT DATA block and 10 MB in one request.
BATCH_SIZE = {"gsp": 50_000, "update": 4_000}
MAX_BATCH_BYTES = 8 << 20
JOBS = 3  # requests at once: the fastest on 2 cores into Virtuoso and Oxigraph (docs/triplestores.md)
GRACE = 5.0  # seconds a replaced Virtuoso version stays, for the queries that started on it
_RETRY_STATUS = {429, 500, 502, 503, 504}


_USER_INFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]*@")


def redact(text: str) -> str:
    """``text`` with the user-info (``user:password@``) of every URL in it replaced by ``***@``."""
    return _USER_INFO.sub(r"\1***@", text)


class PublishError(Exception):
    """Publishing failed; the target graph is unchanged (or, with ``append``, holds the batches sent so far).
    Its message never holds a password written into a URL."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


@dataclass
class PublishReport:
    """What a publish did."""

    endpoint: str
    graph: str
    protocol: str
    triples: int = 0  # sent to the data graph
    statistics: int = 0  # precomputed triples sent to the derived graphs
    batches: int = 0
    retries: int = 0
    counted: int | None = None  # triples in the target graph afterwards, by a COUNT query
    inputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rejected: list[Issue] = field(default_factory=list)  # records that could not be converted, when records were given
    sent_graphs: set[str] = field(default_factory=set)  # the precomputed graphs that received triples
    kind: str = "sparql"  # how the graph was replaced: sparql (staging graph and MOVE) or virtuoso (versions)
    version: str | None = None  # Virtuoso: the graph the published IRI now stands for

    @property
    def verified(self) -> bool:
        return self.counted == self.triples

    def summary(self) -> str:
        check = ("the store holds exactly that" if self.verified
                 else f"the store holds {self.counted}" if self.counted is not None else "not counted")
        return redact(f"published {self.triples} triples into <{self.graph}> and {self.statistics} precomputed "
                      f"triples into {len(DERIVED_GRAPHS)} graphs at {self.endpoint} ({self.protocol}, {self.batches} "
                      f"batches, {self.retries} retries, {self.seconds:.1f} s); {check}")


def _layouts() -> list[dict[str, Any]]:
    text = resources.files("converter.data").joinpath("triplestores.json").read_text("utf-8")
    stores: list[dict[str, Any]] = json.loads(text)["stores"]
    return stores


def _layout(endpoint: str, protocol: Protocol) -> tuple[dict[str, Any] | None, str]:
    """The known store layout ``endpoint`` belongs to, and the endpoint's base path."""
    path = urlsplit(endpoint).path.rstrip("/")
    for store in _layouts():
        suffix = store[protocol]
        if suffix and path.endswith(suffix):
            return store, path[: -len(suffix)]
    return None, path


def services(endpoint: str, protocol: Protocol) -> tuple[str | None, str | None]:
    """The (update, query) service URLs of the store behind ``endpoint``, when its layout is known."""
    store, base = _layout(endpoint, protocol)
    if store is None:
        return None, None
    parts = urlsplit(endpoint)
    update, query = (urlunsplit(parts._replace(path=base + store[s], query="")) for s in ("update", "query"))
    return update, query


_COUNTER_LOCK = threading.Lock()
# The schemes _Client answers a challenge with. Their credentials are (user, password); a password not given goes
# as None, which requests sends as the text "None" (its annotations ask for text)
_Auth = requests.auth.HTTPBasicAuth | requests.auth.HTTPDigestAuth


class _Client:
    """HTTP with retries and backoff on transient failures; every other failure is a :class:`PublishError`."""

    def __init__(self, user: str | None, password: str | None, retries: int, backoff: float, timeout: float,
                 counter: list[int] | None = None):
        self.session = requests.Session()
        self.credentials = (user, password) if user is not None else None
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self._counter = counter if counter is not None else [0]  # shared by the forks: one figure for the report

    @property
    def retried(self) -> int:
        return self._counter[0]

    def fork(self) -> _Client:
        """A client of its own for another thread (a session is not to be shared), counting retries with this one."""
        twin = _Client(None, None, self.retries, self.backoff, self.timeout, self._counter)
        twin.credentials = self.credentials
        if self.session.auth is not None:
            twin.session.auth = type(cast("_Auth", self.session.auth))(*cast("tuple[str, str]", self.credentials))
        return twin

    def request(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as err:
                if last:
                    raise PublishError(f"{what}: {url} is unreachable ({type(err).__name__}) after "
                                       f"{self.retries + 1} attempts") from None
            else:
                if response.status_code == 401:
                    response = self._authenticate(response, method, url, what, **kwargs)
                if response.status_code < 400:
                    return response
                if response.status_code in (401, 403):
                    raise PublishError(f"{what}: {url} refused the credentials (HTTP {response.status_code}); "
                                       "check --user and --password")
                if response.status_code not in _RETRY_STATUS or last or _final(response):
                    raise PublishError(f"{what}: {url} answered HTTP {response.status_code}: "
                                       f"{_excerpt(response.text)}")
            with _COUNTER_LOCK:
                self._counter[0] += 1
            time.sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    def _authenticate(self, response: requests.Response, method: str, url: str, what: str,
                      **kwargs: Any) -> requests.Response:
        """Answers a 401 challenge with the scheme the server asks for (Virtuoso: digest; Fuseki: basic)."""
        if self.credentials is None:
            raise PublishError(f"{what}: {url} needs credentials (HTTP 401); give --user and --password")
        if self.session.auth is not None:
            return response
        challenge = response.headers.get("WWW-Authenticate", "")
        digest = challenge.lower().startswith("digest")
        self.session.auth = (requests.auth.HTTPDigestAuth if digest else requests.auth.HTTPBasicAuth)(
            *cast("tuple[str, str]", self.credentials))
        return self.session.request(method, url, timeout=self.timeout, **kwargs)


# Virtuoso answers 500 to errors that another try cannot mend: a request cut off by its time limit (SR171), a
# transaction log overflow (SR325), SQL or SPARQL errors (37000, 42000, 22023). Its deadlocks (SR172) are worth one.
_FINAL = re.compile(r"\b(SR171|SR325|SR185|SR186|SP031|SQ\d{3}|37000|42000|22023|PFOCR)\b")


def _final(response: requests.Response) -> bool:
    return response.status_code == 500 and bool(_FINAL.search(response.text[:2000]))


def _excerpt(text: str, size: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[:size] + "..."
