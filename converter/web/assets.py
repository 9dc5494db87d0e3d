"""The files the pages load (styles, scripts, the vendored editor and charts), their content security policy, and
data handed to scripts."""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from markupsafe import Markup

from .terms import IMAGE_HOSTS


def _data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("converter.data").joinpath(name).read_text(encoding="utf-8"))
    return data


def static_files() -> dict[str, tuple[bytes, str]]:
    """The files served under ``/static/``: name -> (content, media type). Only files present at start are served,
    so a request path never reaches the file system."""
    types = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "svg": "image/svg+xml",
             "png": "image/png"}
    root = resources.files("converter") / "static"
    files: dict[str, tuple[bytes, str]] = {}

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            media = types.get(entry.name.rsplit(".", 1)[-1])
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif media is not None:
                files[prefix + entry.name] = (entry.read_bytes(), media)

    if root.is_dir():
        walk(root, "")
    return files


def script_json(value: object) -> Markup:
    """JSON safe inside a ``<script>`` element: no ``</script>``, no HTML comment, no ``&`` entity can form."""
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def content_security_policy() -> str:
    """The policy every page is sent with: everything from this server, and the figure images from PMC."""
    return ("default-src 'self'; img-src 'self' data: " + " ".join(IMAGE_HOSTS) + "; style-src 'self' "
            "'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
