"""``srnskit calc``: the bedside calculators (BSA, eGFR, CKD stage, protocol doses).

Each prints text, or a JSON object with ``--json``; warnings go to stderr as
``srnskit: warning: …`` (in JSON, a list).
An implausible value is a usage error (exit 2) naming the likely unit mix-up.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

import typer

from srnskit.cli.common import app, reports_errors, say
from srnskit.clinical.bsa import BSA_FORMULAS
from srnskit.clinical.ckd import CKD_STAGES, ckd_stage
from srnskit.clinical.egfr import (
    EGFR_EQUATIONS,
    egfr_ckid_u25_combined,
    egfr_ckid_u25_cystatin_c,
    egfr_validity_warnings,
)
from srnskit.cohort.parse import plain_number
from srnskit.cohort.rounding import canonical_value
from srnskit.cohort.validate import implausible_value_message
from srnskit.errors import UsageError
from srnskit.outputs.doses import dose_lines, dose_records
from srnskit.protocols.model import load_protocol
from srnskit.schema import ANALYTES, normalise_unit
from srnskit.schema.problems import escaped

__all__ = ["calc_app"]

calc_app = typer.Typer(
    help="Bedside calculators: BSA, eGFR, CKD stage, protocol doses.", no_args_is_help=True
)
app.add_typer(calc_app, name="calc")


def _number(text: str) -> float:
    """An option's number, read as the cohort reads numbers: plain decimal notation only
    (``1_37`` is not 137, ``1,37`` not 1.37; cohort-format.md §2)."""
    try:
        return plain_number(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON object.")]
HeightOption = Annotated[float, typer.Option("--height-cm", help="Height in cm.", parser=_number)]
WeightOption = Annotated[float, typer.Option("--weight-kg", help="Weight in kg.", parser=_number)]
Equation = Literal["bedside-schwartz", "schwartz-1976", "ckid-u25"]
Formula = Literal["mosteller", "haycock", "dubois", "gehan-george"]
Sex = Literal["F", "M"]


def _plausible(analyte: str, value: float, unit: str, flag: str) -> None:
    message = implausible_value_message(analyte, value, unit)
    if message:
        raise UsageError(f"{flag}: {message}")


def _emit(as_json: bool, data: dict[str, Any], lines: list[str], warnings: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps({**data, "warnings": warnings}, indent=2))
        return
    say(*lines)
    say(*(f"warning: {warning}" for warning in warnings), err=True)


def _stage_text(stage: str) -> str:
    meaning = next(m for s, _, m in CKD_STAGES if s == stage)
    return f"{stage} ({meaning})"


@calc_app.command("bsa")
@reports_errors
def _calc_bsa(
    height_cm: HeightOption,
    weight_kg: WeightOption,
    formula: Annotated[Formula, typer.Option(help="BSA formula.")] = "mosteller",
    as_json: JsonOption = False,
) -> None:
    """Body surface area in m²."""
    _plausible("height", height_cm, "cm", "--height-cm")
    _plausible("weight", weight_kg, "kg", "--weight-kg")
    bsa_m2 = float(BSA_FORMULAS[formula](height_cm=height_cm, weight_kg=weight_kg))
    data = {"formula": formula, "height_cm": height_cm, "weight_kg": weight_kg, "bsa_m2": bsa_m2}
    line = f"BSA {bsa_m2:.3f} m² ({formula}; height {height_cm:g} cm, weight {weight_kg:g} kg)"
    _emit(as_json, data, [line], [])


@calc_app.command("egfr")
@reports_errors
def _calc_egfr(
    creatinine: Annotated[float, typer.Option(help="Serum creatinine.", parser=_number)],
    height_cm: HeightOption,
    creatinine_unit: Annotated[str, typer.Option(help="umol/L or mg/dL.")] = "umol/L",
    equation: Annotated[Equation, typer.Option(help="eGFR equation.")] = "bedside-schwartz",
    sex: Annotated[Sex | None, typer.Option(help="F or M (ckid-u25, schwartz-1976).")] = None,
    age_years: Annotated[
        float | None,
        typer.Option(help="Age in years (ckid-u25, schwartz-1976).", parser=_number),
    ] = None,
    cystatin_c: Annotated[
        float | None,
        typer.Option(help="Cystatin C in mg/L, IFCC (ckid-u25 only).", parser=_number),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """eGFR in mL/min/1.73 m², with its CKD stage and the equation's caveats."""
    unit = normalise_unit(ANALYTES["creatinine"], creatinine_unit)
    if unit is None:
        raise UsageError(f"--creatinine-unit: '{escaped(creatinine_unit)}' is not umol/L or mg/dL")
    _plausible("creatinine", creatinine, unit.name, "--creatinine")
    _plausible("height", height_cm, "cm", "--height-cm")
    chosen = EGFR_EQUATIONS[equation]
    needs_demographics = equation in ("ckid-u25", "schwartz-1976")
    if needs_demographics and (sex is None or age_years is None):
        raise UsageError(f"--equation {equation} needs --sex and --age-years")
    if age_years is not None and not 0 <= age_years <= 120:
        raise UsageError(f"--age-years: {age_years:g} is not a possible age")
    if cystatin_c is not None and equation != "ckid-u25":
        raise UsageError("--cystatin-c is used only with --equation ckid-u25")
    if cystatin_c is not None:
        _plausible("cystatin_c", cystatin_c, "mg/L", "--cystatin-c")
    creatinine_umol_l = canonical_value(creatinine, unit.factor)  # as a cohort reads it
    arguments: dict[str, Any] = {"height_cm": height_cm, "creatinine_umol_l": creatinine_umol_l}
    if needs_demographics:
        arguments |= {"age_years": age_years, "sex": sex}
    egfr = float(chosen.function(**arguments))
    stage = ckd_stage(egfr_ml_min_1_73m2=egfr)
    data: dict[str, Any] = {
        "equation": equation,
        "egfr_ml_min_1_73m2": egfr,
        "ckd_stage": stage,
        "creatinine_umol_l": creatinine_umol_l,
        "height_cm": height_cm,
    }
    lines = [
        f"eGFR {egfr:.1f} mL/min/1.73 m² — {_stage_text(stage)}",
        f"equation: {chosen.title} ({chosen.source})",
    ]
    if cystatin_c is not None:
        demographics = {"age_years": age_years, "sex": sex}
        by_cystatin = float(egfr_ckid_u25_cystatin_c(cystatin_c_mg_l=cystatin_c, **demographics))
        combined = float(egfr_ckid_u25_combined(cystatin_c_mg_l=cystatin_c, **arguments))
        data |= {"egfr_cystatin_c": by_cystatin, "egfr_combined": combined}
        lines += [
            f"eGFR by cystatin C {by_cystatin:.1f} mL/min/1.73 m²",
            f"eGFR combined (mean) {combined:.1f} mL/min/1.73 m² — "
            f"{_stage_text(ckd_stage(egfr_ml_min_1_73m2=combined))}",
        ]
    _emit(as_json, data, lines, egfr_validity_warnings(equation, age_years))


