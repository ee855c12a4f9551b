"""Tips from patients: listed newest or most helpful first, and voted on.

Privacy: the pages list tips unfiltered. A filtered list would tell each author's age, sex or role:
even without names, the same text appears with its author's pseudonym in the unfiltered list.
(`tip_page` takes filters for callers that show no pseudonym anywhere.) "Helped N people" is a
protected count (reports.disclosure), shown only when it reaches min_n; who voted is never shown.

A tip carries its author's own answers (satisfaction, time on it, dose band, side-effect severity,
role) only when the author ticked "Show my answers with my tip" on the form (Experience.tips_show_answers,
off by default). Everyone else's answers stay inside the protected numbers (docs/privacy.md, "Tips with
their teller's answers").
"""

from __future__ import annotations

import bisect

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

import scales
from registry.accounts import audit
from registry.models import Condition, Experience, TipVote, Treatment, User
from registry.platform.extensions import db
from registry.platform.pagination import Window
from registry.reporting.report_upkeep import dose_bucket, months_on
from reports import wording
from reports.disclosure import View
from reports.dose import DoseReport, band_label, common_dose
from reports.filters import Filters
from scales.i18n import N_
from scales.i18n import gettext as _

SORTS = {"newest": N_("Newest first"), "helpful": N_("Most helpful first")}  # English sources: sort_labels()
PER_PAGE = 10


def _policy():
    return current_app.extensions["disclosure"]


def _public_tips(condition: Condition, treatment: Treatment, filters: Filters):
    """The query of public tips for a pair under the filters (no order yet)."""
    query = select(Experience).where(
        Experience.condition_id == condition.id,
        Experience.treatment_id == treatment.id,
        Experience.tips.is_not(None),
        Experience.text_state == "public",
    )
    for name, codes in filters.active().items():
        query = query.where(getattr(Experience, name).in_(codes))
    return query


def helped(experience_id: int, votes: int) -> int | None:
    """The published "helped N people" of a tip: protected, and None under min_n (1-4 and 0 alike).

    The noise is drawn per (tip, true count): asking again gives the same number, and one more
    vote gives an independent draw, so a change never shows an exact +1.
    """
    if votes <= 0:
        return None
    protected = View(_policy(), f"tip:{experience_id}:{votes}").count("helped", votes)
    return protected if _policy().shown(protected, votes) else None  # appears by true count too


def _vote_counts(query) -> dict[int, int]:
    """True vote counts of the tips a query selects that have any vote."""
    ids = query.with_only_columns(Experience.id).scalar_subquery()
    rows = db.session.execute(
        select(TipVote.experience_id, func.count())
        .where(TipVote.experience_id.in_(ids))
        .group_by(TipVote.experience_id)
    )
    return dict(rows.all())


# Who told the tip, in a word beside it (the form's labels are first-person: "I have this condition").
ROLE_WORDS = {"patient": N_("Patient"), "caregiver": N_("Caregiver"), "survivor": N_("Had this condition")}


def sort_labels() -> dict[str, str]:
    """The tip list's orders, code -> label in the reader's language."""
    return {code: _(label) for code, label in SORTS.items()}


def _row(experience: Experience) -> dict:
    """The columns report_upkeep's months_on and dose_bucket read, from an experience."""
    return {
        name: getattr(experience, name)
        for name in ("started", "stopped", "updated_at", "dose_amount", "dose_unit", "dose_frequency")
    }


def dose_band(experience: Experience, dose: DoseReport | None) -> str | None:
    """The author's dose as the page's "By dose" band ("100 to under 150 mg a day"), or None.

    None when the page shows no bands (too few reports, or a single strength) or the dose is not in
    the banded measure: the band, not the exact dose, so a tip says no more than the page's own bands.
    """
    if dose is None or dose.suppressed or dose.measure is None or len(dose.edges) < 2:
        return None
    reported = common_dose(dose_bucket(_row(experience)))
    if reported is None or reported[0].label != dose.measure:
        return None
    measure, amount = reported
    band = max(0, bisect.bisect_right(dose.edges, amount) - 1)
    return f"{wording.shown(band_label(dose.edges, band, measure))} {wording.shown(dose.measure)}"


