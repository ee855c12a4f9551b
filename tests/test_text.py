from registry.text import clean, fold, name_key, slugify


def test_name_key_ignores_case_spacing_accents_and_apostrophes():
    assert name_key("Crohn's disease") == name_key("  crohns   DISEASE ") == name_key("Crohn’s Disease")
    assert name_key("Sjögren syndrome") == name_key("sjogren syndrome")


def test_fold_keeps_words_and_strips_accents():
    assert fold("  Ménière's   Disease ") == "meniere's disease"


def test_slugify_and_clean():
    assert slugify("Type 2 Diabetes (adult)") == "type-2-diabetes-adult"
    assert slugify("!!!") == "item"
    assert clean("  two   words ") == "two words"


def test_strip_invisible_removes_overrides_and_hidden_characters():
    from registry.text import strip_invisible

    assert strip_invisible("\u202eevil\u202c") == "evil"
    assert strip_invisible("a\u200bb\u2066c\u2069d\ufeff\x07\U000e0041") == "abcd"
    assert strip_invisible("line one\nline two\ttab") == "line one\nline two\ttab"
    assert strip_invisible("👩\u200d⚕️ and \u0645\u200c\u06cc") == "👩\u200d⚕️ and \u0645\u200c\u06cc"  # joiners stay
    assert strip_invisible(None) is None


def test_thousands():
    from registry.text import thousands

    assert [thousands(8242), thousands(1234.5), thousands(6.53), thousands(12), thousands(None), thousands("x")] == [
        "8,242", "1,234.5", "6.53", "12", "", "x",
    ]
    assert thousands(True) == "True"
