"""Search has no page of its own since search by meaning: /search/ (papers:search) is
semantic.views.search_papers, built on search.views' helpers (config/urls.py); search has
only its spelling suggestion's."""

from django.urls import path

from . import views

# In the papers namespace (config/urls.py), beside papers:search.
urlpatterns = [
    path("search/spelling/", views.spelling_suggestion, name="search_spelling"),
]
