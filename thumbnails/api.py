from django.conf import settings

from .models import thumbnail_of


def absolute_url(paper) -> str | None:
    """The thumbnail's absolute URL for the API (`thumbnail`, as Hugging Face names
    it), or None. Storage URLs are site-relative by default (MEDIA_URL "/media/") and
    absolute on S3."""
    thumbnail = thumbnail_of(paper)
    if thumbnail is None or not thumbnail.is_ready:
        return None
    url = thumbnail.url
    return url if "://" in url else f"{settings.SITE_URL}{url}"
