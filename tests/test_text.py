import pytest

from forms.text import clean, contact_details, fold, name_key, slugify


def test_name_key_ignores_case_spacing_accents_and_apostrophes():
    assert name_key("Crohn's disease") == name_key("  crohns   DISEASE ") == name_key("Crohn’s Disease")
    assert name_key("Sjögren syndrome") == name_key("sjogren syndrome")


def test_fold_keeps_words_and_strips_accents():
    assert fold("  Ménière's   Disease ") == "meniere's disease"


def test_slugify_and_clean():
    assert slugify("Type 2 Diabetes (adult)") == "type-2-diabetes-adult"
    assert slugify("!!!") == "item"
    assert clean("  two   words ") == "two words"


@pytest.mark.parametrize(
    "text",
    [
        '<a href="//evil.example/">free pills</a>',  # scheme-relative
        "see //evil.example/pills",
        "order at pills4u.shop",  # scheme-less, any spam TLD
        "cheap-meds.ru has it",
        "pills.example/buy",  # any name.tld with a path
        "buy at evil[.]com",  # masked dots
        "evil(dot)com",
        "evil dot com",
        "ｅｖｉｌ．ｃｏｍ",  # full-width
        "evil。com",  # ideographic full stop
        "evil.сom",  # Cyrillic "с"
        "hxxps://evil.example",
        "javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
    ],
)
def test_the_link_check_catches_disguised_links(text):
    assert "a link" in contact_details(text)


@pytest.mark.parametrize(
    "text",
    [
        "It helped.so I kept going",  # a missing space is not a domain
        "e.g. with food, i.e. at night",
        "Dr. Smith said 2.5mg/day and/or 1/2 dose",
        "The data: fewer headaches.",
        "Side effects eased after 2-3 weeks.",
    ],
)
def test_the_link_check_leaves_ordinary_text_alone(text):
    assert contact_details(text) == []


def test_strip_invisible_removes_overrides_and_hidden_characters():
    from forms.text import strip_invisible

    assert strip_invisible("\u202eevil\u202c") == "evil"
    assert strip_invisible("a\u200bb\u2066c\u2069d\ufeff\x07\U000e0041") == "abcd"
    assert strip_invisible("line one\nline two\ttab") == "line one\nline two\ttab"
    assert strip_invisible("👩\u200d⚕️ and \u0645\u200c\u06cc") == "👩\u200d⚕️ and \u0645\u200c\u06cc"  # joiners stay
    assert strip_invisible(None) is None


def test_thousands():
    from forms.text import thousands

    assert [thousands(8242), thousands(1234.5), thousands(6.53), thousands(12), thousands(None), thousands("x")] == [
        "8,242",
        "1,234.5",
        "6.53",
        "12",
        "",
        "x",
    ]
    assert thousands(True) == "True"
