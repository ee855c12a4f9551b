import pytest

from registry.catalog import vocab


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
        ("Norco", "Acetaminophen/hydrocodone"),  # combination brand
        ("Tylenol 3", "Acetaminophen/codeine"),
        # brands of generics and of combinations the drug package does not carry (registry/data/drug_brands.tsv)
        ("Camrese", "Ethinyl estradiol/levonorgestrel"),
        ("Chateal", "Ethinyl estradiol/levonorgestrel"),
        ("Beyaz", "Drospirenone/ethinyl estradiol/levomefolic acid"),
        ("Benzaclin", "Benzoyl peroxide/clindamycin"),
        ("Clindamax", "Clindamycin"),
        ("NyQuil", "Acetaminophen/dextromethorphan/doxylamine"),  # not benperidol (Anquil) misspelt
        ("DayQuil", "Acetaminophen/dextromethorphan/phenylephrine"),
        ("Aleve-D", "Naproxen/pseudoephedrine"),
        ("Sonata", "Zaleplon"),  # not thioridazine (Sonapax) misspelt
        ("Quillichew", "Methylphenidate"),
        ("Nexplanon", "Etonogestrel"),
        ("Junel Fe 1 / 20", "Ethinyl estradiol/norethindrone"),  # strengths are not two drugs
        ("Soma", "Carisoprodol"),  # a brand, not a misspelling of "soman"
        # misspellings
        ("Camrise", "Ethinyl estradiol/levonorgestrel"),
        ("lisinoprill", "Lisinopril"),
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
    # "glycerinum" is a synonym whose entry has no name: never offered as a nameless drug.
    assert all(match.name for match in vocab.resolve_drug("Glycerin"))
    assert all(match.name for match in vocab.resolve_drug("glycerinum"))


@pytest.mark.parametrize(
    "typed",
    [
        "Ethinyl estradiol / norgestimate",
        "Norgestimate / ethinyl estradiol",
        "norgestimate and ethinyl estradiol",
        "Norgestimate + Ethinyl Estradiol",
        "ethinyl estradiol-norgestimate",
        "Norgestimate, ethinyl estradiol",
        "Sprintec",
    ],
)
def test_a_combination_resolves_alike_in_any_order_and_with_any_joint(typed):
    (match,) = vocab.resolve_drug(typed)
    assert match.name == "Ethinyl estradiol/norgestimate"
    assert {"norgestimate ethinyl estradiol", "ethinyl estradiol norgestimate"} <= match.keys
    assert "norgestimate and ethinyl estradiol" in match.keys


@pytest.mark.parametrize("typed", ["Tylenol w/ codeine", "Tylenol 3 with codeine", "acetaminophen w/codeine"])
def test_a_combination_named_with_a_combination_lists_each_ingredient_once(typed):
    (match,) = vocab.resolve_drug(typed)
    assert match.name == "Acetaminophen/codeine" and [i.lower() for i in match.ingredients] == [
        "acetaminophen",
        "codeine",
    ]
    assert not match.fuzzy


@pytest.mark.parametrize("typed", ["Tylenol ES", "Tylenol 8 HR", "Tylenol Extra Strength", "Tylenol Maximum Strength"])
def test_tylenol_in_another_strength_is_acetaminophen_alone(typed):
    assert [(m.name, m.fuzzy) for m in vocab.resolve_drug(typed)] == [("Acetaminophen", False)]


@pytest.mark.parametrize("typed", ["Sertraline 50 mg", "sertraline 50mg", "Wellbutrin XL 150 mg", "Vitamin D 1000 IU"])
def test_a_strength_with_its_unit_apart_is_no_misspelling(typed):
    (match, *_) = vocab.resolve_drug(typed)
    assert not match.fuzzy


def test_a_misspelling_is_marked_fuzzy_and_far_names_are_not_guessed():
    (match,) = vocab.resolve_drug("Sprintek")
    assert match.name == "Ethinyl estradiol/norgestimate" and match.fuzzy
    assert not vocab.resolve_drug("Sprintec")[0].fuzzy
    assert vocab.resolve_drug("qwxzvbnm") == []
    assert vocab.resolve_drug("abcd") == []  # four letters: no edits allowed


def test_the_brand_list_names_known_ingredients():
    """Every ingredient of the brand list is one the drug vocabulary knows, or one of the few it lacks."""
    lacking = set()
    for brand, ingredients in vocab.read_brands():
        assert ingredients, brand
        lacking |= {i for i in ingredients if not vocab.is_drug_name(i)}
    assert lacking <= {"copper", "pamabrom", "ceramide", "hylan g-f 20"}, lacking


