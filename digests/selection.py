"""What goes into each subscriber's digest.

Sections, in order: the community's trending papers of the period (those featured on
a day of its window), then (for accounts) new papers by followed authors, in followed
categories and matching followed keywords, then the sections feature apps register
(sections.py: "Recommended for you"), whose papers carry a note saying why, and last
the notices feature apps register (sections.py: notifications folded into the digest).

"New" is the paper's own date: first published on arXiv (v1) in the window or up to
DIGEST_NEW_LOOKBACK_DAYS before it (arXiv announces a submission a day or more after
its v1 date, and an issue can go out before that day's announcement), or featured in
the window. Never the date we
indexed it: a backfill (OAI-PMH, a snapshot import) of old papers makes none of them
new, and a paper indexed long ago and featured today is in today's list.

A paper appears once per digest, and never in a digest if the same subscription was
sent it before, however long ago (DigestSentPaper, recorded by the claim; see its
docstring for why a table of pairs).

Everything of digests' own is computed for a whole batch with a fixed number of
queries, whatever its size: the trending list once, each followed category and keyword
once, and what the batch's subscriptions were sent of all those candidates in one
query. A registered section costs what its provider costs (recommendations: a few
queries per account); one that fails is left out of the digests, which still go.
"""

import datetime as dt
import logging
from collections import defaultdict

from django.conf import settings
from django.contrib.postgres.search import SearchQuery
from django.db import connection, transaction
from django.db.models import Q

from papers.models import Authorship, Paper
from papers.ranking import featured_at

from .models import DigestSentPaper, FollowedAuthor, FollowedCategory, FollowedKeyword
from .periods import Period
from .sections import registered, registered_notices

log = logging.getLogger(__name__)

TRENDING, AUTHORS, CATEGORY, KEYWORD = "trending", "authors", "category", "keyword"


def section(kind: str, label: str, papers: list[int], notes: list[str] | None = None) -> dict:
    """A section as stored with the delivery (JSON); `notes`, one per paper, say why."""
    sec = {"kind": kind, "label": label, "papers": papers}
    if notes is not None:
        sec["notes"] = notes
    return sec


def notice_section(kind: str, label: str, notices) -> dict:
    """A section of notices (sections.Notices) as stored with the delivery (JSON)."""
    return {
        "kind": kind,
        "label": label,
        "papers": [],
        "notices": [{"text": n.text, "url": n.url} for n in notices.items],
        "notice_ids": list(notices.ids),
        "stop_url": notices.stop_url,
        "more_url": notices.more_url,
    }


def paper_ids(sections: list[dict]) -> list[int]:
    return [pk for s in sections for pk in s["papers"]]


def matching_keyword(papers, keyword: str):
    """Full-text match on PostgreSQL (papers.models.SearchDocument); a substring
    match of title or abstract on SQLite."""
    if connection.vendor == "postgresql":
        query = SearchQuery(keyword, search_type="websearch", config="english")
        return papers.filter(search_document__vector=query)
    return papers.filter(Q(title__icontains=keyword) | Q(abstract__icontains=keyword))


def new_in(period: Period):
    """Papers new in `period`, for the personal sections (see the module docstring)."""
    lookback = dt.timedelta(days=settings.DIGEST_NEW_LOOKBACK_DAYS)
    start = featured_at(period.first - lookback)
    end = featured_at(period.last + dt.timedelta(days=1))
    return Paper.objects.visible().filter(
        Q(published_at__gte=start, published_at__lt=end)
        | Q(daily_date__gte=period.first, daily_date__lte=period.last)
    )


def choose_sections(subscriptions, period: Period) -> dict[int, list[dict]]:
    """{subscription id: sections} for `subscriptions` (with pk and user_id loaded).
    An empty list means there is nothing new for that subscriber."""
    trending_count = settings.DIGEST_TRENDING_COUNT
    personal_count = settings.DIGEST_PERSONAL_COUNT
    new = new_in(period)
    # Enough candidates that a subscriber who has seen some still gets a full list.
    depth = 3

    trending = list(
        Paper.objects.visible()
        .featured_between(period.first, period.last)
        .ranked()
        .values_list("pk", flat=True)[: trending_count * depth]
    )
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
    extras = _extra_candidates(user_ids, period, new, limit)
    notices = _notices(user_ids, period)
    candidates = set(trending).union(
        *in_category.values(),
        *matching.values(),
        *_paper_ids_by_author(by_author),
        *({pk for pk, _ in picks} for _, by_user in extras for picks in by_user.values()),
    )
    seen_before = _sent_before([s.pk for s in subscriptions], candidates)

    chosen = {}
    for sub in subscriptions:
        seen = set(seen_before.get(sub.pk, ()))
        sections = []

        def take(kind, label, candidates, count, notes=None, seen=seen, sections=sections):
            picked = []
            for pk in candidates:
                if pk not in seen:
                    picked.append(pk)
                    seen.add(pk)
                    if len(picked) == count:
                        break
            if picked:
                why = [notes[pk] for pk in picked] if notes is not None else None
                sections.append(section(kind, label, picked, why))

        take(TRENDING, "", trending, trending_count)
        if sub.user_id:
            followed = authors.get(sub.user_id, ())
            take(AUTHORS, "", _rank_union(by_author, followed), personal_count)
            for category in categories.get(sub.user_id, ()):
                take(CATEGORY, category, in_category[category], personal_count)
            for keyword in keywords.get(sub.user_id, ()):
                take(KEYWORD, keyword, matching[keyword], personal_count)
            for extra, by_user in extras:
                picks = by_user.get(sub.user_id, ())
                notes = dict(picks)
                take(extra.kind, extra.heading, [pk for pk, _ in picks], personal_count, notes)
            for notice, by_user in notices:
                if by_user.get(sub.user_id):
                    sections.append(
                        notice_section(notice.kind, notice.heading, by_user[sub.user_id])
                    )
        chosen[sub.pk] = sections
    return chosen


