"""srnskit derive and explain on the command line: outputs, exit codes, all or nothing."""

from __future__ import annotations

import csv
import json
from importlib import resources

import pytest

from srnskit.schema import EXCLUSION_WORDS
from tests.engine.conftest import upcr, write_cohort

INVALID = "tests/data/invalid/unit_unknown"


def test_derive_writes_the_three_tables_and_the_flow(cli, tmp_path) -> None:
    out = tmp_path / "derived"
    result = cli("derive", "src/srnskit/examples/demo", "--definitions", "kdigo2021", "--out", out)
    assert result.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "courses.csv",
        "episodes.csv",
        "flow.json",
        "patient_outcomes.csv",
    ]
    with (out / "patient_outcomes.csv").open() as handle:
        header = next(csv.reader(handle))
    assert header[:3] == ["patient_id", "eligible", "exclusion_reasons"]
    flow = json.loads((out / "flow.json").read_text())
    assert flow["definitions"] == "kdigo2021"
    assert flow["start"] == 58  # the demo cohort's children
    assert [s["step"] for s in flow["steps"]] == [
        "age_over_18",
        "congenital",
        "infantile",
        "secondary",
        "not_steroid_resistant",
        "steroid_response_unknown",
        "no_combination",
        "followup_under_1y",
        "outside_period",
    ]


