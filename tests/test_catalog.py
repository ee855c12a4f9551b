"""Catalog domain: duplicate-safe additions and search (registry.catalog.catalog)."""

import pytest
from sqlalchemy import func, select

from registry.catalog import catalog, vocab
from registry.models import Condition, Treatment
from registry.platform.extensions import db


def test_add_condition_matches_existing_names_and_synonyms(ctx):
    first, created = catalog.add_condition("Crohn's disease", "K50", ["Crohn disease"])
    assert created and first.icd10 == "K50" and first.slug == "crohns-disease"
    for typed in ["crohns   DISEASE", "Crohn’s Disease", "crohn disease"]:
        again, created = catalog.add_condition(typed)
        assert again.id == first.id and not created
    assert db.session.scalar(select(func.count(Condition.id))) == 1


def test_add_condition_rejects_a_malformed_icd_code(ctx):
    with pytest.raises(ValueError, match="not an ICD-10-CM code"):
        catalog.add_condition("Made-up condition", "Q99.999")
    assert db.session.scalar(select(func.count(Condition.id))) == 0


def test_add_treatment_files_a_brand_under_its_generic(ctx):
    treatment, created = catalog.add_treatment("Ozempic", "drug")
    assert created and treatment.name == "Semaglutide" and treatment.drugbank_id == "DB13928"
    again, created = catalog.add_treatment("semaglutide", "drug")
    assert again.id == treatment.id and not created
    wegovy, created = catalog.add_treatment("Wegovy", "drug")
    assert wegovy.id == treatment.id and not created
    assert db.session.scalar(select(func.count(Treatment.id))) == 1


def test_add_treatment_non_drug_keeps_its_name(ctx):
    therapy, created = catalog.add_treatment("Cognitive behavioural therapy", "therapy")
    assert created and therapy.name == "Cognitive behavioural therapy" and therapy.kind == "therapy"
    _, created = catalog.add_treatment("cognitive  behavioural THERAPY", "therapy")
    assert not created


def test_slugs_stay_unique(ctx):
    catalog.add_treatment("Yoga", "lifestyle")
    assert catalog._unique_slug(Treatment, "Yoga") == "yoga-2"


def test_search_treatments_resolves_brands_inside_and_outside_the_catalog(ctx):
    catalog.add_treatment("Semaglutide", "drug", ["Ozempic"])
    (hit, *_) = catalog.search_treatments("Ozempic")
    assert (hit.slug, hit.name, hit.in_catalog) == ("semaglutide", "Semaglutide", True)
    (offer, *_) = catalog.search_treatments("Lipitor")
    assert (offer.slug, offer.name, offer.in_catalog, offer.kind) == (None, "Atorvastatin", False, "drug")


def test_search_conditions_by_name_synonym_code_and_vocabulary(ctx):
    catalog.add_condition("Type 2 diabetes", "E11", ["Adult-onset diabetes"])
    assert catalog.search_conditions("diab")[0].slug == "type-2-diabetes"
    assert catalog.search_conditions("adult onset")[0].matched == "Adult-onset diabetes"
    assert catalog.search_conditions("E11")[0].slug == "type-2-diabetes"
    offers = catalog.search_conditions("narcolepsy")
    assert offers and offers[0].slug is None and offers[0].icd10.startswith("G47.4")


def test_doctor_matching_ignores_titles_case_and_accents(ctx):
    doctor, created = catalog.add_doctor("Dr. José García", "Neurology", "Málaga", "es")
    assert created and doctor.country == "ES"
    again, created = catalog.add_doctor("jose garcia", "neurology", "malaga", "ES")
    assert again.id == doctor.id and not created
    _, created = catalog.add_doctor("Jose Garcia", "Neurology", "Madrid", "ES")
    assert created  # a namesake elsewhere is another doctor


def test_load_starter_catalog_is_idempotent_and_valid(ctx):
    from registry.catalog import vocab

    added = catalog.load_starter_catalog()
    assert added["conditions"] >= 40 and added["treatments"] >= 300
    assert catalog.load_starter_catalog() == {"conditions": 0, "treatments": 0, "links": 0}
    conditions = db.session.scalars(select(Condition)).all()
    assert all(vocab.normalize_icd10(c.icd10) == c.icd10 for c in conditions)
    assert all(c.treatments for c in conditions)


def test_search_ranks_catalog_hits_first_and_drops_drug_names_from_icd_text(ctx):
    catalog.add_treatment("Zolpidem", "drug", ["Ambien"])
    catalog.add_treatment("Zaleplon", "drug")
    assert catalog.search_conditions("Ambien") == []  # not "ambient air", not "Gambiense"
    (first, *rest) = catalog.search_treatments("Ambien")
    assert (first.slug, first.in_catalog) == ("zolpidem", True)
    assert all(not h.in_catalog for h in rest) or not rest


