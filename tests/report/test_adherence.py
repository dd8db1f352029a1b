"""Protocol adherence (clinical.md §7) on a hand-made patient, every number worked by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from srnskit.cohort import read_cohort
from srnskit.protocols.adherence import adherence
from srnskit.protocols.model import load_protocol


def test_one_cyclosporine_course_by_hand(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date\nA,F,2010-01-01,2018-01-01\n"
    )
    (tmp_path / "measurements.csv").write_text(
        "patient_id,date,analyte,value,unit\n"
        "A,2018-02-20,height,137,cm\n"  # 10 days before the start: nearest height
        "A,2018-03-05,weight,32,kg\n"  # 3 days after: nearest weight
        "A,2018-04-01,csa_trough,90,ng/mL\n"  # below 100
        "A,2018-05-01,csa_trough,150,ng/mL\n"  # in target
        "A,2018-06-01,csa_trough,300,ng/mL\n"  # in target (bounds inclusive)
        "A,2018-07-01,csa_trough,320,ng/mL\n"  # above 300
        "A,2018-06-25,upcr,0.1,mg/mg\n"  # day 116 from 2018-03-02: within ±30 of 120
        "A,2019-01-01,csa_trough,200,ng/mL\n"  # after the course ended: not counted
    )
    (tmp_path / "treatments.csv").write_text(
        "patient_id,drug,start_date,end_date,dose,dose_unit\n"
        "A,cyclosporine,2018-03-02,2018-09-30,180,mg/day\n"
        "A,mmf,2018-10-01,2018-11-30,1200,mg/m2/day\n"  # 60 days: no assessment due
    )
    cohort = read_cohort(tmp_path, today=dt.date(2026, 11, 28))
    treatments = cohort.table("treatments").df()
    treatments["active_end"] = treatments.end_date
    rows = adherence(cohort, treatments, load_protocol("sfnp")).set_index("drug")
    csa = rows.loc["cyclosporine"]
    # Mosteller: √(137 × 32 / 3600) = 1.10353 m²; 180 / 1.10353 = 163.1 mg/m²/day, in 150–200
    assert csa.dose_mg_m2 == 163.1
    assert bool(csa.dose_in_range) is True
    assert (csa.troughs, csa.troughs_in_target) == (4, 2)
    assert bool(csa.assessment_done) is True
    mmf = rows.loc["mmf"]
    assert mmf.dose_mg_m2 == 1200.0
    assert bool(mmf.dose_in_range) is False  # the article's MMF figure is 600 mg/m²/day
    assert pd.isna(mmf.assessment_done)  # ended before day 120: no assessment due
