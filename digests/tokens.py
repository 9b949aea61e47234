"""Signed tokens in digest links. Each kind has its own salt, so a token for one
purpose never works for another; a forged or altered token fails the signature check
and the view does nothing."""

from django.conf import settings
from django.core import signing

_CONFIRM = "digests.confirm"
_UNSUBSCRIBE = "digests.unsubscribe"
_VIEW = "digests.view"


def confirm_token(subscription) -> str:
    """Expires (DIGEST_CONFIRM_MAX_AGE), and names the address, so a link sent to an
    earlier address of the subscription can't confirm a later one. It also carries
    the count of confirmation mails sent when it was made: confirming resets that count
    to 0, so the link can't be replayed (after an unsubscribe, say) to restart mail."""
    return signing.dumps(
        [subscription.pk, subscription.email, subscription.confirmations_sent], salt=_CONFIRM
    )


def read_confirm_token(token: str) -> tuple[int, str, int] | None:
    """(subscription id, address, mails sent when it was made), or None."""
    try:
        pk, email, sent = signing.loads(
            token, salt=_CONFIRM, max_age=settings.DIGEST_CONFIRM_MAX_AGE
        )
        return int(pk), str(email), int(sent)
    except (signing.BadSignature, ValueError, TypeError):
        return None


# Unsubscribe and view links don't expire: an old digest's unsubscribe link must work.


def unsubscribe_token(subscription_id: int) -> str:
    return signing.Signer(salt=_UNSUBSCRIBE).sign(str(subscription_id))


def read_unsubscribe_token(token: str) -> int | None:
    return _read(_UNSUBSCRIBE, token)


def view_token(delivery_id: int) -> str:
    return signing.Signer(salt=_VIEW).sign(str(delivery_id))


def read_view_token(token: str) -> int | None:
    return _read(_VIEW, token)


def _read(salt: str, token: str) -> int | None:
    try:
        return int(signing.Signer(salt=salt).unsign(token))
    except (signing.BadSignature, ValueError):
        return None
