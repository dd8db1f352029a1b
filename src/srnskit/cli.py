"""The ``srnskit`` command line (cohort-format.md §4): thin commands over the library.

Exit codes: 0 done; 1 invalid input (the problems are printed first); 2 usage; 3 a missing
optional component. A ``SrnskitError`` becomes a message and its exit code; a bug still shows
its traceback.
"""

import contextlib
import datetime as dt
import functools
import json
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer

from srnskit import __version__
from srnskit.atomic import atomic_file
from srnskit.clinical.bsa import BSA_FORMULAS
from srnskit.clinical.ckd import CKD_STAGES, ckd_stage
from srnskit.clinical.egfr import (
    EGFR_EQUATIONS,
    egfr_ckid_u25_combined,
    egfr_ckid_u25_cystatin_c,
    egfr_validity_warnings,
)
from srnskit.cohort.validate import implausible_value_message, validate_raw_cohort
from srnskit.errors import InvalidCohortError, SrnskitError, UsageError
from srnskit.protocols.model import load_protocol
from srnskit.schema import ANALYTES, normalise_unit
from srnskit.sources.files import read_raw_cohort
from srnskit.sources.template import write_template

__all__ = ["app", "main"]

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="srnskit",
    help="Clinical research toolkit for childhood steroid-resistant nephrotic syndrome.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
calc_app = typer.Typer(
    help="Bedside calculators: BSA, eGFR, CKD stage, protocol doses.", no_args_is_help=True
)
app.add_typer(calc_app, name="calc")


def _reports_errors(command: F) -> F:
    """Turn a SrnskitError into its message on stderr and its exit code (never a traceback)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InvalidCohortError as exc:
            for problem in exc.problems:
                typer.echo(str(problem))
            typer.echo(f"srnskit: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except SrnskitError as exc:
            typer.echo(f"srnskit: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"srnskit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Clinical research toolkit for childhood steroid-resistant nephrotic syndrome."""


# --- validate ------------------------------------------------------------------------------

CohortPath = Annotated[
    Path,
    typer.Argument(
        exists=True,
        metavar="COHORT",
        help="A folder of CSV/Parquet tables, an .xlsx workbook or a .duckdb file.",
    ),
]
TodayOption = Annotated[
    dt.datetime | None,
    typer.Option(
        formats=["%Y-%m-%d"],
        help="Reference date for 'in the future' (YYYY-MM-DD; default: today).",
    ),
]


def _reference_date(today: dt.datetime | None) -> dt.date:
    """The date that counts as today: ``--today`` when given, else the system date."""
    return today.date() if today else dt.date.today()


@app.command("validate")
@_reports_errors
def _validate(
    cohort: CohortPath,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
    today: TodayOption = None,
) -> None:
    """Check a cohort and list every problem (table:row:column: severity: message)."""
    reference = _reference_date(today)
    raw = read_raw_cohort(cohort)
    problems = validate_raw_cohort(raw, today=reference)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if as_json:
        report = {
            "cohort": str(cohort),
            "valid": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "rows": {name: table.rows for name, table in raw.tables.items()},
            "problems": [p.to_dict() for p in problems],
        }
        typer.echo(json.dumps(report, indent=2))
    else:
        for problem in problems:
            typer.echo(str(problem))
        rows = ", ".join(f"{t.rows} {name}" for name, t in raw.tables.items())
        verdict = "valid" if errors == 0 else "NOT valid"
        typer.echo(
            f"{cohort}: {verdict}: {errors} error(s), {warnings} warning(s) ({rows})", err=True
        )
    raise typer.Exit(1 if errors else 0)


# --- template ------------------------------------------------------------------------------


