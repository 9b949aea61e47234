from django.urls import path

from config import converters  # noqa: F401  (registers <text:...>)

from . import settings_views, views

app_name = "digests"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("confirm/<text:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<text:token>/", views.unsubscribe, name="unsubscribe"),
    path(
        "unsubscribe/<text:token>/one-click/",
        views.one_click_unsubscribe,
        name="one_click_unsubscribe",
    ),
    path("view/<text:token>/", views.view_in_browser, name="view"),
    path("follow/authors/<text:slug>/", views.follow_author, name="follow_author"),
]

# The account's digest settings, in the accounts namespace where they have always been
# (accounts:digest_settings): config/urls.py adds them there.
account_urlpatterns = [
    path("settings/digest/", settings_views.digest_settings, name="digest_settings"),
    path("settings/digest/interests/", settings_views.digest_interests, name="digest_interests"),
]
