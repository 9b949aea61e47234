"""Site-wide middleware that belongs to no app."""

import logging

from django.conf import settings
from django.db import OperationalError
from django.http import HttpResponse
from django.template import loader
from psycopg.errors import QueryCanceled

logger = logging.getLogger(__name__)

TIMEOUT_RETRY_AFTER_SECONDS = 10


class QueryTimeoutMiddleware:
    """A query cancelled by the web processes' statement timeout
    (DATABASE_STATEMENT_TIMEOUT, set by config/gunicorn.py) ends the request with a 503
    page that says so, instead of a generic server error: the worker is free again and
    the visitor knows that trying later may work."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not (
            isinstance(exception, OperationalError)
            and isinstance(exception.__cause__, QueryCanceled)
        ):
            return None
        logger.warning("Statement timeout on %s %s", request.method, request.path)
        html = loader.get_template("errors/timeout.html").render({"SITE_NAME": settings.SITE_NAME})
        return HttpResponse(
            html, status=503, headers={"Retry-After": str(TIMEOUT_RETRY_AFTER_SECONDS)}
        )
