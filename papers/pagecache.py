"""A cache of whole pages for anonymous visitors (issue 6), in Redis.

Anonymous visitors all see the same list and paper pages, except for one thing: the CSRF
token that every page embeds (base.html's hx-headers, the subscribe box, the vote
buttons). So a page that may be cached is rendered with PLACEHOLDER where the token goes
(`csrf_placeholder`, a context processor listed after Django's own csrf one, overrides
`csrf_token`), stored like that, and each response, fresh or from the cache, gets the
current visitor's own masked token substituted; `get_token` also makes
CsrfViewMiddleware set the visitor's CSRF cookie if they have none.

What is cached: GET requests for the pages in CACHED_PAGES by a visitor who is not
signed in and has no messages pending, answered 200 without setting a cookie, with no
message added and nothing written to the session. Entries are keyed on the host, the
path with its query string and the htmx headers a view may answer differently to, and
live PAGE_CACHE_SECONDS: a vote shows to others within that time; signed-in visitors
(the voter among them, who sees their vote at once) are never served from the cache,
so nobody's own vote state is ever in it. A short lifetime instead of invalidating on
every vote: a busy site has a vote every second, which would empty the front page's entry
as fast as it is filled; every change (votes, ingestion, moderation) shows within
seconds all the same.

HTTP caching headers (issue 16), for browsers and a proxy in front (docs/deployment.md,
"Caching in front of Django"): a page carries the visitor's masked CSRF token, which is
valid only with their CSRF cookie's secret. So a shared cache may keep a page only for
requests that bring the same cookie: cacheable pages say `Vary: Cookie` (and the htmx
headers they answer to), and `public, max-age=0, s-maxage=PAGE_CACHE_SECONDS` only when
the visitor came with the CSRF cookie the page's token belongs to and no session; a
response that hands out a new secret (a first visit), sets another cookie or answers a
visitor with a session is `private, no-cache`, as is every response to a signed-in user.

The cache may fail (Redis down): then pages are served uncached, never an error.
Each process keeps its latest pages in memory too (`local_pages`), no longer than
their Redis entry lives.
"""

import hashlib
import logging
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.gzip import re_accepts_gzip
from django.utils.cache import patch_cache_control, patch_vary_headers

from . import pagegzip
from .csrftoken import get_token

logger = logging.getLogger(__name__)

# Letters only, so that escaping (HTML attribute, JSON in hx-headers) leaves it as is.
PLACEHOLDER = "csrfTokenPlaceholderOfThePageCache"
_PLACEHOLDER_BYTES = PLACEHOLDER.encode()

CACHED_PAGES = frozenset(
    {
        "papers:home",
        "papers:day",
        "papers:week",
        "papers:month",
        "papers:trending",
        "papers:new",
        "papers:detail",
        "papers:author",
        "papers:search",
        "papers:related",
    }
)
# Request headers a view may answer differently to, besides the URL.
VARY_HEADERS = (
    "HTTP_HX_REQUEST",
    "HTTP_HX_TARGET",
    "HTTP_HX_BOOSTED",
    "HTTP_HX_HISTORY_RESTORE_REQUEST",
)
# bench/load.py measures pages uncached with this header; honoured only in bench mode.
BENCH_BYPASS_HEADER = "HTTP_X_BENCH_PAGE_CACHE"
KEY_VERSION = 2
# The same, as response headers, for Vary.
VARY_ON = ("Cookie", "HX-Request", "HX-Target", "HX-Boosted", "HX-History-Restore-Request")

_KEY_ATTR = "_page_cache_key"
# Each process also keeps the pages it served last, until the time their Redis entry
# expires: a hit then costs no round trip to Redis and no unpickling of ~70 kB (most of
# what a cached page cost). Bounded: at most this many pages (~70 kB each).
LOCAL_PAGES = 200


class _LocalPages:
    """A small LRU of (expires_at, content, headers) entries, for one process."""

    def __init__(self, size):
        self.size, self.entries, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            if entry[0] <= time.time():
                del self.entries[key]
                return None
            self.entries.move_to_end(key)
            return entry

    def put(self, key, entry):
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self):
        with self.lock:
            self.entries.clear()


local_pages = _LocalPages(LOCAL_PAGES)
# The same pages deflated in pieces (papers.pagegzip), built at the first gzip hit.
gzip_pieces = _LocalPages(LOCAL_PAGES)
# And split where the tokens go, at the first plain hit: each later hit joins the pieces
# around the visitor's token instead of searching the whole page for them again (a
# sixth of what a hit cost in instructions, counted by callgrind).
plain_pieces = _LocalPages(LOCAL_PAGES)


def _pieces(store, key, expires_at, make):
    """What `make` builds from the cached page `key`, kept in `store` until that page's
    entry changes (its expiry time is the entry's identity)."""
    entry = store.get(key)
    if entry is None or entry[0] != expires_at:
        entry = (expires_at, make())
        store.put(key, entry)
    return entry[1]


def csrf_placeholder(request):
    """Context processor: the placeholder instead of a token, on pages being cached."""
    if getattr(request, _KEY_ATTR, None):
        return {"csrf_token": PLACEHOLDER}
    return {}


def _key(request) -> str:
    parts = [request.get_host(), request.get_full_path()]
    parts += [request.META.get(header, "") for header in VARY_HEADERS]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"pagecache:{KEY_VERSION}:{digest}"


def _has_messages(request) -> bool:
    # len() loads the pending messages without marking them as shown.
    return len(messages.get_messages(request)) > 0


