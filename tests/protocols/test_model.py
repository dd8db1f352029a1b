"""Protocol files: every shipped file loads; typos and impossible values are refused clearly."""

from __future__ import annotations

import pytest

from srnskit.errors import DefinitionError, UsageError
from srnskit.protocols import load_protocol, shipped_protocols


@pytest.mark.parametrize("name", shipped_protocols())
def test_every_shipped_protocol_loads(name: str) -> None:
    protocol = load_protocol(name)
    assert protocol.name == name
    assert all(phase.source for phase in protocol.phase)


def test_sfnp_holds_the_article_doses() -> None:
    sfnp = load_protocol("sfnp")
    [cyclosporine] = sfnp.phases_of("cyclosporine")
    # [S] Methods: CsA 150–200 mg/m²/day, trough 100–300 ng/mL; MMF 600 mg/m²/day in two
    # doses; RTX 375 mg/m² per infusion, twice; prednisone 60 mg/m²/day for 4 weeks.
    assert (cyclosporine.dose_mg_m2.min, cyclosporine.dose_mg_m2.max) == (150, 200)
    assert cyclosporine.trough_ng_ml is not None
    assert (cyclosporine.trough_ng_ml.min, cyclosporine.trough_ng_ml.max) == (100, 300)
    [mmf] = sfnp.phases_of("mmf")
    assert (mmf.dose_mg_m2.max, mmf.divided_doses) == (600, 2)
    [rituximab] = sfnp.phases_of("rituximab")
    assert (rituximab.dose_mg_m2.max, rituximab.per, rituximab.infusions) == (375, "infusion", 2)
    assert sfnp.phases_of("prednisone")[0].dose_mg_m2.min == 60
    assert (sfnp.assessment.response_day, sfnp.assessment.window_days) == (120, 30)


def test_cyclosporine_doses_for_a_137_cm_32_kg_child() -> None:
    sfnp = load_protocol("sfnp")
    # BSA 1.1035 m² (clinical.md §7): 150 × 1.1035 = 165.5; 200 × 1.1035 = 220.7 mg/day,
    # in two doses of 82.8–110.4 mg
    [line] = sfnp.doses_for("cyclosporine", bsa_m2=sfnp.bsa_m2(height_cm=137, weight_kg=32))
    assert (line.dose_mg.min, line.dose_mg.max) == pytest.approx((165.53, 220.71), abs=0.01)
    assert (line.per_dose_mg.min, line.per_dose_mg.max) == pytest.approx((82.76, 110.35), 1e-3)


def test_prednisone_is_capped_at_60_mg_a_day() -> None:
    sfnp = load_protocol("sfnp")
    # 60 mg/m² × 1.5 m² = 90 mg, above the 60 mg/day cap
    first = sfnp.doses_for("prednisone", bsa_m2=1.5)[0]
    assert (first.dose_mg.min, first.dose_mg.max) == (60, 60)


def test_a_drug_the_protocol_does_not_dose_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="has no dose for tacrolimus"):
        load_protocol("sfnp").doses_for("tacrolimus", bsa_m2=1.0)


def _protocol(tmp_path, phase: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\ntitle = "t"\nsource = "s"\n'
        "[assessment]\nresponse_day = 120\nwindow_days = 30\n"
        f'[[phase]]\ndrug = "cyclosporine"\nname = "p"\nper = "day"\nschedule = "daily"\n'
        f'source = "s"\n{phase}\n'
    )
    return path


def test_a_protocol_with_min_above_max_is_refused(tmp_path) -> None:
    path = _protocol(tmp_path, "dose_mg_m2 = { min = 200, max = 150 }")
    with pytest.raises(DefinitionError) as caught:
        load_protocol(path)
    assert str(caught.value) == (f"{path}: phase.0.dose_mg_m2: min (200) is greater than max (150)")


def test_a_protocol_with_a_typo_names_the_key(tmp_path) -> None:
    path = _protocol(tmp_path, "dose_mg_m2 = { min = 150, max = 200 }\ntrough = 3")
    with pytest.raises(DefinitionError) as caught:
        load_protocol(path)
    assert str(caught.value) == f"{path}: phase.0.trough: unknown key (a typo?)"


def test_a_protocol_with_a_negative_dose_or_unknown_drug_is_refused(tmp_path) -> None:
    path = _protocol(tmp_path, "dose_mg_m2 = { min = -1, max = 200 }")
    with pytest.raises(
        DefinitionError, match=r"phase\.0\.dose_mg_m2\.min: Input should be greater"
    ):
        load_protocol(path)
    bad_drug = _protocol(tmp_path, "dose_mg_m2 = { min = 1, max = 2 }").read_text()
    path.write_text(bad_drug.replace('"cyclosporine"', '"ciclosporin"'))
    with pytest.raises(DefinitionError, match="'ciclosporin' is not a drug srnskit knows"):
        load_protocol(path)


def test_an_unknown_protocol_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no protocol named 'nice'; shipped: sfnp"):
        load_protocol("nice")
