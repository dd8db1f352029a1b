"""The shared code lists (srnskit.sources.codes, mappings/codes.toml): every analyte, unit, drug
and event of the format has a code; the codes read by hand in published material map where that
material says; no code maps twice; a broken file is refused naming the entry."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from srnskit.schema import ADVERSE_EVENTS, ANALYTES, COHORT_TABLES, DRUGS
from srnskit.sources import codes
from srnskit.sources.codes import LOINC, RXNORM, SNOMED, CodeListError, load_code_lists

_SHIPPED = resources.files("srnskit.sources") / "mappings" / "codes.toml"


def _dose_units() -> tuple[str, ...]:
    column = next(c for c in COHORT_TABLES["treatments"].columns if c.name == "dose_unit")
    return column.allowed or ()


def _lab(loinc: str) -> codes.LabCode:
    found = codes.analyte_for_loinc(loinc)
    assert found is not None, loinc
    return found


# --- coverage of the format -------------------------------------------------------------------


@pytest.mark.parametrize("analyte", sorted(ANALYTES))
def test_every_analyte_and_unit_has_an_export_code_that_reads_back(analyte: str) -> None:
    for unit in [u.name for u in ANALYTES[analyte].units] or [None]:
        coding = codes.loinc_for(analyte, unit)
        found = codes.analyte_for(coding.system, coding.code)
        assert found is not None, (analyte, unit)
        assert found.analyte == analyte
        if unit is not None:
            assert unit in found.units


def test_every_format_unit_has_a_ucum_code_that_reads_back() -> None:
    for analyte in ANALYTES.values():
        for unit in analyte.units:
            assert codes.format_unit(codes.ucum_unit(unit.name), analyte.name) == unit.name
    for unit_name in _dose_units():
        assert codes.dose_unit(codes.ucum_unit(unit_name)) == unit_name


@pytest.mark.parametrize("drug", DRUGS)
def test_every_drug_has_an_export_code_that_reads_back(drug: str) -> None:
    coding = codes.coding_for("drug", drug)
    found = codes.drug_for(coding.system, coding.code)
    assert found is not None
    assert found.drug == drug


def test_every_event_adverse_event_histology_sex_and_dipstick_value_has_a_code() -> None:
    for event in ("dialysis_start", "dialysis_acute", "transplant"):
        coding = codes.coding_for("krt", event)
        assert codes.krt_event_for(coding.system, coding.code) == event
    for adverse_event in ADVERSE_EVENTS:
        if adverse_event == "other":
            with pytest.raises(KeyError):
                codes.coding_for("adverse_event", adverse_event)
            continue
        coding = codes.coding_for("adverse_event", adverse_event)
        assert codes.adverse_event_for(coding.system, coding.code) == adverse_event
    for histology in ("MCD", "FSGS", "DMP", "MN"):
        coding = codes.coding_for("histology", histology)
        assert codes.histology_for(coding.system, coding.code) == histology
    for value in ("neg", "trace", "1+", "2+", "3+", "4+"):
        coding = codes.coding_for("dipstick", value)
        assert codes.dipstick_value(coding.system, coding.code) == value
    female = codes.coding_for("sex", "F")
    assert (female.system, female.code) == ("http://hl7.org/fhir/administrative-gender", "female")
    death = codes.coding_for("death", "death")
    assert codes.is_death(death.system, death.code)
    nephrotic = codes.coding_for("condition", "nephrotic")
    assert codes.condition_is_nephrotic(nephrotic.system, nephrotic.code)


# --- codes read by hand in published material -------------------------------------------------


def test_upcr_codes_carry_their_unit_family() -> None:
    # LOINC 2890-2 "Protein/Creatinine [Mass Ratio] in Urine" (MIMIC-IV's LOINC map of
    # PROTEIN/CREATININE RATIO, URINE; OHDSI DQD concept 3001582 of that name): a mass ratio.
    upcr = codes.analyte_for_loinc("2890-2")
    assert upcr is not None
    assert (upcr.analyte, upcr.family) == ("upcr", "mass_ratio")
    assert "mg/mmol" not in upcr.units
    # 34366-5 "Protein/Creatinine [Ratio] in Urine": a ratio whose unit decides the family; it
    # is what mg/mmol exports write (LOINC has no mass/mole term that we could find).
    assert codes.loinc_for("upcr", "mg/mmol").code == "34366-5"
    assert codes.loinc_for("upcr", "mg/mg").code == "2890-2"


def test_creatinine_mass_and_molar_codes() -> None:
    # 14682-9 "Creatinine [Moles/volume] in Serum or Plasma", unit umol/L (HAPI FHIR test value
    # set; a German MII profile binds it to umol/L).
    molar = codes.analyte_for(LOINC, "14682-9")
    assert molar is not None
    assert (molar.analyte, molar.family, molar.units) == (
        "creatinine",
        "molar_concentration",
        ("umol/L",),
    )
    assert codes.loinc_for("creatinine", "umol/L").code == "14682-9"


def test_trough_and_24_hour_codes() -> None:
    # 11253-2 "Tacrolimus [Mass/volume] in Blood" (LOINC short name Tacrolimus Bld-mCnc);
    # 3520-4 "Cyclosporine [Mass/volume] in Blood" (Mayo Clinic Laboratories CYSPR result code);
    # 2889-4 "Protein [Mass/time] in 24 hour Urine" (Mayo Clinic Laboratories PTU result code).
    assert _lab("11253-2").analyte == "tac_trough"
    assert _lab("3520-4").analyte == "csa_trough"
    protein_24h = _lab("2889-4")
    assert (protein_24h.analyte, protein_24h.family) == ("uprot_24h", "mass_rate")
    # 53573-2 is cyclosporine *post dose* (C2), not a trough: not mapped.
    assert codes.analyte_for_loinc("53573-2") is None


def test_dipstick_codes() -> None:
    # US Core's example urine-protein Observation: 20454-5 "Protein [Presence] in Urine by Test
    # strip" valued SNOMED CT 260385009 "Negative".
    dipstick = _lab("20454-5")
    assert (dipstick.analyte, dipstick.units) == ("dipstick", ())
    assert codes.dipstick_value(SNOMED, "260385009") == "neg"
    # OHDSI vocabulary rows: LOINC answer LA11841-6 '1+', LA11832-5 'Trace'; SNOMED 260348001
    # '++'.
    assert codes.dipstick_value(LOINC, "LA11841-6") == "1+"
    assert codes.dipstick_value("LOINC", "LA11832-5") == "trace"
    assert codes.dipstick_value(SNOMED, "260348001") == "2+"


def test_ucum_spellings() -> None:
    # UCUM: a 24-hour rate is g/(24.h) (LOINC's example unit of 2889-4 and HL7 Switzerland's
    # ObservationDefinition of 24-hour creatinine); mercury millimetres are mm[Hg]; d is a day.
    assert codes.ucum_unit("g/24h") == "g/(24.h)"
    assert codes.ucum_unit("mmHg") == "mm[Hg]"
    assert codes.ucum_unit("mg/m2/day") == "mg/m2/d"
    # mg/d is 24-hour protein for a measurement and mg/day for a dose: the caller says which.
    assert codes.format_unit("mg/d", "uprot_24h") == "mg/24h"
    assert codes.dose_unit("mg/d") == "mg/day"
    # Not a unit of that analyte.
    assert codes.format_unit("mg/dL", "albumin") is None
    assert codes.format_unit("mg/dL", "creatinine") == "mg/dL"


def test_a_unit_loses_only_the_spaces_a_cohort_cell_loses() -> None:
    # A no-break space at an end is trimmed, as from a cohort's cell; a tab, a line break or
    # a line separator is not, so the unit is not one (a cohort file refuses it too).
    assert codes.format_unit("\u00a0umol/L ", "creatinine") == "umol/L"
    assert codes.dose_unit(" mg/d\u3000") == "mg/day"
    for end in ("\t", "\n", "\u2028"):
        assert codes.format_unit("umol/L" + end, "creatinine") is None
        assert codes.format_unit("UMOL/L" + end, "creatinine") is None
        assert codes.dose_unit("mg/d" + end) is None


# --- systems and code forms ----------------------------------------------------------------------


def test_a_system_is_a_fhir_uri_or_an_omop_vocabulary_id() -> None:
    assert codes.analyte_for("LOINC", "2890-2") == codes.analyte_for(LOINC, "2890-2")
    assert codes.drug_for("RxNorm", "68149") == codes.drug_for(RXNORM, "68149")
    assert codes.sex_for("Gender", "F") == "F"
    assert codes.sex_for("http://hl7.org/fhir/administrative-gender", "male") == "M"
    assert codes.sex_for("http://hl7.org/fhir/administrative-gender", "unknown") is None
    assert codes.analyte_for("http://example.org/local-lab", "2890-2") is None


def test_icd10_codes_with_or_without_dot_fall_back_to_their_parent() -> None:
    # ICD-10 N04 "Nephrotic syndrome"; the fourth character is the morphology (N04.1 focal and
    # segmental glomerular lesions).
    assert codes.condition_is_nephrotic("ICD10CM", "N04.1")
    assert codes.condition_is_nephrotic("http://hl7.org/fhir/sid/icd-10", "N041")
    assert codes.histology_for("ICD10", "N04.1") == "FSGS"
    assert codes.histology_for("ICD10CM", "N04.21") == "MN"  # a CM sub-code of N04.2
    assert not codes.condition_is_nephrotic("ICD10CM", "N05.1")
    assert codes.histology_for("ICD10CM", "N04.9") is None


def test_drug_codes() -> None:
    # OHDSI PhenotypeLibrary concept sets (Athena rows): RxNorm 68149 'mycophenolate mofetil',
    # 8640 'prednisone', 121191 'rituximab', each concept class Ingredient; HL7 PDDI IG value set
    # (tx.fhir.org expansion): RxNorm 3008 'Cyclosporine'.
    expected = {"68149": "mmf", "8640": "prednisone", "121191": "rituximab", "3008": "cyclosporine"}
    for cui, drug in expected.items():
        found = codes.drug_for_rxnorm(cui)
        assert found is not None, cui
        assert found.drug == drug
    # FDA GSRS: irbesartan is ATC C09CA04 (Angiotensin II antagonists, plain); any code under
    # C09AA (ACE inhibitors, plain) is an ACE inhibitor.
    assert (codes.drug_for("ATC", "C09CA04") or pytest.fail("C09CA04")).drug == "arb"
    assert (codes.drug_for("http://www.whocc.no/atc", "C09AA05") or pytest.fail("C09AA")).drug == (
        "acei"
    )
    assert codes.coding_for("drug", "arb").code == "C09CA"


def test_adverse_event_and_krt_codes() -> None:
    # OHDSI vocabulary rows: SNOMED 84828003 'Leukopenia', 38341003 'Hypertensive disorder';
    # 86276007 is 'Bleeding gums', not gingival hypertrophy: not mapped.
    assert codes.adverse_event_for(SNOMED, "84828003") == "leukopenia"
    assert codes.adverse_event_for(SNOMED, "38341003") == "hypertension"
    assert codes.adverse_event_for(SNOMED, "86276007") is None
    # SNOMED 302497006 'Hemodialysis', 71192002 'Peritoneal dialysis', 70536003 'Transplant of
    # kidney'; HCPCS G0491 dialysis for acute kidney injury without ESRD.
    assert codes.krt_event_for(SNOMED, "302497006") == "dialysis_start"
    assert codes.krt_event_for("SNOMED", "71192002") == "dialysis_start"
    assert codes.krt_event_for(SNOMED, "70536003") == "transplant"
    assert codes.krt_event_for("HCPCS", "G0491") == "dialysis_acute"
    assert codes.is_death(SNOMED, "419620001")


def test_mycophenolate_other_than_mofetil_keeps_the_course_not_the_dose() -> None:
    mofetil = codes.drug_for_rxnorm(codes.coding_for("drug", "mmf").code)
    assert mofetil is not None
    assert mofetil.keep_dose
    acid = codes.drug_for_rxnorm("7145")
    assert acid is not None
    assert (acid.drug, acid.keep_dose) == ("mmf", False)


def test_codings_lists_every_code_once_with_its_vocabulary() -> None:
    listed = codes.codings()
    assert len(listed) == len(set(listed))
    assert ("UCUM", "mm[Hg]") in {(c.vocabulary, c.code) for c in listed}
    assert all(c.vocabulary or c.system for c in listed)


def test_every_entry_has_a_source_and_confirmed_ones_say_where() -> None:
    data = tomllib.loads(_SHIPPED.read_text(encoding="utf-8"))
    for section, entries in data.items():
        if section in {"systems", "unit"}:
            continue
        for entry in entries:
            assert entry["source"].startswith("http"), entry
            assert isinstance(entry["confirmed"], bool), entry
            if entry["confirmed"]:
                assert entry.get("evidence"), entry


# --- a broken file is refused, naming the entry --------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "codes.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_code_mapped_to_two_targets_is_refused(tmp_path: Path) -> None:
    text = _SHIPPED.read_text(encoding="utf-8") + (
        '\n[[drug]]\nsystem = "rxnorm"\ncode = "68149"\ndisplay = "x"\ndrug = "tacrolimus"\n'
        'source = "https://example.org"\nconfirmed = false\n'
    )
    with pytest.raises(CodeListError, match=r"\[\[drug\]\] rxnorm '68149': listed twice"):
        load_code_lists(_write(tmp_path, text))


def test_a_drug_without_a_code_is_refused(tmp_path: Path) -> None:
    text = _SHIPPED.read_text(encoding="utf-8").replace('drug = "levamisole"', 'drug = "mmf"')
    with pytest.raises(CodeListError) as error:
        load_code_lists(_write(tmp_path, text))
    assert "drug: no code for 'levamisole'" in str(error.value)
    assert "a second preferred code for 'mmf'" in str(error.value)


def test_an_unknown_target_unit_or_key_is_refused(tmp_path: Path) -> None:
    shipped = _SHIPPED.read_text(encoding="utf-8")
    bad_event = shipped.replace('event = "hypertrichosis"', 'event = "hirsutism"')
    with pytest.raises(CodeListError, match="'hirsutism' is not one of"):
        load_code_lists(_write(tmp_path, bad_event))
    bad_unit = shipped.replace('format = "mg/kg/24h"', 'format = "mg/kg/h"')
    with pytest.raises(CodeListError) as error:
        load_code_lists(_write(tmp_path, bad_unit))
    assert "'mg/kg/h': not a measurement unit of the format" in str(error.value)
    assert "no UCUM unit for 'mg/kg/24h'" in str(error.value)
    typo = shipped.replace('analyte = "cystatin_c"', 'analyte = "cystatin_c"\nunit = "mg/L"')
    with pytest.raises(CodeListError, match=r"measurement\.\d+\.unit: Extra inputs"):
        load_code_lists(_write(tmp_path, typo))


def test_a_confirmed_code_without_evidence_is_refused(tmp_path: Path) -> None:
    text = _SHIPPED.read_text(encoding="utf-8") + (
        '\n[[adverse_event]]\nsystem = "snomed"\ncode = "1"\ndisplay = "x"\nevent = "infection"\n'
        'source = "https://example.org"\nconfirmed = true\n'
    )
    with pytest.raises(CodeListError, match="snomed '1': confirmed = true needs evidence"):
        load_code_lists(_write(tmp_path, text))
