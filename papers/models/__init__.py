"""The papers app's models: papers (papers.py, with their querysets in querysets.py),
authors (authors.py) and votes (votes.py). Import them from here: papers.models.Paper."""

from .authors import Author, Authorship, normalise_name, slug_for
from .papers import Paper, SearchDocument, papers_hidden
from .querysets import (
    AUTHORS_ON_CARD,
    RELATED_CANDIDATES,
    RELATED_PAPERS,
    PaperQuerySet,
    title_keywords,
)
from .votes import PendingVote, Vote

__all__ = [
    "AUTHORS_ON_CARD",
    "RELATED_CANDIDATES",
    "RELATED_PAPERS",
    "Author",
    "Authorship",
    "Paper",
    "PaperQuerySet",
    "PendingVote",
    "SearchDocument",
    "Vote",
    "normalise_name",
    "papers_hidden",
    "slug_for",
    "title_keywords",
]
