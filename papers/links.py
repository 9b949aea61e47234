import re
from urllib.parse import quote

from django.urls import get_script_prefix, reverse
from django.utils.http import url_has_allowed_host_and_scheme

_HTTP_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


def http_url(url: str | None) -> str:
    """`url` if it is an http(s) link, else "": a javascript: or data: URL stored by
    some source must never become a link on a page, in a feed or in the API."""
    url = (url or "").strip()
    return url if _HTTP_URL.match(url) else ""


# A list page links every paper and author on it, a few hundred URLs: reverse() costs
# ~10 µs each (URL resolver and converter lookups), a fifth of a list page's rendering.
# The URL of a one-argument pattern is its reversed form with the argument swapped in,
# quoted as reverse() quotes it.
_ARG = "ARG0d9a2c"
# An argument the pattern's converter accepts, where it checks (an arXiv id).
_EXAMPLE_ARGS = {"papers:detail": "9999.99999", "papers:vote": "9999.99999"}
_URL_SAFE = "!$&'()*+,;=" + "/~:@"  # django.urls.resolvers: RFC3986_SUBDELIMS + "/~:@"
_templates: dict[tuple[str, str], tuple[str, str]] = {}


def url_for(name: str, value: str) -> str:
    """reverse(name, args=[value]) for a pattern with one argument that takes any
    string (str or a converter that passes it through), without the resolver."""
    key = (name, get_script_prefix())
    parts = _templates.get(key)
    if parts is None:
        example = _EXAMPLE_ARGS.get(name, _ARG)
        before, _, after = reverse(name, args=[example]).partition(example)
        parts = _templates[key] = (before, after)
    return f"{parts[0]}{quote(str(value), safe=_URL_SAFE)}{parts[1]}"


def safe_next(request, fallback):
    """The page to return to: the form's `next`, else the page htmx says it is on,
    else the referring page, if any is on this site; else `fallback`."""
    candidates = (
        request.POST.get("next"),
        request.htmx.current_url_abs_path if request.htmx else None,
        request.META.get("HTTP_REFERER"),
    )
    for target in candidates:
        if target and url_has_allowed_host_and_scheme(
            target, {request.get_host()}, require_https=request.is_secure()
        ):
            return target
    return fallback
