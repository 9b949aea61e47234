from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("papers.urls")),
]

handler404 = "papers.views.page_not_found"
handler500 = "papers.views.server_error"
