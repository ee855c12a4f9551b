import pytest

import scales


def test_scales_match_the_domain_codes():
    assert scales.EFFECTIVENESS.codes == ("worse", "none", "slight", "moderate", "major", "cant_tell")
    assert scales.SIDE_EFFECT_SEVERITY.codes == ("none", "mild", "moderate", "severe", "very_severe")
    assert scales.ROLE.codes == ("patient", "caregiver", "survivor")
    assert scales.ACCOUNT_ROLE.codes == ("patient", "researcher", "moderator", "admin")
    assert "moderate" in scales.EFFECTIVENESS and "bogus" not in scales.EFFECTIVENESS
    assert scales.EFFECTIVENESS.label("cant_tell") == "Can't tell"


@pytest.mark.parametrize(
    "birth, year, band",
    [
        (2010, 2026, "under_18"),
        (2008, 2026, "18_29"),
        (1996, 2026, "30_44"),
        (1980, 2026, "45_64"),
        (1961, 2026, "65_plus"),
        (None, 2026, None),
    ],
)
def test_age_band(birth, year, band):
    assert scales.age_band(birth, year) == band


@pytest.mark.parametrize("diagnosed, band", [(2026, "lt_1"), (2025, "1_5"), (2021, "5_10"), (2016, "10_plus")])
def test_years_since_diagnosis(diagnosed, band):
    assert scales.years_since_diagnosis(diagnosed, 2026) == band
