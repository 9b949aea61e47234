import re

_HTTP_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


def http_url(url: str | None) -> str:
    """`url` if it is an http(s) link, else "": a javascript: or data: URL stored by
    some source must never become a link on a page, in a feed or in the API."""
    url = (url or "").strip()
    return url if _HTTP_URL.match(url) else ""
