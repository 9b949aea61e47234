"""A paper's discussion: posting, replying, editing, deleting, voting and flagging.

Every form works twice: with htmx the answer is the changed fragment, swapped in place
(a refusal too, with its status: data-swap-statuses on the discussion section);
without JavaScript the form POSTs and the view redirects to the comment's anchor, or
renders a page with the form and its errors (or its preview).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import is_ratelimited

from accounts import signin
from papers.models import Paper

from .forms import CommentForm, FlagForm, NewCommentForm, new_account_over_daily_limit
from .models import MAX_DEPTH, Comment, Flag, is_moderator
from .thread import ORDERS, ThreadComment, thread_state

# --- Helpers -------------------------------------------------------------------------


# What posting and comment votes read of the paper (URLs, the count, the submitter's
# badge, the title on a page of its own): not the abstract, authors and links a whole
# row would turn into Python, which took longer than the rest of the query.
POSTING_FIELDS = ("pk", "arxiv_id", "title", "comment_count", "submitted_by")


def _paper(arxiv_id, fields=()):
    papers = Paper.objects.visible()
    return get_object_or_404(papers.only(*fields) if fields else papers, arxiv_id=arxiv_id)


def _comment(paper, pk, user=None):
    comments = Comment.objects.filter(paper=paper).for_thread(user)
    comment = get_object_or_404(comments, pk=pk)
    comment.paper = paper
    return comment


def _order(request):
    order = request.POST.get("sort") or request.GET.get("sort")
    return order if order in ORDERS else None


def _back_to(paper, comment=None, order=None):
    url = paper.get_absolute_url()
    if order:
        url += f"?sort={order}"
    return url + (f"#{comment.anchor}" if comment else "#discussion")


def _login_first(request, paper):
    login_url = signin.login_url(paper.get_absolute_url() + "#discussion", "comment")
    if request.htmx:
        return HttpResponseClientRedirect(login_url)
    return redirect(login_url)


def _refuse(request, paper, message, status, template="discussion/refused.html", **context):
    """A refusal: in the swapped fragment's place with htmx, else on a page of its own."""
    context = {"paper": paper, "message": message, **context}
    if request.htmx:
        return render(request, "discussion/_refusal.html", context, status=status)
    return render(request, template, context, status=status)


def _render_main(request, comment, state, status=200):
    row = ThreadComment.of(comment, request.user)
    context = {"comment": row, "paper": comment.paper, "thread_state": state}
    return render(request, "discussion/_comment_main.html", context, status=status)


# --- Posting ------------------------------------------------------------------------


def post_comment(request, arxiv_id):
    """POST a comment (`body`, and `parent` for a reply). GET: the discussion."""
    paper = _paper(arxiv_id, POSTING_FIELDS)
    if request.method != "POST":
        return redirect(_back_to(paper))
    if not request.user.is_authenticated:
        return _login_first(request, paper)
    state = thread_state(paper, request.user, posting=True)
    parent_pk = request.POST.get("parent") or ""
    form = NewCommentForm(request.POST, author=request.user, paper=paper, state=state)
    context = {"paper": paper, "form": form, "thread_state": state, "parent_pk": parent_pk}
    if state.viewer_suspended:
        return _refuse(request, paper, "Your account is suspended: you can't comment.", 403)
    if state.is_locked and not state.viewer_moderates:
        message = f"This discussion is locked: {state.locked_reason}"
        return _refuse(request, paper, message, 403)
    if "preview" in request.POST:
        if form.is_valid():
            context["preview"] = form.rendered_preview()
        return _form_answer(request, context, 200 if form.is_valid() else 400)
    if is_ratelimited(
        request,
        group="discussion:post",
        key="user",
        rate=settings.COMMENT_RATE_LIMIT,
        increment=True,
    ):
        form.add_error(None, "You are commenting too fast: wait a minute and post again.")
        return _form_answer(request, context, 429)
    if new_account_over_daily_limit(request.user):
        form.add_error(
            None,
            f"New accounts may post {settings.NEW_ACCOUNT_COMMENTS_PER_DAY} comments a day: "
            "please come back tomorrow.",
        )
        return _form_answer(request, context, 429)
    if not form.is_valid():
        return _form_answer(request, context, 400)
    parent = form.cleaned_data["parent"]
    try:
        comment = Comment.post(paper, request.user, form.cleaned_data["body"], parent)
    except Comment.Duplicate:
        form.add_error("body", "You have already posted this comment here.")
        return _form_answer(request, context, 400)
    if not request.htmx:
        return redirect(_back_to(paper, comment, _order(request)))
    return _posted_fragment(request, paper, comment, state)


