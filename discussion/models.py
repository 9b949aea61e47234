"""Comments on papers (issue 14): threads, upvotes, edit history and flags.

Every state change has one owner here (post, edit, delete, vote, flag), each in one
transaction with the counts it changes, as Paper.add_vote does for paper votes.
"""

import contextlib
import datetime as dt
import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.utils import timezone

from notifications import events
from papers.models import Authorship, Paper

from . import markdown

# Replies nest this many levels under a top-level comment; deeper replies are shown
# at the last level, each saying whom it answers.
MAX_DEPTH = 3


def body_hash(body: str) -> str:
    return hashlib.sha256(" ".join(body.split()).casefold().encode()).hexdigest()


def render_body(body: str) -> markdown.Rendered:
    """The body's HTML, with @mentions of existing users linked (one query, only when
    the body has an @)."""
    candidates = markdown.mention_candidates(body)
    known = set()
    if candidates:
        users = get_user_model().objects.filter(username__in=candidates, is_active=True)
        known = set(users.values_list("username", flat=True))
    return markdown.render(body, known)


def in_edit_window(created_at, now) -> bool:
    return now - created_at <= dt.timedelta(seconds=settings.COMMENT_EDIT_WINDOW)


def is_moderator(user) -> bool:
    """Staff, or a member of the `moderator` group."""
    if not user.is_authenticated:
        return False
    return user.is_staff or user.groups.filter(name="moderator").exists()


def refuse_suspended_voters(user):
    """A suspended user can't upvote papers: registered with papers.hooks.add_vote_refusal,
    so the vote view asks it in its query of the paper."""
    message = "Your account is suspended: you can't vote."
    return Exists(Suspension.objects.filter(user=user.pk)), message


class CommentQuerySet(models.QuerySet):
    def live(self):
        """Neither deleted nor hidden by a moderator."""
        return self.filter(deleted_at__isnull=True, hidden_at__isnull=True)

    def shown(self):
        """What readers see as a comment (Paper.comment_count counts these): live, by
        an author who is not suspended."""
        return self.live().exclude(Exists(Suspension.objects.filter(user=OuterRef("author"))))

    def for_thread(self, user=None):
        """Everything the thread shows, in one query: authors, their badges, whether
        their author is suspended, and whether `user` upvoted each."""
        moderators = Group.objects.filter(name="moderator", user=OuterRef("author"))
        own_paper = Authorship.objects.filter(
            paper=OuterRef("paper"), author__claimed_by=OuterRef("author")
        )
        comments = self.select_related("author").annotate(
            author_suspended=Exists(Suspension.objects.filter(user=OuterRef("author"))),
            by_paper_author=Exists(own_paper),
            by_moderator=Exists(moderators),
        )
        if user is not None and user.is_authenticated:
            votes = CommentVote.objects.filter(comment=OuterRef("pk"), user=user)
            return comments.annotate(user_has_voted=Exists(votes))
        return comments.annotate(user_has_voted=Value(False))


class CommentState:
    """What a comment's fields say of it, for the model and for the thread's plain rows
    (discussion.thread.ThreadComment) alike. `author_suspended` is an annotation the
    model may lack (for_thread adds it); the rows always have it."""

    __slots__ = ()

    @property
    def anchor(self):
        return f"comment-{self.pk}"

    @property
    def is_deleted(self):
        return self.deleted_at is not None

    @property
    def is_hidden(self):
        return self.hidden_at is not None or getattr(self, "author_suspended", False)

    @property
    def is_live(self):
        return not self.is_deleted and not self.is_hidden


# Comment._insert_and_count on PostgreSQL: the row, and its paper's count, in one
# statement. The UPDATE joins the CTE's RETURNING, so it runs only if the insert did.
INSERT_AND_COUNT_SQL = """
    WITH new AS (
        INSERT INTO {comments} ({columns}) VALUES ({values})
        RETURNING id, paper_id
    )
    UPDATE {papers} SET comment_count = {papers}.comment_count + 1
    FROM new WHERE {papers}.id = new.paper_id
    RETURNING new.id, {papers}.comment_count
"""


