from django import template

from ..models import unread_count

register = template.Library()


@register.simple_tag
def unread_notification_count(user) -> int:
    """The header's unread count: from the cache, or one indexed COUNT."""
    if not user.is_authenticated:
        return 0
    return unread_count(user)
