"""A paper's discussion as the page shows it: the comments in two queries whatever
their number (the thread's state, then every comment with its badges and the reader's
votes), arranged into a tree in Python."""

from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from papers.models import Paper

from .forms import CommentForm
from .models import MAX_DEPTH, Comment, LockedThread, Suspension

ORDERS = {"best": "Best", "newest": "Newest"}
# What the thread shows (discussion.render): the bodies' source and the authors' other
# columns stay in the database.
THREAD_FIELDS = [
    *("id", "paper_id", "author_id", "parent_id", "depth", "body_html", "score"),
    *("created_at", "edited_at", "deleted_at", "hidden_at", "hidden_reason"),
    *("author__id", "author__username", "author__display_name", "author__is_staff"),
]
DEFAULT_ORDER = "best"


@dataclass
class ThreadState:
    locked_reason: str | None = None
    viewer_suspended: bool = False
    viewer_moderates: bool = False
    has_comments: bool = True  # any row, shown or not (tombstones, hidden ones)

    @property
    def is_locked(self):
        return self.locked_reason is not None

    def may_post(self) -> bool:
        return not self.viewer_suspended and (not self.is_locked or self.viewer_moderates)


def thread_state(paper, user) -> ThreadState:
    """Whether the discussion is locked, and the viewer suspended or a moderator: one
    query (scalar subqueries on the paper's row)."""
    values = {
        "locked": Subquery(LockedThread.objects.filter(paper=OuterRef("pk")).values("reason")[:1]),
        "has_comments": Exists(Comment.objects.filter(paper=OuterRef("pk"))),
    }
    if user.is_authenticated:
        values["suspended"] = Exists(Suspension.objects.filter(user=user.pk))
        if not user.is_staff:
            values["moderator"] = Exists(Group.objects.filter(name="moderator", user=user.pk))
    row = Paper.objects.filter(pk=paper.pk).values(**values).first() or {}
    return ThreadState(
        locked_reason=row.get("locked"),
        viewer_suspended=bool(row.get("suspended")),
        viewer_moderates=user.is_authenticated and (user.is_staff or bool(row.get("moderator"))),
        has_comments=bool(row.get("has_comments")),
    )


def _sort_key(order):
    if order == "newest":
        return lambda c: (-c.created_at.timestamp(), -c.pk)
    # Best: most upvoted first; among equals the earlier, which had the floor first.
    return lambda c: (-c.score, c.created_at, c.pk)


def arrange(comments, order=DEFAULT_ORDER, user=None, now=None) -> list[Comment]:
    """The top-level comments in `order`, each with `.children` (its replies in the
    same order) and `.level` (how deep it is drawn). Replies below MAX_DEPTH are
    flattened into their level-MAX_DEPTH ancestor's children, oldest first, each with
    `.reply_to` (the comment it answers). Deleted comments with nothing shown under
    them are left out; other deleted or hidden ones stay as tombstones."""
    now = now or timezone.now()
    by_parent = defaultdict(list)
    for comment in comments:
        comment.children, comment.reply_to = [], None
        comment.editable = user is not None and comment.can_edit(user, now)
        by_parent[comment.parent_id].append(comment)
    key = _sort_key(order)

    def keep(comment) -> bool:
        # Shown, or above something shown.
        kept = [c for c in comment.children if keep(c)]
        comment.children = kept
        if not comment.is_deleted or kept:
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


def thread_for_page(paper, user, order=DEFAULT_ORDER, state=None) -> list[Comment]:
    if state is not None and not state.has_comments:
        return []  # no query for a paper nobody has commented on
    comments = Comment.objects.filter(paper=paper).for_thread(user).only(*THREAD_FIELDS)
    return arrange(list(comments.order_by()), order, user)


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
