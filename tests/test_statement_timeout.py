"""Web processes run under a statement timeout (config/gunicorn.py): a query past it
ends the request with a clear 503 page, and the next request is served normally."""

import pytest
from django.db import connection

from config import gunicorn
from papers.models import PaperQuerySet

from .factories import PaperFactory


def test_gunicorn_gives_web_processes_a_statement_timeout_and_no_parallel_workers():
    env = dict(item.split("=", 1) for item in gunicorn.raw_env)
    assert int(env["DATABASE_STATEMENT_TIMEOUT"]) > 0
    assert env["DATABASE_PARALLEL_WORKERS"] == "0"


@pytest.mark.django_db(transaction=True)
def test_a_query_past_the_statement_timeout_gets_a_503_page_and_the_worker_goes_on(
    client, monkeypatch
):
    PaperFactory(title="Served Afterwards")
    latest_day = PaperQuerySet.latest_day

    def slow_latest_day(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")
        return latest_day(self)

    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 100")
    try:
        monkeypatch.setattr(PaperQuerySet, "latest_day", slow_latest_day)
        response = client.get("/")
        monkeypatch.undo()
        after = client.get("/")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")

    assert response.status_code == 503
    assert response["Retry-After"]
    assert "This page took too long" in response.content.decode()
    assert after.status_code == 200
    assert "Served Afterwards" in after.content.decode()