def _form_answer(request, context, status):
    """The comment form again (with its errors or preview): in place, or as a page."""
    template = "discussion/_comment_form.html" if request.htmx else "discussion/compose.html"
    context["in_place"] = bool(request.htmx)
    return render(request, template, context, status=status)


def _posted_fragment(request, paper, comment, state):
    """For htmx: an empty form where the form was, and the new comment, placed by an
    out-of-band swap (under its parent, or at the top of the discussion)."""
    parent = comment.parent
    comment = ThreadComment.just_posted(comment, state)
    if parent is not None and parent.depth >= MAX_DEPTH:
        # Flattened: the reply says whom it answers.
        comment.reply_to = ThreadComment.of(_comment(paper, parent.pk))
    if parent is None:
        comment.level, where = 0, "afterbegin:#comment-list"
    elif parent.depth > MAX_DEPTH:
        # The parent is in a flattened column: the reply goes right after it.
        comment.level, where = MAX_DEPTH + 1, f"afterend:#{parent.anchor}"
    elif parent.depth == MAX_DEPTH:
        # The parent heads a flattened column: the reply joins it, at the end.
        comment.level, where = MAX_DEPTH + 1, f"beforeend:#replies-{parent.pk}"
    else:
        comment.level, where = parent.depth + 1, f"beforeend:#replies-{parent.pk}"
    # paper.comment_count is the new count: Comment.post read it back.
    context = {
        "paper": paper,
        "comment": comment,
        "oob_target": where,
        "thread_state": state,
        "form": CommentForm() if parent is None else None,
        "parent_pk": "",
    }
    html = loader.render_to_string("discussion/_posted.html", context, request)
    return HttpResponse(html)


def reply_form(request, arxiv_id, pk):
    """The reply form under a comment: swapped in by htmx, or a page of its own."""
    paper = _paper(arxiv_id)
    parent = _comment(paper, pk)
    state = thread_state(paper, request.user)
    form = NewCommentForm(initial={"parent": parent.pk})
    context = {
        "paper": paper,
        "form": form,
        "parent": parent,
        "parent_pk": parent.pk,
        "thread_state": state,
        "in_place": bool(request.htmx),
    }
    template = "discussion/_comment_form.html" if request.htmx else "discussion/compose.html"
    return render(request, template, context)


# --- Editing and deleting -----------------------------------------------------------


def edit_comment(request, arxiv_id, pk):
    paper = _paper(arxiv_id)
    if not request.user.is_authenticated:
        return _login_first(request, paper)
    comment = _comment(paper, pk, request.user)
    if not comment.can_edit(request.user):
        raise PermissionDenied("Only its author may edit a comment, within minutes of posting.")
    state = thread_state(paper, request.user)
    if request.method == "POST" and "cancel" in request.POST:
        if request.htmx:
            return _render_main(request, comment, state)
        return redirect(_back_to(paper, comment))
    form = CommentForm(request.POST or None, author=request.user, initial={"body": comment.body})
    context = {
        "paper": paper,
        "comment": comment,
        "form": form,
        "thread_state": state,
        "in_place": bool(request.htmx),
    }
    status = 200
    if request.method == "POST":
        if form.is_valid() and "preview" not in request.POST:
            if form.cleaned_data["body"] != comment.body:
                comment.edit(form.cleaned_data["body"])
            if request.htmx:
                return _render_main(request, comment, state)
            return redirect(_back_to(paper, comment))
        if form.is_valid():
            context["preview"] = form.rendered_preview()
        else:
            status = 400
    template = "discussion/_edit_form.html" if request.htmx else "discussion/edit.html"
    return render(request, template, context, status=status)