def test_the_file_is_built_once_by_another_process_and_named_by_what_it_holds(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_VOCABULARY_DIR", str(tmp_path))
    path = vocab.vocabulary_path()
    assert path.parent == tmp_path and vocab.digest() in path.name and not path.exists()
    calls = []
    monkeypatch.setattr(vocab.subprocess, "run", lambda args, check: calls.append(args) or path.write_bytes(b""))
    assert vocab.ensure_built() == path and vocab.ensure_built() == path
    assert len(calls) == 1 and calls[0][1:4] == ["-m", "registry.catalog.vocab", "build"]


def test_the_brand_list_changes_the_file_name(tmp_path, monkeypatch):
    before = vocab.digest()
    brands = tmp_path / "brands.tsv"
    brands.write_text("# comment\nFoozix\tmetformin\n", encoding="utf-8")
    monkeypatch.setattr(vocab, "BRANDS_FILE", brands)
    assert vocab.digest() != before
    assert vocab.read_brands() == [("Foozix", ["metformin"])]


def test_a_worker_keeps_the_vocabularies_out_of_its_heap():
    """The whole point of the file: resolving names reads SQLite, it never imports the packages."""
    import subprocess
    import sys

    code = (
        "import sys; from registry.catalog import vocab; vocab.resolve_drug('Camrese'); vocab.search_icd10('migraine');"
        "print(any(m in sys.modules for m in ('drug_named_entity_recognition', 'simple_icd_10_cm')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


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


def test_the_catalog_finds_a_combination_typed_in_another_order_and_its_brands(ctx):
    from registry.catalog import catalog

    held, _ = catalog.add_treatment("Norgestimate/ethinyl estradiol", "drug")
    for typed in ["Ethinyl estradiol / norgestimate", "ethinyl estradiol and norgestimate", "Sprintec", "Sprintek"]:
        hits = catalog.search_treatments(typed)
        assert hits and hits[0].slug == held.slug, typed
        again, created = catalog.add_treatment(typed, "drug")
        assert again.id == held.id and not created, typed


def test_a_brand_of_a_combination_the_catalog_lacks_is_offered_and_filed_under_its_ingredients(ctx):
    from registry.catalog import catalog

    (offer,) = [h for h in catalog.search_treatments("Camrese") if not h.in_catalog]
    assert offer.name == "Ethinyl estradiol/levonorgestrel"
    treatment, created = catalog.add_treatment("Camrese", "drug")
    assert created and treatment.name == "Ethinyl estradiol/levonorgestrel"
    again, created = catalog.add_treatment("Levonorgestrel + ethinyl estradiol", "drug")
    assert again.id == treatment.id and not created
    assert catalog.search_treatments("Chateal")[0].slug == treatment.slug


def test_gunicorn_builds_the_file_in_its_master_before_the_workers_start(monkeypatch):
    import importlib

    monkeypatch.setenv("REGISTRY_DB_POOL_SIZE", "4")  # the module sets it when absent
    conf = importlib.import_module("registry.web.gunicorn_conf")
    built = []
    monkeypatch.setattr(vocab, "ensure_built", lambda: built.append(True))
    conf.on_starting(server=None)
    assert built == [True]
    assert not hasattr(conf, "post_worker_init")  # no worker imports lifelines (60 MB) any more


def test_the_names_benchmark_counts_resolved_and_right_names(tmp_path):
    """benchmarks/names.py on a small fixture: a brand, a combination in another order, a wrong expectation, a miss."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "names.py"
    spec = importlib.util.spec_from_file_location("names_benchmark", path)
    names = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(names)
    fixture = tmp_path / "names.tsv"
    fixture.write_text(
        "# a fixture\ndrug_name\treviews\texpected\n"
        "Camrese\t3\tethinyl estradiol / levonorgestrel\n"
        "Norgestimate / ethinyl estradiol\t2\tnorgestimate / ethinyl estradiol\n"
        "Focalin XR\t1\tdexmethylphenidate\n"  # salts aside
        "Zoloft\t1\tfluoxetine\n"  # a wrong expectation counts as wrong
        "Qwxzvbnm\t1\tnothing\n",
        encoding="utf-8",
    )
    result = names.score(names.read_names(fixture), vocab.resolve_drug)
    assert result["names"] == 5 and result["misses"] == ["Qwxzvbnm"]
    assert result["resolved"] == 4 / 5 and result["right"] == 3 / 5
    assert result["resolved_reviews"] == 7 / 8 and result["right_reviews"] == 6 / 8
    assert [w[0] for w in result["wrong"]] == ["Zoloft"]
    assert names.slip("Sertraline", __import__("random").Random(1)) != "Sertraline"


def test_a_grown_worker_gives_freed_heap_back_after_a_request(monkeypatch):
    """gunicorn's post_request: malloc_trim once the worker passes REGISTRY_TRIM_ABOVE_MB, at most every 10 s."""
    import importlib

    monkeypatch.setenv("REGISTRY_DB_POOL_SIZE", "4")
    conf = importlib.import_module("registry.web.gunicorn_conf")
    trims = []

    class Libc:
        def malloc_trim(self, pad):
            trims.append(pad)

    monkeypatch.setattr(conf, "_libc", Libc())
    monkeypatch.setattr(conf, "_last_trim", [0.0])
    monkeypatch.setattr(conf, "_TRIM_ABOVE", 10**15)  # far above any process: nothing to do
    conf.post_request(None, None, {}, None)
    assert trims == []
    monkeypatch.setattr(conf, "_TRIM_ABOVE", 0)
    conf.post_request(None, None, {}, None)
    conf.post_request(None, None, {}, None)  # within 10 s of the last trim
    assert trims == [0]
    assert conf.os.environ.get("ARROW_DEFAULT_MEMORY_POOL") == "system"
