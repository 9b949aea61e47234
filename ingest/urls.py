"""Submitting a paper. Included by config/urls.py into the papers namespace, where these
pages have always been (papers:submit, papers:submission_status)."""

from django.urls import path

from . import views

urlpatterns = [
    path("submit/", views.submit, name="submit"),
    path("submit/<int:pk>/status/", views.submission_status, name="submission_status"),
]
