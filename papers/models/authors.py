"""Authors as names appear on papers, and their places on each paper."""

import re
import unicodedata

from django.conf import settings
from django.db import models

from .. import links


def normalise_name(name: str) -> str:
    """The key authors are matched on: accents folded, case folded, punctuation and
    spacing collapsed. "José  García-Pérez" and "Jose Garcia Perez" match."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[\W_]+", " ", stripped.casefold()).split())


def slug_for(normalised: str) -> str:
    return normalised.replace(" ", "-")


class Author(models.Model):
    """A name as it appears on papers. Authors are matched on `normalised_name`, so one
    Author may be several people with the same name until someone claims it."""

    name = models.CharField(max_length=300)
    normalised_name = models.CharField(max_length=300, unique=True)
    slug = models.SlugField(max_length=300, unique=True, allow_unicode=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claimed_authors",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return links.url_for("papers:author", self.slug)


class Authorship(models.Model):
    """An author's place on a paper (0-based `position`, in the paper's order)."""

    # No single-column indexes on the foreign keys: the constraints' (paper, ...) and
    # authorship_by_author's (author, paper) indexes serve those lookups already.
    paper = models.ForeignKey(
        "papers.Paper", on_delete=models.CASCADE, related_name="authorships", db_index=False
    )
    author = models.ForeignKey(
        Author, on_delete=models.CASCADE, related_name="authorships", db_index=False
    )
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["paper", "position"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "position"], name="one_author_per_position"),
            models.UniqueConstraint(fields=["paper", "author"], name="author_once_per_paper"),
        ]
        indexes = [models.Index(fields=["author", "paper"], name="authorship_by_author")]

    def __str__(self):
        return f"{self.author} on {self.paper.arxiv_id} (#{self.position + 1})"
