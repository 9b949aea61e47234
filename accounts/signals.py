from allauth.account.signals import email_confirmation_sent, email_confirmed, user_logged_in
from allauth.socialaccount.signals import social_account_added, social_account_updated
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from papers import pending_votes

from .models import AuthorClaim, User


@receiver(user_logged_in)
def cast_pending_vote_on_login(sender, request, user, **kwargs):
    pending_votes.cast(request, user)


@receiver(email_confirmation_sent)
def keep_pending_vote_for_verification(sender, request, confirmation, signup, **kwargs):
    pending_votes.keep_for(request, confirmation.email_address.user)


@receiver(email_confirmed)
def cast_pending_vote_on_verification(sender, request, email_address, **kwargs):
    next_url = pending_votes.cast(request, email_address.user)
    if next_url and request is not None:
        request.pending_vote_next = next_url


@receiver(social_account_added)
@receiver(social_account_updated)
def approve_claims_matching_orcid(sender, request, sociallogin, **kwargs):
    if sociallogin.account.provider != "orcid":
        return
    for claim in AuthorClaim.objects.pending().filter(user=sociallogin.user):
        claim.approve_if_orcid_matches()


@receiver(pre_delete, sender=User)
def withdraw_votes_of_a_deleted_user(sender, instance, **kwargs):
    """A user deleted other than through delete_account() (the admin's bulk action, the
    shell, a cascade) would take their votes with them by CASCADE, leaving every count
    they were in one too high. Withdraw them first, through the one method that keeps
    counts exact; after delete_account() there are none left and this changes nothing."""
    instance.withdraw_votes()
