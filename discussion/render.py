"""The markup of comments, written in Python rather than a template.

A paper page may show hundreds of comments: through `{% include %}` each cost about
a millisecond (variable lookups, url reversing, localisation), the whole page 300 ms for
300 comments; here one costs a few dozen microseconds. The templates
discussion/_comment.html and _comment_main.html call these functions (through
discussion_tags), so the page and the fragments htmx swaps in are one markup.

The comments are discussion.thread.ThreadComment rows. Every value from the database
is escaped (`escape`, the standard library's: Django's does the same replacements, plus
lazy-string and SafeString wrapping that cost more than the rest of a comment);
`body_html` was rendered and sanitised by nh3 when the comment was saved.
"""

import datetime as dt
from html import escape

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from .models import MAX_DEPTH


def ago(moment: dt.datetime, now: dt.datetime) -> str:
    seconds = max((now - moment).total_seconds(), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            if unit == "day" and seconds >= 30 * 86400:
                return moment.strftime("%-d %b %Y")
            count = int(seconds // size)
            return f"{count} {unit}{'s' * (count != 1)} ago"
    return "just now"


_MONTH_NAMES = (
    "January February March April May June July August September October November December"
)
MONTHS = (None, *_MONTH_NAMES.split())


def utc_minute(moment: dt.datetime) -> str:
    """ "5 December 2026, 07:02" (what strftime("%-d %B %Y, %H:%M") says, in a third of
    its time: a long thread formats hundreds of these)."""
    d = moment.astimezone(dt.UTC)
    return f"{d.day} {MONTHS[d.month]} {d.year}, {d.hour:02}:{d.minute:02}"


def utc_iso(moment: dt.datetime) -> str:
    """ "2026-12-05T07:02:09+00:00", as isoformat(timespec="seconds"), faster."""
    d = moment.astimezone(dt.UTC)
    return f"{d.year}-{d.month:02}-{d.day:02}T{d.hour:02}:{d.minute:02}:{d.second:02}+00:00"


class Renderer:
    """Renders the comments of one paper for one reader (URLs and names computed once)."""

    def __init__(self, paper, state, user, csrf_token, now=None):
        self.paper = paper
        self.state = state
        self.user = user
        self.user_pk = user.pk if user.is_authenticated else None
        self.csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
        self.base = reverse("discussion:post", args=[paper.arxiv_id])
        self.now = now or timezone.now()
        self.log_url = reverse("moderation:log")
        self.moderates = state.viewer_moderates
        self.may_post = state.may_post()
        # An author's heading and badges are the same on each of their comments.
        self.bylines = {}

    # --- One comment ------------------------------------------------------------

    def article(self, comment) -> str:
        children = "".join([self.article(child) for child in comment.children])
        level = min(comment.level, MAX_DEPTH + 1)
        return (
            f'<article class="comment level-{level}" id="comment-{comment.pk}">'
            f"{self.main(comment)}"
            f'<div class="replies" id="replies-{comment.pk}">{children}</div></article>\n'
        )

    def main(self, comment, vote_error="") -> str:
        pk = comment.pk
        if comment.is_deleted:
            inner = '<h3 class="comment-tombstone">Comment deleted by its author.</h3>'
        elif comment.is_hidden and not self.moderates:
            why = (
                f"Hidden by a moderator: {escape(comment.hidden_reason)}"
                if comment.hidden_at
                else "Hidden: its author's account is suspended."
            )
            inner = (
                f'<h3 class="comment-tombstone">{why} '
                f'(<a href="{self.log_url}">moderation log</a>)</h3>'
            )
        else:
            inner = self._header(comment) + self._body(comment) + self._actions(comment)
            if vote_error:
                inner += f'<p class="errorlist" role="alert">{escape(vote_error)}</p>'
            inner += f'<div class="reply-slot" id="reply-slot-{pk}"></div>'
        return f'<div class="comment-main" id="comment-main-{pk}">{inner}</div>'

    def byline(self, comment) -> str:
        """The author's name, a link to their profile, and their badges."""
        byline = self.bylines.get(comment.author_id)
        if byline is not None:
            return byline
        profile = escape(reverse("accounts:profile", args=[comment.author_username]))
        # The author's name is the comment's heading: readers jump between comments
        # with their screen reader's heading keys.
        parts = [
            f'<h3 class="comment-heading"><a class="comment-author" href="{profile}">'
            f"{escape(comment.author_name)}</a></h3>"
        ]
        if comment.by_paper_author:
            parts.append(
                '<span class="badge badge-author" title="Has claimed an author of this paper">'
                "author</span>"
            )
        if self.paper.submitted_by_id and comment.author_id == self.paper.submitted_by_id:
            parts.append(
                '<span class="badge badge-submitter" title="Submitted this paper">submitter</span>'
            )
        if comment.author_is_staff or comment.by_moderator:
            parts.append('<span class="badge badge-moderator">moderator</span>')
        byline = self.bylines[comment.author_id] = " ".join(parts)
        return byline

    def _header(self, comment) -> str:
        parts = [self.byline(comment)]
        created = comment.created_at
        parts.append(
            f'<a class="comment-time" href="#comment-{comment.pk}">'
            f'<time datetime="{utc_iso(created)}" title="{utc_minute(created)} UTC">'
            f"{ago(created, self.now)}</time></a>"
        )
        if comment.edited_at:
            parts.append(
                f'<span class="comment-edited" title="Edited {utc_minute(comment.edited_at)} UTC">'
                "edited</span>"
            )
            if self.moderates:
                parts.append(f'<a href="{self.base}{comment.pk}/history/">history</a>')
        reply_to = comment.reply_to
        if reply_to is not None:
            parts.append(
                f'<span class="comment-reply-to">replying to <a href="#comment-{reply_to.pk}">'
                f"@{escape(reply_to.author_username)}</a></span>"
            )
        return f'<header class="comment-meta">{" ".join(parts)}</header>'

    def _body(self, comment) -> str:
        notice = ""
        if comment.is_hidden:
            why = (
                f": {escape(comment.hidden_reason)}"
                if comment.hidden_at
                else (": its author is suspended")
            )
            notice = f'<p class="notice" role="note">Hidden from readers{why}.</p>'
        return f'{notice}<div class="comment-body math">{comment.body_html}</div>'

    def _actions(self, comment) -> str:
        pk, url = comment.pk, f"{self.base}{comment.pk}/"
        voted = comment.user_has_voted
        score = comment.score
        label = (
            f"{'Remove your upvote' if voted else 'Upvote'} of this comment by "
            f"{escape(comment.author_name)}, {score} upvote{'s' * (score != 1)}"
        )
        parts = [
            f'<form class="comment-vote" method="post" action="{url}vote/" hx-post="{url}vote/"'
            f' hx-target="#comment-main-{pk}" hx-swap="outerHTML">{self.csrf}'
            f'<input type="hidden" name="action" value="{"remove" if voted else "up"}">'
            f'<button type="submit" class="comment-vote-button{" is-voted" * voted}"'
            f' aria-pressed="{"true" if voted else "false"}" aria-label="{label}">'
            f'<span aria-hidden="true">▲</span> {score}</button></form>'
        ]
        if self.may_post and comment.is_live:
            parts.append(
                f'<a href="{url}reply/" hx-get="{url}reply/" hx-target="#reply-slot-{pk}"'
                ' hx-swap="innerHTML">Reply</a>'
            )
        if comment.editable:
            parts.append(
                f'<a href="{url}edit/" hx-get="{url}edit/" hx-target="#comment-main-{pk}"'
                ' hx-swap="outerHTML">Edit</a>'
            )
        if self.user_pk is not None and self.user_pk == comment.author_id:
            parts.append(
                f'<form class="inline-form" method="post" action="{url}delete/"'
                f' hx-post="{url}delete/" hx-target="#comment-main-{pk}" hx-swap="outerHTML"'
                ' hx-confirm="Delete your comment? Replies to it stay.">'
                f'{self.csrf}<button type="submit" class="link-button">Delete</button></form>'
            )
        elif self.user_pk is not None:
            parts.append(f'<a href="{url}flag/">Report</a>')
        if self.moderates:
            if comment.hidden_at:
                target = reverse("moderation:unhide_comment", args=[pk])
                parts.append(f'<a href="{target}">Unhide</a>')
            else:
                parts.append(f'<a href="{reverse("moderation:hide_comment", args=[pk])}">Hide</a>')
        return f'<div class="comment-actions">{"".join(parts)}</div>'


def render_thread(renderer, comments) -> str:
    return mark_safe("".join([renderer.article(comment) for comment in comments]))
