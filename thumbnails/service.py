"""Making a paper's thumbnail: fetch the PDF (fetch.py), render page 1 (render.py),
store the two WebPs (the page, and the card's rendition of its top) through Django's
storage API and record the outcome on the Thumbnail row. Plain functions: the task, the
management command and the tests call them."""

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
from .render import Refused, card_from_page, render_pdf

log = logging.getLogger(__name__)


def storage_name(arxiv_id: str, webp: bytes, suffix: str = "") -> str:
    """thumbnails/2004.07180-<hash>.webp (and -<hash>.card.webp): a new image gets a new
    name, so it can be cached for ever by browsers and CDNs (old-style ids lose their
    slash)."""
    digest = hashlib.sha256(webp).hexdigest()[:12]
    return f"thumbnails/{arxiv_id.replace('/', '_')}-{digest}{suffix}.webp"


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
    return _record(
        paper,
        status=status,
        reason=reason,
        image="",
        width=None,
        height=None,
        card_image="",
        card_width=None,
        card_height=None,
    )


def _save(name: str, webp: bytes, saved: list[str]) -> str:
    name = default_storage.save(name, ContentFile(webp))
    saved.append(name)
    return name


def _delete_after_commit(names):
    for name in names:
        transaction.on_commit(lambda name=name: default_storage.delete(name))


def render_and_store(paper, pdf_path: Path) -> Thumbnail:
    """Render the PDF at `pdf_path` as `paper`'s thumbnail and its card's rendition
    (replacing any earlier ones)."""
    try:
        rendered = render_pdf(pdf_path)
    except Refused as exc:
        return _refuse(paper, str(exc))
    saved = []
    try:
        name = _save(storage_name(paper.arxiv_id, rendered.webp), rendered.webp, saved)
        card = _save(
            storage_name(paper.arxiv_id, rendered.card_webp, ".card"), rendered.card_webp, saved
        )
        # Both images in one transaction: a card never shows one render's page with
        # another's top, nor a row whose files are half there.
        with transaction.atomic():
            old = (
                Thumbnail.objects.select_for_update()
                .filter(pk=paper.pk)
                .values_list("image", "card_image")
                .first()
            )
            thumbnail = _record(
                paper,
                status=Thumbnail.Status.READY,
                image=name,
                width=rendered.width,
                height=rendered.height,
                card_image=card,
                card_width=rendered.card_width,
                card_height=rendered.card_height,
                pdf_bytes=Path(pdf_path).stat().st_size,
                rendered_at=timezone.now(),
            )
            _delete_after_commit(o for o in (old or ()) if o and o not in (name, card))
    except BaseException:
        for saved_name in saved:  # no row points at them
            default_storage.delete(saved_name)
        raise
    log.info(
        "Thumbnail of %s: %s (%dx%d), card %s (%dx%d)",
        paper.arxiv_id,
        name,
        rendered.width,
        rendered.height,
        card,
        rendered.card_width,
        rendered.card_height,
    )
    return thumbnail


def add_card_image(thumbnail: Thumbnail) -> bool:
    """Give a ready thumbnail stored before cards had their own image that image, made
    from the stored page (no PDF fetched: arXiv is not asked again). False if it has one
    or is not ready. Raises Refused (or OSError: the stored file is gone) if it can't."""
    if not thumbnail.is_ready or thumbnail.card_image:
        return False
    with thumbnail.image.open("rb") as f:
        rendered = card_from_page(f.read())
    saved = []
    try:
        name = _save(
            storage_name(thumbnail.paper.arxiv_id, rendered.card_webp, ".card"),
            rendered.card_webp,
            saved,
        )
        with transaction.atomic():
            # Only if the row still shows the page it was made from.
            updated = Thumbnail.objects.filter(
                pk=thumbnail.pk, image=thumbnail.image.name, card_image=""
            ).update(
                card_image=name, card_width=rendered.card_width, card_height=rendered.card_height
            )
    except BaseException:
        for saved_name in saved:
            default_storage.delete(saved_name)
        raise
    if not updated:
        default_storage.delete(name)
        return False
    thumbnail.card_image = name
    thumbnail.card_width, thumbnail.card_height = rendered.card_width, rendered.card_height
    return True


def without_card_image():
    """Ready thumbnails whose card shows the whole page (rendered before cards had an
    image of their own)."""
    return Thumbnail.objects.ready().filter(card_image="").select_related("paper")


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
