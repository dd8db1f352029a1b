"""The API path against a stand-in REDCap server (conftest): a project's records and data
dictionary read into a cohort; srnskit's dictionary uploaded with its repeating instruments;
a refused token, an unreachable server and an unencrypted URL as usage errors; the token never
printed."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srnskit.cli import app
from srnskit.errors import UsageError
from srnskit.sources.redcap import RedcapApi, build_dictionary, read_token
from tests.interchange.redcap.conftest import DATA, TODAY, TOKEN, StandIn
from tests.interchange.redcap.test_foreign import SKIPPED, check_foreign_cohort


def _invoke(*args: str | Path, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def test_the_projects_records_import_through_the_api(
    redcap_server: StandIn, token_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cohort"
    result = _invoke("redcap", "import", "--api", redcap_server.url, "--token-file", token_file,
                     "--out", out, "--today", str(TODAY))  # fmt: skip
    assert result.exit_code == 0, result.output
    # The recorded raw export (records.csv) holds the hand-written project's values as REDCap's
    # API gives them: codes, YYYY-MM-DD, 0/1 checkboxes; the data access group's unique name
    # is the centre.
    check_foreign_cohort(out, center="centre_lyon")
    with (out / "import" / "skipped.csv").open(encoding="utf-8") as handle:
        skipped = handle.read()
    # the raw export names the instrument, not its label
    for origin, _ in SKIPPED[:3]:
        assert origin.replace("Visit Notes", "visit_notes") in skipped
    # The dictionary first (content=metadata), then the records, each with the token; the
    # records as the flat raw CSV of raw headers.
    contents = [r["content"] for r in redcap_server.requests]
    assert contents == ["metadata", "record"]
    assert all(r["token"] == TOKEN for r in redcap_server.requests)
    record = redcap_server.requests[1]
    assert {k: record[k] for k in ("format", "type", "rawOrLabel", "rawOrLabelHeaders")} == {
        "format": "csv",
        "type": "flat",
        "rawOrLabel": "raw",
        "rawOrLabelHeaders": "raw",
    }
    assert TOKEN not in result.output


def test_the_dictionary_uploads_and_the_instruments_repeat(
    redcap_server: StandIn, token_file: Path
) -> None:
    result = _invoke("redcap", "dictionary", "--api", redcap_server.url, "--token-file", token_file)
    assert result.exit_code == 0, result.output
    metadata, repeating = redcap_server.requests
    assert metadata["content"] == "metadata"
    assert metadata["format"] == "json"
    assert json.loads(metadata["data"]) == build_dictionary().metadata()
    assert repeating["content"] == "repeatingFormsEvents"
    assert json.loads(repeating["data"]) == [
        {"form_name": name, "custom_form_label": ""}
        for name in ("measurements", "treatments", "adverse_events", "events")
    ]
    # the counts the server answered (the stand-in answers each import's row count, as REDCap)
    fields = len(build_dictionary().fields)
    assert f"uploaded {fields} fields; 4 repeating instruments" in result.output


def test_a_refused_token_is_a_usage_error_that_never_shows_the_token(
    redcap_server: StandIn, tmp_path: Path
) -> None:
    wrong = "FEDCBA9876543210FEDCBA9876543210"
    token = tmp_path / "token"
    token.write_text(wrong, encoding="utf-8")
    token.chmod(0o600)
    out = tmp_path / "cohort"
    result = _invoke("redcap", "import", "--api", redcap_server.url, "--token-file", token,
                     "--out", out)  # fmt: skip
    assert result.exit_code == 2
    assert "refused the token (HTTP 403: You do not have permissions to use the API)" in (
        result.output
    )
    assert wrong not in result.output
    assert not out.exists()


def test_the_token_may_come_from_the_environment(redcap_server: StandIn, tmp_path: Path) -> None:
    result = _invoke("redcap", "import", "--api", redcap_server.url, "--out", tmp_path / "c",
                     "--today", str(TODAY), env={"SRNSKIT_REDCAP_TOKEN": TOKEN})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert redcap_server.requests[0]["token"] == TOKEN


def test_no_token_at_all_is_a_usage_error(redcap_server: StandIn, tmp_path: Path) -> None:
    result = _invoke("redcap", "import", "--api", redcap_server.url, "--out", tmp_path / "c",
                     env={"SRNSKIT_REDCAP_TOKEN": ""})  # fmt: skip
    assert result.exit_code == 2
    assert "--token-file" in result.output
    assert "SRNSKIT_REDCAP_TOKEN" in result.output
    assert redcap_server.requests == []


def test_an_unreachable_server_is_a_usage_error(token_file: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _invoke("redcap", "import", "--api", f"http://127.0.0.1:{port}/api/",
                     "--token-file", token_file, "--out", tmp_path / "c")  # fmt: skip
    assert result.exit_code == 2
    assert f"cannot reach the REDCap server at http://127.0.0.1:{port}/api/" in result.output


def test_a_token_is_never_sent_unencrypted_to_another_machine(token_file: Path) -> None:
    result = _invoke("redcap", "dictionary", "--api", "http://redcap.example.org/api/",
                     "--token-file", token_file)  # fmt: skip
    assert result.exit_code == 2
    assert "the token would travel unencrypted" in result.output


def test_a_token_file_readable_by_others_gets_a_warning(
    redcap_server: StandIn, token_file: Path
) -> None:
    token_file.chmod(0o644)
    result = _invoke("redcap", "dictionary", "--api", redcap_server.url, "--token-file", token_file)
    assert result.exit_code == 0, result.output
    assert "can be read by other users" in result.output


def test_a_server_error_shows_redcaps_message(redcap_server: StandIn) -> None:
    api = RedcapApi(redcap_server.url, TOKEN)
    with pytest.raises(UsageError, match=r"HTTP 400 to content=survey: The value"):
        api.post({"content": "survey"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("one two", "alone, on one line"),
        ("A\nB", "alone, on one line"),
    ],
)
def test_a_token_file_must_hold_the_token_alone(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "t"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        read_token(path, environ={})
    assert read_token(None, environ={"SRNSKIT_REDCAP_TOKEN": " abc \n"}) == "abc"


# A login page as a single sign-on proxy in front of a REDCap server answers any POST.
LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Sign in &ndash; Hospital "
    b"Access Gateway</title></head><body><form>...</form></body></html>\n"
)
NOT_REDCAP = (
    "check that the URL is the project's REDCap API (https://SERVER/api/) and that no proxy or "
    "login page answers in its place"
)


def test_a_login_page_instead_of_the_metadata_is_a_usage_error(
    redcap_server: StandIn, token_file: Path, tmp_path: Path
) -> None:
    redcap_server.page = (200, LOGIN_PAGE, "text/html; charset=UTF-8")
    out = tmp_path / "cohort"
    result = _invoke("redcap", "import", "--api", redcap_server.url, "--token-file", token_file,
                     "--out", out)  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: {redcap_server.url} answered content=metadata with HTTP 200 "
        "(Content-Type text/html; charset=UTF-8), a page titled 'Sign in – Hospital Access "
        f"Gateway', not REDCap's JSON: {NOT_REDCAP}\n"
    )
    assert TOKEN not in result.output
    assert not out.exists()


def test_a_login_page_instead_of_the_records_is_a_usage_error(
    redcap_server: StandIn, token_file: Path, tmp_path: Path
) -> None:
    # With the project's dictionary given, the records are the first thing asked for.
    redcap_server.page = (502, LOGIN_PAGE, "text/html")
    out = tmp_path / "cohort"
    result = _invoke("redcap", "import", "--api", redcap_server.url, "--token-file", token_file,
                     "--dictionary", DATA / "foreign_dictionary.csv", "--out", out)  # fmt: skip
    assert result.exit_code == 2
    assert [r["content"] for r in redcap_server.requests] == ["record"]
    assert result.stderr == (
        f"srnskit: error: {redcap_server.url} answered content=record with HTTP 502 "
        "(Content-Type text/html), a page titled 'Sign in – Hospital Access Gateway': "
        f"{NOT_REDCAP}\n"
    )
    assert not out.exists()
    redcap_server.page = (200, b"\n  <html><body>Maintenance</body></html>", "text/html")
    result = _invoke("redcap", "import", "--api", redcap_server.url, "--token-file", token_file,
                     "--dictionary", DATA / "foreign_dictionary.csv", "--out", out)  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: {redcap_server.url} answered content=record with HTTP 200 "
        "(Content-Type text/html), a body starting '<html><body>Maintenance</body></html>', "
        f"not REDCap's CSV of records: {NOT_REDCAP}\n"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("page", "said"),
    [
        ((200, b"OK", "text/plain"), "(Content-Type text/plain), a body starting 'OK'"),
        ((200, b"", ""), "(no Content-Type), an empty body"),
        # a page echoing the request: the token is blanked
        ((200, f"<title>Bad request {TOKEN}</title>".encode(), "text/html"),
         "(Content-Type text/html), a page titled 'Bad request [token]'"),
    ],
)  # fmt: skip
def test_an_upload_answered_by_no_json_is_a_usage_error(
    page: tuple[int, bytes, str], said: str, redcap_server: StandIn, token_file: Path
) -> None:
    redcap_server.page = page
    result = _invoke("redcap", "dictionary", "--api", redcap_server.url, "--token-file", token_file)
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: {redcap_server.url} answered content=metadata with HTTP 200 {said}, "
        f"not REDCap's JSON: {NOT_REDCAP}\n"
    )
    assert TOKEN not in result.output


def test_a_proxys_forbidden_page_names_the_page(redcap_server: StandIn, token_file: Path) -> None:
    redcap_server.page = (403, b"<html><title>403 Forbidden</title></html>", "text/html")
    result = _invoke("redcap", "dictionary", "--api", redcap_server.url, "--token-file", token_file)
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: {redcap_server.url}: the REDCap server refused the token (HTTP 403, "
        "Content-Type text/html, a page titled '403 Forbidden'); check the token file (or "
        "SRNSKIT_REDCAP_TOKEN) and that the token's user has API rights in the project\n"
    )
