"""The maintained aggregates and the raw rows give identical reports (registry.reporting.report_sources)."""

import pytest
from sqlalchemy import select

from registry.models import Condition, Treatment
from registry.platform.extensions import db
from registry.reporting.report_sources import CellSource, RawSource
from reports import outcomes
from reports.disclosure import Policy
from reports.filters import Filters


@pytest.fixture
def seeded(make, runner):
    for name in ["Sumatriptan", "Topiramate", "Propranolol", "Erenumab", "Yoga"]:
        make.treatment(name, kind="other")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "topiramate", "propranolol", "erenumab", "yoga"])
    assert runner.invoke(args=["seed-demo", "--experiences", "2500", "--seed", "9"]).exit_code == 0


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(sex=("female",)),
        Filters(role=("patient", "caregiver")),
        Filters(age_band=("45_64", "65_plus"), years_since_diagnosis=("10_plus",)),
    ],
)
@pytest.mark.parametrize("policy", [Policy(mode="exact"), Policy(mode="perturb", key=b"sources-test")])
def test_cells_and_raw_rows_give_the_same_reports(seeded, ctx, filters, policy):
    condition = db.session.scalar(select(Condition))
    cells, raw = CellSource(db.session), RawSource(db.session)
    assert outcomes.condition_report(cells, condition, filters, policy) == outcomes.condition_report(
        raw, condition, filters, policy
    )
    chosen = db.session.scalars(select(Treatment).order_by(Treatment.id)).all()
    assert outcomes.treatments_report(cells, condition, chosen, filters, policy) == (
        outcomes.treatments_report(raw, condition, chosen, filters, policy)
    )
    assert cells.sizes(condition.id, filters) == raw.sizes(condition.id, filters)  # the same keys, the same noise


def test_cells_and_raw_rows_give_the_same_slices(seeded, ctx):
    condition = db.session.scalar(select(Condition))
    axes = ("using", "stopped", "dose", "year")
    cells = CellSource(db.session).slices(axes, condition.id)
    raw = RawSource(db.session).slices(axes, condition.id)
    order = ["treatment_id", "axis", "bucket"]
    cells, raw = cells.sort_values(order).reset_index(drop=True), raw.sort_values(order).reset_index(drop=True)
    assert len(cells) > 20 and set(cells["axis"]) == set(axes)
    assert cells.astype(str).equals(raw.astype(str))
