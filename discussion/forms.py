import datetime as dt
import re

from django import forms
from django.conf import settings
from django.utils import timezone

from .models import Comment, Flag, body_hash, render_body

# Bare addresses count as links too: a spammer needs no Markdown.
_BARE_LINK = re.compile(r"(?i)\b(?:https?://|www\.)|\b[\w-]+\.(?:com|net|org|io|ru|xyz)\b/")


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Markdown: *emphasis*, `code`, [links](https://…), $math$ and @username.",
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, author=None, **kwargs):
        self.author = author
        super().__init__(*args, **kwargs)
        self.fields["body"].widget.attrs["maxlength"] = settings.COMMENT_MAX_LENGTH

    def clean_body(self):
        # CharField already refuses NUL characters (with a form error, never a 500).
        body = self.cleaned_data["body"].strip()
        limit = settings.COMMENT_MAX_LENGTH
        if len(body) > limit:
            raise forms.ValidationError(
                f"Keep comments under {limit:,} characters (this one has {len(body):,})."
            )
        if not body:
            raise forms.ValidationError("Write something first.")
        if self.author is not None and is_new_account(self.author):
            if render_body(body).has_links or _BARE_LINK.search(body):
                raise forms.ValidationError(
                    "New accounts can't post links yet: please write the address without "
                    "a link, or come back in a few days."
                )
        return body

    def rendered_preview(self) -> str:
        return render_body(self.cleaned_data["body"]).html


class NewCommentForm(CommentForm):
    """A new comment or reply. `state`, the thread's state asked for posting
    (discussion.thread.thread_state with posting=True), answers what the checks would
    otherwise ask the database: whether the author's account is new, and the text of
    their latest comment."""

    def __init__(self, *args, paper=None, state=None, **kwargs):
        self.paper = paper
        self.state = state if state is not None and state.viewer_verified is not None else None
        super().__init__(*args, **kwargs)
        if self.state is not None and self.author is not None:
            is_new_account(self.author, verified=self.state.viewer_verified)

    def clean_parent(self):
        pk = self.cleaned_data.get("parent")
        if pk is None:
            return None
        parent = Comment.objects.filter(pk=pk, paper=self.paper).first()
        if parent is None or not parent.is_live:
            raise forms.ValidationError("That comment is no longer there to reply to.")
        return parent

    def clean(self):
        data = super().clean()
        body = data.get("body")
        if body and self.author is not None:
            if self.state is not None:
                last_hash = self.state.viewer_last_hash
            else:
                last = self.author.comments.order_by("-created_at", "-pk").first()
                last_hash = last.body_hash if last and last.deleted_at is None else None
            if last_hash == body_hash(body):
                self.add_error("body", "You have just posted this comment.")
        return data


class FlagForm(forms.Form):
    reason = forms.ChoiceField(
        choices=Flag.Reason.choices, widget=forms.RadioSelect, label="What is wrong with it?"
    )
    note = forms.CharField(
        required=False, max_length=500, label="Anything the moderators should know (optional)"
    )


class ReasonForm(forms.Form):
    """A moderator's public reason for an action."""

    reason = forms.CharField(
        max_length=500,
        label="Reason (shown publicly in the moderation log)",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


def is_new_account(user, verified=None) -> bool:
    """Younger than COMMENT_MIN_ACCOUNT_AGE, or without a verified email (`verified`,
    when the caller has asked already). Kept on the request's user: posting asks twice
    (links, then the daily limit)."""
    new = getattr(user, "_is_new_account", None)
    if new is None:
        age = dt.timedelta(seconds=settings.COMMENT_MIN_ACCOUNT_AGE)
        if timezone.now() - user.date_joined < age:
            new = True
        else:
            new = not (user.has_verified_email() if verified is None else verified)
        user._is_new_account = new
    return new


def new_account_over_daily_limit(user) -> bool:
    if not is_new_account(user):
        return False
    since = timezone.now() - dt.timedelta(days=1)
    return user.comments.filter(created_at__gte=since).count() >= (
        settings.NEW_ACCOUNT_COMMENTS_PER_DAY
    )
