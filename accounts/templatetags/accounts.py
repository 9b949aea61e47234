from django import template
from django.conf import settings

from accounts.models import AuthorClaim
from accounts.signin import reason

register = template.Library()


@register.simple_tag
def author_claim_state(author, user):
    """The viewer's claim on `author`: {"claim": their open claim or None,
    "last_rejected": their latest rejected claim or None, "orcid": whether ORCID
    sign-in is configured (and so automatic approval possible)}."""
    orcid = "orcid" in settings.SOCIALACCOUNT_PROVIDERS
    return {**AuthorClaim.objects.state_of(user, author), "orcid": orcid}


@register.simple_tag(takes_context=True)
def signin_reason(context):
    """Why the visitor is asked to sign in (accounts.signin.reason), or ""."""
    request = context.get("request")
    return reason(request) if request is not None else ""


@register.simple_tag
def social_login_configured():
    """Whether any social provider is configured: without one, "Connected accounts"
    has nothing to connect and is left out of the settings."""
    return bool(settings.SOCIALACCOUNT_PROVIDERS)
