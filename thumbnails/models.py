from typing import NamedTuple

from django.db import models
from django.db.models import Q

from papers.models import Paper


class ThumbnailQuerySet(models.QuerySet):
    def ready(self):
        return self.filter(status=Thumbnail.Status.READY)


class Thumbnail(models.Model):
    """The first page of a paper's PDF as a small WebP, for its card (thumbnails.service).

    One row per paper that was tried: READY with the image, REFUSED when the PDF is
    bad (encrypted, truncated, not a PDF, too big, a renderer crash: `reason` says which;
    not tried again unless asked), FAILED when the PDF could not be fetched (tried again
    by the periodic sweep, at most THUMBNAIL_MAX_ATTEMPTS times). A paper without a row
    was never tried. The card shows a placeholder for all but READY.
    """

    class Status(models.TextChoices):
        READY = "ready", "Ready"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Fetch failed"

    paper = models.OneToOneField(
        Paper, primary_key=True, on_delete=models.CASCADE, related_name="thumbnail"
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    # A name in the default storage (MEDIA_ROOT by default, or S3 via django-storages).
    image = models.FileField(max_length=255, blank=True)
    width = models.PositiveSmallIntegerField(null=True, blank=True)
    height = models.PositiveSmallIntegerField(null=True, blank=True)
    # The card's rendition of the page's top (THUMBNAIL_CARD_WIDTH x _HEIGHT, a few kB),
    # stored beside `image` and written with it. Empty on rows rendered before there was
    # one: their cards show `image` (`card`) until `render_thumbnails --missing`.
    card_image = models.FileField(max_length=255, blank=True, default="")
    card_width = models.PositiveSmallIntegerField(null=True, blank=True)
    card_height = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    pdf_bytes = models.PositiveIntegerField(null=True, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ThumbnailQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="ready") | (~Q(image="") & Q(width__isnull=False)),
                name="ready_thumbnail_has_image",
            )
        ]

    def __str__(self):
        return f"thumbnail of {self.paper_id} ({self.status})"

    @property
    def is_ready(self):
        return self.status == self.Status.READY and bool(self.image)

    @property
    def url(self) -> str:
        return self.image.url if self.is_ready else ""

    @property
    def card(self) -> "CardImage | None":
        """What the card's slot shows: the card rendition, or the whole page on rows
        without one (the slot crops it the same way). None unless ready."""
        if not self.is_ready:
            return None
        if self.card_image and self.card_width:
            return CardImage(self.card_image.url, self.card_width, self.card_height)
        return CardImage(self.image.url, self.width, self.height)


class CardImage(NamedTuple):
    url: str
    width: int
    height: int


def thumbnail_of(paper) -> Thumbnail | None:
    """The paper's thumbnail row if it has one (no query when the caller
    select_related("thumbnail"))."""
    try:
        return paper.thumbnail
    except Thumbnail.DoesNotExist:
        return None
