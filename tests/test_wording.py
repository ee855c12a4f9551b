"""Shares in words (reports.wording)."""

import pytest

from reports import wording


@pytest.mark.parametrize(
    "share, about, likely",
    [
        ({"share": 0.62, "low": 0.55, "high": 0.68}, "about 6 in 10", "likely between 5 and 7 in 10"),
        ({"share": 0.5, "low": 0.0, "high": 0.95}, "about 5 in 10", "too few reports to say how likely"),
        ({"share": 0.2, "low": 0.0, "high": 0.45}, "about 2 in 10", "likely no more than 5 in 10"),
        ({"share": 0.8, "low": 0.62, "high": 1.0}, "about 8 in 10", "likely at least 6 in 10"),
        ({"share": 0.04, "low": 0.01, "high": 0.12}, "about 4 in 100", "likely between 1 and 12 in 100"),
        ({"share": 0.97, "low": 0.9, "high": 0.99}, "about 97 in 100", "likely between 90 and 99 in 100"),
        ({"share": 0.5, "low": 0.5, "high": 0.5}, "about 5 in 10", "likely about 5 in 10"),
    ],
)
def test_shares_in_words_never_narrower_than_the_interval(share, about, likely):
    assert wording.about(share["share"]) == about
    assert wording.likely(share) == likely


def test_numbers_in_text():
    assert wording.interval({"share": 0.62, "low": 0.554, "high": 0.681}) == "62% (55-68%)"
    assert wording.interval(None) == "" and wording.percent(None) == ""
    assert wording.count(8242) == "8,242" and wording.count(None) == ""


def test_the_summarys_small_print():
    assert wording.detail({"share": 0.39, "low": 0.14, "high": 0.66}) == "39%; 95% interval 14-66%"
    assert wording.detail(None) == ""
