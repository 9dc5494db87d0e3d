"""Who may write, and which web pages may read: the credentials of a writable endpoint and its CORS policy.

    >>> access = Access(password="s3cret", cors=["*"])                      # doctest: +SKIP
    >>> access.check_write(headers, host="127.0.0.1:7878")                  # doctest: +SKIP

Writes (SPARQL updates) need the password, as HTTP Basic (user ``admin``) or ``Authorization: Bearer``; it is
compared in constant time. A write must also come from the server's own origin: a browser says where a request
comes from (``Origin``, ``Sec-Fetch-Site``), and a form that a page elsewhere submits, the request a browser sends
cross-site without asking, is refused whatever credentials the browser attaches to it. Write answers never carry
``Access-Control-Allow-Origin``; read answers carry it for the origins configured (``*`` by default).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import os

from .protocol import ProtocolError

PASSWORD_ENV = "PFOCR_RDF_SERVE_PASSWORD"
USER = "admin"
_REALM = 'Basic realm="pfocr-rdf", charset="UTF-8", Bearer realm="pfocr-rdf"'
_EXPOSED = "Content-Type, Content-Length, Allow, Retry-After"


class PasswordError(ValueError):
    """No usable password for a writable endpoint."""


def read_password(path: str | None) -> str:
    """The password of a writable endpoint: the first line of ``path``, or ``$PFOCR_RDF_SERVE_PASSWORD``."""
    if path is not None:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as err:
            raise PasswordError(f"--password-file {path}: {getattr(err, 'strerror', None) or err}") from None
        if not text:
            raise PasswordError(f"--password-file {path}: the first line is empty")
        return text
    text = os.environ.get(PASSWORD_ENV, "")
    if not text:
        raise PasswordError(f"--writable needs a password: set {PASSWORD_ENV} or give --password-file FILE")
    return text


def loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cors_origins(values: list[str] | tuple[str, ...]) -> list[str]:
    """``--cors-origin`` values, repeated or comma-separated, as a list (``*``: any)."""
    found = [v.strip().rstrip("/") for value in values for v in value.split(",") if v.strip()]
    for origin in found:
        if origin != "*" and "://" not in origin:
            raise ValueError(f"--cors-origin {origin!r}: give an origin such as https://example.org, or *")
    return list(dict.fromkeys(found)) or ["*"]


class Access:
    """The password (None: the endpoint takes no writes) and the origins that may read from a browser."""

    def __init__(self, password: str | None = None, cors: list[str] | None = None) -> None:
        self.password = password.encode("utf-8") if password is not None else None
        self.cors = cors if cors is not None else ["*"]

    def read_headers(self, origin: str | None) -> dict[str, str]:
        """CORS headers of a read answer to a request from ``origin``."""
        if "*" in self.cors:
            return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": _EXPOSED}
        if origin is not None and origin.rstrip("/") in self.cors:
            return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": _EXPOSED}
        return {}

    @property
    def varies_by_origin(self) -> bool:
        return "*" not in self.cors

    def check_write(self, headers: dict[str, str], host: str) -> None:
        """Refuse a write from another origin (403) or without the password (401). ``headers``: lower-case names."""
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, host):
            raise ProtocolError(403, f"updates are not accepted from another origin ({origin[:200]}); send them "
                                     "from this server's own pages or from a client that sends no Origin")
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            raise ProtocolError(403, f"updates are not accepted from a {site[:40]} request")
        if self.password is None:
            raise ProtocolError(401, "this endpoint has no password for updates", {"WWW-Authenticate": _REALM})
        if not self._authorised(headers.get("authorization", "")):
            raise ProtocolError(401, "updates need credentials: HTTP Basic (user admin) or Authorization: Bearer "
                                     "with the endpoint's password", {"WWW-Authenticate": _REALM})

    def _authorised(self, header: str) -> bool:
        assert self.password is not None
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return hmac.compare_digest(value.encode("utf-8"), self.password)
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        same_user = hmac.compare_digest(user, USER.encode("ascii"))
        return bool(sep) & same_user & hmac.compare_digest(password, self.password)


def _same_origin(origin: str, host: str) -> bool:
    """``origin`` is this server as the client addressed it (either scheme: a TLS proxy may stand in front)."""
    scheme, sep, rest = origin.strip().lower().partition("://")
    return bool(sep) and scheme in ("http", "https") and rest.rstrip("/") == host.strip().lower()
