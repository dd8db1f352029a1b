"""Reading and checking the shared code lists (issue 20): ``mappings/codes.toml`` parsed into
its shape (pydantic: a typo in a key is an error naming it), checked against the cohort format
(``srnskit.schema``: every analyte, unit, drug, histology, dipstick value, sex, adverse event and
kidney replacement event has one export code; no code maps to two targets; every code names its
source) and indexed as ``CodeLists`` for the look-ups of ``srnskit.sources.codes``.

    lists = code_lists()              # the shipped file, loaded and checked once
    lists = load_code_lists(path)     # another file, same checks (CodeListError names each)
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from srnskit.schema import (
    ADVERSE_EVENTS,
    ANALYTES,
    COHORT_TABLES,
    DIPSTICK_LEVELS,
    DRUGS,
    EVENTS,
)
from srnskit.sources.code_types import (
    SYSTEM_URIS,
    UCUM,
    CodeListError,
    CodeLists,
    Coding,
    DrugCode,
    Kind,
    LabCode,
    key_code,
)

__all__ = ["code_lists", "load_code_lists"]

# --- the file's shape (pydantic: a typo in a key is an error naming it) ----------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _System(_Model):
    uri: str
    omop: str
    also: tuple[str, ...] = ()


class _Entry(_Model):
    system: str | tuple[str, ...]
    code: str
    display: str
    source: str
    confirmed: bool
    evidence: str | None = None
    note: str | None = None
    preferred: bool = False

    @property
    def systems(self) -> tuple[str, ...]:
        return (self.system,) if isinstance(self.system, str) else self.system


class _Measurement(_Entry):
    analyte: str
    family: str
    units: tuple[str, ...]
    preferred: bool | tuple[str, ...] = False  # type: ignore[assignment]

    def preferred_units(self) -> tuple[str, ...]:
        if self.preferred is True:
            return self.units or ("",)
        return () if self.preferred is False else self.preferred


class _Unit(_Model):
    format: str
    ucum: str
    also: tuple[str, ...] = ()
    kind: Literal["measurement", "dose"]


class _Dipstick(_Entry):
    value: str


class _Drug(_Entry):
    drug: str
    dose: bool = True


class _Condition(_Entry):
    target: Literal["nephrotic"]


class _Histology(_Entry):
    histology: str


class _Krt(_Entry):
    event: str


class _AdverseEvent(_Entry):
    event: str
    meddra: str | None = None
    ctcae: str | None = None


class _Sex(_Entry):
    sex: str


class _File(_Model):
    systems: dict[str, _System]
    measurement: tuple[_Measurement, ...]
    unit: tuple[_Unit, ...]
    dipstick: tuple[_Dipstick, ...]
    drug: tuple[_Drug, ...]
    condition: tuple[_Condition, ...]
    histology: tuple[_Histology, ...]
    krt: tuple[_Krt, ...]
    adverse_event: tuple[_AdverseEvent, ...]
    sex: tuple[_Sex, ...]
    death: tuple[_Entry, ...] = Field(min_length=1)


def _format_units() -> dict[str, str]:
    """Every unit of the format with its kind: the analytes' units, the treatments' dose units
    (cohort-format.md §2)."""
    units = {u.name: "measurement" for a in ANALYTES.values() for u in a.units}
    dose_column = next(c for c in COHORT_TABLES["treatments"].columns if c.name == "dose_unit")
    units.update(dict.fromkeys(dose_column.allowed or (), "dose"))
    return units


def _dipstick_values() -> tuple[str, ...]:
    """The format's dipstick values, one spelling per level (neg, trace, 1+ … 4+)."""
    seen: dict[float, str] = {}
    for name, level in DIPSTICK_LEVELS.items():
        seen.setdefault(level, name)
    return tuple(seen.values())


def _histologies() -> tuple[str, ...]:
    column = next(c for c in COHORT_TABLES["patients"].columns if c.name == "histology")
    return tuple(h for h in column.allowed or () if h != "other")