@calc_app.command("ckd-stage")
@reports_errors
def _calc_ckd_stage(
    egfr: Annotated[float, typer.Option(help="eGFR in mL/min/1.73 m².", parser=_number)],
    as_json: JsonOption = False,
) -> None:
    """KDIGO GFR category (G1–G5) of an eGFR."""
    if not math.isfinite(egfr) or egfr < 0:
        raise UsageError(f"--egfr: {egfr:g} is not a possible eGFR")
    stage = ckd_stage(egfr_ml_min_1_73m2=egfr)
    meaning = next(m for s, _, m in CKD_STAGES if s == stage)
    data = {"egfr_ml_min_1_73m2": egfr, "ckd_stage": stage, "meaning": meaning}
    _emit(as_json, data, [f"{_stage_text(stage)}"], [])


@calc_app.command("dose")
@reports_errors
def _calc_dose(
    drug: Annotated[str, typer.Option(help="cyclosporine, prednisone, mmf, rituximab …")],
    height_cm: HeightOption,
    weight_kg: WeightOption,
    protocol: Annotated[str, typer.Option(help="A shipped protocol or a .toml file.")] = "sfnp",
    as_json: JsonOption = False,
) -> None:
    """The protocol's doses of a drug for a child, from body surface area."""
    _plausible("height", height_cm, "cm", "--height-cm")
    _plausible("weight", weight_kg, "kg", "--weight-kg")
    chosen = load_protocol(protocol)
    bsa_m2 = chosen.bsa_m2(height_cm=height_cm, weight_kg=weight_kg)
    doses = chosen.doses_for(drug.strip().lower(), bsa_m2=bsa_m2)
    lines = dose_lines(drug, chosen, doses, bsa_m2=bsa_m2, height_cm=height_cm, weight_kg=weight_kg)
    data = {"drug": drug, "protocol": chosen.name, "bsa_m2": bsa_m2, "phases": dose_records(doses)}
    _emit(as_json, data, lines, [])
