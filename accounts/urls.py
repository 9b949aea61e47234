from django.urls import path

from config import converters  # noqa: F401  (registers <text:...>)

from . import digest_views, views

app_name = "accounts"

urlpatterns = [
    path("u/<text:username>/", views.profile, name="profile"),
    path("settings/", views.account_settings, name="settings"),
    path("settings/delete/", views.delete_account, name="delete"),
    path("authors/<text:slug>/claim/", views.claim_author, name="claim_author"),
    path("authors/<text:slug>/claim/withdraw/", views.withdraw_claim, name="withdraw_claim"),
    # --- Digests (issue 5) ---
    path("settings/digest/", digest_views.digest_settings, name="digest_settings"),
    path("settings/digest/interests/", digest_views.digest_interests, name="digest_interests"),
]
