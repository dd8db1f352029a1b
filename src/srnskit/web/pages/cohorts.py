"""Whole cohorts in and out: the import and export pages.

    GET  /import            the upload form (an .xlsx workbook or a .zip of a cohort folder)
    POST /import            the preview: every problem and what would change (nothing written)
    POST /import/commit     write the previewed upload, all or nothing → the result page
    GET  /export            the form (canonical or de-identified; csv or parquet)
    GET  /export/download   the .zip (the tables at its root)

The upload is unpacked as ``POST /api/v1/imports`` unpacks it (``web.api.cohorts.unpack_upload``)
into a private folder kept for the commit (named by a random token the preview hands back,
bound to the user and centre; gone after the commit or ``PENDING_HOURS`` hours), and read by
``registry.imports.import_cohort``, the command line's and the API's import.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile

from srnskit.registry import imports
from srnskit.registry.access import require
from srnskit.registry.errors import NotFoundError
from srnskit.web.api.cohorts import export_zip_answer, unpack_upload
from srnskit.web.pages.common import PageRoute, PageUnit, form_text, render

__all__ = [
    "PENDING_HOURS",
    "export_download",
    "export_form",
    "import_commit",
    "import_form",
    "import_preview",
    "router",
]

# An upload previewed and not committed is deleted after this many hours.
PENDING_HOURS = 2
_PREFIX = "srnskit-pending-"

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _pending_root() -> Path:
    return Path(tempfile.gettempdir())


def _forget_old() -> None:
    limit = time.time() - PENDING_HOURS * 3600
    for folder in _pending_root().glob(_PREFIX + "*"):
        if folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)


def _centers(unit: Any) -> list[str]:
    return sorted(unit.actor.centers)


@router.get("/import")
def import_form(request: Request, unit: PageUnit) -> Response:
    """The upload form."""
    require(unit.actor, "import")
    return render(request, "import.html", centers=_centers(unit), center="", result=None)


@router.post("/import")
async def import_preview(request: Request, unit: PageUnit) -> Response:
    """Validate the upload into the chosen centre and preview its changes."""
    session, actor, today = unit
    form = await request.form()
    center = form_text(form, "center").strip()
    require(actor, "import", center or None)
    upload = form.get("file")
    if not center or not isinstance(upload, UploadFile) or not upload.filename:
        return render(
            request,
            "import.html",
            422,
            centers=_centers(unit),
            center=center,
            result=None,
            missing="choose a centre and a file",
        )
    _forget_old()
    token = secrets.token_urlsafe(18)
    folder = _pending_root() / (_PREFIX + token)
    folder.mkdir(mode=0o700)
    try:
        path = unpack_upload(upload.filename, upload.file, folder)
        result = imports.import_cohort(session, actor, path, center=center, today=today)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    owner = {"user": actor.name, "center": center, "path": str(path), "name": upload.filename}
    (folder / "pending.json").write_text(json.dumps(owner), encoding="utf-8")
    if not result.valid:
        shutil.rmtree(folder, ignore_errors=True)
    return render(
        request,
        "import.html",
        200 if result.valid else 422,
        centers=_centers(unit),
        center=center,
        result=result,
        token=token if result.valid else "",
        name=upload.filename,
    )


@router.post("/import/commit")
async def import_commit(request: Request, unit: PageUnit) -> Response:
    """Write the previewed upload (validated again, all or nothing)."""
    session, actor, today = unit
    require(actor, "import")
    form = await request.form()
    token = form_text(form, "token")
    folder = _pending_root() / (_PREFIX + token)
    meta = folder / "pending.json"
    if not token.replace("-", "").replace("_", "").isalnum() or not meta.is_file():
        raise NotFoundError("no such upload waiting (it may be older than two hours): upload again")
    owner = json.loads(meta.read_text(encoding="utf-8"))
    if owner["user"] != actor.name:
        raise NotFoundError("no such upload waiting: upload again")
    try:
        result = imports.import_cohort(
            session, actor, Path(owner["path"]), center=owner["center"], today=today, commit=True
        )
        if result.valid:
            session.commit()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return render(
        request,
        "import.html",
        200 if result.valid else 422,
        centers=_centers(unit),
        center=owner["center"],
        result=result,
        token="",
        name=owner["name"],
        committed=result.valid,
    )


@router.get("/export")
def export_form(request: Request, unit: PageUnit) -> Response:
    """The export form."""
    require(unit.actor, "export")
    return render(request, "export.html")


@router.get("/export/download")
def export_download(
    unit: PageUnit, deidentify: bool = False, format: Literal["csv", "parquet"] = "csv"
) -> Response:
    """The canonical cohort of the user's centres as a .zip, as ``GET /api/v1/export``."""
    return export_zip_answer(unit.session, unit.actor, deidentify=deidentify, fmt=format)
