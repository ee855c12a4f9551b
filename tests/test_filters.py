import pytest
from werkzeug.datastructures import MultiDict

from reports.filters import FilterError, Filters, parse_filters


def test_parse_one_value_per_dimension():
    filters = parse_filters(
        MultiDict([("sex", "female"), ("sex", "female"), ("role", "caregiver"), ("q", "x"), ("age_band", "")])
    )
    assert filters == Filters(role=("caregiver",), sex=("female",))
    assert filters.as_dict() == {"role": ["caregiver"], "age_band": [], "sex": ["female"], "years_since_diagnosis": []}
    assert filters.query_args() == [("role", "caregiver"), ("sex", "female")]


def test_two_values_of_one_dimension_are_refused():
    with pytest.raises(FilterError, match="one sex at a time"):
        parse_filters(MultiDict([("sex", "male"), ("sex", "female")]))


def test_no_filter_and_all_codes_filter_nothing():
    assert not parse_filters(MultiDict())
    every_role = MultiDict([("role", r) for r in ["patient", "caregiver", "survivor"]])
    assert not parse_filters(every_role)


@pytest.mark.parametrize("name, code", [("sex", "robot"), ("age_band", "18-29"), ("role", "doctor")])
def test_codes_outside_the_scale_are_refused(name, code):
    with pytest.raises(FilterError, match=name):
        parse_filters(MultiDict([(name, code)]))
