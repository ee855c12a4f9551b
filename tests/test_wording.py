"""Numbers in words (reports.wording)."""

import itertools
import re
from types import SimpleNamespace

import pytest

from reports import wording
from reports.disclosure import Policy


@pytest.mark.parametrize(
    "share, about, likely",
    [
        ({"share": 0.62, "low": 0.55, "high": 0.68}, "about 6 in 10", "likely between 6 and 7 in 10"),
        ({"share": 0.55, "low": 0.49, "high": 0.61}, "about 6 in 10", "likely between 5 and 6 in 10"),
        ({"share": 0.5, "low": 0.0, "high": 0.95}, "about 5 in 10", "too few reports to say"),
        ({"share": 0.2, "low": 0.0, "high": 0.38}, "about 2 in 10", "likely no more than 4 in 10"),
        ({"share": 0.8, "low": 0.62, "high": 1.0}, "about 8 in 10", "likely at least 6 in 10"),
        ({"share": 0.04, "low": 0.01, "high": 0.12}, "about 4 in 100", "likely between 1 and 12 in 100"),
        ({"share": 0.97, "low": 0.9, "high": 0.99}, "about 97 in 100", "likely between 90 and 99 in 100"),
        ({"share": 0.5, "low": 0.5, "high": 0.5}, "about 5 in 10", "likely about 5 in 10"),
        ({"share": 0.0, "low": 0.0, "high": 1.0}, "about 0 in 100", "too few reports to say"),
        ({"share": 0.0, "low": 0.0, "high": 0.43}, "about 0 in 100", "likely no more than 43 in 100"),  # 0 of 5
        ({"share": 0.45, "low": 0.2, "high": 0.75}, "about 5 in 10", "too few reports to say"),
    ],
)
def test_shares_in_words(share, about, likely):
    assert wording.about(share["share"]) == about
    assert wording.likely(share) == likely


@pytest.mark.parametrize("share", [0.5451, 0.55, 0.5549, 0.545])
def test_one_rounding_rule_the_same_55_percent_is_always_about_6_in_10(share):
    assert wording.percent(share) == "55%"
    assert wording.about(share) == "about 6 in 10"


def test_half_up_never_to_even():
    assert [wording.percent(x) for x in (0.005, 0.125, 0.445, 0.455, 0.995)] == ["1%", "13%", "45%", "46%", "100%"]
    assert [wording.about(x) for x in (0.15, 0.25, 0.35, 0.45, 0.65, 0.85)] == [
        f"about {n} in 10" for n in (2, 3, 4, 5, 7, 9)
    ]


def _read(words: str) -> tuple[int, int, int]:
    """(low, high, base) of likely()'s words."""
    if m := re.fullmatch(r"likely about (\d+) in (\d+)", words):
        return int(m[1]), int(m[1]), int(m[2])
    if m := re.fullmatch(r"likely between (\d+) and (\d+) in (\d+)", words):
        return int(m[1]), int(m[2]), int(m[3])
    if m := re.fullmatch(r"likely no more than (\d+) in (\d+)", words):
        return 0, int(m[1]), int(m[2])
    if m := re.fullmatch(r"likely at least (\d+) in (\d+)", words):
        return int(m[1]), int(m[2]), int(m[2])
    raise AssertionError(words)


GRID = [i / 100 for i in range(101)]


def test_the_words_paraphrase_the_interval_tightly_and_hold_the_about_figure():
    """Every interval on a grid: each end of the words is within half a unit of the interval's shown end."""
    checked = 0
    for low, share, high in itertools.combinations_with_replacement(GRID, 3):
        s = {"share": share, "low": low, "high": high}
        words = wording.likely(s)
        if high - low > wording.MAX_SPAN:
            assert words == "too few reports to say"
            continue
        w_low, w_high, base = _read(words)
        unit = 100 // base
        for said, end in ((w_low, low), (w_high, high)):
            assert abs(said * unit - wording.whole_percent(end)) <= unit / 2, (s, words)
        about = int(re.fullmatch(r"about (\d+) in \d+", wording.about(share))[1])
        assert w_low <= about <= w_high, (s, words, wording.about(share))
        assert abs(about * unit - wording.whole_percent(share)) <= unit / 2
        checked += 1
    assert checked > 50_000


def test_numbers_in_text():
    assert wording.interval({"share": 0.62, "low": 0.554, "high": 0.681}) == "62% (55-68%)"
    assert wording.interval(None) == "" and wording.percent(None) == ""
    assert wording.count(8242) == "8,242" and wording.count(None) == ""
    assert wording.people(1) == "1 person" and wording.people(1200) == "1,200 people"