def _personalise(request, content: bytes) -> bytes:
    if _PLACEHOLDER_BYTES not in content:
        return content
    return content.replace(_PLACEHOLDER_BYTES, get_token(request).encode())


class AnonymousPageCacheMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware (it reads both), so that
    on the way out CsrfViewMiddleware sets the CSRF cookie `get_token` asked for."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        self._store_and_personalise(request, response)
        cache_headers(request, response)
        return response

    def _store_and_personalise(self, request, response):
        key = getattr(request, _KEY_ATTR, None)
        if not key or response.streaming:
            return
        if self._may_store(request, response):
            headers = [(k, v) for k, v in response.items() if k.lower() != "content-length"]
            seconds = settings.PAGE_CACHE_SECONDS
            entry = (time.time() + seconds, response.content, headers)
            local_pages.put(key, entry)
            try:
                cache.set(key, entry, seconds)
            except Exception:
                logger.warning("Page cache unavailable: page not stored", exc_info=True)
        response["X-Page-Cache"] = "miss"
        response.content = _personalise(request, response.content)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not self._may_serve(request):
            return None
        key = _key(request)
        entry = local_pages.get(key)
        if entry is None:
            try:
                entry = cache.get(key)
            except Exception:
                logger.warning("Page cache unavailable: page served uncached", exc_info=True)
                return None
            if entry is None:
                setattr(request, _KEY_ATTR, key)
                return None
            local_pages.put(key, entry)
        expires_at, content, headers = entry
        if re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            response = HttpResponse(self._gzipped(request, key, expires_at, content))
            response["Content-Encoding"] = "gzip"
        else:
            response = HttpResponse(self._plain(request, key, expires_at, content))
        for name, value in headers:
            response[name] = value
        if response.has_header("Content-Encoding"):
            patch_vary_headers(response, ("Accept-Encoding",))
        response["X-Page-Cache"] = "hit"
        return response

    @staticmethod
    def _plain(request, key, expires_at, content) -> bytes:
        """The page with the visitor's token in each placeholder's place."""
        pieces = _pieces(plain_pieces, key, expires_at, lambda: content.split(_PLACEHOLDER_BYTES))
        if len(pieces) == 1:
            return content  # no form on the page: no token asked for, no cookie set
        return get_token(request).encode().join(pieces)

    @staticmethod
    def _gzipped(request, key, expires_at, content) -> bytes:
        """The page gzipped with the visitor's token, from pieces deflated once per
        entry: GZipMiddleware (above) leaves a response that has its Content-Encoding."""
        pieces = _pieces(
            gzip_pieces, key, expires_at, lambda: pagegzip.pieces(content, _PLACEHOLDER_BYTES)
        )
        return pagegzip.gzipped(pieces, content, _PLACEHOLDER_BYTES, get_token(request))

    @staticmethod
    def _may_serve(request) -> bool:
        if settings.PAGE_CACHE_SECONDS <= 0 or request.method != "GET":
            return False
        match = request.resolver_match
        if match is None or match.view_name not in CACHED_PAGES:
            return False
        if settings.BENCH_PAGE_CACHE_BYPASS and request.META.get(BENCH_BYPASS_HEADER) == "off":
            return False
        return not request.user.is_authenticated and not _has_messages(request)

    @staticmethod
    def _may_store(request, response) -> bool:
        if response.status_code != 200 or response.cookies:
            return False
        if "private" in response.get("Cache-Control", "") or response.has_header("Vary"):
            return False
        session = getattr(request, "session", None)
        if session is not None and session.modified:
            return False
        stored_messages = getattr(request, "_messages", None)
        if stored_messages is not None and stored_messages.added_new:
            return False
        # Something asked for the real token while the page rendered: it is in the page.
        return not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")


def _is_cacheable_page(request) -> bool:
    match = request.resolver_match
    return (
        request.method in ("GET", "HEAD") and match is not None and match.view_name in CACHED_PAGES
    )


def _shareable(request, response) -> bool:
    """Whether a shared cache may keep this anonymous page for requests with the same
    Cookie header: it hands out no cookie but the visitor's own CSRF secret again, and
    the visitor has no session (pending votes, messages)."""
    if response.status_code != 200 or settings.PAGE_CACHE_SECONDS <= 0:
        return False
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return False
    # Cookies the middleware above this one will set on the way out: a new session,
    # messages kept in a cookie.
    session = getattr(request, "session", None)
    if session is not None and session.modified:
        return False
    stored_messages = getattr(request, "_messages", None)
    if stored_messages is not None and (stored_messages.added_new or stored_messages.used):
        return False  # a message shown on this page is for this visitor, once
    csrf_name = settings.CSRF_COOKIE_NAME
    for name in response.cookies:
        if name != csrf_name:
            return False
    secret = request.META.get("CSRF_COOKIE")
    if secret is not None and request.COOKIES.get(csrf_name) != secret:
        return False  # a new secret: the token in the page is for this visitor only
    return True


def cache_headers(request, response):
    """Cache-Control and Vary for browsers and proxies (see the module's docstring).
    A view that chose its own Cache-Control keeps it."""
    cacheable_page = _is_cacheable_page(request)
    if cacheable_page:
        patch_vary_headers(response, VARY_ON)
    if response.has_header("Cache-Control"):
        return
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        patch_cache_control(response, private=True, no_cache=True)
    elif cacheable_page:
        if _shareable(request, response):
            patch_cache_control(
                response, public=True, max_age=0, s_maxage=settings.PAGE_CACHE_SECONDS
            )
        else:
            patch_cache_control(response, private=True, no_cache=True)
