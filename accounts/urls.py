from django.urls import path

from config import converters  # noqa: F401  (registers <text:...>)

from . import views

app_name = "accounts"

urlpatterns = [
    path("u/<text:username>/", views.profile, name="profile"),
    path("settings/", views.account_settings, name="settings"),
    path("settings/delete/", views.delete_account, name="delete"),
    path("authors/<text:slug>/claim/", views.claim_author, name="claim_author"),
    path("authors/<text:slug>/claim/withdraw/", views.withdraw_claim, name="withdraw_claim"),
]
