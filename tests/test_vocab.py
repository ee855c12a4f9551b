import pytest

from registry import vocab


@pytest.mark.parametrize(
    "typed, generic",
    [
        ("Ozempic", "Semaglutide"),
        ("Tylenol", "Acetaminophen"),
        ("Ambien CR", "Zolpidem"),
        ("Depakote ER", "Valproic Acid"),
        ("Wellbutrin XL 150 mg", "Bupropion"),
        ("prozac", "Fluoxetine"),
        ("metforminn", "Metformin"),  # misspelt
        ("Zolof", "Sertraline"),
        ("Norco", "Hydrocodone/acetaminophen"),  # combination brand
        ("Tylenol 3", "Acetaminophen/codeine"),
    ],
)
def test_resolve_drug_finds_the_generic(typed, generic):
    names = [match.name for match in vocab.resolve_drug(typed)]
    assert generic in names


def test_resolve_drug_keeps_ids_and_ignores_non_drugs():
    (semaglutide,) = vocab.resolve_drug("Ozempic")
    assert semaglutide.drugbank_id == "DB13928"
    assert "semaglutide" in semaglutide.keys
    assert vocab.resolve_drug("cognitive behavioural therapy") == []
    assert vocab.resolve_drug("x") == []


@pytest.mark.parametrize("raw, code", [("e11", "E11"), ("E119", "E11.9"), ("G43.909", "G43.909"), (" i10 ", "I10")])
def test_normalize_icd10_accepts_valid_codes(raw, code):
    assert vocab.normalize_icd10(raw) == code


@pytest.mark.parametrize("raw", ["", "XYZ", "E11.999", "12345", "E00-E89", "A0", "drop table"])
def test_normalize_icd10_rejects_malformed_codes(raw):
    assert vocab.normalize_icd10(raw) is None


def test_search_icd10_by_code_and_words():
    assert vocab.search_icd10("E11")[0] == ("E11", "Type 2 diabetes mellitus")
    hits = vocab.search_icd10("narcolepsy")
    assert any(code.startswith("G47.4") for code, _ in hits)
    assert vocab.search_icd10("zz") == []
