"""URL converters shared by the apps' URLconfs.

`text` is Django's `str` (one path segment) without the NUL character: PostgreSQL
refuses NUL in text, so /authors/%00/ would reach the database and fail with a 500.
A segment holding one simply matches no URL (404). Importing this module registers it.
"""

from django.urls import register_converter
from django.urls.converters import StringConverter


class TextConverter(StringConverter):
    regex = "[^/\x00]+"


register_converter(TextConverter, "text")
