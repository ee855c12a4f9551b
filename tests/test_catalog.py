"""Catalog domain: duplicate-safe additions and search (registry.catalog)."""

import pytest
from sqlalchemy import func, select

from registry import catalog, vocab
from registry.extensions import db
from registry.models import Condition, Treatment


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
    from registry import vocab

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
