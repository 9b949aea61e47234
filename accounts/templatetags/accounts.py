from django import template
from django.conf import settings

from accounts.models import AuthorClaim

register = template.Library()


@register.simple_tag
def author_claim_state(author, user):
    """The viewer's claim on `author`: {"claim": their open claim or None,
    "last_rejected": their latest rejected claim or None, "orcid": whether ORCID
    sign-in is configured (and so automatic approval possible)}."""
    orcid = "orcid" in settings.SOCIALACCOUNT_PROVIDERS
    if not user.is_authenticated:
        return {"claim": None, "last_rejected": None, "orcid": orcid}
    claims = list(AuthorClaim.objects.filter(user=user, author=author).order_by("-created_at"))
    open_claim = next((c for c in claims if c.status in ("pending", "approved")), None)
    rejected = next((c for c in claims if c.status == "rejected"), None)
    return {"claim": open_claim, "last_rejected": rejected, "orcid": orcid}
