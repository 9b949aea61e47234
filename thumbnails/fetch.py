"""Fetching a paper's PDF from arXiv, politely: through the site-wide arXiv throttle
(ingest.throttle, the same host as the API, export.arxiv.org, so PDF downloads
and API queries share one queue and one pause), streamed to a temporary file with a
byte cap, and deleted by the caller as soon as it is rendered."""

import contextlib
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from ingest import throttle
from ingest.http import SourceClient, parse_retry_after
from ingest.records import SourceError, TransientSourceError

from .render import Refused

SOURCE = "arXiv PDF"


def pdf_url(arxiv_id: str) -> str:
    return settings.ARXIV_PDF_URL.format(arxiv_id=arxiv_id)


@contextlib.contextmanager
def downloaded_pdf(arxiv_id: str, client: SourceClient | None = None):
    """A temporary file holding the paper's PDF, deleted on leaving the block.

    Raises Refused for a PDF over THUMBNAIL_MAX_PDF_BYTES (stops reading there),
    SourceError for a 4xx (no such paper, withdrawn), TransientSourceError for 429/5xx
    (with Retry-After) and httpx.TransportError on network failures (both retried)."""
    url = pdf_url(arxiv_id)
    cap = settings.THUMBNAIL_MAX_PDF_BYTES
    own = client is None
    client = client or SourceClient(SOURCE, min_interval=settings.ARXIV_REQUEST_INTERVAL)
    with tempfile.NamedTemporaryFile(prefix="arxiv-", suffix=".pdf") as tmp:
        try:
            with throttle.turn(urlsplit(url).netloc, client.min_interval):
                with client.client.stream("GET", url) as response:
                    status = response.status_code
                    if status == 429 or status >= 500:
                        raise TransientSourceError(
                            f"{SOURCE} answered HTTP {status} for {url}",
                            retry_after=parse_retry_after(response.headers.get("Retry-After")),
                        )
                    if status >= 400:
                        raise SourceError(f"{SOURCE} answered HTTP {status} for {url}")
                    length = response.headers.get("Content-Length", "")
                    if length.isdigit() and int(length) > cap:
                        raise Refused(f"too big: {int(length):,} bytes (at most {cap:,})")
                    size = 0
                    for chunk in response.iter_bytes(64 * 1024):
                        size += len(chunk)
                        if size > cap:
                            raise Refused(f"too big: over {cap:,} bytes (at most {cap:,})")
                        tmp.write(chunk)
            tmp.flush()
        finally:
            if own:
                client.close()
        yield Path(tmp.name)
