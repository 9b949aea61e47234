from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("u/<str:username>/", views.profile, name="profile"),
    path("settings/", views.account_settings, name="settings"),
    path("settings/delete/", views.delete_account, name="delete"),
    path("authors/<str:slug>/claim/", views.claim_author, name="claim_author"),
    path("authors/<str:slug>/claim/withdraw/", views.withdraw_claim, name="withdraw_claim"),
]
