import re

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

import accounts.urls
import digests.urls
import ingest.urls
import papers.urls
import search.urls
import semantic.urls
import thumbnails.views

from . import bench

# The admin signs in through allauth's sign-in page, with its rate limits (a 429 past
# them), mandatory email verification and two-factor authentication; Django's own admin
# login form has none of these. A signed-in user who is not staff gets a 403.
admin.site.login = secure_admin_login(admin.site.login)

# Pages of search, ingest and digests keep the names they had before those apps were
# split out (papers:search, papers:submit, accounts:digest_settings, ...): the namespaces
# are put together here, so that papers and accounts never import the apps that add to
# them (docs/architecture.md).
# Search by meaning's /search/ and related papers come first: they answer for
# papers:search and papers:related (semantic/urls.py).
PAPERS_NAMESPACE = (
    semantic.urls.papers_urlpatterns
    + papers.urls.urlpatterns
    + search.urls.urlpatterns
    + ingest.urls.urlpatterns
)
ACCOUNTS_NAMESPACE = accounts.urls.urlpatterns + digests.urls.account_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include((ACCOUNTS_NAMESPACE, accounts.urls.app_name))),
    path("digest/", include("digests.urls")),
    path("", include("semantic.urls")),
    path("", include((PAPERS_NAMESPACE, papers.urls.app_name))),
    path("", include("library.urls")),
    # Issue 14: comments under papers, the inbox, moderation in the open.
    path("", include("discussion.urls")),
    path("", include("notifications.urls")),
    path("", include("moderation.urls")),
]

handler403 = "papers.views.permission_denied"
handler404 = "papers.views.page_not_found"
# allauth answers its rate limits (sign-up, sign-in, password reset) with this.
handler429 = "papers.views.too_many_requests"
handler500 = "papers.views.server_error"

if settings.SERVE_MEDIA:
    # Thumbnails (issue 13) at MEDIA_URL, "/media/" by default.
    prefix = re.escape(settings.MEDIA_URL.lstrip("/"))
    urlpatterns += [re_path(rf"^{prefix}(?P<path>.+)$", thumbnails.views.media, name="media")]

if settings.BENCHMARK_VIEWS:
    # The ceiling for bench/load.py; never on unless BENCHMARK_VIEWS=1.
    urlpatterns += [path("bench/constant/", bench.constant, name="bench_constant")]
