"""The papers app's pages, one module per kind: lists (day, week, month, trending,
new), detail (a paper, an author), votes, pages (about, API docs, crawlers) and errors
(the handlers config/urls.py names as papers.views.<handler>)."""

from .detail import author_detail, paper_detail, related_papers
from .errors import (
    PaperNotHere,
    PublicNotFound,
    page_not_found,
    permission_denied,
    server_error,
    too_many_requests,
)
from .lists import daily, day, month, new, trending, week
from .pages import about_ranking, api_docs, favicon, robots_txt
from .votes import vote

__all__ = [
    "PaperNotHere",
    "PublicNotFound",
    "about_ranking",
    "api_docs",
    "author_detail",
    "daily",
    "day",
    "favicon",
    "month",
    "new",
    "page_not_found",
    "paper_detail",
    "permission_denied",
    "related_papers",
    "robots_txt",
    "server_error",
    "too_many_requests",
    "trending",
    "vote",
    "week",
]
