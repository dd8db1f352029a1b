"""A REDCap server's API, as srnskit uses it: read a project's records and data dictionary, or
upload srnskit's dictionary and mark its repeating instruments.

Every call is one POST of form fields to the project's API URL (``https://…/api/``) with the
project's token, as REDCap's API takes them (PyCap ``redcap/methods``; sources in
redcap.toml)::

    content=metadata              format=json                     the data dictionary
    content=metadata              format=json, data=[…]           upload a dictionary
    content=record                format=csv, type=flat, rawOrLabel=raw, rawOrLabelHeaders=raw,
                                  exportCheckboxLabel=false, exportDataAccessGroups=true
    content=repeatingFormsEvents  format=json, data=[{"form_name", "custom_form_label"}]

The token is read from a file or the environment (``read_token``), never from the command
line, and never appears in a message. A plain-``http`` URL is refused unless it points at this
machine: the token would cross the network unencrypted. HTTP 401/403 (REDCap's answer to a
token without API rights) and an unreachable server are usage errors (exit 2) that say what
to check.
"""

from __future__ import annotations

import ipaddress
import json
import os
import stat
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from srnskit.errors import InvalidInputError, UsageError
from srnskit.sources.redcap.dictionary import Dictionary, dictionary_from_metadata

__all__ = [
    "TOKEN_VARIABLE",
    "RedcapApi",
    "read_token",
    "shown_url",
    "token_file_warning",
]

# The environment variable a token may come from when no --token-file is given.
TOKEN_VARIABLE = "SRNSKIT_REDCAP_TOKEN"
# Seconds a request may wait on the server between two bytes (a large project's records take
# minutes in all, but never this long in silence).
_TIMEOUT_SECONDS = 300.0
_LOOPBACK_NAMES = frozenset({"localhost"})
# Of a server's error text, at most this much is shown.
_SHOWN_ERROR = 300


def read_token(token_file: Path | None, environ: Mapping[str, str] | None = None) -> str:
    """The API token: the first line of ``token_file`` when given, else the environment's
    ``SRNSKIT_REDCAP_TOKEN``. Raises ``UsageError`` when there is none, the file cannot be
    read, or the token holds spaces or several lines (never showing the token)."""
    environ = os.environ if environ is None else environ
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the token file {token_file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"the token file {token_file} is not text") from None
        where = f"the token file {token_file}"
    elif environ.get(TOKEN_VARIABLE):
        text = environ[TOKEN_VARIABLE]
        where = TOKEN_VARIABLE
    else:
        raise UsageError(
            f"no REDCap API token: give --token-file FILE (the token alone on its first line) "
            f"or set {TOKEN_VARIABLE}"
        )
    lines = [line.strip() for line in text.strip().splitlines()]
    if not lines or not lines[0]:
        raise UsageError(f"{where} is empty: it should hold the project's API token")
    if len(lines) > 1 or any(c.isspace() for c in lines[0]):
        raise UsageError(f"{where} should hold the API token alone, on one line")
    return lines[0]


def token_file_warning(token_file: Path) -> str | None:
    """A warning when the token file can be read by other users of this machine (the token
    opens the project as its owner), else None."""
    try:
        mode = token_file.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return (
            f"the token file {token_file} can be read by other users; restrict it "
            f"(chmod 600 {token_file})"
        )
    return None


