"""Serving MEDIA_ROOT (the thumbnails) from Django itself, for the embedded default and
small deployments (SERVE_MEDIA). A site with a web server in front, or on S3 through
django-storages, turns it off and serves MEDIA_URL there. WhiteNoise serves only the
static files collected at deploy time, not files written while the site runs."""

from django.conf import settings
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET
from django.views.static import serve


@require_GET
def media(request, path):
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    # Names carry a hash of the content (thumbnails.service.storage_name).
    patch_cache_control(response, public=True, max_age=365 * 24 * 60 * 60, immutable=True)
    response["X-Content-Type-Options"] = "nosniff"
    return response
