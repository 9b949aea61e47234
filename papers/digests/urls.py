from django.urls import path

from . import views

app_name = "digests"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path(
        "unsubscribe/<str:token>/one-click/",
        views.one_click_unsubscribe,
        name="one_click_unsubscribe",
    ),
    path("view/<str:token>/", views.view_in_browser, name="view"),
    path("follow/authors/<str:slug>/", views.follow_author, name="follow_author"),
]
