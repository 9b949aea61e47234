from allauth.account.signals import email_confirmation_sent, user_logged_in
from django.dispatch import receiver

from papers.hooks import add_page_relation, add_positive_examples, add_viewer_annotation
from papers.models import papers_hidden

from . import pending
from .models import (
    annotate_saved,
    hidden_papers_changed,
    public_collections_shown,
    recent_positive_examples,
)

# Every list of paper cards and the paper page say whether the viewer saved the paper.
add_viewer_annotation(annotate_saved)
# Saved and collected papers are positive examples for "For you" and the digest.
add_positive_examples(recent_positive_examples)
# The paper page's cached parts change with the public collections it lists.
add_page_relation(public_collections_shown)


@receiver(user_logged_in)
def save_pending_paper_on_login(sender, request, user, **kwargs):
    pending.save_for(request, user)


@receiver(email_confirmation_sent)
def save_pending_paper_on_signup(sender, request, confirmation, signup, **kwargs):
    # The account exists from sign-up on; it may be verified from another browser.
    if signup:
        pending.save_for(request, confirmation.email_address.user)


@receiver(papers_hidden)
def forget_hidden_saves(sender, **kwargs):
    # The reading lists' cached lists of hidden papers (models.hidden_saved_ids).
    hidden_papers_changed()
