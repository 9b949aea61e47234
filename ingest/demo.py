"""Demo data for `make run`: real papers from recorded responses, two weeks of lists.

The files in ingest/fixtures/demo/ (see its README) go through the same readers and the
same upsert as the live sources. Then:

- the Hugging Face day keeps its featured set together and becomes today's list;
- the other papers are spread over the 13 days before it (15-30 a day, most recently
  published first), each "submitted" by a demo user, as a submission would;
- demo users upvote with a skew: the Hugging Face papers in proportion to their real
  upvotes, the others along a Zipf-like curve, so lists and trending have an order.

Everything happens in one transaction, so the demo is either loaded whole or not at
all; a demo user's presence then means "already loaded" and a re-run does nothing.
"""

import datetime as dt
import random
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from papers.models import Paper

from . import arxiv, hf, oai, snapshot
from .records import IngestResult
from .submit import feature_paper
from .upsert import ingest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "demo"
HF_FILE = FIXTURES / "hf-daily-papers" / "daily_papers_2024-10-25.json"
DAYS = 14
PER_DAY = (15, 30)
SEED = 20241025

# (username, display name). Fictional readers; the first marks the demo as loaded.
USERS = [
    ("demo-ada", "Ada Okafor"),
    ("demo-bruno", "Bruno Lindqvist"),
    ("demo-chen", "Chen Wei"),
    ("demo-dana", "Dana Rosen"),
    ("demo-emeka", "Emeka Nwosu"),
    ("demo-fatima", "Fatima Haddad"),
    ("demo-gabriel", "Gabriel Souza"),
    ("demo-hana", "Hana Kobayashi"),
    ("demo-ines", "Inès Moreau"),
    ("demo-jonas", "Jonas Becker"),
    ("demo-kavya", "Kavya Iyer"),
    ("demo-lukas", "Lukáš Novák"),
    ("demo-maya", "Maya Cohen"),
    ("demo-nikolai", "Nikolai Petrov"),
    ("demo-olga", "Olga Wiśniewska"),
    ("demo-priya", "Priya Raman"),
    ("demo-quentin", "Quentin Dubois"),
    ("demo-rosa", "Rosa Álvarez"),
    ("demo-sami", "Sami Virtanen"),
    ("demo-tomas", "Tomás Ortega"),
    ("demo-uma", "Uma Shankar"),
    ("demo-viktor", "Viktor Horváth"),
    ("demo-wen", "Wen Li"),
    ("demo-yusuf", "Yusuf Demir"),
]


def is_loaded() -> bool:
    return get_user_model().objects.filter(username=USERS[0][0]).exists()


def _read_sources() -> tuple[IngestResult, list[int]]:
    """Everything through the ingestion readers; returns the ids of the Hugging Face
    day's papers too."""
    result = IngestResult()
    featured = ingest(hf.read_file(HF_FILE, list_date=timezone.localdate()))
    result.merge(featured)
    for path in sorted((FIXTURES / "arxiv-api").glob("*/*.xml")):
        result.merge(ingest(arxiv.read_file(path)))
    for path in sorted((FIXTURES / "arxiv-oai").glob("*/*.xml")):
        result.merge(ingest(oai.read_file(path)))
    for path in sorted((FIXTURES / "arxiv-snapshot").glob("*.jsonl")):
        result.merge(ingest(snapshot.SnapshotReader(path)))
    return result, list(featured.ids.values())


def _users():
    User = get_user_model()
    users = []
    for username, display_name in USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"display_name": display_name, "email": f"{username}@example.org"},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users.append(user)
    return users


def _vote(papers: list[Paper], targets: list[int], users, rng: random.Random) -> int:
    votes = 0
    for paper, target in zip(papers, targets, strict=True):
        for user in rng.sample(users, min(target, len(users))):
            votes += paper.add_vote(user)
    return votes


def load(force: bool = False) -> str:
    """Load the demo unless it is there already; returns a one-line report. A database
    that holds other papers is left alone unless `force`."""
    if is_loaded():
        return "Demo data is already loaded; nothing to do."
    if Paper.objects.exists() and not force:
        return (
            "The database already holds papers that are not the demo's; the demo is not "
            "loaded (load_demo --force adds it anyway)."
        )
    today = timezone.localdate()
    rng = random.Random(SEED)
    with transaction.atomic():
        result, hf_ids = _read_sources()
        users = _users()
        # Submitters: a few people submit most papers.
        submitters = users[:8]
        weights = [1 / (n + 1) for n in range(len(submitters))]

        hf_papers = list(Paper.objects.filter(pk__in=hf_ids).order_by("pk"))
        upvotes = {p.pk: p.source["hf"]["paper"].get("upvotes", 0) for p in hf_papers}
        top = max(upvotes.values(), default=1) or 1
        votes = _vote(
            hf_papers,
            [round(len(users) * upvotes[p.pk] / top) for p in hf_papers],
            users,
            rng,
        )

        rest = list(
            Paper.objects.filter(daily_date__isnull=True).order_by("-published_at", "arxiv_id")
        )
        featured = len(hf_papers)
        for days_ago in range(1, DAYS):
            if not rest:
                break
            size = min(rng.randint(*PER_DAY), len(rest))
            day_papers, rest = rest[:size], rest[size:]
            day = today - dt.timedelta(days=days_ago)
            for paper in day_papers:
                submitter = rng.choices(submitters, weights)[0]
                feature_paper(paper.pk, submitter, day)
                paper.daily_date = day
            featured += len(day_papers)
            order = list(day_papers)
            rng.shuffle(order)
            targets = [
                max(round(len(users) * 0.7 / (rank + 1) ** 0.9 + rng.gauss(0, 1)), 0)
                for rank in range(len(order))
            ]
            votes += _vote(order, targets, users, rng)
        Paper.objects.refresh_rank_scores()
    return (
        f"Demo data loaded: {result.created} papers ({featured} featured over {DAYS} days "
        f"ending {today:%Y-%m-%d}), {len(users)} demo users, {votes} votes."
    )
