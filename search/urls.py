"""Search has no page of its own since search by meaning: /search/ (papers:search) is
semantic.views.search_papers, built on search.views' helpers (config/urls.py)."""

urlpatterns = []
