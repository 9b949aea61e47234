"""Celery tasks of search."""

from celery import shared_task

from .models import SearchWord


@shared_task
def refresh_search_words():
    """Daily (beat): the vocabulary of "did you mean" (search.spelling) learns the
    words of the day's new titles."""
    return SearchWord.objects.rebuild()
