"""The journeys of issue 9, each at a phone and a desktop size, in a real browser.

The `page` fixture (conftest.py) fails a test on any request off 127.0.0.1, console error or
script error, so every journey also checks that no page leaks a visit or breaks.
"""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd
from playwright.sync_api import expect

from scales import FLAG_REASON


def ranking_row(page, treatment: str):
    """The row of the condition page's ranking table for a treatment."""
    return page.locator("table.ranking tbody tr").filter(has=page.get_by_role("link", name=treatment, exact=True))


def choose(page, group: str, option: str) -> None:
    """Tick a radio button or checkbox inside a labelled group (fieldset)."""
    page.get_by_role("group", name=group).get_by_label(option, exact=True).check()


def test_patient_registers_consents_shares_edits_and_deletes(ui, page, viewport):
    ui.goto("/")
    page.get_by_role("link", name="Join").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Join the registry")
    ui.register(f"patient-{viewport}@e2e.example", f"patient-{viewport}")

    # The profile: optional "patients like me" answers and the research consent.
    page.get_by_label("Birth year").fill("1979")
    page.get_by_label("Sex").select_option(label="Female")
    page.get_by_label(re.compile("my answers may be used for research")).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    expect(page.get_by_text("Thank you: your answers may now be used for research.")).to_be_visible()

    # From a condition to sharing one's own experience with one of its treatments.
    ui.goto("/conditions/hypertension")
    expect(ranking_row(page, "Hydrochlorothiazide").locator("td.num").first).to_have_text("6")  # exact mode (conftest)
    page.get_by_role("link", name="Share your experience with a treatment for Hypertension").click()
    expect(page.get_by_label("Condition", exact=True)).to_have_value("hypertension")
    page.get_by_label("Treatment", exact=True).select_option(label="Hydrochlorothiazide")
    choose(page, "Who is this about?", "I have this condition")
    page.get_by_label("Year of diagnosis").fill("2015")
    page.get_by_label("Started").fill("2022-03")
    choose(page, "How well did it work?", "Moderate")
    choose(page, "Side effects at their worst", "Mild")
    page.get_by_label("Dizziness", exact=True).check()
    choose(page, "Overall satisfaction", "8")
    choose(page, "Would you recommend it to someone with the same condition?", "Yes")
    page.get_by_label("Tips for others").fill("Take it in the morning so that the night stays dry.")
    ui.screenshot("experience-form")
    page.get_by_role("button", name="Share my experience").click()
    expect(page.get_by_text("Your experience with Hydrochlorothiazide for Hypertension is saved.")).to_be_visible()

    # Counted on the condition page: the ranking and the chart's table of numbers.
    ui.goto("/conditions/hypertension")
    expect(ranking_row(page, "Hydrochlorothiazide").locator("td.num").first).to_have_text("7")
    chart_tables = page.locator("section.chart table")
    expect(chart_tables.first.locator("tr", has_text="Hydrochlorothiazide")).to_contain_text("7")

    # Edit it.
    page.get_by_role("link", name="My experiences").click()
    row = page.locator("tr", has_text="Hydrochlorothiazide")
    expect(row).to_contain_text("Moderate")
    row.get_by_role("link", name=re.compile("^Edit")).click()
    choose(page, "How well did it work?", "Major")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Your changes are saved.")).to_be_visible()
    expect(page.locator("tr", has_text="Hydrochlorothiazide")).to_contain_text("Major")

    # Delete it, after a confirmation.
    page.locator("tr", has_text="Hydrochlorothiazide").get_by_role("link", name=re.compile("^Delete")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your experience?")
    page.get_by_role("button", name="Delete it").click()
    expect(page.get_by_text("Your experience is deleted.")).to_be_visible()
    ui.goto("/conditions/hypertension")
    expect(ranking_row(page, "Hydrochlorothiazide").locator("td.num").first).to_have_text("6")  # exact mode (conftest)


def test_caregiver_shares_for_the_person_they_care_for(ui, page, viewport, live_server):
    ui.register(f"carer-{viewport}@e2e.example", f"carer-{viewport}")
    # The profile describes the person cared for (here a father born in 1948).
    expect(page.get_by_text("If you care for someone, describe the person you care for.")).to_be_visible()
    page.get_by_label("Birth year").fill("1948")
    page.get_by_label("Sex").select_option(label="Male")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()

    ui.goto("/conditions/type-2-diabetes/treatments/metformin")
    page.get_by_role("link", name="Share your experience with Metformin for Type 2 diabetes").click()
    expect(page.get_by_label("Treatment", exact=True)).to_have_value("metformin")
    choose(page, "Who is this about?", "I care for someone with this condition")
    page.get_by_label("Started").fill("2020-06")
    choose(page, "How well did it work?", "Slight")
    choose(page, "Side effects at their worst", "Moderate")
    choose(page, "Overall satisfaction", "6")
    choose(page, "Would you recommend it to someone with the same condition?", "Yes")
    page.get_by_role("button", name="Share my experience").click()
    expect(page.get_by_text("Your experience with Metformin for Type 2 diabetes is saved.")).to_be_visible()
    expect(page.locator("tr", has_text="Metformin")).to_contain_text("Type 2 diabetes")

    with live_server.app.app_context():
        from sqlalchemy import select

        from registry.accounts import auth
        from registry.models import Experience
        from registry.platform.extensions import db

        user = auth.find_user(f"carer-{viewport}@e2e.example")
        saved = db.session.scalars(select(Experience).where(Experience.user_id == user.id)).one()
        assert (saved.role, saved.age_band, saved.sex) == ("caregiver", "65_plus", "male")
        db.session.remove()


def test_visitor_searches_a_brand_compares_and_filters(ui, page, viewport):
    ui.goto("/")
    search = page.get_by_role("search").first
    search.get_by_role("searchbox").fill("Ozempic")
    search.get_by_role("button", name="Search").click()
    # The brand name finds the generic drug.
    page.get_by_role("link", name="Semaglutide", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Semaglutide")
    expect(page.locator("main p.muted").first).to_contain_text("Ozempic")

    # The drug page: its summary per condition; then Semaglutide for type 2 diabetes, compared with another treatment.
    expect(page.get_by_role("heading", name="For Type 2 diabetes")).to_be_visible()
    page.get_by_role("link", name="Full report and tips: Semaglutide for Type 2 diabetes", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Semaglutide for Type 2 diabetes")
    expect(page.locator("section.summary")).to_contain_text(re.compile(r"\d+ people reported"))  # protected: about 26
    page.get_by_role("link", name="Compare with other treatments for Type 2 diabetes").click()
    page.get_by_role("checkbox", name="Semaglutide", exact=True).check()
    page.get_by_role("checkbox", name="Metformin", exact=True).check()
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare treatments for Type 2 diabetes")
    figures = page.locator("section.chart")
    expect(figures.first.locator("table")).to_contain_text("Metformin")
    expect(figures.first.locator("table")).to_contain_text("Semaglutide")

    # "Patients like me": women, by the filter form.
    filters = page.locator("details.filters-box")
    if filters.get_attribute("open") is None:
        filters.locator("summary").click()
    filters.get_by_role("group", name="Sex").get_by_label("Female", exact=True).check()
    filters.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"sex=female"))
    expect(page).to_have_url(re.compile(r"t=semaglutide"))
    expect(page.locator("details.filters-box summary")).to_contain_text("filtered")
    # The women's numbers, each chart with its table.
    expect(page.get_by_text("Too few reports to show")).to_have_count(0)
    expect(page.locator("section.chart").first.locator("table tbody tr", has_text="Semaglutide")).to_have_count(1)
    for block in page.locator("section.chart").all():
        expect(block.locator("table tbody tr")).not_to_have_count(0)


def test_researcher_downloads_an_export_that_pandas_reads(ui, page, viewport):
    ui.login("researcher@e2e.example")
    ui.goto("/research")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the export", exact=True).click()
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.path()) as archive:
        assert "datapackage.json" in archive.namelist()
        frame = pd.read_csv(io.BytesIO(archive.read("experiences.csv")))
    assert len(frame) > 0
    assert {"condition", "treatment", "effectiveness", "satisfaction"} <= set(frame.columns)
    assert set(frame["effectiveness"].dropna()) <= {"worse", "none", "slight", "moderate", "major", "cant_tell"}
    assert "email" not in frame.columns


