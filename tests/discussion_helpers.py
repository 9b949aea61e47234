"""Helpers for the discussion tests (issue 14): established members, comments."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from discussion.models import Comment

from .accounts_helpers import verified
from .factories import UserFactory


def member(username, days=30, verify=True, **fields):
    """A user who joined `days` ago (older than COMMENT_MIN_ACCOUNT_AGE by default)."""
    user = UserFactory(username=username, **fields)
    user.date_joined = timezone.now() - dt.timedelta(days=days)
    user.save(update_fields=["date_joined"])
    return verified(user) if verify else user


def comment_on(paper, author, body="A comment.", parent=None, **fields):
    comment = Comment.post(paper, author, body, parent)
    if fields:
        Comment.objects.filter(pk=comment.pk).update(**fields)
        comment.refresh_from_db()
    return comment


def post_url(paper):
    return reverse("discussion:post", args=[paper.arxiv_id])


def action_url(name, comment):
    return reverse(f"discussion:{name}", args=[comment.paper.arxiv_id, comment.pk])
