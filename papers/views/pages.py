"""Pages about the site (ranking, the API) and for crawlers."""

import datetime as dt
import json

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_cache_control

from .. import api, ranking

# --- About pages ------------------------------------------------------------------------


def about_ranking(request):
    # Worked examples, computed by papers.ranking itself so the page cannot drift from it.
    now = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)
    examples = []
    for votes, days_ago in [(10, 0), (40, 1), (10, 2), (100, 2), (100, 6)]:
        featured = now.date() - dt.timedelta(days=days_ago)
        examples.append(
            {
                "votes": votes,
                "days_ago": days_ago,
                "hours": ranking.age_hours(featured, now),
                "divisor": ranking.decay(featured, now),
                "score": ranking.hot_score(votes, featured, now),
            }
        )
    context = {
        "gravity": f"{ranking.GRAVITY:g}",
        "offset_hours": f"{ranking.OFFSET_HOURS:g}",
        "trending_days": settings.TRENDING_DAYS,
        "examples": examples,
    }
    return render(request, "papers/about_ranking.html", context)


def api_docs(request):
    context = {
        "example_pretty": json.dumps(api.example_json(), indent=2, ensure_ascii=False),
        "default_limit": api.DEFAULT_LIMIT,
        "max_limit": api.MAX_LIMIT,
    }
    return render(request, "papers/api_docs.html", context)


# --- Crawlers -----------------------------------------------------------------------------


def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        "Disallow: /search/",
        "Disallow: /api/daily_papers",
        "Disallow: /api/papers/",
        "",
        f"Sitemap: {settings.SITE_URL}{reverse('papers:sitemap')}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says: point them at the icon.
    Not permanent: the static URL carries a hash that changes with the file."""
    response = redirect(static("img/favicon.svg"))
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response
