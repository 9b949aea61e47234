from django import template

from ..api import absolute_url

register = template.Library()


@register.filter
def thumbnail_absolute_url(paper) -> str:
    return absolute_url(paper) or ""
