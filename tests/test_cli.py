"""The calculators on the command line: text, JSON, exit codes (cohort-format.md §4)."""

from __future__ import annotations

import json

import pytest

from srnskit.examples import path as example_path
from srnskit.schema import EXCLUSION_WORDS


def test_calc_egfr_prints_the_spec_example(cli) -> None:
    result = cli(
        "calc", "egfr", "--creatinine", "65.35", "--creatinine-unit", "umol/L", "--height-cm", "137"
    )
    assert result.exit_code == 0
    # 0.413 × 137 / (65.35 / 88.4) = 76.54 → 76.5, stage G2 (60–89)
    assert result.stdout.splitlines()[0] == "eGFR 76.5 mL/min/1.73 m² — G2 (mildly decreased)"


def test_calc_trims_the_spaces_a_cohort_cell_is_trimmed_of(cli) -> None:
    # A no-break space and an ideographic space at the ends (copied from a report) are
    # trimmed, as from a cohort's cells: the spec example's 76.5 again.
    result = cli(
        "calc", "egfr", "--creatinine", "65.35", "--creatinine-unit", "\u00a0umol/L\u3000",
        "--height-cm", "137",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("eGFR 76.5 mL/min/1.73 m²")


def test_calc_egfr_json_with_cystatin_c(cli) -> None:
    result = cli(
        "calc",
        "egfr",
        "--creatinine",
        "0.9",
        "--creatinine-unit",
        "mg/dL",
        "--height-cm",
        "120",
        "--equation",
        "ckid-u25",
        "--sex",
        "M",
        "--age-years",
        "11",
        "--cystatin-c",
        "1.3",
        "--json",
    )
    data = json.loads(result.stdout)
    # CKiD reference vector: 51.6 (creatinine), 64.2 (cystatin C); combined = mean = 57.9
    assert round(data["egfr_ml_min_1_73m2"], 1) == 51.6
    assert round(data["egfr_cystatin_c"], 1) == 64.2
    assert round(data["egfr_combined"], 1) == 57.9
    assert data["ckd_stage"] == "G3a"


def test_calc_egfr_schwartz_1976_warns_about_idms_creatinine(cli) -> None:
    result = cli(
        "calc",
        "egfr",
        "--creatinine",
        "65.35",
        "--height-cm",
        "137",
        "--equation",
        "schwartz-1976",
        "--sex",
        "F",
        "--age-years",
        "9",
    )
    assert result.exit_code == 0
    assert "overestimates GFR by 20–40%" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--creatinine", "0.6", "--height-cm", "120"], "it looks like mg/dL"),
        (["--creatinine", "50", "--height-cm", "1.2"], "it looks like m (1.2 m = 120 cm)"),
        (
            ["--creatinine", "50", "--height-cm", "120", "--equation", "ckid-u25"],
            "needs --sex and --age-years",
        ),
        (
            ["--creatinine", "50", "--creatinine-unit", "mmol/L", "--height-cm", "120"],
            "'mmol/L' is not umol/L or mg/dL",
        ),
        # A tab at the end is refused, as in a cohort's unit cell, and said visibly.
        (
            ["--creatinine", "50", "--creatinine-unit", "umol/L\t", "--height-cm", "120"],
            "'umol/L\\t' is not umol/L or mg/dL",
        ),
    ],
)
def test_calc_egfr_bad_values_exit_2_with_a_reason(cli, arguments, message) -> None:
    result = cli("calc", "egfr", *arguments)
    assert result.exit_code == 2
    assert message in result.stderr


def test_calc_bsa_and_ckd_stage(cli) -> None:
    bsa = cli("calc", "bsa", "--height-cm", "137", "--weight-kg", "32", "--json")
    assert json.loads(bsa.stdout)["bsa_m2"] == pytest.approx(1.1035, abs=1e-4)
    haycock = cli("calc", "bsa", "--height-cm", "137", "--weight-kg", "32", "--formula", "haycock")
    assert haycock.stdout.startswith("BSA 1.100 m² (haycock")
    stage = cli("calc", "ckd-stage", "--egfr", "44.9")
    assert stage.stdout.strip() == "G3b (moderately to severely decreased)"
    assert cli("calc", "ckd-stage", "--egfr", "-3").exit_code == 2


def test_calc_dose_of_cyclosporine(cli) -> None:
    result = cli(
        "calc", "dose", "--drug", "cyclosporine", "--height-cm", "137", "--weight-kg", "32"
    )
    assert result.exit_code == 0
    # BSA 1.1035: 150–200 mg/m²/day → 165.5–220.7 mg/day, two doses of 82.8–110.4 mg
    assert "150–200 mg/m²/day = 165.5–220.7 mg/day, in 2 doses of 82.8–110.4 mg" in result.stdout
    assert "trough target 100–300 ng/mL" in result.stdout


def test_calc_dose_json_lists_every_phase(cli) -> None:
    result = cli(
        "calc", "dose", "--drug", "prednisone", "--height-cm", "137", "--weight-kg", "32", "--json"
    )
    phases = json.loads(result.stdout)["phases"]
    assert [p["schedule"] for p in phases] == ["daily", "daily", "alternate_day"]
    # 60 mg/m² × 1.1035 = 66.2 mg, capped at 60; 30 mg/m² × 1.1035 = 33.1 mg
    assert phases[0]["dose_mg"] == {"min": 60.0, "max": 60.0}
    assert phases[1]["dose_mg"]["min"] == pytest.approx(33.106, abs=1e-3)


