"""Pages of paper lists.

Bounded lists (a day, a week, a month, trending, an author, search candidates) use
Django's Paginator, which counts them. The list of all papers newest first is not
bounded, and counting a million rows on every request buys nothing, so it is paged by
fetching one row more than it shows.
"""

import math

from django.conf import settings
from django.core.paginator import Paginator


def paginate(request, queryset, per_page=None):
    per_page = per_page or settings.PAPERS_PER_PAGE
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def paginate_counted(request, queryset, count: int, per_page=None):
    """A page of a list whose length the caller already knows: Paginator's page, with
    "of N", but without its COUNT query."""
    paginator = Paginator(queryset, per_page or settings.PAPERS_PER_PAGE)
    paginator.count = count  # a cached_property: set here, never computed
    return paginator.get_page(request.GET.get("page"))


class UncountedPage:
    """The part of a Page that templates use, without a total."""

    paginator = None

    def __init__(self, queryset, number: int, per_page: int, last: float = math.inf):
        start = (number - 1) * per_page
        rows = list(queryset[start : start + per_page + 1])
        self.object_list = rows[:per_page]
        self.number = number
        # Never a "Next" link to a page that would be refused (past `last`).
        self._has_next = len(rows) > per_page and number < last

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    def has_next(self):
        return self._has_next

    def has_previous(self):
        return self.number > 1

    def has_other_pages(self):
        return self.has_next() or self.has_previous()

    def next_page_number(self):
        return self.number + 1

    def previous_page_number(self):
        return self.number - 1


def page_number(request, last: int) -> int | None:
    """The ?page= number, 1 if absent or malformed, None past `last`."""
    try:
        number = int(request.GET.get("page", 1))
    except (TypeError, ValueError):
        return 1
    if number > last:
        return None
    return max(number, 1)


def paginate_uncounted(request, queryset, max_pages: int, per_page=None):
    """A page of an unbounded list; None when ?page= goes past `max_pages` or past the
    end of the list (an empty page after the first)."""
    number = page_number(request, max_pages)
    if number is None:
        return None
    page = UncountedPage(queryset, number, per_page or settings.PAPERS_PER_PAGE, max_pages)
    if number > 1 and not page.object_list:
        return None
    return page
