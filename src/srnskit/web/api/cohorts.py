"""Whole cohorts and the audit (registry.md §3): imports, the export, the report, the audit.

    POST /imports?center=C&commit=false   multipart ``file``: an .xlsx workbook or a .zip of a
                                          cohort folder; 200 {valid, problems, preview};
                                          commit=true writes all or nothing (422 if invalid)
    GET  /export?deidentify=&format=csv   200 a .zip of the user's centres' cohort
    GET  /report?definitions=kdigo2021    200 the study report (HTML) of the user's centres
    GET  /audit?table=&record=            200 the audit entries (admins, their centres')

An uploaded zip is unpacked into a private temporary folder: only plain files, no path outside
it, at most ``MAX_UNPACKED_BYTES`` in all (a zip bomb stops there).
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from srnskit.definitions.model import load_definitions
from srnskit.errors import InvalidInputError
from srnskit.outputs.report.build import build_report
from srnskit.registry import audit, export, imports
from srnskit.registry.access import Actor, require
from srnskit.registry.derived import DERIVED_STUDY
from srnskit.studies import load_study
from srnskit.web.api.app import Unit, unit_of
from srnskit.web.api.models import ImportAnswer, Problems

__all__ = [
    "MAX_UNPACKED_BYTES",
    "REPORT_CSP",
    "UploadError",
    "add_routes",
    "export_zip_answer",
    "unpack_upload",
]

# An uploaded cohort zip may unpack to at most 4 GiB (20,000 synthetic children are ~1 GB).
MAX_UNPACKED_BYTES = 4 << 30
_CHUNK = 1 << 20
# The report carries its scripts and styles inline (the Vega bundle included): nothing external.
REPORT_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

UnitDep = Annotated[Unit, Depends(unit_of)]


class UploadError(InvalidInputError):
    """An upload that is no workbook or cohort zip (422)."""


def _copy(source: Any, target: Path, budget: int) -> int:
    written = 0
    with target.open("wb") as out:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > budget:
                raise UploadError(
                    f"the zip unpacks to more than {MAX_UNPACKED_BYTES >> 30} GiB; "
                    "import the cohort from the command line"
                )
            out.write(chunk)
    return written


def unpack_upload(name: str, stream: Any, folder: Path) -> Path:
    """Save the uploaded file ``name`` (an ``.xlsx`` workbook, or a ``.zip`` with a cohort's
    tables at its root) from the binary ``stream`` into ``folder``; returns the cohort's path.
    Raises ``UploadError`` for another kind of file, a broken zip, a member path outside the
    folder or a zip unpacking to more than ``MAX_UNPACKED_BYTES``."""
    suffix = PurePosixPath(name or "").suffix.lower()
    if suffix == ".xlsx":
        target = folder / "cohort.xlsx"
        _copy(stream, target, MAX_UNPACKED_BYTES)
        return target
    if suffix != ".zip":
        raise UploadError(
            f"{name or 'the file'}: send an .xlsx workbook or a .zip of a cohort folder"
        )
    archive_path = folder / "upload.zip"
    _copy(stream, archive_path, MAX_UNPACKED_BYTES)
    cohort = folder / "cohort"
    cohort.mkdir()
    budget = MAX_UNPACKED_BYTES
    try:
        with zipfile.ZipFile(archive_path) as archive:
            for member in archive.infolist():
                if member.is_dir() or member.filename.startswith("__MACOSX/"):
                    continue
                parts = PurePosixPath(member.filename).parts
                if len(parts) != 1 or parts[0] in ("..", ".") or "\\" in parts[0]:
                    raise UploadError(
                        f"{member.filename}: the zip holds the tables at its root (no folders)"
                    )
                with archive.open(member) as source:
                    budget -= _copy(source, cohort / parts[0], budget)
    except zipfile.BadZipFile as exc:
        raise UploadError(f"{name}: not a readable zip ({exc})") from None
    archive_path.unlink()
    return cohort


def export_zip_answer(
    session: Session, actor: Actor, *, deidentify: bool, fmt: Literal["csv", "parquet"]
) -> Response:
    """The canonical cohort of ``actor``'s centres as a .zip answer (tables at its root), as
    ``GET /export`` and the export page send it; commits the de-identification's drawn secret
    and offsets. Raises ``ForbiddenError`` unless the role may export."""
    tables = export.export_tables(session, actor, deidentify=deidentify)
    folder = Path(tempfile.mkdtemp(prefix="srnskit-export-"))
    try:
        export.write_export(tables, folder / "cohort", fmt=fmt, force=True)
        archive = folder / "cohort.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
            for item in sorted((folder / "cohort").iterdir()):
                out.write(item, item.name)
        content = archive.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if deidentify:
        session.commit()  # the pseudonym key and new children's offsets, drawn once
    name = "registry-deidentified.zip" if deidentify else "registry.zip"
    return Response(
        content,
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def add_routes(router: APIRouter) -> None:
    """Register the routes of imports, the export, the report and the audit on ``router``."""

    @router.post(
        "/imports",
        response_model=ImportAnswer,
        responses={422: {"model": Problems, "description": "commit=true and invalid"}},
        tags=["cohorts"],
    )
    def import_file(
        unit: UnitDep,
        center: Annotated[str, Query(description="the centre the cohort is imported into")],
        file: Annotated[UploadFile, File(description="an .xlsx workbook or a .zip")],
        commit: Annotated[bool, Query(description="write (all or nothing)")] = False,
    ) -> JSONResponse:
        """Validate an uploaded cohort and preview its changes; with commit=true write it."""
        session, actor, today = unit
        require(actor, "import", center)
        folder = Path(tempfile.mkdtemp(prefix="srnskit-upload-"))
        try:
            path = unpack_upload(file.filename or "", file.file, folder)
            result = imports.import_cohort(
                session, actor, path, center=center, today=today, commit=commit
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        answer = result.to_dict()
        if commit and not result.valid:
            return JSONResponse({"problems": answer["problems"]}, status_code=422)
        if commit:
            session.commit()
        return JSONResponse(answer)

    @router.get(
        "/export",
        response_class=Response,
        responses={200: {"content": {"application/zip": {}}}},
        tags=["cohorts"],
    )
    def export_zip(
        unit: UnitDep,
        deidentify: bool = False,
        format: Literal["csv", "parquet"] = "csv",
    ) -> Response:
        """The canonical cohort of the user's centres as a .zip (tables at its root)."""
        session, actor, _ = unit
        return export_zip_answer(session, actor, deidentify=deidentify, fmt=format)

    @router.get("/report", response_class=HTMLResponse, tags=["cohorts"])
    def report(
        unit: UnitDep,
        definitions: Annotated[str, Query(description="a shipped definition set")] = "kdigo2021",
    ) -> HTMLResponse:
        """The study report (HTML) of the user's centres' children."""
        session, actor, today = unit
        require(actor, "report")
        chosen = load_definitions(definitions)
        with export.visible_cohort(session, actor, today=today) as cohort:
            built = build_report(
                cohort, chosen, study=load_study(DERIVED_STUDY), today=today, parallel=False
            )
        return HTMLResponse(built.html, headers={"content-security-policy": REPORT_CSP})

    @router.get("/audit", tags=["audit"])
    def read_audit(
        unit: UnitDep,
        table: str | None = None,
        record: str | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> JSONResponse:
        """The audit entries of the admin's centres, newest first."""
        session, actor, _ = unit
        entries = audit.read_entries(
            session, actor, table=table, record=record, limit=limit, offset=offset
        )
        return JSONResponse(entries)
