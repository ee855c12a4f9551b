"""Following conditions: what changed since the participant's last visit to "What's new".

"Last visit" is when the participant last opened the What's new page: opening it shows the news
since then and starts a new period (the home page's short summary does not). For each followed
condition it tells:

- the number of reports added since then: a protected count of that set of reports (named by
  their key sum under a kind of its own), hidden under min_n ("too few to show": a few, or none);
- treatments that entered, moved in or left the *published* ranking, against the published
  ranking kept at the last visit (never raw counts);
- new public tips (moderation let them be public), which the treatment pages list anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload

from registry.models import Condition, ConditionFollow, Experience, Treatment, User
from registry.platform.database import now_utc
from registry.platform.extensions import db
from registry.reporting import cached_reports, release
from reports import followup as followup_reports
from reports.filters import Filters

MAX_FOLLOWS = 50  # a bound on the work of one What's new page
NEW_TIPS_LISTED = 5


def follow_of(user: User, condition: Condition) -> ConditionFollow | None:
    return db.session.get(ConditionFollow, (user.id, condition.id))


def _published_ranking(condition: Condition) -> list[tuple[str, str]]:
    """(slug, name) of the treatments the condition page shows, in its order (protected, unfiltered)."""
    return [(u.slug, u.name) for u in cached_reports.condition_report(condition, Filters()).shown]


def follow(user: User, condition: Condition) -> bool:
    """Follow a condition (the caller commits); True when followed (already or now), False at the limit."""
    if follow_of(user, condition) is not None:
        return True
    count = db.session.scalar(
        select(func.count()).select_from(ConditionFollow).where(ConditionFollow.user_id == user.id)
    )
    if count >= MAX_FOLLOWS:
        return False
    ranking = [slug for slug, _ in _published_ranking(condition)]
    db.session.add(ConditionFollow(user_id=user.id, condition_id=condition.id, seen_at=now_utc(), seen_ranking=ranking))
    return True


def unfollow(user: User, condition: Condition) -> None:
    """Stop following (the caller commits)."""
    row = follow_of(user, condition)
    if row is not None:
        db.session.delete(row)


def followed(user: User) -> list[tuple[ConditionFollow, Condition]]:
    """The participant's followed conditions, by name."""
    return db.session.execute(
        select(ConditionFollow, Condition)
        .join(Condition, Condition.id == ConditionFollow.condition_id)
        .where(ConditionFollow.user_id == user.id)
        .order_by(Condition.name)
    ).all()


@dataclass
class ConditionNews:
    """What is new for one followed condition since the last visit."""

    condition: Condition
    since: datetime
    new_reports: followup_reports.NewReports
    moves: list[followup_reports.RankingMove] = field(default_factory=list)
    new_tips: int = 0
    tips: list[Experience] = field(default_factory=list)
    ranking: list[str] = field(default_factory=list)  # the published ranking now (slugs), kept at a visit

    @property
    def anything(self) -> bool:
        return self.new_reports.shown or bool(self.moves) or bool(self.new_tips)


def _new_reports(condition: Condition, since: datetime) -> followup_reports.NewReports:
    """How much the condition's published total grew since the visit: two published numbers, subtracted.

    Nothing here is drawn afresh: re-saving or resubmitting a report moves neither total (releases
    publish a view only when enough people changed in it), so no one can average this count.
    """
    grown = release.published_total(db.session, condition.id) - release.published_total(db.session, condition.id, since)
    return followup_reports.published_growth(cached_reports.policy(), grown)


def _new_tips(condition: Condition, since: datetime):
    where = (
        Experience.condition_id == condition.id,
        Experience.tips.is_not(None),
        Experience.tips != "",
        Experience.text_state == "public",
        Experience.tips_published_at > since,
    )
    count = db.session.scalar(select(func.count(Experience.id)).where(*where))
    listed = db.session.scalars(
        select(Experience)
        .where(*where)
        .options(joinedload(Experience.treatment), joinedload(Experience.user))
        .order_by(Experience.tips_published_at.desc(), Experience.id.desc())
        .limit(NEW_TIPS_LISTED)
    ).all()
    return count, listed


def news_for(row: ConditionFollow, condition: Condition) -> ConditionNews:
    """What changed for one followed condition since the follow row's last visit."""
    now_ranking = _published_ranking(condition)
    names = dict(
        db.session.execute(
            select(Treatment.slug, Treatment.name).where(Treatment.slug.in_(row.seen_ranking or []))
        ).all()
    )
    count, tips = _new_tips(condition, row.seen_at)
    return ConditionNews(
        condition=condition,
        since=row.seen_at,
        new_reports=_new_reports(condition, row.seen_at),
        moves=followup_reports.ranking_moves(list(row.seen_ranking or []), now_ranking, names),
        new_tips=count,
        tips=tips,
        ranking=[slug for slug, _ in now_ranking],
    )


def news(user: User) -> list[ConditionNews]:
    """What changed for each followed condition since the last visit (nothing is marked seen)."""
    return [news_for(row, condition) for row, condition in followed(user)]


def visit(user: User) -> list[ConditionNews]:
    """Open What's new: the news since the last visit, then a new period starts (the caller commits)."""
    items = []
    now = now_utc()
    for row, condition in followed(user):
        item = news_for(row, condition)
        row.seen_at, row.seen_ranking = now, item.ranking
        items.append(item)
    return items


def move_follows(source_id: int, survivor_id: int) -> None:
    """A merge of duplicate conditions (registry.contributions.moderation): followers of the duplicate follow the survivor.

    Who followed both keeps the survivor's row (and its last visit).
    """

    have = select(ConditionFollow.user_id).where(ConditionFollow.condition_id == survivor_id)
    db.session.execute(
        delete(ConditionFollow).where(ConditionFollow.condition_id == source_id, ConditionFollow.user_id.in_(have))
    )
    db.session.execute(
        update(ConditionFollow).where(ConditionFollow.condition_id == source_id).values(condition_id=survivor_id)
    )
