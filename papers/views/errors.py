"""The error pages (the handlers in config/urls.py) and the 404s views raise."""

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from kombu.exceptions import OperationalError as KombuOperationalError

from .. import api
from ..queueing import QueueUnavailable


class PublicNotFound(Http404):
    """A 404 whose message is written for the visitor and shown on the error page."""


class PaperNotHere(PublicNotFound):
    """A paper this site has never had: the 404 page offers to submit it."""

    def __init__(self, arxiv_id):
        super().__init__(f"arXiv:{arxiv_id} is not on {settings.SITE_NAME} yet.")
        self.arxiv_id = arxiv_id


# --- Errors -------------------------------------------------------------------------------


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return api.error("Not found.", status=404)
    message = str(exception) if isinstance(exception, PublicNotFound) else ""
    context = {"message": message, "submit_arxiv_id": getattr(exception, "arxiv_id", "")}
    return render(request, "errors/404.html", context, status=404)


# A dependency out of reach for a moment (PostgreSQL restarting, a statement timeout,
# the task broker down): the request failed as a whole (a transaction rolled back), so
# it can be tried again. A 503 with Retry-After says so to people, proxies and clients.
UNAVAILABLE = (OperationalError, InterfaceError, KombuOperationalError, QueueUnavailable)
RETRY_AFTER_SECONDS = 5


def permission_denied(request, exception):
    if request.path.startswith("/api/"):
        return api.error("Forbidden.", status=403)
    return render(request, "errors/403.html", status=403)


def too_many_requests(request):
    return render(request, "errors/429.html", status=429)


def server_error(request):
    """Rendered without the request: no context processors, no session, no database,
    since any of them may be what failed. Django calls it while handling the
    exception, so sys.exc_info() says what failed."""
    context = {"SITE_NAME": settings.SITE_NAME}
    if isinstance(sys.exc_info()[1], UNAVAILABLE):
        html = loader.get_template("errors/503.html").render(context)
        response = HttpResponse(html, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    html = loader.get_template("errors/500.html").render(context)
    return HttpResponseServerError(html)
