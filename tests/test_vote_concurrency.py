"""Votes under real concurrency: threads, each with its own PostgreSQL connection,
hitting the vote endpoint at once. The count must equal the rows, with no 500s."""

import random
import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from papers.models import Paper, Vote

from .accounts_helpers import verified
from .factories import PaperFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(workers):
    """Start every worker at the same moment; each closes its DB connection after."""
    barrier = threading.Barrier(len(workers))
    errors = []

    def run(work):
        try:
            barrier.wait(timeout=30)
            work()
        except Exception as exc:  # reported below, with the others
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def signed_in_client(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def status_of(response):
    """The status, or for a 500 the exception behind it (so a failure says why)."""
    if response.status_code >= 500 and getattr(response, "exc_info", None):
        return repr(response.exc_info[1])
    return response.status_code


def assert_exact(paper):
    paper.refresh_from_db()
    assert paper.upvote_count == Vote.objects.filter(paper=paper).count()
    return paper.upvote_count


def test_many_users_voting_at_once_are_all_counted(settings):
    settings.VOTE_RATE_LIMIT = "1000/m"
    paper = PaperFactory()
    users = [verified(UserFactory()) for _ in range(24)]
    clients = [signed_in_client(u) for u in users]
    statuses = []

    def voter(client):
        def work():
            response = client.post(f"/papers/{paper.arxiv_id}/vote/", {"action": "up"})
            statuses.append(status_of(response))

        return work

    run_together([voter(c) for c in clients])
    assert statuses == [302] * 24
    assert assert_exact(paper) == 24


def test_one_user_toggling_fast_from_several_connections_stays_exact(settings):
    settings.VOTE_RATE_LIMIT = "10000/m"
    paper = PaperFactory()
    user = verified(UserFactory())
    statuses = []

    def toggler(seed):
        client = signed_in_client(user)
        rng = random.Random(seed)

        def work():
            for _ in range(25):
                action = rng.choice(["up", "remove"])
                response = client.post(
                    f"/papers/{paper.arxiv_id}/vote/", {"action": action}, HTTP_HX_REQUEST="true"
                )
                statuses.append(status_of(response))

        return work

    run_together([toggler(i) for i in range(6)])
    assert set(statuses) == {200}
    assert assert_exact(paper) in (0, 1)


def test_deleting_an_account_while_votes_land_keeps_counts_exact(settings):
    settings.VOTE_RATE_LIMIT = "10000/m"
    papers = PaperFactory.create_batch(6)
    leaving = verified(UserFactory(username="leaving"))
    others = [verified(UserFactory()) for _ in range(6)]
    for paper in papers[:3]:
        paper.add_vote(leaving)
    statuses = []
    leaving_client = signed_in_client(leaving)
    other_clients = [signed_in_client(u) for u in others]

    def leaving_user_votes():
        client = leaving_client
        for paper in papers:
            response = client.post(f"/papers/{paper.arxiv_id}/vote/", {"action": "up"})
            statuses.append(status_of(response))

    def others_vote(client):
        def work():
            for paper in papers:
                for action in ("up", "remove", "up"):
                    response = client.post(f"/papers/{paper.arxiv_id}/vote/", {"action": action})
                    statuses.append(status_of(response))

        return work

    def delete():
        User.objects.get(pk=leaving.pk).delete_account()

    run_together([delete, leaving_user_votes] + [others_vote(c) for c in other_clients])
    assert set(statuses) <= {302}, [s for s in statuses if s != 302]
    assert not User.objects.filter(pk=leaving.pk).exists()
    assert not Vote.objects.filter(user_id=leaving.pk).exists()
    for paper in Paper.objects.all():
        assert paper.upvote_count == Vote.objects.filter(paper=paper).count() == 6


@pytest.mark.parametrize("how", ["delete_account", "plain delete"])
def test_deleting_an_account_while_it_withdraws_its_votes_keeps_counts_exact(settings, how):
    # The withdrawal deletes its vote row, then updates the paper; the deletion must not
    # hold the paper while waiting for that row (a deadlock, and a 500, before).
    settings.VOTE_RATE_LIMIT = "10000/m"
    papers = PaperFactory.create_batch(8)
    leaving = verified(UserFactory(username="leaving"))
    stays = verified(UserFactory(username="stays"))
    for paper in papers:
        paper.add_vote(leaving)
        paper.add_vote(stays)
    statuses = []

    def toggler(seed):
        client, rng = signed_in_client(leaving), random.Random(seed)

        def work():
            for paper in rng.sample(papers, len(papers)):
                for action in ("remove", "up", "remove"):
                    response = client.post(f"/papers/{paper.arxiv_id}/vote/", {"action": action})
                    statuses.append(status_of(response))

        return work

    def delete():
        user = User.objects.get(pk=leaving.pk)
        user.delete_account() if how == "delete_account" else user.delete()

    run_together([delete] + [toggler(i) for i in range(3)])
    assert set(statuses) <= {302}, [s for s in statuses if s != 302]
    assert not User.objects.filter(pk=leaving.pk).exists()
    for paper in Paper.objects.all():
        assert paper.upvote_count == Vote.objects.filter(paper=paper).count() == 1