@app.command("template")
@_reports_errors
def _template(
    out: Annotated[Path, typer.Option("--out", help="The workbook to write (.xlsx).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write an empty cohort workbook with drop-down lists and a sheet explaining each column."""
    if out.suffix.lower() != ".xlsx":
        raise UsageError(f"{out}: the template is an Excel workbook; give a name ending in .xlsx")
    with atomic_file(out, force=force) as temporary:
        write_template(temporary)
    typer.echo(f"wrote {out}")


# --- calc ----------------------------------------------------------------------------------

JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON object.")]
HeightOption = Annotated[float, typer.Option("--height-cm", help="Height in cm.")]
WeightOption = Annotated[float, typer.Option("--weight-kg", help="Weight in kg.")]
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
    for line in lines:
        typer.echo(line)
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)


def _stage_text(stage: str) -> str:
    meaning = next(m for s, _, m in CKD_STAGES if s == stage)
    return f"{stage} ({meaning})"


@calc_app.command("bsa")
@_reports_errors
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
@_reports_errors
def _calc_egfr(
    creatinine: Annotated[float, typer.Option(help="Serum creatinine.")],
    height_cm: HeightOption,
    creatinine_unit: Annotated[str, typer.Option(help="umol/L or mg/dL.")] = "umol/L",
    equation: Annotated[Equation, typer.Option(help="eGFR equation.")] = "bedside-schwartz",
    sex: Annotated[Sex | None, typer.Option(help="F or M (ckid-u25, schwartz-1976).")] = None,
    age_years: Annotated[
        float | None, typer.Option(help="Age in years (ckid-u25, schwartz-1976).")
    ] = None,
    cystatin_c: Annotated[
        float | None, typer.Option(help="Cystatin C in mg/L, IFCC (ckid-u25 only).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """eGFR in mL/min/1.73 m², with its CKD stage and the equation's caveats."""
    unit = normalise_unit(ANALYTES["creatinine"], creatinine_unit)
    if unit is None:
        raise UsageError(f"--creatinine-unit: '{creatinine_unit}' is not umol/L or mg/dL")
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
    creatinine_umol_l = creatinine * unit.factor
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
@_reports_errors
def _calc_ckd_stage(
    egfr: Annotated[float, typer.Option(help="eGFR in mL/min/1.73 m².")],
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
@_reports_errors
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
    lines = [
        f"{drug}, {chosen.name} protocol: BSA {bsa_m2:.3f} m² ({chosen.bsa_formula}; "
        f"{height_cm:g} cm, {weight_kg:g} kg)"
    ]
    phases = []
    for line in doses:
        phase = line.phase
        per = "infusion" if phase.per == "infusion" else "day"
        text = f"  {phase.name}: {phase.dose_mg_m2} mg/m²/{per} = {_mg(line.dose_mg)} mg/{per}"
        if phase.schedule == "alternate_day":
            text += " on alternate days"
        if phase.divided_doses > 1:
            text += f", in {phase.divided_doses} doses of {_mg(line.per_dose_mg)} mg"
        if phase.max_mg is not None:
            text += f" (at most {phase.max_mg:g} mg)"
        if phase.infusions:
            text += f", {phase.infusions} infusions"
        if phase.trough_ng_ml:
            text += f"; trough target {phase.trough_ng_ml} ng/mL"
        if phase.duration_days:
            text += f"; {phase.duration_days} days"
        lines.append(text)
        phases.append(
            {
                "phase": phase.name,
                "dose_mg_m2": phase.dose_mg_m2.model_dump(),
                "per": per,
                "schedule": phase.schedule,
                "dose_mg": line.dose_mg.model_dump(),
                "divided_doses": phase.divided_doses,
                "per_dose_mg": line.per_dose_mg.model_dump(),
                "max_mg": phase.max_mg,
                "infusions": phase.infusions,
                "trough_ng_ml": phase.trough_ng_ml.model_dump() if phase.trough_ng_ml else None,
                "duration_days": phase.duration_days.model_dump() if phase.duration_days else None,
                "source": phase.source,
                "note": phase.note,
            }
        )
    notes = [line.phase.note for line in doses if line.phase.note]
    lines += [f"  note: {note}" for note in notes]
    data = {"drug": drug, "protocol": chosen.name, "bsa_m2": bsa_m2, "phases": phases}
    _emit(as_json, data, lines, [])


def _mg(dose: Any) -> str:
    low, high = dose.min, dose.max
    return f"{low:.1f}" if math.isclose(low, high) else f"{low:.1f}–{high:.1f}"


# --- synth ---------------------------------------------------------------------------------


@app.command("synth")
@_reports_errors
def _synth(
    patients: Annotated[
        int | None, typer.Option(help="Number of children (default 5000 for the report).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same cohort.")
    ] = 1,
    out: Annotated[Path | None, typer.Option(help="The folder to write.")] = None,
    fmt: Annotated[
        Literal["csv", "parquet"], typer.Option("--format", help="csv or parquet.")
    ] = "csv",
    profile: Annotated[str, typer.Option(help="A shipped profile or a .toml file.")] = "seed2023",
    truth: Annotated[bool, typer.Option("--truth", help="Also write the ground truth.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
    calibration_report: Annotated[
        bool,
        typer.Option("--calibration-report", help="Print each calibrated figure and its verdict."),
    ] = False,
) -> None:
    """Generate a synthetic SRNS cohort (invented children), or its calibration report."""
    from srnskit.synth.calibration import calibrate
    from srnskit.synth.generate import write_synthetic_cohort
    from srnskit.synth.profile import load_profile

    if patients is not None and patients < 1:
        raise UsageError(f"--patients must be at least 1, not {patients}")
    if seed < 0:
        raise UsageError(f"--seed must be 0 or more, not {seed}")
    chosen = load_profile(profile)
    if calibration_report:
        _print_calibration(calibrate(chosen, patients=patients or 5000, seed=seed))
        return
    if out is None:
        raise UsageError("--out is required (the folder to write the cohort to)")
    count = patients or 5000
    with _progress(count) as advance:
        summary = write_synthetic_cohort(
            out,
            profile=chosen,
            patients=count,
            seed=seed,
            fmt=fmt,
            with_truth=truth,
            force=force,
            on_chunk=advance,
        )
    typer.echo(
        f"wrote {out}: {summary.patients} children, {summary.measurements} measurements "
        f"({summary.rows_per_patient:.1f} a child){' and the truth' if truth else ''} "
        f"in {summary.seconds:.1f} s"
    )


def _print_calibration(results: list[Any]) -> None:
    typer.echo(f"{'figure':48} {'target':>9} {'generated':>10} {'tolerance':>10}  verdict")
    for result in results:
        value = "—" if result.value is None else f"{result.value:10.2f}"
        verdict = "ok" if result.passed else "OUT OF TOLERANCE"
        typer.echo(
            f"{result.figure.name:48} {result.target:9.2f} {value:>10} "
            f"{'±' + format(result.figure.tolerance, 'g'):>10}  {verdict}"
        )
    passed = sum(r.passed for r in results)
    typer.echo(f"{passed} of {len(results)} figures within tolerance")


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for long runs (more than one chunk); silent otherwise."""
    from rich.progress import Progress

    from srnskit.synth.generate import CHUNK_PATIENTS

    if total <= CHUNK_PATIENTS or not sys.stderr.isatty():
        yield lambda _: None
        return
    with Progress(transient=True) as bar:
        task = bar.add_task("children", total=total)
        yield lambda done: bar.advance(task, done)


# --- derive and explain --------------------------------------------------------------------

DefinitionsOption = Annotated[
    str, typer.Option("--definitions", help="seed2023, kdigo2021, ipna2020 or a .toml file.")
]


@app.command("derive")
@_reports_errors
def _derive(
    cohort: CohortPath,
    out: Annotated[Path, typer.Option(help="The folder to write the derived tables to.")],
    definitions: DefinitionsOption = "kdigo2021",
    engine: Annotated[
        Literal["duckdb", "spark"], typer.Option(help="duckdb (default) or spark.")
    ] = "duckdb",
    spark_master: Annotated[
        str | None, typer.Option(help="Spark master URL (default local[2] or $SPARK_MASTER).")
    ] = None,
    fmt: Annotated[
        Literal["csv", "parquet"], typer.Option("--format", help="csv or parquet.")
    ] = "csv",
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
    today: TodayOption = None,
) -> None:
    """Episodes, courses and patient outcomes under a definition set (all or nothing)."""
    from srnskit.atomic import check_output_directory
    from srnskit.cohort.load import read_cohort
    from srnskit.definitions.model import load_definitions
    from srnskit.engine.derive import derive
    from srnskit.outputs.writers import write_derived

    chosen = load_definitions(definitions)
    check_output_directory(out, force=force)
    loaded = read_cohort(cohort, today=_reference_date(today))
    for warning in loaded.warnings:
        typer.echo(str(warning), err=True)
    derived = derive(loaded, chosen, engine=engine, spark_master=spark_master)
    write_derived(derived, out, fmt=fmt, force=force)
    included = derived.flow["steps"][-1]["remaining"]
    typer.echo(
        f"wrote {out}: {derived.patient_outcomes.num_rows} patients ({included} included), "
        f"{derived.courses.num_rows} courses, {derived.episodes.num_rows} episodes under "
        f"{chosen.name}"
    )


@app.command("explain")
@_reports_errors
def _explain(
    cohort: CohortPath,
    patient_id: Annotated[str, typer.Argument(help="The patient to explain.")],
    definitions: DefinitionsOption = "kdigo2021",
    today: TodayOption = None,
) -> None:
    """One patient's story, in order, with the evidence for every label."""
    from srnskit.cohort.load import read_cohort
    from srnskit.definitions.model import load_definitions
    from srnskit.outputs.explain import explain

    chosen = load_definitions(definitions)
    loaded = read_cohort(cohort, today=_reference_date(today))
    for line in explain(loaded, patient_id, chosen):
        typer.echo(line)


@app.command("report")
@_reports_errors
def _report(
    cohort: Annotated[
        Path | None,
        typer.Argument(
            help="A cohort folder, workbook or DuckDB file (default: the bundled demo cohort).",
            exists=True,
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="The HTML report to write.")] = Path("report.html"),
    definitions: DefinitionsOption = "kdigo2021",
    pdf: Annotated[Path | None, typer.Option(help="Also write the report as PDF.")] = None,
    figures: Annotated[
        Path | None, typer.Option(help="A folder for the figures (SVG and 300-dpi PNG).")
    ] = None,
    tables: Annotated[Path | None, typer.Option(help="A folder for the tables (CSV).")] = None,
    compare_seed: Annotated[
        bool,
        typer.Option(
            "--compare-seed", help="Set each published figure of the article beside this cohort's."
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace existing outputs.")] = False,
    today: TodayOption = None,
) -> None:
    """The study report: the article's Results for this cohort (HTML, optional PDF)."""
    from srnskit.atomic import check_output_directory
    from srnskit.definitions.model import load_definitions
    from srnskit.outputs.report.build import build_report, load_for_report, write_report

    chosen = load_definitions(definitions)
    for folder in (figures, tables):
        if folder is not None:
            check_output_directory(folder, force=force)
    for file in (out, pdf):
        if file is not None and file.exists() and not force:
            raise UsageError(f"{file} already exists; use --force to replace it")
    reference = _reference_date(today)
    loaded, demo = load_for_report(cohort, reference)
    for warning in loaded.warnings:
        typer.echo(str(warning), err=True)
    report = build_report(loaded, chosen, today=reference, compare_seed=compare_seed or demo)
    write_report(report, out, pdf=pdf, figures_dir=figures, tables_dir=tables, force=force)
    included = report.study.flow["steps"][-1]["remaining"]
    typer.echo(f"report of {loaded.name} ({included} children included, {chosen.name}):")
    for path in (out, pdf, figures, tables):
        if path is not None:
            typer.echo(f"  {path.resolve()}")


def main() -> None:
    """Entry point of the ``srnskit`` console script."""
    app(prog_name="srnskit")


if __name__ == "__main__":
    main()
