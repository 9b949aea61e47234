"""The periods the daily lists cover: a day (2026-11-20), an ISO week (2026-W47) or a
month (2026-11), parsed from URLs and API parameters.

Each parser returns a Period or raises ValueError with a message fit to show a visitor.
"""

import calendar
import datetime as dt
import re
from typing import NamedTuple

from django.utils import timezone

DAY_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
WEEK_RE = re.compile(r"^(\d{4})-[Ww](\d{1,2})$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")

# arXiv opened in 1991; a year past 9998 has no following period to link to.
FIRST_YEAR, LAST_YEAR = 1991, 9998


class Period(NamedTuple):
    kind: str  # "day", "week" or "month"
    first: dt.date
    last: dt.date

    @property
    def slug(self) -> str:
        """The period as it appears in URLs and API parameters."""
        if self.kind == "day":
            return self.first.isoformat()
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first.year}-{self.first.month:02d}"

    @property
    def label(self) -> str:
        if self.kind == "day":
            return f"{self.first:%A}, {self.first.day} {self.first:%B %Y}"
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            if self.first.month == self.last.month:
                span = f"{self.first.day}–{self.last.day} {self.last:%B %Y}"
            elif self.first.year == self.last.year:
                span = f"{self.first.day} {self.first:%B} – {self.last.day} {self.last:%B %Y}"
            else:
                span = f"{self.first.day} {self.first:%B %Y} – {self.last.day} {self.last:%B %Y}"
            return f"Week {week}, {year} ({span})"
        return f"{self.first:%B %Y}"

    @property
    def short_label(self) -> str:
        """For buttons: "Wed 18 Nov" (with the year when it is not this year)."""
        if self.kind == "day":
            label = f"{self.first:%a} {self.first.day} {self.first:%b}"
            if self.first.year != timezone.localdate().year:
                label += f" {self.first.year}"
            return label
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"Week {week}, {year}"
        return f"{self.first:%b %Y}"

    def containing(self, kind: str) -> "Period":
        """The day, week or month this period starts in."""
        return {"day": day_period, "week": week_of, "month": month_of}[kind](self.first)


def _check_year(year: int, text: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"“{text}” is outside the years papers can be featured.")


def day_period(day: dt.date) -> Period:
    return Period("day", day, day)


def week_of(day: dt.date) -> Period:
    monday = day - dt.timedelta(days=day.weekday())
    return Period("week", monday, monday + dt.timedelta(days=6))


def month_of(day: dt.date) -> Period:
    last = calendar.monthrange(day.year, day.month)[1]
    return Period("month", day.replace(day=1), day.replace(day=last))


def parse_day(text: str) -> Period:
    match = DAY_RE.match(text or "")
    if not match:
        raise ValueError(f"“{_shown(text)}” is not a date: use YYYY-MM-DD, e.g. 2026-11-20.")
    _check_year(int(match.group(1)), text)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"“{text}” is not a day of the calendar.") from None
    return day_period(day)


def parse_week(text: str) -> Period:
    match = WEEK_RE.match(text or "")
    if not match:
        raise ValueError(f"“{_shown(text)}” is not an ISO week: use YYYY-Www, e.g. 2026-W47.")
    year, week = int(match.group(1)), int(match.group(2))
    _check_year(year, text)
    try:
        monday = dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no week {week}.") from None
    return week_of(monday)


def parse_month(text: str) -> Period:
    match = MONTH_RE.match(text or "")
    if not match:
        raise ValueError(f"“{_shown(text)}” is not a month: use YYYY-MM, e.g. 2026-11.")
    year, month = int(match.group(1)), int(match.group(2))
    _check_year(year, text)
    if not 1 <= month <= 12:
        raise ValueError(f"“{text}” has no month {month}.")
    return month_of(dt.date(year, month, 1))


PARSERS = {"date": parse_day, "week": parse_week, "month": parse_month}


def _shown(text: str | None) -> str:
    """Enough of a bad value to recognise it in an error message."""
    text = text or ""
    return text if len(text) <= 40 else text[:40] + "…"
