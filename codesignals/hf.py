"""Hugging Face's models, datasets and Spaces that cite a paper:

    GET {HF_API_URL}/arxiv/{arxiv_id}/repos

No recording of this endpoint exists (../shared/data/hf-api/README.md looked for one):
the shape read here is the one Hugging Face documents for its Hub API, an object of
three lists whose items are the entries its model, dataset and Space listings return:

    {"models":   [{"id": "org/name", "likes": 12, "downloads": 3400, ...}, ...],
     "datasets": [{"id": "org/name", "likes": 3, "downloads": 120, ...}, ...],
     "spaces":   [{"id": "org/name", "likes": 40, ...}, ...]}

A missing list counts as empty; an item without a string `id` is skipped and named;
anything else (not JSON, not an object, a list that is not a list) is a SourceError.
"""

import dataclasses
import json

from django.conf import settings

from ingest.http import SourceClient
from ingest.records import SourceError

SOURCE = "Hugging Face repos"
KINDS = ("models", "datasets", "spaces")


@dataclasses.dataclass
class Artifacts:
    models: list[dict]
    datasets: list[dict]
    spaces: list[dict]
    counts: dict[str, int]
    skipped: list[str]


def _number(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def parse(content: bytes | str, where: str = "response") -> Artifacts:
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{where}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise SourceError(f"{where}: expected an object with models, datasets and spaces")
    if not any(kind in data for kind in KINDS):
        raise SourceError(f"{where}: none of models, datasets, spaces in the object")
    lists, counts, skipped = {}, {}, []
    for kind in KINDS:
        items = data.get(kind) or []
        if not isinstance(items, list):
            raise SourceError(f"{where}: '{kind}' is not a list")
        kept = []
        for n, item in enumerate(items, 1):
            repo_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(repo_id, str) or not repo_id.strip() or len(repo_id) > 200:
                skipped.append(f"{where}: {kind} item {n} has no id")
                continue
            entry = {"id": repo_id.strip()}
            for field in ("likes", "downloads"):
                if _number(item.get(field)) is not None:
                    entry[field] = item[field]
            kept.append(entry)
        counts[kind] = len(kept)
        # Most liked first; the page lists the first HF_REPOS_KEPT of each.
        kept.sort(key=lambda e: (-e.get("likes", 0), -e.get("downloads", 0), e["id"]))
        lists[kind] = kept[: settings.HF_REPOS_KEPT]
    return Artifacts(lists["models"], lists["datasets"], lists["spaces"], counts, skipped)


def fetch(arxiv_id: str, http: SourceClient) -> Artifacts:
    """404: Hugging Face has no page for the paper, so nothing cites it there."""
    url = f"{settings.HF_API_URL.rstrip('/')}/arxiv/{arxiv_id}/repos"
    response = http.get(url)
    if response.status_code == 404:
        return Artifacts([], [], [], dict.fromkeys(KINDS, 0), [])
    if response.status_code >= 400:
        raise SourceError(f"{SOURCE} answered HTTP {response.status_code} for {arxiv_id}")
    return parse(response.content, where=arxiv_id)


def client() -> SourceClient:
    return SourceClient(SOURCE, min_interval=settings.HF_REQUEST_INTERVAL)
