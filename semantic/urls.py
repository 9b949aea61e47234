from django.urls import path

from . import views

app_name = "semantic"

urlpatterns = [
    path("for-you/", views.for_you, name="for_you"),
    path("api/papers/search", views.api_search, name="api_search"),
]

# Put in the papers namespace by config/urls.py, ahead of search's and papers' own views
# of the same names. <arxiv:...> is registered by papers.urls, imported before this.
papers_urlpatterns = [
    path("search/", views.search_papers, name="search"),
    path("papers/<arxiv:arxiv_id>/related/", views.related_papers_view, name="related"),
]
