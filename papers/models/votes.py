"""Upvotes, the votes waiting for a sign-in, and the statements that cast and withdraw
a vote with its paper's count in one round trip (Paper.add_vote, remove_vote)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Vote(models.Model):
    # Indexed by one_vote_per_user_per_paper (user, paper) and vote_by_paper (paper,
    # created_at): a single-column index on either would be one more write per vote.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes", db_index=False
    )
    paper = models.ForeignKey(
        "papers.Paper", on_delete=models.CASCADE, related_name="votes", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="one_vote_per_user_per_paper"),
        ]
        indexes = [models.Index(fields=["paper", "created_at"], name="vote_by_paper")]

    def __str__(self):
        return f"{self.user} ↑ {self.paper.arxiv_id}"


class PendingVote(models.Model):
    """An upvote asked for before the user could cast it (signed out, or not yet
    verified), kept until their email is verified, which may happen in another session
    (the link in the verification mail). One per user: the latest click wins."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pending_vote"
    )
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="+")
    next_url = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "accounts_pendingvote"  # made in accounts (migration 0001), kept in place

    def __str__(self):
        return f"{self.user} → {self.paper_id}"


# Paper.add_vote and remove_vote on PostgreSQL. The UPDATE runs only if the vote row was
# inserted (deleted): ON CONFLICT DO NOTHING returns no row for a second vote. The score
# is PaperQuerySet's hot score of the new count (0 for a paper never featured).
COUNT_UPDATE = """
    UPDATE papers_paper
    SET upvote_count = upvote_count + %(delta)s,
        rank_score = CASE WHEN %(divisor)s > 0
                     THEN (upvote_count + %(delta)s) / %(divisor)s::float8 ELSE 0 END
    WHERE id IN (SELECT paper_id FROM changed)
    RETURNING upvote_count
"""
ADD_VOTE_SQL = (
    """
    WITH changed AS (
        INSERT INTO papers_vote (user_id, paper_id, created_at)
        VALUES (%(user)s, %(paper)s, %(now)s)
        ON CONFLICT (user_id, paper_id) DO NOTHING
        RETURNING paper_id
    )"""
    + COUNT_UPDATE
)
REMOVE_VOTE_SQL = (
    """
    WITH changed AS (
        DELETE FROM papers_vote WHERE user_id = %(user)s AND paper_id = %(paper)s
        RETURNING paper_id
    )"""
    + COUNT_UPDATE
)
