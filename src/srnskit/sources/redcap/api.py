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
token without API rights), an unreachable server, and an answer that is not REDCap's (a web
page from a proxy or a login page, where JSON or CSV was asked) are usage errors (exit 2) that
say what to check, with the status and Content-Type that came back.
"""

from __future__ import annotations

import html
import ipaddress
import json
import os
import re
import stat
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
# Of an answer that is not REDCap's (a proxy's or login page), at most this much is shown.
_SHOWN_PAGE = 80
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class _Answer:
    """A server's answer: HTTP status, Content-Type header (empty when none) and body."""

    status: int
    kind: str
    body: bytes


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
        return self._exchange(fields).body

    def _exchange(self, fields: Mapping[str, str]) -> _Answer:
        """REDCap's answer to ``fields`` (plus the token), as ``post``."""
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
                return _Answer(answer.status, answer.headers.get("Content-Type", ""), data)
        except urllib.error.HTTPError as exc:
            kind = exc.headers.get("Content-Type", "") if exc.headers else ""
            answer = _Answer(exc.code, kind, exc.read())
            error = self._redcap_error(answer.body)
            if exc.code in (401, 403):
                said = f": {error}" if error else ", " + ", ".join(self._described(answer))
                raise UsageError(
                    f"{self.shown}: the REDCap server refused the token (HTTP {exc.code}{said}); "
                    f"check the token file (or {TOKEN_VARIABLE}) and that the token's user has "
                    "API rights in the project"
                ) from None
            if error is None:
                raise self._not_redcap(fields, answer) from None
            raise UsageError(
                f"{self.shown}: the REDCap server answered HTTP {exc.code} to content={content}: "
                f"{error}"
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

    def _shown_text(self, text: str, limit: int) -> str:
        """``text`` on one line, the token blanked should a server echo it, at most ``limit``
        characters."""
        text = " ".join(text.split())
        if self._token:
            text = text.replace(self._token, "[token]")
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def _redcap_error(self, body: bytes) -> str | None:
        """REDCap's error text in an answer (``{"error": "…"}``), short; None when the answer
        is not REDCap's JSON error."""
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        if isinstance(parsed, dict) and "error" in parsed:
            return self._shown_text(str(parsed["error"]), _SHOWN_ERROR)
        return None

    def _described(self, answer: _Answer) -> tuple[str, str]:
        """An answer that is not REDCap's as messages show it: its Content-Type, and a web
        page's title or else the body's first characters."""
        title = _TITLE.search(answer.body)
        text = html.unescape((title.group(1) if title else answer.body).decode("utf-8", "replace"))
        shown = self._shown_text(text, _SHOWN_PAGE)
        kind = f"Content-Type {answer.kind}" if answer.kind else "no Content-Type"
        if title:
            return kind, f"a page titled '{shown}'"
        return kind, f"a body starting '{shown}'" if shown else "an empty body"

    def _not_redcap(
        self, fields: Mapping[str, str], answer: _Answer, wanted: str | None = None
    ) -> UsageError:
        """The usage error for an answer that is not REDCap's (a web page, a proxy's or a
        login page's, where ``wanted`` was asked): the URL without the token, the status, the
        Content-Type and the page's title (or its first characters)."""
        kind, said = self._described(answer)
        instead = f", not {wanted}" if wanted else ""
        return UsageError(
            f"{self.shown} answered content={fields.get('content')} with HTTP {answer.status} "
            f"({kind}), {said}{instead}: check that the URL is the project's REDCap API "
            "(https://SERVER/api/) and that no proxy or login page answers in its place"
        )

    def _json(self, fields: Mapping[str, str]) -> Any:
        answer = self._exchange(fields)
        try:
            return json.loads(answer.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise self._not_redcap(fields, answer, "REDCap's JSON") from None

    def export_metadata(self) -> Dictionary:
        """The project's data dictionary. Raises ``UsageError`` when the answer is not JSON (a
        web page: not REDCap's API) and ``InvalidInputError`` when it is JSON but not a list
        of fields."""
        rows = self._json({"content": "metadata", "format": "json", "returnFormat": "json"})
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InvalidInputError(f"{self.shown}: the metadata is not a list of fields")
        return dictionary_from_metadata(rows, f"the data dictionary of {self.shown}")

    def export_records(self) -> str:
        """Every record of the project as REDCap's flat CSV of raw values and raw headers (the
        file a data manager downloads as 'CSV / Microsoft Excel (raw data)'). Raises
        ``UsageError`` when the answer is a web page (it starts with '<', which no CSV of
        records does) and ``InvalidInputError`` when it is not UTF-8."""
        fields = {
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
        answer = self._exchange(fields)
        if answer.body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):  # a web page, not CSV
            raise self._not_redcap(fields, answer, "REDCap's CSV of records")
        try:
            return answer.body.decode("utf-8-sig")
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