def test_derive_parquet(cli, tmp_path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "derived"
    result = cli("derive", "src/srnskit/examples/small", "--out", out, "--format", "parquet")
    assert result.exit_code == 0
    assert pq.read_table(out / "patient_outcomes.parquet").num_rows == 12


def test_an_invalid_cohort_stops_before_anything_is_written(cli, tmp_path) -> None:
    out = tmp_path / "derived"
    result = cli("derive", INVALID, "--out", out, "--today", "2020-01-01")
    assert result.exit_code == 1
    assert "measurements:2:unit: error:" in result.stdout
    assert not out.exists()


def test_a_definition_file_with_a_typo_is_refused_with_exit_1(cli, tmp_path) -> None:
    text = resources.files("srnskit.definitions").joinpath("kdigo2021.toml").read_text()
    mine = tmp_path / "mine.toml"
    mine.write_text(text.replace("confirm_count = 3", "confirm_count = 0", 1))
    result = cli(
        "derive", "src/srnskit/examples/small", "--definitions", mine, "--out", tmp_path / "out"
    )
    assert result.exit_code == 1
    assert (
        f"{mine}: complete_remission.confirm_count: Input should be greater than or equal to 1"
        in result.stderr
    )
    assert not (tmp_path / "out").exists()


def test_an_unknown_definition_set_or_a_full_out_is_a_usage_error(cli, tmp_path) -> None:
    assert (
        cli(
            "derive",
            "src/srnskit/examples/small",
            "--definitions",
            "kdigo",
            "--out",
            tmp_path / "o",
        ).exit_code
        == 2
    )
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("keep")
    result = cli("derive", "src/srnskit/examples/small", "--out", full)
    assert result.exit_code == 2
    assert (full / "x").read_text() == "keep"


def test_explain_tells_the_story_with_evidence(cli, tmp_path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    rows = [("P1", f"2020-01-0{d}", "upcr", 5, "mg/mg") for d in (1, 2, 3)]
    rows += [("P1", f"2020-01-1{d}", "upcr", 0.1, "mg/mg") for d in (0, 1, 2)]
    write_cohort(folder, patients=[("P1", "F", "2015-01-01", "2020-01-01")], measurements=rows)
    result = cli("explain", folder, "P1")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "  2020-01-10 → 2020-01-12  complete remission (rule: complete_remission)" in lines
    assert (
        "      evidence: 2020-01-10 upcr=0.1 mg/mg; 2020-01-11 upcr=0.1 mg/mg; "
        "2020-01-12 upcr=0.1 mg/mg"
    ) in lines
    assert cli("explain", folder, "P9").exit_code == 2


def _treated_child(tmp_path):
    """P1, a girl with nephrotic syndrome from 2020-01-01 (UPCR 5 mg/mg on three days):
    prednisone 60 mg/m²/day for six weeks without remission (resistant, initial), then
    cyclosporine (trough 120 ng/mL, hypertension grade 2), in complete remission from
    2020-05-10 (UPCR 0.1 on three days), then one rituximab infusion. Never two agents at
    once: excluded for no combination."""
    folder = tmp_path / "treated"
    folder.mkdir()
    measurements = upcr("P1", "2020-01-01", [5, 5, 5])
    measurements += upcr("P1", "2020-05-10", [0.1, 0.1, 0.1])
    measurements += [("P1", "2020-03-01", "csa_trough", 120, "ng/mL")]
    treatments = [
        ("P1", "prednisone", "2020-01-01", "2020-02-12", 60, "mg/m2/day", "daily"),
        ("P1", "cyclosporine", "2020-02-13", "2020-08-13", 150, "mg/m2/day", "daily"),
        ("P1", "rituximab", "2020-09-01", "2020-09-01", 375, "mg/m2", "single"),
    ]
    write_cohort(
        folder,
        patients=[("P1", "F", "2012-01-01", "2020-01-01")],
        measurements=measurements,
        treatments=treatments,
        events=[("P1", "2021-06-30", "last_visit")],
    )
    (folder / "adverse_events.csv").write_text(
        "patient_id,date,event,drug,grade\nP1,2020-03-15,hypertension,cyclosporine,2\n"
    )
    return folder


def test_explain_tells_the_treatments_troughs_and_adverse_events_in_date_order(
    cli, tmp_path
) -> None:
    result = cli("explain", _treated_child(tmp_path), "P1")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    story = lines[lines.index("Story, in date order:") + 1 : lines.index("Labels:") - 1]
    day = " " * 15  # a one-day entry padded to the width of "DATE → DATE"
    assert story == [
        # the onset episode, opened by the onset date itself (no evidence needed)
        "  2020-01-01 → 2020-05-09  nephrotic (rule: onset)",
        "  2020-01-01 → 2020-02-12  prednisone 60 mg/m2/day daily",
        "  2020-02-13 → 2020-08-13  cyclosporine 150 mg/m2/day daily",
        # 2020-02-13 … 2020-08-13: 17 + 31 + 30 + 31 + 30 + 31 + 13 = 183 days; the first
        # remission day 2020-05-10 is 87 days after the start
        "  2020-02-13 → 2020-08-13  course 1, cyclosporine (183 days): complete remission "
        "from 2020-05-10 (day 87)",
        f"  2020-03-01{day}cyclosporine trough 120 ng/mL",
        f"  2020-03-15{day}adverse event: hypertension, grade 2, attributed to cyclosporine",
        "  2020-05-10 → 2021-06-30  complete remission (rule: complete_remission)",
        "      evidence: 2020-05-10 upcr=0.1 mg/mg; 2020-05-11 upcr=0.1 mg/mg; "
        "2020-05-12 upcr=0.1 mg/mg",
        # 2020-09-01 + 180 days (kdigo2021's rituximab_active_days) = 2021-02-28
        f"  2020-09-01{day}rituximab infusion 375 mg/m2, counted active to 2021-02-28",
        # the infusion's course starts in remission: not evaluable
        "  2020-09-01 → 2021-02-28  course 2, rituximab (181 days): not evaluable",
        f"  2021-06-30{day}last visit",
    ]
    labels = lines[lines.index("Labels:") + 1 :]
    # resistance dated course start + 28 days: 2020-01-29
    assert labels[0] == "  steroid response: resistant (initial, from 2020-01-29)"
    assert "  first remission (complete) from 2020-05-10" in labels
    assert labels[-2:] == ["  study: excluded", f"    - {EXCLUSION_WORDS['no_combination']}"]


def test_an_unknown_patient_is_a_usage_error_that_names_the_nearest_id(cli, tmp_path) -> None:
    folder = _treated_child(tmp_path)
    result = cli("explain", folder, "p1")
    assert result.exit_code == 2
    assert result.stderr == (f'srnskit: error: no patient "p1" in {folder}; did you mean "P1"?\n')
    assert result.stdout == ""


def test_derive_names_each_exclusion_in_words(cli, tmp_path) -> None:
    out = tmp_path / "derived"
    result = cli("derive", _treated_child(tmp_path), "--out", out)
    assert result.exit_code == 0
    # one patient, two courses (cyclosporine, rituximab), two episodes
    # derive's answer is its folder: what it says of its work is on stderr, none on stdout
    assert result.stdout == ""
    assert result.stderr == (
        f"srnskit: 1 child excluded: {EXCLUSION_WORDS['no_combination']}\n"
        f"srnskit: wrote {out}: 1 patient (0 included), 2 courses, 2 episodes under kdigo2021, "
        "study seed2023\n"
    )


@pytest.mark.slow
def test_derive_and_explain_warn_when_the_set_reads_no_stream_of_the_cohort(cli, tmp_path) -> None:
    folder = _treated_child(tmp_path)
    # the cohort has UPCR only; seed2023 reads 24-hour proteinuria alone
    # one style on every command's stderr (cli.common.echo_data_warnings), as report prints it
    expected = "srnskit: warning: this cohort has no 24-hour proteinuria: seed2023 cannot classify"
    derived = cli("derive", folder, "--definitions", "seed2023", "--out", tmp_path / "out")
    told = cli("explain", folder, "P1", "--definitions", "seed2023")
    for result in (derived, told):
        assert result.exit_code == 0
        assert f"{expected} steroid response" in result.stderr.splitlines()


def _one_child(tmp_path):
    """P1: nephrotic from 2020-01-01 (UPCR 5 mg/mg on three days), in complete remission from
    2020-01-10 (0.1 mg/mg on three days), never treated."""
    folder = tmp_path / "c"
    folder.mkdir()
    rows = [("P1", f"2020-01-0{d}", "upcr", 5, "mg/mg") for d in (1, 2, 3)]
    rows += [("P1", f"2020-01-1{d}", "upcr", 0.1, "mg/mg") for d in (0, 1, 2)]
    write_cohort(folder, patients=[("P1", "F", "2015-01-01", "2020-01-01")], measurements=rows)
    return folder


def test_derive_names_the_study_and_counts_one_of_each_in_the_singular(cli, tmp_path) -> None:
    out = tmp_path / "derived"
    result = cli("derive", _one_child(tmp_path), "--out", out)
    assert result.exit_code == 0
    # one patient, excluded (never treated: no steroid course near onset, so the steroid
    # response is unknown); no course; two episodes, nephrotic 2020-01-01 → 01-09 and complete
    # remission from 2020-01-10
    # derive's answer is its folder: what it says of its work is on stderr, none on stdout
    assert result.stdout == ""
    assert result.stderr == (
        f"srnskit: 1 child excluded: {EXCLUSION_WORDS['steroid_response_unknown']}\n"
        f"srnskit: wrote {out}: 1 patient (0 included), 0 courses, 2 episodes under kdigo2021, "
        "study seed2023\n"
    )


def test_explain_names_the_study_in_its_header(cli, tmp_path) -> None:
    result = cli("explain", _one_child(tmp_path), "P1", "--definitions", "ipna2020")
    assert result.stdout.splitlines()[0].endswith("), study seed2023")
    assert result.stdout.startswith("Patient P1 under ipna2020 (")


def test_a_study_file_given_as_definitions_is_named_for_what_it_is(cli, tmp_path) -> None:
    study = "src/srnskit/studies/seed2023.toml"
    result = cli(
        "derive", "src/srnskit/examples/small", "--definitions", study, "--out", tmp_path / "out"
    )
    assert result.exit_code == 1
    assert not (tmp_path / "out").exists()
    assert result.stderr == (
        f"srnskit: error: {study}: this looks like a study file; pass it with --study\n"
    )


def test_a_definition_set_given_as_study_is_named_for_what_it_is(cli, tmp_path) -> None:
    definitions = "src/srnskit/definitions/kdigo2021.toml"
    result = cli(
        "derive", "src/srnskit/examples/small", "--study", definitions, "--out", tmp_path / "out"
    )
    assert result.exit_code == 1
    assert not (tmp_path / "out").exists()
    assert result.stderr == (
        f"srnskit: error: {definitions}: this looks like a definition set; pass it with "
        "--definitions\n"
    )