def load_code_lists(path: Path | None = None) -> CodeLists:
    """Read and check a code list file (default: the shipped ``mappings/codes.toml``).

    Checks: every analyte and unit of the format has a code (one preferred per analyte and
    unit), every unit a UCUM spelling, every drug, histology, dipstick value, sex, adverse
    event (but ``other``) and kidney replacement event an entry and one preferred code; no code
    (system + code) maps to two targets of one kind; each entry names a known system, a target
    of the format, a source, and evidence when confirmed. Raises ``CodeListError`` listing
    every problem, each naming its entry."""
    if path is None:
        text = (resources.files("srnskit.sources") / "mappings" / "codes.toml").read_text(
            encoding="utf-8"
        )
        name = "codes.toml"
    else:
        text = path.read_text(encoding="utf-8")
        name = path.name
    try:
        raw: dict[str, Any] = tomllib.loads(text)
        data = _File.model_validate(raw)
    except tomllib.TOMLDecodeError as error:
        raise CodeListError(f"{name}: not valid TOML: {error}") from error
    except ValidationError as error:
        lines = [
            f"{name}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        ]
        raise CodeListError("\n".join(lines)) from error
    return _Checker(name, data).build()


class _Checker:
    """Builds the indexes of a parsed file, collecting every problem."""

    def __init__(self, name: str, data: _File) -> None:
        self.name = name
        self.data = data
        self.problems: list[str] = []
        self.systems = {k: (s.uri, s.omop) for k, s in data.systems.items()}
        self.codings: list[Coding] = []
        self.seen: dict[str, set[tuple[str, str]]] = {}

    def problem(self, section: str, entry: _Entry | None, message: str) -> None:
        where = f"[[{section}]] {entry.systems[0]} {entry.code!r}: " if entry else f"{section}: "
        self.problems.append(f"{self.name}: {where}{message}")

    def coding(self, key: str, entry: _Entry) -> Coding:
        uri, vocabulary = self.systems.get(key, ("", ""))
        return Coding(uri, entry.code, entry.display, vocabulary)

    def build(self) -> CodeLists:
        system_keys = self.check_systems()
        labs, lab_preferred = self.check_measurements()
        units_in, ucum_of = self.check_units()
        drugs: dict[tuple[str, str], DrugCode] = {}
        targets: dict[str, dict[tuple[str, str], str]] = {}
        preferred: dict[str, dict[str, Coding]] = {}
        sections: dict[Kind, tuple[Iterable[_Entry], Any, tuple[str, ...], tuple[str, ...]]] = {
            # kind: (entries, target of an entry, allowed targets, targets needing a code)
            "drug": (self.data.drug, lambda e: e.drug, DRUGS, DRUGS),
            "condition": (self.data.condition, lambda e: e.target, ("nephrotic",), ("nephrotic",)),
            "histology": (
                self.data.histology,
                lambda e: e.histology,
                _histologies(),
                _histologies(),
            ),
            "krt": (
                self.data.krt,
                lambda e: e.event,
                EVENTS,
                ("dialysis_start", "dialysis_acute", "transplant"),
            ),
            "adverse_event": (
                self.data.adverse_event,
                lambda e: e.event,
                ADVERSE_EVENTS,
                tuple(a for a in ADVERSE_EVENTS if a != "other"),
            ),
            "sex": (self.data.sex, lambda e: e.sex, ("F", "M"), ("F", "M")),
            "death": (self.data.death, lambda e: "death", ("death",), ("death",)),
            "dipstick": (
                self.data.dipstick,
                lambda e: e.value,
                _dipstick_values(),
                _dipstick_values(),
            ),
        }
        for kind, (entries, target_of, allowed, needed) in sections.items():
            index: dict[tuple[str, str], str] = {}
            chosen: dict[str, Coding] = {}
            for entry in entries:
                target = target_of(entry)
                if target not in allowed:
                    self.problem(kind, entry, f"{target!r} is not one of {', '.join(allowed)}")
                    continue
                for key, coding in self.entry_codings(kind, entry):
                    index[key] = target
                    if kind == "drug":
                        assert isinstance(entry, _Drug)
                        drugs[key] = DrugCode(target, entry.dose, coding)
                if entry.preferred:
                    if target in chosen:
                        self.problem(kind, entry, f"a second preferred code for {target!r}")
                    chosen[target] = self.coding(entry.systems[0], entry)
            for target in needed:
                if target not in index.values():
                    self.problem(kind, None, f"no code for {target!r}")
                elif target not in chosen:
                    self.problem(kind, None, f"no preferred code for {target!r}")
            targets[kind] = index
            preferred[kind] = chosen
        if self.problems:
            raise CodeListError("\n".join(self.problems))
        return CodeLists(
            systems=self.systems,
            system_keys=system_keys,
            labs=labs,
            lab_preferred=lab_preferred,
            units_in=units_in,
            ucum_of=ucum_of,
            drugs=drugs,
            targets=targets,
            preferred=preferred,
            all_codings=tuple(dict.fromkeys(self.codings)),
        )

    def check_systems(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for key, system in self.data.systems.items():
            if key in SYSTEM_URIS and system.uri != SYSTEM_URIS[key]:
                self.problem(f"systems.{key}", None, f"uri must be {SYSTEM_URIS[key]}")
            for name in (system.uri, system.omop.casefold(), *system.also):
                if not name:
                    continue
                if name in keys and keys[name] != key:
                    self.problem(f"systems.{key}", None, f"{name!r} also names {keys[name]}")
                keys[name] = key
        return keys

    def entry_codings(self, section: str, entry: _Entry) -> list[tuple[tuple[str, str], Coding]]:
        """The (system key, code) keys of an entry, checked: known system, a source, evidence
        when confirmed, not listed twice in its section."""
        if not entry.source.strip():
            self.problem(section, entry, "no source")
        if entry.confirmed and not (entry.evidence or "").strip():
            self.problem(section, entry, "confirmed = true needs evidence (where it was read)")
        seen = self.seen.setdefault(section, set())
        keys = []
        for system in entry.systems:
            if system not in self.systems:
                self.problem(section, entry, f"unknown system {system!r}")
                continue
            key = (system, key_code(system, entry.code))
            if key in seen:
                self.problem(section, entry, "listed twice (a code maps to one target)")
                continue
            seen.add(key)
            coding = self.coding(system, entry)
            self.codings.append(coding)
            keys.append((key, coding))
        return keys

    def check_measurements(
        self,
    ) -> tuple[dict[tuple[str, str], LabCode], dict[tuple[str, str], Coding]]:
        labs: dict[tuple[str, str], LabCode] = {}
        chosen: dict[tuple[str, str], Coding] = {}
        for entry in self.data.measurement:
            analyte = ANALYTES.get(entry.analyte)
            if analyte is None:
                self.problem("measurement", entry, f"{entry.analyte!r} is not an analyte")
                continue
            names = [u.name for u in analyte.units]
            bad = [u for u in entry.units if u not in names]
            if bad:
                self.problem(
                    "measurement", entry, f"{bad} are not units of {entry.analyte} {names}"
                )
            if isinstance(entry.preferred, tuple):
                extra = [u for u in entry.preferred if u not in entry.units]
                if extra:
                    self.problem("measurement", entry, f"preferred {extra} not in its units")
            for key, coding in self.entry_codings("measurement", entry):
                labs[key] = LabCode(entry.analyte, entry.family, entry.units, coding)
            for unit in entry.preferred_units():
                if (entry.analyte, unit) in chosen:
                    self.problem(
                        "measurement",
                        entry,
                        f"a second preferred code for {entry.analyte} {unit or '(no unit)'}",
                    )
                chosen[(entry.analyte, unit)] = self.coding(entry.systems[0], entry)
        for analyte in ANALYTES.values():
            for unit in [u.name for u in analyte.units] or [""]:
                if (analyte.name, unit) not in chosen:
                    self.problem(
                        "measurement",
                        None,
                        f"no preferred code for {analyte.name} {unit or '(no unit)'}",
                    )
        return labs, chosen

    def check_units(self) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
        wanted = _format_units()
        units_in: dict[str, dict[str, str]] = {"measurement": {}, "dose": {}}
        ucum_of: dict[str, str] = {}
        uri, vocabulary = self.systems.get("ucum", (UCUM, "UCUM"))
        for unit in self.data.unit:
            where = f"[[unit]] {unit.format!r}"
            if wanted.get(unit.format) != unit.kind:
                self.problems.append(f"{self.name}: {where}: not a {unit.kind} unit of the format")
                continue
            if unit.format in ucum_of:
                self.problems.append(f"{self.name}: {where}: listed twice")
                continue
            ucum_of[unit.format] = unit.ucum
            self.codings.append(Coding(uri, unit.ucum, unit.ucum, vocabulary))
            for spelling in (unit.ucum, *unit.also):
                known = units_in[unit.kind].get(spelling)
                if known is not None and known != unit.format:
                    self.problems.append(
                        f"{self.name}: {where}: UCUM {spelling!r} is already {known!r}"
                    )
                units_in[unit.kind][spelling] = unit.format
        for missing in sorted(set(wanted) - set(ucum_of)):
            self.problems.append(f"{self.name}: [[unit]]: no UCUM unit for {missing!r}")
        return units_in, ucum_of


@cache
def code_lists() -> CodeLists:
    """The shipped code lists, loaded and checked once (``load_code_lists()``)."""
    return load_code_lists()
