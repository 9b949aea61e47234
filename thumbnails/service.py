"""Making a paper's thumbnail: fetch the PDF (fetch.py), render page 1 (render.py),
store the WebP through Django's storage API and record the outcome on the Thumbnail
row. Plain functions: the task, the management command and the tests call them."""

import hashlib
import logging
from pathlib import Path

import httpx
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ingest.records import SourceError, TransientSourceError

from .fetch import downloaded_pdf
from .models import Thumbnail
from .render import Refused, render_pdf

log = logging.getLogger(__name__)


def storage_name(arxiv_id: str, webp: bytes) -> str:
    """thumbnails/2004.07180-<hash>.webp: a new image gets a new name, so it can be
    cached for ever by browsers and CDNs (old-style ids lose their slash)."""
    digest = hashlib.sha256(webp).hexdigest()[:12]
    return f"thumbnails/{arxiv_id.replace('/', '_')}-{digest}.webp"


def _record(paper, **fields) -> Thumbnail:
    fields.setdefault("reason", "")
    thumbnail, _ = Thumbnail.objects.update_or_create(paper=paper, defaults=fields)
    Thumbnail.objects.filter(pk=paper.pk).update(attempts=F("attempts") + 1)
    thumbnail.refresh_from_db(fields=["attempts"])
    return thumbnail


def _refuse(paper, reason: str, status=Thumbnail.Status.REFUSED) -> Thumbnail:
    log.warning("Thumbnail of %s not made: %s", paper.arxiv_id, reason)
    kept = Thumbnail.objects.filter(pk=paper.pk, status=Thumbnail.Status.READY).exists()
    if kept:
        # A good image stays: a later failure (arXiv down) must not blank the card.
        Thumbnail.objects.filter(pk=paper.pk).update(reason=reason, attempts=F("attempts") + 1)
        return Thumbnail.objects.get(pk=paper.pk)
    return _record(paper, status=status, reason=reason, image="", width=None, height=None)


def render_and_store(paper, pdf_path: Path) -> Thumbnail:
    """Render the PDF at `pdf_path` as `paper`'s thumbnail (replacing any earlier one)."""
    try:
        rendered = render_pdf(pdf_path)
    except Refused as exc:
        return _refuse(paper, str(exc))
    name = default_storage.save(
        storage_name(paper.arxiv_id, rendered.webp), ContentFile(rendered.webp)
    )
    old = Thumbnail.objects.filter(pk=paper.pk).values_list("image", flat=True).first()
    thumbnail = _record(
        paper,
        status=Thumbnail.Status.READY,
        image=name,
        width=rendered.width,
        height=rendered.height,
        pdf_bytes=Path(pdf_path).stat().st_size,
        rendered_at=timezone.now(),
    )
    if old and old != name:
        transaction.on_commit(lambda: default_storage.delete(old))
    log.info("Thumbnail of %s: %s (%dx%d)", paper.arxiv_id, name, rendered.width, rendered.height)
    return thumbnail


def make_thumbnail(paper) -> Thumbnail:
    """Fetch `paper`'s PDF from arXiv and render its thumbnail. A refused PDF or an
    arXiv 4xx is recorded; a network error or arXiv 5xx/429 is recorded and raised
    again, for the task to retry."""
    try:
        with downloaded_pdf(paper.arxiv_id) as path:
            return render_and_store(paper, path)
    except Refused as exc:
        return _refuse(paper, str(exc))
    except SourceError as exc:
        return _refuse(paper, str(exc), status=Thumbnail.Status.FAILED)
    except (httpx.TransportError, TransientSourceError) as exc:
        _refuse(paper, f"arXiv unavailable: {exc}", status=Thumbnail.Status.FAILED)
        raise