def shown_answers(experience: Experience, dose: DoseReport | None = None) -> list[tuple[str, str]]:
    """(question, answer) in plain words to show beside a tip; [] unless its author chose to show them."""
    if not experience.tips_show_answers:
        return []
    answers = []
    if experience.role:
        role = ROLE_WORDS.get(experience.role)
        answers.append((_("Told by"), _(role) if role else scales.ROLE.label(experience.role)))
    answers.append(
        (
            _("Satisfaction"),
            _("%(score)s out of %(most)s", score=experience.satisfaction, most=scales.SATISFACTION_MAX),
        )
    )
    months = months_on(_row(experience))
    if months is not None:
        band = scales.DURATION.label(scales.duration_band(max(months, 0)))
        time_on = _("%(band)s, stopped", band=band) if experience.stopped else _("%(band)s, still using it", band=band)
        answers.append((_("Time on it"), time_on))
    band = dose_band(experience, dose)
    if band:
        answers.append((_("Dose"), band))
    if experience.side_effect_severity:
        severity = scales.SIDE_EFFECT_SEVERITY.label(experience.side_effect_severity)
        answers.append((_("Side effects at their worst"), severity))
    return answers


class TipPage(Window):
    """A page of tips, each with its published helped count, and whether the reader voted for it."""

    def __init__(self, items, page, per_page, has_next, helped_counts, voted):
        self.items = items
        self.page, self.per_page, self.pages = page, per_page, None
        self.has_prev, self.has_next = page > 1, has_next
        self.prev_num, self.next_num = page - 1, page + 1
        self.helped = helped_counts
        self.voted = voted

    def answers(self, experience: Experience, dose: DoseReport | None = None) -> list[tuple[str, str]]:
        """The answers its author chose to show beside a tip on this page (shown_answers)."""
        return shown_answers(experience, dose)


def tip_page(
    condition: Condition,
    treatment: Treatment,
    filters: Filters,
    sort: str,
    page: int,
    reader: User | None = None,
    per_page: int = PER_PAGE,
) -> TipPage:
    """One page of public tips, newest first or most helpful first (shown helped counts, then newest)."""
    query = _public_tips(condition, treatment, filters).options(joinedload(Experience.user))
    newest = (Experience.updated_at.desc(), Experience.id.desc())
    counts = _vote_counts(_public_tips(condition, treatment, filters))
    shown = {eid: n for eid, n in ((eid, helped(eid, votes)) for eid, votes in counts.items()) if n is not None}
    if sort == "helpful" and shown:
        # Ordered by the published counts, not the true ones, so the order never tells more than the numbers.
        ranked = sorted(shown, key=lambda eid: -shown[eid])
        start = (page - 1) * per_page
        head_ids = ranked[start : start + per_page]
        by_id = {e.id: e for e in db.session.scalars(query.where(Experience.id.in_(head_ids))).unique()}
        head = sorted(
            (by_id[i] for i in head_ids if i in by_id), key=lambda e: (-shown[e.id], -e.updated_at.timestamp(), -e.id)
        )
        wanted = per_page - len(head)
        rest = (
            db.session.scalars(
                query.where(Experience.id.not_in(ranked))
                .order_by(*newest)
                .limit(wanted + 1)
                .offset(max(0, start - len(ranked)))
            )
            .unique()
            .all()
            if wanted
            else db.session.scalars(query.where(Experience.id.not_in(ranked)).limit(1)).unique().all()
        )
        items = head + rest[:wanted]
        has_next = start + per_page < len(ranked) or len(rest) > wanted
    else:
        window = Window(db.session, query.order_by(*newest), page, per_page)
        items, has_next = window.items, window.has_next
    voted = set()
    if reader is not None and items:
        voted = set(
            db.session.scalars(
                select(TipVote.experience_id).where(
                    TipVote.user_id == reader.id, TipVote.experience_id.in_([e.id for e in items])
                )
            )
        )
    return TipPage(items, page, per_page, has_next, {e.id: shown.get(e.id) for e in items}, voted)


def votable(experience_id: int) -> Experience | None:
    """The public tip a vote may go to, or None (no such tip, no tip text, or not public)."""
    tip = db.session.get(Experience, experience_id)
    if tip is None or not tip.tips or tip.text_state != "public":
        return None
    return tip


def vote(user: User, tip: Experience, helped_me: bool) -> bool:
    """Set (or take back) the participant's "this helped me"; idempotent. True when something changed.

    Audited like every write (the trail is for admins; the public sees only the protected count).
    The caller commits.
    """
    existing = db.session.get(TipVote, (tip.id, user.id))
    if helped_me == (existing is not None):
        return False
    if helped_me:
        db.session.add(TipVote(experience_id=tip.id, user_id=user.id))
    else:
        db.session.delete(existing)
    audit.record("tip.helped" if helped_me else "tip.unhelped", "tip", tip.id, actor=user)
    return True
