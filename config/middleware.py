"""Site-wide middleware that belongs to no app."""

import functools
import http.client
import logging

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
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


# What a response or a request carries when a view changed its policy (csp.decorators)
# or a template asked for a nonce: then django-csp builds the header itself.
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)


class SettingsPolicyCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the policies the settings give built once per
    process. django-csp builds both headers for every response (the directives copied
    out of the settings, sorted and joined, twice), which was ~15 % of the CPU of a
    page served from the page cache. A response whose view changed its policy
    (csp.decorators) or whose page asked for a nonce goes through django-csp as it is;
    the others get the same headers, built once (tests/test_attack_headers.py)."""

    def process_response(self, request, response):
        if (
            getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _PER_RESPONSE)
            or (settings.DEBUG and response.status_code in _DEBUG_EXEMPT)
        ):
            return super().process_response(request, response)
        for header, policy, excluded in _settings_policies():
            if policy and header not in response and not request.path_info.startswith(excluded):
                response[header] = policy
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


_DEBUG_EXEMPT = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)


@functools.cache
def _settings_policies() -> tuple:
    """(header, policy, excluded URL prefixes) of both headers, as the settings give them."""
    found = []
    for header, setting, report_only in (
        (HEADER, "CONTENT_SECURITY_POLICY", False),
        (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
    ):
        prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
        found.append((header, build_policy(report_only=report_only), tuple(prefixes)))
    return tuple(found)


def _forget_policies(**kwargs):
    _settings_policies.cache_clear()


setting_changed.connect(_forget_policies)
