"""Stars for the demo, offline: the Hugging Face archive the demo is made of
(ingest/fixtures/demo/hf-archive/) recorded each paper's `githubStars` on the day it was
listed. `make run` has no network, so without these the demo's cards would show no
stars at all. Each is stored as what it is, a count on that past day: the repository
stays never-checked, so a site with network fetches today's count on its first refresh
(codesignals.service.due_repositories asks never-checked repositories first)."""

import datetime as dt
import gzip
import json
from pathlib import Path

from django.db import transaction

from ingest.demo_archive import ARCHIVE_FILE
from papers.models import Paper

from .models import Repository, StarCount, github_full_name
from .service import link_papers


def recorded_stars(path: Path = ARCHIVE_FILE) -> dict[str, tuple[int, dt.date]]:
    """{lowercased owner/name: (stars, day)}, the latest listing of each repository."""
    found = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            item = json.loads(line)
            paper = item.get("paper") or {}
            stars, name = paper.get("githubStars"), github_full_name(paper.get("githubRepo"))
            if name and isinstance(stars, int) and not isinstance(stars, bool) and stars >= 0:
                found[name.lower()] = (stars, dt.date.fromisoformat(item["date"]))
    return found


def load_demo_stars(path: Path = ARCHIVE_FILE) -> int:
    """Link the demo's papers to their repositories and give each repository that was
    never fetched its recorded count. Re-running changes nothing. Returns how many
    repositories got a count."""
    recorded = recorded_stars(path)
    if not recorded:
        return 0
    link_papers(Paper.objects.filter(code_url__icontains="github.com/"))
    loaded = 0
    with transaction.atomic():
        never_fetched = Repository.objects.filter(stars__isnull=True, checked_at__isnull=True)
        for repository in never_fetched.select_for_update():
            if repository.full_name.lower() not in recorded:
                continue
            stars, day = recorded[repository.full_name.lower()]
            StarCount.objects.update_or_create(
                repository=repository, day=day, defaults={"stars": stars}
            )
            Repository.objects.filter(pk=repository.pk).update(
                stars=stars, status=Repository.Status.OK
            )
            loaded += 1
    return loaded
