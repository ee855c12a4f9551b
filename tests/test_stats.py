import pytest

from reports.stats import share_dict, wilson


@pytest.mark.parametrize(
    "successes, n, low, high",
    [(81, 263, 0.2553, 0.3662), (5, 10, 0.2366, 0.7634), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0)],
)
def test_wilson_matches_reference_values(successes, n, low, high):
    share, lo, hi = wilson(successes, n)
    assert share == successes / n
    assert lo == pytest.approx(low, abs=1e-4) and hi == pytest.approx(high, abs=1e-4)


def test_wilson_of_nothing_is_none_and_shares_are_rounded():
    assert wilson(0, 0) is None and share_dict(0, 0) is None
    assert share_dict(81, 263) == {"share": 0.308, "low": 0.2553, "high": 0.3662}


def test_three_glowing_reports_rank_below_three_hundred_good_ones():
    assert wilson(3, 3)[1] < wilson(240, 300)[1]
