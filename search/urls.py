"""Search's pages. Included by config/urls.py into the papers namespace, where they have
always been (papers:search), so templates and bookmarks keep working."""

from django.urls import path

from . import views

urlpatterns = [
    path("search/", views.search_papers, name="search"),
]