class Comment(CommentState, models.Model):
    """A comment on a paper, or a reply to one (`parent`).

    A deleted comment stays as a tombstone (`deleted_at`, body emptied) so its replies
    keep their place; a hidden one (`hidden_at`, by a moderator, with a public reason)
    too. `body_html` is rendered from `body` when it is saved (render_body).

    Denormalised, kept by the methods below in the same transaction as their rows:
    - score: the number of CommentVote rows.
    - Paper.comment_count: the paper's shown comments (CommentQuerySet.shown).
    """

    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="discussion", db_index=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    depth = models.PositiveSmallIntegerField(default=0)
    body = models.TextField()
    body_html = models.TextField()
    body_hash = models.CharField(max_length=64)
    score = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=500, blank=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["paper", "created_at"], name="comment_by_paper"),
            models.Index(fields=["author", "-created_at"], name="comment_by_author"),
        ]
        constraints = [
            # The same text posted twice in the same place (a double submit, two tabs):
            # the second is refused, even when both arrive at once.
            models.UniqueConstraint(
                fields=["author", "paper", "parent", "body_hash"],
                condition=Q(deleted_at__isnull=True),
                nulls_distinct=False,
                name="no_duplicate_comment",
            ),
        ]

    def __str__(self):
        return f"{self.author} on {self.paper_id}: {self.body[:60]}"

    def get_absolute_url(self):
        return f"{self.paper.get_absolute_url()}#comment-{self.pk}"

    def can_edit(self, user, now=None) -> bool:
        now = now or timezone.now()
        return (
            user.is_authenticated
            and user.pk == self.author_id
            and self.is_live
            and in_edit_window(self.created_at, now)
        )

    def can_delete(self, user) -> bool:
        return user.is_authenticated and user.pk == self.author_id and not self.is_deleted

    # --- State changes ------------------------------------------------------------

    class Duplicate(Exception):
        pass

    @classmethod
    def post(cls, paper, author, body, parent=None) -> "Comment":
        """Save a new comment and count it on its paper (paper.comment_count is then the
        new count), and in the same transaction the notifications it causes. Raises
        Comment.Duplicate for the same text posted twice in the same place."""
        rendered = render_body(body)
        comment = cls(
            paper=paper,
            author=author,
            parent=parent,
            depth=parent.depth + 1 if parent else 0,
            body=body,
            body_html=rendered.html,
            body_hash=body_hash(body),
        )
        # Most comments notify nobody (not a reply, no mention): their row and count are
        # one statement, which needs no transaction around it. Inside a caller's
        # transaction it still gets a savepoint, so that a refused duplicate leaves the
        # caller's transaction usable.
        alone = parent is None and not rendered.mentions and not connection.in_atomic_block
        try:
            with contextlib.nullcontext() if alone else transaction.atomic():
                paper.comment_count = comment._insert_and_count()
                events.for_new_comment(comment, rendered.mentions)
        except IntegrityError as exc:
            if "no_duplicate_comment" in str(exc):
                raise cls.Duplicate from None
            raise
        return comment

    def _insert_and_count(self) -> int:
        """Insert the comment and add one to its paper's comment_count; returns the new
        count. On PostgreSQL one statement (a data-modifying CTE, as papers' votes do):
        one round trip instead of five (transaction, insert, update, commit, reading the
        count back), and atomic without a transaction of its own."""
        if connection.vendor != "postgresql":
            with transaction.atomic():
                self.save()
                papers = Paper.objects.filter(pk=self.paper_id)
                papers.update(comment_count=F("comment_count") + 1)
            return papers.values_list("comment_count", flat=True).get()
        fields = [f for f in self._meta.concrete_fields if not f.primary_key]
        values = [f.get_db_prep_save(f.pre_save(self, True), connection) for f in fields]
        sql = INSERT_AND_COUNT_SQL.format(
            comments=connection.ops.quote_name(self._meta.db_table),
            columns=", ".join(connection.ops.quote_name(f.column) for f in fields),
            values=", ".join(["%s"] * len(fields)),
            papers=connection.ops.quote_name(Paper._meta.db_table),
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            self.pk, count = cursor.fetchone()
        self._state.adding, self._state.db = False, connection.alias
        return count

    def edit(self, body: str):
        """Replace the body, keeping the old one as a CommentRevision."""
        rendered = render_body(body)
        with transaction.atomic():
            CommentRevision.objects.create(comment=self, body=self.body)
            self.body, self.body_html = body, rendered.html
            self.body_hash = body_hash(body)
            self.edited_at = timezone.now()
            self.save(update_fields=["body", "body_html", "body_hash", "edited_at"])
            # Users newly mentioned are told; those told before are not told again.
            events.for_new_comment(self, rendered.mentions, replies=False)

    def delete_by_author(self):
        """A tombstone: the text goes, the place in the thread stays. The old text is
        kept as a revision for the moderators (it may be what was flagged)."""
        with transaction.atomic():
            updated = Comment.objects.filter(pk=self.pk, deleted_at__isnull=True).update(
                deleted_at=timezone.now(), body="", body_html=""
            )
            if not updated:
                return False
            CommentRevision.objects.create(comment=self, body=self.body)
            self._recount_paper()
        self.refresh_from_db()
        return True

    def _recount_paper(self):
        """Set the paper's comment_count from its rows. The paper's row is locked first,
        so a comment being posted meanwhile (which updates that row) is either counted
        here, having committed, or adds itself afterwards: never lost, never twice."""
        with transaction.atomic():
            Paper.objects.select_for_update().filter(pk=self.paper_id).values("pk").first()
            count = Comment.objects.filter(paper_id=self.paper_id).shown().count()
            Paper.objects.filter(pk=self.paper_id).update(comment_count=count)

    def add_vote(self, user) -> bool:
        """`user`'s upvote; False if they had already voted (the constraint decides)."""
        with transaction.atomic():
            try:
                with transaction.atomic():
                    CommentVote.objects.create(user=user, comment=self)
            except IntegrityError:
                return False
            Comment.objects.filter(pk=self.pk).update(score=F("score") + 1)
        self.refresh_from_db(fields=["score"])
        return True

    def remove_vote(self, user) -> bool:
        with transaction.atomic():
            deleted, _ = CommentVote.objects.filter(user=user, comment=self).delete()
            if not deleted:
                return False
            Comment.objects.filter(pk=self.pk).update(score=F("score") - 1)
        self.refresh_from_db(fields=["score"])
        return True


def recount_papers(paper_ids):
    """Set the comment_count of these papers from their rows (after a suspension)."""
    for paper_id in sorted(set(paper_ids)):
        Comment(paper_id=paper_id)._recount_paper()


class CommentRevision(models.Model):
    """A comment's earlier text, kept when it is edited or deleted; moderators see them."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"revision of comment {self.comment_id}"


class CommentVote(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_votes"
    )
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="votes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "comment"], name="one_vote_per_user_per_comment"
            )
        ]

    def __str__(self):
        return f"{self.user} ↑ comment {self.comment_id}"


class Flag(models.Model):
    """A reader's report of a comment, for the moderators' queue. One per reader and
    comment; `resolved_at` is set when a moderator acts on the comment or dismisses it."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam or advertising"
        ABUSE = "abuse", "Abusive or harassing"
        OFF_TOPIC = "off_topic", "Off topic"
        MISINFORMATION = "misleading", "Misleading about the paper"
        OTHER = "other", "Something else"

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="flags")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_flags"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "comment"], name="one_flag_per_user_per_comment"
            )
        ]
        indexes = [
            models.Index(
                fields=["created_at"], name="flag_open", condition=Q(resolved_at__isnull=True)
            )
        ]

    def __str__(self):
        return f"{self.user} flags comment {self.comment_id} ({self.reason})"


class Suspension(models.Model):
    """A suspended user: their comments are hidden, and they can't comment or vote
    (refuse_suspended_voters refuses their paper votes). Lifting it deletes the row; both
    are logged by moderation."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="suspension"
    )
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.user} suspended"


class LockedThread(models.Model):
    """A paper whose discussion takes no new comments (existing ones stay)."""

    paper = models.OneToOneField(Paper, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"discussion of {self.paper_id} locked"