def test_the_summarys_small_print_in_plain_words():
    assert wording.detail({"share": 0.39, "low": 0.14, "high": 0.66}) == "39%, likely 14-66%"
    assert wording.detail(None) == ""


def test_clear_only_under_the_span():
    assert wording.clear({"share": 0.5, "low": 0.3, "high": 0.7})
    assert not wording.clear({"share": 0.0, "low": 0.0, "high": 1.0})
    assert not wording.clear(None)


def test_the_noise_in_people_comes_from_the_policy():
    assert wording.noise(Policy(key=b"k")) == (
        "To protect each person, numbers may be off by one or two people (never more than 5)."
    )
    assert "up to 4 people (never more than 8)" in wording.noise(Policy(key=b"k", sigma=4, min_n=8))
    assert wording.noise(Policy(mode="exact")) == ""


def test_the_policy_says_most_counts_are_off_by_at_most_its_figure():
    """At least two published counts in three are within noise_people()[0] of the truth, and none beyond min_n."""
    policy = Policy(key=b"some key")
    most, at_most = policy.noise_people()
    offs = [abs(policy.view(key).count("n", 50) - 50) for key in range(3000)]
    assert sum(off <= most for off in offs) >= 2 / 3 * len(offs)
    assert sum(off <= most - 1 for off in offs) < 2 / 3 * len(offs)  # and the figure is not an overstatement
    assert max(offs) <= at_most


def test_rank_notes_explain_a_higher_share_ranked_lower():
    ranked = [
        ("a", {"share": 0.55, "low": 0.49, "high": 0.61}, 300),
        ("b", {"share": 0.86, "low": 0.45, "high": 0.98}, 7),
        ("c", {"share": 0.50, "low": 0.40, "high": 0.60}, 80),
        ("d", None, 5),
    ]
    assert wording.rank_notes(ranked) == {
        "b": "86% improved, from 7 reports: promising, but too few reports to rank higher yet"
    }
    notes = wording.rank_notes(ranked[:2], what="rated 9 or 10", reports="ratings")
    assert notes["b"] == "86% rated 9 or 10, from 7 ratings: promising, but too few ratings to rank higher yet"


def test_rank_notes_do_not_call_many_reports_too_few():
    ranked = [
        ("escitalopram", {"share": 0.51, "low": 0.49, "high": 0.53}, 3118),
        ("cbt", {"share": 0.52, "low": 0.48, "high": 0.55}, 826),
    ]
    assert wording.rank_notes(ranked) == {
        "cbt": "52% improved, from 826 reports, but its likely range starts at 48%, lower than those ranked above it"
    }


def _unit(name, share, low, high):
    return SimpleNamespace(name=name, improved={"share": share, "low": low, "high": high})


def test_the_compare_summary_says_who_did_better_by_how_much_and_how_sure():
    clear = wording.compare([_unit("Topiramate", 0.40, 0.33, 0.47), _unit("Sumatriptan", 0.75, 0.69, 0.81)])
    assert clear == (
        "Sumatriptan did better: about 8 in 10 improved, against about 4 in 10 with Topiramate "
        "(35 percentage points more). The difference is clear: it is larger than the uncertainty of either."
    )
    close = wording.compare([_unit("A", 0.55, 0.45, 0.65), _unit("B", 0.5, 0.4, 0.6)])
    assert "5 percentage points more" in close and "within the uncertainty" in close
    few = wording.compare([_unit("A", 0.9, 0.2, 1.0), _unit("B", 0.5, 0.4, 0.6)])
    assert few == "Too few reports yet to say which did better. Only B has enough to say: about 5 in 10 improved."
    assert "A" not in few.replace("say", "")  # the small group is not put in words
    assert wording.compare([_unit("A", 0.9, 0.8, 1.0)]) == ""
    assert "about as well" in wording.compare([_unit("A", 0.5, 0.4, 0.6), _unit("B", 0.5, 0.45, 0.55)])


def test_a_small_group_reads_as_small():
    wide = {"share": 0.0, "low": 0.0, "high": 1.0}
    narrow = {"share": 0.6, "low": 0.5, "high": 0.7}
    small = SimpleNamespace(improved=wide, severe=wide, recommended=None, not_covered=wide)
    assert wording.too_few(small)
    some = SimpleNamespace(improved=narrow, severe=wide, recommended=None, not_covered=wide)
    assert not wording.too_few(some)
    assert wording.unclear(some) == ["severe side effects", "insurance"]
