"""A paper's discussion as the page shows it: the comments in two queries whatever
their number (the thread's state, then every comment with its badges and the reader's
votes), arranged into a tree in Python."""

import functools
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Case, Exists, F, OuterRef, Subquery, When
from django.utils import timezone

from accounts.models import verified_email_exists
from papers.compiled import CompiledQuery
from papers.models import Authorship, Paper

from .forms import CommentForm
from .models import MAX_DEPTH, Comment, CommentState, LockedThread, Suspension, in_edit_window

ORDERS = {"best": "Best", "newest": "Newest"}
DEFAULT_ORDER = "best"
# What the thread shows (discussion.render), in ThreadComment's order: the bodies'
# source and the authors' other columns stay in the database.
ROW_FIELDS = (
    *("id", "parent_id", "depth", "author_id", "author__username", "author__display_name"),
    *("author__is_staff", "body_html", "score", "created_at", "edited_at", "deleted_at"),
    *("hidden_at", "hidden_reason", "author_suspended", "by_paper_author", "by_moderator"),
    "user_has_voted",
)


class ThreadComment(CommentState):
    """A comment as the thread draws it: one row of ROW_FIELDS, not a model instance
    (for 300 comments Django's model instances cost more than the markup), plus where
    arrange() places it: `children`, `level` (how deep it is drawn), `reply_to` (the
    comment a flattened reply answers) and `editable` (by the reader, now)."""

    __slots__ = (
        *("pk", "parent_id", "depth", "author_id", "author_username", "author_name"),
        *("author_is_staff", "body_html", "score", "created_at", "edited_at", "deleted_at"),
        *("hidden_at", "hidden_reason", "author_suspended", "by_paper_author", "by_moderator"),
        *("user_has_voted", "children", "level", "reply_to", "editable", "vote_error"),
    )

    def __init__(self, row):
        (
            self.pk,
            self.parent_id,
            self.depth,
            self.author_id,
            self.author_username,
            self.author_name,
            self.author_is_staff,
            self.body_html,
            self.score,
            self.created_at,
            self.edited_at,
            self.deleted_at,
            self.hidden_at,
            self.hidden_reason,
            self.author_suspended,
            self.by_paper_author,
            self.by_moderator,
            self.user_has_voted,
        ) = row
        # The profile's name (User.public_name).
        self.author_name = self.author_name or self.author_username
        self.children, self.level, self.reply_to = [], self.depth, None
        self.editable, self.vote_error = False, ""

    @classmethod
    def of(cls, comment: Comment, user=None) -> "ThreadComment":
        """The row of a Comment from CommentQuerySet.for_thread (the views' fragments)."""
        author = comment.author
        row = cls(
            (
                *(comment.pk, comment.parent_id, comment.depth, comment.author_id),
                *(author.username, author.display_name, author.is_staff, comment.body_html),
                *(comment.score, comment.created_at, comment.edited_at, comment.deleted_at),
                *(comment.hidden_at, comment.hidden_reason, comment.author_suspended),
                *(comment.by_paper_author, comment.by_moderator, comment.user_has_voted),
            )
        )
        row.editable = user is not None and comment.can_edit(user)
        row.vote_error = getattr(comment, "vote_error", "")
        return row

    @classmethod
    def just_posted(cls, comment: Comment, state: "ThreadState") -> "ThreadComment":
        """The reader's new comment, without reading it back: they are its author, not
        suspended (or they could not have posted), and their badges are in `state`."""
        author = comment.author
        row = cls(
            (
                *(comment.pk, comment.parent_id, comment.depth, author.pk, author.username),
                *(author.display_name, author.is_staff, comment.body_html, comment.score),
                *(comment.created_at, None, None, None, "", False, state.viewer_authored),
                *(state.viewer_moderates, False),
            )
        )
        row.editable = comment.can_edit(author)
        return row


@dataclass
class ThreadState:
    locked_reason: str | None = None
    viewer_suspended: bool = False
    viewer_moderates: bool = False
    viewer_authored: bool = False  # claimed, and was approved as, an author of the paper
    has_comments: bool = True  # any row, shown or not (tombstones, hidden ones)
    # Asked only when posting (thread_state(..., posting=True)), in the same query:
    viewer_verified: bool | None = None  # has a verified email address
    viewer_last_hash: str | None = None  # body_hash of their latest comment, if not deleted

    @property
    def is_locked(self):
        return self.locked_reason is not None

    def may_post(self) -> bool:
        return not self.viewer_suspended and (not self.is_locked or self.viewer_moderates)


# Stand-ins for the paper's and the reader's ids in compiled queries (ids are positive).
_PAPER_ID, _READER_ID = -14, -15


def _compiled(queryset, names=()) -> CompiledQuery:
    """The page's two queries carry six subqueries: building and compiling them took
    longer than running them and reading 300 comments (papers.compiled)."""
    query = CompiledQuery(queryset, {_PAPER_ID: "paper", _READER_ID: "reader"}, names)
    assert query.uses("paper"), query.sql
    return query