def record_sent(chosen: dict[int, list[dict]]):
    """Remember the papers of these digests for their subscriptions, for good, and tell
    the notices' providers which notices are claimed. In the claim's transaction: if the
    claim rolls back, so does this. A pair recorded twice raises IntegrityError (the
    claim's locks make that a bug, never a race)."""
    _record_notices(chosen)
    pairs = [(sub_id, pk) for sub_id, sections in chosen.items() for pk in paper_ids(sections)]
    if not pairs:
        return
    if connection.vendor == "postgresql":
        # ~2,000 pairs a batch: two arrays in one statement, not 2,000 model objects.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {DigestSentPaper._meta.db_table} (subscription_id, paper_id) "
                "SELECT * FROM unnest(%s::bigint[], %s::bigint[])",
                [[s for s, _ in pairs], [p for _, p in pairs]],
            )
        return
    DigestSentPaper.objects.bulk_create(
        DigestSentPaper(subscription_id=s, paper_id=p) for s, p in pairs
    )


def _extra_candidates(user_ids, period: Period, new, count: int):
    """[(registered section, {user id: [(paper id, note)]})], keeping only papers new in
    `period` (one query for all of them)."""
    if not user_ids:
        return []
    since = period.first - dt.timedelta(days=settings.DIGEST_NEW_LOOKBACK_DAYS)
    found = []
    for extra in registered():
        try:
            # A savepoint: a provider's failed query must not abort the claim's transaction.
            with transaction.atomic():
                by_user = extra.candidates(sorted(user_ids), since, count)
        except Exception:
            log.exception("Digest section %r failed; the digests go without it", extra.kind)
            continue
        found.append((extra, by_user))
    ids = {pk for _, by_user in found for picks in by_user.values() for pk, _ in picks}
    still_new = set(new.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    return [
        (
            extra,
            {u: [(pk, note) for pk, note in picks if pk in still_new] for u, picks in by.items()},
        )
        for extra, by in found
    ]


def _notices(user_ids, period: Period):
    """[(registered notice section, {user id: Notices})]; one that fails is left out."""
    if not user_ids:
        return []
    since = period.first - dt.timedelta(days=settings.DIGEST_NEW_LOOKBACK_DAYS)
    found = []
    for notice in registered_notices():
        try:
            with transaction.atomic():
                found.append((notice, notice.collect(sorted(user_ids), since)))
        except Exception:
            log.exception("Digest notices %r failed; the digests go without them", notice.kind)
    return found


def _record_notices(chosen: dict[int, list[dict]]):
    claimed = defaultdict(list)
    for sections in chosen.values():
        for sec in sections:
            if "notice_ids" in sec:
                claimed[sec["kind"]] += sec["notice_ids"]
    for notice in registered_notices():
        if claimed.get(notice.kind):
            notice.claimed(claimed[notice.kind])


def _sent_before(subscription_ids, candidates) -> dict[int, set[int]]:
    seen = defaultdict(set)
    if not subscription_ids or not candidates:
        return seen
    rows = DigestSentPaper.objects.filter(
        subscription_id__in=subscription_ids, paper_id__in=candidates
    ).values_list("subscription_id", "paper_id")
    for subscription_id, paper_id in rows:
        seen[subscription_id].add(paper_id)
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


def _paper_ids_by_author(by_author) -> list[set[int]]:
    return [{paper_id for _, paper_id in entries} for entries in by_author.values()]


def _rank_union(by_author, author_ids) -> list[int]:
    """Papers by any of `author_ids`, ranked as Paper.ranked() ranks them."""
    ranked = sorted({entry for a in author_ids for entry in by_author.get(a, ())})
    return [paper_id for _, paper_id in ranked]
