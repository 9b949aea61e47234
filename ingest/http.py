"""HTTP for the sources: one polite client per run.

- A descriptive User-Agent (settings.INGEST_USER_AGENT) and a timeout on every request.
- A minimum interval between requests to a host, kept site-wide (throttle.py): arXiv
  asks for no more than one request every 3 seconds on one connection, from all of
  the site's processes together.
- 503 or 429 with a short Retry-After (OAI-PMH's flow control): wait and ask again, a
  few times. Longer waits and other 5xx raise TransientSourceError, which the Celery
  tasks retry with backoff; network errors raise httpx.TransportError, retried too.
"""

import email.utils
import logging
import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils import timezone

from . import throttle
from .records import SourceError, TransientSourceError

log = logging.getLogger(__name__)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - timezone.now()).total_seconds(), 0.0)


class SourceClient:
    """GET with a pause between requests to a host (min_interval, shared by every client
    and process) and short Retry-After waits honoured."""

    def __init__(
        self,
        name: str,
        *,
        min_interval: float = 0.0,
        max_retry_wait: float | None = None,
        waits: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.name = name
        self.min_interval = min_interval
        self.max_retry_wait = (
            settings.INGEST_MAX_RETRY_AFTER if max_retry_wait is None else max_retry_wait
        )
        self.waits = settings.INGEST_RETRY_AFTER_WAITS if waits is None else waits
        self.client = httpx.Client(
            headers={"User-Agent": settings.INGEST_USER_AGENT},
            timeout=httpx.Timeout(settings.INGEST_HTTP_TIMEOUT, connect=10.0),
            follow_redirects=True,
            transport=transport,
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.client.close()

    def get(self, url: str, params: dict | None = None) -> httpx.Response:
        """The response, for 2xx and 4xx (the caller reads a 4xx body: arXiv explains
        a 400 in an Atom error feed). Raises TransientSourceError for 5xx and 429."""
        host = urlsplit(url).netloc
        for attempt in range(self.waits + 1):
            with throttle.turn(host, self.min_interval):
                response = self.client.get(url, params=params)
            status = response.status_code
            if status != 429 and status < 500:
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if (
                retry_after is not None
                and retry_after <= self.max_retry_wait
                and attempt < self.waits
            ):
                log.info("%s asked us to wait %.0f s (HTTP %d)", self.name, retry_after, status)
                time.sleep(retry_after)
                continue
            raise TransientSourceError(
                f"{self.name} answered HTTP {status} for {response.request.url}",
                retry_after=retry_after,
            )
        raise AssertionError("unreachable")


def raise_for_client_error(response: httpx.Response, source: str, detail: str = ""):
    if response.status_code >= 400:
        raise SourceError(
            f"{source} answered HTTP {response.status_code}"
            + (f": {detail}" if detail else f" for {response.request.url}")
        )
