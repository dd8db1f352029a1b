"""The pages' own files: ``GET /static/{name}`` for the files of ``srnskit/web/static`` (the
style sheet, htmx vendored from its npm package, its licence). Public (the login page uses
them); a name with a folder in it or not shipped answers 404."""

from __future__ import annotations

import functools
from importlib import resources

from fastapi import APIRouter, HTTPException, Response

__all__ = ["CONTENT_TYPES", "router", "static", "static_file"]

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".LICENSE": "text/plain; charset=utf-8",
}

router = APIRouter(include_in_schema=False)


@functools.cache
def static_file(name: str) -> bytes | None:
    """The bytes of the shipped static file ``name``, or None (no such file, or a path)."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    item = resources.files("srnskit.web").joinpath("static", name)
    return item.read_bytes() if item.is_file() else None


@router.get("/static/{name}")
def static(name: str) -> Response:
    """A shipped static file, cached by the browser for a day."""
    content = static_file(name)
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    if content is None or suffix not in CONTENT_TYPES:
        raise HTTPException(404, f"no static file {name}")
    return Response(
        content,
        media_type=CONTENT_TYPES[suffix],
        headers={"cache-control": "public, max-age=86400"},
    )
