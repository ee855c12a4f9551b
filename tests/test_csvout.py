import pandas as pd

from reports.csvout import frame_to_csv, neutralize


def test_formula_cells_are_neutralized():
    assert neutralize('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    for start in ["+", "-", "@", "\t", "\r"]:
        assert neutralize(start + "1") == "'" + start + "1"
    assert neutralize("plain") == "plain" and neutralize(-3) == -3


def test_frame_to_csv_neutralizes_headers_and_cells_and_blanks_missing_values():
    frame = pd.DataFrame({"=Name": ["@sum(A1)", "ok"], "n": [1.5, None]})
    assert frame_to_csv(frame) == "'=Name,n\n'@sum(A1),1.5\nok,\n"
