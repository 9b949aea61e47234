from django.urls import path, register_converter

from . import views
from .arxiv_ids import URL_PATTERN


class ArxivIdConverter:
    regex = URL_PATTERN

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ArxivIdConverter, "arxiv")

app_name = "papers"

urlpatterns = [
    path("", views.daily, name="home"),
    path("trending/", views.trending, name="trending"),
    path("new/", views.new, name="new"),
    path("search/", views.search, name="search"),
    path("papers/<arxiv:arxiv_id>/", views.paper_detail, name="detail"),
    path("papers/<arxiv:arxiv_id>/vote/", views.vote, name="vote"),
    path("authors/<str:slug>/", views.author_detail, name="author"),
    path("about/ranking/", views.about_ranking, name="about_ranking"),
    path("api/", views.api_docs, name="api_docs"),
    path("submit/", views.submit, name="submit"),
    path("submit/<int:pk>/status/", views.submission_status, name="submission_status"),
]
