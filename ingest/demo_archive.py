"""The demo's archive: 3,403 real papers from two years of Hugging Face daily lists.

ingest/fixtures/demo/hf-archive/papers.jsonl.gz holds, for each weekday from 2024-05-27
to 2026-08-21, the day's six most upvoted papers in the shape of the Hugging Face API
(one item a line, with the list's `date`); its README says what was kept and dropped.
They go through the Hugging Face reader and the same upsert as the live ingestion, so
each lands on its own day's list. Demo users then upvote them in proportion to their
Hugging Face upvotes, so the day, week and month lists keep Hugging Face's order.

Days from the demo's own two weeks on are left out (only if the clock is set before
September 2026): those lists stay the demo's, and no list is in the future.

One transaction: the archive is loaded whole or not at all. It counts as loaded once
every paper it would load is stored (a check of the ids alone, so later runs start at
once); loading it again would change nothing anyway (the upsert skips unchanged rows, a
vote is there once).
"""

import datetime as dt
import gzip
import itertools
import json
import math
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from papers.models import Paper, Vote

from . import hf
from .demo import DAYS, FIXTURES, _users
from .records import IngestResult, PaperRecord, RecordError
from .upsert import ingest
from .writers import chunks

ARCHIVE_FILE = FIXTURES / "hf-archive" / "papers.jsonl.gz"
SEED = 20260821
# The start of each line, as make_fixture.py writes it: the day and the paper's id.
_DAY_AND_ID = re.compile(rb'^\{"date":"(\d{4}-\d\d-\d\d)","paper":\{"id":"([^"]+)"')


def last_day() -> dt.date:
    """The last day the archive may fill: the day before the demo's two weeks."""
    return timezone.localdate() - dt.timedelta(days=DAYS)


def archive_ids(path: Path = ARCHIVE_FILE) -> list[str]:
    """The arXiv ids the archive loads, read without parsing the rest (the check made on
    every run)."""
    until = last_day().isoformat().encode()
    with gzip.open(path, "rb") as lines:
        return [
            m.group(2).decode()
            for line in lines
            if (m := _DAY_AND_ID.match(line)) and m.group(1) <= until
        ]


def is_loaded(path: Path = ARCHIVE_FILE) -> bool:
    ids = archive_ids(path)
    stored = sum(Paper.objects.filter(arxiv_id__in=chunk).count() for chunk in chunks(ids))
    return stored == len(set(ids))


def read(path: Path = ARCHIVE_FILE) -> Iterator[PaperRecord | RecordError]:
    """The records of the file, day by day, through the Hugging Face reader (the list's
    date is the day each paper is featured, as for a `?date=` request)."""
    until = last_day()
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        items = (json.loads(line) for line in lines if line.strip())
        for day, group in itertools.groupby(items, key=lambda item: item["date"]):
            day = dt.date.fromisoformat(day)
            if day <= until:
                yield from hf.parse(json.dumps(list(group)), day, where=f"hf-archive {day}")


def voters_for(upvotes: int, users: int, most: int) -> int:
    """How many demo users upvote a paper: a square-root curve of its Hugging Face upvotes
    against the archive's most upvoted paper, so the order holds across days without
    most papers having every demo user's vote."""
    if upvotes <= 0 or most <= 0:
        return 0
    return max(1, round(users * math.sqrt(min(upvotes, most) / most)))


def _vote(paper_ids: list[int], users, rng: random.Random) -> int:
    papers = [
        paper
        for chunk in chunks(paper_ids)
        for paper in Paper.objects.filter(pk__in=chunk)
        .order_by("pk")
        .only("pk", "daily_date", "source")
    ]
    upvotes = {
        p.pk: int(p.source.get("hf", {}).get("paper", {}).get("upvotes") or 0) for p in papers
    }
    most = max(upvotes.values(), default=0)
    votes = []
    for paper in papers:
        day = paper.daily_date or last_day()
        for user in rng.sample(users, voters_for(upvotes[paper.pk], len(users), most)):
            when = dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC) + dt.timedelta(
                minutes=rng.randrange(14 * 60)
            )
            votes.append(Vote(user=user, paper=paper, created_at=when))
    # A vote is there once (one_vote_per_user_per_paper); the counts are then recounted
    # from the rows, as add_vote keeps them. (One INSERT a thousand votes, not add_vote's
    # statement a vote: 23,000 votes in a second.)
    before = Vote.objects.count()
    Vote.objects.bulk_create(votes, batch_size=1000, ignore_conflicts=True)
    count = (
        Vote.objects.filter(paper=OuterRef("pk"))
        .order_by()
        .values("paper")
        .annotate(n=Count("pk"))
        .values("n")
    )
    for chunk in chunks(paper_ids):
        Paper.objects.filter(pk__in=chunk).update(upvote_count=Coalesce(Subquery(count), 0))
    return Vote.objects.count() - before


def load(
    path: Path = ARCHIVE_FILE, on_item: Callable[[object], None] | None = None
) -> tuple[IngestResult, int]:
    """Ingest the archive and its votes in one transaction; returns the ingestion's
    result and the number of votes added."""
    with transaction.atomic():
        result = ingest(read(path), on_item=on_item)
        users = _users()
        votes = _vote(sorted(result.ids.values()), users, random.Random(SEED))
        Paper.objects.refresh_rank_scores()
    return result, votes
