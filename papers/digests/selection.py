"""What goes into each subscriber's digest.

Sections, in order: the community's trending papers of the period, then (for
accounts) new papers by followed authors, in followed categories and matching
followed keywords. A paper appears once per digest, and never in a digest if the same
subscription was sent it before (within DIGEST_HISTORY_DAYS; papers indexed earlier
than that are not offered at all, so the history window covers every candidate).

Everything is computed for a whole batch with a fixed number of queries, whatever its
size: the trending list once, the history of all the batch's subscriptions in one
query, each followed category and keyword once.
"""

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from accounts.models import FollowedAuthor, FollowedCategory, FollowedKeyword

from ..models import Authorship, Paper
from .models import DigestDelivery
from .periods import Period

TRENDING, AUTHORS, CATEGORY, KEYWORD = "trending", "authors", "category", "keyword"


def section(kind: str, label: str, papers: list[int]) -> dict:
    return {"kind": kind, "label": label, "papers": papers}


def paper_ids(sections: list[dict]) -> list[int]:
    return [pk for s in sections for pk in s["papers"]]


def matching_keyword(papers, keyword: str):
    """Full-text match on PostgreSQL (the generated search_vector of migration
    papers.0002); a substring match of title or abstract on SQLite."""
    if connection.vendor == "postgresql":
        match = RawSQL(
            "papers_paper.search_vector @@ websearch_to_tsquery('english', %s)",
            [keyword],
            output_field=BooleanField(),
        )
        return papers.alias(keyword_match=match).filter(keyword_match=True)
    return papers.filter(Q(title__icontains=keyword) | Q(abstract__icontains=keyword))


def choose_sections(subscriptions, period: Period, now: dt.datetime) -> dict[int, list[dict]]:
    """{subscription id: sections} for `subscriptions` (with pk and user_id loaded).
    An empty list means there is nothing new for that subscriber."""
    trending_count = settings.DIGEST_TRENDING_COUNT
    personal_count = settings.DIGEST_PERSONAL_COUNT
    history_start = now - dt.timedelta(days=settings.DIGEST_HISTORY_DAYS)
    offered = Paper.objects.visible().filter(created_at__gte=history_start)
    new = offered.filter(created_at__gte=period.since)
    # Enough candidates that a subscriber who has seen some still gets a full list.
    depth = 3

    trending = list(
        offered.featured_between(period.first, period.last)
        .ranked()
        .values_list("pk", flat=True)[: trending_count * depth]
    )
    seen_before = _sent_before([s.pk for s in subscriptions], history_start)

    user_ids = {s.user_id for s in subscriptions if s.user_id}
    authors, categories, keywords = _interests(user_ids)
    by_author = _new_by_author({a for ids in authors.values() for a in ids}, new)
    limit = personal_count * depth
    in_category = {
        c: list(new.in_category(c).ranked().values_list("pk", flat=True)[:limit])
        for c in sorted({c for cs in categories.values() for c in cs})
    }
    matching = {
        k: list(matching_keyword(new, k).ranked().values_list("pk", flat=True)[:limit])
        for k in sorted({k for ks in keywords.values() for k in ks})
    }

    chosen = {}
    for sub in subscriptions:
        seen = set(seen_before.get(sub.pk, ()))
        sections = []

        def take(kind, label, candidates, count, seen=seen, sections=sections):
            picked = []
            for pk in candidates:
                if pk not in seen:
                    picked.append(pk)
                    seen.add(pk)
                    if len(picked) == count:
                        break
            if picked:
                sections.append(section(kind, label, picked))

        take(TRENDING, "", trending, trending_count)
        if sub.user_id:
            followed = authors.get(sub.user_id, ())
            take(AUTHORS, "", _rank_union(by_author, followed), personal_count)
            for category in categories.get(sub.user_id, ()):
                take(CATEGORY, category, in_category[category], personal_count)
            for keyword in keywords.get(sub.user_id, ()):
                take(KEYWORD, keyword, matching[keyword], personal_count)
        chosen[sub.pk] = sections
    return chosen


def _sent_before(subscription_ids, since: dt.datetime) -> dict[int, set[int]]:
    seen = defaultdict(set)
    rows = (
        DigestDelivery.objects.filter(subscription_id__in=subscription_ids, created_at__gte=since)
        .exclude(paper_ids=[])
        .values_list("subscription_id", "paper_ids")
    )
    for subscription_id, ids in rows:
        seen[subscription_id].update(ids)
    return seen


def _interests(user_ids):
    authors, categories, keywords = defaultdict(list), defaultdict(list), defaultdict(list)
    if not user_ids:
        return authors, categories, keywords
    for user_id, author_id in FollowedAuthor.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "author_id"
    ):
        authors[user_id].append(author_id)
    for user_id, category in FollowedCategory.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "category"
    ):
        categories[user_id].append(category)
    for user_id, keyword in FollowedKeyword.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "keyword"
    ):
        keywords[user_id].append(keyword)
    return authors, categories, keywords


def _new_by_author(author_ids, new_papers) -> dict[int, list[tuple]]:
    """{author id: [(sort key, paper id)]} for new papers by those authors."""
    found = defaultdict(list)
    if not author_ids:
        return found
    rows = Authorship.objects.filter(author_id__in=author_ids, paper__in=new_papers).values_list(
        "author_id", "paper_id", "paper__upvote_count", "paper__published_at"
    )
    for author_id, paper_id, upvotes, published_at in rows:
        stamp = published_at.timestamp() if published_at else 0.0
        found[author_id].append(((-upvotes, -stamp, -paper_id), paper_id))
    return found


def _rank_union(by_author, author_ids) -> list[int]:
    """Papers by any of `author_ids`, ranked as Paper.ranked() ranks them."""
    ranked = sorted({entry for a in author_ids for entry in by_author.get(a, ())})
    return [paper_id for _, paper_id in ranked]
