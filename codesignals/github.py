"""GitHub's REST API for a repository's stars: GET /repos/{owner}/{repo}.

- Conditional: the stored ETag goes out as If-None-Match (and Last-Modified as
  If-Modified-Since); a 304 says nothing changed and costs no rate-limit quota.
- An optional GITHUB_TOKEN: 5,000 requests an hour instead of 60.
- Rate limits: once X-RateLimit-Remaining reaches 0 no request is sent before
  X-RateLimit-Reset; a 403 or 429 with Retry-After, or with Remaining 0, raises
  RateLimited at once. The caller stops and reports: asking again sooner only
  prolongs a secondary limit.
- 301: the repository was renamed or transferred. GitHub points at
  /repositories/{id}; that is followed (once) and the answer carries the new name.
- 404 (and 410, 451): the repository is gone, private or blocked.
"""

import dataclasses
import datetime as dt
import logging
from urllib.parse import quote, urljoin

import httpx
from django.conf import settings
from django.utils import timezone

from ingest.http import parse_retry_after

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"


class RateLimited(Exception):
    """GitHub's rate limit is reached: nothing more is asked until `until`."""

    def __init__(self, message: str, until: dt.datetime | None = None):
        super().__init__(message)
        self.until = until


class GitHubError(Exception):
    """An answer that is neither the repository, a 304, a move nor a 404."""


@dataclasses.dataclass
class Answer:
    status: str  # "ok" | "not_modified" | "missing"
    data: dict | None = None
    etag: str = ""
    last_modified: str = ""
    moved_from: str = ""  # the name asked for, when GitHub answered with a 301


def _reset_time(response: httpx.Response) -> dt.datetime | None:
    reset = response.headers.get("X-RateLimit-Reset", "")
    if reset.isdigit():
        return dt.datetime.fromtimestamp(int(reset), tz=dt.UTC)
    return None


class GitHubClient:
    def __init__(self, token: str | None = None, transport: httpx.BaseTransport | None = None):
        token = settings.GITHUB_TOKEN if token is None else token
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": settings.INGEST_USER_AGENT,
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(settings.INGEST_HTTP_TIMEOUT, connect=10.0),
            follow_redirects=False,
            transport=transport,
        )
        self.base = settings.GITHUB_API_URL.rstrip("/") + "/"
        self.blocked_until: dt.datetime | None = None
        self.remaining: int | None = None
        self.requests = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.client.close()

    def _send(self, url: str, headers: dict) -> httpx.Response:
        if self.blocked_until and timezone.now() < self.blocked_until:
            raise RateLimited(
                f"GitHub's rate limit is used up until {self.blocked_until:%H:%M:%S} UTC",
                self.blocked_until,
            )
        response = self.client.get(url, headers=headers)
        self.requests += 1
        remaining = response.headers.get("X-RateLimit-Remaining", "")
        if remaining.isdigit():
            self.remaining = int(remaining)
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status in (403, 429) and (retry_after is not None or self.remaining == 0):
            until = (
                timezone.now() + dt.timedelta(seconds=retry_after)
                if retry_after is not None
                else _reset_time(response)
            )
            self.blocked_until = until
            kind = "secondary rate limit" if retry_after is not None else "rate limit"
            message = _message(response) or f"HTTP {status}"
            when = f"; retry after {until:%H:%M:%S} UTC" if until else ""
            raise RateLimited(f"GitHub {kind} ({message}){when}", until)
        if self.remaining == 0:
            # This answer is good; the next request would be refused.
            self.blocked_until = _reset_time(response) or timezone.now()
        return response

    def repository(self, full_name: str, etag: str = "", last_modified: str = "") -> Answer:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        url = urljoin(self.base, f"repos/{quote(full_name, safe='/')}")
        response = self._send(url, headers)
        moved_from = ""
        if response.status_code in (301, 302, 307, 308):
            location = response.headers.get("Location", "")
            if not location:
                raise GitHubError(f"HTTP {response.status_code} without a Location")
            moved_from = full_name
            # The new URL's ETag differs anyway: ask unconditionally.
            response = self._send(urljoin(url, location), {})
        status = response.status_code
        if status == 304:
            return Answer("not_modified", etag=etag, last_modified=last_modified)
        if status in (404, 410, 451):
            return Answer("missing", data={"message": _message(response)}, moved_from=moved_from)
        if status != 200:
            raise GitHubError(f"HTTP {status}: {_message(response) or response.text[:200]}")
        try:
            data = response.json()
        except ValueError as exc:
            raise GitHubError(f"not JSON: {exc}") from None
        problem = repository_problem(data)
        if problem:
            raise GitHubError(problem)
        return Answer(
            "ok",
            data=data,
            etag=response.headers.get("ETag", ""),
            last_modified=response.headers.get("Last-Modified", ""),
            moved_from=moved_from,
        )


def repository_problem(data) -> str:
    """Why `data` is not a repository object, or ""."""
    if not isinstance(data, dict):
        return f"expected a repository object, got {type(data).__name__}"
    if not isinstance(data.get("full_name"), str) or "/" not in data["full_name"]:
        return "no 'full_name' in the repository object"
    if stars_of(data) is None:
        return "no valid 'stargazers_count' in the repository object"
    return ""


def stars_of(data: dict) -> int | None:
    """The repository's stars. Before the v3 API settled (the 2013 `github.beta` media
    type) stars were called watchers and `stargazers_count` was not sent: then
    `watchers_count` is the star count."""
    for field in ("stargazers_count", "watchers_count"):
        stars = data.get(field)
        if isinstance(stars, int) and not isinstance(stars, bool) and stars >= 0:
            return stars
    return None


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("message", ""))[:200] if isinstance(data, dict) else ""
