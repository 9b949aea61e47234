"""ETag and Last-Modified for the feeds and the JSON API (issue 16), so a feed reader or
an API client that polls gets a 304 with no body when nothing changed.

The ETag is a hash of the body, as ConditionalGetMiddleware makes it: exact by
construction (any change a reader could see, a vote reordering trending, a paper hidden
by a moderator, changes it), and it needs no knowledge of what each endpoint reads. It
saves the bandwidth and the client's work, not our rendering: computing a validator
before rendering would mean a second query per endpoint that must agree with the first
about every filter, which is the kind of cache that goes stale; these responses cost a
few ms and are not the hot path.

Last-Modified: the feeds' item dates can't serve (Django's Feed sets Last-Modified to
the newest item's date, but a vote or a moderation action changes a feed without
changing any date, and a client that sends only If-Modified-Since would be told
"unchanged"). So it is the time this URL's body was first seen with its current ETag,
remembered in the cache; if the cache forgets, it is now, which can only cost a body
sent again, never a wrong 304. It is sent once that time is a second old: HTTP dates
have whole seconds, and a body that changed again in the same second would carry the
same date. When a request has If-None-Match, If-Modified-Since is
ignored (RFC 9110, as django.utils.cache.get_conditional_response does).
"""

import functools
import hashlib
import logging
import time

from django.core.cache import cache
from django.utils.cache import get_conditional_response, set_response_etag
from django.utils.http import http_date

logger = logging.getLogger(__name__)

SINCE_SECONDS = 7 * 24 * 60 * 60


def _since(request, etag) -> float:
    key = "conditional:1:" + hashlib.sha256(request.get_full_path().encode()).hexdigest()
    now = time.time()
    try:
        seen = cache.get(key)
        if seen and seen[0] == etag:
            return seen[1]
        cache.set(key, (etag, now), SINCE_SECONDS)
    except Exception:
        logger.warning("Cache unavailable: Last-Modified is now", exc_info=True)
    return now


def conditional_content(view):
    """Give a 200 GET response an ETag (its body's hash) and a Last-Modified (see the
    module's docstring), and answer 304 to a request that has it already."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        if response.streaming:
            return response
        set_response_etag(response)
        since = int(_since(request, response["ETag"]))
        if time.time() - since >= 1:
            response["Last-Modified"] = http_date(since)
        else:
            # Younger than HTTP dates' one-second resolution: a change later in the
            # same second would carry the same date, so no date yet.
            del response["Last-Modified"]
            since = None
        return get_conditional_response(
            request, etag=response["ETag"], last_modified=since, response=response
        )

    return wrapped