def test_moderator_hides_a_flagged_tip(ui, page, viewport, live_server):
    """Contract with the moderation work: Flag link -> form -> /moderation -> Hide."""
    tip = f"Order it from my cousin's website, it is cheaper ({viewport})."
    with live_server.app.app_context():
        from registry.contributions import experiences
        from registry.models import User
        from registry.platform.extensions import db

        author = User(
            email=f"author-{viewport}@e2e.example",
            pseudonym=f"author-{viewport}",
            pseudonym_key=f"author-{viewport}",
            password_hash="!",
            session_token=f"author-{viewport}",
        )
        db.session.add(author)
        db.session.flush()
        condition, treatment = experiences.by_slugs("obesity", "orlistat")
        saved = experiences.save(
            author,
            condition,
            treatment,
            {
                "role": "patient",
                "started": "2023-01",
                "effectiveness": "slight",
                "side_effect_severity": "mild",
                "satisfaction": 5,
                "would_recommend": "no",
                "tips": tip,
            },
        )
        db.session.commit()
        experience_id = saved.id
        db.session.remove()
    treatment_page = "/conditions/obesity/treatments/orlistat"

    # A participant flags the tip.
    ui.login("flagger@e2e.example")
    ui.goto(treatment_page)
    item = page.locator(".tips li", has_text=tip)
    expect(item).to_be_visible()
    flag = item.get_by_role("link", name="Flag this tip")
    expect(flag).to_have_attribute("href", re.compile(rf"/flag/tip/{experience_id}$"))
    flag.click()
    page.get_by_label(FLAG_REASON.label("misinformation"), exact=True).check()
    page.get_by_label("Note for the moderators (optional)").fill("Sends people to an unknown seller.")
    page.get_by_role("button", name="Send to moderators").click()
    expect(page.get_by_text(re.compile("A moderator will review"))).to_be_visible()
    ui.logout()

    # A moderator hides it.
    ui.login("moderator@e2e.example")
    page.get_by_role("link", name="Moderation").first.click()
    expect(page).to_have_url(re.compile(r"/moderation"))
    case = page.locator("li, article, section, tr", has_text=tip).last
    expect(case).to_be_visible()
    case.get_by_label("Reason (shown to the author)").fill("Buying medicines from unknown sellers is dangerous.")
    case.get_by_role("button", name="Hide").click()

    # The tip is gone from the public page.
    ui.logout()
    ui.goto(treatment_page)
    expect(page.get_by_role("heading", name="Tips from patients")).to_be_visible()
    expect(page.get_by_text(tip)).to_have_count(0)
