"""A deleted paper (or thumbnail row) takes its image file with it."""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Thumbnail


@receiver(post_delete, sender=Thumbnail)
def delete_image_file(sender, instance, **kwargs):
    if instance.image:
        name, storage = instance.image.name, instance.image.storage
        # After commit: a rolled-back delete keeps its file.
        transaction.on_commit(lambda: storage.delete(name))
