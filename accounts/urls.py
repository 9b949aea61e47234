from django.urls import path

from . import digest_views

app_name = "accounts"

urlpatterns = [
    # --- Digests (issue 5) ---
    path("settings/digest/", digest_views.digest_settings, name="digest_settings"),
    path("settings/digest/interests/", digest_views.digest_interests, name="digest_interests"),
]
