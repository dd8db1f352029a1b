"""The calculators on the command line: text, JSON, exit codes (cohort-format.md §4)."""

from __future__ import annotations

import json

import pytest


def test_calc_egfr_prints_the_spec_example(cli) -> None:
    result = cli(
        "calc", "egfr", "--creatinine", "65.35", "--creatinine-unit", "umol/L", "--height-cm", "137"
    )
    assert result.exit_code == 0
    # 0.413 × 137 / (65.35 / 88.4) = 76.54 → 76.5, stage G2 (60–89)
    assert result.stdout.splitlines()[0] == "eGFR 76.5 mL/min/1.73 m² — G2 (mildly decreased)"


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
