"""Trending score: Hacker News-style gravity on upvotes.

    score = votes / (age_hours + OFFSET_HOURS) ** GRAVITY

    votes         the paper's upvote count
    age_hours     hours since the start (UTC) of the day the paper was featured
    OFFSET_HOURS  2    keeps a brand-new paper's score finite and damps the first hours
    GRAVITY       1.8  how fast age wins over votes (Hacker News uses 1.8)

What that means in practice:

    votes   featured      score
    10      today (6 h)   10 / 8**1.8   = 0.24
    10      2 days ago    10 / 50**1.8  = 0.0088
    100     2 days ago    100 / 50**1.8 = 0.088
    40      1 day ago     40 / 26**1.8  = 0.11

The score is stored on Paper.rank_score (indexed) so the trending list is an index
scan. It changes in two ways: a vote rewrites it at once from the new count, and a
periodic task (papers.tasks.refresh_rank_scores) recomputes it as papers age.
Only papers featured in the last TRENDING_DAYS days are ranked.

Star velocity (issue 13), an optional term: with TRENDING_STAR_WEIGHT = w > 0,

    score = (votes + w * stars_gained) / (age_hours + OFFSET_HOURS) ** GRAVITY

where stars_gained is the stars the paper's GitHub repository gained over the last
STAR_VELOCITY_DAYS days (codesignals plugs it in: papers.hooks.set_rank_boost). w = 0, the default,
is the formula above exactly.
"""

import datetime as dt

from django.conf import settings

GRAVITY = 1.8
OFFSET_HOURS = 2.0


def featured_at(daily_date: dt.date) -> dt.datetime:
    return dt.datetime.combine(daily_date, dt.time.min, tzinfo=dt.UTC)


def age_hours(daily_date: dt.date, now: dt.datetime) -> float:
    return max((now - featured_at(daily_date)).total_seconds() / 3600.0, 0.0)


def decay(daily_date: dt.date | None, now: dt.datetime) -> float:
    """The divisor applied to the vote count; 0 for a paper that was never featured
    (it has no trending score)."""
    if daily_date is None:
        return 0.0
    return (age_hours(daily_date, now) + OFFSET_HOURS) ** GRAVITY


def star_weight() -> float:
    return settings.TRENDING_STAR_WEIGHT


def hot_score(
    votes: int, daily_date: dt.date | None, now: dt.datetime, stars_gained: int = 0
) -> float:
    divisor = decay(daily_date, now)
    return (votes + star_weight() * max(stars_gained, 0)) / divisor if divisor else 0.0