def test_vocabulary_offers_come_after_catalog_hits_and_are_few(ctx):
    catalog.add_condition("Type 2 diabetes", "E11")
    hits = catalog.search_conditions("type 2 diabetes")
    assert hits[0].slug == "type-2-diabetes"
    offers = [h for h in hits if not h.in_catalog]
    assert 0 < len(offers) <= catalog.VOCABULARY_OFFERS
    assert all(h.in_catalog for h in hits[: len(hits) - len(offers)])
    catalog.add_treatment("Metformin", "drug")
    treatments = catalog.search_treatments("metfor")
    assert treatments[0].slug == "metformin"
    assert len([h for h in catalog.search_treatments("statin") if not h.in_catalog]) <= catalog.VOCABULARY_OFFERS


def test_every_icd10_chapter_title_searches_without_error(ctx):
    for title in vocab.chapter_titles():
        hits = catalog.search_conditions(title)
        assert all(h.in_catalog or h.icd10 for h in hits), title
        hits = catalog.search_conditions(title.split(" (")[0])  # without the code range
        assert isinstance(hits, list)


# The full list (about 107,000 names) runs in benchmarks/vocabulary.py; the suite samples it.
SAMPLE = 2000


def test_a_large_random_sample_of_drug_names_searches_without_error(ctx):
    catalog.load_starter_catalog()
    found = 0
    for name in vocab.drug_names(sample=SAMPLE, seed=14):
        hits = catalog.search_treatments(name)
        assert all(h.name and (h.in_catalog or h.slug is None) for h in hits), name
        found += bool(hits)
    assert found > SAMPLE // 2  # most names the vocabulary knows are found


# --- conditions as reviewers write them (issue 27) ------------------------------------------------


def test_the_starter_catalog_knows_the_names_reviewers_use(ctx):
    catalog.load_starter_catalog()
    expected = {
        "Birth Control": "contraception",
        "Contraception": "contraception",
        "Emergency Contraception": "emergency-contraception",
        "Pain": "pain",
        "Chronic Pain": "chronic-pain",
        "Back Pain": "back-pain",
        "Diabetes, Type 2": "type-2-diabetes",
        "ADHD": "attention-deficit-hyperactivity-disorder",
        "High Blood Pressure": "hypertension",
        "Constipation, Chronic": "chronic-constipation",  # "A, B" read as "B A"
        "Bipolar Disorde": "bipolar-disorder",  # cut off at the end
        "Benign Essential Trem": "essential-tremor",
        "ibromyalgia": "fibromyalgia",  # cut off at the start
        "Smoking Cessation": "nicotine-dependence",
        "Vaginal Yeast Infection": "vaginal-yeast-infection",
    }
    assert {name: [c.slug for c in catalog.match_condition(name)] for name in expected} == {
        name: [slug] for name, slug in expected.items()
    }
    # Contraceptives and devices are treatments of contraception.
    contraception = catalog.find_condition("Birth control")
    linked = {t.slug: t.kind for t in contraception.treatments}
    assert linked["etonogestrel-implant"] == "device" and linked["copper-iud"] == "device"
    assert "norethindrone-ethinyl-estradiol" in linked and "medroxyprogesterone" in linked
    for typed in ("Ethinyl estradiol / norethindrone", "Nexplanon", "ParaGard", "Depo-Provera"):
        assert catalog.find_treatment(typed) is not None, typed


def test_broad_words_mean_several_conditions_and_are_never_one(ctx):
    catalog.load_starter_catalog()
    for word in ("Depression", "Anxiety", "Sinusitis"):
        found = catalog.match_condition(word)
        assert len(found) > 1, word
        assert catalog.find_condition(word) is None  # not silently one diagnosis
    assert [c.slug for c in catalog.match_condition("depression")][:2] == [
        "major-depressive-disorder",
        "persistent-depressive-disorder",
    ]
    with pytest.raises(ValueError, match="can mean Major depressive disorder"):
        catalog.add_condition("Depression")
    assert catalog.find_condition("Major depressive disorder").slug == "major-depressive-disorder"


def test_a_cut_off_name_matches_only_when_exactly_one_entry_fits(ctx):
    catalog.add_condition("Hepatitis B", "B18.1")
    catalog.add_condition("Panic disorder", "F41.0")
    catalog.add_condition("Panic attacks", "F41.0")
    assert catalog.match_condition("Hepatitis") == []  # a missing word is not a cut-off
    assert catalog.match_condition("Panic disorde")[0].slug == "panic-disorder"
    assert catalog.match_condition("Panic") == []  # too short, and two entries fit
    assert catalog.match_condition("Panic diso") == []  # more than three letters missing


def test_an_older_catalog_loses_broad_words_as_synonyms(ctx):
    condition, _ = catalog.add_condition("Major depressive disorder", "F33", ["Clinical depression"])
    from registry.models import ConditionSynonym

    condition.synonyms.append(ConditionSynonym(name="Depression", key="depression"))
    db.session.commit()
    catalog.load_starter_catalog()
    keys = {s.key for s in catalog.find_condition("Major depressive disorder").synonyms}
    assert "depression" not in keys and "clinical depression" in keys