@functools.cache
def _state_query(signed_in: bool, staff: bool, posting: bool = False) -> CompiledQuery:
    values = {
        "locked": Subquery(LockedThread.objects.filter(paper=OuterRef("pk")).values("reason")[:1]),
        "has_comments": Exists(Comment.objects.filter(paper=OuterRef("pk"))),
    }
    if signed_in:
        values["suspended"] = Exists(Suspension.objects.filter(user=_READER_ID))
        values["authored"] = Exists(
            Authorship.objects.filter(paper=OuterRef("pk"), author__claimed_by=_READER_ID)
        )
        if not staff:
            values["moderator"] = Exists(Group.objects.filter(name="moderator", user=_READER_ID))
    if signed_in and posting:
        # What posting checks besides (the new-account limits, a repeated comment), asked
        # here rather than in two more round trips of their own.
        values["verified"] = verified_email_exists(_READER_ID)
        latest = Comment.objects.filter(author=_READER_ID).order_by("-created_at", "-pk")
        live_hash = Case(When(deleted_at__isnull=True, then=F("body_hash")))
        values["last_hash"] = Subquery(latest.annotate(live_hash=live_hash).values("live_hash")[:1])
    papers = Paper.objects.filter(pk=_PAPER_ID).annotate(**values).values_list(*values)
    return _compiled(papers[:1], names=values)


@functools.cache
def _rows_query(signed_in: bool) -> CompiledQuery:
    reader = get_user_model()(pk=_READER_ID) if signed_in else None
    comments = Comment.objects.filter(paper_id=_PAPER_ID).for_thread(reader).order_by()
    return _compiled(comments.values_list(*ROW_FIELDS))


def thread_state(paper, user, posting=False) -> ThreadState:
    """Whether the discussion is locked, and the viewer suspended, a moderator or an
    author of the paper: one query (scalar subqueries on the paper's row). `posting`
    asks, in the same query, what posting checks of the viewer too (viewer_verified,
    viewer_last_hash)."""
    signed_in = user.is_authenticated
    query = _state_query(signed_in, signed_in and user.is_staff, posting)
    found = next(iter(query.run(paper=paper.pk, reader=user.pk if signed_in else None)), None)
    row = dict(zip(query.names, found, strict=True)) if found else {}
    return ThreadState(
        locked_reason=row.get("locked"),
        viewer_suspended=bool(row.get("suspended")),
        viewer_moderates=signed_in and (user.is_staff or bool(row.get("moderator"))),
        viewer_authored=bool(row.get("authored")),
        has_comments=bool(row.get("has_comments")),
        viewer_verified=bool(row["verified"]) if "verified" in row else None,
        viewer_last_hash=row.get("last_hash"),
    )


def _sort_key(order):
    if order == "newest":
        return lambda c: (-c.created_at.timestamp(), -c.pk)
    # Best: most upvoted first; among equals the earlier, which had the floor first.
    return lambda c: (-c.score, c.created_at, c.pk)


def arrange(comments, order=DEFAULT_ORDER, user=None, now=None) -> list[ThreadComment]:
    """The top-level comments in `order`, each with `.children` (its replies in the
    same order) and `.level` (how deep it is drawn). Replies below MAX_DEPTH are
    flattened into their level-MAX_DEPTH ancestor's children, oldest first, each with
    `.reply_to` (the comment it answers). Deleted comments with nothing shown under
    them are left out; other deleted or hidden ones stay as tombstones."""
    now = now or timezone.now()
    user_pk = user.pk if user is not None and user.is_authenticated else None
    by_parent = defaultdict(list)
    for comment in comments:
        if comment.author_id == user_pk and comment.is_live:
            comment.editable = in_edit_window(comment.created_at, now)
        by_parent[comment.parent_id].append(comment)
    key = _sort_key(order)

    def keep(comment) -> bool:
        # Shown, or above something shown.
        kept = [c for c in comment.children if keep(c)]
        comment.children = kept
        if comment.deleted_at is None or kept:
            return True
        # A flattened tombstone stays when replies below it point to it.
        return comment.level > MAX_DEPTH and bool(by_parent.get(comment.pk))

    def descendants(comment):
        for child in by_parent.get(comment.pk, ()):
            child.reply_to = comment
            yield child
            yield from descendants(child)

    def place(comment, level):
        comment.level = level
        if level < MAX_DEPTH:
            comment.children = sorted(by_parent.get(comment.pk, ()), key=key)
            for child in comment.children:
                place(child, level + 1)
        else:
            flat = sorted(descendants(comment), key=lambda c: (c.created_at, c.pk))
            for child in flat:
                child.level, child.children = level + 1, []
            comment.children = flat

    roots = sorted(by_parent.get(None, ()), key=key)
    for root in roots:
        place(root, 0)
    return [root for root in roots if keep(root)]


def thread_rows(paper, user=None) -> list[ThreadComment]:
    """Every comment of the paper with its author, badges and the reader's vote: one
    query, rows rather than model instances."""
    signed_in = user is not None and user.is_authenticated
    rows = _rows_query(signed_in).run(paper=paper.pk, reader=user.pk if signed_in else None)
    return [ThreadComment(row) for row in rows]


def thread_for_page(paper, user, order=DEFAULT_ORDER, state=None) -> list[ThreadComment]:
    if state is not None and not state.has_comments:
        return []  # no query for a paper nobody has commented on
    return arrange(thread_rows(paper, user), order, user)


def discussion_context(request, paper) -> dict:
    """The context of discussion/_discussion.html, for the paper page."""
    order = request.GET.get("sort")
    order = order if order in ORDERS else DEFAULT_ORDER
    state = thread_state(paper, request.user)
    return {
        "thread": thread_for_page(paper, request.user, order, state),
        "thread_state": state,
        "order": order,
        "orders": ORDERS,
        "comment_form": CommentForm(),
    }