def shown_url(url: str) -> str:
    """``url`` as messages show it: scheme, host, port and path, without credentials, query
    or fragment."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RedcapApi:
    """One REDCap project's API at ``url`` with ``token``. Raises ``UsageError`` for a URL
    that is not ``https://`` (``http://`` only to this machine)."""

    def __init__(self, url: str, token: str, *, timeout: float = _TIMEOUT_SECONDS) -> None:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("https", "http") or not host:
            raise UsageError(f"{url!r} is not a REDCap API URL (https://SERVER/api/)")
        if parts.scheme == "http" and not _loopback(host):
            raise UsageError(
                f"{shown_url(url)}: the token would travel unencrypted; use the https:// URL of "
                "the REDCap API"
            )
        self.url = url
        self.shown = shown_url(url)
        self._token = token
        self._timeout = timeout
        handlers: list[urllib.request.BaseHandler] = []
        if _loopback(host):
            handlers.append(urllib.request.ProxyHandler({}))  # this machine: never a proxy
        self._opener = urllib.request.build_opener(*handlers)

    def post(self, fields: Mapping[str, str]) -> bytes:
        """The body of REDCap's answer to ``fields`` (plus the token). Raises ``UsageError``
        for a refused token, an error answer or an unreachable server."""
        body = urllib.parse.urlencode({"token": self._token, **fields}).encode("ascii")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        content = fields.get("content", "")
        try:
            with self._opener.open(request, timeout=self._timeout) as answer:
                data: bytes = answer.read()
                return data
        except urllib.error.HTTPError as exc:
            said = self._said(exc.read())
            if exc.code in (401, 403):
                raise UsageError(
                    f"{self.shown}: the REDCap server refused the token (HTTP {exc.code}"
                    f"{': ' + said if said else ''}); check the token file (or "
                    f"{TOKEN_VARIABLE}) and that the token's user has API rights in the project"
                ) from None
            raise UsageError(
                f"{self.shown}: the REDCap server answered HTTP {exc.code} to content={content}"
                f"{': ' + said if said else ''}"
            ) from None
        except TimeoutError:
            raise UsageError(
                f"{self.shown}: the REDCap server did not answer within {self._timeout:g} s"
            ) from None
        except urllib.error.URLError as exc:
            raise UsageError(
                f"cannot reach the REDCap server at {self.shown}: {exc.reason}"
            ) from None
        except OSError as exc:
            raise UsageError(f"cannot reach the REDCap server at {self.shown}: {exc}") from None

    def _said(self, body: bytes) -> str:
        """REDCap's error text in an answer (``{"error": "…"}``, or the text itself), short,
        with the token blanked should a server echo it."""
        text = body.decode("utf-8", errors="replace").strip()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and "error" in parsed:
            text = str(parsed["error"])
        return text[:_SHOWN_ERROR].replace(self._token, "[token]")

    def _json(self, fields: Mapping[str, str]) -> Any:
        body = self.post(fields)
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise InvalidInputError(
                f"{self.shown}: the answer to content={fields.get('content')} is not JSON: "
                "is this the URL of a REDCap API (…/api/)?"
            ) from None

    def export_metadata(self) -> Dictionary:
        """The project's data dictionary. Raises ``InvalidInputError`` when the answer is not
        REDCap's metadata."""
        rows = self._json({"content": "metadata", "format": "json", "returnFormat": "json"})
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InvalidInputError(f"{self.shown}: the metadata is not a list of fields")
        return dictionary_from_metadata(rows, f"the data dictionary of {self.shown}")

    def export_records(self) -> str:
        """Every record of the project as REDCap's flat CSV of raw values and raw headers (the
        file a data manager downloads as 'CSV / Microsoft Excel (raw data)')."""
        body = self.post(
            {
                "content": "record",
                "format": "csv",
                "type": "flat",
                "rawOrLabel": "raw",
                "rawOrLabelHeaders": "raw",
                "exportCheckboxLabel": "false",
                "exportSurveyFields": "false",
                "exportDataAccessGroups": "true",
                "returnFormat": "json",
            }
        )
        try:
            return body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInputError(f"{self.shown}: the records are not UTF-8 text") from None

    def import_metadata(self, dictionary: Dictionary) -> int:
        """Upload ``dictionary`` as the project's data dictionary (it replaces the project's
        instruments; REDCap accepts this only in development status). Returns the number of
        fields REDCap reports."""
        count = self._json(
            {
                "content": "metadata",
                "format": "json",
                "data": json.dumps(dictionary.metadata(), separators=(",", ":")),
                "returnFormat": "json",
            }
        )
        return int(count) if isinstance(count, int | str) and str(count).isdigit() else 0

    def import_repeating(self, instruments: Sequence[str]) -> int:
        """Mark ``instruments`` as repeating (a classic project: no event). Returns the number
        of instruments REDCap reports."""
        rows = [{"form_name": name, "custom_form_label": ""} for name in instruments]
        count = self._json(
            {
                "content": "repeatingFormsEvents",
                "format": "json",
                "data": json.dumps(rows, separators=(",", ":")),
                "returnFormat": "json",
            }
        )
        return int(count) if isinstance(count, int | str) and str(count).isdigit() else 0
