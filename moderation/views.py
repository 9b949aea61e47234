"""Moderation: the public log and its feed for everyone; the queue and the actions for
moderators (staff or the `moderator` group). Each action asks for a public reason."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from discussion.forms import ReasonForm
from discussion.models import Comment, LockedThread, Suspension, is_moderator
from papers.models import Paper

from . import models
from .models import ModerationAction

LOG_PAGE_SIZE = 50


def moderation_log(request):
    actions = ModerationAction.objects.select_related(
        "moderator", "paper", "target_user", "comment"
    )
    page = Paginator(actions, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "viewer_moderates": is_moderator(request.user)}
    return render(request, "moderation/log.html", context)


def _moderator_only(request):
    if not is_moderator(request.user):
        raise PermissionDenied("Only moderators can do this.")


def queue(request):
    """Comments with open reports, most reported first; suspensions and locks."""
    _moderator_only(request)
    open_flags = Q(flags__resolved_at__isnull=True)
    flagged = (
        Comment.objects.filter(open_flags)
        .annotate(open_flags=Count("flags", filter=open_flags), last_flag=Max("flags__created_at"))
        .select_related("author", "paper")
        .prefetch_related("flags")
        .order_by("-open_flags", "-last_flag")[:100]
    )
    context = {
        "flagged": flagged,
        "suspensions": Suspension.objects.select_related("user").order_by("-created_at"),
        "locks": LockedThread.objects.select_related("paper").order_by("-created_at"),
    }
    return render(request, "moderation/queue.html", context)


def _act(request, title, subject, action, done, back, needs_reason=True, **context):
    """A moderator's action form (GET) and its POST: the reason, then `action(reason)`."""
    _moderator_only(request)
    form = ReasonForm(request.POST or None)
    if not needs_reason:
        form.fields["reason"].required = False
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changed = action(form.cleaned_data["reason"])
            messages.success(request, done if changed else "Nothing to change: already done.")
            return redirect(back)
        status = 400
    context.update(form=form, title=title, subject=subject, back=back)
    return render(request, "moderation/act.html", context, status=status)


def hide_comment(request, pk):
    comment = get_object_or_404(Comment.objects.select_related("paper", "author"), pk=pk)
    return _act(
        request,
        "Hide a comment",
        comment,
        lambda reason: models.hide_comment(request.user, comment, reason),
        "The comment is hidden; the reason is in the moderation log.",
        comment.get_absolute_url(),
        comment=comment,
    )


def unhide_comment(request, pk):
    comment = get_object_or_404(Comment.objects.select_related("paper", "author"), pk=pk)
    return _act(
        request,
        "Show a hidden comment again",
        comment,
        lambda reason: models.unhide_comment(request.user, comment, reason),
        "The comment is shown again.",
        comment.get_absolute_url(),
        needs_reason=False,
        comment=comment,
    )


def dismiss_flags(request, pk):
    comment = get_object_or_404(Comment.objects.select_related("paper", "author"), pk=pk)
    return _act(
        request,
        "Dismiss the reports on a comment",
        comment,
        lambda reason: models.dismiss_flags(request.user, comment, reason),
        "Reports dismissed.",
        reverse("moderation:queue"),
        needs_reason=False,
        comment=comment,
    )


def lock_thread(request, arxiv_id):
    paper = get_object_or_404(Paper, arxiv_id=arxiv_id)
    if LockedThread.objects.filter(paper=paper).exists():
        return _act(
            request,
            "Unlock a discussion",
            paper,
            lambda reason: models.unlock_thread(request.user, paper, reason),
            "The discussion is open again.",
            paper.get_absolute_url() + "#discussion",
            needs_reason=False,
            paper=paper,
        )
    return _act(
        request,
        "Lock a discussion",
        paper,
        lambda reason: models.lock_thread(request.user, paper, reason),
        "The discussion is locked.",
        paper.get_absolute_url() + "#discussion",
        paper=paper,
    )


def suspend_user(request, username):
    person = get_object_or_404(get_user_model(), username=username)
    if Suspension.objects.filter(user=person).exists():
        return _act(
            request,
            f"Lift the suspension of @{person.username}",
            person,
            lambda reason: models.unsuspend_user(request.user, person, reason),
            "The suspension is lifted.",
            reverse("moderation:queue"),
            needs_reason=False,
            person=person,
        )
    if person.is_staff:
        raise PermissionDenied("Staff accounts are managed in the admin.")
    return _act(
        request,
        f"Suspend @{person.username}",
        person,
        lambda reason: models.suspend_user(request.user, person, reason),
        f"@{person.username} is suspended: their comments are hidden, they can't post or vote.",
        reverse("moderation:queue"),
        person=person,
    )
