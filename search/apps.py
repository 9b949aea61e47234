from django.apps import AppConfig


class SearchConfig(AppConfig):
    """Full-text search of papers (/search/). See docs/architecture.md."""

    name = "search"
