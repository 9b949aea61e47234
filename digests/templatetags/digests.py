"""Template helpers for digest emails and the follow/subscribe partials."""

import textwrap

from django import template
from django.conf import settings

from digests.models import FollowedAuthor

register = template.Library()


@register.filter
def wrapped(text, width=72):
    """Plain-text wrapping for emails: continuation lines indented four spaces, to sit
    under a numbered item ("12. Title ...")."""
    return textwrap.fill(str(text), width=int(width), subsequent_indent="    ")


@register.filter
def absolute(path):
    """An absolute URL on this site (emails and feeds can't use relative links)."""
    return settings.SITE_URL + str(path)


@register.simple_tag(takes_context=True)
def follows_author(context, author):
    """Does the signed-in user follow `author`? One query, for the author page's
    follow button (papers/_follow_author.html)."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return False
    return FollowedAuthor.objects.filter(user=user, author=author).exists()
