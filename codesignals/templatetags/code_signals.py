from django import template
from django.conf import settings
from django.utils import timezone

from papers import ranking

from ..models import signals_of

register = template.Library()


@register.filter
def compact(number) -> str:
    """7122 -> "7.1k", 123456 -> "123k", 950 -> "950": stars at a glance."""
    try:
        number = int(number)
    except (TypeError, ValueError):
        return ""
    if number < 1000:
        return str(number)
    if number < 10_000:
        return f"{number / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    if number < 1_000_000:
        return f"{number // 1000}k"
    return f"{number / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"


@register.filter
def signals(paper):
    """The paper's PaperSignals, or None (joined by Paper.objects.for_listing)."""
    return signals_of(paper)


@register.inclusion_tag("codesignals/_why_ranked.html")
def why_ranked(paper):
    """The paper's trending score now, term by term, by papers.ranking itself."""
    now = timezone.now()
    context = {"paper": paper, "trending_days": settings.TRENDING_DAYS}
    if not paper.daily_date:
        return context
    row = signals_of(paper)
    repository = row.repository if row else None
    stars_gained = max(repository.stars_gained, 0) if repository else 0
    weight = ranking.star_weight()
    age = ranking.age_hours(paper.daily_date, now)
    context.update(
        featured=True,
        in_window=(now.date() - paper.daily_date).days <= settings.TRENDING_DAYS,
        votes=paper.upvote_count,
        weight=f"{weight:g}",
        uses_stars=bool(weight),
        stars_gained=stars_gained,
        star_days=settings.STAR_VELOCITY_DAYS,
        star_votes=weight * stars_gained,
        hours=age,
        offset=f"{ranking.OFFSET_HOURS:g}",
        gravity=f"{ranking.GRAVITY:g}",
        divisor=ranking.decay(paper.daily_date, now),
        score=ranking.hot_score(paper.upvote_count, paper.daily_date, now, stars_gained),
    )
    return context


@register.inclusion_tag("codesignals/_ranking_stars.html")
def star_velocity_explained():
    return {
        "weight": f"{ranking.star_weight():g}",
        "uses_stars": bool(ranking.star_weight()),
        "star_days": settings.STAR_VELOCITY_DAYS,
    }


@register.filter
def artifact_lists(row):
    """(heading, kept items, full count, URL prefix on huggingface.co) for each kind."""
    return [
        ("Models", row.hf_models, row.models_count, ""),
        ("Datasets", row.hf_datasets, row.datasets_count, "datasets/"),
        ("Spaces", row.hf_spaces, row.spaces_count, "spaces/"),
    ]


@register.simple_tag
def star_velocity_days():
    return settings.STAR_VELOCITY_DAYS