@require_POST
def delete_comment(request, arxiv_id, pk):
    paper = _paper(arxiv_id)
    if not request.user.is_authenticated:
        return _login_first(request, paper)
    comment = _comment(paper, pk, request.user)
    if not comment.can_delete(request.user):
        raise PermissionDenied("Only its author may delete a comment.")
    comment.delete_by_author()
    if request.htmx:
        return _render_main(request, comment, thread_state(paper, request.user))
    messages.success(request, "Your comment is deleted.")
    return redirect(_back_to(paper, comment))


# --- Votes and flags ----------------------------------------------------------------


@require_POST
def vote_comment(request, arxiv_id, pk):
    """Add (action=up) or withdraw (action=remove) an upvote: explicit, not a toggle."""
    paper = _paper(arxiv_id, POSTING_FIELDS)
    if not request.user.is_authenticated:
        return _login_first(request, paper)
    comment = _comment(paper, pk, request.user)
    state = thread_state(paper, request.user, posting=True)
    refusal = None
    if state.viewer_suspended:
        refusal = ("Your account is suspended: you can't vote.", 403)
    elif not state.viewer_verified:
        refusal = ("Verify your email address to vote: follow the link we sent you.", 403)
    elif comment.author_id == request.user.pk:
        refusal = ("You can't upvote your own comment.", 403)
    elif not comment.is_live:
        refusal = ("This comment can no longer be voted on.", 403)
    elif is_ratelimited(
        request, group="papers:vote", key="user", rate=settings.VOTE_RATE_LIMIT, increment=True
    ):
        refusal = ("You are voting too fast: wait a minute.", 429)
    if refusal is None:
        if request.POST.get("action") == "remove":
            comment.remove_vote(request.user)
            comment.user_has_voted = False
        else:
            comment.add_vote(request.user)
            comment.user_has_voted = True
    if request.htmx:
        comment.vote_error = refusal[0] if refusal else ""
        return _render_main(request, comment, state, status=refusal[1] if refusal else 200)
    if refusal:
        messages.error(request, refusal[0])
    return redirect(_back_to(paper, comment, _order(request)))


@login_required
def flag_comment(request, arxiv_id, pk):
    """Report a comment to the moderators (a page: reason list and an optional note)."""
    paper = _paper(arxiv_id)
    comment = _comment(paper, pk, request.user)
    form = FlagForm(request.POST or None)
    already = Flag.objects.filter(comment=comment, user=request.user).exists()
    status = 200
    if request.method == "POST":
        if is_ratelimited(
            request,
            group="discussion:flag",
            key="user",
            rate=settings.FLAG_RATE_LIMIT,
            increment=True,
        ):
            form.add_error(None, "You have reported many comments recently: wait an hour.")
            status = 429
        elif comment.author_id == request.user.pk:
            form.add_error(None, "This is your own comment: you can delete it instead.")
            status = 403
        elif form.is_valid():
            _, created = Flag.objects.get_or_create(
                comment=comment, user=request.user, defaults=form.cleaned_data
            )
            if created:
                messages.success(request, "Thank you: the moderators will look at it.")
            else:
                messages.info(request, "You had already reported this comment.")
            return redirect(_back_to(paper, comment))
        else:
            status = 400
    context = {"paper": paper, "comment": comment, "form": form, "already": already}
    return render(request, "discussion/flag.html", context, status=status)


def comment_history(request, arxiv_id, pk):
    """A comment's earlier versions: for moderators (edits can change what was said)."""
    if not is_moderator(request.user):
        raise PermissionDenied("Only moderators see the history of comments.")
    paper = _paper(arxiv_id)
    comment = _comment(paper, pk)
    context = {"paper": paper, "comment": comment, "revisions": comment.revisions.all()}
    return render(request, "discussion/history.html", context)


# --- A user's comments --------------------------------------------------------------


def user_comments(request, username):
    person = get_object_or_404(get_user_model(), username=username, is_active=True)
    comments = (
        Comment.objects.filter(author=person, paper__is_hidden=False)
        .shown()
        .select_related("paper")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(comments, 30).get_page(request.GET.get("page"))
    context = {"person": person, "page": page}
    return render(request, "discussion/user_comments.html", context)


def comments_url(paper) -> str:
    return reverse("discussion:post", args=[paper.arxiv_id])
