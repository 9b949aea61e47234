"""How thumbnails plug into papers (papers.hooks): cards, the paper page and the API
join the thumbnail row; the API gains `thumbnail`; a paper joining a daily list queues
its render; a deleted paper (or row) takes its image files with it."""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from papers import hooks
from papers.queueing import enqueue_on_commit

from .api import absolute_url
from .models import Thumbnail
from .tasks import queue_missing_thumbnails, render_thumbnail

log = logging.getLogger(__name__)

hooks.add_listing_relation("thumbnail")


@receiver(hooks.paper_json)
def add_thumbnail(sender, paper, data, **kwargs):
    data["thumbnail"] = absolute_url(paper)


@receiver(hooks.papers_featured)
def queue_thumbnails(sender, day, paper_ids=None, **kwargs):
    if not settings.THUMBNAILS_AUTO:
        return
    if paper_ids:
        for paper_id in paper_ids:
            enqueue_on_commit(render_thumbnail, paper_id)
    elif day:
        enqueue_on_commit(queue_missing_thumbnails, day.isoformat())


@receiver(post_delete, sender=Thumbnail)
def delete_image_file(sender, instance, **kwargs):
    for image in (instance.image, instance.card_image):
        if image:
            name, storage = image.name, image.storage
            # After commit: a rolled-back delete keeps its file.
            transaction.on_commit(lambda name=name, storage=storage: storage.delete(name))
