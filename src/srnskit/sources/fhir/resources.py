"""FHIR resources from a Bundle or a Bulk Data folder, each validated with ``fhir.resources``.

A Bundle (any ``Bundle.type``: collection, transaction, batch, searchset, …) is one JSON file;
a Bulk Data export (FHIR Bulk Data Access IG, ``$export``) is a folder of NDJSON files, one
resource a line, named by resource type (``Patient.ndjson``, ``Observation.000.ndjson``). Every
resource is validated against the R4B models of ``fhir.resources`` (``fhir.resources.R4B``: its
pydantic-2 releases ship no R4 4.0.1; R4B's models of the resources srnskit reads are R4's,
docs/decisions.md). A resource that fails validation is a problem naming its type, id and
element (``FHIR Observation 'obs-9': effectiveDateTime: …``); a resource of a type R4B does not
know is listed as skipped.

    found = read_resources(path, rows)     # rows: SourceRows, for problems and skipped records
    found.resources                        # [Resource(type, id, data, full_url, where), …]
    found.resolve(reference, context)      # the Resource a Reference points at, or None
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from srnskit.errors import UsageError
from srnskit.sources.fhir.mapping import fhir_mapping
from srnskit.sources.interchange import SourceRows

__all__ = ["FoundResources", "Resource", "read_resources"]

# A Bulk Data file compressed with gzip (RFC 1952) as servers and their clients often store them
# (the IG serves NDJSON with Content-Encoding gzip; saved, the files keep the .gz suffix).
_GZIP = ".gz"

# fhir.resources' (pydantic's) messages for a decimal or integer element holding text that is
# not a number (FHIR R4 §2.1.28.0.1 decimal, integer: their regular expressions).
_NOT_A_NUMBER = frozenset(
    {
        "Decimal value string does not match spec regex.",
        "Input should be a valid decimal",
        "Input should be a valid integer, unable to parse string as an integer",
        "Input should be a valid number, unable to parse string as a number",
    }
)

# The element paths of a validation error are shown without pydantic's "Value error, " prefix.
_VALUE_ERROR = "Value error, "
# At most this many characters of a bad value are shown in a message (never for a Patient, whose
# elements are identifiers: its name, address, telecom).
_SHOWN_VALUE = 40


@dataclass(frozen=True)
class Resource:
    """One FHIR resource as read (its JSON, decimals as ``Decimal``): ``type`` is its
    resourceType, ``id`` its logical id (None when it has none, as a transaction's new
    resources may), ``full_url`` its Bundle entry's fullUrl, ``where`` its place in the input
    (``entry 3``, ``Observation.000.ndjson line 7``)."""

    type: str
    id: str | None
    data: Mapping[str, Any]
    full_url: str | None
    where: str

    @property
    def origin(self) -> str:
        """How problems and skipped records name it: ``FHIR Observation 'obs-7'``."""
        if self.id is not None:
            return f"FHIR {self.type} '{self.id}'"
        return f"FHIR {self.type} ({self.where})"

    def get(self, element: str) -> Any:
        """The value of a top-level element, or None."""
        return self.data.get(element)


@dataclass
class FoundResources:
    """The valid resources of an input, in input order, and what references resolve to."""

    resources: list[Resource] = field(default_factory=list)
    # The entries of a Bulk Data folder not read (not NDJSON nor gzipped NDJSON), by name.
    not_read: list[str] = field(default_factory=list)
    by_key: dict[str, Resource] = field(default_factory=dict)
    by_url: dict[str, Resource] = field(default_factory=dict)

    def add(self, resource: Resource) -> None:
        self.resources.append(resource)
        if resource.id is not None:
            self.by_key[f"{resource.type}/{resource.id}"] = resource
        if resource.full_url:
            self.by_url[resource.full_url] = resource

    def of_type(self, *types: str) -> Iterator[Resource]:
        """The resources of these types, in input order."""
        return (r for r in self.resources if r.type in types)

    def resolve(self, reference: Any, context: Resource | None = None) -> Resource | None:
        """The resource a Reference (``{"reference": …}``) points at: ``#id`` in ``context``'s
        contained resources, a fullUrl (``urn:uuid:…``, an absolute URL), or ``Type/id``
        (relative, or the tail of an absolute URL, a ``/_history/N`` version dropped). None when
        it is not in the input."""
        if not isinstance(reference, Mapping):
            return None
        text = reference.get("reference")
        if not isinstance(text, str) or not text:
            return None
        if text.startswith("#"):
            return _contained(context, text[1:]) if context is not None else None
        if text in self.by_url:
            return self.by_url[text]
        parts = text.split("/")
        if len(parts) >= 4 and parts[-2] == "_history":
            parts = parts[:-2]
        if len(parts) >= 2:
            return self.by_key.get(f"{parts[-2]}/{parts[-1]}")
        return None


def _contained(context: Resource, local_id: str) -> Resource | None:
    for item in context.get("contained") or ():
        if isinstance(item, Mapping) and item.get("id") == local_id:
            kind = str(item.get("resourceType"))
            return Resource(kind, local_id, item, None, f"contained in {context.origin}")
    return None


def read_resources(path: Path, rows: SourceRows) -> FoundResources:
    """The valid resources of the Bundle file or Bulk Data folder at ``path``.

    Problems (a file that is not JSON, a Bundle that is not one, a resource that fails
    validation, one id given to two different resources) go to ``rows.problem``; an entry with
    no resource, a searchset's outcome entry, a resource type R4B does not know and an
    identical repeat go to ``rows.skip``. A folder's ``.ndjson`` and ``.ndjson.gz`` (gzip)
    files are read; the names of its other entries are in ``not_read``. Raises ``UsageError``
    when ``path`` is neither a file nor a folder holding such files.
    """
    found = FoundResources()
    if path.is_dir():
        suffix = fhir_mapping().input.ndjson_suffix
        files: list[Path] = []
        for entry in sorted(path.iterdir()):
            name = entry.name
            if entry.is_file() and (name.endswith(suffix) or name.endswith(suffix + _GZIP)):
                files.append(entry)
            else:
                found.not_read.append(name + ("/" if entry.is_dir() else ""))
        if not files:
            raise UsageError(
                f"{path} holds no {suffix} or {suffix}{_GZIP} file: give a Bundle (.json) or a "
                "Bulk Data export folder (Patient.ndjson, Observation.ndjson.gz, …)"
            )
        for file in files:
            for where, data in _ndjson_lines(file, rows):
                _take(found, data, None, where, rows)
        return found
    if not path.is_file():
        raise UsageError(f"{path} does not exist")
    for where, data, full_url in _bundle_entries(path, rows):
        _take(found, data, full_url, where, rows)
    return found


def _load_json(text: str) -> Any:
    # FHIR decimals keep their precision (FHIR R4 §2.1.28.0.1 "decimal"): read them as Decimal.
    return json.loads(text, parse_float=Decimal)


def _ndjson_lines(file: Path, rows: SourceRows) -> Iterator[tuple[str, Any]]:
    # Read as bytes and decoded line by line, so a line that is not UTF-8 is named by its number.
    number = 0
    try:
        with gzip.open(file, "rb") if file.name.endswith(_GZIP) else file.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                where = f"{file.name} line {number}"
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    reason = "not UTF-8 text: a FHIR JSON file is UTF-8 (FHIR R4 §2.6.2)"
                    rows.problem(f"FHIR {where}", reason)
                    continue
                if not line.strip():
                    continue
                try:
                    yield where, _load_json(line)
                except json.JSONDecodeError as exc:
                    rows.problem(f"FHIR {where}", f"not JSON ({exc.msg}, column {exc.colno})")
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        rows.problem(
            f"FHIR file {file.name}",
            f"not a readable gzip file after line {number} ({exc or type(exc).__name__})",
        )


def _bundle_entries(path: Path, rows: SourceRows) -> Iterator[tuple[str, Any, str | None]]:
    origin = f"FHIR file {path.name}"
    try:
        bundle = _load_json(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        rows.problem(origin, f"not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})")
        return
    except UnicodeDecodeError:
        rows.problem(origin, "not UTF-8 text: a FHIR JSON file is UTF-8 (FHIR R4 §2.6.2)")
        return
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        rows.problem(origin, _not_a_bundle(bundle))
        return
    kind = bundle.get("type")
    if kind not in fhir_mapping().input.bundle_types:
        rows.problem(origin, f"Bundle.type '{kind}' is not a Bundle type of FHIR R4")
        return
    entries = bundle.get("entry") or []
    # The Bundle itself, each entry without its resource: each resource is validated alone, so
    # its problems name it.
    shell = {**bundle, "entry": [_without_resource(e) for e in entries]} if entries else bundle
    if not _valid(shell, "Bundle", f"FHIR Bundle '{bundle.get('id') or path.name}'", rows):
        return
    for number, entry in enumerate(entries, start=1):
        where = f"entry {number}"
        resource = entry.get("resource")
        if resource is None:
            request = entry.get("request") or {}
            rows.skip(
                f"FHIR Bundle {where}",
                f"no resource ({request.get('method', '')} {request.get('url', '')})".replace(
                    "( )", "(an empty entry)"
                ),
            )
            continue
        mode = (entry.get("search") or {}).get("mode")
        if mode == "outcome":
            rows.skip(f"FHIR Bundle {where}", "a searchset's outcome (about the search, no data)")
            continue
        yield where, resource, entry.get("fullUrl")


def _not_a_bundle(data: Any) -> str:
    """Why a JSON file that is not a Bundle cannot be read, and what to give instead (a lone
    resource is not read as a Bundle of one: docs/decisions.md, "Interchange (issue 20)")."""
    ask = "give a Bundle (its resources in entry[].resource) or a Bulk Data folder of NDJSON"
    if isinstance(data, list):
        return f"a JSON array, not a Bundle: FHIR JSON holds one resource a file; {ask}"
    kind = data.get("resourceType") if isinstance(data, Mapping) else None
    if isinstance(kind, str) and kind:
        return f"a {kind} resource, not a Bundle: {ask}"
    return f"not a FHIR resource (no resourceType): {ask}"


def _without_resource(entry: Any) -> Any:
    if isinstance(entry, Mapping):
        return {k: v for k, v in entry.items() if k != "resource"}
    return entry


def _take(
    found: FoundResources, data: Any, full_url: str | None, where: str, rows: SourceRows
) -> None:
    if not isinstance(data, Mapping) or not isinstance(data.get("resourceType"), str):
        rows.problem(f"FHIR {where}", "not a FHIR resource (no resourceType)")
        return
    kind = data["resourceType"]
    local_id = data.get("id") if isinstance(data.get("id"), str) else None
    resource = Resource(kind, local_id, data, full_url, where)
    try:
        get_fhir_model_class(kind)
    except ValueError:
        rows.skip(resource.origin, f"{kind} is not a resource type of FHIR R4B")
        return
    if not _valid(data, kind, resource.origin, rows):
        return
    key = f"{kind}/{local_id}"
    if local_id is not None and key in found.by_key:
        earlier = found.by_key[key]
        if earlier.data == data:
            rows.skip(resource.origin, f"the same resource again (first at {earlier.where})")
        else:
            rows.problem(
                resource.origin,
                f"two different resources have this id ({earlier.where} and {where})",
            )
        return
    found.add(resource)


def _valid(data: Mapping[str, Any], kind: str, origin: str, rows: SourceRows) -> bool:
    """Whether ``data`` validates as ``kind`` under fhir.resources R4B; each error a problem
    naming the element (``valueQuantity.value``, ``component[0].code``)."""
    try:
        get_fhir_model_class(kind).model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            element = _element(error["loc"]) or kind
            message = str(error["msg"]).removeprefix(_VALUE_ERROR)
            value = error.get("input")
            shown = ""
            if message in _NOT_A_NUMBER and isinstance(value, str) and kind != "Patient":
                # the library's words for a decimal or integer that is not one, said as the
                # project says it everywhere (cohort.cells.not_a_number)
                text = value if len(value) <= _SHOWN_VALUE else value[:_SHOWN_VALUE] + "…"
                rows.problem(origin, f"{element}: '{text}' is not a number")
                continue
            if kind != "Patient" and isinstance(value, str | int | Decimal) and value != "":
                text = str(value)
                if len(text) <= _SHOWN_VALUE:
                    shown = f" ('{text}')"
            rows.problem(origin, f"{element}{shown}: {message}")
        return False
    return True


def _element(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path
