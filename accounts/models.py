from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """The site's user. `username` is the public handle (/u/<username>/); sign-in is by
    email through allauth."""

    display_name = models.CharField(max_length=150, blank=True)

    def __str__(self):
        return self.display_name or self.username

    @property
    def public_name(self):
        return self.display_name or self.username
