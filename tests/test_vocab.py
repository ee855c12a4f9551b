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


def test_a_synonym_without_data_is_skipped_not_a_key_error():
    # "Glycerin" fuzzily matches "glycerinum", a synonym whose entry has no name.
    assert all(match.name for match in vocab.resolve_drug("Glycerin"))


def test_icd10_words_must_start_a_word():
    codes = [code for code, _ in vocab.search_icd10("ambien", limit=50)]
    assert "B56.0" not in codes  # Gambiense trypanosomiasis: "ambien" only inside a word
    assert vocab.search_icd10("diabete")  # the start of a word still finds it


def test_is_drug_name_and_the_names_it_knows():
    assert vocab.is_drug_name("Ambien") and vocab.is_drug_name("metformin") and vocab.is_drug_name("Norco")
    assert not vocab.is_drug_name("migraine")
    sample = vocab.drug_names(sample=50, seed=1)
    assert len(sample) == 50 and sample == vocab.drug_names(sample=50, seed=1)
    assert len(vocab.drug_names()) > 50_000


def test_chapter_titles():
    titles = vocab.chapter_titles()
    assert len(titles) >= 21 and any("circulatory system" in t for t in titles)


def test_preload_loads_once_in_the_background(monkeypatch):
    started = []
    monkeypatch.setattr(vocab, "_preload_pid", None)
    monkeypatch.setattr(vocab, "_preload_thread", None)
    monkeypatch.setattr(vocab.threading, "Thread", lambda **kw: started.append(kw) or _NoThread())
    vocab.start_preload()
    vocab.start_preload()  # a second call in the same process starts nothing
    assert [kw["target"] for kw in started] == [vocab.preload]


class _NoThread:
    def start(self):
        pass

    def is_alive(self):
        return False


def test_a_fork_waits_for_the_preload_so_workers_get_it_whole(monkeypatch):
    joined = []

    class Running:
        def is_alive(self):
            return True

        def join(self):
            joined.append(True)

    monkeypatch.setattr(vocab, "_preload_thread", Running())
    vocab._finish_preload_before_fork()
    assert joined == [True]
