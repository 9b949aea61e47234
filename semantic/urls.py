from django.urls import path

from . import views

app_name = "semantic"

urlpatterns = [
    path("for-you/", views.for_you, name="for_you"),
    path("api/papers/search", views.api_search, name="api_search"),
]
