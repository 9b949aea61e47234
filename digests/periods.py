"""Digest periods: which issue a subscriber is due, and which papers it covers.

    frequency  key         issue date (local)         papers featured on
    daily      2025-01-14  that weekday               the previous day (Monday: Fri-Sun)
    weekly     2025-W03    DIGEST_WEEKLY_DAY of week  the 7 days before the issue date

The key is what deliveries are unique on, so a subscriber gets one issue per key
whatever the planner, the retries or the clock do. Keys are computed in the
subscriber's time zone: a daily subscriber in Tokyo gets Tuesday's issue on Tuesday
morning Tokyo time.
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.dateformat import format as date_format

DAILY, WEEKLY = "daily", "weekly"
# An issue still waiting this many days after its issue date is not sent (a batch that
# sat in a queue for days).
STALE_AFTER_DAYS = {DAILY: 2, WEEKLY: 7}
WINDOW_DAYS = {DAILY: 3, WEEKLY: 7}  # the longest window of featured days


def longest_reach_days() -> int:
    """The most days before today that the first day of a sendable issue's window can
    be: a weekly issue sent as late as it may be, plus a day for time zones."""
    return max(STALE_AFTER_DAYS[f] + WINDOW_DAYS[f] for f in (DAILY, WEEKLY)) + 1


def offer_reach_days() -> int:
    """No issue offers a paper featured or first published longer ago than this (a
    week to spare): DigestSentPaper.prune() forgets such papers."""
    return longest_reach_days() + settings.DIGEST_NEW_LOOKBACK_DAYS + 7


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name or settings.DIGEST_TIME_ZONE)


@dataclass(frozen=True)
class Period:
    frequency: str
    key: str
    issue_date: dt.date
    first: dt.date  # window of featured days, inclusive
    last: dt.date

    @classmethod
    def daily(cls, day: dt.date) -> "Period | None":
        """The daily issue for local date `day`; None at weekends (no issue)."""
        if day.weekday() >= 5:
            return None
        back = 3 if day.weekday() == 0 else 1
        return cls(
            DAILY, day.isoformat(), day, day - dt.timedelta(days=back), day - dt.timedelta(1)
        )

    @classmethod
    def weekly(cls, day: dt.date) -> "Period":
        """The weekly issue of the ISO week holding local date `day`."""
        year, week, weekday = day.isocalendar()
        issue = day - dt.timedelta(days=weekday - 1 - settings.DIGEST_WEEKLY_DAY)
        return cls(
            WEEKLY, f"{year}-W{week:02d}", issue, issue - dt.timedelta(7), issue - dt.timedelta(1)
        )

    @classmethod
    def for_date(cls, frequency: str, day: dt.date) -> "Period | None":
        return cls.daily(day) if frequency == DAILY else cls.weekly(day)

    @classmethod
    def from_key(cls, key: str) -> "Period":
        if "-W" in key:
            return cls.weekly(dt.date.fromisocalendar(int(key[:4]), int(key[6:]), 1))
        period = cls.daily(dt.date.fromisoformat(key))
        if period is None:
            raise ValueError(f"{key} is not a weekday")
        return period

    def is_due(self, local_now: dt.datetime, send_hour: int) -> bool:
        """Has the issue's send time passed, in the subscriber's local time? A weekly
        issue stays due for the rest of its week, so a planner outage delays it
        rather than dropping it; a daily issue only on its own day."""
        today = local_now.date()
        if today == self.issue_date:
            return local_now.hour >= send_hour
        return self.frequency == WEEKLY and today > self.issue_date

    def is_stale(self, now: dt.datetime) -> bool:
        """Too late to be worth sending (a batch that waited days in a queue)."""
        return (now.date() - self.issue_date).days > STALE_AFTER_DAYS[self.frequency]

    # --- Words for the email ---------------------------------------------------------

    @property
    def subject_date(self) -> str:
        if self.frequency == DAILY:
            return date_format(self.issue_date, "D j M Y")
        return self.window_label

    @property
    def window_label(self) -> str:
        first, last = self.first, self.last
        if first == last:
            return date_format(first, "l j F Y")
        if first.month == last.month:
            return f"{first.day}–{date_format(last, 'j F Y')}"
        if first.year == last.year:
            return f"{date_format(first, 'j F')} – {date_format(last, 'j F Y')}"
        return f"{date_format(first, 'j F Y')} – {date_format(last, 'j F Y')}"
