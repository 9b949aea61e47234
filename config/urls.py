from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

# The admin signs in through allauth's sign-in page, with its rate limits (a 429 past
# them), mandatory email verification and two-factor authentication; Django's own admin
# login form has none of these. A signed-in user who is not staff gets a 403.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("digest/", include("papers.digests.urls")),
    path("", include("semantic.urls")),
    path("", include("papers.urls")),
]

handler403 = "papers.views.permission_denied"
handler404 = "papers.views.page_not_found"
# allauth answers its rate limits (sign-up, sign-in, password reset) with this.
handler429 = "papers.views.too_many_requests"
handler500 = "papers.views.server_error"

if settings.BENCHMARK_VIEWS:
    # The ceiling for bench/load.py; never on unless BENCHMARK_VIEWS=1.
    from . import bench

    urlpatterns += [path("bench/constant/", bench.constant, name="bench_constant")]
