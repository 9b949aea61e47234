from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("digest/", include("papers.digests.urls")),
    path("", include("papers.urls")),
]

handler404 = "papers.views.page_not_found"
handler500 = "papers.views.server_error"

if settings.BENCHMARK_VIEWS:
    # The ceiling for bench/load.py; never on unless BENCHMARK_VIEWS=1.
    from . import bench

    urlpatterns += [path("bench/constant/", bench.constant, name="bench_constant")]
