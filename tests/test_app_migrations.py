"""Moving models between apps (issue 11) keeps every row: a fresh PostgreSQL database is
migrated to the schema from before the move (papers 0009, accounts 0004), filled through
the models of that time, migrated to the newest migrations, and read back through
today's models; the site then serves its pages from it."""

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import User
from digests.models import (
    DigestDelivery,
    DigestSentPaper,
    DigestSubscription,
    FollowedAuthor,
    FollowedCategory,
    FollowedKeyword,
)
from ingest.models import HarvestCheckpoint, Submission
from papers.models import Authorship, Paper, PendingVote, Vote

from .conftest import ROOT

BEFORE_THE_MOVE = [
    ("papers", "0009_paper_visible_sort_keys"),
    ("accounts", "0004_digest_weekly_label"),
]
ALIAS = "before_the_move"


def _server_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture
def old_database(django_db_blocker):
    """A connection (ALIAS) to a new, empty database, dropped afterwards."""
    url = os.environ["DATABASE_URL"]
    name = urlsplit(url).path.lstrip("/") + "_app_move"
    admin_url = _server_url(url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    connections.settings[ALIAS] = {**connections.settings["default"], "NAME": name}
    with django_db_blocker.unblock():
        yield connections[ALIAS], _server_url(url, name)
        connections[ALIAS].close()
    del connections[ALIAS]
    del connections.settings[ALIAS]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(connection, targets=None):
    """Migrate to `targets`, or to the newest migration of every app."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


def fill_before_the_move(apps, now):
    """One row of each kind, written through the models as they were (historical)."""

    def model(label):
        return apps.get_model(label).objects.using(ALIAS)

    ada = model("accounts.User").create(username="ada", email="ada@example.org", password="!")
    bob = model("accounts.User").create(username="bob", email="bob@example.org", password="!")
    paper = model("papers.Paper").create(
        arxiv_id="2401.00001",
        title="Rows that stayed where they were",
        abstract="An abstract.",
        daily_date=now.date(),
        published_at=now,
        upvote_count=1,
        author_count=1,
        author_names="Ada Lovelace",
    )
    author = model("papers.Author").create(
        name="Ada Lovelace", normalised_name="ada lovelace", slug="ada-lovelace"
    )
    model("papers.Authorship").create(paper=paper, author=author, position=0)
    model("papers.Vote").create(user=ada, paper=paper)
    sub = model("accounts.DigestSubscription").create(
        user=ada, email="ada@example.org", frequency="weekly", confirmed_at=now
    )
    model("papers.DigestDelivery").create(
        subscription=sub,
        period="2026-W49",
        frequency="weekly",
        status="sent",
        sent_at=now,
        sections=[{"kind": "trending", "label": "Trending", "papers": [paper.pk]}],
    )
    model("papers.DigestSentPaper").create(subscription=sub, paper_id=paper.pk)
    model("accounts.FollowedAuthor").create(user=ada, author=author)
    model("accounts.FollowedCategory").create(user=ada, category="cs.CL")
    model("accounts.FollowedKeyword").create(user=ada, keyword="diffusion")
    model("accounts.PendingVote").create(user=bob, paper=paper, next_url="/")
    model("papers.Submission").create(
        user=bob, arxiv_id="2401.00001", paper=paper, status="featured"
    )
    model("papers.HarvestCheckpoint").create(window="oai:arXiv:2026-12-01::", token="t", pages=3)
    types = model("contenttypes.ContentType")
    return {
        "paper": paper.pk,
        "subscription": sub.pk,
        "content_types": {
            types.create(app_label="accounts", model="digestsubscription").pk: "digests",
            types.create(app_label="papers", model="digestdelivery").pk: "digests",
            types.create(app_label="papers", model="submission").pk: "ingest",
            types.create(app_label="accounts", model="pendingvote").pk: "papers",
        },
    }


def test_moving_models_to_their_apps_keeps_every_row_and_the_site_works(old_database):
    connection, database_url = old_database
    now = timezone.now()
    executor = migrate(connection, BEFORE_THE_MOVE)
    applied = executor.loader.applied_migrations
    assert ("digests", "0001_initial") not in applied and ("ingest", "0001_initial") not in applied
    written = fill_before_the_move(executor.loader.project_state(BEFORE_THE_MOVE).apps, now)

    migrate(connection)

    paper = Paper.objects.using(ALIAS).get(pk=written["paper"])
    assert paper.title == "Rows that stayed where they were" and paper.upvote_count == 1
    assert [a.author.name for a in Authorship.objects.using(ALIAS).filter(paper=paper)] == [
        "Ada Lovelace"
    ]
    vote = Vote.objects.using(ALIAS).select_related("user").get()
    assert (vote.user.username, vote.paper_id) == ("ada", paper.pk)
    sub = DigestSubscription.objects.using(ALIAS).get()
    assert (sub.pk, sub.email, sub.frequency) == (
        written["subscription"],
        "ada@example.org",
        "weekly",
    )
    assert sub.is_receiving and sub.user.username == "ada"
    delivery = DigestDelivery.objects.using(ALIAS).get()
    assert (delivery.subscription_id, delivery.period, delivery.status) == (
        sub.pk,
        "2026-W49",
        "sent",
    )
    assert delivery.sections[0]["papers"] == [paper.pk]
    assert list(DigestSentPaper.objects.using(ALIAS).values_list("subscription", "paper_id")) == [
        (sub.pk, paper.pk)
    ]
    assert FollowedAuthor.objects.using(ALIAS).get().author.slug == "ada-lovelace"
    assert FollowedCategory.objects.using(ALIAS).get().category == "cs.CL"
    assert FollowedKeyword.objects.using(ALIAS).get().keyword == "diffusion"
    pending = PendingVote.objects.using(ALIAS).get()
    assert (pending.user.username, pending.paper_id) == ("bob", paper.pk)
    submission = Submission.objects.using(ALIAS).get()
    assert (submission.status, submission.paper_id) == ("featured", paper.pk)
    assert HarvestCheckpoint.objects.using(ALIAS).get().pages == 3
    # The relations between moved models work both ways through the new apps.
    assert list(sub.deliveries.all()) == [delivery]
    assert User.objects.using(ALIAS).get(username="ada").digest_subscription == sub
    # Content types moved with their models (so permissions and admin history follow).
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, app_label FROM django_content_type")
        labels = dict(cursor.fetchall())
    assert {pk: labels[pk] for pk in written["content_types"]} == written["content_types"]

    pages = render_pages(database_url, paper.arxiv_id)
    assert pages["home"] == [200, True]
    assert pages["paper"] == [200, True]
    assert pages["digest_settings"] == [200, True]


def render_pages(database_url: str, arxiv_id: str) -> dict:
    """The front page, the paper's page and Ada's digest settings, served from the
    migrated database by the site in a process of its own: [status, shows the row]."""
    code = f"""
import json, django
django.setup()
from django.test import Client
from accounts.models import User

def seen(response, text):
    return [response.status_code, text in response.content.decode()]

client = Client()
pages = {{
    "home": seen(client.get("/"), "Rows that stayed where they were"),
    "paper": seen(client.get("/papers/{arxiv_id}/"), "Ada Lovelace"),
}}
client.force_login(User.objects.get(username="ada"))
pages["digest_settings"] = seen(client.get("/settings/digest/"), "cs.CL")
print(json.dumps(pages))
"""
    env = os.environ | {"DATABASE_URL": database_url, "REDIS_URL": "", "PAGE_CACHE_SECONDS": "0"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
