"""Shared setup for the test_digests_* files: a fixed issue, its papers, sending what
is due, and reading what arrived."""

import datetime as dt
import re

from django.conf import settings
from django.utils import timezone

from digests.periods import Period
from digests.planning import due_batches
from digests.sending import BatchResult, send_batch

from .factories import PaperFactory


def last_weekday(weekday: int) -> dt.date:
    day = timezone.now().date()
    while day.weekday() != weekday:
        day -= dt.timedelta(1)
    return day


# Tuesday's daily issue (papers featured on Monday), sent at noon UTC: recent enough
# that papers created now are inside every window, fixed enough to reason about.
TUESDAY = last_weekday(1)
NOON = dt.datetime.combine(TUESDAY, dt.time(12), tzinfo=dt.UTC)
DAILY = Period.daily(TUESDAY)
MONDAY = DAILY.last
# First published on arXiv on Monday morning: new in Tuesday's issue.
ON_MONDAY = dt.datetime.combine(MONDAY, dt.time(9), tzinfo=dt.UTC)


def featured(count: int, day: dt.date = MONDAY, **kwargs):
    """`count` papers featured on `day`, most upvoted first."""
    authors = kwargs.pop("authors", None)
    return [
        PaperFactory(
            daily_date=day,
            upvote_count=100 - i,
            authors=authors or [f"Grace Hopper {i}", "Alan Turing"],
            **kwargs,
        )
        for i in range(count)
    ]


def send_due(now=NOON, frequency=None) -> BatchResult:
    """What the planner and the batch tasks do, in-process."""
    result = BatchResult()
    for key, ids in due_batches(now, frequency):
        result += send_batch(ids, key, now=now)
    return result


def body(message, kind: str) -> str:
    return message.get_body(preferencelist=(kind,)).get_content()


def links(message) -> tuple[list[str], list[str]]:
    """(links in the text part, links in the HTML part)."""
    text = [u.rstrip(".,;)") for u in re.findall(r"https?://\S+", body(message, "plain"))]
    html = re.findall(r'href="([^"]+)"', body(message, "html"))
    return text, html


def site_path(url: str) -> str:
    assert url.startswith(settings.SITE_URL + "/"), url
    return url[len(settings.SITE_URL) :]