def test_calc_dose_unknown_drug_or_protocol_exits_2(cli) -> None:
    base = ["calc", "dose", "--height-cm", "137", "--weight-kg", "32"]
    assert cli(*base, "--drug", "tacrolimus").exit_code == 2
    assert cli(*base, "--drug", "cyclosporine", "--protocol", "nope").exit_code == 2


def test_unknown_flag_is_a_usage_error(cli) -> None:
    assert cli("calc", "bsa", "--height", "137").exit_code == 2


def test_version(cli) -> None:
    assert cli("--version").stdout.startswith("srnskit ")


# --- --study and the definition files' format (derive, explain, report) -----------------------

SMALL = "src/srnskit/examples/small"


def _study(tmp_path, old: str, new: str):
    from importlib import resources

    text = resources.files("srnskit.studies").joinpath("seed2023.toml").read_text()
    assert old in text
    mine = tmp_path / "mine.toml"
    mine.write_text(text.replace(old, new, 1))
    return mine


@pytest.mark.slow
def test_derive_reads_the_study_it_is_given(cli, tmp_path) -> None:
    # seed2023 includes 6 of the 12 small children (P01, P02, P04, P09, P10, P12); asking for
    # 100,000 days (274 years) of follow-up after the combination course excludes every one.
    mine = _study(tmp_path, "min_followup_days = 365", "min_followup_days = 100000")
    shipped = cli("derive", SMALL, "--out", tmp_path / "a")
    said = f"srnskit: wrote {tmp_path / 'a'}: 12 patients (6 included), "
    assert shipped.stderr.splitlines()[-1].startswith(said)
    result = cli("derive", SMALL, "--study", mine, "--out", tmp_path / "b")
    assert result.exit_code == 0
    said = f"srnskit: wrote {tmp_path / 'b'}: 12 patients (0 included), "
    assert result.stderr.splitlines()[-1].startswith(said)


@pytest.mark.slow
def test_explain_reads_the_study_it_is_given(cli, tmp_path) -> None:
    mine = _study(tmp_path, "min_followup_days = 365", "min_followup_days = 100000")
    assert cli("explain", SMALL, "P01").stdout.splitlines()[-1] == "  study: included"
    result = cli("explain", SMALL, "P01", "--study", mine)
    # the reason in words (schema's EXCLUSION_WORDS), on the study's lines at the end
    tail = "\n".join(result.stdout.splitlines()[-3:])
    assert "excluded" in tail
    assert EXCLUSION_WORDS["followup_under_1y"] in tail


@pytest.mark.parametrize("command", ["derive", "explain", "report"])
def test_an_unknown_study_is_a_usage_error_before_anything_is_written(
    cli, tmp_path, command
) -> None:
    out = tmp_path / "out"
    arguments = {"derive": [SMALL, "--out", out], "explain": [SMALL, "P01"]}
    result = cli(command, *arguments.get(command, [SMALL, "--out", out]), "--study", "nope")
    assert result.exit_code == 2
    assert "srnskit: error: no study named 'nope'; shipped: seed2023" in result.stderr
    assert not out.exists()


def test_a_study_file_with_a_typo_is_refused_with_exit_1(cli, tmp_path) -> None:
    mine = _study(tmp_path, "min_followup_days = 365", "min_followup_dayz = 365")
    result = cli("derive", SMALL, "--study", mine, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert f"{mine}: eligibility.min_followup_dayz: unknown key (a typo?)" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_definition_file_of_format_1_loads_and_says_what_moved(cli, tmp_path) -> None:
    from importlib import resources

    text = resources.files("srnskit.definitions").joinpath("kdigo2021.toml").read_text()
    assert 'dipstick = { le = "trace" }' in text
    old = tmp_path / "old.toml"
    # format 1: no format_version, the dipstick as the number it was read as (trace = 0.5)
    lines = [line for line in text.splitlines() if not line.startswith("format_version")]
    old.write_text("\n".join(lines).replace('{ le = "trace" }', "{ le = 0.5 }"))
    result = cli("derive", SMALL, "--definitions", old, "--out", tmp_path / "out")
    assert result.exit_code == 0
    # the file's warnings (the data's own, "srnskit: warning: 3 children …", may follow)
    prefix = f"srnskit: warning: {old}: "
    warnings = [line for line in result.stderr.splitlines() if line.startswith(prefix)]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"srnskit: warning: {old}: ")
    assert '{ le = "trace" }' in warnings[0]


def test_every_command_that_writes_makes_missing_parent_folders(cli, tmp_path) -> None:
    """--out of derive, synth and template lands in folders that did not exist (mkdir -p)."""
    small = example_path("small")
    derived = tmp_path / "new" / "deeper" / "derived"
    assert cli("derive", small, "--out", derived, "--today", "2026-11-28").exit_code == 0
    assert (derived / "flow.json").is_file()
    synth = tmp_path / "s" / "t" / "cohort"
    assert cli("synth", "--patients", "3", "--seed", "2", "--out", synth).exit_code == 0
    assert (synth / "patients.csv").is_file()
    workbook = tmp_path / "w" / "x" / "template.xlsx"
    assert cli("template", "--out", workbook).exit_code == 0
    assert workbook.is_file()


def test_a_file_in_the_way_of_an_output_folder_is_a_usage_error(cli, tmp_path) -> None:
    (tmp_path / "plain").write_text("a file, not a folder")
    result = cli("derive", example_path("small"), "--out", tmp_path / "plain" / "derived")
    assert result.exit_code == 2
    assert "is not a folder" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["plain"]
